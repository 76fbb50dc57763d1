package filetype

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes is the longest file name most file systems can save, so a
// downloaded document keeps its name.
const maxNameBytes = 255

// CleanName validates a user-supplied file name and returns it trimmed. The
// name is only metadata, shown back to users and in Content-Disposition;
// object keys never use it. So the rules are not about paths on our side but
// about what the name can do where it is shown: control characters could
// break headers and logs, and a bidi override (U+202E) before "fdp.exe"
// makes "invoice" + U+202E + "fdp.exe" display as "invoiceexe.pdf". problem
// is a client-safe message, "" when the name is fine; cleaned is "" when it
// is not.
func CleanName(name string) (cleaned string, problem string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", "is required"
	case len(name) > maxNameBytes:
		return "", "is too long (at most 255 bytes)"
	case !utf8.ValidString(name):
		return "", "is not valid UTF-8"
	case name == "." || name == "..":
		return "", "is not a file name"
	case strings.ContainsAny(name, `/\`):
		return "", `must not contain / or \`
	case strings.ContainsFunc(name, forbiddenRune):
		return "", "must not contain control characters"
	}
	return name, ""
}

// forbiddenRune reports the characters a file name may not contain:
// control characters (C0, DEL and C1), the bidi embeddings, overrides and
// isolates (U+202A–U+202E, U+2066–U+2069) that reorder how a name displays,
// and the line and paragraph separators (U+2028, U+2029) that break it.
func forbiddenRune(r rune) bool {
	return unicode.IsControl(r) ||
		'\u202A' <= r && r <= '\u202E' ||
		'\u2066' <= r && r <= '\u2069' ||
		r == '\u2028' || r == '\u2029'
}

// ContentDisposition builds an RFC 6266 Content-Disposition value for a
// download. disposition is "attachment" or "inline"; anything else is
// attachment. Only types a browser displays without running the document
// (PDF, TXT, PNG, JPEG, HEIC) may be inline: a stored HTML file opened inline
// would run its script on our origin, and an EML can carry an HTML body.
// The value gives an ASCII fallback in filename for old clients and the
// exact name, percent-encoded UTF-8 (RFC 8187), in filename*. An empty name
// gives the bare disposition.
func ContentDisposition(t Type, disposition, fileName string) string {
	if e := find(t); disposition != "inline" || e == nil || !e.inline {
		disposition = "attachment"
	}
	if fileName == "" {
		return disposition
	}
	var b strings.Builder
	b.WriteString(disposition)
	b.WriteString(`; filename="`)
	// One '_' per character that is not printable ASCII, and for " and \,
	// which quoted-string would need escaped, and %, which some clients
	// percent-decode in filename= (RFC 6266 appendix D).
	for _, r := range fileName {
		if r < ' ' || r > '~' || r == '"' || r == '\\' || r == '%' {
			r = '_'
		}
		b.WriteRune(r)
	}
	b.WriteString(`"; filename*=UTF-8''`)
	// Invalid UTF-8 cannot be declared UTF-8; CleanName refuses it anyway.
	for _, c := range []byte(strings.ToValidUTF8(fileName, "\uFFFD")) {
		if isAttrChar(c) {
			b.WriteByte(c)
		} else {
			const hex = "0123456789ABCDEF"
			b.Write([]byte{'%', hex[c>>4], hex[c&0xF]})
		}
	}
	return b.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 8187 value:
// ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~".
func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
