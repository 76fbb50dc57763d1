package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
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
