package extract

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// The page queue is tested with fake readers in place of PDFium instances,
// inside synctest bubbles: synctest.Wait tells when every reader is
// blocked, so the tests need no sleeps and no timing.

// fakePage is the text of page i of a fake PDF: enough letters per page
// for writePages to count it as a text layer.
func fakePage(i int) string { return fmt.Sprintf("page %d of the lease agreement", i+1) }

// fakePages reads page i as fakePage(i); fail gives a page an error
// instead, and read counts the pages it read.
func fakePages(fail map[int]error, read *atomic.Int32) pageReader {
	return func(i int) (string, error) {
		if read != nil {
			read.Add(1)
		}
		if err := fail[i]; err != nil {
			return "", err
		}
		return fakePage(i), nil
	}
}

func fakeDocument(n int) []string {
	pages := make([]string, n)
	for i := range pages {
		pages[i] = fakePage(i)
	}
	return pages
}

// readQueue reads n pages with every reader at once and returns the
// document written, as pdfText does.
func readQueue(ctx context.Context, n int, readers ...pageReader) ([]string, error) {
	q := newPageQueue(ctx, n)
	defer q.stop()
	for _, r := range readers {
		q.work(r)
	}
	w := newWriter(defaultLimits)
	if err := writePages(q, w); err != nil {
		return nil, err
	}
	return w.document(false).Pages, nil
}

// TestPageQueueOrder: however the pages are shared out, and whichever
// reader finishes first, the pages come out in order.
func TestPageQueueOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The first reader holds page 1 until the second has read all
		// the pages it may read ahead, so later pages are ready first.
		gate := make(chan struct{})
		var first, second atomic.Int32
		slow := func(i int) (string, error) {
			first.Add(1)
			if i == 0 {
				<-gate
			}
			return fakePage(i), nil
		}
		const n = 3 * pagesAhead
		q := newPageQueue(context.Background(), n)
		defer q.stop()
		q.work(slow)
		synctest.Wait() // the first reader holds page 1
		q.work(fakePages(nil, &second))
		synctest.Wait()
		// pagesAhead bounds the pages held: the second reader stopped
		// after pagesAhead-1 pages, page 1 making up the rest.
		if got := second.Load(); got != pagesAhead-1 {
			t.Errorf("second reader read %d pages while page 1 was held, want %d", got, pagesAhead-1)
		}
		close(gate)
		w := newWriter(defaultLimits)
		if err := writePages(q, w); err != nil {
			t.Fatal(err)
		}
		if got := w.document(false).Pages; !reflect.DeepEqual(got, fakeDocument(n)) {
			t.Errorf("pages out of order:\n%q", got)
		}
		if first.Load()+second.Load() != n {
			t.Errorf("%d + %d pages read, want %d, each once", first.Load(), second.Load(), n)
		}
	})
}

// TestPageQueueFewPages: with more readers than pages, the extra ones find
// nothing to read and stop.
func TestPageQueueFewPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var read atomic.Int32
		pages, err := readQueue(context.Background(), 1, fakePages(nil, &read), fakePages(nil, &read), fakePages(nil, &read))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pages, fakeDocument(1)) || read.Load() != 1 {
			t.Errorf("got %q, %d reads; want one page read once", pages, read.Load())
		}
	})
}

// TestPageQueueErrors: a page PDFium cannot read is left blank; any other
// error of a reader (the upload failing) ends the extraction, and the
// other readers stop.
func TestPageQueueErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 12
		pages, err := readQueue(context.Background(), n,
			fakePages(map[int]error{2: errPageUnreadable, 7: errPageUnreadable}, nil),
			fakePages(map[int]error{2: errPageUnreadable, 7: errPageUnreadable}, nil))
		if err != nil {
			t.Fatal(err)
		}
		want := fakeDocument(n)
		want[2], want[7] = "", ""
		if !reflect.DeepEqual(pages, want) {
			t.Errorf("got %q, want pages 3 and 8 blank", pages)
		}

		// Whichever reader takes page 4 fails on it.
		var read atomic.Int32
		failing := fakePages(map[int]error{3: errDisk}, &read)
		_, err = readQueue(context.Background(), 4*n, failing, failing)
		if !errors.Is(err, errDisk) {
			t.Errorf("err = %v, want the reader's", err)
		}
		if got := read.Load(); got > 4+pagesAhead {
			t.Errorf("%d pages read, want the reading stopped at the error", got)
		}

		// Every page unreadable: damaged, not a scan.
		all := map[int]error{}
		for i := range n {
			all[i] = errPageUnreadable
		}
		if _, err := readQueue(context.Background(), n, fakePages(all, nil)); err != errPDFDamaged {
			t.Errorf("no page readable: err = %v, want damaged", err)
		}
	})
}

// TestPageQueueCancel: ctx ending mid-document ends the extraction with
// ctx's error once the pages being read are done, and no reader goes on.
func TestPageQueueCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var read atomic.Int32
		cancelling := func(i int) (string, error) {
			if i == 3 {
				cancel()
			}
			return fakePages(nil, &read)(i)
		}
		const n = 40
		_, err := readQueue(ctx, n, cancelling, cancelling)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if got := read.Load(); got > 3+pagesAhead {
			t.Errorf("%d pages read, want the reading stopped at the cancel", got)
		}
	})
}

// TestPageQueueHelper: a helper whose instance cannot open the PDF leaves
// the pages to the others; one whose upload read fails ends the reading.
func TestPageQueueHelper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			openErr error
			want    error
		}{
			{"cannot help", nil, nil},
			{"upload fails", errDisk, errDisk},
		} {
			q := newPageQueue(context.Background(), 10)
			var released sync.WaitGroup
			q.help(func(context.Context) (pageReader, func(), error) {
				return nil, nil, tt.openErr
			})
			released.Add(1)
			q.help(func(context.Context) (pageReader, func(), error) {
				read := fakePages(nil, nil)
				if tt.openErr != nil {
					// Page 1 waits for the other helper's failure,
					// so the document cannot be finished first.
					read = func(i int) (string, error) {
						if i == 0 {
							<-q.ctx.Done()
						}
						return fakePage(i), nil
					}
				}
				return read, released.Done, nil
			})
			w := newWriter(defaultLimits)
			err := writePages(q, w)
			q.stop()
			released.Wait() // the reader's instance was let go
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
			if err == nil && !reflect.DeepEqual(w.document(false).Pages, fakeDocument(10)) {
				t.Errorf("%s: pages %q", tt.name, w.document(false).Pages)
			}
		}
	})
}
