package extract

import (
	"bytes"
	"io"
	"strconv"

	"golang.org/x/text/encoding/charmap"

	"github.com/matterly/matterly/shared/fault"
)

var errRTFDamaged = fault.E(fault.Invalid, "This RTF file could not be read; it may be damaged. Save it again and upload the new file.")

// maxRTFDepth bounds group nesting. Real documents stay under a few dozen
// levels; the bound keeps a file of nothing but "{" from costing a state per
// byte.
const maxRTFDepth = 1024

// readRTF writes the visible text of an RTF document: groups, control words
// and symbols are interpreted as the RTF 1.9.1 specification says, \par and
// \line end lines, \tab and \cell are tabs, \page (and \pagebb) breaks the
// page, \'hh is a byte in the document's ANSI code page (Windows-1252 unless
// \ansicpg names another single-byte one), and \uN is a Unicode character
// whose \ucN fallback characters are skipped. Destinations that are not body
// text (font, colour and style tables, document info, pictures, headers,
// footers, footnotes, field instructions, and every \* destination) are
// skipped, and so is hidden text (\v).
func readRTF(r io.ReaderAt, size int64, w *writer) error {
	data, err := readAll(r, size)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(`{\rtf`)) {
		return errRTFDamaged
	}
	p := &rtfParser{data: data, w: w, st: rtfState{uc: 1}, cp: charmap.Windows1252}
	return p.run()
}

// rtfState is what a group inherits from its parent and restores on close.
type rtfState struct {
	skip   bool // in a destination that is not text
	hidden bool // \v
	uc     int  // fallback characters after \uN
}

type rtfParser struct {
	data  []byte
	pos   int
	w     *writer
	stack []rtfState
	st    rtfState
	cp    *charmap.Charmap
	// fallback is how many characters after a \uN still belong to its
	// fallback and are dropped.
	fallback int
	high     rune // a high surrogate from \uN waiting for its low half
}

func (p *rtfParser) run() error {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		switch c {
		case '{':
			if len(p.stack) >= maxRTFDepth {
				return errRTFDamaged
			}
			p.stack = append(p.stack, p.st)
		case '}':
			if len(p.stack) == 0 {
				return p.w.err
			}
			p.st = p.stack[len(p.stack)-1]
			p.stack = p.stack[:len(p.stack)-1]
			p.fallback = 0
			if len(p.stack) == 0 {
				return p.w.err // the document's closing brace
			}
		case '\\':
			p.control()
		case '\r', '\n':
			// Line breaks in the source are not text.
		default:
			p.byte(c)
		}
		if p.w.err != nil {
			return p.w.err
		}
	}
	return p.w.err
}

// control reads the control word or symbol after a backslash.
func (p *rtfParser) control() {
	if p.pos >= len(p.data) {
		return
	}
	c := p.data[p.pos]
	if !isASCIILetter(c) {
		p.pos++
		p.symbol(c)
		return
	}
	start := p.pos
	for p.pos < len(p.data) && isASCIILetter(p.data[p.pos]) && p.pos-start < 32 {
		p.pos++
	}
	word := string(p.data[start:p.pos])
	param, hasParam := 0, false
	numStart := p.pos
	if p.pos < len(p.data) && p.data[p.pos] == '-' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' && p.pos-digits < 10 {
		p.pos++
	}
	if p.pos > digits {
		param, _ = strconv.Atoi(string(p.data[numStart:p.pos]))
		hasParam = true
	} else {
		p.pos = numStart // a lone "-" is text
	}
	if p.pos < len(p.data) && p.data[p.pos] == ' ' {
		p.pos++ // the delimiter belongs to the word
	}
	p.word(word, param, hasParam)
}

// symbol handles a control symbol: a backslash and one non-letter.
func (p *rtfParser) symbol(c byte) {
	switch c {
	case '\'':
		if p.pos+2 <= len(p.data) {
			if b, err := strconv.ParseUint(string(p.data[p.pos:p.pos+2]), 16, 8); err == nil {
				p.pos += 2
				p.byte(byte(b))
			}
		}
	case '\\', '{', '}':
		p.char(rune(c))
	case '~':
		p.char('\u00a0')
	case '_':
		p.char('-') // non-breaking hyphen
	case '-':
		p.char('\u00ad') // optional hyphen; the writer drops it
	case '*':
		// An ignorable destination. Every one this reader would show
		// has an unstarred form, so the whole group is skipped.
		p.st.skip = true
	case '\r', '\n':
		p.char('\n') // an escaped line break is \par
	}
}

// rtfSkipped are destinations that hold no body text.
var rtfSkipped = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"header": true, "headerl": true, "headerr": true, "headerf": true,
	"footer": true, "footerl": true, "footerr": true, "footerf": true,
	"footnote": true, "annotation": true, "fldinst": true, "filetbl": true,
	"listtable": true, "listoverridetable": true, "revtbl": true, "rsidtbl": true,
	"generator": true, "xmlnstbl": true, "themedata": true, "colorschememapping": true,
	"latentstyles": true, "datastore": true, "objdata": true, "nonshppict": true,
	"xe": true, "tc": true, "tcn": true, "template": true, "docvar": true, "userprops": true,
	"bkmkstart": true, "bkmkend": true, "pgdsctbl": true, "mmathPict": true,
}

// rtfChars are control words that stand for one character.
var rtfChars = map[string]rune{
	"emdash": '—', "endash": '–', "lquote": '‘', "rquote": '’', "ldblquote": '“', "rdblquote": '”',
	"bullet": '•', "emspace": '\u2003', "enspace": '\u2002', "qmspace": '\u2005',
	"zwj": '\u200d', "zwnj": '\u200c', "tab": '\t', "cell": '\t', "nestcell": '\t',
	"par": '\n', "line": '\n', "row": '\n', "nestrow": '\n', "sect": '\n', "lbr": '\n',
}

// rtfCodePages are the single-byte code pages \ansicpg may name.
var rtfCodePages = map[int]*charmap.Charmap{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
	866: charmap.CodePage866, 874: charmap.Windows874, 1250: charmap.Windows1250,
	1251: charmap.Windows1251, 1252: charmap.Windows1252, 1253: charmap.Windows1253,
	1254: charmap.Windows1254, 1255: charmap.Windows1255, 1256: charmap.Windows1256,
	1257: charmap.Windows1257, 1258: charmap.Windows1258, 10000: charmap.Macintosh,
}

func (p *rtfParser) word(word string, param int, hasParam bool) {
	if rtfSkipped[word] {
		p.st.skip = true
		return
	}
	if r, ok := rtfChars[word]; ok {
		p.char(r)
		return
	}
	switch word {
	case "u":
		p.unicode(param)
	case "uc":
		if param >= 0 {
			p.st.uc = param
		}
	case "bin":
		// Raw binary data; it is never text.
		if param > 0 {
			p.pos = min(p.pos+param, len(p.data))
		}
	case "page", "pagebb":
		if p.st.skip || p.st.hidden || (word == "pagebb" && p.w.empty()) {
			return
		}
		p.fallback = 0
		p.w.PageBreak()
	case "v":
		p.st.hidden = !hasParam || param != 0
	case "plain":
		p.st.hidden = false
	case "ansicpg":
		if cp := rtfCodePages[param]; cp != nil {
			p.cp = cp
		}
	case "mac":
		p.cp = charmap.Macintosh
	case "pc":
		p.cp = charmap.CodePage437
	case "pca":
		p.cp = charmap.CodePage850
	}
}

// unicode handles \uN: N is a signed 16-bit value, and characters outside
// the Basic Multilingual Plane come as two \u surrogates.
func (p *rtfParser) unicode(n int) {
	if n < 0 {
		n += 65536
	}
	r := rune(n)
	skip := p.st.uc
	switch {
	case r >= 0xd800 && r < 0xdc00:
		p.char(0) // let char drop a stale high surrogate first
		p.high = r
	case r >= 0xdc00 && r < 0xe000 && p.high != 0:
		r = (p.high-0xd800)<<10 + (r - 0xdc00) + 0x10000
		p.high = 0
		p.char(r)
	default:
		p.char(r)
	}
	p.fallback = skip
}

// byte handles a text byte, in the document's code page.
func (p *rtfParser) byte(b byte) {
	if b < 0x80 {
		p.char(rune(b))
		return
	}
	p.char(p.cp.DecodeByte(b))
}

// char writes one character unless it is part of a \u fallback or in a
// skipped or hidden group.
func (p *rtfParser) char(r rune) {
	if r == 0 {
		p.high = 0
		return
	}
	if p.fallback > 0 {
		p.fallback--
		return
	}
	if p.high != 0 {
		p.high = 0 // a high surrogate without its low half
	}
	if p.st.skip || p.st.hidden {
		return
	}
	p.w.WriteRune(r)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
