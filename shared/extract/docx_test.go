package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/matterly/matterly/shared/fault"
)

const (
	testNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"`
	// testRels points the package at word/document.xml, as Word writes it.
	testRels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`
)

// makeDOCX zips a DOCX whose document body is body. parts adds or replaces
// parts; an empty value removes one.
func makeDOCX(t testing.TB, body string, parts map[string]string) []byte {
	t.Helper()
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels":         testRels,
		"word/document.xml":   `<?xml version="1.0" encoding="UTF-8"?><w:document ` + testNS + `><w:body>` + body + `</w:body></w:document>`,
	}
	for k, v := range parts {
		if v == "" {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, files[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// p is a paragraph of one run of text.
func p(text string) string { return `<w:p><w:r><w:t>` + text + `</w:t></w:r></w:p>` }

const testStyles = `<?xml version="1.0"?><w:styles ` + testNS + `>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="ChapterBase"><w:basedOn w:val="Normal"/><w:pPr><w:pageBreakBefore/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Chapter"><w:basedOn w:val="ChapterBase"/></w:style>
<w:style w:type="paragraph" w:styleId="Inline"><w:basedOn w:val="Chapter"/><w:pPr><w:pageBreakBefore w:val="false"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="LoopA"><w:basedOn w:val="LoopB"/></w:style>
<w:style w:type="paragraph" w:styleId="LoopB"><w:basedOn w:val="LoopA"/></w:style>
<w:style w:type="character" w:styleId="ChapterChar"><w:pPr><w:pageBreakBefore/></w:pPr></w:style>
</w:styles>`

func TestDOCX(t *testing.T) {
	t.Parallel()
	styled := func(style, text string) string {
		return `<w:p><w:pPr><w:pStyle w:val="` + style + `"/></w:pPr><w:r><w:t>` + text + `</w:t></w:r></w:p>`
	}
	tests := []struct {
		name  string
		body  string
		parts map[string]string
		want  []string
	}{
		{"page break", `<w:p><w:r><w:t>one</w:t></w:r><w:r><w:br w:type="page"/></w:r></w:p>` + p("two"),
			nil, []string{"one", "two"}},
		{"break at the end adds no page", p("one") + `<w:p><w:r><w:br w:type="page"/></w:r></w:p>`,
			nil, []string{"one"}},
		{"rendered page break is not a break", p("one") + `<w:p><w:r><w:lastRenderedPageBreak/><w:t>two</w:t></w:r></w:p>`,
			nil, []string{"one\ntwo"}},
		{"page break before", p("one") + `<w:p><w:pPr><w:pageBreakBefore/></w:pPr><w:r><w:t>two</w:t></w:r></w:p>`,
			nil, []string{"one", "two"}},
		{"page break before, off", p("one") + `<w:p><w:pPr><w:pageBreakBefore w:val="0"/></w:pPr><w:r><w:t>two</w:t></w:r></w:p>`,
			nil, []string{"one\ntwo"}},
		{"page break before the first paragraph", `<w:p><w:pPr><w:pageBreakBefore/></w:pPr><w:r><w:t>one</w:t></w:r></w:p>`,
			nil, []string{"one"}},
		{"style breaks, inherited", p("one") + styled("Chapter", "two") + styled("Inline", "three") + styled("LoopA", "four") + styled("Nope", "five"),
			map[string]string{"word/styles.xml": testStyles}, []string{"one", "two\nthree\nfour\nfive"}},
		{"direct property beats the style", p("one") + `<w:p><w:pPr><w:pStyle w:val="Chapter"/><w:pageBreakBefore w:val="off"/></w:pPr><w:r><w:t>two</w:t></w:r></w:p>`,
			map[string]string{"word/styles.xml": testStyles}, []string{"one\ntwo"}},
		{"section break, next page by default", `<w:p><w:pPr><w:sectPr/></w:pPr><w:r><w:t>one</w:t></w:r></w:p>` + p("two") + `<w:sectPr/>`,
			nil, []string{"one", "two"}},
		{"continuous section", `<w:p><w:pPr><w:sectPr/></w:pPr><w:r><w:t>one</w:t></w:r></w:p>` + p("two") + `<w:sectPr><w:type w:val="continuous"/></w:sectPr>`,
			nil, []string{"one\ntwo"}},
		{"three sections", `<w:p><w:pPr><w:sectPr/></w:pPr><w:r><w:t>one</w:t></w:r></w:p>` +
			`<w:p><w:pPr><w:sectPr><w:type w:val="continuous"/></w:sectPr></w:pPr><w:r><w:t>two</w:t></w:r></w:p>` +
			p("three") + `<w:sectPr><w:type w:val="oddPage"/></w:sectPr>`,
			nil, []string{"one\ntwo", "three"}},
		{"continuous section after a page break", `<w:p><w:pPr><w:sectPr/></w:pPr><w:r><w:t>one</w:t></w:r></w:p>` +
			`<w:p><w:r><w:t>two</w:t><w:br w:type="page"/><w:t>three</w:t></w:r></w:p><w:sectPr><w:type w:val="continuous"/></w:sectPr>`,
			nil, []string{"one\ntwo", "three"}},
		{"run content", `<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t><w:cr/><w:t>d</w:t>` +
			`<w:noBreakHyphen/><w:t>e</w:t><w:softHyphen/><w:t>f</w:t><w:sym w:font="Symbol" w:char="F0B7"/><w:sym w:font="Arial" w:char="00A7"/></w:r></w:p>`,
			nil, []string{"a\tb\nc\nd-ef§"}},
		{"spaces", `<w:p><w:r><w:t xml:space="preserve">a   </w:t></w:r><w:r><w:t xml:space="preserve">  b</w:t></w:r></w:p>`,
			nil, []string{"a b"}},
		{"hidden, deleted, moved and field codes left out", `<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>hidden</w:t></w:r>` +
			`<w:r><w:rPr><w:vanish w:val="0"/></w:rPr><w:t>shown </w:t></w:r>` +
			`<w:del><w:r><w:delText>deleted</w:delText></w:r></w:del><w:ins><w:r><w:t>inserted </w:t></w:r></w:ins>` +
			`<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>` +
			`<w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:moveFrom><w:r><w:t>moved</w:t></w:r></w:moveFrom></w:p>`,
			nil, []string{"shown inserted 7"}},
		{"tracked formatting change", `<w:p><w:pPr><w:pPrChange><w:pPr><w:pageBreakBefore/></w:pPr></w:pPrChange></w:pPr><w:r><w:t>one</w:t></w:r></w:p>` + p("two"),
			nil, []string{"one\ntwo"}},
		{"drawing fallback left out", `<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent>` + p("box") +
			`</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>` + p("box") + `</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>`,
			nil, []string{"box"}},
		{"table", `<w:tbl><w:tr><w:tc>` + p("A") + p("A2") + `</w:tc><w:tc>` + p("B") + `</w:tc></w:tr><w:tr><w:tc>` + p("C") + `</w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>` + p("after"),
			nil, []string{"A A2\tB\nC\nafter"}},
		{"empty paragraphs", p("a") + `<w:p/><w:p/><w:p/>` + p("b"), nil, []string{"a\n\nb"}},
		{"foreign elements", `<w:p><x:r xmlns:x="urn:x"><x:t>foreign</x:t></x:r><w:r><w:t>ours</w:t></w:r></w:p>`, nil, []string{"ours"}},
		{"main part named by the relationship", "", map[string]string{
			"word/document.xml": "",
			"_rels/.rels":       strings.Replace(testRels, "word/document.xml", "/Word/Main.xml", 1),
			"word/main.xml":     `<w:document ` + testNS + `><w:body>` + p("main") + `</w:body></w:document>`,
		}, []string{"main"}},
		{"strict OOXML", "", map[string]string{
			"word/document.xml": `<w:document xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main"><w:body>` +
				p("one") + `<w:p><w:r><w:br w:type="page"/><w:t>two</w:t></w:r></w:p></w:body></w:document>`,
		}, []string{"one", "two"}},
		{"damaged styles are ignored", p("one") + styled("Chapter", "two"),
			map[string]string{"word/styles.xml": "<w:styles"}, []string{"one\ntwo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, typeDOCX, makeDOCX(t, tt.body, tt.parts))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Pages, tt.want) {
				t.Errorf("got %q, want %q", d.Pages, tt.want)
			}
		})
	}
}

func TestBadDOCX(t *testing.T) {
	t.Parallel()
	// A part that says it is small but inflates to more: archive/zip
	// itself refuses to read past the size the header gives.
	big := `<w:document ` + testNS + `><w:body>` + strings.Repeat(p("filler"), 20000) + `</w:body></w:document>`
	var lying bytes.Buffer
	zw := zip.NewWriter(&lying)
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	io.WriteString(fw, big)
	fw.Close()
	raw, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate,
		CRC32: crc32.ChecksumIEEE([]byte(big)), CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 100})
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(deflated.Bytes())
	zw.Close()

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK\x03\x04 not really"), "could not be read"},
		{"empty", nil, "could not be read"},
		{"pdf", fixture(t, "contract.pdf"), "could not be read"},
		{"no document part", makeDOCX(t, "", map[string]string{"word/document.xml": ""}), "no document text"},
		{"bad xml", makeDOCX(t, `<w:p><w:r><w:t>secret words</w:r></w:p>`, nil), "could not be read"},
		{"size that lies", lying.Bytes(), "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := extractBytes(t, typeDOCX, tt.data)
			wantInvalid(t, err, tt.want)
			// The error, logged in full, never quotes the document.
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the document: %v", err)
			}
		})
	}

	// A part over the limit is refused from its header, before inflating.
	data := makeDOCX(t, strings.Repeat(p("filler"), 2000), nil)
	_, err = extract(context.Background(), typeDOCX, bytes.NewReader(data), int64(len(data)), limits{chars: MaxChars, pages: MaxPages, partBytes: 10 << 10})
	wantInvalid(t, err, "more than 10 KB of document markup")
	if !errors.Is(err, errOverLimit) {
		t.Errorf("err = %v, want errOverLimit", err)
	}
}

// TestCapped checks the reader that bounds an inflated part even when the
// zip's own check does not apply.
func TestCapped(t *testing.T) {
	t.Parallel()
	c := &capped{r: strings.NewReader("0123456789"), n: 10, limit: 10}
	if b, err := io.ReadAll(c); err != nil || string(b) != "0123456789" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	c = &capped{r: iotest.OneByteReader(strings.NewReader("0123456789x")), n: 10, limit: 10}
	_, err := io.ReadAll(c)
	if e := fault.As(err); e == nil || !errors.Is(err, errOverLimit) {
		t.Errorf("over the limit: %v", err)
	}
	if e := fault.As(errPartTooLarge(MaxPartBytes)); !strings.Contains(e.Message, "more than 50 MB of document markup") {
		t.Errorf("message %q", e.Message)
	}
}

func BenchmarkDOCX(b *testing.B) {
	data := fixture(b, "contract.docx")
	// A larger document too: the letter's body repeated to about 300 pages
	// of text, for throughput.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	var body string
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			rc, _ := f.Open()
			x, _ := io.ReadAll(rc)
			rc.Close()
			s := string(x)
			body = s[strings.Index(s, "<w:body>")+len("<w:body>") : strings.Index(s, "<w:sectPr")]
		}
	}
	large := makeDOCX(b, strings.Repeat(body, 75), nil)
	for _, bc := range []struct {
		name string
		data []byte
	}{{"letter", data}, {"large", large}} {
		b.Run(bc.name, func(b *testing.B) {
			pages := 0
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				d, err := extractBytes(b, typeDOCX, bc.data)
				if err != nil {
					b.Fatal(err)
				}
				pages += len(d.Pages)
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}

// TestDOCXHostileMarkup: nesting and attribute floods that a small file
// can hold are refused before the XML decoder spends memory on them.
func TestDOCXHostileMarkup(t *testing.T) {
	deep := strings.Repeat("<w:p>", 100_000) + strings.Repeat("</w:p>", 100_000)
	var attrs strings.Builder
	attrs.WriteString("<w:p")
	for i := range 200_000 {
		fmt.Fprintf(&attrs, ` a%d="x"`, i)
	}
	attrs.WriteString("/>")
	fine := strings.Repeat("<w:p><w:r><w:t>ok</w:t></w:r></w:p>", 1000)
	for _, tt := range []struct {
		name, body string
		refused    bool
	}{
		{"deep nesting", deep, true},
		{"deep nesting in a fallback", "<mc:Fallback>" + deep + "</mc:Fallback>", true},
		{"attribute flood", attrs.String(), true},
		{"many shallow paragraphs", fine, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := makeDOCX(t, tt.body, nil)
			_, err := Extract(context.Background(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", bytes.NewReader(data), int64(len(data)))
			if refused := err != nil && errors.Is(err, errOverLimit); refused != tt.refused {
				t.Errorf("err = %v, want refused %v", err, tt.refused)
			}
		})
	}
}
