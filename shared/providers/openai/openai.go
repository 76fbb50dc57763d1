// Package openai implements ai.Model for OpenAI and OpenAI-compatible servers
// (LM Studio, vLLM, Ollama, llama.cpp, Azure OpenAI) through
// github.com/sashabaranov/go-openai.
//
// Structured and Text use Chat Completions (POST {base}/chat/completions),
// not the Responses API: it is the endpoint every OpenAI-compatible server and
// Azure deployment serves, and response_format json_schema with strict true is
// the structured-output form they share. go-openai's ChatCompletionRequest
// drops "store": false (its Store field is omitempty), so the transport adds
// "store": false to every chat completion body before it is sent: the
// provider is told not to keep the text, as ai requires.
//
// Speech posts to {base}/audio/speech through go-openai's CreateSpeech, whose
// RawResponse is the HTTP response body itself (not buffered): Speech waits
// for the first bytes of audio, so a failure is still an error with a status,
// then hands the caller the live stream.
//
// Every request goes through one retrying transport: 429, 500, 502, 503 and
// 504 and network errors are retried with exponential backoff and jitter,
// honouring retry-after-ms and Retry-After up to Config.MaxRetryWait. Errors
// become *fault.Error values that carry only the status and the provider's
// error code and type, never its message (which may quote the input). The
// package logs nothing.
package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
)

// Defaults for the zero fields of Config.
const (
	// DefaultBaseURL is OpenAI's API.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultModel is a small non-reasoning model with strict structured
	// outputs and a context of about a million tokens, so long documents
	// rarely need splitting; reasoning models would spend the output budget
	// on hidden reasoning and truncate more often.
	DefaultModel = "gpt-4.1-mini"
	// DefaultTTSModel is OpenAI's streaming text-to-speech model.
	DefaultTTSModel = "gpt-4o-mini-tts"
	// DefaultVoice is used when neither the request nor Config names one.
	DefaultVoice = "alloy"
	// DefaultAzureAPIVersion is the Azure OpenAI data-plane version sent as
	// api-version: one that knows json_schema, max_completion_tokens and store.
	DefaultAzureAPIVersion = "2025-04-01-preview"
)

// Config says which provider to call and how patiently.
type Config struct {
	// APIKey is sent as "Authorization: Bearer <key>" (Azure: "api-key").
	// It may be empty when BaseURL names a local server that needs none: then
	// no Authorization header is sent at all.
	APIKey string
	// BaseURL is the API root, e.g. "https://api.openai.com/v1" (the default)
	// or "http://127.0.0.1:1234/v1". A host ending in ".openai.azure.com" is
	// Azure OpenAI: its path is ignored, requests go to
	// /openai/deployments/<model>/... with api-version, and the model names
	// are the deployment names.
	BaseURL string
	// Model is the chat model (DefaultModel).
	Model string
	// TTSModel is the text-to-speech model (DefaultTTSModel).
	TTSModel string
	// Voice is the default voice (DefaultVoice).
	Voice string
	// AzureAPIVersion is Azure's api-version (DefaultAzureAPIVersion).
	AzureAPIVersion string
	// HTTPClient sends the requests; nil is a client without a Timeout.
	// A client Timeout would also cut off long speech streams: the
	// per-call deadlines below bound the calls instead.
	HTTPClient *http.Client
	// MaxRetries is how many times a retryable failure is retried
	// (0: 3; negative: never).
	MaxRetries int
	// MaxRetryWait caps a provider's Retry-After hint (0: 20 s). A longer
	// hint ends the retries at once with a 503 carrying the hint.
	MaxRetryWait time.Duration
	// Timeout bounds a whole Structured or Text call, retries included
	// (0: 60 s).
	Timeout time.Duration
	// SpeechFirstByteTimeout bounds a Speech call until its first byte of
	// audio, retries included; the stream itself has no deadline (0: 30 s).
	SpeechFirstByteTimeout time.Duration
}

// Client calls an OpenAI-compatible API. It is safe for concurrent use.
type Client struct {
	api           *goopenai.Client
	tr            *transport
	model         string
	ttsModel      string
	voice         string
	timeout       time.Duration
	speechTimeout time.Duration
	// completionTokens sends max_completion_tokens (OpenAI and Azure, and
	// required by reasoning models) rather than max_tokens (which every
	// compatible server reads, but OpenAI's reasoning models refuse).
	completionTokens bool
}

var _ ai.Model = (*Client)(nil)

// New returns the model for cfg. With neither APIKey nor BaseURL set, every
// call of the returned model fails with ai.ErrNotConfigured.
func New(cfg Config) ai.Model {
	if cfg.APIKey == "" && cfg.BaseURL == "" {
		return unconfigured{}
	}
	return newClient(cfg)
}

func newClient(cfg Config) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	tr := &transport{
		http:       hc,
		maxRetries: cfg.MaxRetries,
		maxWait:    cfg.MaxRetryWait,
		sleep:      sleepCtx,
		jitter:     randJitter,
	}
	if tr.maxRetries == 0 {
		tr.maxRetries = 3
	} else if tr.maxRetries < 0 {
		tr.maxRetries = 0
	}
	if tr.maxWait <= 0 {
		tr.maxWait = 20 * time.Second
	}

	var oc goopenai.ClientConfig
	official := false
	u, err := url.Parse(base)
	switch {
	case err == nil && strings.HasSuffix(strings.ToLower(u.Hostname()), ".openai.azure.com"):
		oc = goopenai.DefaultAzureConfig(cfg.APIKey, u.Scheme+"://"+u.Host)
		oc.APIVersion = cmp.Or(cfg.AzureAPIVersion, DefaultAzureAPIVersion)
		oc.AzureModelMapperFunc = func(model string) string { return model } // the deployment is named as configured
		official = true
	default:
		oc = goopenai.DefaultConfig(cfg.APIKey) // an empty key sends no Authorization header
		oc.BaseURL = base
		official = err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
	}
	oc.HTTPClient = tr

	return &Client{
		api:              goopenai.NewClientWithConfig(oc),
		tr:               tr,
		model:            cmp.Or(cfg.Model, DefaultModel),
		ttsModel:         cmp.Or(cfg.TTSModel, DefaultTTSModel),
		voice:            cmp.Or(cfg.Voice, DefaultVoice),
		timeout:          cmp.Or(cfg.Timeout, 60*time.Second),
		speechTimeout:    cmp.Or(cfg.SpeechFirstByteTimeout, 30*time.Second),
		completionTokens: official || refusesMaxTokens(cmp.Or(cfg.Model, DefaultModel)),
	}
}

// refusesMaxTokens reports whether go-openai refuses max_tokens for the model
// (reasoning-model names, o1 and gpt-5 for example), whatever the server.
func refusesMaxTokens(model string) bool {
	probe := goopenai.ChatCompletionRequest{Model: model}
	//lint:ignore SA1019 the probe asks go-openai's validator about the deprecated field.
	probe.MaxTokens = 1
	return errors.Is(goopenai.NewReasoningValidator().Validate(probe), goopenai.ErrReasoningModelMaxTokensDeprecated)
}

// Structured asks for JSON conforming to req.Schema with a strict
// json_schema response format and returns the model's JSON text. It checks
// only that the answer is JSON; the caller validates it against the schema.
// Usage is returned with ErrTruncated and refusals too: the tokens were spent.
func (c *Client) Structured(ctx context.Context, req ai.StructuredRequest) (json.RawMessage, ai.Usage, error) {
	if !check.Bytes(req.SchemaName, 1, 64, check.Word) {
		return nil, ai.Usage{}, fmt.Errorf("openai: schema name %q does not match [a-zA-Z0-9_-]{1,64}", req.SchemaName)
	}
	if !json.Valid(req.Schema) {
		return nil, ai.Usage{}, errors.New("openai: the schema is not valid JSON")
	}
	r := c.chatRequest(req.Instructions, req.Input, req.MaxOutputTokens)
	r.ResponseFormat = &goopenai.ChatCompletionResponseFormat{
		Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
			Name:   req.SchemaName,
			Schema: req.Schema,
			Strict: true,
		},
	}
	text, usage, err := c.chat(ctx, r)
	if err != nil {
		return nil, usage, err
	}
	out := bytes.TrimSpace([]byte(text))
	if !json.Valid(out) {
		return nil, usage, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second,
			Message: "The AI provider returned an unreadable answer; try again.",
			Err:     errors.New("openai: structured output is not valid JSON")}
	}
	return json.RawMessage(out), usage, nil
}

// Text returns the model's free-text answer. With ErrTruncated it also
// returns the text the model wrote before its length limit.
func (c *Client) Text(ctx context.Context, req ai.TextRequest) (string, ai.Usage, error) {
	return c.chat(ctx, c.chatRequest(req.Instructions, req.Input, req.MaxOutputTokens))
}

// chatRequest is the body both calls share: the instructions as the system
// message, the input as the user message, and nothing else.
func (c *Client) chatRequest(instructions, input string, maxTokens int) goopenai.ChatCompletionRequest {
	r := goopenai.ChatCompletionRequest{Model: c.model}
	if instructions != "" {
		r.Messages = append(r.Messages, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: instructions})
	}
	r.Messages = append(r.Messages, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: input})
	switch {
	case maxTokens <= 0:
	case c.completionTokens:
		r.MaxCompletionTokens = maxTokens
	default:
		//lint:ignore SA1019 OpenAI-compatible servers (LM Studio, Ollama, llama.cpp) read max_tokens, not its newer name.
		r.MaxTokens = maxTokens
	}
	return r
}

// chat sends r and reads the first choice's text, turning refusals, content
// filters and the length limit into errors.
func (c *Client) chat(ctx context.Context, r goopenai.ChatCompletionRequest) (string, ai.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.api.CreateChatCompletion(ctx, r)
	if err != nil {
		return "", ai.Usage{}, toFault(err)
	}
	usage := ai.Usage{InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens}
	if len(resp.Choices) == 0 {
		return "", usage, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second,
			Message: "The AI provider returned an empty answer; try again.", Err: errors.New("openai: no choices")}
	}
	ch := resp.Choices[0]
	switch {
	case ch.Message.Refusal != "":
		return "", usage, declined(errors.New("openai: refusal"))
	case ch.FinishReason == goopenai.FinishReasonContentFilter:
		return "", usage, declined(errors.New("openai: finish_reason content_filter"))
	case ch.FinishReason == goopenai.FinishReasonLength:
		return ch.Message.Content, usage, ai.ErrTruncated
	}
	return ch.Message.Content, usage, nil
}

// errFirstByte is why a Speech call's context ends when no audio came in time.
var errFirstByte = errors.New("openai: no audio before the first-byte deadline")

// Speech asks for mp3 speech of req.Input and returns the audio as the
// provider streams it. It returns once the first bytes have arrived, so a
// provider failure is still an error (with a status) rather than a broken
// stream; the caller reads and closes the rest.
func (c *Client) Speech(ctx context.Context, req ai.SpeechRequest) (io.ReadCloser, error) {
	if n := utf8.RuneCountInString(req.Input); n > ai.MaxSpeechInput {
		return nil, &fault.Error{Kind: fault.Invalid,
			Message: fmt.Sprintf("The text is too long to read aloud (%d characters; at most %d).", n, ai.MaxSpeechInput),
			Fields:  []fault.FieldError{{Field: "input", Message: fmt.Sprintf("at most %d characters", ai.MaxSpeechInput)}}}
	}
	if strings.TrimSpace(req.Input) == "" {
		return nil, fault.Fields(fault.FieldError{Field: "input", Message: "nothing to read aloud"})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.speechTimeout, func() { cancel(errFirstByte) })
	fail := func(err error) (io.ReadCloser, error) {
		timer.Stop()
		if context.Cause(ctx) == errFirstByte {
			err = &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second,
				Message: "The AI provider did not start the audio in time; try again.", Err: errFirstByte}
		}
		cancel(nil)
		return nil, toFault(err)
	}
	raw, err := c.api.CreateSpeech(ctx, goopenai.CreateSpeechRequest{
		Model:          goopenai.SpeechModel(c.ttsModel),
		Input:          req.Input,
		Voice:          goopenai.SpeechVoice(cmp.Or(req.Voice, c.voice)),
		ResponseFormat: goopenai.SpeechResponseFormatMp3,
	})
	if err != nil {
		return fail(err)
	}
	// One Read returns what has arrived (the first chunk), not the whole
	// body: the rest stays on the wire for the caller.
	first := make([]byte, 16<<10)
	n, err := io.ReadAtLeast(raw, first, 1)
	if err != nil {
		raw.Close()
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second,
				Message: "The AI provider returned no audio; try again.", Err: errors.New("openai: empty speech body")}
		}
		return fail(err)
	}
	if !timer.Stop() && context.Cause(ctx) == errFirstByte {
		raw.Close()
		return fail(ctx.Err())
	}
	return &audio{first: first[:n], body: raw, cancel: cancel}, nil
}

// audio replays the first chunk Speech read, then reads on from the
// provider's response body; Close ends the request.
type audio struct {
	first  []byte
	body   io.ReadCloser
	cancel context.CancelCauseFunc
}

func (a *audio) Read(p []byte) (int, error) {
	if len(a.first) > 0 {
		n := copy(p, a.first)
		a.first = a.first[n:]
		return n, nil
	}
	return a.body.Read(p)
}

func (a *audio) Close() error {
	err := a.body.Close()
	a.cancel(nil)
	return err
}

// declined is the 422 for a refusal or a content filter.
func declined(cause error) *fault.Error {
	return &fault.Error{Kind: fault.Invalid, Message: "The AI model declined to process this text.", Err: cause}
}

// toFault maps a failed call to what the API answers. The causes kept in Err
// name only statuses and provider error codes, never request or response text.
func toFault(err error) error {
	if fe := fault.As(err); fe != nil {
		return fe
	}
	var pe *providerError
	if errors.As(err, &pe) {
		return pe.fault()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second,
			Message: "The AI provider did not answer in time; try again.", Err: context.DeadlineExceeded}
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("openai: %w", context.Canceled)
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		// A 2xx answer that did not decode: the provider's fault (or a
		// connection cut mid-answer), so worth a retry later.
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second,
			Message: "The AI provider returned an unreadable answer; try again.", Err: errors.New("openai: undecodable response")}
	}
	// go-openai's own checks (e.g. a model refused for an endpoint): our bug.
	return fmt.Errorf("openai: %w", err)
}

// unconfigured is the model when no provider is set up.
type unconfigured struct{}

func (unconfigured) Structured(context.Context, ai.StructuredRequest) (json.RawMessage, ai.Usage, error) {
	return nil, ai.Usage{}, ai.ErrNotConfigured
}

func (unconfigured) Text(context.Context, ai.TextRequest) (string, ai.Usage, error) {
	return "", ai.Usage{}, ai.ErrNotConfigured
}

func (unconfigured) Speech(context.Context, ai.SpeechRequest) (io.ReadCloser, error) {
	return nil, ai.ErrNotConfigured
}
