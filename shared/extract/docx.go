package extract

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/html/charset"

	"github.com/matterly/matterly/shared/fault"
)

var (
	errDOCXDamaged = fault.E(fault.Invalid, "This DOCX file could not be read; it may be damaged or password-protected. Save it again from Word and upload the new file.")
	errDOCXNoBody  = fault.E(fault.Invalid, "This DOCX file has no document text (word/document.xml is missing); it may be damaged.")
)

// XML namespaces of the parts read. Strict OOXML, which Word can save, uses
// other names for the same elements.
const (
	nsW       = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsWStrict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsMC      = "http://schemas.openxmlformats.org/markup-compatibility/2006"
)

// readDOCX writes the text of the main document part of a DOCX: paragraphs
// end lines, <w:tab/> is a tab, <w:br/> and <w:cr/> end lines, table cells
// are separated by tabs and rows end lines. Deleted and moved-away revisions,
// hidden runs, field codes and the fallback copies of drawings are left out;
// headers, footers, footnotes and comments live in other parts and are not
// read. Pages break only where the author asked for it (see Document).
func readDOCX(ctx context.Context, r io.ReaderAt, size int64, w *writer, partLimit int64) error {
	// Parts are read through src as they are inflated, so a cancelled ctx
	// or a failing reader stops the parse and is told apart from damage.
	src := &source{ctx: ctx, r: r}
	zr, err := zip.NewReader(src, size)
	if err != nil {
		if src.err != nil {
			return src.err
		}
		return &fault.Error{Kind: fault.Invalid, Message: errDOCXDamaged.Message, Err: err}
	}
	parts := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		// Part names are case-insensitive (ECMA-376 part 2); the first
		// of duplicate names wins.
		name := strings.ToLower(strings.TrimPrefix(f.Name, "/"))
		if _, dup := parts[name]; !dup {
			parts[name] = f
		}
	}
	p := docxPackage{parts: parts, limit: partLimit, src: src}

	main := p.target("", "/officeDocument", "word/document.xml")
	styles, err := p.styles(p.target(main, "/styles", path.Join(path.Dir(main), "styles.xml")))
	if err != nil {
		return err
	}
	part, err := p.open(main)
	if err != nil {
		return err
	}
	defer part.Close()
	d := &docxText{w: w, styles: styles, sectionBreak: -1}
	if err := d.read(xmlDecoder(part)); err != nil {
		return p.fail(err)
	}
	return nil
}

// docxPackage is the zip of a DOCX with its parts by lower-cased name.
type docxPackage struct {
	parts map[string]*zip.File
	limit int64
	src   *source
}

// fail turns an error met while reading a part into the one to return: the
// reader's own error, a client error as it is, or "damaged". A syntax
// error's text can quote the document, so only its line is kept for the log.
func (p docxPackage) fail(err error) error {
	if p.src.err != nil {
		return p.src.err
	}
	if fault.As(err) != nil {
		return err
	}
	if se := (*xml.SyntaxError)(nil); errors.As(err, &se) {
		err = fmt.Errorf("extract: docx xml syntax error on line %d", se.Line)
	}
	return &fault.Error{Kind: fault.Invalid, Message: errDOCXDamaged.Message, Err: err}
}

// open opens a part for reading, refusing one whose stated or actual size
// is over the part limit.
func (p docxPackage) open(name string) (io.ReadCloser, error) {
	f := p.parts[name]
	if f == nil {
		return nil, errDOCXNoBody
	}
	if f.UncompressedSize64 > uint64(p.limit) {
		return nil, errPartTooLarge(p.limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, p.fail(err)
	}
	return struct {
		io.Reader
		io.Closer
	}{&capped{r: rc, n: p.limit, limit: p.limit}, rc}, nil
}

// errOverLimit is the cause of the error for a part over the limit.
var errOverLimit = errors.New("extract: docx part over the size limit")

func errPartTooLarge(limit int64) error {
	size := thousands(int(limit>>20)) + " MB"
	if limit < 1<<20 {
		size = thousands(int(limit>>10)) + " KB"
	}
	return &fault.Error{Kind: fault.Invalid, Err: errOverLimit,
		Message: "This DOCX file holds more than " + size + " of document markup, the most that can be summarized."}
}

// capped reads at most n bytes and fails, rather than stopping quietly, when
// there is more: a part that inflates past the limit is refused, not cut.
type capped struct {
	r        io.Reader
	n, limit int64
}

func (c *capped) Read(b []byte) (int, error) {
	if c.n <= 0 {
		var one [1]byte
		k, err := c.r.Read(one[:])
		if k > 0 {
			return 0, errPartTooLarge(c.limit)
		}
		return 0, err
	}
	if int64(len(b)) > c.n {
		b = b[:c.n]
	}
	k, err := c.r.Read(b)
	c.n -= int64(k)
	return k, err
}

// target finds the part that a relationship of the given type (matched by
// its ending, so both the transitional and the strict URIs match) points to
// from the part from ("" for the package), or returns def.
func (p docxPackage) target(from, relType, def string) string {
	dir, base := path.Split(from)
	rels := dir + "_rels/" + base + ".rels"
	f := p.parts[strings.ToLower(rels)]
	if f == nil || f.UncompressedSize64 > 1<<20 {
		return def
	}
	rc, err := f.Open()
	if err != nil {
		return def
	}
	defer rc.Close()
	var doc struct {
		Rels []struct {
			Type       string `xml:"Type,attr"`
			Target     string `xml:"Target,attr"`
			TargetMode string `xml:"TargetMode,attr"`
		} `xml:"Relationship"`
	}
	if err := xmlDecoder(io.LimitReader(rc, 1<<20)).Decode(&doc); err != nil {
		return def
	}
	for _, rel := range doc.Rels {
		if !strings.HasSuffix(rel.Type, relType) || strings.EqualFold(rel.TargetMode, "External") {
			continue
		}
		t := rel.Target
		if !strings.HasPrefix(t, "/") {
			t = path.Join("/", dir, t)
		}
		return strings.ToLower(strings.TrimPrefix(path.Clean(t), "/"))
	}
	return def
}

// docxStyles says which paragraph styles start a new page.
type docxStyles struct {
	breakBefore map[string]bool // by style id, inheritance resolved
	defaultID   string          // the style of a paragraph that names none
}

// styles reads the paragraph styles with a page-break-before property. A
// missing or unreadable styles part only means no style breaks pages; a
// part over the limit is still refused.
func (p docxPackage) styles(name string) (docxStyles, error) {
	var s docxStyles
	if p.parts[name] == nil {
		return s, nil
	}
	part, err := p.open(name)
	if err != nil {
		if p.src.err != nil {
			return s, p.src.err
		}
		if errors.Is(err, errOverLimit) {
			return s, err
		}
		return s, nil
	}
	defer part.Close()
	type style struct {
		basedOn string
		brk     *bool
	}
	all := map[string]*style{}
	var cur *style
	var stack []string
	d := xmlDecoder(part)
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if p.src.err != nil {
				return s, p.src.err
			}
			if errors.Is(err, errOverLimit) {
				return s, err
			}
			return s, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := wName(t.Name)
			parent := last(stack)
			stack = append(stack, name)
			switch {
			case name == "style" && parent == "styles":
				cur = nil
				if wAttr(t, "type") == "paragraph" {
					cur = &style{}
					id := wAttr(t, "styleId")
					all[id] = cur
					if onOff(wAttr(t, "default"), false) {
						s.defaultID = id
					}
				}
			case cur == nil:
			case name == "basedOn" && parent == "style":
				cur.basedOn = wAttr(t, "val")
			case name == "pageBreakBefore" && parent == "pPr" && len(stack) >= 3 && stack[len(stack)-3] == "style":
				b := onOff(wAttr(t, "val"), true)
				cur.brk = &b
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	s.breakBefore = map[string]bool{}
	for id, st := range all {
		// Follow basedOn until a style sets the property; the depth
		// bound also ends a cycle.
		for range 32 {
			if st.brk != nil {
				if *st.brk {
					s.breakBefore[id] = true
				}
				break
			}
			if st = all[st.basedOn]; st == nil {
				break
			}
		}
	}
	return s, nil
}

// docxText walks word/document.xml and writes its text.
type docxText struct {
	w      *writer
	styles docxStyles
	stack  []string // local names of the open elements (see wName)
	paras  []*docxPara
	cells  int  // open table cells
	hidden bool // the current run is hidden (<w:vanish/>)
	// sectionBreak is the index of the page that the last section break
	// started, until the next section says whether it really starts on a
	// new page; -1 when there is none pending.
	sectionBreak int
}

// docxPara is the state of an open paragraph; text boxes nest them.
type docxPara struct {
	style        string
	breakBefore  *bool // set directly on the paragraph
	started      bool  // its page break, if any, has been applied
	endsSection  bool  // its properties hold a sectPr
	sectionStart string
}

func (d *docxText) read(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return d.w.err
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := d.start(dec, t); err != nil {
				return err
			}
		case xml.EndElement:
			if err := d.end(); err != nil {
				return err
			}
		case xml.CharData:
			if d.hidden || last(d.stack) != "t" || d.parent(1) != "r" {
				continue
			}
			if err := d.w.WriteString(string(t)); err != nil {
				return err
			}
		}
	}
}

func (d *docxText) parent(n int) string {
	if len(d.stack) <= n {
		return ""
	}
	return d.stack[len(d.stack)-1-n]
}

func (d *docxText) para() *docxPara {
	if len(d.paras) == 0 {
		return nil
	}
	return d.paras[len(d.paras)-1]
}

func (d *docxText) start(dec *xml.Decoder, t xml.StartElement) error {
	name := wName(t.Name)
	parent := last(d.stack)
	switch {
	case name == "mc:Fallback", name == "moveFrom", name == "del",
		strings.HasSuffix(name, "Change") && !strings.ContainsAny(name, "?:"):
		// A drawing's fallback repeats the text of its preferred
		// form; deleted and moved-away text is not in the document;
		// a *PrChange holds formatting from before a tracked change.
		return dec.Skip()
	}
	// A paragraph's break applies before its first content.
	if p := d.para(); p != nil && !p.started && parent == "p" && name != "pPr" {
		if err := d.startPara(p); err != nil {
			return err
		}
	}
	d.stack = append(d.stack, name)
	w := d.w
	switch {
	case name == "p":
		d.paras = append(d.paras, &docxPara{})
	case name == "tc":
		d.cells++
	case name == "r":
		d.hidden = false
	case parent == "pPr" && d.parent(2) == "p" && d.para() != nil:
		p := d.para()
		switch name {
		case "pStyle":
			p.style = wAttr(t, "val")
		case "pageBreakBefore":
			b := onOff(wAttr(t, "val"), true)
			p.breakBefore = &b
		case "sectPr":
			p.endsSection = true
		}
	case name == "type" && parent == "sectPr":
		if p := d.para(); p != nil && d.parent(2) == "pPr" {
			p.sectionStart = wAttr(t, "val")
		} else if d.parent(2) == "body" {
			d.endSection(wAttr(t, "val"))
		}
	case (name == "vanish" || name == "specVanish") && parent == "rPr" && d.parent(2) == "r":
		d.hidden = onOff(wAttr(t, "val"), true)
	case parent != "r" || d.hidden:
	case name == "tab":
		w.Tab()
	case name == "br":
		switch wAttr(t, "type") {
		case "page":
			return w.PageBreak()
		default: // textWrapping, column
			return w.WriteRune('\n')
		}
	case name == "cr":
		return w.WriteRune('\n')
	case name == "noBreakHyphen":
		return w.WriteRune('-')
	case name == "sym":
		// Symbol-font characters sit in the private use area and mean
		// nothing as text.
		if c, err := strconv.ParseUint(wAttr(t, "char"), 16, 32); err == nil && c < 0xe000 {
			return w.WriteRune(rune(c))
		}
	}
	return w.err
}

// startPara applies a paragraph's page-break-before, direct or from its
// style, once its properties are known. Word ignores it on the document's
// first paragraph, and so does this.
func (d *docxText) startPara(p *docxPara) error {
	p.started = true
	brk := false
	switch {
	case p.breakBefore != nil:
		brk = *p.breakBefore
	case p.style != "":
		brk = d.styles.breakBefore[p.style]
	default:
		brk = d.styles.breakBefore[d.styles.defaultID]
	}
	if brk && !d.w.empty() {
		return d.w.PageBreak()
	}
	return nil
}

func (d *docxText) end() error {
	if len(d.stack) == 0 {
		return nil
	}
	name := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	w := d.w
	switch name {
	case "pPr":
		if p := d.para(); p != nil && last(d.stack) == "p" {
			if p.endsSection {
				// This sectPr says how the section ending here
				// started, which settles the break before it.
				d.endSection(p.sectionStart)
			}
			return d.startPara(p)
		}
	case "p":
		p := d.para()
		d.paras = d.paras[:len(d.paras)-1]
		if p != nil && !p.started {
			if err := d.startPara(p); err != nil {
				return err
			}
		}
		// An empty paragraph is a blank line, as in Word; in a
		// table cell, paragraphs run on so that a row stays a line.
		if d.cells > 0 {
			w.Space()
		} else if err := w.WriteRune('\n'); err != nil {
			return err
		}
		if p != nil && p.endsSection {
			// Another section follows. Whether it starts on a new
			// page is in its own sectPr, further on; until then
			// take the default, a new page.
			if err := w.PageBreak(); err != nil {
				return err
			}
			d.sectionBreak = w.pageCount() - 1
		}
	case "tc":
		d.cells--
		w.Tab()
	case "tr":
		w.Newline()
	case "r":
		d.hidden = false
	}
	return w.err
}

// endSection settles the pending section break with the start type of the
// section after it: a continuous section (or one in the next column) joins
// the page it was given back to the one before.
func (d *docxText) endSection(start string) {
	if d.sectionBreak < 0 {
		return
	}
	if start == "continuous" || start == "nextColumn" {
		d.w.joinPage(d.sectionBreak)
	}
	d.sectionBreak = -1
}

// wName is the local name of a WordprocessingML element, "mc:" and the
// local name for markup compatibility, and "?" and the local name for any
// other namespace, so that a foreign <x:p> is never taken for a paragraph.
func wName(n xml.Name) string {
	switch n.Space {
	case nsW, nsWStrict:
		return n.Local
	case nsMC:
		return "mc:" + n.Local
	}
	return "?" + n.Local
}

// wAttr returns a WordprocessingML attribute of t.
func wAttr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local && (a.Name.Space == nsW || a.Name.Space == nsWStrict) {
			return a.Value
		}
	}
	return ""
}

// onOff reads an ST_OnOff value; an absent attribute means def ("on" for
// an element such as <w:vanish/> that is present).
func onOff(v string, def bool) bool {
	switch v {
	case "":
		return def
	case "0", "false", "off":
		return false
	}
	return true
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func xmlDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(&xmlGuard{r: r})
	d.CharsetReader = charset.NewReaderLabel
	return d
}

// Limits of a part's markup that its byte size does not bound: Go's XML
// decoder keeps a stack entry per open element and parses a tag's
// attributes all at once, so a small, deeply nested or attribute-flooded
// part could take gigabytes.
const (
	maxXMLDepth    = 256
	maxXMLTagBytes = 1 << 20
)

var errXMLShape = &fault.Error{Kind: fault.Invalid, Err: errOverLimit,
	Message: "This DOCX file's markup is nested too deeply or has oversized tags; it may be damaged or crafted."}

// xmlGuard watches the bytes on their way to the decoder: element depth
// and tag length. It is a scanner, not a parser: markup it does not model
// (comments, CDATA) can only make it count more than the decoder sees,
// never less, so it cannot be slipped past.
type xmlGuard struct {
	r        io.Reader
	depth    int
	inTag    bool
	quote    byte
	tagLen   int
	closing  bool // the tag is </...>
	special  bool // <?...?> or <!...>
	first    bool // the next byte is the tag's first
	lastByte byte // the previous byte inside the tag, outside quotes
}

func (g *xmlGuard) Read(b []byte) (int, error) {
	n, err := g.r.Read(b)
	for _, c := range b[:n] {
		if !g.inTag {
			if c == '<' {
				g.inTag, g.first, g.tagLen, g.closing, g.special, g.lastByte = true, true, 0, false, false, 0
			}
			continue
		}
		g.tagLen++
		if g.tagLen > maxXMLTagBytes {
			return 0, errXMLShape
		}
		if g.first {
			g.first = false
			g.closing, g.special = c == '/', c == '?' || c == '!'
		}
		switch {
		case g.quote != 0:
			if c == g.quote {
				g.quote = 0
			}
		case (c == '"' || c == '\'') && !g.special:
			g.quote = c
		case c == '>':
			g.inTag = false
			switch {
			case g.special:
			case g.closing:
				g.depth--
			case g.lastByte != '/':
				if g.depth++; g.depth > maxXMLDepth {
					return 0, errXMLShape
				}
			}
		default:
			g.lastByte = c
		}
	}
	return n, err
}
