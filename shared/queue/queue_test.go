package queue

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 257)
	tests := []struct {
		name  string
		body  string
		attrs map[string]string
		ok    bool
	}{
		{name: "plain", body: "hello", ok: true},
		{name: "unicode and whitespace", body: "Zoë\t✓\r\n😀", ok: true},
		{name: "attributes", body: "x", attrs: map[string]string{"org-id": "1", "trace.id": "2", "a_b": "3"}, ok: true},
		{name: "exactly the limit", body: strings.Repeat("x", MaxMessageBytes), ok: true},
		{name: "empty body", body: ""},
		{name: "control character", body: "a\x01b"},
		{name: "invalid UTF-8", body: "a\xffb"},
		{name: "over the limit with attributes", body: strings.Repeat("x", MaxMessageBytes-5), attrs: map[string]string{"k": "v"}},
		{name: "eleven attributes", body: "x", attrs: map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1", "g": "1", "h": "1", "i": "1", "j": "1", "k": "1"}},
		{name: "name with space", body: "x", attrs: map[string]string{"a b": "1"}},
		{name: "name too long", body: "x", attrs: map[string]string{long: "1"}},
		{name: "name at the limit", body: "x", attrs: map[string]string{long[1:]: "1"}, ok: true},
		{name: "empty name", body: "x", attrs: map[string]string{"": "1"}},
		{name: "name with a slash", body: "x", attrs: map[string]string{"a/b": "1"}},
		{name: "name starts with a period", body: "x", attrs: map[string]string{".a": "1"}},
		{name: "name with two periods", body: "x", attrs: map[string]string{"a..b": "1"}},
		{name: "amazon prefix", body: "x", attrs: map[string]string{"amazon.x": "1"}},
		{name: "empty value", body: "x", attrs: map[string]string{"a": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.body, tt.attrs); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
