package strength

import (
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	tests := []struct {
		pw     string
		inputs []string
		ok     bool
	}{
		{"correct horse battery staple", nil, true},
		{"Tr0ub4dor&3xyzzyplugh", nil, true},
		{"short", nil, false},
		{strings.Repeat("a", 129), nil, false},
		{"password1234", nil, false},
		{"123456789012", nil, false},
		{"qwertyuiopasdf", nil, false},
		{"adalovelace1815", []string{"Ada Lovelace", "ada@example.com"}, false},
		{"acmelawacmelaw", []string{"Acme Law"}, false},
		{"abababababab", nil, false},
		{"éééééééééééé", nil, false},
		{strings.Repeat("ab", 20), nil, false},
		{strings.Repeat("horse staple ", 4), nil, false},
		{"zq8!Lm#2vR&9", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			got := Problem(tt.pw, tt.inputs...)
			if (got == "") != tt.ok {
				t.Errorf("Problem(%q) = %q, want ok=%v", tt.pw, got, tt.ok)
			}
		})
	}
}
