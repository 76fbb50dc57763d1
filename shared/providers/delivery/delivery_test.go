package delivery

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
)

func TestAmbiguous(t *testing.T) {
	dial := &url.Error{Op: "Post", URL: "https://api.twilio.com", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	read := &url.Error{Op: "Post", URL: "https://api.twilio.com", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}
	for _, tt := range []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"success answer unreadable", 201, nil, true},
		{"timeout after sending", 0, context.DeadlineExceeded, true},
		{"reset while reading the answer", 0, read, true},
		{"never connected", 0, dial, false},
		{"refused with 400", 400, nil, false},
		{"server error", 503, nil, false},
	} {
		if got := Ambiguous(tt.status, tt.err); got != tt.want {
			t.Errorf("%s: Ambiguous = %v, want %v", tt.name, got, tt.want)
		}
	}
}
