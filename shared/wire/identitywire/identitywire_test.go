package identitywire

import (
	"testing"

	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/platform"
)

// TestIdentityPasswordCost: every function hashes passwords at OWASP's
// argon2id cost unless the end-to-end suite asked for its cheap one.
func TestIdentityPasswordCost(t *testing.T) {
	if got := Identity(&platform.Deps{}).Password; got != password.OWASP {
		t.Errorf("default cost = %+v, want OWASP %+v", got, password.OWASP)
	}
	cheap := password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := Identity(&platform.Deps{PasswordParams: &cheap}).Password; got != cheap {
		t.Errorf("cost = %+v, want the suite's %+v", got, cheap)
	}
}
