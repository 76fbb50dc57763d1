package localaws

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DirLockFile is the file in a data directory that LockDir locks.
const DirLockFile = "lock"

// ErrDirLocked is LockDir's error (wrapped) when another process, or
// another stack in this one, holds the directory.
var ErrDirLocked = errors.New("data directory in use")

// DirLock is an exclusive lock on a data directory: its DynamoDB and queue
// journals are appended by one process only, so two stacks on one
// directory would interleave records and corrupt them.
type DirLock struct {
	f *os.File
}

// LockDir takes dir's lock without waiting: it fails at once, naming the
// directory and the pid holding it, when another process holds it. The
// lock is an flock on dir/lock (released by the kernel however the
// process ends, so a crash leaves nothing stale); on systems without flock
// it is not taken.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, DirLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := flock(f); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(string(bytes.TrimSpace(b))); perr == nil && pid > 0 {
				holder = "process " + strconv.Itoa(pid)
			}
		}
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s is used by %s (another make dev or test); stop it or set DEV_DATA_DIR to another directory",
				ErrDirLocked, dir, holder)
		}
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	// The holder's pid, for the message above; the lock is the flock, not
	// the file's content.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would let a
// process that opened it before the removal lock a file nobody else sees.
func (l *DirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
