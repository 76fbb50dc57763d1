package filetype

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/fault"
)

const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

func mustLookup(t testing.TB, contentType string) Type {
	t.Helper()
	typ, ok := Lookup(contentType)
	if !ok {
		t.Fatalf("Lookup(%q) refused", contentType)
	}
	return typ
}

func TestLookup(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical content type; "" when refused
	}{
		{"application/pdf", "application/pdf"},
		{docxType, docxType},
		{"application/msword", "application/msword"},
		{"application/rtf", "application/rtf"},
		{"text/rtf", "application/rtf"},
		{"application/x-rtf", "application/rtf"},
		{"text/plain", "text/plain"},
		{"text/html", "text/html"},
		{"image/png", "image/png"},
		{"image/jpeg", "image/jpeg"},
		{"image/jpg", "image/jpeg"},
		{"image/pjpeg", "image/jpeg"},
		{"image/heic", "image/heic"},
		{"image/heif", "image/heic"},
		{"application/vnd.ms-outlook", "application/vnd.ms-outlook"},
		{"message/rfc822", "message/rfc822"},
		// case and parameters
		{"Application/PDF", "application/pdf"},
		{"TEXT/RTF", "application/rtf"},
		{"text/plain; charset=utf-8", "text/plain"},
		{"text/plain;charset=UTF-8", "text/plain"},
		{"  text/html ; charset=utf-8", "text/html"},
		{"Image/JPG; q=1", "image/jpeg"},
		// refused
		{"", ""},
		{";", ""},
		{"application/octet-stream", ""},
		{"application/zip", ""},
		{"image/svg+xml", ""},
		{"image/gif", ""},
		{"text/javascript", ""},
		{"application/x-msdownload", ""},
		{"application/pdfx", ""},
		{"pdf", ""},
		{"application/pdf/", ""},
		{"application/vnd.ms-outloo\u212A", ""}, // Kelvin sign: no Unicode folding
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.in)
		if ok != (tt.want != "") || got.ContentType != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, got.ContentType, ok, tt.want)
		}
	}
}

// TestLookupCopies: the table decides what is accepted, so a caller writing
// to a returned Type must not change it.
func TestLookupCopies(t *testing.T) {
	mustLookup(t, "application/pdf").Extensions[0] = ".exe"
	Types()[0].Extensions[0] = ".exe"
	if got := mustLookup(t, "application/pdf").Extensions; !slices.Equal(got, []string{".pdf"}) {
		t.Errorf("PDF extensions = %q after a caller's write", got)
	}
}

func TestTypes(t *testing.T) {
	ts := Types()
	var names []string
	seenExt := map[string]string{}
	for _, typ := range ts {
		names = append(names, typ.Name)
		if got := mustLookup(t, typ.ContentType); !reflect.DeepEqual(got, typ) {
			t.Errorf("Lookup(%q) = %+v, want %+v", typ.ContentType, got, typ)
		}
		if len(typ.Extensions) == 0 {
			t.Errorf("%s has no extensions", typ.Name)
		}
		for _, ext := range typ.Extensions {
			if !strings.HasPrefix(ext, ".") || ext != strings.ToLower(ext) {
				t.Errorf("%s extension %q is not lowercase with a dot", typ.Name, ext)
			}
			if other, dup := seenExt[ext]; dup {
				t.Errorf("extension %q belongs to both %s and %s", ext, other, typ.Name)
			}
			seenExt[ext] = typ.Name
		}
		// Text says how the type is sniffed: plain text must pass exactly
		// for the text types.
		if got := Sniff(typ, []byte("Hello, world\n")); got != typ.Text {
			t.Errorf("%s: Sniff(text) = %v, Text = %v", typ.Name, got, typ.Text)
		}
	}
	want := []string{"PDF", "DOCX", "DOC", "RTF", "TXT", "HTML", "PNG", "JPEG", "HEIC", "MSG", "EML"}
	if !slices.Equal(names, want) {
		t.Errorf("Types() names = %q, want %q", names, want)
	}
	// Aliases must not shadow one another or a canonical type.
	if n := len(byContentType); n != len(table)+5 {
		t.Errorf("byContentType has %d keys, want %d canonical types + 5 aliases", n, len(table))
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		name, in, want, problem string
	}{
		{"plain", "brief.pdf", "brief.pdf", ""},
		{"trimmed", "  brief.pdf \t\n", "brief.pdf", ""},
		{"unicode", "Résumé – final.pdf", "Résumé – final.pdf", ""},
		{"inner spaces", "a  b.pdf", "a  b.pdf", ""},
		{"dots inside", "..a..pdf", "..a..pdf", ""},
		{"emoji with joiner", "family \U0001F468\u200D\U0001F469.png", "family \U0001F468\u200D\U0001F469.png", ""},
		{"255 bytes", strings.Repeat("a", 251) + ".pdf", strings.Repeat("a", 251) + ".pdf", ""},
		{"255 bytes multibyte", strings.Repeat("é", 125) + "a.pdf", strings.Repeat("é", 125) + "a.pdf", ""},
		{"empty", "", "", "is required"},
		{"only spaces", " \t ", "", "is required"},
		{"256 bytes", strings.Repeat("a", 252) + ".pdf", "", "is too long (at most 255 bytes)"},
		{"256 bytes multibyte", strings.Repeat("é", 126) + ".pdf", "", "is too long (at most 255 bytes)"},
		{"invalid UTF-8", "a\xff.pdf", "", "is not valid UTF-8"},
		{"dot", ".", "", "is not a file name"},
		{"dot dot", " .. ", "", "is not a file name"},
		{"slash", "a/b.pdf", "", `must not contain / or \`},
		{"traversal", "../b.pdf", "", `must not contain / or \`},
		{"backslash", `a\b.pdf`, "", `must not contain / or \`},
		{"NUL", "a\x00.pdf", "", "must not contain control characters"},
		{"newline", "a\nb.pdf", "", "must not contain control characters"},
		{"CR", "a\rb.pdf", "", "must not contain control characters"},
		{"tab", "a\tb.pdf", "", "must not contain control characters"},
		{"DEL", "a\x7fb.pdf", "", "must not contain control characters"},
		{"C1", "a\u0085b.pdf", "", "must not contain control characters"},
		{"LRE", "a\u202Ab.pdf", "", "must not contain control characters"},
		{"RLO", "invoice\u202Efdp.exe", "", "must not contain control characters"},
		{"LRI", "a\u2066b.pdf", "", "must not contain control characters"},
		{"PDI", "a\u2069b.pdf", "", "must not contain control characters"},
		{"line separator", "a\u2028b.pdf", "", "must not contain control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := CleanName(tt.in)
			if got != tt.want || problem != tt.problem {
				t.Errorf("CleanName(%q) = %q, %q; want %q, %q", tt.in, got, problem, tt.want, tt.problem)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, fileName, contentType string
		size                        int64
		wantName, wantType          string
		wantFields                  []fault.FieldError
	}{
		{name: "ok", fileName: " brief.pdf ", contentType: "application/pdf", size: 1234,
			wantName: "brief.pdf", wantType: "application/pdf"},
		{name: "upper-case extension", fileName: "SCAN.JPG", contentType: "image/jpg", size: 1,
			wantName: "SCAN.JPG", wantType: "image/jpeg"},
		{name: "second extension", fileName: "notes.text", contentType: "text/plain; charset=utf-8", size: MaxSize,
			wantName: "notes.text", wantType: "text/plain"},
		{name: "extension mismatch", fileName: "report.exe", contentType: "application/pdf", size: 10,
			wantName: "report.exe", wantType: "application/pdf",
			wantFields: []fault.FieldError{{Field: "fileName", Message: "must end in .pdf for PDF"}}},
		{name: "no extension", fileName: "photo", contentType: "image/jpeg", size: 10,
			wantName: "photo", wantType: "image/jpeg",
			wantFields: []fault.FieldError{{Field: "fileName", Message: "must end in .jpg or .jpeg for JPEG"}}},
		{name: "double extension", fileName: "a.pdf.exe", contentType: "application/pdf", size: 10,
			wantName: "a.pdf.exe", wantType: "application/pdf",
			wantFields: []fault.FieldError{{Field: "fileName", Message: "must end in .pdf for PDF"}}},
		{name: "bad name", fileName: "a/b.pdf", contentType: "application/pdf", size: 10,
			wantType:   "application/pdf",
			wantFields: []fault.FieldError{{Field: "fileName", Message: `must not contain / or \`}}},
		{name: "missing content type", fileName: "a.pdf", size: 10, wantName: "a.pdf",
			wantFields: []fault.FieldError{{Field: "contentType", Message: "is required"}}},
		{name: "unknown content type", fileName: "a.bin", contentType: "application/octet-stream", size: 10, wantName: "a.bin",
			wantFields: []fault.FieldError{{Field: "contentType",
				Message: "must be one of PDF, DOCX, DOC, RTF, TXT, HTML, PNG, JPEG, HEIC, MSG or EML"}}},
		{name: "empty file", fileName: "a.pdf", contentType: "application/pdf", size: 0,
			wantName: "a.pdf", wantType: "application/pdf",
			wantFields: []fault.FieldError{{Field: "size", Message: "must be at least 1 byte"}}},
		{name: "negative size", fileName: "a.pdf", contentType: "application/pdf", size: -1,
			wantName: "a.pdf", wantType: "application/pdf",
			wantFields: []fault.FieldError{{Field: "size", Message: "must be at least 1 byte"}}},
		{name: "too large", fileName: "a.pdf", contentType: "application/pdf", size: MaxSize + 1,
			wantName: "a.pdf", wantType: "application/pdf",
			wantFields: []fault.FieldError{{Field: "size", Message: "must be at most 100 MB"}}},
		{name: "everything wrong", fileName: "", contentType: "image/gif", size: 0,
			wantFields: []fault.FieldError{
				{Field: "fileName", Message: "is required"},
				{Field: "contentType", Message: "must be one of PDF, DOCX, DOC, RTF, TXT, HTML, PNG, JPEG, HEIC, MSG or EML"},
				{Field: "size", Message: "must be at least 1 byte"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c fault.Checker
			name, typ := Check(&c, tt.fileName, tt.contentType, tt.size)
			if name != tt.wantName || typ.ContentType != tt.wantType {
				t.Errorf("Check = %q, %q; want %q, %q", name, typ.ContentType, tt.wantName, tt.wantType)
			}
			var fields []fault.FieldError
			if e := fault.As(c.Err()); e != nil {
				fields = e.Fields
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("fields = %+v, want %+v", fields, tt.wantFields)
			}
		})
	}
}

// head cuts a sample to what the server reads of an uploaded object.
func head(b []byte) []byte { return b[:min(len(b), 512)] }

func samplePNG(t *testing.T) []byte {
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleJPEG(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleDOCX(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml":   `<?xml version="1.0"?><w:document/>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleOLE2 is the start of a compound file header: signature, zeroed
// CLSID, minor and major version, byte order mark.
func sampleOLE2() []byte {
	b := make([]byte, 512)
	copy(b, ole2Magic)
	copy(b[24:], []byte{0x3E, 0x00, 0x03, 0x00, 0xFE, 0xFF})
	return b
}

// heifBox is an ftyp box with the given major brand.
func heifBox(brand string) []byte {
	return []byte("\x00\x00\x00\x18ftyp" + brand + "\x00\x00\x00\x00mif1heic\x00\x00\x00\x00meta")
}

func TestSniff(t *testing.T) {
	pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	words := "Résumé – naïve 日本語 "
	cut := []byte("abc日")
	cut = cut[:len(cut)-1] // the last rune loses its final byte
	tests := []struct {
		name, contentType string
		head              []byte
		want              bool
	}{
		{"PDF", "application/pdf", pdf, true},
		{"PDF after junk", "application/pdf", append(bytes.Repeat([]byte{'\n'}, 400), pdf...), true},
		{"PDF magic past head", "application/pdf", head(append(bytes.Repeat([]byte{' '}, 510), pdf...)), false},
		{"DOCX", docxType, sampleDOCX(t), true},
		{"DOC", "application/msword", sampleOLE2(), true},
		{"MSG", "application/vnd.ms-outlook", sampleOLE2(), true},
		{"RTF", "application/rtf", []byte(`{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} Hello}`), true},
		{"PNG", "image/png", samplePNG(t), true},
		{"JPEG", "image/jpeg", sampleJPEG(t), true},
		{"HEIC", "image/heic", heifBox("heic"), true},
		{"HEIF mif1", "image/heic", heifBox("mif1"), true},
		{"HEIC hevc", "image/heic", heifBox("hevc"), true},
		{"TXT", "text/plain", []byte("Dear counsel,\r\nPlease find attached.\n"), true},
		{"TXT UTF-8", "text/plain", []byte(words), true},
		{"TXT UTF-8 BOM", "text/plain", append([]byte{0xEF, 0xBB, 0xBF}, words...), true},
		{"TXT cut rune", "text/plain", cut, true},
		{"TXT cut at 512", "text/plain", head([]byte(strings.Repeat("日", 200))), true},
		{"HTML", "text/html", []byte("<!doctype html><title>x</title><p>café</p>"), true},
		{"EML", "message/rfc822", []byte("From: a@example.com\r\nSubject: Matter\r\n\r\nBody\r\n"), true},

		// what the declaration claims is not what was uploaded
		{"PNG as PDF", "application/pdf", samplePNG(t), false},
		{"PNG as JPEG", "image/jpeg", samplePNG(t), false},
		{"JPEG as PNG", "image/png", sampleJPEG(t), false},
		{"DOCX as DOC", "application/msword", sampleDOCX(t), false},
		{"DOC as DOCX", docxType, sampleOLE2(), false},
		{"PDF as RTF", "application/rtf", pdf, false},
		{"PDF as TXT", "text/plain", pdf, false}, // its binary comment is not UTF-8
		{"PNG as TXT", "text/plain", samplePNG(t), false},
		{"DOC as EML", "message/rfc822", sampleOLE2(), false},
		{"ELF as TXT", "text/plain", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), false},
		{"MP4 as HEIC", "image/heic", heifBox("isom"), false},
		{"ftyp misplaced", "image/heic", []byte("\x00\x00\x00ftypheic\x00\x00\x00\x00"), false},
		{"ftyp short", "image/heic", []byte("\x00\x00\x00\x18ftyphei"), false},
		{"text with NUL", "text/plain", []byte("abc\x00def"), false},
		{"UTF-16 LE", "text/plain", []byte("\xff\xfeh\x00i\x00"), false},
		{"UTF-16 BE", "text/html", []byte("\xfe\xff\x00<\x00h"), false},
		{"invalid UTF-8", "text/plain", []byte("ab\xe2\x28\xa1cd"), false},
		{"Latin-1", "text/plain", []byte("R\xe9sum\xe9"), false},
		{"cut rune not at end", "text/plain", append(slices.Clone(cut), 'x'), false},
		{"surrogate", "text/plain", []byte("a\xed\xa0\x80"), false},
		{"empty", "text/plain", nil, false},
		{"empty PDF", "application/pdf", []byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(mustLookup(t, tt.contentType), head(tt.head)); got != tt.want {
				t.Errorf("Sniff(%s, %.24q) = %v, want %v", tt.contentType, tt.head, got, tt.want)
			}
		})
	}

	// Only the table says how to sniff: a made-up or alias content type
	// matches nothing, whatever its Text flag says.
	for _, typ := range []Type{{}, {ContentType: "application/x-foo", Text: true}, {ContentType: "image/jpg"}} {
		if Sniff(typ, sampleJPEG(t)) || Sniff(typ, []byte("text")) {
			t.Errorf("Sniff(%+v) matched", typ)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	pdf, html := mustLookup(t, "application/pdf"), mustLookup(t, "text/html")
	tests := []struct {
		name        string
		typ         Type
		disposition string
		fileName    string
		want        string
	}{
		{"ASCII attachment", pdf, "attachment", "brief.pdf",
			`attachment; filename="brief.pdf"; filename*=UTF-8''brief.pdf`},
		{"ASCII inline", pdf, "inline", "brief v2.pdf",
			`inline; filename="brief v2.pdf"; filename*=UTF-8''brief%20v2.pdf`},
		{"quotes and backslash", pdf, "attachment", `say "hi"\.pdf`,
			`attachment; filename="say _hi__.pdf"; filename*=UTF-8''say%20%22hi%22%5C.pdf`},
		{"unicode", pdf, "inline", "Résumé – final.pdf",
			`inline; filename="R_sum_ _ final.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%93%20final.pdf`},
		{"percent", pdf, "attachment", "100%.pdf",
			`attachment; filename="100_.pdf"; filename*=UTF-8''100%25.pdf`},
		{"attr-chars kept", pdf, "attachment", "a!#$&+-.^_`|~b.pdf",
			"attachment; filename=\"a!#$&+-.^_`|~b.pdf\"; filename*=UTF-8''a!#$&+-.^_`|~b.pdf"},
		{"header injection", pdf, "attachment", "a\r\nSet-Cookie: x=1;.pdf",
			`attachment; filename="a__Set-Cookie: x=1;.pdf"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%3B.pdf`},
		{"HTML forced to attachment", html, "inline", "page.html",
			`attachment; filename="page.html"; filename*=UTF-8''page.html`},
		{"EML forced to attachment", mustLookup(t, "message/rfc822"), "inline", "m.eml",
			`attachment; filename="m.eml"; filename*=UTF-8''m.eml`},
		{"unknown type forced to attachment", Type{ContentType: "image/svg+xml"}, "inline", "a.svg",
			`attachment; filename="a.svg"; filename*=UTF-8''a.svg`},
		{"unknown disposition", pdf, "Inline", "a.pdf",
			`attachment; filename="a.pdf"; filename*=UTF-8''a.pdf`},
		{"invalid UTF-8", pdf, "attachment", "a\xff.pdf",
			`attachment; filename="a_.pdf"; filename*=UTF-8''a%EF%BF%BD.pdf`},
		{"empty name", pdf, "inline", "", "inline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ContentDisposition(tt.typ, tt.disposition, tt.fileName)
			if got != tt.want {
				t.Errorf("ContentDisposition = %s\nwant %s", got, tt.want)
			}
			if tt.fileName != "" {
				checkDisposition(t, got, tt.fileName)
			}
		})
	}
}

// checkDisposition asserts that a Content-Disposition value is a safe header
// value and that a standard parser gets the file name back from filename*.
func checkDisposition(t *testing.T, value, fileName string) {
	t.Helper()
	for i := 0; i < len(value); i++ {
		if value[i] < ' ' || value[i] > '~' {
			t.Fatalf("Content-Disposition %q has byte %#x", value, value[i])
		}
	}
	_, params, err := mime.ParseMediaType(value)
	if err != nil {
		t.Fatalf("mime.ParseMediaType(%q): %v", value, err)
	}
	if want := strings.ToValidUTF8(fileName, "\uFFFD"); params["filename"] != want {
		t.Errorf("parsed filename = %q, want %q", params["filename"], want)
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"brief.pdf", "  Résumé – final.pdf ", "", " ", ".", "..", "...", "a/b", `a\b`, "a\x00b",
		"a\x7f", "a\u0085", "invoice\u202Efdp.exe", "a\u2067b", "a\u2028b", "\xff", "a\xe2\x82",
		strings.Repeat("a", 255), strings.Repeat("é", 128), " \u00a0x\u3000 ", "\ufeffa.txt",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, problem := CleanName(in)
		if problem != "" {
			if name != "" {
				t.Errorf("CleanName(%q) = %q with problem %q", in, name, problem)
			}
			return
		}
		if len(name) == 0 || len(name) > 255 {
			t.Errorf("CleanName(%q) accepted %d bytes", in, len(name))
		}
		if !utf8.ValidString(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			t.Errorf("CleanName(%q) accepted %q", in, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || '\u202A' <= r && r <= '\u202E' || '\u2066' <= r && r <= '\u2069' {
				t.Errorf("CleanName(%q) accepted %q with %U", in, name, r)
			}
		}
		if again, p := CleanName(name); again != name || p != "" {
			t.Errorf("CleanName not idempotent: %q -> %q, %q", name, again, p)
		}
		checkDisposition(t, ContentDisposition(mustLookup(t, "application/pdf"), "inline", name), name)
	})
}
