package password

import (
	"strings"
	"testing"
)

// fast keeps unit tests quick; production code always uses OWASP.
var fast = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not PHC argon2id", h)
	}
	if ok, err := Verify("correct horse battery staple", h); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, _ := Verify("correct horse battery stapl", h); ok {
		t.Error("wrong password verified")
	}
	h2, _ := Hash("correct horse battery staple", fast)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=x$a$b", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if _, err := Verify("x", bad); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
}

func TestOWASPParams(t *testing.T) {
	if OWASP.MemoryKiB < 19*1024 || OWASP.Time < 2 || OWASP.Threads < 1 {
		t.Errorf("OWASP params %+v below m=19MiB t=2 p=1", OWASP)
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", OWASP); err != nil {
			b.Fatal(err)
		}
	}
}
