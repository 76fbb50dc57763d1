package crm

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// letters are the Latin letters with no decomposition to a base letter,
// spelled the way people type them on an English keyboard.
var letters = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "ø", "o", "ł", "l", "đ", "d", "ð", "d", "þ", "th", "ı", "i")

// fold is the search form of a name: lower case, accents removed, spaces
// collapsed ("  Zoë  O’Brien-Łukasz" → "zoe o'brien-lukasz"), so a prefix
// search matches however the name or the query was typed.
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // the accent of a decomposed letter
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == '’' || r == '‘' || r == '`':
			r = '\''
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return letters.Replace(b.String())
}

// maxNameWords is how many words of a name start a search entry; words
// after it are found only as part of a longer query.
const maxNameWords = 8

// nameStarts returns the search entries of a folded name: the name from
// each word on ("mary-jane o'brien" → itself, "jane o'brien", "o'brien"), so
// a query matches the start of any word, and of any run of words from there.
func nameStarts(folded string) []string {
	var out []string
	for i, r := range folded {
		if len(out) == maxNameWords {
			break
		}
		if i == 0 || folded[i-1] == ' ' || folded[i-1] == '-' {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, folded[i:])
			}
		}
	}
	return out
}

// firstMatch reports whether start is the first of folded's entries (in
// index order) that q matches: a name matching the query at two words is
// listed once, at its first, whichever page that falls on.
func firstMatch(folded, start, q string) bool {
	for _, s := range nameStarts(folded) {
		if s < start && strings.HasPrefix(s, q) {
			return false
		}
	}
	return true
}
