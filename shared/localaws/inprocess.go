package localaws

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// inProcess is an HTTP client (the SDK's HTTPClient) that hands each
// request straight to a handler in this process. Dynamo.Client uses it:
// the SDK still builds, signs and parses every call as it does against
// AWS, but no socket, HTTP server goroutine or connection pool sits
// between it and the front, which in the end-to-end benchmarks cost more
// than the embedded DynamoDB's own work. Other processes (make dev's
// functions) still reach the same front over the real listener.
type inProcess struct {
	h http.Handler

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// errInProcessClosed is what a call gets once the server is closed, as a
// closed listener refuses a connection.
var errInProcessClosed = errors.New("local DynamoDB is closed")

func (c *inProcess) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errInProcessClosed
	}
	c.inflight.Add(1)
	c.mu.Unlock()
	defer c.inflight.Done()

	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	// The handler reads the body; a RoundTripper must close it.
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	c.h.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

// close refuses new calls and waits for those in progress, as the HTTP
// server's Shutdown does.
func (c *inProcess) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.inflight.Wait()
}
