// Package summarieswire builds the summaries service, and the ai, speech
// and aiworker functions on it.
package summarieswire

import (
	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/providers/openai"
	"github.com/matterly/matterly/shared/summaries"
	"github.com/matterly/matterly/shared/wire/documentswire"
)

// Model is the language model the configuration names (OPENAI_API_KEY or
// the OpenAI secret, OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_TTS_MODEL); with
// neither key nor base URL every call answers 503 saying what to set.
func Model(d *platform.Deps) ai.Model {
	return openai.New(openai.Config{APIKey: d.OpenAIKey, BaseURL: d.Config.OpenAIBaseURL, Model: d.Config.OpenAIModel, TTSModel: d.Config.OpenAITTSModel})
}

// Summaries is the summaries service over the configured model (nil-safe:
// the AI routes then answer 503 saying what to set).
func Summaries(d *platform.Deps) *summaries.Service {
	return summaries.New(d.DB, d.Log, d.Now, Model(d), documentswire.Documents(d), awssqs.Sender(d))
}

// AIRouter builds the ai function: summaries and drafts.
func AIRouter(d *platform.Deps) (*httpapi.Router, error) {
	return summaries.NewRouter(Summaries(d), d.RouterConfig())
}

// SpeechHandler builds the speech function's streaming handler.
func SpeechHandler(d *platform.Deps) summaries.SpeechHandler {
	return summaries.NewSpeechHandler(Summaries(d), d.RouterOptions())
}
