package extract

import (
	"bytes"
	"io"
	"mime"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// readHTML writes the text a reader of the page sees: the contents of
// script, style, title and similar elements are left out, block elements
// start new lines, table cells are separated by tabs, entities are decoded,
// and source line breaks are spaces except inside <pre>. It tokenizes rather
// than builds a tree, so a large page costs no more memory than its text.
// HTML has no pages; the whole document is one.
func readHTML(r io.ReaderAt, size int64, contentType string, w *writer) error {
	data, err := readAll(r, size)
	if err != nil {
		return err
	}
	z := html.NewTokenizer(strings.NewReader(decodeText(data, contentType, metaCharset)))
	skip, pre := 0, 0 // depth inside skipped elements and inside <pre>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// The reader is in memory, so the only error is io.EOF;
			// what was read so far is the text either way.
			return w.err
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if err := writeHTMLText(w, z.Text(), pre > 0); err != nil {
				return err
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if htmlSkipped[tag] {
				switch {
				case tt == html.StartTagToken:
					skip++
				case tt == html.EndTagToken && skip > 0:
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			if tag == "pre" {
				switch {
				case tt == html.StartTagToken:
					pre++
				case tt == html.EndTagToken && pre > 0:
					pre--
				}
			}
			switch htmlBlocks[tag] {
			case blockParagraph:
				w.Paragraph()
			case blockLine:
				w.Newline()
			case blockCell:
				if tt != html.EndTagToken {
					w.Tab()
				}
			}
		}
	}
}

// writeHTMLText writes a text node. Outside <pre>, line breaks and tabs in
// the source are only spaces.
func writeHTMLText(w *writer, text []byte, pre bool) error {
	for _, r := range string(text) {
		if !pre && (r == '\n' || r == '\r' || r == '\t' || r == '\f') {
			w.Space()
			continue
		}
		if err := w.WriteRune(r); err != nil {
			return err
		}
	}
	return nil
}

// htmlSkipped are elements whose contents a reader does not see as text.
// Their start and end tags are counted, so nested ones work; <script> and
// <style> come from the tokenizer as one raw text token anyway.
var htmlSkipped = map[string]bool{
	"script": true, "style": true, "title": true, "noscript": true, "template": true,
	"iframe": true, "noembed": true, "noframes": true,
}

type block int

const (
	inline         block = iota
	blockLine            // starts and ends a line
	blockParagraph       // starts and ends a paragraph: a blank line around it
	blockCell            // a table cell: a tab before it
)

var htmlBlocks = map[string]block{
	"p": blockParagraph, "h1": blockParagraph, "h2": blockParagraph, "h3": blockParagraph,
	"h4": blockParagraph, "h5": blockParagraph, "h6": blockParagraph, "ul": blockParagraph,
	"ol": blockParagraph, "dl": blockParagraph, "table": blockParagraph, "blockquote": blockParagraph,
	"pre": blockParagraph, "hr": blockParagraph, "figure": blockParagraph, "address": blockParagraph,
	"section": blockParagraph, "article": blockParagraph, "aside": blockParagraph, "nav": blockParagraph,
	"header": blockParagraph, "footer": blockParagraph, "main": blockParagraph, "form": blockParagraph,
	"fieldset": blockParagraph, "details": blockParagraph,

	"br": blockLine, "li": blockLine, "dt": blockLine, "dd": blockLine, "tr": blockLine,
	"div": blockLine, "caption": blockLine, "figcaption": blockLine, "legend": blockLine,
	"summary": blockLine, "option": blockLine, "body": blockLine, "html": blockLine,

	"td": blockCell, "th": blockCell,
}

// metaCharset finds the encoding a page declares in its first 1024 bytes,
// <meta charset="…"> or <meta http-equiv="Content-Type" content="…;
// charset=…">, as browsers look for it. A declared UTF-16 is read as UTF-8,
// as the HTML standard says: a page that really is UTF-16 has a BOM.
func metaCharset(data []byte) encoding.Encoding {
	if len(data) > 1024 {
		data = data[:1024]
	}
	z := html.NewTokenizer(bytes.NewReader(data))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" || !hasAttr {
				continue
			}
			var label, content string
			httpEquiv := false
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "charset":
					label = string(v)
				case "http-equiv":
					httpEquiv = strings.EqualFold(string(v), "content-type")
				case "content":
					content = string(v)
				}
			}
			if label == "" && httpEquiv {
				if _, params, err := mime.ParseMediaType(content); err == nil {
					label = params["charset"]
				}
			}
			if label == "" {
				continue
			}
			e, name2 := charset.Lookup(label)
			if strings.HasPrefix(name2, "utf-16") {
				return nil
			}
			return e
		}
	}
}
