// Package extract turns an uploaded document into plain text on our side,
// page by page, so that an AI summary can cite the 1-based page of every key
// point and the document itself never leaves for a third-party parser.
//
// PDFs are read with PDFium compiled to WebAssembly (see pdf.go); DOCX, plain
// text, HTML and RTF with small parsers of our own. Every extractor writes
// through one normaliser (text.go), so all formats come out alike: runs of
// spaces collapsed, lines and pages trimmed, at most one blank line between
// paragraphs, and the limits below enforced while the text is produced rather
// than after it has all been held in memory.
//
// Extraction never logs document text; errors carry no text either.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/filetype"
)

// The limits of one extraction. A document over either is refused with a
// 422 rather than cut short, because a summary of part of a document would
// read as a summary of all of it.
const (
	// MaxChars is the most text, in characters (runes) after normalisation,
	// that one document may yield: about 1,000 dense pages, far past what a
	// summary prompt can use.
	MaxChars = 2_000_000
	// MaxPages is the most pages one document may have.
	MaxPages = 2_000
	// MaxPartBytes is the most uncompressed XML read from one part of a
	// DOCX (word/document.xml or word/styles.xml). The zip says how large
	// a part is, but that can lie; this bounds a zip bomb either way.
	MaxPartBytes = 50 << 20
)

// Content types Extract reads. Aliases are resolved by filetype.Lookup, so
// "text/rtf" and "text/plain; charset=utf-8" work too.
const (
	typePDF  = "application/pdf"
	typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeTXT  = "text/plain"
	typeHTML = "text/html"
	typeRTF  = "application/rtf"
)

// Document is extracted text, page by page: Pages[0] is page 1. A PDF has one
// entry per PDF page, blank pages included, so numbers match what a reader
// sees. Formats without pages (DOCX, TXT, HTML, RTF) are split only at the
// explicit page breaks they can carry: in DOCX a <w:br w:type="page"/>, a
// paragraph's page-break-before (direct or from its style) and a section
// break that starts a new page, but never w:lastRenderedPageBreak, which is
// only where Word last happened to lay a page out; a form feed in TXT; \page
// and \pagebb in RTF. Without such breaks they are one page. Trailing empty
// pages of those formats are dropped.
//
// Each page is normalised: no leading or trailing space, lines trimmed, runs
// of spaces collapsed to one (a run that holds a tab becomes one tab), at
// most one blank line in a row, no control characters except tab and
// newline, and typographic ligatures (U+FB00–FB06) spelled out.
type Document struct {
	Pages []string
}

// Words counts the whitespace-separated words over all pages.
func (d Document) Words() int {
	n := 0
	for _, p := range d.Pages {
		inWord := false
		for _, r := range p {
			space := isSpace(r)
			if !space && !inWord {
				n++
			}
			inWord = !space
		}
	}
	return n
}

// Text returns all pages joined by form feeds ("\f"), as pdftotext writes
// them. Pages never contain a form feed, so strings.Split(d.Text(), "\f")
// gives the pages back.
func (d Document) Text() string {
	return strings.Join(d.Pages, "\f")
}

// ErrNoText is the cause carried by the error for a PDF without a text
// layer; see IsNoText.
var ErrNoText = errors.New("extract: pdf has no text layer")

// IsNoText reports whether err says the PDF has no text layer (a scan), so a
// caller can offer OCR instead of a summary.
func IsNoText(err error) bool { return errors.Is(err, ErrNoText) }

// errUnsupported answers a content type that Extract cannot read.
var errUnsupported = fault.E(fault.Invalid, "This file type cannot be summarized.")

// Extract reads the document in r (size bytes) as contentType and returns its
// text by page. contentType is matched like filetype.Lookup does (case,
// parameters and aliases ignored): PDF, DOCX, plain text, HTML or RTF. Any
// other type, and any document that cannot be read (damaged, encrypted,
// without text, over MaxChars or MaxPages) is a *fault.Error of Kind
// fault.Invalid with a message fit for the user; IsNoText picks out the
// scanned-PDF case. Errors of ctx and of r come back as they are.
//
// The first PDF starts PDFium, which takes a while (see Warm); the other
// formats cost nothing up front.
func Extract(ctx context.Context, contentType string, r io.ReaderAt, size int64) (Document, error) {
	return extract(ctx, contentType, r, size, defaultLimits)
}

// limits are the package limits as values, so tests can lower them.
type limits struct {
	chars, pages int
	partBytes    int64
}

var defaultLimits = limits{chars: MaxChars, pages: MaxPages, partBytes: MaxPartBytes}

func extract(ctx context.Context, contentType string, r io.ReaderAt, size int64, lim limits) (Document, error) {
	if err := ctx.Err(); err != nil {
		return Document{}, err
	}
	if size < 0 {
		return Document{}, fmt.Errorf("extract: negative size %d", size)
	}
	t, ok := filetype.Lookup(contentType)
	if !ok {
		return Document{}, errUnsupported
	}
	w := newWriter(lim)
	var err error
	switch t.ContentType {
	case typePDF:
		err = readPDF(ctx, r, size, w)
	case typeDOCX:
		err = readDOCX(ctx, r, size, w, lim.partBytes)
	case typeTXT:
		err = readTXT(r, size, contentType, w)
	case typeHTML:
		err = readHTML(r, size, contentType, w)
	case typeRTF:
		err = readRTF(r, size, w)
	default:
		return Document{}, errUnsupported
	}
	if err != nil {
		return Document{}, err
	}
	if t.ContentType == typePDF {
		return w.document(false), nil
	}
	return w.document(true), nil
}

// readAll reads a whole text document. The text formats are parsed from
// memory: they are at most filetype.MaxSize and need a look at the whole
// input to settle its encoding.
func readAll(r io.ReaderAt, size int64) ([]byte, error) {
	if size > filetype.MaxSize {
		return nil, fault.E(fault.Invalid, "This file is too large to summarize.")
	}
	b := make([]byte, size)
	n, err := r.ReadAt(b, 0)
	if n == len(b) {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("extract: read: %w", err)
}

// source is the document as a parser (PDFium, archive/zip) reads it. It
// remembers the first read error, which the parser would only report as a
// damaged file, and stops reading once ctx ends, so a cancelled extraction
// does not read on.
type source struct {
	ctx context.Context
	r   io.ReaderAt
	err error
}

func (s *source) ReadAt(p []byte, off int64) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.fail(err)
		return 0, err
	}
	n, err := s.r.ReadAt(p, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(p)) {
		if errors.Is(err, io.EOF) {
			// PDFium asked past the end of a file shorter than its
			// declared size: the upload is truncated, not unreadable.
			return n, err
		}
		s.fail(fmt.Errorf("extract: read: %w", err))
	}
	return n, err
}

func (s *source) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}
