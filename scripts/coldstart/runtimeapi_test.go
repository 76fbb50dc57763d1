package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock advances one millisecond on every reading, so each timestamp the API
// takes is known in advance.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// startAPI serves a RuntimeAPI for function "hello" with a 7s timeout and the
// step clock, and returns it with its base URL.
func startAPI(t *testing.T) (*RuntimeAPI, string) {
	t.Helper()
	api := NewRuntimeAPI(FunctionConfig{Name: "hello", Region: "eu-west-1", Account: "111122223333", Timeout: 7 * time.Second})
	api.now = (&stepClock{t: epoch}).now
	addr, err := api.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api, "http://" + addr
}

// fetched is what the fake runtime got from GET /invocation/next.
type fetched struct {
	header http.Header
	status int
	body   []byte
	err    error
}

// next calls GET /invocation/next in the background, the way a runtime's loop does.
func next(base string) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		resp, err := http.Get(base + pathNext)
		if err != nil {
			ch <- fetched{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		ch <- fetched{header: resp.Header, status: resp.StatusCode, body: body, err: err}
	}()
	return ch
}

// invoke runs api.Invoke in the background.
func invoke(api *RuntimeAPI, event string) <-chan *Result {
	ch := make(chan *Result, 1)
	go func() {
		res, err := api.Invoke(context.Background(), []byte(event))
		if err != nil {
			res = &Result{Err: &FunctionError{Type: "test.InvokeFailed", Message: err.Error()}}
		}
		ch <- res
	}()
	return ch
}

// post sends a runtime POST and returns the status and body of the answer.
func post(t *testing.T, url, contentType string, body io.Reader, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// handOut gets one event to the fake runtime and returns what it received.
func handOut(t *testing.T, api *RuntimeAPI, base, event string) (fetched, <-chan *Result) {
	t.Helper()
	got := next(base)
	<-api.Ready()
	results := invoke(api, event)
	f := <-got
	if f.err != nil {
		t.Fatal(f.err)
	}
	if f.status != http.StatusOK {
		t.Fatalf("next: status %d, body %s", f.status, f.body)
	}
	return f, results
}

func TestNextHandsOutEventWithLambdaHeaders(t *testing.T) {
	api, base := startAPI(t)
	event := `{"rawPath":"/v1/me","headers":{"authorization":"Bearer x"}}`
	f, results := handOut(t, api, base, event)

	// Clock readings: 1ms the /next arrival, 2ms the hand-out, 3ms the response.
	if got, want := api.ReadyAt(), epoch.Add(time.Millisecond); !got.Equal(want) {
		t.Errorf("ReadyAt = %v, want %v", got, want)
	}
	if got := string(f.body); got != event {
		t.Errorf("event body = %s, want %s", got, event)
	}
	id := f.header.Get("Lambda-Runtime-Aws-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("request id %q is not a UUID v4", id)
	}
	wantDeadline := strconv.FormatInt(epoch.Add(2*time.Millisecond+7*time.Second).UnixMilli(), 10)
	if got := f.header.Get("Lambda-Runtime-Deadline-Ms"); got != wantDeadline {
		t.Errorf("deadline = %s, want %s", got, wantDeadline)
	}
	if got, want := f.header.Get("Lambda-Runtime-Invoked-Function-Arn"), "arn:aws:lambda:eu-west-1:111122223333:function:hello"; got != want {
		t.Errorf("function ARN = %q, want %q", got, want)
	}
	trace := f.header.Get("Lambda-Runtime-Trace-Id")
	wantRoot := "Root=1-" + strconv.FormatInt(epoch.Unix(), 16) + "-"
	if !strings.HasPrefix(trace, wantRoot) || !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]$`).MatchString(trace) {
		t.Errorf("trace id = %q, want an X-Ray header starting %s", trace, wantRoot)
	}
	if got := f.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}

	status, body := post(t, base+"/2018-06-01/runtime/invocation/"+id+"/response", "application/json",
		strings.NewReader(`{"statusCode":200,"body":"hi"}`), nil)
	if status != http.StatusAccepted || body != `{"status":"OK"}` {
		t.Errorf("response post = %d %s, want 202 {\"status\":\"OK\"}", status, body)
	}
	res := <-results
	if res.Err != nil {
		t.Fatalf("Invoke error: %v", res.Err)
	}
	if res.RequestID != id || string(res.Body) != `{"statusCode":200,"body":"hi"}` || res.ContentType != "application/json" {
		t.Errorf("result = %+v, want id %s and the posted body", res, id)
	}
	if got := res.Latency(); got != time.Millisecond {
		t.Errorf("latency = %v, want 1ms (hand-out at 2ms, response at 3ms)", got)
	}
	if st := httpStatus(res.Body, res.ContentType); st != 200 {
		t.Errorf("httpStatus = %d, want 200", st)
	}
}

func TestNextBlocksUntilAnEventIsQueued(t *testing.T) {
	api, base := startAPI(t)
	got := next(base)
	<-api.Ready()
	select {
	case f := <-got:
		t.Fatalf("next answered before any event: %+v", f)
	default:
	}
	results := invoke(api, `{"n":1}`)
	f := <-got
	if string(f.body) != `{"n":1}` {
		t.Fatalf("event = %s", f.body)
	}
	post(t, base+"/2018-06-01/runtime/invocation/"+f.header.Get(headerRequestID)+"/response", "application/octet-stream", strings.NewReader("raw"), nil)
	if res := <-results; string(res.Body) != "raw" || res.ContentType != "application/octet-stream" {
		t.Errorf("result = %+v", res)
	}

	// The warm invoke: a second event through the same API.
	f2, results2 := handOut(t, api, base, `{"n":2}`)
	if f2.header.Get(headerRequestID) == f.header.Get(headerRequestID) {
		t.Error("second invoke reused the request id")
	}
	post(t, base+"/2018-06-01/runtime/invocation/"+f2.header.Get(headerRequestID)+"/response", "application/json", strings.NewReader(`"second"`), nil)
	if res := <-results2; string(res.Body) != `"second"` {
		t.Errorf("second result = %+v", res)
	}
}

func TestInvocationError(t *testing.T) {
	tests := []struct {
		name       string
		headerType string
		body       string
		wantType   string
		wantMsg    string
	}{
		{"header and body", "errorString", `{"errorMessage":"table not reachable","errorType":"errorString"}`, "errorString", "table not reachable"},
		{"type from body", "", `{"errorMessage":"boom","errorType":"string","stackTrace":[]}`, "string", "boom"},
		{"header wins", "Runtime.Custom", `{"errorMessage":"m","errorType":"other"}`, "Runtime.Custom", "m"},
		{"not JSON", "Unhandled", `plain text`, "Unhandled", "plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, base := startAPI(t)
			f, results := handOut(t, api, base, `{}`)
			h := http.Header{}
			if tt.headerType != "" {
				h.Set("Lambda-Runtime-Function-Error-Type", tt.headerType)
			}
			status, _ := post(t, base+"/2018-06-01/runtime/invocation/"+f.header.Get(headerRequestID)+"/error",
				"application/json", strings.NewReader(tt.body), h)
			if status != http.StatusAccepted {
				t.Fatalf("error post status = %d, want 202", status)
			}
			res := <-results
			if res.Err == nil {
				t.Fatal("Result.Err is nil")
			}
			if res.Err.Type != tt.wantType || res.Err.Message != tt.wantMsg || string(res.Err.Body) != tt.body {
				t.Errorf("Err = %+v, want type %q message %q", res.Err, tt.wantType, tt.wantMsg)
			}
			if res.Body != nil {
				t.Errorf("Body = %q, want none on error", res.Body)
			}
			if res.Latency() != time.Millisecond {
				t.Errorf("latency = %v, want 1ms", res.Latency())
			}
		})
	}
}

func TestStreamedResponseErrorTrailer(t *testing.T) {
	api, base := startAPI(t)
	f, results := handOut(t, api, base, `{}`)
	errDoc := `{"errorMessage":"unexpected EOF","errorType":"errorString"}`
	// A runtime streaming a body whose reader fails sends the error in trailers,
	// as aws-lambda-go does.
	req, err := http.NewRequest(http.MethodPost, base+"/2018-06-01/runtime/invocation/"+f.header.Get(headerRequestID)+"/response",
		io.MultiReader(strings.NewReader(`{"statusCode":200}`), bytes.NewReader(make([]byte, 8)), strings.NewReader("partial")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", streamContentType)
	req.Trailer = http.Header{
		"Lambda-Runtime-Function-Error-Type": {"errorString"},
		"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(errDoc))},
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, want 202", resp.StatusCode)
	}
	res := <-results
	if res.Err == nil || res.Err.Type != "errorString" || res.Err.Message != "unexpected EOF" {
		t.Errorf("Err = %+v, want errorString: unexpected EOF", res.Err)
	}
	if !bytes.HasSuffix(res.Body, []byte("partial")) {
		t.Errorf("Body = %q, want the part sent before the error", res.Body)
	}
	if st := httpStatus(res.Body, res.ContentType); st != 200 {
		t.Errorf("httpStatus of streamed prelude = %d, want 200", st)
	}
}

func TestInitError(t *testing.T) {
	api, base := startAPI(t)
	h := http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.ConfigError"}}
	status, _ := post(t, base+pathInitError, "application/json",
		strings.NewReader(`{"errorMessage":"TABLE_NAME is required","errorType":"Runtime.ConfigError"}`), h)
	if status != http.StatusAccepted {
		t.Fatalf("init error status = %d, want 202", status)
	}
	<-api.InitFailed()
	fe, at := api.InitError()
	if fe == nil || fe.Type != "Runtime.ConfigError" || fe.Message != "TABLE_NAME is required" {
		t.Fatalf("InitError = %+v", fe)
	}
	if !at.Equal(epoch.Add(time.Millisecond)) {
		t.Errorf("init error at %v, want %v", at, epoch.Add(time.Millisecond))
	}
	if got := fe.Error(); got != "Runtime.ConfigError: TABLE_NAME is required" {
		t.Errorf("Error() = %q", got)
	}
	if status, _ := post(t, base+pathInitError, "application/json", strings.NewReader(`{}`), nil); status != http.StatusForbidden {
		t.Errorf("second init error status = %d, want 403", status)
	}
}

func TestInitErrorAfterInitIsRejected(t *testing.T) {
	api, base := startAPI(t)
	next(base)
	<-api.Ready()
	if status, _ := post(t, base+pathInitError, "application/json", strings.NewReader(`{}`), nil); status != http.StatusForbidden {
		t.Errorf("init error after /next: status %d, want 403", status)
	}
	if fe, _ := api.InitError(); fe != nil {
		t.Errorf("InitError = %+v, want nil", fe)
	}
}

func TestBadRequestIDs(t *testing.T) {
	api, base := startAPI(t)
	for _, path := range []string{"/response", "/error"} {
		status, body := post(t, base+"/2018-06-01/runtime/invocation/no-such-id"+path, "application/json", strings.NewReader(`{}`), nil)
		if status != http.StatusBadRequest || !strings.Contains(body, "InvalidRequestID") {
			t.Errorf("%s for unknown id = %d %s, want 400 InvalidRequestID", path, status, body)
		}
	}

	f, results := handOut(t, api, base, `{}`)
	url := base + "/2018-06-01/runtime/invocation/" + f.header.Get(headerRequestID)
	if status, _ := post(t, url+"/response", "application/json", strings.NewReader(`1`), nil); status != http.StatusAccepted {
		t.Fatalf("first response status = %d", status)
	}
	<-results
	if status, _ := post(t, url+"/response", "application/json", strings.NewReader(`2`), nil); status != http.StatusBadRequest {
		t.Errorf("second response status = %d, want 400", status)
	}

	resp, err := http.Get(url + "/response")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on /response = %d, want 405", resp.StatusCode)
	}
}

func TestResponseTooLarge(t *testing.T) {
	api, base := startAPI(t)
	f, results := handOut(t, api, base, `{}`)
	status, _ := post(t, base+"/2018-06-01/runtime/invocation/"+f.header.Get(headerRequestID)+"/response",
		"application/json", bytes.NewReader(make([]byte, maxBufferedResponse+1)), nil)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", status)
	}
	if res := <-results; res.Err == nil || res.Err.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("Err = %+v, want Function.ResponseSizeTooLarge", res.Err)
	}
}

func TestInvokeEndsWithContext(t *testing.T) {
	api, _ := startAPI(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("process exited")
	cancel(cause)
	if _, err := api.Invoke(ctx, []byte(`{}`)); !errors.Is(err, cause) {
		t.Errorf("Invoke error = %v, want the context's cause", err)
	}
}

func TestExtensionRegistration(t *testing.T) {
	api, base := startAPI(t)
	register := func(name string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+pathExtRegister, strings.NewReader(`{"events":[]}`))
		if name != "" {
			req.Header.Set("Lambda-Extension-Name", name)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// aws-lambda-go registers this extension when SIGTERM handlers are enabled.
	resp := register("GoLangEnableSIGTERM")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Lambda-Extension-Identifier") == "" {
		t.Fatalf("register = %d, id %q; want 200 and an identifier", resp.StatusCode, resp.Header.Get("Lambda-Extension-Identifier"))
	}
	if resp := register(""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("register without a name = %d, want 400", resp.StatusCode)
	}
	resp, err := http.Get(base + pathExtEventNext)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("event/next without an identifier = %d, want 403", resp.StatusCode)
	}
	next(base)
	<-api.Ready()
	if resp := register("late"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("register after init = %d, want 403", resp.StatusCode)
	}
}
