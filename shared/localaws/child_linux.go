package localaws

import (
	"os"
	"syscall"
)

// childProcAttr makes a child stand-in die with this process: the kernel
// sends it SIGKILL when its parent goes, however it goes (kill -9
// included), and it leads a process group of its own for killGroup.
//
// Pdeathsig fires when the thread that started the child exits; the Go
// runtime does not end its threads (only those of goroutines that exit
// while locked to one), so that is when the process exits.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killGroup kills p's whole process group (p leads it, see childProcAttr).
func killGroup(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
