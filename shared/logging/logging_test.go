package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedaction(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "debug", "auth")
	log.Info("x", "password", "hunter2hunter2", "accessToken", "eyJabc", "refresh_token", "rt", "body", `{"secret":1}`,
		"Authorization", "Bearer abc", "SessionCOOKIE", "sid=c00kie", "orgId", "org-1")
	out := buf.String()
	for _, leak := range []string{"hunter2hunter2", "eyJabc", `"rt"`, `{\"secret\":1}`, "Bearer abc", "c00kie"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %q: %s", leak, out)
		}
	}
	for _, keep := range []string{`"orgId":"org-1"`, `"fn":"auth"`} {
		if !strings.Contains(out, keep) {
			t.Errorf("log line lacks %s: %s", keep, out)
		}
	}
}
