package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"testing"
)

// Twilio's own test vector, from twilio-go v1.31.0
// client/request_validator_test.go (testURL, params, the "12345" token and
// the signatures it expects).
const (
	vectorToken    = "12345"
	vectorURL      = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorSig      = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	vectorHTTPSig  = "n2xBNyzSW7rfYStDtOFiFMv7qNo=" // the same URL over http
	vectorWrongSig = "95+Bu0JVPi0r/SsESZCVf0dWAjw=" // ReasonConferenceEnded sorted before Reason
)

var vectorParams = url.Values{
	"Digits":                {"1234"},
	"CallSid":               {"CA1234567890ABCDE"},
	"To":                    {"+18005551212"},
	"Caller":                {"+14158675309"},
	"From":                  {"+14158675309"},
	"ReasonConferenceEnded": {"test"},
	"Reason":                {"Participant"},
}

func TestTwilioVector(t *testing.T) {
	tests := []struct {
		name string
		url  string
		sig  string
		want bool
	}{
		{"as signed", vectorURL, vectorSig, true},
		{"with the default port", "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorSig, true},
		{"http", "http://mycompany.com/myapp.php?foo=1&bar=2", vectorHTTPSig, true},
		{"params sorted as strings, not by key", vectorURL, vectorWrongSig, false},
		{"wrong signature", vectorURL, "WRONG SIGNATURE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidRequest(vectorToken, tt.url, vectorParams, tt.sig); got != tt.want {
				t.Errorf("ValidRequest = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("Sign reproduces it", func(t *testing.T) {
		if got := Sign(vectorToken, vectorURL, vectorParams); got != vectorSig {
			t.Errorf("Sign = %s, want %s", got, vectorSig)
		}
		if got := Sign(vectorToken, "http://mycompany.com/myapp.php?foo=1&bar=2", vectorParams); got != vectorHTTPSig {
			t.Errorf("Sign over http = %s, want %s", got, vectorHTTPSig)
		}
	})
}

// testSID is an account SID in Twilio's format.
const testSID = "AC0123456789abcdef0123456789abcdef"

func TestSignAndValidate(t *testing.T) {
	const (
		token   = "f00dfeedf00dfeedf00dfeedf00dfeed"
		hookURL = "https://api.matterly.example/webhooks/twilio/status?org=01J0000000000000000000000"
	)
	form := url.Values{
		"MessageSid":    {"SM1f0e8ae6ade43cb3c0ce4525424e404f"},
		"MessageStatus": {"undelivered"},
		"ErrorCode":     {"30006"},
		"To":            {"+15558675310"},
		"AccountSid":    {testSID},
	}
	// The algorithm by hand: the URL, then each name and value in name order.
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(hookURL + "AccountSid" + testSID + "ErrorCode30006" + "MessageSidSM1f0e8ae6ade43cb3c0ce4525424e404f" +
		"MessageStatusundelivered" + "To+15558675310"))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sig := Sign(token, hookURL, form)
	if sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}

	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vs := range form {
			f[kk] = append([]string(nil), vs...)
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name   string
		token  string
		url    string
		params url.Values
		sig    string
		want   bool
	}{
		{"valid", token, hookURL, form, sig, true},
		{"tampered value", token, hookURL, with("MessageStatus", "delivered"), sig, false},
		{"added param", token, hookURL, with("Body", "hi"), sig, false},
		{"removed param", token, hookURL, with("ErrorCode", ""), sig, false},
		{"other path", token, "https://api.matterly.example/webhooks/twilio/inbound?org=01J0000000000000000000000", form, sig, false},
		{"other query", token, "https://api.matterly.example/webhooks/twilio/status?org=01J0000000000000000000001", form, sig, false},
		{"internal URL instead of the public one", token, "http://127.0.0.1:8080/webhooks/twilio/status?org=01J0000000000000000000000", form, sig, false},
		{"other token", "another-token", hookURL, form, sig, false},
		{"no token", "", hookURL, form, Sign("", hookURL, form), false},
		{"no signature", token, hookURL, form, "", false},
		{"repeated key", token, hookURL, url.Values{"To": {"+1", "+2"}}, Sign(token, hookURL, url.Values{"To": {"+1", "+2"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidRequest(tt.token, tt.url, tt.params, tt.sig); got != tt.want {
				t.Errorf("ValidRequest = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSignRepeatedKey(t *testing.T) {
	// Twilio's helper libraries (twilio-python's RequestValidator) sign a
	// repeated name's distinct values in sorted order.
	const token, u = "tok", "https://example.com/hook"
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(u + "A1" + "MediaUrlx" + "MediaUrly"))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := Sign(token, u, url.Values{"MediaUrl": {"y", "x", "y"}, "A": {"1"}}); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
