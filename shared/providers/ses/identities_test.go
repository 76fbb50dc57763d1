package ses

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/matterly/matterly/shared/messaging"
)

// identityCall is one request the fake SES received.
type identityCall struct {
	method, path string
	body         map[string]any
}

// fakeIdentities answers SES v2's identity calls by method and path.
func fakeIdentities(t *testing.T, answers map[string]struct {
	status int
	body   string
}) (*httptest.Server, *[]identityCall) {
	t.Helper()
	var got []identityCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		c := identityCall{method: r.Method, path: r.URL.Path}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c.body); err != nil {
				t.Errorf("body %q: %v", raw, err)
			}
		}
		got = append(got, c)
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			a.status = 500
		}
		w.Header().Set("Content-Type", "application/json")
		if a.status >= 400 {
			w.Header().Set("X-Amzn-Errortype", a.body)
			w.WriteHeader(a.status)
			io.WriteString(w, `{"message":"`+a.body+`"}`)
			return
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestDomainIdentities(t *testing.T) {
	type answer = struct {
		status int
		body   string
	}
	const path = "/v2/email/identities"
	created := answer{200, `{"IdentityType":"DOMAIN","VerifiedForSendingStatus":false,"DkimAttributes":{"SigningEnabled":true,"Status":"PENDING","Tokens":["tok1","tok2","tok3"],"SigningAttributesOrigin":"AWS_SES"}}`}
	verified := answer{200, `{"IdentityType":"DOMAIN","VerifiedForSendingStatus":true,"VerificationStatus":"SUCCESS","DkimAttributes":{"SigningEnabled":true,"Status":"SUCCESS","Tokens":["tok1","tok2","tok3"]}}`}
	pending := messaging.DomainState{Exists: true, DKIMTokens: []string{"tok1", "tok2", "tok3"}, DKIMStatus: "PENDING"}
	done := messaging.DomainState{Exists: true, DKIMTokens: []string{"tok1", "tok2", "tok3"}, DKIMStatus: "SUCCESS", VerifiedForSending: true}
	for _, tc := range []struct {
		name    string
		answers map[string]answer
		call    func(*Client) (messaging.DomainState, error)
		want    messaging.DomainState
		calls   []identityCall
	}{
		{name: "create", answers: map[string]answer{"POST " + path: created},
			call: func(c *Client) (messaging.DomainState, error) {
				return c.CreateDomain(context.Background(), "smith.example")
			},
			want: pending, calls: []identityCall{{"POST", path, map[string]any{"EmailIdentity": "smith.example"}}}},
		{name: "create when another org did", answers: map[string]answer{"POST " + path: {400, "AlreadyExistsException"}, "GET " + path + "/smith.example": verified},
			call: func(c *Client) (messaging.DomainState, error) {
				return c.CreateDomain(context.Background(), "smith.example")
			},
			want: done, calls: []identityCall{{"POST", path, map[string]any{"EmailIdentity": "smith.example"}}, {"GET", path + "/smith.example", nil}}},
		{name: "get", answers: map[string]answer{"GET " + path + "/smith.example": verified},
			call: func(c *Client) (messaging.DomainState, error) {
				return c.DomainState(context.Background(), "smith.example")
			},
			want: done, calls: []identityCall{{"GET", path + "/smith.example", nil}}},
		{name: "get missing", answers: map[string]answer{"GET " + path + "/smith.example": {404, "NotFoundException"}},
			call: func(c *Client) (messaging.DomainState, error) {
				return c.DomainState(context.Background(), "smith.example")
			},
			calls: []identityCall{{"GET", path + "/smith.example", nil}}},
		{name: "delete missing", answers: map[string]answer{"DELETE " + path + "/smith.example": {404, "NotFoundException"}},
			call: func(c *Client) (messaging.DomainState, error) {
				return messaging.DomainState{}, c.DeleteDomain(context.Background(), "smith.example")
			},
			calls: []identityCall{{"DELETE", path + "/smith.example", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := fakeIdentities(t, tc.answers)
			st, err := tc.call(NewFromConfig(testConfig(), srv.URL, ""))
			if err != nil || !reflect.DeepEqual(st, tc.want) {
				t.Errorf("= %+v, %v; want %+v", st, err, tc.want)
			}
			if !reflect.DeepEqual(*got, tc.calls) {
				t.Errorf("requests:\n got %v\nwant %v", *got, tc.calls)
			}
		})
	}
	// SES refusing is an error naming the call, never a state.
	srv, _ := fakeIdentities(t, map[string]answer{"GET " + path + "/smith.example": {403, "AccessDeniedException"}})
	if _, err := NewFromConfig(testConfig(), srv.URL, "").DomainState(context.Background(), "smith.example"); err == nil || err.Error()[:17] != "ses: get identity" {
		t.Errorf("access denied: err = %v", err)
	}
}
