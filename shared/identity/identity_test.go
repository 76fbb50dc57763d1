package identity

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/password"
)

// TestDummyHashMatchesCost: unknown logins verify against dummyHash, so it
// must cost what a real hash costs, or timing tells accounts apart.
func TestDummyHashMatchesCost(t *testing.T) {
	p := password.OWASP
	want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.MemoryKiB, p.Time, p.Threads)
	if !strings.HasPrefix(dummyHash, want) {
		t.Errorf("dummyHash %q does not use the production parameters %q", dummyHash, want)
	}
	if ok, err := password.Verify("anything", dummyHash); ok || err != nil {
		t.Errorf("dummyHash verify = %v, %v", ok, err)
	}
}

func TestParseRefresh(t *testing.T) {
	good := "01M847EQQ3EDK62QDNW09KYJ9X.01M847EQQ3EDK62QDNW6MZXM6T.DolqNKoYihNmKy7wCJSB7VibhTplzion2U7t177JZYs"
	if _, _, _, ok := parseRefresh(good); !ok {
		t.Fatal("a well-formed token was refused")
	}
	for _, bad := range []string{"", "a.b.c", strings.Repeat("0", 2100) + ".01M847EQQ3EDK62QDNW6MZXM6T.DolqNKoYihNmKy7wCJSB7VibhTplzion2U7t177JZYs",
		"01M847EQQ3EDK62QDNW09KYJ9X.01M847EQQ3EDK62QDNW6MZXM6T.short", good + ".extra"} {
		if _, _, _, ok := parseRefresh(bad); ok {
			t.Errorf("parseRefresh(%.40q) accepted", bad)
		}
	}
}
