package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/providers/retryafter"
)

// transport is the go-openai client's HTTPDoer. It adds "store": false to
// chat completion bodies and retries what is worth retrying. A failure comes
// back as a *providerError, which go-openai returns unchanged: unlike
// go-openai's own error, it keeps the Retry-After hint and drops the
// provider's message.
type transport struct {
	http       *http.Client
	maxRetries int
	maxWait    time.Duration
	sleep      func(ctx context.Context, d time.Duration) error // injectable so tests never sleep
	jitter     func() float64                                   // in [0, 1)
}

// Do sends req, retrying 429 and 5xx answers and network errors.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openai: read request body: %w", err)
		}
		body = b
	}
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/chat/completions") {
		var err error
		if body, err = withStoreFalse(body); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		resp, err := t.http.Do(r)
		var pe *providerError
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err // the call's deadline or the caller's cancellation, not the network
		case err != nil:
			pe = &providerError{err: err}
		case resp.StatusCode < http.StatusBadRequest:
			return resp, nil
		default:
			pe = readError(resp)
		}
		if !pe.retryable() {
			return nil, pe
		}
		wait := pe.retryAfter
		if wait > t.maxWait {
			return nil, pe // waiting less than told is pointless; the caller gets the hint
		}
		if wait <= 0 {
			wait = t.backoff(attempt)
		}
		if attempt >= t.maxRetries {
			pe.retryAfter = wait
			return nil, pe
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			pe.retryAfter = wait
			return nil, pe
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait before retry attempt+1 with no hint from the provider:
// 0.5 s doubling up to 8 s, less up to a quarter at random so that callers
// throttled together do not come back together.
func (t *transport) backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(attempt, 10), 8*time.Second)
	return d - time.Duration(float64(d)*0.25*t.jitter())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randJitter() float64 { return rand.Float64() }

// withStoreFalse adds "store": false to a JSON object body. go-openai never
// writes the key (its Store is a bool with omitempty), so it is not doubled.
func withStoreFalse(body []byte) ([]byte, error) {
	rest := bytes.TrimSpace(body)
	if len(rest) < 2 || rest[0] != '{' {
		return nil, errors.New("openai: chat request body is not a JSON object")
	}
	rest = bytes.TrimSpace(rest[1:])
	out := make([]byte, 0, len(rest)+16)
	out = append(out, `{"store":false`...)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// providerError is a failed call as far as Matterly needs it: the status, the
// provider's error code and type, the Retry-After hint and what the error
// means. The provider's message is read only to classify it, never kept.
type providerError struct {
	status     int
	code, typ  string
	retryAfter time.Duration
	tooLong    bool  // the input does not fit the model's context
	filtered   bool  // a content filter or policy refused the input
	quota      bool  // the account is out of credit: a 429 that waiting does not cure
	err        error // a network error, when there was no answer
}

func (e *providerError) Error() string {
	if e.err != nil {
		return "openai: " + e.err.Error()
	}
	return fmt.Sprintf("openai: status %d, code %q, type %q", e.status, e.code, e.typ)
}

func (e *providerError) Unwrap() error { return e.err }

func (e *providerError) retryable() bool {
	switch e.status {
	case 0:
		return e.err != nil
	case http.StatusTooManyRequests:
		return !e.quota
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// fault is the error the API answers with. Provider refusals our user could
// not have caused (a bad key, a missing model) are 503s, not 4xx; a request
// the provider found malformed is our bug, an uncoded (500) error.
func (e *providerError) fault() error {
	switch {
	case e.tooLong:
		return ai.ErrTooLong
	case e.filtered:
		return declined(e)
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Minute,
			Message: "The AI provider rejected the API key.", Err: e}
	case e.quota:
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Hour,
			Message: "The AI provider account has run out of quota.", Err: e}
	case e.status == http.StatusNotFound:
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Minute,
			Message: "The AI provider does not offer the configured model.", Err: e}
	case e.status == 0:
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: cmp.Or(e.retryAfter, 5*time.Second),
			Message: "The AI provider could not be reached; try again shortly.", Err: e}
	case e.retryable():
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: max(e.retryAfter, time.Second),
			Message: "The AI provider is busy or unavailable; try again shortly.", Err: e}
	}
	return e
}

// readError reads an error answer. OpenAI, Azure, LM Studio and Ollama send
// {"error": {"message", "type", "code", "param"}}; vLLM sends the fields at
// the top level; some servers send {"error": "text"}.
func readError(resp *http.Response) *providerError {
	defer resp.Body.Close()
	e := &providerError{status: resp.StatusCode, retryAfter: retryAfter(resp.Header)}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	type detail struct {
		Code    any    `json:"code"`
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	var env struct {
		Error json.RawMessage `json:"error"`
		detail
	}
	var d detail
	if json.Unmarshal(b, &env) == nil {
		d = env.detail
		var inner detail
		var text string
		if json.Unmarshal(env.Error, &inner) == nil {
			d = inner
		} else if json.Unmarshal(env.Error, &text) == nil {
			d.Message = text
		}
	}
	switch c := d.Code.(type) {
	case string:
		e.code = c
	case float64:
		e.code = strconv.FormatFloat(c, 'f', -1, 64)
	}
	e.typ = d.Type

	msg := strings.ToLower(d.Message)
	switch e.code {
	case "context_length_exceeded", "string_above_max_length":
		e.tooLong = true
	case "content_filter", "content_policy_violation", "invalid_prompt":
		e.filtered = true
	case "insufficient_quota":
		e.quota = true
	}
	if e.status == http.StatusRequestEntityTooLarge ||
		(e.status == http.StatusBadRequest && (strings.Contains(msg, "context length") ||
			strings.Contains(msg, "context window") || strings.Contains(msg, "maximum context"))) {
		e.tooLong = true
	}
	if e.typ == "insufficient_quota" {
		e.quota = true
	}
	return e
}

// retryAfter reads OpenAI's retry-after-ms, then the standard Retry-After
// (seconds or an HTTP date); 0 when there is no usable hint.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(min(ms, retryafter.Max.Seconds()*1000) * float64(time.Millisecond))
		}
	}
	return retryafter.Parse(h.Get("Retry-After"), time.Now())
}
