// Package ai is what Matterly needs of a language model provider
// (shared/providers/openai), kept to the three calls the product makes:
// structured output for summaries, free text for drafts, and speech.
//
// Privacy rules every implementation keeps: requests carry only the text
// given here (never file names or client data the caller did not put in
// Input), ask the provider not to store them ("store": false), and no
// request or response text is ever logged.
package ai

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/matterly/matterly/shared/fault"
)

// Model is a language model provider.
//
// Errors: ErrNotConfigured when no provider is set up; ErrTooLong when the
// input does not fit the model's context and ErrTruncated when the answer hit
// its length limit (both 422: retry with smaller parts); otherwise a
// *fault.Error the HTTP layer can answer with (503 with a retry hint when the
// provider stays rate limited or down after retries, 422 when it refuses the
// input).
type Model interface {
	// Structured returns JSON that conforms to req.Schema.
	Structured(ctx context.Context, req StructuredRequest) (json.RawMessage, Usage, error)
	// Text returns free text.
	Text(ctx context.Context, req TextRequest) (string, Usage, error)
	// Speech returns the audio (audio/mpeg) as the provider streams it; the
	// caller copies it to the client and closes it.
	Speech(ctx context.Context, req SpeechRequest) (io.ReadCloser, error)
}

// StructuredRequest asks for JSON matching a JSON Schema (strict).
type StructuredRequest struct {
	Instructions    string          // the system/developer prompt
	Input           string          // the user content, e.g. document text
	SchemaName      string          // [a-zA-Z0-9_-]{1,64}
	Schema          json.RawMessage // a JSON Schema object
	MaxOutputTokens int             // 0: provider default
}

// TextRequest asks for free text.
type TextRequest struct {
	Instructions    string
	Input           string
	MaxOutputTokens int
}

// MaxSpeechInput is the most characters one SpeechRequest may carry.
const MaxSpeechInput = 4096

// SpeechRequest asks for speech of Input (at most MaxSpeechInput characters).
type SpeechRequest struct {
	Input string
	Voice string // "" means the provider's default voice ("alloy")
}

// Usage is what a call consumed, as the provider reports it.
type Usage struct {
	InputTokens, OutputTokens int
}

// ErrNotConfigured is returned by every call when no provider is set up:
// a 503 that says what to set.
var ErrNotConfigured = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Hour,
	Message: "AI is not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)."}

// ErrTooLong is returned when the input does not fit the model's context
// window: a 422 the caller can answer by sending the text in smaller parts.
var ErrTooLong = &fault.Error{Kind: fault.Invalid,
	Message: "The text is too long for the AI model; try a shorter part."}

// ErrTruncated is returned when the model stopped at its output length limit
// before finishing (finish_reason "length"): a 422 the caller can answer by
// sending smaller parts or allowing more output tokens.
var ErrTruncated = &fault.Error{Kind: fault.Invalid,
	Message: "The AI answer was cut off at its length limit; try a shorter part."}
