package extract

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// readTXT writes a plain text file; a form feed starts a new page, as
// pdftotext and printers use it. See decodeText for the encodings read.
func readTXT(r io.ReaderAt, size int64, contentType string, w *writer) error {
	data, err := readAll(r, size)
	if err != nil {
		return err
	}
	text := decodeText(data, contentType, nil)
	for {
		page, rest, more := strings.Cut(text, "\f")
		if err := w.WriteString(page); err != nil {
			return err
		}
		if !more {
			return nil
		}
		if err := w.PageBreak(); err != nil {
			return err
		}
		text = rest
	}
}

// decodeText turns data into UTF-8. Invalid UTF-8 is not refused: text
// saved by older Windows programs is Windows-1252, and reading it that way
// gives the right letters where replacing bytes with U+FFFD would lose them.
// In order, the encoding is: the one a byte order mark names (UTF-8 or
// UTF-16), the charset parameter of contentType, declared (for HTML, whose
// <meta> is looked for with declared), UTF-8 when all of data is valid
// UTF-8, and Windows-1252 otherwise, which maps every byte to a character.
func decodeText(data []byte, contentType string, declared func([]byte) encoding.Encoding) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return toValidUTF8(data[3:])
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		return decodeWith(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), data)
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		return decodeWith(unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), data)
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if e, _ := charset.Lookup(params["charset"]); e != nil {
			return decodeWith(e, data)
		}
	}
	if declared != nil {
		if e := declared(data); e != nil {
			return decodeWith(e, data)
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return decodeWith(charmap.Windows1252, data)
}

// decodeWith decodes data with e. A decoder of the encodings above does not
// fail on bad input (it substitutes U+FFFD), so an error is only defensive.
func decodeWith(e encoding.Encoding, data []byte) string {
	out, err := e.NewDecoder().Bytes(data)
	if err != nil {
		return toValidUTF8(data)
	}
	return toValidUTF8(out)
}

// toValidUTF8 keeps valid UTF-8 as it is and replaces bad bytes with U+FFFD
// (a file with a UTF-8 BOM that is not all UTF-8).
func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\ufffd")
}
