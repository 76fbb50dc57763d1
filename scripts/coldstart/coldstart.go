package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Lambda settings the harness reproduces for every function.
const (
	memoryMB    = 256
	region      = "us-east-1"
	initTimeout = 10 * time.Second // Lambda's limit on the init phase of an on-demand function
)

// notMeasured marks a phase that the run did not reach.
const notMeasured time.Duration = -1

// runOptions are the settings shared by every cold start of every function.
type runOptions struct {
	event   []byte        // the event sent on both invokes
	env     []string      // extra KEY=VALUE pairs from -env, applied last
	timeout time.Duration // function timeout: invocation deadline and harness wait
	logs    io.Writer     // when not nil, the function's stdout and stderr are copied here
}

// sample is what one cold start measured.
type sample struct {
	Init, First, Warm       time.Duration // notMeasured when the phase was not reached
	FirstStatus, WarmStatus int           // statusCode of an HTTP-style response, if any
	Errors                  []string
	Output                  string // tail of the function's stdout and stderr
}

func (s *sample) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

// coldStart starts bootstrap in a fresh execution environment, waits for the
// end of init, sends the event twice (cold, then warm) and kills the process.
func coldStart(ctx context.Context, name, bootstrap string, opt runOptions) (s sample) {
	s = sample{Init: notMeasured, First: notMeasured, Warm: notMeasured}
	api := NewRuntimeAPI(FunctionConfig{Name: name, Region: region, Timeout: opt.timeout})
	addr, err := api.Start()
	if err != nil {
		s.fail("start runtime API: %v", err)
		return s
	}
	defer api.Close()

	out := &tailBuffer{max: 4096}
	var w io.Writer = out
	if opt.logs != nil {
		w = io.MultiWriter(out, opt.logs)
	}
	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = lambdaEnv(name, addr, cmd.Dir, opt.env)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = time.Second
	// Deferred first, so it runs last: after the process is gone.
	defer func() { s.Output = out.String() }()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		s.fail("start bootstrap: %v", err)
		return s
	}
	exited := make(chan struct{})
	var exitErr error
	var exitAt time.Time
	go func() {
		exitErr = cmd.Wait()
		exitAt = time.Now()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	initTimer := time.NewTimer(initTimeout)
	defer initTimer.Stop()
	select {
	case <-api.Ready():
		s.Init = api.ReadyAt().Sub(start)
	case <-api.InitFailed():
		fe, at := api.InitError()
		s.Init = at.Sub(start)
		s.fail("init error: %v", fe)
		return s
	case <-exited:
		if fe, at := api.InitError(); fe != nil {
			s.Init = at.Sub(start)
			s.fail("init error: %v", fe)
			return s
		}
		s.Init = exitAt.Sub(start)
		s.fail("init: process exited before calling /next, %v (Runtime.ExitError)", exitStatus(exitErr))
		return s
	case <-initTimer.C:
		s.fail("init: timed out after %v without calling /next", initTimeout)
		return s
	case <-ctx.Done():
		s.fail("init: %v", ctx.Err())
		return s
	}

	invoke := func(phase string) (time.Duration, int, bool) {
		ictx, cancel := context.WithTimeoutCause(ctx, opt.timeout,
			fmt.Errorf("task timed out after %v (the function timeout)", opt.timeout))
		defer cancel()
		ictx, cancelExit := context.WithCancelCause(ictx)
		defer cancelExit(nil)
		go func() {
			select {
			case <-exited:
				cancelExit(fmt.Errorf("process exited, %v (Runtime.ExitError)", exitStatus(exitErr)))
			case <-ictx.Done():
			}
		}()
		res, err := api.Invoke(ictx, opt.event)
		if err != nil {
			s.fail("%s invoke: %v", phase, err)
			return notMeasured, 0, false
		}
		if res.Err != nil {
			s.fail("%s invoke error: %v", phase, res.Err)
		}
		return res.Latency(), httpStatus(res.Body, res.ContentType), true
	}
	var alive bool
	if s.First, s.FirstStatus, alive = invoke("first"); alive {
		s.Warm, s.WarmStatus, _ = invoke("warm")
	}
	return s
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function, plus
// extra. The harness's own environment is not inherited, so local AWS profiles
// and variables cannot leak into the measurement; the credentials are fakes that
// keep SDKs from probing instance metadata, as Lambda's real ones do.
func lambdaEnv(name, api, taskRoot string, extra []string) []string {
	var stream [16]byte
	_, _ = rand.Read(stream[:])
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", memoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(stream[:]),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=ASIACOLDSTARTLOCAL00",
		"AWS_SECRET_ACCESS_KEY=coldstart-local-fake-secret",
		"AWS_SESSION_TOKEN=coldstart-local-fake-token",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"LAMBDA_RUNTIME_DIR=" + taskRoot,
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
	// os/exec keeps the last value of a repeated key, so -env overrides the above.
	return append(env, extra...)
}

// exitStatus describes how the process ended.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	return err.Error()
}

// httpStatus returns the statusCode of an API Gateway or function URL style
// response body, or 0 when the body is not one. A streamed function URL response
// starts with a JSON prelude ended by eight NUL bytes.
func httpStatus(body []byte, contentType string) int {
	if contentType == streamContentType {
		if i := bytes.Index(body, make([]byte, 8)); i >= 0 {
			body = body[:i]
		}
	}
	var r struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(body, &r) != nil {
		return 0
	}
	return r.StatusCode
}

// tailBuffer keeps the last max bytes written to it; it is safe for the
// concurrent writes of a process's stdout and stderr.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept output, starting at a line boundary when it was cut.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) == t.max {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.TrimRight(s, "\n")
}
