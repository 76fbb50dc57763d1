package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Header and path names of the Lambda Runtime API (version 2018-06-01) and of the
// Extensions API (2020-01-01), as AWS documents them and aws-lambda-go uses them.
const (
	headerRequestID     = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID       = "Lambda-Runtime-Trace-Id"
	headerErrorType     = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody    = "Lambda-Runtime-Function-Error-Body"
	headerExtensionName = "Lambda-Extension-Name"
	headerExtensionID   = "Lambda-Extension-Identifier"

	pathNext          = "/2018-06-01/runtime/invocation/next"
	pathResponse      = "/2018-06-01/runtime/invocation/{id}/response"
	pathError         = "/2018-06-01/runtime/invocation/{id}/error"
	pathInitError     = "/2018-06-01/runtime/init/error"
	pathExtRegister   = "/2020-01-01/extension/register"
	pathExtEventNext  = "/2020-01-01/extension/event/next"
	streamContentType = "application/vnd.awslambda.http-integration-response"

	// maxBufferedResponse is Lambda's 6 MB limit on a buffered response payload;
	// maxStreamedResponse is the 20 MB soft limit of a streamed one.
	maxBufferedResponse = 6 * 1024 * 1024
	maxStreamedResponse = 20 * 1024 * 1024
)

// FunctionConfig describes the function a RuntimeAPI serves: it fills the
// invocation headers the way Lambda does.
type FunctionConfig struct {
	// Name is the function name used in the invoked function ARN.
	Name string
	// Region and Account complete the ARN; they default to us-east-1 and 123456789012.
	Region  string
	Account string
	// Timeout sets each invocation's deadline, counted from the moment the event
	// is handed to the runtime. It defaults to 3s, Lambda's default timeout.
	Timeout time.Duration
}

func (c FunctionConfig) arn() string {
	region, account := c.Region, c.Account
	if region == "" {
		region = "us-east-1"
	}
	if account == "" {
		account = "123456789012"
	}
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, c.Name)
}

// FunctionError is an error the runtime reported through /init/error,
// /invocation/{id}/error, or the error trailers of a streamed response.
type FunctionError struct {
	// Type is the Lambda-Runtime-Function-Error-Type header, or the errorType
	// field of the body when the header is absent.
	Type string
	// Message is the errorMessage field of the JSON body, when there is one.
	Message string
	// Body is the raw error document the runtime sent.
	Body []byte
}

// Error renders the error as Lambda logs it: type, then message.
func (e *FunctionError) Error() string {
	switch {
	case e.Type == "" && e.Message == "":
		return "unknown function error: " + string(e.Body)
	case e.Message == "":
		return e.Type
	case e.Type == "":
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Result is the outcome of one invocation.
type Result struct {
	// RequestID is the Lambda-Runtime-Aws-Request-Id the event was handed out with.
	RequestID string
	// Body and ContentType are the response the runtime posted (empty on error).
	Body        []byte
	ContentType string
	// Err is set when the runtime reported an invocation error.
	Err *FunctionError
	// HandedAt is when the event was written to a /next caller; DoneAt is when
	// the response or error body had been read in full.
	HandedAt time.Time
	DoneAt   time.Time
}

// Latency is the time from handing the event out to receiving the outcome,
// which is what Lambda reports as Duration.
func (r *Result) Latency() time.Duration { return r.DoneAt.Sub(r.HandedAt) }

// invocation is an event on its way through the API. Its fields after event are
// guarded by RuntimeAPI.mu.
type invocation struct {
	id     string
	event  []byte
	done   chan struct{}
	handed time.Time
	result *Result
}

// RuntimeAPI is a local, in-process implementation of the Lambda Runtime API for
// one execution environment. Invoke queues an event; the runtime's
// GET /invocation/next blocks until an event is available and receives it with
// the usual headers; the runtime answers on /invocation/{id}/response or /error.
// It also accepts /init/error and the Extensions API register and event/next
// calls (aws-lambda-go uses the latter when SIGTERM handlers are enabled).
type RuntimeAPI struct {
	cfg   FunctionConfig
	now   func() time.Time
	queue chan *invocation

	mu         sync.Mutex
	inflight   map[string]*invocation
	readyAt    time.Time
	initErr    *FunctionError
	initErrAt  time.Time
	ready      chan struct{}
	initFailed chan struct{}
	closed     chan struct{}
	closeOnce  sync.Once
	srv        *http.Server
}

// NewRuntimeAPI returns a Runtime API for the function described by cfg. Serve
// it with Start, or mount Handler on a server of your own.
func NewRuntimeAPI(cfg FunctionConfig) *RuntimeAPI {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	return &RuntimeAPI{
		cfg:        cfg,
		now:        time.Now,
		queue:      make(chan *invocation),
		inflight:   make(map[string]*invocation),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		closed:     make(chan struct{}),
	}
}

// Start serves the API on a free port of 127.0.0.1 and returns its host:port,
// the value for AWS_LAMBDA_RUNTIME_API.
func (a *RuntimeAPI) Start() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// Close stops the server and releases every blocked /next and extension call.
func (a *RuntimeAPI) Close() error {
	a.closeOnce.Do(func() { close(a.closed) })
	if a.srv != nil {
		return a.srv.Close()
	}
	return nil
}

// Ready is closed when the runtime first calls GET /invocation/next, which ends
// the init phase.
func (a *RuntimeAPI) Ready() <-chan struct{} { return a.ready }

// ReadyAt is when the first GET /invocation/next arrived (zero before that).
func (a *RuntimeAPI) ReadyAt() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readyAt
}

// InitFailed is closed when the runtime posts to /init/error.
func (a *RuntimeAPI) InitFailed() <-chan struct{} { return a.initFailed }

// InitError returns the error posted to /init/error and when it arrived, or nil.
func (a *RuntimeAPI) InitError() (*FunctionError, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.initErr, a.initErrAt
}

// Invoke hands event to the next GET /invocation/next (waiting for one if the
// runtime is busy) and waits for the runtime's response or error. It returns an
// error only when ctx ends or the API is closed first; a function error is
// reported in Result.Err.
func (a *RuntimeAPI) Invoke(ctx context.Context, event []byte) (*Result, error) {
	inv := &invocation{id: newRequestID(), event: event, done: make(chan struct{})}
	a.mu.Lock()
	a.inflight[inv.id] = inv
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.inflight, inv.id)
		a.mu.Unlock()
	}()

	select {
	case a.queue <- inv:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-a.closed:
		return nil, errors.New("runtime API closed")
	}
	select {
	case <-inv.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		return inv.result, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-a.closed:
		return nil, errors.New("runtime API closed")
	}
}

// Handler returns the HTTP handler implementing the API's routes.
func (a *RuntimeAPI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, a.handleNext)
	mux.HandleFunc("POST "+pathResponse, a.handleResponse)
	mux.HandleFunc("POST "+pathError, a.handleError)
	mux.HandleFunc("POST "+pathInitError, a.handleInitError)
	mux.HandleFunc("POST "+pathExtRegister, a.handleExtRegister)
	mux.HandleFunc("GET "+pathExtEventNext, a.handleExtNext)
	return mux
}

func (a *RuntimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	arrived := a.now()
	a.mu.Lock()
	if a.readyAt.IsZero() {
		a.readyAt = arrived
		close(a.ready)
	}
	a.mu.Unlock()

	var inv *invocation
	select {
	case inv = <-a.queue:
	case <-r.Context().Done():
		return
	case <-a.closed:
		writeAPIError(w, http.StatusInternalServerError, "Runtime.Shutdown", "runtime API is shutting down")
		return
	}

	handed := a.now()
	a.mu.Lock()
	inv.handed = handed
	a.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadlineMS, strconv.FormatInt(handed.Add(a.cfg.Timeout).UnixMilli(), 10))
	h.Set(headerFunctionARN, a.cfg.arn())
	h.Set(headerTraceID, newTraceID(handed))
	h.Set("Content-Length", strconv.Itoa(len(inv.event)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.event)
}

// handedOut finds the invocation named in the path, answering 400 when the id is
// unknown, already answered, or not yet handed to the runtime.
func (a *RuntimeAPI) handedOut(w http.ResponseWriter, r *http.Request) *invocation {
	id := r.PathValue("id")
	a.mu.Lock()
	inv := a.inflight[id]
	ok := inv != nil && !inv.handed.IsZero() && inv.result == nil
	a.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "invalid request id "+strconv.Quote(id))
		return nil
	}
	return inv
}

// complete records the outcome of inv; it reports false when another post for
// the same id got there first.
func (a *RuntimeAPI) complete(inv *invocation, res *Result) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if inv.result != nil {
		return false
	}
	res.RequestID = inv.id
	res.HandedAt = inv.handed
	inv.result = res
	close(inv.done)
	return true
}

func (a *RuntimeAPI) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := a.handedOut(w, r)
	if inv == nil {
		return
	}
	contentType := r.Header.Get("Content-Type")
	limit := int64(maxBufferedResponse)
	if contentType == streamContentType {
		limit = maxStreamedResponse
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	done := a.now()
	res := &Result{ContentType: contentType, DoneAt: done}
	switch {
	case err != nil:
		res.Err = &FunctionError{Type: "Runtime.TruncatedResponse", Message: err.Error()}
	case int64(len(body)) > limit:
		res.Err = &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("response payload size exceeded maximum allowed payload size (%d bytes)", limit)}
	case r.Trailer.Get(headerErrorType) != "":
		// aws-lambda-go reports an error met while reading a streamed response
		// in trailers, after the part of the body it managed to send.
		res.Err = &FunctionError{Type: r.Trailer.Get(headerErrorType)}
		if raw := r.Trailer.Get(trailerErrorBody); raw != "" {
			res.Err = parseFunctionError(res.Err.Type, decodeBase64(raw))
		}
		res.Body = body
	default:
		res.Body = body
	}
	if !a.complete(inv, res) {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "response already received for "+inv.id)
		return
	}
	if res.Err != nil && res.Err.Type == "Function.ResponseSizeTooLarge" {
		writeAPIError(w, http.StatusRequestEntityTooLarge, res.Err.Type, res.Err.Message)
		return
	}
	writeAccepted(w)
}

func (a *RuntimeAPI) handleError(w http.ResponseWriter, r *http.Request) {
	inv := a.handedOut(w, r)
	if inv == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBufferedResponse))
	res := &Result{DoneAt: a.now(), Err: parseFunctionError(r.Header.Get(headerErrorType), body)}
	if !a.complete(inv, res) {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "response already received for "+inv.id)
		return
	}
	writeAccepted(w)
}

func (a *RuntimeAPI) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBufferedResponse))
	at := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.readyAt.IsZero() || a.initErr != nil {
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init error is only accepted during init, once")
		return
	}
	a.initErr = parseFunctionError(r.Header.Get(headerErrorType), body)
	a.initErrAt = at
	close(a.initFailed)
	writeAccepted(w)
}

func (a *RuntimeAPI) handleExtRegister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(headerExtensionName) == "" {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "missing "+headerExtensionName)
		return
	}
	a.mu.Lock()
	initDone := !a.readyAt.IsZero()
	a.mu.Unlock()
	if initDone {
		writeAPIError(w, http.StatusForbidden, "Extension.RegistrationError", "extensions register during init only")
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set(headerExtensionID, newRequestID())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    a.cfg.Name,
		"functionVersion": "$LATEST",
		"handler":         "bootstrap",
	})
}

// handleExtNext blocks until shutdown: the harness subscribes extensions to no
// events, which is also how aws-lambda-go registers its SIGTERM extension.
func (a *RuntimeAPI) handleExtNext(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(headerExtensionID) == "" {
		writeAPIError(w, http.StatusForbidden, "Extension.InvalidExtensionIdentifier", "missing "+headerExtensionID)
		return
	}
	select {
	case <-r.Context().Done():
	case <-a.closed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"eventType":"SHUTDOWN","shutdownReason":"spindown"}`)
	}
}

// parseFunctionError reads the {errorMessage, errorType} document runtimes post.
func parseFunctionError(headerType string, body []byte) *FunctionError {
	fe := &FunctionError{Type: headerType, Body: body}
	var doc struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) == nil {
		fe.Message = doc.Message
		if fe.Type == "" {
			fe.Type = doc.Type
		}
	} else if len(body) > 0 {
		fe.Message = string(body)
	}
	return fe
}

// decodeBase64 decodes the base64 error trailer, keeping the text as it is when
// it is not base64.
func decodeBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errType, "errorMessage": msg})
}

// newRequestID returns a random UUID (version 4), the form of Lambda request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID returns an X-Ray trace header: Root=1-<epoch hex>-<96 random bits>.
func newTraceID(at time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0",
		at.Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}
