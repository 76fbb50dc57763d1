package wsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/chat"
	"github.com/matterly/matterly/shared/config"
)

// TestPostToConnectionWire: a frame is POST {stage}/@connections/{id} with
// the frame as the body, signed for execute-api; 410 GoneException is
// chat.ErrGone, anything else an error of its own.
func TestPostToConnectionWire(t *testing.T) {
	var got []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, bodies = append(got, r), append(bodies, string(b))
		switch {
		case strings.HasSuffix(r.URL.Path, "/gone"):
			w.Header().Set("X-Amzn-Errortype", "GoneException")
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte(`{"message":null}`))
		case strings.HasSuffix(r.URL.Path, "/limit"):
			w.Header().Set("X-Amzn-Errortype", "ForbiddenException")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"Forbidden"}`))
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	if New(config.LocalAWS(""), "") != nil {
		t.Error("a client without an endpoint must be nil")
	}
	c := New(config.LocalAWS(""), srv.URL+"/v1")
	for _, tc := range []struct {
		conn string
		want error
		ok   bool
	}{
		{"abc=", nil, true},
		{"gone", chat.ErrGone, false},
		{"limit", nil, false},
	} {
		err := c.Post(context.Background(), tc.conn, []byte(`{"type":"typing"}`))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.conn, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.conn, err, tc.want)
		case !tc.ok && tc.want == nil && (err == nil || errors.Is(err, chat.ErrGone)):
			t.Errorf("%s: %v, want another error", tc.conn, err)
		}
	}
	r := got[0]
	if r.Method != "POST" || r.URL.EscapedPath() != "/v1/%40connections/abc%3D" && r.URL.Path != "/v1/@connections/abc=" {
		t.Errorf("request %s %s", r.Method, r.URL.EscapedPath())
	}
	if bodies[0] != `{"type":"typing"}` || !strings.Contains(r.Header.Get("Authorization"), "/execute-api/aws4_request") {
		t.Errorf("body %q, authorization %q", bodies[0], r.Header.Get("Authorization"))
	}
}
