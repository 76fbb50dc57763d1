package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ContextCorsOrigins is the context key holding the browser origins allowed
// by the HTTP API's CORS preflight (a JSON array in cdk.json, or a
// comma-separated string given with `cdk synth -c corsOrigins=...`).
const ContextCorsOrigins = "corsOrigins"

// ContextTokenKeyVersion names the context value to bump after rotating the
// token secret (cdk deploy -c tokenKeyVersion=2), so the deploy republishes
// the access-token public key.
const ContextTokenKeyVersion = "tokenKeyVersion"

// ContextEmailFrom names the context value of the SES-verified address
// email goes from when an org sets none (cdk deploy -c emailFrom=...).
const ContextEmailFrom = "emailFrom"

// ContextOpenAIBaseURL and ContextOpenAIModel point the AI features at Azure
// OpenAI or another OpenAI-compatible server (-c openaiBaseUrl=... -c openaiModel=...).
const (
	ContextOpenAIBaseURL = "openaiBaseUrl"
	ContextOpenAIModel   = "openaiModel"
)

// loadCDKContext reads the "context" object of a cdk.json file. The CDK CLI
// hands cdk.json context to the app itself, but `go run ./infra` and the
// tests do not go through the CLI; loading the file here keeps their
// templates identical to what `cdk synth` produces (same feature flags, same
// origins). A missing file yields an empty context.
func loadCDKContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Context == nil {
		f.Context = map[string]any{}
	}
	return f.Context, nil
}

// stringList turns a context value into a list of non-empty strings. It
// accepts a JSON array of strings (cdk.json) or a string, which may itself
// be a JSON array or a comma-separated list (the CLI's -c flag).
func stringList(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []string:
		raw = x
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", e)
			}
			raw = append(raw, s)
		}
	case string:
		if strings.HasPrefix(strings.TrimSpace(x), "[") {
			if err := json.Unmarshal([]byte(x), &raw); err != nil {
				return nil, err
			}
		} else {
			raw = strings.Split(x, ",")
		}
	default:
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
