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
	ratings  map[string]string // id → rating; absent is g
	asked    []string
}

func (f *fakeGIFs) rated(id string) GIF {
	r, ok := f.ratings[id]
	if !ok {
		r = "g"
	}
	return GIF{ID: id, Rating: r}
}

func (f *fakeGIFs) Search(_ context.Context, q string, limit int) ([]GIF, error) {
	f.searches++
	return []GIF{{ID: "g1", Title: q, Rating: "g"}}, f.err
}

func (f *fakeGIFs) GIF(_ context.Context, id string) (GIF, error) {
	f.asked = append(f.asked, id)
	switch {
	case id == "random":
		return f.rated("someOtherGif1"), f.err // what Giphy's /v1/gifs/random answers
	case id == "elsewhere1":
		return f.rated("notTheSame22"), f.err
	case !strings.HasPrefix(id, "gif"):
		return GIF{}, ErrNoGIF
	}
	return f.rated(id), f.err
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
	if _, err := unset.resolveGIF(ctx, "gifparty1"); !fault.Is(err, fault.Unavailable) {
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
	if _, err := s.resolveGIF(ctx, "nopenope1"); !fault.Is(err, fault.Invalid) {
		t.Errorf("unknown gif: %v, want 422", err)
	}
	f.err = errors.New("boom")
	_, err := s.SearchGIFs(ctx, a, "dog", "")
	if fe := fault.As(err); fe == nil || fe.Kind != fault.Unavailable || fe.RetryAfter == 0 {
		t.Errorf("provider down: %v, want 503 with Retry-After", err)
	}
}

// TestGIFIDs: only the shape of a Giphy id is an id; Giphy's other routes
// under /v1/gifs/ ("random" answers some GIF) are not, whatever their case.
func TestGIFIDs(t *testing.T) {
	for _, id := range []string{"xT9IgG50Fb7Mi0prBC", "ICOgUNjpvO0PC", "3o7aD2saalBwwftBIY", "gifparty", strings.Repeat("a1", 20)} {
		if !ValidGIFID(id) {
			t.Errorf("%q refused", id)
		}
		if err := (SendInput{GIF: &GIFRef{ID: id}}).check(); err != nil {
			t.Errorf("send gif %q: %v", id, err)
		}
	}
	for _, id := range []string{"", "random", "Random", "RANDOM", "trending", "Trending", "search", "translate", "categories",
		"abc1234", strings.Repeat("a", 41), "gif-party1", "gif_party1", "gifparty/1", "gifparty?x=1", "../../v2/x", "gifpärty1", "gifparty 1"} {
		if ValidGIFID(id) {
			t.Errorf("%q accepted as a Giphy id", id)
		}
		err := (SendInput{GIF: &GIFRef{ID: id}}).check()
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || len(fe.Fields) != 1 || fe.Fields[0].Field != "gif.id" {
			t.Errorf("send gif %q: %v, want 422 on gif.id", id, err)
		}
	}
}

// TestResolveGIF: a non-id never reaches the provider; an answer for
// another GIF is refused; a GIF rated above pg-13 (or unrated) is a 422
// that names its rating; g, pg and pg-13 pass.
func TestResolveGIF(t *testing.T) {
	ctx := context.Background()
	f := &fakeGIFs{ratings: map[string]string{"gifratedr": "r", "gifpg13aa": "pg-13", "gifpgaaaa": "pg", "gifunrated": ""}}
	s := NewService(nil, nil, f, nil, nil, time.Now)
	for _, id := range []string{"random", "trending", "abc"} {
		if _, err := s.resolveGIF(ctx, id); !fault.Is(err, fault.Invalid) {
			t.Errorf("%q: %v, want 422", id, err)
		}
	}
	if len(f.asked) != 0 {
		t.Errorf("the provider was asked for %q", f.asked)
	}
	if _, err := s.resolveGIF(ctx, "elsewhere1"); !fault.Is(err, fault.Invalid) {
		t.Errorf("an answer for another GIF: %v, want 422", err)
	}
	for id, ok := range map[string]bool{"gifgggggg": true, "gifpgaaaa": true, "gifpg13aa": true, "gifratedr": false, "gifunrated": false} {
		g, err := s.resolveGIF(ctx, id)
		if ok {
			if err != nil || g.ID != id {
				t.Errorf("%s (%s): %+v, %v", id, f.rated(id).Rating, g, err)
			}
			continue
		}
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.Invalid || !strings.Contains(fe.Message, "rated") || len(fe.Fields) != 1 || fe.Fields[0].Field != "gif.id" {
			t.Errorf("%s rated %q: %v, want 422 naming the rating", id, f.rated(id).Rating, err)
		}
	}
}
