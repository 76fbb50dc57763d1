package extract

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klippa-app/go-pdfium/requests"
)

// pdfFixtures are the text PDFs of testdata: every one has a golden
// <name>.pdftotext.txt made by poppler's pdftotext (see
// scripts/fixtures/extract.sh).
func pdfFixtures(t testing.TB) []string {
	t.Helper()
	golden, err := filepath.Glob(filepath.Join("testdata", "*.pdftotext.txt"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden texts: %v", err)
	}
	names := make([]string, len(golden))
	for i, g := range golden {
		names[i] = strings.TrimSuffix(filepath.Base(g), ".pdftotext.txt")
	}
	return names
}

// recall is the share of the golden text's words, as a multiset, that got
// also has: the measure of an extractor that loses spaces ("thelease") or
// splits words ("le ase"). Words are compared exactly, punctuation included.
func recall(got, golden string) float64 {
	have := map[string]int{}
	for _, w := range strings.Fields(got) {
		have[w]++
	}
	total, found := 0, 0
	for _, w := range strings.Fields(golden) {
		total++
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	if total == 0 {
		return 1
	}
	return float64(found) / float64(total)
}

// TestRecall compares every text PDF with poppler's pdftotext: at least 99%
// of its words, and the same number of pages.
func TestRecall(t *testing.T) {
	t.Parallel()
	for _, name := range pdfFixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, "application/pdf", fixture(t, name+".pdf"))
			if err != nil {
				t.Fatal(err)
			}
			golden := string(fixture(t, name+".pdftotext.txt"))
			if r := recall(d.Text(), golden); r < 0.99 {
				t.Errorf("recall %.4f, want at least 0.99", r)
			}
			// pdftotext ends every page with a form feed.
			if want := strings.Count(golden, "\f"); len(d.Pages) != want {
				t.Errorf("%d pages, pdftotext has %d", len(d.Pages), want)
			}
		})
	}
}

func TestRecallMeasure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, golden string
		want        float64
	}{
		{"the lease is void", "the lease is void", 1},
		{"thelease is void", "the lease is void", 0.5},
		{"the the lease", "the lease the the", 0.75},
		{"", "", 1},
	}
	for _, tt := range tests {
		if got := recall(tt.got, tt.golden); got != tt.want {
			t.Errorf("recall(%q, %q) = %v, want %v", tt.got, tt.golden, got, tt.want)
		}
	}
}

// TestPDFPageText checks what the text of a page looks like: PDFium's line
// breaks kept, words whole across them, and typographic characters intact.
func TestPDFPageText(t *testing.T) {
	t.Parallel()
	d, err := extractBytes(t, "application/pdf", fixture(t, "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	want := "Engagement Letter\nDear Ms. Zoë Álvarez,\nThank you for choosing Harbor & Finch LLP."
	if !strings.HasPrefix(d.Pages[0], want) {
		t.Errorf("page 1 starts %q, want %q", d.Pages[0][:len(want)], want)
	}
	for _, s := range []string{"landlord’s", "§ 12", "$12,500.00", "reports — including"} {
		if !strings.Contains(d.Text(), s) {
			t.Errorf("text lacks %q", s)
		}
	}
	// The brief is set by groff, justified in two columns, with words
	// hyphenated at line ends: PDFium joins them again.
	b, err := extractBytes(t, "application/pdf", fixture(t, "brief.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"landlord waived any right it had by litigating for eleven months", "served written discovery"} {
		if !strings.Contains(strings.Join(strings.Fields(b.Text()), " "), s) {
			t.Errorf("brief lacks %q", s)
		}
	}
}

// BenchmarkPDF extracts every text PDF fixture and reports pages per second
// and the word recall against pdftotext.
func BenchmarkPDF(b *testing.B) {
	if err := Warm(context.Background()); err != nil {
		b.Fatal(err)
	}
	type doc struct {
		data   []byte
		golden string
	}
	var docs []doc
	for _, name := range pdfFixtures(b) {
		docs = append(docs, doc{fixture(b, name+".pdf"), string(fixture(b, name+".pdftotext.txt"))})
	}
	pages := 0
	var sum float64
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			got, err := Extract(context.Background(), "application/pdf", bytes.NewReader(d.data), int64(len(d.data)))
			if err != nil {
				b.Fatal(err)
			}
			pages += len(got.Pages)
			b.StopTimer()
			sum += recall(got.Text(), d.golden)
			n++
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(sum/float64(n)*100, "%recall")
}

// BenchmarkWasmStartup measures a cold start of PDFium: compiling the
// module, starting a worker, and the text of the first page of a PDF.
func BenchmarkWasmStartup(b *testing.B) {
	data := fixture(b, "contract.pdf")
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		pool, err := startPDFium(nil) // cold: no compilation cache
		if err != nil {
			b.Fatal(err)
		}
		inst, err := pool.GetInstanceWithContext(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		doc, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
		if err != nil {
			b.Fatal(err)
		}
		text, err := pageText(inst, doc.Document, 0)
		if err != nil || !strings.Contains(text, "Engagement") {
			b.Fatalf("first page: %q, %v", text, err)
		}
		total += time.Since(start)
		inst.Close()
		pool.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/start")
}
