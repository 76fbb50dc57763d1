//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package localaws

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = syscall.EWOULDBLOCK

// flock takes an exclusive flock on f without blocking. Locks belong to
// the open file, so a second LockDir in the same process is refused too.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
