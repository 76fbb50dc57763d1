package localaws

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// journal is an append-only file of records (one JSON document a line)
// that a caller may acknowledge only once they are on disk. Writers append
// under their own ordering lock, then wait: the first waiter writes
// everything appended so far and fsyncs once for all of them (group
// commit), so concurrent writers share one fsync instead of queuing for one
// each.
type journal struct {
	f *os.File

	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte // appended, not yet written
	appended uint64 // sequence number of the last record appended
	synced   uint64 // every record up to this one is on disk
	syncing  bool   // a waiter is writing and fsyncing outside mu
	size     int64  // bytes written since the last reset
	err      error  // a failed write or fsync: the journal is unusable

	fsyncs atomic.Int64 // fsyncs done (the benchmark reports them)
}

// openJournal opens path for appending, creating it. A last line without
// its newline (a crash mid-write; never acknowledged) is cut off first.
func openJournal(path string) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	keep := int64(bytes.LastIndexByte(data, '\n') + 1)
	if keep != int64(len(data)) {
		if err := f.Truncate(keep); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	j := &journal{f: f, size: keep}
	j.cond = sync.NewCond(&j.mu)
	return j, nil
}

// readJournal calls fn for each complete line of the journal at path (a
// missing file has none). A torn last line is skipped, as openJournal cuts it.
func readJournal(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return nil // a line without its newline was never acknowledged
		}
		if err != nil {
			return err
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
}

// append adds lines (each ending in '\n') and returns the sequence number
// to wait for. The caller orders appends (the DynamoDB front holds its
// write lock), so the file holds records in the order they were applied.
func (j *journal) append(lines ...[]byte) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, l := range lines {
		j.buf = append(j.buf, l...)
	}
	j.appended++
	return j.appended
}

// wait returns once record seq is on disk, writing and fsyncing the
// records appended so far when no other waiter is doing it already.
func (j *journal) wait(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.synced < seq {
		if j.err != nil {
			return j.err
		}
		if j.syncing {
			j.cond.Wait()
			continue
		}
		j.syncing = true
		buf, upTo := j.buf, j.appended
		j.buf = nil
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		if err == nil {
			err = j.f.Sync()
		}
		j.fsyncs.Add(1)
		j.mu.Lock()
		j.syncing = false
		if err != nil {
			j.err = fmt.Errorf("journal %s: %w", j.f.Name(), err)
		} else {
			j.synced, j.size = upTo, j.size+int64(len(buf))
		}
		j.cond.Broadcast()
	}
	return nil
}

// Size is the bytes on disk since the last reset.
func (j *journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// reset empties the journal once checkpoint has made its records
// redundant: checkpoint runs after any write in progress ends, and the
// records appended but not yet written are dropped (the checkpoint holds
// their effect), so their waiters are released. The caller keeps appends
// out meanwhile.
func (j *journal) reset(checkpoint func() error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.syncing {
		j.cond.Wait()
	}
	if j.err != nil {
		return j.err
	}
	if err := checkpoint(); err != nil {
		return err
	}
	if err := j.f.Truncate(0); err != nil {
		j.err = err
		return err
	}
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		j.err = err
		return err
	}
	if err := j.f.Sync(); err != nil {
		j.err = err
		return err
	}
	j.buf, j.synced, j.size = nil, j.appended, 0
	j.cond.Broadcast()
	return nil
}

// close writes and fsyncs what is pending, then closes the file.
func (j *journal) close() error {
	j.mu.Lock()
	seq := j.appended
	j.mu.Unlock()
	return errors.Join(j.wait(seq), j.f.Close())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
