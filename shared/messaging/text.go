package messaging

import (
	"strings"
	"unicode/utf16"
)

// The keyword lists, in one place. Twilio matches a keyword only when it is
// the whole message: trimmed, case-insensitive, no other words ("STOP
// please" is not an opt-out). We match exactly the same way, so our consent
// state and Twilio's own block list never disagree.
var (
	// OptOutKeywords are the six our privacy policy names, plus REVOKE and
	// OPTOUT, Twilio's defaults since May 2025 (the FCC's revocation rule).
	OptOutKeywords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
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

// KeywordOf classifies an inbound SMS body the way Twilio does.
func KeywordOf(body string) (kind, keyword string) {
	w := strings.ToUpper(strings.TrimSpace(body))
	for _, l := range []struct {
		kind string
		list []string
	}{{OptOut, OptOutKeywords}, {OptIn, OptInKeywords}, {Help, HelpKeywords}} {
		for _, k := range l.list {
			if w == k {
				return l.kind, k
			}
		}
	}
	return NotKeyword, ""
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
