package filetype

import (
	"bytes"
	"unicode/utf8"
)

// Sniff reports whether head, the first bytes of the uploaded object (up to
// 512), looks like the declared type. Binary formats are recognised by their
// magic number, text formats by being UTF-8 without NUL bytes. It is a
// consistency check, not a validator: it catches a PNG declared as a PDF or
// an executable declared as text, not a malformed PDF. How to sniff comes
// from the table, by t.ContentType, not from t.Text; a content type that is
// not an accepted canonical one matches nothing.
func Sniff(t Type, head []byte) bool {
	e := find(t)
	return e != nil && len(head) > 0 && e.sniff(head)
}

var (
	ole2Magic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	pngMagic  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// isPDF looks for "%PDF-" within the first 1024 bytes rather than at the
// start: some generators prepend junk, and readers accept it there.
func isPDF(head []byte) bool {
	return bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-"))
}

// isZip matches a zip local file header. A DOCX is a zip; telling it from
// other zips would mean reading the central directory at the end of the
// object, which head does not reach.
func isZip(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) }

// isOLE2 matches an OLE2 compound file, the container of both DOC and
// Outlook MSG.
func isOLE2(head []byte) bool { return bytes.HasPrefix(head, ole2Magic) }

func isRTF(head []byte) bool  { return bytes.HasPrefix(head, []byte(`{\rtf`)) }
func isPNG(head []byte) bool  { return bytes.HasPrefix(head, pngMagic) }
func isJPEG(head []byte) bool { return bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}) }

// isHEIF matches an ISO BMFF "ftyp" box whose major brand is a HEIF one.
// Checking the brand keeps MP4 and MOV videos, which share the box, out.
func isHEIF(head []byte) bool {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return false
	}
	switch string(head[8:12]) {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
		return true
	}
	return false
}

// isText reports whether b, the head of an object, is UTF-8 text: no NUL
// bytes and valid UTF-8.
// A UTF-8 BOM is valid UTF-8 (U+FEFF), so it passes; UTF-16 is refused (its
// BOM is not UTF-8, and ASCII in it has NULs): we index and show documents as
// UTF-8. b is only a prefix of the object, so a multi-byte character cut off
// at its end is fine.
func isText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			// FullRune is false only for the valid start of a character
			// that b is too short to finish, which can only be at the end.
			return !utf8.FullRune(b)
		}
		b = b[n:]
	}
	return true
}
