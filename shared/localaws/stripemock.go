package localaws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"
)

// StripeMock is a running github.com/stripe/stripe-mock (Stripe's own
// stateless API stand-in, pinned as a go tool in go.mod), on loopback.
//
// It runs as this process's own child, not under `go tool` (whose child
// it would be, out of reach): on Linux it is killed by the kernel when
// this process dies, even by kill -9 (Pdeathsig), and it leads its own
// process group, which Close kills whole.
type StripeMock struct {
	URL string // its plain-HTTP base URL, for STRIPE_API_BASE_URL
	cmd *exec.Cmd
}

// Pid is the stripe-mock process's id.
func (m *StripeMock) Pid() int { return m.cmd.Process.Pid }

// StartStripeMock builds (once, through the Go build cache) and starts
// stripe-mock on two free loopback ports, and returns when it listens.
// dir is a directory inside this module, where `go tool` finds it.
func StartStripeMock(ctx context.Context, dir string) (*StripeMock, error) {
	ports := make([]string, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = l.Addr().String()
		l.Close()
	}
	// go tool -n builds the tool (once, through the build cache) and
	// prints the binary's path without running it.
	find := exec.CommandContext(ctx, "go", "tool", "-n", "stripe-mock")
	find.Dir = dir
	bin, err := find.Output()
	if err != nil {
		return nil, fmt.Errorf("build stripe-mock: %w", err)
	}
	cmd := exec.CommandContext(ctx, strings.TrimSpace(string(bin)), "-http-addr", ports[0], "-https-addr", ports[1])
	cmd.Dir = dir
	cmd.SysProcAttr = childProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var seen []string
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.HasPrefix(sc.Text(), "Listening for HTTP at address") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out) // keep its pipe drained
				return
			}
		}
		ready <- fmt.Errorf("stripe-mock exited: %s", strings.Join(seen, "; "))
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			return nil, err
		}
	case <-time.After(3 * time.Minute): // the first build of stripe-mock on a fresh machine
		_ = killGroup(cmd.Process)
		_ = cmd.Wait()
		return nil, fmt.Errorf("stripe-mock did not start")
	}
	return &StripeMock{URL: "http://" + ports[0], cmd: cmd}, nil
}

// Close stops stripe-mock and its process group.
func (m *StripeMock) Close() error {
	_ = killGroup(m.cmd.Process)
	_ = m.cmd.Wait()
	return nil
}
