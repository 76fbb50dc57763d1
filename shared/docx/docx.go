// Package docx writes plain text as a minimal Word document (Office Open
// XML, ECMA-376): one paragraph per line, the parts Word needs and nothing
// else. AI drafts are saved this way, so a lawyer opens them in Word.
package docx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"strings"
)

// ContentType is a DOCX file's media type.
const ContentType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

const (
	contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
		`</Types>`
	rels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
		`</Relationships>`
	docStart = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`
	docEnd = `<w:sectPr><w:pgSz w:w="12240" w:h="15840"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr></w:body></w:document>`
)

// Write returns text as a DOCX file: each line a paragraph, tabs kept.
func Write(text string) ([]byte, error) {
	var doc strings.Builder
	doc.WriteString(docStart)
	for _, line := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n") {
		doc.WriteString("<w:p>")
		for i, part := range strings.Split(line, "\t") {
			if i > 0 {
				doc.WriteString("<w:r><w:tab/></w:r>")
			}
			if part == "" {
				continue
			}
			doc.WriteString(`<w:r><w:t xml:space="preserve">`)
			if err := xml.EscapeText(&doc, []byte(clean(part))); err != nil {
				return nil, err
			}
			doc.WriteString("</w:t></w:r>")
		}
		doc.WriteString("</w:p>")
	}
	doc.WriteString(docEnd)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, part := range []struct{ name, body string }{
		{"[Content_Types].xml", contentTypes}, {"_rels/.rels", rels}, {"word/document.xml", doc.String()},
	} {
		w, err := zw.Create(part.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(part.body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clean drops the characters XML 1.0 cannot hold (control characters a
// model may emit), which would make Word refuse the file.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0xFFFE || r == 0xFFFF || r >= 0xD800 && r <= 0xDFFF {
			return -1
		}
		return r
	}, s)
}
