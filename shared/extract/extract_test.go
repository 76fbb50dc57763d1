package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/matterly/matterly/shared/fault"
)

// startedAtInit records whether importing the package started PDFium,
// before TestMain warms it.
var startedAtInit bool

func TestMain(m *testing.M) {
	engine.mu.Lock()
	startedAtInit = engine.ready != nil
	engine.mu.Unlock()
	// Compiling PDFium takes seconds, many more under -race: keep the
	// compiled code between runs (BenchmarkWasmStartup measures without),
	// and start now so that the compile overlaps the tests that do not
	// need PDFium.
	compilationCache = testCompilationCache()
	go Warm(context.Background())
	os.Exit(m.Run())
}

// testCompilationCache is a directory cache of compiled PDFium (see
// CompilationCacheDir), shared with the end-to-end tests.
func testCompilationCache() wazero.CompilationCache {
	dir, err := CompilationCacheDir(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		return nil
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil
	}
	return cache
}

func TestNoStartAtInit(t *testing.T) {
	if startedAtInit {
		t.Error("importing the package started PDFium")
	}
}

// fixture reads a file of testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// extractBytes runs Extract over b.
func extractBytes(t testing.TB, contentType string, b []byte) (Document, error) {
	t.Helper()
	return Extract(context.Background(), contentType, bytes.NewReader(b), int64(len(b)))
}

// pageWords splits text into pages at form feeds and pages into words.
func pageWords(text string) [][]string {
	var pages [][]string
	for p := range strings.SplitSeq(text, "\f") {
		pages = append(pages, strings.Fields(p))
	}
	return pages
}

func docWords(d Document) [][]string {
	pages := make([][]string, len(d.Pages))
	for i, p := range d.Pages {
		pages[i] = strings.Fields(p)
	}
	return pages
}

// TestPages checks the same four-page letter in three formats: every page
// holds exactly the words of the matching page of contract.txt, so page
// boundaries are where the author put them.
func TestPages(t *testing.T) {
	t.Parallel()
	want := pageWords(string(fixture(t, "contract.txt")))
	if len(want) != 4 {
		t.Fatalf("contract.txt has %d pages, want 4", len(want))
	}
	tests := []struct {
		file, contentType string
	}{
		{"contract.pdf", "application/pdf"},
		{"contract.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"contract.txt", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, tt.contentType, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := docWords(d)
			if len(got) != len(want) {
				t.Fatalf("got %d pages, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("page %d:\n got %q\nwant %q", i+1, got[i], want[i])
				}
			}
			markers := [][]string{{"aardvark,", "Applebaum"}, {"kestrel,", "marigold."}, {"quartz,", "saffron."}, {"walrus,", "zeppelin."}}
			for i, words := range markers {
				for _, m := range words {
					for j, page := range got {
						if has := contains(page, m); has != (i == j) {
							t.Errorf("%q on page %d: %v", m, j+1, has)
						}
					}
				}
			}
			if n := d.Words(); n != 376 {
				t.Errorf("Words() = %d, want 376", n)
			}
		})
	}
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func TestDocument(t *testing.T) {
	t.Parallel()
	d := Document{Pages: []string{"one two\nthree", "", "four\tfive  six"}}
	if got := d.Words(); got != 6 {
		t.Errorf("Words() = %d, want 6", got)
	}
	if got := strings.Split(d.Text(), "\f"); !reflect.DeepEqual(got, d.Pages) {
		t.Errorf("Text() split = %q", got)
	}
	if got := (Document{}).Words(); got != 0 {
		t.Errorf("empty Words() = %d", got)
	}
}

// wantInvalid fails unless err is a 422 whose message holds want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	e := fault.As(err)
	if e == nil || e.Kind != fault.Invalid {
		t.Fatalf("err = %v, want a fault.Invalid", err)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not say %q", e.Message, want)
	}
}

func TestUnsupportedType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"image/png", "application/msword", "message/rfc822", "application/octet-stream", "", "application/zip"} {
		t.Run(ct, func(t *testing.T) {
			_, err := extractBytes(t, ct, []byte("hello"))
			wantInvalid(t, err, "This file type cannot be summarized.")
		})
	}
}

func TestContentTypeAliases(t *testing.T) {
	t.Parallel()
	rtf := []byte(`{\rtf1\ansi Hello\par}`)
	for _, ct := range []string{"text/rtf", "application/rtf", "APPLICATION/RTF; charset=x", "application/x-rtf"} {
		d, err := extractBytes(t, ct, rtf)
		if err != nil || d.Text() != "Hello" {
			t.Errorf("%s: %q, %v", ct, d.Text(), err)
		}
	}
}

func TestNoTextLayer(t *testing.T) {
	t.Parallel()
	_, err := extractBytes(t, "application/pdf", fixture(t, "scanned.pdf"))
	if !IsNoText(err) {
		t.Fatalf("err = %v, want IsNoText", err)
	}
	wantInvalid(t, err, "no text layer")
	if IsNoText(errPDFDamaged) || IsNoText(nil) {
		t.Error("IsNoText is true for other errors")
	}

	// A scan with a Bates number stamped as text on every page has a
	// text layer of a few characters a page: still a scan.
	_, err = extractBytes(t, "application/pdf", textPDF("HF000101", "HF000102", "HF000103"))
	if !IsNoText(err) {
		t.Errorf("Bates-stamped scan: err = %v, want IsNoText", err)
	}
	// A blank page among text pages is kept, and keeps its number.
	d, err := extractBytes(t, "application/pdf", textPDF("The tenant paid the deposit in full.", "", "Signed by both parties today."))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"The tenant paid the deposit in full.", "", "Signed by both parties today."}; !reflect.DeepEqual(d.Pages, want) {
		t.Errorf("got %q, want %q", d.Pages, want)
	}
}

// textPDF writes a PDF with one page per string, set in Helvetica with a
// plain Tj operator, as many simple generators write text.
func textPDF(pages ...string) []byte {
	kids := make([]string, len(pages))
	objects := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
	for i, text := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", len(objects)+1)
		content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", text)
		objects = append(objects,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", len(objects)+2),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	objects[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages))
	return minimalPDF(objects...)
}

func TestBadPDF(t *testing.T) {
	t.Parallel()
	contract := fixture(t, "contract.pdf")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte("%PDF-1.7\n this is not really a PDF \x00\x01\x02"), "could not be read"},
		{"truncated", contract[:len(contract)/3], "could not be read"},
		{"html", fixture(t, "notice.html"), "could not be read"},
		{"empty", nil, "could not be read"},
		{"password", fixture(t, "locked.pdf"), "password-protected"},
		{"no pages", minimalPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"), "no pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := extractBytes(t, "application/pdf", tt.data)
			wantInvalid(t, err, tt.want)
			if IsNoText(err) {
				t.Error("IsNoText for a broken file")
			}
		})
	}
}

// minimalPDF writes a PDF of the given objects, numbered from 1, the first
// being the catalog, with a correct cross-reference table.
func minimalPDF(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// failingReader fails every read after the first n bytes.
type failingReader struct {
	data []byte
	n    int64
}

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.n {
		return 0, errDisk
	}
	return copy(p, f.data[off:]), nil
}

// TestReaderErrors checks that a failing reader is the caller's error, not
// a damaged file: a 500 to retry, not a 422.
func TestReaderErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ file, contentType string }{
		{"contract.pdf", "application/pdf"},
		{"contract.docx", typeDOCX},
		{"memo.rtf", "application/rtf"},
		{"contract.txt", "text/plain"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data := fixture(t, tt.file)
			_, err := Extract(context.Background(), tt.contentType, failingReader{data, 100}, int64(len(data)))
			if !errors.Is(err, errDisk) || fault.As(err) != nil {
				t.Errorf("err = %v, want the reader's error", err)
			}
		})
	}
}

// cancellingReader cancels its context on the first read.
type cancellingReader struct {
	data   []byte
	cancel context.CancelFunc
}

func (c cancellingReader) ReadAt(p []byte, off int64) (int, error) {
	c.cancel()
	return bytes.NewReader(c.data).ReadAt(p, off)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Extract(ctx, "text/plain", strings.NewReader("x"), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: err = %v", err)
	}
	for _, tt := range []struct{ file, contentType string }{
		{"long.pdf", "application/pdf"},
		{"contract.docx", typeDOCX},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			if tt.contentType == "application/pdf" {
				if err := Warm(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			data := fixture(t, tt.file)
			_, err := Extract(ctx, tt.contentType, cancellingReader{data, cancel}, int64(len(data)))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// TestLimits lowers the limits to check each refusal.
func TestLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, contentType string
		lim                     limits
		want                    string
	}{
		{"pdf chars", "long.pdf", "application/pdf", limits{chars: 1000, pages: MaxPages, partBytes: MaxPartBytes}, "more than 1,000 characters"},
		{"pdf pages", "contract.pdf", "application/pdf", limits{chars: MaxChars, pages: 3, partBytes: MaxPartBytes}, "more than 3 pages"},
		{"txt chars", "long.txt", "text/plain", limits{chars: 5000, pages: MaxPages, partBytes: MaxPartBytes}, "more than 5,000 characters"},
		{"txt pages", "contract.txt", "text/plain", limits{chars: MaxChars, pages: 2, partBytes: MaxPartBytes}, "more than 2 pages"},
		{"docx pages", "contract.docx", typeDOCX, limits{chars: MaxChars, pages: 2, partBytes: MaxPartBytes}, "more than 2 pages"},
		{"docx part", "contract.docx", typeDOCX, limits{chars: MaxChars, pages: MaxPages, partBytes: 1 << 10}, "more than 1 KB of document markup"},
		{"rtf chars", "memo.rtf", "application/rtf", limits{chars: 50, pages: MaxPages, partBytes: MaxPartBytes}, "more than 50 characters"},
		{"html chars", "notice.html", "text/html", limits{chars: 50, pages: MaxPages, partBytes: MaxPartBytes}, "more than 50 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := fixture(t, tt.file)
			_, err := extract(context.Background(), tt.contentType, bytes.NewReader(data), int64(len(data)), tt.lim)
			wantInvalid(t, err, tt.want)
		})
	}
	// At the limit exactly, the text passes.
	d, err := extract(context.Background(), "text/plain", strings.NewReader("abc\fdef"), 7, limits{chars: 6, pages: 2, partBytes: 1})
	if err != nil || !reflect.DeepEqual(d.Pages, []string{"abc", "def"}) {
		t.Errorf("at the limits: %q, %v", d.Pages, err)
	}
}

// TestConcurrent runs many extractions at once, more PDFs than PDFium has
// workers, so that -race sees the pool and the lazy start shared.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	files := []struct{ file, contentType string }{
		{"contract.pdf", "application/pdf"},
		{"long.pdf", "application/pdf"},
		{"brief.pdf", "application/pdf"},
		{"scanned.pdf", "application/pdf"},
		{"contract.docx", typeDOCX},
		{"memo.rtf", "text/rtf"},
		{"notice.html", "text/html"},
	}
	want := make([]string, len(files))
	wantErr := make([]bool, len(files))
	for i, f := range files {
		d, err := extractBytes(t, f.contentType, fixture(t, f.file))
		want[i], wantErr[i] = d.Text(), err != nil
	}
	var wg sync.WaitGroup
	for round := range 3 {
		for i, f := range files {
			data := fixture(t, f.file)
			wg.Go(func() {
				d, err := extractBytes(t, f.contentType, data)
				if d.Text() != want[i] || (err != nil) != wantErr[i] {
					t.Errorf("round %d, %s: different result (err %v)", round, f.file, err)
				}
			})
		}
	}
	wg.Wait()
}

func TestWarm(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := Warm(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Once started, Warm answers at once, even with a dead context.
	if err := Warm(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Warm(cancelled) = %v", err)
	}
}
