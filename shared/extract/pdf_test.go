package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klippa-app/go-pdfium/requests"

	"github.com/matterly/matterly/shared/fault"
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

// TestPDFPagesInParallel: a long PDF is read by both instances of the
// pool at once, page by page, and its text is exactly what one instance
// reads alone. Not parallel: the pool must be idle for the second
// instance to be taken.
func TestPDFPagesInParallel(t *testing.T) {
	data := fixture(t, "long.pdf")
	defer func(n int) { pdfHelpers = n }(pdfHelpers)
	pdfHelpers = pdfWorkers - 1
	before := engine.helped.Load()
	par, err := extractBytes(t, "application/pdf", data)
	if err != nil {
		t.Fatal(err)
	}
	if engine.helped.Load() == before {
		t.Error("long.pdf was read by one instance; want its pages spread over the pool")
	}
	if len(par.Pages) < parallelMinPages {
		t.Fatalf("long.pdf has %d pages, fewer than %d", len(par.Pages), parallelMinPages)
	}
	pdfHelpers = 0
	seq, err := extractBytes(t, "application/pdf", data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(par.Pages, seq.Pages) {
		t.Errorf("pages read in parallel differ from pages read by one instance")
	}
}

// afterReads runs fail on the nth read of data and on every read after it,
// whichever instance makes it.
type afterReads struct {
	data  []byte
	n     int32
	reads *atomic.Int32
	fail  func() error
}

func (a afterReads) ReadAt(p []byte, off int64) (int, error) {
	if a.reads.Add(1) >= a.n {
		if err := a.fail(); err != nil {
			return 0, err
		}
	}
	return bytes.NewReader(a.data).ReadAt(p, off)
}

// TestPDFPagesInParallelStop: a long PDF read by both instances, whose
// upload fails or whose ctx ends midway (PDFium reads the file page by
// page), ends with that error, not a damaged file, and lets go of both
// instances. Not parallel, as TestPDFPagesInParallel.
func TestPDFPagesInParallelStop(t *testing.T) {
	data := fixture(t, "long.pdf")
	defer func(n int) { pdfHelpers = n }(pdfHelpers)
	pdfHelpers = pdfWorkers - 1
	if err := Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	// About a third of the way in: after both instances opened the file.
	const failAt = 60
	var reads atomic.Int32
	fail := afterReads{data, failAt, &reads, func() error { return errDisk }}
	if _, err := Extract(context.Background(), "application/pdf", fail, int64(len(data))); !errors.Is(err, errDisk) || fault.As(err) != nil {
		t.Errorf("upload failing midway: err = %v, want the reader's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reads.Store(0)
	cancelling := afterReads{data, failAt, &reads, func() error { cancel(); return nil }}
	if _, err := Extract(ctx, "application/pdf", cancelling, int64(len(data))); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled midway: err = %v, want context.Canceled", err)
	}
	if n := engine.busy.Load(); n != 0 {
		t.Errorf("%d instances still taken after the extractions ended", n)
	}
}

// TestPDFPerf, with PERF_PDF=1, reads every text PDF fixture with PDFium
// (pages spread over the pool, and with one instance) and with poppler's
// pdftotext when it is installed, in one run, and logs pages per second
// side by side with the word recall against pdftotext's golden text. The
// three are interleaved round by round, so a change of load on the
// machine falls on all of them alike; the CPU time per page, which load
// hardly changes, is logged too (ours includes the instances made in the
// background), and so is the load average.
func TestPDFPerf(t *testing.T) {
	if os.Getenv("PERF_PDF") == "" {
		t.Skip("PERF_PDF=1 measures PDF text extraction against pdftotext")
	}
	if err := Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { pdfHelpers = n }(pdfHelpers)
	pdftotext, _ := exec.LookPath("pdftotext")
	const rounds = 20
	type timing struct{ wall, cpu time.Duration }
	type result struct {
		pages                           int
		par, seq, poppler               timing
		recallPar, recallSeq, recallPop float64
	}
	extract := func(data []byte, helpers int, tm *timing) Document {
		pdfHelpers = helpers
		start, cpu := time.Now(), processCPU()
		d, err := extractBytes(t, "application/pdf", data)
		if err != nil {
			t.Fatal(err)
		}
		tm.wall += time.Since(start)
		tm.cpu += processCPU() - cpu
		return d
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average %s", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	var total result
	for _, name := range pdfFixtures(t) {
		data := fixture(t, name+".pdf")
		golden := string(fixture(t, name+".pdftotext.txt"))
		path := filepath.Join("testdata", name+".pdf")
		var r result
		for range rounds {
			d := extract(data, pdfWorkers-1, &r.par)
			r.pages += len(d.Pages)
			r.recallPar = recall(d.Text(), golden)
			r.recallSeq = recall(extract(data, 0, &r.seq).Text(), golden)
			if pdftotext != "" {
				cmd := exec.Command(pdftotext, "-q", "-enc", "UTF-8", path, "-")
				start := time.Now()
				out, err := cmd.Output()
				if err != nil || len(out) == 0 {
					t.Fatalf("pdftotext %s: %v", name, err)
				}
				r.poppler.wall += time.Since(start)
				r.poppler.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				r.recallPop = recall(string(out), golden)
			}
		}
		t.Log(perfLine(name, r.pages/rounds, r.pages, r.par, r.seq, r.poppler) + fmt.Sprintf("; recall %.4f%% (pdftotext now %.4f%%)", r.recallPar*100, r.recallPop*100))
		if r.recallPar != r.recallSeq {
			t.Errorf("%s: recall %.6f in parallel, %.6f with one instance", name, r.recallPar, r.recallSeq)
		}
		total.pages += r.pages
		for _, p := range []struct{ sum, add *timing }{{&total.par, &r.par}, {&total.seq, &r.seq}, {&total.poppler, &r.poppler}} {
			p.sum.wall += p.add.wall
			p.sum.cpu += p.add.cpu
		}
	}
	t.Log(perfLine("all", total.pages/rounds, total.pages, total.par, total.seq, total.poppler))
	if pdftotext == "" {
		t.Log("pdftotext not installed (apt-get install poppler-utils) for the comparison")
	}
}

// perfLine is a line of TestPDFPerf: pages/s and CPU time per page of
// PDFium with the pages spread over the pool, with one instance, and of
// pdftotext if it ran, and the ratios of PDFium's to pdftotext's.
func perfLine(name string, docPages, pages int, par, seq, poppler struct{ wall, cpu time.Duration }) string {
	pps := func(d time.Duration) float64 { return float64(pages) / d.Seconds() }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(pages) }
	line := fmt.Sprintf("%-9s %3d pages: PDFium %6.1f pages/s (one instance %6.1f)", name, docPages, pps(par.wall), pps(seq.wall))
	if poppler.wall > 0 {
		line += fmt.Sprintf(", pdftotext %6.1f: ratio %.2f× (one instance %.2f×)", pps(poppler.wall), pps(par.wall)/pps(poppler.wall), pps(seq.wall)/pps(poppler.wall))
	}
	if par.cpu > 0 {
		line += fmt.Sprintf("; CPU ms/page %.2f (one instance %.2f)", ms(par.cpu), ms(seq.cpu))
		if poppler.cpu > 0 {
			line += fmt.Sprintf(", pdftotext %.2f", ms(poppler.cpu))
		}
	}
	return line
}

// TestHelpersFor: a second instance only where the process has a core
// for it; in Lambda, by the vCPUs its memory buys.
func TestHelpersFor(t *testing.T) {
	for _, tt := range []struct {
		memory string
		cpus   int
		want   int
	}{
		{"", 1, 0},
		{"", 2, pdfWorkers - 1},
		{"", 8, pdfWorkers - 1},
		{"1024", 2, 0}, // the AI functions: under one vCPU
		{"1769", 2, 0},
		{"3538", 2, pdfWorkers - 1},
		{"10240", 2, pdfWorkers - 1},
		{"not a number", 2, pdfWorkers - 1},
	} {
		if got := helpersFor(tt.memory, tt.cpus); got != tt.want {
			t.Errorf("helpersFor(%q, %d) = %d, want %d", tt.memory, tt.cpus, got, tt.want)
		}
	}
}
