package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
)

func TestIssueVerify(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Admin}
	tok, exp, err := NewIssuer(priv, "matterly", "app", clock).Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Sub(now) != TTL {
		t.Errorf("expiry in %v, want %v", exp.Sub(now), TTL)
	}
	v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", clock)
	got, err := v.Verify(tok)
	if err != nil || got != p {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, p)
	}

	// A setup token keeps its scope through the round trip.
	setup := p
	setup.Scope = caller.ScopeMFASetup
	stok, _, _ := NewIssuer(priv, "matterly", "app", clock).Issue(setup)
	if got, err := v.Verify(stok); err != nil || got != setup {
		t.Fatalf("Verify(setup token) = %+v, %v; want %+v", got, err, setup)
	}
	unknownScope := p
	unknownScope.Scope = "admin"
	utok, _, _ := NewIssuer(priv, "matterly", "app", clock).Issue(unknownScope)

	otherTok, _, _ := NewIssuer(otherPriv, "matterly", "app", clock).Issue(p)
	wrongIss, _, _ := NewIssuer(priv, "evil", "app", clock).Issue(p)
	wrongAud, _, _ := NewIssuer(priv, "matterly", "other", clock).Issue(p)
	parts := strings.Split(tok, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "org": "o1", "role": "owner",
		"iss": "matterly", "aud": "app", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}).
		SignedString([]byte(priv.Public().(ed25519.PublicKey)))
	tests := map[string]struct {
		tok string
		at  time.Time
	}{
		"expired":         {tok, now.Add(TTL + time.Minute)},
		"other key":       {otherTok, now},
		"wrong issuer":    {wrongIss, now},
		"wrong audience":  {wrongAud, now},
		"alg none":        {noneHeader + "." + parts[1] + ".", now},
		"hs256 confusion": {hs, now},
		"edited claims":   {parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u2","org":"o1","role":"owner"}`)) + "." + parts[2], now},
		"garbage":         {"not.a.jwt", now},
		"unknown scope":   {utok, now},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			at := tt.at
			v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", func() time.Time { return at })
			if _, err := v.Verify(tt.tok); err == nil {
				t.Error("verified, want rejection")
			}
		})
	}
}

// TestSessionIDRoundTrip: a token issued to a login session names it (the
// session list marks the caller's own); one without names none.
func TestSessionIDRoundTrip(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", nil)
	for _, sid := range []string{"01JSESSION", ""} {
		p := caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Staff, SessionID: sid}
		tok, _, err := NewIssuer(priv, "matterly", "app", nil).Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := v.Verify(tok); err != nil || got != p {
			t.Errorf("Verify = %+v, %v; want %+v", got, err, p)
		}
		if payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1]); (sid == "") == strings.Contains(string(payload), `"sid"`) {
			t.Errorf("payload %s with session %q", payload, sid)
		}
	}
}

// TestVerifyCache checks the verified-token cache: a token verified once is
// answered again without a new entry, never past its exp (even inside the
// parser's leeway), a token that fails is never cached, a tampered copy of
// a cached token is not a hit, and the cache stays bounded, evicting the
// least recently used token first.
func TestVerifyCache(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pub := priv.Public().(ed25519.PublicKey)
	iss := NewIssuer(priv, "matterly", "app", clock)
	p := caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Staff}
	tok, exp, err := iss.Issue(p)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("hit, then expiry", func(t *testing.T) {
		at := now
		v := NewVerifier(pub, "matterly", "app", func() time.Time { return at })
		for range 3 {
			if got, err := v.Verify(tok); err != nil || got != p {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
		}
		if n := v.cache.len(); n != 1 {
			t.Fatalf("cache holds %d tokens, want 1", n)
		}
		at = exp.Add(-time.Second)
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("a second before exp: %v", err)
		}
		// Past exp the entry is gone; the parser's 5 s leeway still
		// applies as it always did, and past it the token is refused.
		at = exp.Add(time.Minute)
		if _, err := v.Verify(tok); err == nil {
			t.Fatal("verified a minute past exp")
		}
		if n := v.cache.len(); n != 0 {
			t.Errorf("cache holds %d tokens after expiry, want 0", n)
		}
	})

	t.Run("failures are not cached", func(t *testing.T) {
		v := NewVerifier(pub, "matterly", "app", clock)
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		sig := []byte(parts[2])
		sig[3] ^= 1
		for _, bad := range []string{parts[0] + "." + parts[1] + "." + string(sig), tok + "x", "not.a.jwt"} {
			if _, err := v.Verify(bad); err == nil {
				t.Errorf("verified tampered token %q", bad)
			}
		}
		noRole, _, _ := iss.Issue(caller.Caller{UserID: "u1", OrgID: "o1"})
		for range 2 {
			if _, err := v.Verify(noRole); err == nil {
				t.Error("verified a token without a role")
			}
		}
		if n := v.cache.len(); n != 1 {
			t.Errorf("cache holds %d tokens, want only the good one", n)
		}
	})

	t.Run("bounded, least recently used evicted", func(t *testing.T) {
		v := NewVerifier(pub, "matterly", "app", clock)
		v.cache = newVerifiedCache(2)
		toks := make([]string, 3)
		for i := range toks {
			toks[i], _, _ = iss.Issue(caller.Caller{UserID: fmt.Sprintf("u%d", i), OrgID: "o1", Role: access.Staff})
		}
		mustVerify := func(tok string) {
			t.Helper()
			if _, err := v.Verify(tok); err != nil {
				t.Fatal(err)
			}
		}
		mustVerify(toks[0])
		mustVerify(toks[1])
		mustVerify(toks[0]) // toks[1] is now the least recently used
		mustVerify(toks[2])
		if n := v.cache.len(); n != 2 {
			t.Fatalf("cache holds %d tokens, want 2", n)
		}
		if _, ok := v.cache.get(sha256.Sum256([]byte(toks[1])), now); ok {
			t.Error("least recently used token still cached")
		}
		for _, tok := range []string{toks[0], toks[2]} {
			if _, ok := v.cache.get(sha256.Sum256([]byte(tok)), now); !ok {
				t.Error("recently used token evicted")
			}
		}
	})
}

// TestVerifyCacheConcurrent verifies tokens from many goroutines at once
// (run with -race).
func TestVerifyCacheConcurrent(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	iss := NewIssuer(priv, "matterly", "app", nil)
	v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", nil)
	v.cache = newVerifiedCache(4)
	toks := make([]string, 8)
	for i := range toks {
		toks[i], _, _ = iss.Issue(caller.Caller{UserID: fmt.Sprintf("u%d", i), OrgID: "o1", Role: access.Staff})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tok := toks[(g+i)%len(toks)]
				p, err := v.Verify(tok)
				if err != nil || p.UserID != fmt.Sprintf("u%d", (g+i)%len(toks)) {
					t.Errorf("Verify = %+v, %v", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkVerify: a token verified before (the cache) and, alternating
// two tokens through a cache of one, a token checked from scratch.
func BenchmarkVerify(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	iss := NewIssuer(priv, "matterly", "app", nil)
	tok, _, _ := iss.Issue(caller.Caller{UserID: "u1", OrgID: "o1", Role: access.Staff})
	other, _, _ := iss.Issue(caller.Caller{UserID: "u2", OrgID: "o1", Role: access.Staff})
	b.Run("cached", func(b *testing.B) {
		v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		v := NewVerifier(priv.Public().(ed25519.PublicKey), "matterly", "app", nil)
		v.cache = newVerifiedCache(1)
		toks := [2]string{tok, other}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := v.Verify(toks[i%2]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
