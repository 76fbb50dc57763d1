package chat

import "unicode/utf8"

// ValidEmoji reports whether s is one emoji: a single grapheme cluster of
// at most 32 bytes that is an emoji (a pictograph with its variation
// selector, skin tone and ZWJ sequence, a flag of two regional indicators
// or a subdivision tag sequence, or a keycap). The standard library has no
// grapheme segmenter, so this follows UTS #51's emoji sequence grammar,
// which is what a reaction is: text ("ab"), two emoji ("👍👍") or an emoji
// with a combining mark tacked on are refused.
func ValidEmoji(s string) bool {
	if s == "" || len(s) > MaxEmojiBytes || !utf8.ValidString(s) {
		return false
	}
	rs := []rune(s)
	// A flag: exactly two regional indicators.
	if isRegional(rs[0]) {
		return len(rs) == 2 && isRegional(rs[1])
	}
	// A keycap: [0-9#*] FE0F? 20E3.
	if isKeycapBase(rs[0]) {
		switch {
		case len(rs) == 2:
			return rs[1] == 0x20E3
		case len(rs) == 3:
			return rs[1] == 0xFE0F && rs[2] == 0x20E3
		}
		return false
	}
	i, ok := element(rs, 0)
	if !ok {
		return false
	}
	// A tag sequence (subdivision flags): base, tags, cancel tag.
	if i < len(rs) && isTag(rs[i]) {
		for i < len(rs) && isTag(rs[i]) {
			i++
		}
		return i == len(rs) && rs[i-1] == 0xE007F
	}
	for i < len(rs) {
		if rs[i] != 0x200D { // ZWJ joins the next element
			return false
		}
		if i, ok = element(rs, i+1); !ok {
			return false
		}
	}
	return true
}

// element reads one emoji element at i: a pictograph, then an optional
// emoji presentation selector or skin tone modifier. It returns where the
// next one starts.
func element(rs []rune, i int) (int, bool) {
	if i >= len(rs) || !isPictographic(rs[i]) {
		return i, false
	}
	i++
	if i < len(rs) && (rs[i] == 0xFE0F || isSkinTone(rs[i])) {
		i++
	}
	return i, true
}

func isRegional(r rune) bool   { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool   { return r >= 0x1F3FB && r <= 0x1F3FF }
func isTag(r rune) bool        { return r >= 0xE0020 && r <= 0xE007F }
func isKeycapBase(r rune) bool { return (r >= '0' && r <= '9') || r == '#' || r == '*' }

// isPictographic approximates Unicode's Extended_Pictographic property by
// its blocks and the symbols outside them that emoji use.
func isPictographic(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF && !isRegional(r) && !isSkinTone(r):
		return true
	case r >= 0x2600 && r <= 0x27BF, r >= 0x2300 && r <= 0x23FF, r >= 0x2B00 && r <= 0x2BFF,
		r >= 0x2190 && r <= 0x21FF, r >= 0x25A0 && r <= 0x25FF, r >= 0x2900 && r <= 0x297F:
		return true
	}
	switch r {
	case 0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x3030, 0x303D, 0x3297, 0x3299:
		return true
	}
	return false
}
