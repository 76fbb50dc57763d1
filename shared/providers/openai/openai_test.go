package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/providers/retryafter"
)

// secret stands for document text: it must never show up in an error.
const secret = "Privileged: settlement offer of $1,250,000 to J. Doe"

// call is one request the fake provider received.
type call struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// fake is an OpenAI-wire-format server answering with scripted steps (the
// last step repeats) and recording every request.
type fake struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []call
	steps []http.HandlerFunc
}

func newFake(t *testing.T, steps ...http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{steps: steps}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		step := f.steps[min(len(f.calls), len(f.steps))-1]
		f.mu.Unlock()
		step(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// dialer sends every connection to the fake whatever the URL's host, so the
// Azure and api.openai.com host rules can be tested without a network.
func (f *fake) dialer() *http.Client {
	addr := f.srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
}

// testClient builds a client whose backoff sleeps are recorded, not slept,
// and whose jitter is zero.
func testClient(t *testing.T, cfg Config) (*Client, *[]time.Duration) {
	t.Helper()
	if cfg.APIKey == "" && cfg.BaseURL == "" {
		t.Fatal("testClient needs a key or a base URL")
	}
	c := newClient(cfg)
	var slept []time.Duration
	c.tr.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	c.tr.jitter = func() float64 { return 0 }
	return c, &slept
}

// completion is a chat.completion as OpenAI documents it.
func completion(message map[string]any, finish string) map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil, "annotations": []any{}}
	for k, v := range message {
		msg[k] = v
	}
	return map[string]any{
		"id":      "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
		"object":  "chat.completion",
		"created": 1741570283,
		"model":   "gpt-4.1-mini-2025-04-14",
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage": map[string]any{
			"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
			"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
			"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
		},
		"service_tier":       "default",
		"system_fingerprint": "fp_fc9f1d7035",
	}
}

func reply(status int, v any, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

func ok(content string) http.HandlerFunc {
	return reply(200, completion(map[string]any{"content": content}, "stop"))
}

// apiError is OpenAI's error body; its message quotes the input, as some
// providers' messages do.
func apiError(status int, code, typ string, header ...string) http.HandlerFunc {
	return reply(status, map[string]any{"error": map[string]any{
		"message": "Request failed for input: " + secret, "type": typ, "param": nil, "code": code}}, header...)
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, b)
	}
	return m
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func checkHeaders(t *testing.T, c call, auth string) {
	t.Helper()
	if c.method != http.MethodPost {
		t.Errorf("method = %s, want POST", c.method)
	}
	if got := c.header.Get("Authorization"); got != auth {
		t.Errorf("Authorization = %q, want %q", got, auth)
	}
	if got := c.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

var summarySchema = json.RawMessage(`{"type":"object","properties":{"summary":{"type":"string"},"parties":{"type":"array","items":{"type":"string"}}},"required":["summary","parties"],"additionalProperties":false}`)

func TestStructuredWire(t *testing.T) {
	f := newFake(t, ok(`{"summary":"A lease.","parties":["Acme","Doe"]}`))
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1/"})

	got, usage, err := c.Structured(t.Context(), ai.StructuredRequest{
		Instructions: "Summarise the document.", Input: secret,
		SchemaName: "document_summary", Schema: summarySchema, MaxOutputTokens: 800,
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"summary":"A lease.","parties":["Acme","Doe"]}` {
		t.Errorf("got %s", got)
	}
	if want := (ai.Usage{InputTokens: 1117, OutputTokens: 46}); usage != want {
		t.Errorf("usage = %+v, want %+v", usage, want)
	}

	calls := f.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d requests, want 1", len(calls))
	}
	rc := calls[0]
	if rc.path != "/v1/chat/completions" || rc.query != "" {
		t.Errorf("path = %s?%s, want /v1/chat/completions", rc.path, rc.query)
	}
	checkHeaders(t, rc, "Bearer sk-test")
	if !bytes.Contains(rc.body, []byte(`"store":false`)) {
		t.Errorf(`body lacks "store":false: %s`, rc.body)
	}
	body := decode(t, rc.body)
	// Exactly these fields: stream is go-openai's (always false), max_tokens
	// is what a compatible server reads.
	if got, want := keys(body), []string{"max_tokens", "messages", "model", "response_format", "store", "stream"}; !slices.Equal(got, want) {
		t.Errorf("body fields = %v, want %v", got, want)
	}
	if store, present := body["store"]; !present || store != false {
		t.Errorf("store = %v (present %v), want false", store, present)
	}
	if body["model"] != DefaultModel || body["max_tokens"] != 800.0 || body["stream"] != false {
		t.Errorf("model, max_tokens, stream = %v, %v, %v", body["model"], body["max_tokens"], body["stream"])
	}
	wantMessages := []any{
		map[string]any{"role": "system", "content": "Summarise the document."},
		map[string]any{"role": "user", "content": secret},
	}
	if !reflect.DeepEqual(body["messages"], wantMessages) {
		t.Errorf("messages = %#v, want %#v", body["messages"], wantMessages)
	}
	var schema any
	_ = json.Unmarshal(summarySchema, &schema)
	wantFormat := map[string]any{"type": "json_schema", "json_schema": map[string]any{
		"name": "document_summary", "strict": true, "schema": schema}}
	if !reflect.DeepEqual(body["response_format"], wantFormat) {
		t.Errorf("response_format = %#v, want %#v", body["response_format"], wantFormat)
	}
}

func TestTextWire(t *testing.T) {
	f := newFake(t, ok("Dear Ms Doe, ..."))
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1", Model: "qwen2.5-7b-instruct"})

	got, usage, err := c.Text(t.Context(), ai.TextRequest{Instructions: "Draft a letter.", Input: secret})
	if err != nil {
		t.Fatal(err)
	}
	if got != "Dear Ms Doe, ..." || usage.InputTokens != 1117 || usage.OutputTokens != 46 {
		t.Errorf("got %q, %+v", got, usage)
	}
	rc := f.recorded()[0]
	if rc.path != "/v1/chat/completions" {
		t.Errorf("path = %s", rc.path)
	}
	checkHeaders(t, rc, "Bearer sk-test")
	body := decode(t, rc.body)
	if got, want := keys(body), []string{"messages", "model", "store", "stream"}; !slices.Equal(got, want) {
		t.Errorf("body fields = %v, want %v (no max tokens when 0)", got, want)
	}
	if body["store"] != false || body["model"] != "qwen2.5-7b-instruct" {
		t.Errorf("store, model = %v, %v", body["store"], body["model"])
	}
	if n := len(body["messages"].([]any)); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

func TestTextWithoutInstructionsSendsOnlyTheInput(t *testing.T) {
	f := newFake(t, ok("hi"))
	c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1"})
	if _, _, err := c.Text(t.Context(), ai.TextRequest{Input: "hello"}); err != nil {
		t.Fatal(err)
	}
	body := decode(t, f.recorded()[0].body)
	want := []any{map[string]any{"role": "user", "content": "hello"}}
	if !reflect.DeepEqual(body["messages"], want) {
		t.Errorf("messages = %#v, want %#v", body["messages"], want)
	}
}

// A local server may need no key: then no Authorization header is sent.
func TestNoKeySendsNoAuthorization(t *testing.T) {
	f := newFake(t, ok("hi"))
	m := New(Config{BaseURL: f.srv.URL + "/v1"})
	if _, _, err := m.Text(t.Context(), ai.TextRequest{Input: "hello"}); err != nil {
		t.Fatal(err)
	}
	if h, present := f.recorded()[0].header["Authorization"]; present {
		t.Errorf("Authorization sent: %q", h)
	}
}

func TestOpenAIHostSendsMaxCompletionTokens(t *testing.T) {
	f := newFake(t, ok(`{}`))
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: "http://api.openai.com/v1", HTTPClient: f.dialer()})
	if _, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x", MaxOutputTokens: 300}); err != nil {
		t.Fatal(err)
	}
	body := decode(t, f.recorded()[0].body)
	if _, has := body["max_tokens"]; has || body["max_completion_tokens"] != 300.0 {
		t.Errorf("max_tokens %v, max_completion_tokens %v; want only max_completion_tokens 300", body["max_tokens"], body["max_completion_tokens"])
	}
}

// A reasoning model's name gets max_completion_tokens on any server.
func TestReasoningModelSendsMaxCompletionTokens(t *testing.T) {
	f := newFake(t, ok("{}"))
	c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1", Model: "gpt-5-mini"})
	if _, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x", MaxOutputTokens: 300}); err != nil {
		t.Fatal(err)
	}
	body := decode(t, f.recorded()[0].body)
	if _, has := body["max_tokens"]; has || body["max_completion_tokens"] != 300.0 {
		t.Errorf("max_tokens %v, max_completion_tokens %v; want only max_completion_tokens 300", body["max_tokens"], body["max_completion_tokens"])
	}
}

func TestAzure(t *testing.T) {
	f := newFake(t, ok(`{"summary":"s","parties":[]}`), func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write([]byte("ID3audio"))
	})
	c, _ := testClient(t, Config{APIKey: "azure-key", BaseURL: "http://matterly.openai.azure.com/openai/v1",
		Model: "summaries-deploy", TTSModel: "tts-deploy", HTTPClient: f.dialer()})

	if _, _, err := c.Structured(t.Context(), ai.StructuredRequest{Input: "x", SchemaName: "s", Schema: summarySchema, MaxOutputTokens: 50}); err != nil {
		t.Fatal(err)
	}
	a, err := c.Speech(t.Context(), ai.SpeechRequest{Input: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, a)
	a.Close()

	calls := f.recorded()
	for i, want := range []string{"/openai/deployments/summaries-deploy/chat/completions", "/openai/deployments/tts-deploy/audio/speech"} {
		rc := calls[i]
		if rc.path != want || rc.query != "api-version="+DefaultAzureAPIVersion {
			t.Errorf("request %d: %s?%s, want %s?api-version=%s", i, rc.path, rc.query, want, DefaultAzureAPIVersion)
		}
		if rc.header.Get("api-key") != "azure-key" {
			t.Errorf("request %d: api-key = %q", i, rc.header.Get("api-key"))
		}
		checkHeaders(t, rc, "")
	}
	body := decode(t, calls[0].body)
	if body["store"] != false || body["model"] != "summaries-deploy" || body["max_completion_tokens"] != 50.0 {
		t.Errorf("store, model, max_completion_tokens = %v, %v, %v", body["store"], body["model"], body["max_completion_tokens"])
	}
}

func TestNotConfigured(t *testing.T) {
	m := New(Config{})
	if _, _, err := m.Structured(t.Context(), ai.StructuredRequest{SchemaName: "s", Schema: summarySchema}); !errors.Is(err, ai.ErrNotConfigured) {
		t.Errorf("Structured: %v", err)
	}
	if _, _, err := m.Text(t.Context(), ai.TextRequest{}); !errors.Is(err, ai.ErrNotConfigured) {
		t.Errorf("Text: %v", err)
	}
	if _, err := m.Speech(t.Context(), ai.SpeechRequest{Input: "x"}); !errors.Is(err, ai.ErrNotConfigured) {
		t.Errorf("Speech: %v", err)
	}
	if _, isClient := New(Config{APIKey: "sk"}).(*Client); !isClient {
		t.Error("a key alone should configure OpenAI")
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		steps      []http.HandlerFunc
		wantCalls  int
		wantSlept  []time.Duration
		wantKind   fault.Kind // "" with wantErr: an uncoded error
		wantErr    error      // a sentinel the caller tests for
		wantRetry  time.Duration
		wantFailed bool
	}{
		{name: "429 with Retry-After then 200",
			steps:     []http.HandlerFunc{apiError(429, "rate_limit_exceeded", "requests", "Retry-After", "2"), ok("{}")},
			wantCalls: 2, wantSlept: []time.Duration{2 * time.Second}},
		{name: "429 with retry-after-ms then 200",
			steps:     []http.HandlerFunc{apiError(429, "rate_limit_exceeded", "tokens", "retry-after-ms", "1500", "Retry-After", "2"), ok("{}")},
			wantCalls: 2, wantSlept: []time.Duration{1500 * time.Millisecond}},
		{name: "500 502 504 then 200, exponential backoff",
			steps:     []http.HandlerFunc{apiError(500, "", "server_error"), apiError(502, "", ""), apiError(504, "", ""), ok("{}")},
			wantCalls: 4, wantSlept: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{name: "503 four times",
			steps:     []http.HandlerFunc{apiError(503, "", "server_error")},
			wantCalls: 4, wantSlept: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second},
			wantFailed: true, wantKind: fault.Unavailable, wantRetry: 4 * time.Second},
		{name: "429 hint over the cap: no wait, hint passed on",
			steps:     []http.HandlerFunc{apiError(429, "rate_limit_exceeded", "requests", "Retry-After", "120")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Unavailable, wantRetry: 120 * time.Second},
		{name: "429 out of quota: no retry",
			steps:     []http.HandlerFunc{apiError(429, "insufficient_quota", "insufficient_quota")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Unavailable, wantRetry: time.Hour},
		{name: "400: no retry, our bug",
			steps:     []http.HandlerFunc{apiError(400, "invalid_value", "invalid_request_error")},
			wantCalls: 1, wantFailed: true},
		{name: "400 context_length_exceeded: too long",
			steps:     []http.HandlerFunc{apiError(400, "context_length_exceeded", "invalid_request_error")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Invalid, wantErr: ai.ErrTooLong},
		{name: "400 from vLLM about the context: too long",
			steps: []http.HandlerFunc{reply(400, map[string]any{"object": "error", "type": "BadRequestError", "code": 400,
				"message": "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens."})},
			wantCalls: 1, wantFailed: true, wantKind: fault.Invalid, wantErr: ai.ErrTooLong},
		{name: "400 Azure content filter: declined",
			steps:     []http.HandlerFunc{apiError(400, "content_filter", "")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Invalid},
		{name: "401: our key, a 503",
			steps:     []http.HandlerFunc{apiError(401, "invalid_api_key", "invalid_request_error")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Unavailable, wantRetry: 5 * time.Minute},
		{name: "403: a 503",
			steps:     []http.HandlerFunc{apiError(403, "unsupported_country_region_territory", "request_forbidden")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Unavailable, wantRetry: 5 * time.Minute},
		{name: "404 unknown model: a 503",
			steps:     []http.HandlerFunc{apiError(404, "model_not_found", "invalid_request_error")},
			wantCalls: 1, wantFailed: true, wantKind: fault.Unavailable, wantRetry: 5 * time.Minute},
		{name: "422: no retry",
			steps:     []http.HandlerFunc{apiError(422, "", "")},
			wantCalls: 1, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.steps...)
			c, slept := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1"})
			_, _, err := c.Text(t.Context(), ai.TextRequest{Instructions: "Summarise.", Input: secret})

			if got := len(f.recorded()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if !slices.Equal(*slept, tt.wantSlept) {
				t.Errorf("slept %v, want %v", *slept, tt.wantSlept)
			}
			if !tt.wantFailed {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "settlement") {
				t.Errorf("error quotes the input: %v", err)
			}
			fe := fault.As(err)
			if tt.wantKind == "" {
				if fe != nil {
					t.Errorf("err = %v, want an uncoded error", err)
				}
				return
			}
			if fe == nil || fe.Kind != tt.wantKind {
				t.Fatalf("err = %v, want kind %s", err, tt.wantKind)
			}
			if fe.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", fe.RetryAfter, tt.wantRetry)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// The API key message is the one the brief asks for, and says nothing of the user.
func TestRejectedKeyMessage(t *testing.T) {
	f := newFake(t, apiError(401, "invalid_api_key", "invalid_request_error"))
	c, _ := testClient(t, Config{APIKey: "sk-wrong", BaseURL: f.srv.URL + "/v1"})
	_, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x"})
	if fe := fault.As(err); fe == nil || fe.Message != "The AI provider rejected the API key." {
		t.Errorf("err = %v", err)
	}
}

// timeoutOnce fails the first round trip as a network timeout.
type timeoutOnce struct {
	mu   sync.Mutex
	done bool
}

type netTimeout struct{}

func (netTimeout) Error() string   { return "i/o timeout" }
func (netTimeout) Timeout() bool   { return true }
func (netTimeout) Temporary() bool { return true }

func (rt *timeoutOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	first := !rt.done
	rt.done = true
	rt.mu.Unlock()
	if first {
		return nil, netTimeout{}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestNetworkTimeoutIsRetried(t *testing.T) {
	f := newFake(t, ok("fine"))
	c, slept := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1", HTTPClient: &http.Client{Transport: &timeoutOnce{}}})
	got, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x"})
	if err != nil || got != "fine" {
		t.Fatalf("got %q, %v", got, err)
	}
	if len(*slept) != 1 || len(f.recorded()) != 1 {
		t.Errorf("slept %v, %d requests; want one backoff and one request", *slept, len(f.recorded()))
	}
	// The retried body is the full body again.
	if decode(t, f.recorded()[0].body)["store"] != false {
		t.Error("retried body lost store: false")
	}
}

func TestCallTimeout(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1", Timeout: 20 * time.Millisecond})
	_, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x"})
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a 503 for the deadline", err)
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name     string
		answer   http.HandlerFunc
		wantKind fault.Kind
		wantErr  error
		wantText string
	}{
		{name: "refusal", wantKind: fault.Invalid,
			answer: reply(200, completion(map[string]any{"refusal": "I'm sorry, I cannot assist with that request."}, "stop"))},
		{name: "content filter", wantKind: fault.Invalid,
			answer: reply(200, completion(map[string]any{"content": ""}, "content_filter"))},
		{name: "truncated", wantKind: fault.Invalid, wantErr: ai.ErrTruncated, wantText: `{"summary":"The lease`,
			answer: reply(200, completion(map[string]any{"content": `{"summary":"The lease`}, "length"))},
		{name: "no choices", wantKind: fault.Unavailable,
			answer: reply(200, map[string]any{"id": "x", "object": "chat.completion", "choices": []any{}})},
		{name: "not JSON", wantKind: fault.Unavailable,
			answer: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>gateway</html>")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.answer)
			c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1"})

			out, usage, err := c.Structured(t.Context(), ai.StructuredRequest{Input: secret, SchemaName: "s", Schema: summarySchema})
			if fe := fault.As(err); fe == nil || fe.Kind != tt.wantKind {
				t.Fatalf("Structured err = %v, want kind %s", err, tt.wantKind)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Structured err = %v, want %v", err, tt.wantErr)
			}
			if out != nil {
				t.Errorf("Structured returned %s with an error", out)
			}
			if tt.wantKind == fault.Invalid && usage.InputTokens != 1117 {
				t.Errorf("usage = %+v, want the tokens spent", usage)
			}

			text, _, err := c.Text(t.Context(), ai.TextRequest{Input: secret})
			if fe := fault.As(err); fe == nil || fe.Kind != tt.wantKind || text != tt.wantText {
				t.Errorf("Text = %q, %v; want %q, kind %s", text, err, tt.wantText, tt.wantKind)
			}
		})
	}
	t.Run("declined message", func(t *testing.T) {
		f := newFake(t, reply(200, completion(map[string]any{"refusal": "No."}, "stop")))
		c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1"})
		_, _, err := c.Text(t.Context(), ai.TextRequest{Input: "x"})
		if fe := fault.As(err); fe == nil || !strings.Contains(fe.Message, "declined") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("structured answer that is not JSON", func(t *testing.T) {
		f := newFake(t, ok("Here is your summary: ..."))
		c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1"})
		_, _, err := c.Structured(t.Context(), ai.StructuredRequest{Input: "x", SchemaName: "s", Schema: summarySchema})
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable {
			t.Errorf("err = %v, want 503", err)
		}
	})
}

func TestStructuredRequestChecks(t *testing.T) {
	f := newFake(t, ok("{}"))
	c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1"})
	for _, req := range []ai.StructuredRequest{
		{SchemaName: "bad name", Schema: summarySchema},
		{SchemaName: "ok", Schema: json.RawMessage(`{"type":`)},
	} {
		if _, _, err := c.Structured(t.Context(), req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("%d requests sent for invalid calls", n)
	}
}

func TestSpeechWireAndStreaming(t *testing.T) {
	chunk1, chunk2 := bytes.Repeat([]byte{0xFF, 0xFB}, 512), bytes.Repeat([]byte{0x01}, 4096)
	next := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = w.Write(chunk1)
		w.(http.Flusher).Flush()
		select { // the rest only once the client has read the first chunk
		case <-next:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(chunk2)
	})
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1"})

	// Speech must return while the server still holds back the rest; a
	// buffering implementation would wait for it forever.
	type result struct {
		a   io.ReadCloser
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := c.Speech(t.Context(), ai.SpeechRequest{Input: "Your hearing is on Monday."})
		done <- result{a, err}
	}()
	var a io.ReadCloser
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		a = r.a
	case <-time.After(10 * time.Second): // a watchdog, not a wait: the normal path never reaches it
		close(next)
		t.Fatal("Speech did not return before the rest of the audio was sent: it buffers")
	}
	defer a.Close()
	got := make([]byte, len(chunk1))
	if _, err := io.ReadFull(a, got); err != nil || !bytes.Equal(got, chunk1) {
		t.Fatalf("first chunk: %v", err)
	}
	close(next)
	rest, err := io.ReadAll(a)
	if err != nil || !bytes.Equal(rest, chunk2) {
		t.Fatalf("rest: %d bytes, %v", len(rest), err)
	}

	rc := f.recorded()[0]
	if rc.path != "/v1/audio/speech" {
		t.Errorf("path = %s", rc.path)
	}
	checkHeaders(t, rc, "Bearer sk-test")
	want := map[string]any{"model": DefaultTTSModel, "input": "Your hearing is on Monday.", "voice": "alloy", "response_format": "mp3"}
	if body := decode(t, rc.body); !reflect.DeepEqual(body, want) {
		t.Errorf("body = %v, want %v", body, want)
	}
}

func TestSpeechVoice(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ID3")) })
	c, _ := testClient(t, Config{BaseURL: f.srv.URL + "/v1", Voice: "coral", TTSModel: "tts-1"})
	for _, voice := range []string{"", "onyx"} {
		a, err := c.Speech(t.Context(), ai.SpeechRequest{Input: "Hi", Voice: voice})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	calls := f.recorded()
	for i, want := range []string{"coral", "onyx"} {
		body := decode(t, calls[i].body)
		if body["voice"] != want || body["model"] != "tts-1" {
			t.Errorf("call %d: voice %v, model %v", i, body["voice"], body["model"])
		}
	}
}

func TestSpeechInputLimit(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ID3")) })
	c, _ := testClient(t, Config{APIKey: "sk-test", BaseURL: f.srv.URL + "/v1"})

	_, err := c.Speech(t.Context(), ai.SpeechRequest{Input: strings.Repeat("a", ai.MaxSpeechInput+1)})
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid {
		t.Errorf("4097 characters: err = %v, want 422", err)
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("%d requests for a refused input", n)
	}
	// The limit counts characters, not bytes.
	a, err := c.Speech(t.Context(), ai.SpeechRequest{Input: strings.Repeat("é", ai.MaxSpeechInput)})
	if err != nil {
		t.Fatalf("4096 characters: %v", err)
	}
	a.Close()
}

func TestSpeechErrors(t *testing.T) {
	tests := []struct {
		name      string
		steps     []http.HandlerFunc
		cfg       Config
		wantCalls int
		wantKind  fault.Kind
	}{
		{name: "503 until retries run out", steps: []http.HandlerFunc{apiError(503, "", "")}, wantCalls: 4, wantKind: fault.Unavailable},
		{name: "401", steps: []http.HandlerFunc{apiError(401, "invalid_api_key", "")}, wantCalls: 1, wantKind: fault.Unavailable},
		{name: "empty audio", steps: []http.HandlerFunc{func(w http.ResponseWriter, _ *http.Request) {}}, wantCalls: 1, wantKind: fault.Unavailable},
		{name: "no first byte in time", cfg: Config{SpeechFirstByteTimeout: 20 * time.Millisecond}, wantCalls: 1, wantKind: fault.Unavailable,
			steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "audio/mpeg")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.steps...)
			cfg := tt.cfg
			cfg.APIKey, cfg.BaseURL = "sk-test", f.srv.URL+"/v1"
			c, _ := testClient(t, cfg)
			a, err := c.Speech(t.Context(), ai.SpeechRequest{Input: secret})
			if a != nil {
				t.Error("a stream with an error")
			}
			if fe := fault.As(err); fe == nil || fe.Kind != tt.wantKind {
				t.Errorf("err = %v, want kind %s", err, tt.wantKind)
			}
			if err != nil && strings.Contains(err.Error(), "settlement") {
				t.Errorf("error quotes the input: %v", err)
			}
			if n := len(f.recorded()); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestWithStoreFalse(t *testing.T) {
	for in, want := range map[string]string{
		`{"model":"m"}`:    `{"store":false,"model":"m"}`,
		` { "model":"m"} `: `{"store":false,"model":"m"}`,
		`{}`:               `{"store":false}`,
	} {
		got, err := withStoreFalse([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("withStoreFalse(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := withStoreFalse([]byte(`[]`)); err == nil {
		t.Error("an array body was accepted")
	}
}

func TestRetryAfterHeader(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		header []string
		min    time.Duration
		max    time.Duration
	}{
		{[]string{"Retry-After", "3"}, 3 * time.Second, 3 * time.Second},
		{[]string{"Retry-After", "0.5"}, 500 * time.Millisecond, 500 * time.Millisecond},
		{[]string{"Retry-After-Ms", "250", "Retry-After", "1"}, 250 * time.Millisecond, 250 * time.Millisecond},
		{[]string{"Retry-After", date}, 80 * time.Second, 90 * time.Second},
		{[]string{"Retry-After", "Inf"}, retryafter.Max, retryafter.Max},
		{[]string{"Retry-After", "soon"}, 0, 0},
		{nil, 0, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for i := 0; i+1 < len(tt.header); i += 2 {
			h.Set(tt.header[i], tt.header[i+1])
		}
		if got := retryAfter(h); got < tt.min || got > tt.max {
			t.Errorf("retryAfter(%v) = %v, want in [%v, %v]", tt.header, got, tt.min, tt.max)
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	tr := &transport{jitter: func() float64 { return 0.999 }}
	for attempt, base := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if got := tr.backoff(attempt); got > base || got < base*3/4 {
			t.Errorf("backoff(%d) = %v, want in [%v, %v]", attempt, got, base*3/4, base)
		}
	}
}

// BenchmarkSpeechFirstByte is the time from Speech to the first byte of
// audio in the caller's hands, against a local server that streams at once.
func BenchmarkSpeechFirstByte(b *testing.B) {
	chunk := bytes.Repeat([]byte{0xFF}, 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "audio/mpeg")
		for range 8 {
			_, _ = w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	c := newClient(Config{APIKey: "sk-test", BaseURL: srv.URL + "/v1"})
	ctx := context.Background()
	one := make([]byte, 1)
	b.ReportAllocs()
	for b.Loop() {
		a, err := c.Speech(ctx, ai.SpeechRequest{Input: "Your hearing is on Monday at ten."})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Read(one); err != nil {
			b.Fatal(err)
		}
		b.StopTimer() // the rest of the audio is not the first byte
		_, _ = io.Copy(io.Discard, a)
		a.Close()
		b.StartTimer()
	}
}
