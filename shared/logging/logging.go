// Package logging builds the JSON slog logger every function uses. Attribute
// names that can carry secrets or private content are redacted, as a second
// line of defence behind "never log bodies, tokens or passwords".
package logging

import (
	"io"
	"log/slog"
)

// redacted lists attribute names (lowercase, substring match) never logged.
var redacted = []string{"password", "token", "authorization", "cookie", "secret", "body", "text", "signature"}

// New returns a JSON logger writing to w at level ("debug", "info", "warn",
// "error"), tagging every line with the function name.
func New(w io.Writer, level, function string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: redact})
	return slog.New(h).With("fn", function)
}

func redact(_ []string, a slog.Attr) slog.Attr {
	for _, r := range redacted {
		if containsFold(a.Key, r) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}

// containsFold reports whether s contains the lowercase ASCII word sub in
// any case, without the copy strings.ToLower makes of every key with a
// capital (requestId, orgId): it runs for every attribute of every line.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
