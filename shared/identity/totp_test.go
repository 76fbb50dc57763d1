package identity

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTOTPVectors checks the SHA-1 test vectors of RFC 6238 appendix B
// (8-digit codes, its seed "12345678901234567890") and their 6-digit
// truncation, which is what the app uses.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	tests := []struct {
		unix  int64
		eight string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tt := range tests {
		step := totpStep(time.Unix(tt.unix, 0))
		if got := hotp(key, step, 8); got != tt.eight {
			t.Errorf("T=%d: 8-digit code %s, want %s", tt.unix, got, tt.eight)
		}
		if got := hotp(key, step, 6); got != tt.eight[2:] {
			t.Errorf("T=%d: 6-digit code %s, want %s", tt.unix, got, tt.eight[2:])
		}
	}
}

// TestTOTPMatch: the current step and one either side match (and say which
// step matched); two steps off, a wrong code or a wrong length do not.
func TestTOTPMatch(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := totpStep(now)
	tests := []struct {
		name string
		code string
		step int64
		ok   bool
	}{
		{"current", hotp(key, cur, 6), cur, true},
		{"previous", hotp(key, cur-1, 6), cur - 1, true},
		{"next", hotp(key, cur+1, 6), cur + 1, true},
		{"two back", hotp(key, cur-2, 6), 0, false},
		{"two ahead", hotp(key, cur+2, 6), 0, false},
		{"eight digits", hotp(key, cur, 8), 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := totpMatch(key, tt.code, now)
			if ok != tt.ok || (ok && step != tt.step) {
				t.Errorf("totpMatch = %d, %v; want %d, %v", step, ok, tt.step, tt.ok)
			}
		})
	}
}

func TestOtpauthURL(t *testing.T) {
	u, err := url.Parse(otpauthURL("JBSWY3DPEHPK3PXP", "ana+x@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Matterly:ana+x@example.com" ||
		q.Get("secret") != "JBSWY3DPEHPK3PXP" || q.Get("issuer") != "Matterly" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("otpauth URL = %s", u)
	}
}

// TestRecoveryCodes: ten distinct codes of the documented shape whose
// hashes match what a member types (any case, spaces or dashes), and only
// for that member.
func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := newRecoveryCodes("u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodes || len(hashes) != RecoveryCodes {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || strings.ToLower(c) != c || seen[c] {
			t.Errorf("code %q malformed or repeated", c)
		}
		seen[c] = true
		typed := map[string]string{"as shown": c, "upper case": strings.ToUpper(c), "spaces": strings.ReplaceAll(c, "-", " "),
			"run together": strings.ReplaceAll(c, "-", "")}
		for name, in := range typed {
			if recoveryHash("u1", in) != hashes[i] {
				t.Errorf("%s: %q does not match its hash", name, in)
			}
		}
		if recoveryHash("u2", c) == hashes[i] {
			t.Error("another member's hash of the same code matches")
		}
	}
}
