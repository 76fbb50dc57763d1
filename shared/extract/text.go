package extract

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/matterly/matterly/shared/fault"
)

// writer receives text from an extractor and normalises it on the way in,
// so the limits count what the caller will get and a document over them
// stops as soon as it crosses one. It is the only place that decides what
// whitespace and control characters become.
type writer struct {
	lim   limits
	pages []string
	cur   strings.Builder // the page being written
	chars int             // runes kept, over all pages

	space    rune // pending horizontal space: 0, ' ' or '\t'
	newlines int  // pending line breaks, at most 2
	cr       bool // the last rune was '\r', so a '\n' right after it is the same break
	err      error
}

func newWriter(lim limits) *writer { return &writer{lim: lim} }

// errTooMuchText and errTooManyPages are built from the limits in force.
func errTooMuchText(lim limits) error {
	return fault.E(fault.Invalid, "This document has more than %s characters of text, the most that can be summarized.", thousands(lim.chars))
}

func errTooManyPages(lim limits) error {
	return fault.E(fault.Invalid, "This document has more than %s pages, the most that can be summarized.", thousands(lim.pages))
}

// WriteString writes s. It fails only once a limit is crossed, and then
// keeps failing.
func (w *writer) WriteString(s string) error {
	for _, r := range s {
		if err := w.WriteRune(r); err != nil {
			return err
		}
	}
	return w.err
}

// WriteRune writes one rune.
func (w *writer) WriteRune(r rune) error {
	if w.err != nil {
		return w.err
	}
	if r == '\n' && w.cr {
		w.cr = false
		return nil
	}
	w.cr = r == '\r'
	switch {
	case r == '\n' || r == '\r' || r == '\v' || r == '\u0085' || r == '\u2028':
		w.newline(1)
	case r == '\u2029':
		w.newline(2)
	case r == '\t':
		w.space = '\t'
	case isSpace(r):
		if w.space == 0 {
			w.space = ' '
		}
	case r >= '\ufb00' && r <= '\ufb06':
		for _, l := range ligatures[r-'\ufb00'] {
			w.put(l)
		}
	case dropped(r):
	default:
		w.put(r)
	}
	return w.err
}

// newline records n pending line breaks; trailing space on the line goes.
func (w *writer) newline(n int) {
	w.space = 0
	w.newlines = min(w.newlines+n, 2)
}

// Newline makes sure that what follows starts a new line, as a block
// element's start or end does. Unlike a '\n' written as text, it does not
// add up: two in a row are still one line break.
func (w *writer) Newline() {
	w.space = 0
	w.newlines = max(w.newlines, 1)
}

// Paragraph makes sure that a blank line comes before what follows.
func (w *writer) Paragraph() {
	w.space = 0
	w.newlines = 2
}

// Space separates two pieces of text with one space (or keeps a pending
// tab), without adding one at the start of a line.
func (w *writer) Space() {
	if w.space == 0 {
		w.space = ' '
	}
}

// Tab separates two pieces of text with a tab, as between table cells.
func (w *writer) Tab() { w.space = '\t' }

// put writes a visible rune, first flushing the whitespace pending before
// it. Whitespace at the start of a page is dropped, and so is whitespace at
// the end, because it is never flushed.
func (w *writer) put(r rune) {
	if w.cur.Len() > 0 {
		switch {
		case w.newlines > 0:
			w.add('\n')
			if w.newlines > 1 {
				w.add('\n')
			}
		case w.space != 0:
			w.add(w.space)
		}
	}
	w.space, w.newlines = 0, 0
	w.add(r)
}

func (w *writer) add(r rune) {
	w.chars++
	if w.chars > w.lim.chars {
		w.err = errTooMuchText(w.lim)
		return
	}
	w.cur.WriteRune(r)
}

// PageBreak ends the current page; what follows goes on the next one.
func (w *writer) PageBreak() error {
	if w.err != nil {
		return w.err
	}
	if len(w.pages)+1 >= w.lim.pages {
		// The page being started would be one too many.
		w.err = errTooManyPages(w.lim)
		return w.err
	}
	w.pages = append(w.pages, w.cur.String())
	w.cur.Reset()
	w.space, w.newlines, w.cr = 0, 0, false
	return nil
}

// pageCount is the number of pages so far, the current one included.
func (w *writer) pageCount() int { return len(w.pages) + 1 }

// empty reports whether nothing visible has been written yet.
func (w *writer) empty() bool { return len(w.pages) == 0 && w.cur.Len() == 0 }

// joinPage undoes the page break that started page i (0-based, i ≥ 1):
// pages i-1 and i become one page, separated by a line break. A DOCX section
// break is taken as a page break until the next section says it continues
// on the same page.
func (w *writer) joinPage(i int) {
	if i < 1 || i > len(w.pages) {
		return
	}
	prev := w.pages[i-1]
	if i < len(w.pages) {
		w.pages[i-1] = join(prev, w.pages[i])
		w.pages = append(w.pages[:i], w.pages[i+1:]...)
		return
	}
	// Page i is the one being written: it goes on after prev, on a new
	// line, now if it has text or else before the text that comes.
	next := w.cur.String()
	w.pages = w.pages[:i-1]
	w.cur.Reset()
	w.cur.WriteString(join(prev, next))
	if next == "" && prev != "" {
		w.newlines = max(w.newlines, 1)
	}
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// document ends the text. dropTrailing leaves out empty pages at the end,
// for formats whose last page break starts a page nobody wrote on; a PDF
// keeps every page so that page numbers stay true.
func (w *writer) document(dropTrailing bool) Document {
	pages := append(w.pages, w.cur.String())
	if dropTrailing {
		for len(pages) > 1 && pages[len(pages)-1] == "" {
			pages = pages[:len(pages)-1]
		}
	}
	return Document{Pages: pages}
}

// ligatures spells out U+FB00–FB06, which PDFs made with some fonts carry
// instead of the letters, so "ﬁnal" is found as "final".
var ligatures = [...]string{"ff", "fi", "fl", "ffi", "ffl", "ſt", "st"}

// isSpace is Unicode White_Space, as strings.Fields splits on; no-break
// and typographic spaces become plain spaces.
func isSpace(r rune) bool {
	return unicode.IsSpace(r)
}

// dropped reports runes that carry no text: control characters (tab and line
// breaks are handled before), the soft hyphen, which marks where a word may
// break, zero-width space and BOM, and the non-characters U+FFFE and U+FFFF.
func dropped(r rune) bool {
	switch r {
	case '\u00ad', '\u200b', '\ufeff', '\ufffe', '\uffff':
		return true
	}
	return unicode.IsControl(r)
}

// thousands formats n with comma separators, for messages.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
