package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
)

type fakeGIFs struct {
	searches int
	err      error
}

func (f *fakeGIFs) Search(_ context.Context, q string, limit int) ([]GIF, error) {
	f.searches++
	return []GIF{{ID: "g1", Title: q}}, f.err
}

func (f *fakeGIFs) GIF(_ context.Context, id string) (GIF, error) {
	if id != "g1" {
		return GIF{}, ErrNoGIF
	}
	return GIF{ID: "g1"}, f.err
}

func TestSearchGIFs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := caller.Caller{OrgID: "o", UserID: "u"}
	ctx := context.Background()

	unset := NewService(nil, nil, nil, nil, nil, clock)
	if _, err := unset.SearchGIFs(ctx, a, "cat", ""); !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "GIPHY_API_KEY") {
		t.Errorf("no key: %v, want 503 naming GIPHY_API_KEY", err)
	}
	if _, err := unset.resolveGIF(ctx, "g1"); !fault.Is(err, fault.Unavailable) {
		t.Errorf("no key, gif message: %v", err)
	}

	f := &fakeGIFs{}
	s := NewService(nil, nil, f, nil, nil, clock)
	for _, tc := range []struct {
		q, limit string
		ok       bool
	}{
		{"cat", "", true}, {"Cat", "", true}, {"cat", "5", true},
		{"", "", false}, {"   ", "", false}, {strings.Repeat("x", 51), "", false}, {"cat", "0", false}, {"cat", "51", false}, {"cat", "x", false},
	} {
		_, err := s.SearchGIFs(ctx, a, tc.q, tc.limit)
		if (err == nil) != tc.ok || (err != nil && !fault.Is(err, fault.Invalid)) {
			t.Errorf("search %q limit %q: %v", tc.q, tc.limit, err)
		}
	}
	if f.searches != 2 { // "cat" and "Cat" are one search; limit 5 another
		t.Errorf("%d searches reached the provider, want 2", f.searches)
	}
	now = now.Add(61 * time.Second)
	_, _ = s.SearchGIFs(ctx, a, "cat", "")
	if f.searches != 3 {
		t.Errorf("a search a minute later was not sent again (%d)", f.searches)
	}
	if _, err := s.resolveGIF(ctx, "nope"); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown gif: %v, want 422", err)
	}
	f.err = errors.New("boom")
	_, err := s.SearchGIFs(ctx, a, "dog", "")
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable || fe.RetryAfter == 0 {
		t.Errorf("provider down: %v, want 503 with Retry-After", err)
	}
}
