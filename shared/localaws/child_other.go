//go:build !linux

package localaws

import (
	"os"
	"syscall"
)

// childProcAttr: only Linux can tie a child's life to its parent's
// (Pdeathsig); elsewhere a child outlives a kill -9 of make dev.
func childProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p (no process group of its own outside Linux).
func killGroup(p *os.Process) error { return p.Kill() }
