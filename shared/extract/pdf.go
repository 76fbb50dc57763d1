package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/matterly/matterly/shared/fault"
)

// PDFium runs as WebAssembly under wazero: no cgo, one static binary, and a
// crash inside PDFium is an error, not a dead process. Compiling its 5.7 MB
// module is the expensive part (seconds), so it happens once per process, on
// the first PDF or on Warm, never at package init: a function that imports
// this package for DOCX or never extracts pays nothing.
const (
	// pdfWorkers bounds the PDFium instances alive at once; more concurrent
	// PDFs wait for one. Each holds its own WebAssembly memory.
	pdfWorkers = 2
	// pdfMemoryPages caps one instance's memory at 384 MiB (64 KiB pages),
	// so a decompression bomb fails inside PDFium instead of taking the
	// process: two instances and the Go heap fit in the 1,024 MB the AI
	// functions have (see pdfMemory for why growth costs no copy).
	pdfMemoryPages = 6 << 10
	// minTextPerPage is how many letters or digits a PDF must average per
	// page to count as having a text layer. A scan with a stamped Bates
	// number or page number on each page stays below it; real text pages
	// have hundreds.
	minTextPerPage = 16
	// parallelMinPages is the page count from which a PDF is read by
	// every idle instance of the pool at once, each opening it and taking
	// the next page not yet taken. Below it, opening the document again
	// in a second instance costs about what the pages it would take save.
	parallelMinPages = 8
)

var (
	errPDFDamaged   = fault.E(fault.Invalid, "This PDF could not be read; it may be damaged. Save or print it to PDF again and upload the new file.")
	errPDFPassword  = fault.E(fault.Invalid, "This PDF is password-protected; remove the password and upload it again.")
	errPDFSecurity  = fault.E(fault.Invalid, "This PDF uses an encryption method that cannot be read; remove the protection and upload it again.")
	errPDFNoText    = &fault.Error{Kind: fault.Invalid, Message: "This PDF has no text layer (it looks scanned); run OCR on it first, then upload it again.", Err: ErrNoText}
	errPDFNoPages   = fault.E(fault.Invalid, "This PDF has no pages.")
	errPDFTooLarge  = fault.E(fault.Invalid, "This PDF is too large to summarize.")
	maxPDFFileBytes = int64(1<<32 - 1) // PDFium's file access reads 32-bit offsets
)

// compilationCache, when set, keeps PDFium's compiled code between
// processes. Production leaves it nil: a cold Lambda has an empty disk
// anyway. Tests set a directory cache so that a rerun skips the compile,
// which -race makes several times slower. Read and set under engine.mu.
var compilationCache wazero.CompilationCache

// UseCompilationCache keeps PDFium's compiled code in dir, so the next
// process skips the compile (seconds; many more under -race). For tests
// and make dev, before the first PDF: production leaves it off.
func UseCompilationCache(dir string) error {
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return fmt.Errorf("extract: compilation cache: %w", err)
	}
	engine.mu.Lock()
	defer engine.mu.Unlock()
	compilationCache = cache
	return nil
}

// CompilationCacheDir is the directory for UseCompilationCache under the
// user's cache directory. wazero keys its entries by the module's hash
// and, only in binaries that carry module information (test binaries do
// not), by its own version, so the directory is named after the wazero
// version required by the go.mod at goMod.
func CompilationCacheDir(goMod string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(mod)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/tetratelabs/wazero" {
			return filepath.Join(dir, "matterly", "extract-test-wazero-"+f[1]), nil
		}
	}
	return "", errors.New("extract: no wazero requirement in " + goMod)
}

// engine is the process's PDFium pool, started on first use. A failed start
// is not remembered: the next call tries again.
var engine pdfEngine

type pdfEngine struct {
	mu    sync.Mutex
	ready chan struct{} // closed when the current start attempt has ended
	pool  *instances
	err   error
	// busy counts the instances taken or waited for; an extra instance
	// for a long PDF is taken only while busy stays within pdfWorkers, so
	// a document never waits for, or holds up, another one's pages.
	busy atomic.Int32
	// helped counts the PDFs a second instance read pages of.
	helped atomic.Int64
}

// pdfHelpers is how many more instances a long PDF may take (tests set
// it to 0 to read one with a single instance). See helpersFor.
var pdfHelpers = helpersFor(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), runtime.NumCPU())

// lambdaMBPerVCPU is the memory at which Lambda gives a function one vCPU
// (its CPU share grows with memory).
const lambdaMBPerVCPU = 1769

// helpersFor is pdfHelpers for a process with cpus cores, or, in Lambda,
// lambdaMemoryMB of memory: a second instance pays its own start and
// parses the document again, which gains only with a core of its own to
// run on (measured: 1.45x a 20-page PDF on an idle 2-core machine, and
// slower than one instance on a saturated one). The AI functions' 1,024
// MB buy less than one vCPU, so there a PDF keeps to one instance.
func helpersFor(lambdaMemoryMB string, cpus int) int {
	if mb, err := strconv.Atoi(lambdaMemoryMB); err == nil {
		cpus = mb / lambdaMBPerVCPU
	}
	return max(0, min(pdfWorkers, cpus)-1)
}

// reserveIdle claims an idle instance of the pool, if there is one.
func (e *pdfEngine) reserveIdle() bool {
	if e.busy.Add(1) > pdfWorkers {
		e.busy.Add(-1)
		return false
	}
	return true
}

// Warm starts PDFium now, so the first PDF does not wait for it; a Lambda can
// call it during init. It returns when PDFium is ready, or with ctx's error
// if ctx ends first, in which case the start goes on in the background. It is
// safe to call more than once and from many goroutines.
func Warm(ctx context.Context) error {
	_, err := engine.get(ctx)
	return err
}

func (e *pdfEngine) get(ctx context.Context) (*instances, error) {
	e.mu.Lock()
	if e.ready == nil || (closed(e.ready) && e.err != nil) {
		ready := make(chan struct{})
		e.ready, e.pool, e.err = ready, nil, nil
		cache := compilationCache
		go func() {
			pool, err := startPDFium(cache)
			var in *instances
			if err == nil {
				in = newInstances(pool)
			}
			e.mu.Lock()
			e.pool, e.err = in, err
			e.mu.Unlock()
			close(ready)
		}()
	}
	ready := e.ready
	e.mu.Unlock()

	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pool, e.err
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// instances hands out fresh PDFium instances, each made ahead of need:
// instantiating one takes milliseconds (its memory, data and PDFium's
// initialisation), which a PDF would otherwise wait for. An instance reads
// one PDF and is then thrown away (see startPDFium), and a new one is
// made in the background in its place, so at most pdfWorkers exist.
type instances struct {
	pool   pdfium.Pool
	spares chan spare
}

type spare struct {
	inst pdfium.Pdfium
	err  error
}

func newInstances(pool pdfium.Pool) *instances {
	in := &instances{pool: pool, spares: make(chan spare, pdfWorkers)}
	for range pdfWorkers {
		go in.refill()
	}
	return in
}

// refill makes one instance for spares; the pool blocks it while
// pdfWorkers instances exist.
func (in *instances) refill() {
	inst, err := in.pool.GetInstanceWithContext(context.Background())
	in.spares <- spare{inst, err}
}

// take returns a fresh instance, waiting for one if ctx allows. The
// caller must release it.
func (in *instances) take(ctx context.Context) (pdfium.Pdfium, error) {
	select {
	case s := <-in.spares:
		if s.err != nil {
			go in.refill()
			return nil, fmt.Errorf("extract: pdfium instance: %w", s.err)
		}
		return s.inst, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release throws inst away and starts making its replacement. Nothing may
// use inst any more: Kill closes the module, memory and all, without
// calling into PDFium to free what the PDF left in it, which would be
// wasted work on an instance no one will use again.
func (in *instances) release(inst pdfium.Pdfium) {
	_ = inst.Kill()
	go in.refill()
}

// startPDFium compiles PDFium (or loads it from cache, if not nil) and
// prepares its pool. The module gets no file system (documents are handed
// over through a reader) and its output goes nowhere, so nothing PDFium
// prints about a document reaches the logs.
func startPDFium(cache wazero.CompilationCache) (pdfium.Pool, error) {
	// The bundled module needs exception handling (PDFium's
	// setjmp/longjmp), which a custom RuntimeConfig must ask for.
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithMemoryLimitPages(pdfMemoryPages)
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	pool, err := webassembly.Init(webassembly.Config{
		// Compiling is split over the available cores (it is a
		// start-up cost a cold Lambda pays in full); the context is
		// also the parent of every worker's, so it never ends.
		Context:  experimental.WithMemoryAllocator(experimental.WithCompilationWorkers(context.Background(), runtime.GOMAXPROCS(0)), pdfMemory),
		MinIdle:  1,
		MaxIdle:  pdfWorkers,
		MaxTotal: pdfWorkers,
		// Every PDF gets a fresh instance: instantiating the compiled
		// module costs about 3 ms (made ahead of need, see instances),
		// and in exchange nothing a hostile PDF does to PDFium's heap
		// outlives it, and the memory a large PDF grew goes back
		// (WebAssembly memory never shrinks).
		ReuseWorkers:  false,
		FSConfig:      wazero.NewFSConfig(),
		Stdout:        io.Discard,
		Stderr:        io.Discard,
		RuntimeConfig: rc,
	})
	if err != nil {
		return nil, fmt.Errorf("extract: start pdfium: %w", err)
	}
	return pool, nil
}

// readPDF writes the text of every page of the PDF in r, one page per PDF
// page.
func readPDF(ctx context.Context, r io.ReaderAt, size int64, w *writer) error {
	if size > maxPDFFileBytes {
		return errPDFTooLarge
	}
	if size == 0 {
		return errPDFDamaged
	}
	pool, err := engine.get(ctx)
	if err != nil {
		return err
	}
	engine.busy.Add(1)
	defer engine.busy.Add(-1)
	inst, err := pool.take(ctx)
	if err != nil {
		return err
	}
	defer pool.release(inst)
	return pdfText(ctx, pool, inst, r, size, w)
}

// openPDF opens the PDF in r in inst. PDFium pulls the file through the
// returned source as it needs it, so the document is not copied into
// WebAssembly memory whole, and a failing or cancelled read can be told
// apart from a damaged file.
func openPDF(ctx context.Context, inst pdfium.Pdfium, r io.ReaderAt, size int64) (*source, references.FPDF_DOCUMENT, error) {
	src := &source{ctx: ctx, r: r}
	doc, err := inst.OpenDocument(&requests.OpenDocument{
		FileReader:     io.NewSectionReader(src, 0, size),
		FileReaderSize: size,
	})
	if err != nil {
		return src, "", err
	}
	return src, doc.Document, nil
}

func pdfText(ctx context.Context, pool *instances, inst pdfium.Pdfium, r io.ReaderAt, size int64, w *writer) error {
	src, doc, err := openPDF(ctx, inst, r, size)
	if err != nil {
		if src.err != nil {
			return src.err
		}
		switch {
		case errors.Is(err, pdfiumerrors.ErrPassword):
			return errPDFPassword
		case errors.Is(err, pdfiumerrors.ErrSecurity):
			return errPDFSecurity
		}
		// PDFium's format and file errors, and a trap inside it (a file
		// that exhausts its memory), all come from the file; the cause
		// goes to the log only.
		return &fault.Error{Kind: fault.Invalid, Message: errPDFDamaged.Message, Err: err}
	}

	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc})
	if err != nil {
		return &fault.Error{Kind: fault.Invalid, Message: errPDFDamaged.Message, Err: err}
	}
	switch {
	case count.PageCount < 1:
		return errPDFNoPages
	case count.PageCount > w.lim.pages:
		return errTooManyPages(w.lim)
	}

	pages := newPageQueue(ctx, count.PageCount)
	defer pages.stop()
	pages.work(docPages(inst, doc, src))
	if count.PageCount >= parallelMinPages {
		for range pdfHelpers {
			if !engine.reserveIdle() {
				break
			}
			pages.help(func(ctx context.Context) (pageReader, func(), error) {
				return helperPages(ctx, pool, r, size)
			})
		}
	}
	return writePages(pages, w)
}

// writePages writes the pages of q to w in order, as they are read, and
// tells a PDF without a text layer from one whose pages are damaged.
func writePages(q *pageQueue, w *writer) error {
	count := len(q.texts)
	letters, broken := 0, 0
	for i := range count {
		text, err := q.wait(i)
		if err != nil && !errors.Is(err, errPageUnreadable) {
			return err
		}
		if i > 0 {
			if err := w.PageBreak(); err != nil {
				return err
			}
		}
		if err != nil {
			// One broken page is left blank, as a viewer shows it,
			// and keeps its number; the rest can still be summarized.
			broken++
			continue
		}
		for _, c := range text {
			if unicode.IsLetter(c) || unicode.IsDigit(c) {
				letters++
			}
		}
		if err := w.WriteString(text); err != nil {
			return err
		}
	}
	switch {
	case letters < minTextPerPage*count && broken > 0:
		// Text is missing because pages could not be read (a damaged file,
		// or one that exhausts PDFium's memory), not because it is a scan.
		return errPDFDamaged
	case letters < minTextPerPage*count:
		return errPDFNoText
	}
	return nil
}

// errPageUnreadable marks a page PDFium could not read (the page is left
// blank); any other error of a page ends the extraction.
var errPageUnreadable = errors.New("extract: page unreadable")

// pageReader returns the text of page i (0-based) of a PDF open in one
// instance, or errPageUnreadable, or an error that ends the extraction.
type pageReader func(i int) (string, error)

// docPages reads the pages of doc, open in inst through src.
func docPages(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, src *source) pageReader {
	return func(i int) (string, error) {
		text, err := pageText(inst, doc, i)
		switch {
		case src.err != nil:
			// The upload could not be read, or ctx ended: not the
			// page's fault, and no other page will do better.
			return "", src.err
		case err != nil:
			return "", errPageUnreadable
		}
		return text, nil
	}
}

// helperPages takes a second instance and opens the PDF in it. It returns
// a nil reader, and no error, when that instance cannot help (the PDF then
// is read by the others), and an error only when reading the upload
// failed.
func helperPages(ctx context.Context, pool *instances, r io.ReaderAt, size int64) (pageReader, func(), error) {
	inst, err := pool.take(ctx)
	if err != nil {
		engine.busy.Add(-1)
		return nil, nil, nil
	}
	release := func() {
		pool.release(inst)
		engine.busy.Add(-1)
	}
	src, doc, err := openPDF(ctx, inst, r, size)
	if err != nil {
		release()
		return nil, nil, src.err
	}
	return docPages(inst, doc, src), release, nil
}

// pagesAhead bounds the pages read but not yet written: while one
// instance is slow on a page, the others go on by at most this many, so
// the texts held at once are a few pages, not the document (a hostile
// PDF can have a slow page followed by pages of megabytes of text each).
const pagesAhead = 4 * pdfWorkers

// pageQueue hands a PDF's pages out to the instances reading it, each
// taking the next page not yet taken, and gives their texts back in page
// order.
type pageQueue struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	next   atomic.Int64
	// ahead holds a token for every page taken and not yet written.
	ahead chan struct{}
	texts []string
	errs  []error
	done  []chan struct{}
	wg    sync.WaitGroup
}

func newPageQueue(ctx context.Context, n int) *pageQueue {
	q := &pageQueue{
		ahead: make(chan struct{}, pagesAhead),
		texts: make([]string, n),
		errs:  make([]error, n),
		done:  make([]chan struct{}, n),
	}
	q.ctx, q.cancel = context.WithCancelCause(ctx)
	for i := range q.done {
		q.done[i] = make(chan struct{})
	}
	return q
}

// work reads pages with read until none is left.
func (q *pageQueue) work(read pageReader) {
	q.wg.Go(func() { q.read(read) })
}

// help reads pages too, with the reader open returns, if it returns one;
// open runs in the background, so the pages already being read do not
// wait for it. An error from open ends the extraction.
func (q *pageQueue) help(open func(context.Context) (pageReader, func(), error)) {
	q.wg.Go(func() {
		read, release, err := open(q.ctx)
		if err != nil {
			q.cancel(err)
		}
		if read == nil {
			return
		}
		defer release()
		if q.read(read) > 0 {
			engine.helped.Add(1)
		}
	})
}

// read reads pages with read until none is left or the reading ends, and
// returns how many it read.
func (q *pageQueue) read(read pageReader) (n int) {
	for ; ; n++ {
		select {
		case q.ahead <- struct{}{}:
		case <-q.ctx.Done():
			return
		}
		i := int(q.next.Add(1) - 1)
		if i >= len(q.texts) || q.ctx.Err() != nil {
			return
		}
		text, err := read(i)
		if err != nil && !errors.Is(err, errPageUnreadable) {
			q.cancel(err)
			return
		}
		q.texts[i], q.errs[i] = text, err
		close(q.done[i])
	}
}

// wait returns page i's text once it is read, or why it will not be, and
// lets the readers take one more page.
func (q *pageQueue) wait(i int) (string, error) {
	select {
	case <-q.done[i]:
	case <-q.ctx.Done():
		// A page read before the end still counts.
		select {
		case <-q.done[i]:
		default:
			return "", context.Cause(q.ctx)
		}
	}
	<-q.ahead
	return q.texts[i], q.errs[i]
}

// stop ends the reading and waits for every instance to let go of the
// document.
func (q *pageQueue) stop() {
	q.cancel(context.Canceled)
	q.wg.Wait()
}

// pageText returns the text of page i (0-based) as PDFium's text layer has
// it: in content order, with the spaces and line breaks PDFium infers from
// glyph positions. FPDFText_GetText fetches the page in one call;
// go-pdfium's GetPageText makes a call per character.
func pageText(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, i int) (string, error) {
	page, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc, Index: i})
	if err != nil {
		return "", err
	}
	defer inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: page.Page})

	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: requests.Page{ByReference: &page.Page}})
	if err != nil {
		return "", err
	}
	defer inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})

	n, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil || n.Count <= 0 {
		return "", err
	}
	text, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, StartIndex: 0, Count: n.Count})
	if err != nil {
		return "", err
	}
	return text.Text, nil
}
