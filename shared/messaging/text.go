package messaging

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// The keyword lists, in one place. A keyword is the whole message, never a
// word in a sentence ("STOP by tomorrow?" is not an opt-out). Before
// matching, a body is put in one form: NFKC (full-width ＳＴＯＰ is STOP),
// format characters (Unicode Cf: zero-width spaces and joiners, a BOM,
// direction marks) dropped, runs of white space made one space, upper
// case. An opt-out is also honoured with trailing punctuation ("Stop!",
// "STOP."): a client who means stop must be heard, and reading one
// opt-out too many only blocks texts. Opt-in and help words match only
// exactly, so an everyday "Yes!" never resubscribes anyone.
//
// This is more lenient than Twilio for opt-outs; when Twilio does not
// block such a number itself, our consent item still does.
var (
	// OptOutKeywords are the six our privacy policy names, plus REVOKE and
	// OPTOUT, Twilio's defaults since May 2025, and "OPT OUT" / "OPT-OUT",
	// as the FCC's 2024 revocation rule (47 CFR 64.1200(a)(10)) lists them.
	OptOutKeywords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "OPT-OUT"}
	// OptInKeywords undo an opt-out.
	OptInKeywords = []string{"START", "YES", "UNSTOP"}
	// HelpKeywords ask who is texting.
	HelpKeywords = []string{"HELP", "INFO"}
)

// Keyword kinds of an inbound message.
const (
	NotKeyword = ""
	OptOut     = "opt_out"
	OptIn      = "opt_in"
	Help       = "help"
)

// KeywordOf classifies an inbound SMS body; keyword is the list's entry.
func KeywordOf(body string) (kind, keyword string) {
	w := normalKeyword(body)
	bare := strings.TrimRightFunc(w, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	for _, l := range []struct {
		kind, word string
		list       []string
	}{{OptOut, bare, OptOutKeywords}, {OptIn, w, OptInKeywords}, {Help, w, HelpKeywords}} {
		if i := slices.Index(l.list, l.word); i >= 0 && l.word != "" {
			return l.kind, l.list[i]
		}
	}
	return NotKeyword, ""
}

// normalKeyword is body in the one form keywords are matched in.
func normalKeyword(body string) string {
	body = norm.NFKC.String(body)
	body = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, body)
	return strings.ToUpper(strings.Join(strings.Fields(body), " "))
}

// gsm7 is the GSM 03.38 basic character set; gsm7Ext the extension table,
// whose characters take two septets (an escape and the character).
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// Encodings of an SMS body.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segments is how a body travels: its encoding, its length in that
// encoding's units (septets or UTF-16 code units) and how many SMS segments
// carriers bill for it.
type Segments struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Count    int    `json:"count"`
}

// SegmentsOf measures body. A single segment holds 160 GSM-7 septets or 70
// UCS-2 units; a long message is split into parts of 153 or 67, the rest
// being the concatenation header. An escape and its character are never
// split across parts, nor are the two halves of a surrogate pair.
func SegmentsOf(body string) Segments {
	septets, ok := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			ok = false
		}
		if !ok {
			break
		}
	}
	if ok {
		return Segments{Encoding: GSM7, Units: septets, Count: parts(body, 160, 153, func(r rune) int {
			if strings.ContainsRune(gsm7Ext, r) {
				return 2
			}
			return 1
		})}
	}
	units := len(utf16.Encode([]rune(body)))
	return Segments{Encoding: UCS2, Units: units, Count: parts(body, 70, 67, utf16.RuneLen)}
}

// parts counts the segments of body: one when it fits single, else parts of
// at most multi units, a character never split across two.
func parts(body string, single, multi int, size func(rune) int) int {
	total := 0
	for _, r := range body {
		total += size(r)
	}
	if total == 0 {
		return 0
	}
	if total <= single {
		return 1
	}
	n, used := 1, 0
	for _, r := range body {
		s := size(r)
		if used+s > multi {
			n, used = n+1, 0
		}
		used += s
	}
	return n
}

// Prefixed puts the org's sender name in front of body once: "<Org>: body".
// A body that already starts with it (as a retried or pasted message may)
// is left as it is.
func Prefixed(sender, body string) string {
	body = strings.TrimSpace(body)
	sender = strings.TrimSpace(sender)
	if sender == "" {
		return body
	}
	p := sender + ":"
	if strings.HasPrefix(strings.ToLower(body), strings.ToLower(p)) {
		return body
	}
	return p + " " + body
}
