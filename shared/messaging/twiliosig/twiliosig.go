// Package twiliosig checks and makes Twilio webhook signatures
// (X-Twilio-Signature): the webhooks check them, the tests make them.
package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"slices"

	"github.com/twilio/twilio-go/client"
)

// ValidRequest reports whether signature (the X-Twilio-Signature header)
// is Twilio's for a webhook POST to rawURL with the form params, signed
// with the account's auth token. rawURL must be the public URL Twilio
// called (PUBLIC_BASE_URL plus path and query), not the one the function
// sees behind API Gateway; twilio-go's validator accepts it with or without
// the default port, as Twilio's own signing is inconsistent about that.
//
// An empty token or signature never validates. Nor does a form that repeats
// a key: twilio-go's validator takes one value per key, and Twilio's
// messaging webhooks send none twice (media come as MediaUrl0, MediaUrl1).
func ValidRequest(authToken, rawURL string, params url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	flat := make(map[string]string, len(params))
	for k, vs := range params {
		switch len(vs) {
		case 0:
			// A key with no value was not on the wire.
		case 1:
			flat[k] = vs[0]
		default:
			return false
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(rawURL, flat, signature)
}

// Sign computes the X-Twilio-Signature Twilio sends with a webhook POST to
// rawURL carrying params: base64 of the HMAC-SHA1, keyed with the auth
// token, of the URL followed by each parameter's name and value, sorted by
// name, with no separators
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security); a
// repeated name's distinct values go in sorted order, as Twilio's helper
// libraries do. Tests use it to build signed webhooks.
func Sign(authToken, rawURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	for _, k := range keys {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			mac.Write([]byte(k + v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
