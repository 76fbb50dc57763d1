// Package filetype says which files Matterly accepts as documents and how it
// checks them. An upload is checked twice: Check validates what the user
// declares ({fileName, contentType, size}) before a presigned PUT is issued,
// and Sniff checks the uploaded object's first bytes before the document is
// marked ready, because the declaration is only the client's word.
package filetype

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/matterly/matterly/shared/fault"
)

// MaxSize is the largest document accepted: 100 MiB.
const MaxSize = 100 << 20

// maxSizeText is MaxSize for messages; users read "MB", not "MiB".
var maxSizeText = fmt.Sprintf("%d MB", MaxSize>>20)

// Type is one accepted document type.
type Type struct {
	ContentType string   // canonical MIME type, e.g. "application/pdf"
	Extensions  []string // accepted file name extensions, lowercase with dot, e.g. ".pdf"
	Name        string   // human label, e.g. "PDF"
	Text        bool     // a text format (no magic number; sniffed as text)
}

// entry is one row of the table: a Type and what the package needs to know
// about it but callers do not.
type entry struct {
	Type
	aliases []string               // other content types browsers send for it
	inline  bool                   // may be shown in the browser; see ContentDisposition
	sniff   func(head []byte) bool // does head look like this type
}

// table lists the accepted types in the order of the API contract, which is
// also the order of Types and of error messages.
var table = []entry{
	{Type: Type{ContentType: "application/pdf", Extensions: []string{".pdf"}, Name: "PDF"},
		inline: true, sniff: isPDF},
	{Type: Type{ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Extensions: []string{".docx"}, Name: "DOCX"},
		sniff: isZip},
	{Type: Type{ContentType: "application/msword", Extensions: []string{".doc"}, Name: "DOC"},
		sniff: isOLE2},
	{Type: Type{ContentType: "application/rtf", Extensions: []string{".rtf"}, Name: "RTF"},
		aliases: []string{"text/rtf", "application/x-rtf"}, sniff: isRTF},
	{Type: Type{ContentType: "text/plain", Extensions: []string{".txt", ".text"}, Name: "TXT", Text: true},
		inline: true, sniff: isText},
	{Type: Type{ContentType: "text/html", Extensions: []string{".html", ".htm"}, Name: "HTML", Text: true},
		sniff: isText},
	{Type: Type{ContentType: "image/png", Extensions: []string{".png"}, Name: "PNG"},
		inline: true, sniff: isPNG},
	{Type: Type{ContentType: "image/jpeg", Extensions: []string{".jpg", ".jpeg"}, Name: "JPEG"},
		aliases: []string{"image/jpg", "image/pjpeg"}, inline: true, sniff: isJPEG},
	{Type: Type{ContentType: "image/heic", Extensions: []string{".heic", ".heif"}, Name: "HEIC"},
		aliases: []string{"image/heif"}, inline: true, sniff: isHEIF},
	{Type: Type{ContentType: "application/vnd.ms-outlook", Extensions: []string{".msg"}, Name: "MSG"},
		sniff: isOLE2},
	{Type: Type{ContentType: "message/rfc822", Extensions: []string{".eml"}, Name: "EML", Text: true},
		sniff: isText},
}

// byContentType finds a table row by canonical content type or alias.
var byContentType = func() map[string]*entry {
	m := make(map[string]*entry)
	for i := range table {
		e := &table[i]
		m[e.ContentType] = e
		for _, a := range e.aliases {
			m[a] = e
		}
	}
	return m
}()

// acceptedNames is "PDF, DOCX, … or EML", for the content type message.
var acceptedNames = func() string {
	names := make([]string, len(table))
	for i, e := range table {
		names[i] = e.Name
	}
	return orList(names)
}()

// Lookup returns the accepted type for a declared content type. It matches
// case-insensitively, ignores parameters ("text/plain; charset=utf-8" is
// text/plain) and accepts the aliases browsers send ("text/rtf", "image/jpg",
// "image/heif"). "application/octet-stream" is not accepted: it says nothing.
func Lookup(contentType string) (Type, bool) {
	mt, _, _ := strings.Cut(contentType, ";")
	e := byContentType[lowerASCII(strings.TrimSpace(mt))]
	if e == nil {
		return Type{}, false
	}
	return e.clone(), true
}

// Types lists the accepted types (for error messages and docs), in a stable
// order.
func Types() []Type {
	ts := make([]Type, len(table))
	for i := range table {
		ts[i] = table[i].clone()
	}
	return ts
}

// find returns t's row in the table, or nil when t.ContentType is not the
// canonical content type of an accepted type (Lookup returns only those).
func find(t Type) *entry {
	if e := byContentType[t.ContentType]; e != nil && e.ContentType == t.ContentType {
		return e
	}
	return nil
}

// clone copies the Type so that a caller writing to Extensions cannot change
// what the package accepts.
func (e *entry) clone() Type {
	t := e.Type
	t.Extensions = slices.Clone(t.Extensions)
	return t
}

// Check validates a declared upload: the file name (see CleanName), the
// content type (see Lookup), the size (1 byte to MaxSize) and that the name's
// extension fits the type, so a download opens in the right application. It
// adds field errors to c under "fileName", "contentType" and "size", and
// returns the cleaned name and the Type (zero values when they are invalid).
func Check(c *fault.Checker, fileName, contentType string, size int64) (string, Type) {
	name, problem := CleanName(fileName)
	c.Check(problem == "", "fileName", problem)

	t, typeOK := Lookup(contentType)
	switch {
	case typeOK:
	case strings.TrimSpace(contentType) == "":
		c.Add("contentType", "is required")
	default:
		c.Add("contentType", "must be one of "+acceptedNames)
	}

	switch {
	case size < 1:
		c.Add("size", "must be at least 1 byte")
	case size > MaxSize:
		c.Add("size", "must be at most "+maxSizeText)
	}

	// Only a valid name and a known type can disagree about the extension.
	if problem == "" && typeOK && !slices.Contains(t.Extensions, lowerASCII(path.Ext(name))) {
		c.Add("fileName", fmt.Sprintf("must end in %s for %s", orList(t.Extensions), t.Name))
	}
	return name, t
}

// lowerASCII lowercases A–Z only. strings.ToLower also folds some non-ASCII
// letters into ASCII (the Kelvin sign U+212A becomes "k"), which would let
// look-alike spellings match.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// orList joins items as "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
