package giphy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/chat"
	"github.com/matterly/matterly/shared/providers/giphy/giphytest"
)

func TestGiphyWireFormat(t *testing.T) {
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/gifs/search":
			_, _ = w.Write([]byte(`{"data":[{"type":"gif","id":"abc123xyz","title":"Cat","rating":"pg","images":{"original":{"url":"https://media.giphy.com/a.gif","width":"480","height":"270"},"fixed_width_small":{"url":"https://media.giphy.com/s.gif","width":"100","height":"56"}}},
				{"id":"bad","images":{"original":{"url":"javascript:alert(1)"}}}],"meta":{"status":200}}`))
		case "/v1/gifs/random", "/v1/gifs/other1234":
			_, _ = w.Write([]byte(`{"data":{"id":"randomPick1","title":"Any","rating":"r","images":{"original":{"url":"https://media.giphy.com/r.gif"}}},"meta":{"status":200}}`))
		case "/v1/gifs/abc123xyz":
			_, _ = w.Write([]byte(`{"data":{"id":"abc123xyz","title":"Cat","rating":"pg-13","images":{"original":{"url":"https://media.giphy.com/a.gif","width":"480","height":"270"},"fixed_width":{"url":"https://media.giphy.com/f.gif"}}},"meta":{"status":200}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := New(Config{APIKey: "key-1", BaseURL: srv.URL})
	items, err := c.Search(context.Background(), "happy cat", 7)
	if err != nil {
		t.Fatal(err)
	}
	want := chat.GIF{ID: "abc123xyz", Title: "Cat", URL: "https://media.giphy.com/a.gif", Width: 480, Height: 270, PreviewURL: "https://media.giphy.com/s.gif", Rating: "pg"}
	if len(items) != 1 || items[0] != want {
		t.Errorf("search = %+v, want only %+v (a non-https GIF is dropped)", items, want)
	}
	q := got[0].URL.Query()
	if got[0].Method != "GET" || got[0].URL.Path != "/v1/gifs/search" || q.Get("api_key") != "key-1" || q.Get("q") != "happy cat" ||
		q.Get("limit") != "7" || q.Get("rating") != "pg-13" || len(q) != 4 {
		t.Errorf("search request = %s %s", got[0].Method, got[0].URL)
	}
	g, err := c.GIF(context.Background(), "abc123xyz")
	if err != nil || g.ID != "abc123xyz" || g.PreviewURL != "https://media.giphy.com/f.gif" || g.Rating != "pg-13" {
		t.Errorf("gif = %+v, %v", g, err)
	}
	// Exactly GET /v1/gifs/{id}?api_key=…: no other parameter, no body.
	if r := got[1]; r.Method != "GET" || r.URL.Path != "/v1/gifs/abc123xyz" || r.URL.RawQuery != "api_key=key-1" || r.ContentLength > 0 {
		t.Errorf("gif request = %s %s", r.Method, r.URL)
	}
	if _, err := c.GIF(context.Background(), "nopenope1"); !errors.Is(err, chat.ErrNoGIF) {
		t.Errorf("unknown gif: %v, want ErrNoGIF", err)
	}
	// An answer for another GIF than the id asked for is no GIF.
	if g, err := c.GIF(context.Background(), "other1234"); !errors.Is(err, chat.ErrNoGIF) {
		t.Errorf("answer for another id: %+v, %v, want ErrNoGIF", g, err)
	}
	// Not ids: never sent (Giphy's /v1/gifs/random answers some GIF).
	n := len(got)
	for _, id := range []string{"random", "trending", "search", "abc", "a/b/../c1234", "abc123xyz?rating=r"} {
		if g, err := c.GIF(context.Background(), id); !errors.Is(err, chat.ErrNoGIF) {
			t.Errorf("%q: %+v, %v, want ErrNoGIF", id, g, err)
		}
	}
	if len(got) != n {
		t.Errorf("non-ids reached Giphy: %s", got[n].URL)
	}
}

func TestGiphyErrors(t *testing.T) {
	fake := giphytest.New("right")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if New(Config{APIKey: ""}) != nil || New(Config{APIKey: "unset"}) != nil {
		t.Error("a client without a key must be nil")
	}
	for _, tc := range []struct {
		name string
		key  string
		down bool
	}{{"wrong key", "wrong", false}, {"down", "right", true}} {
		t.Run(tc.name, func(t *testing.T) {
			fake.SetDown(tc.down)
			defer fake.SetDown(false)
			_, err := New(Config{APIKey: tc.key, BaseURL: srv.URL}).Search(context.Background(), "x", 1)
			if err == nil || errors.Is(err, chat.ErrNoGIF) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error reveals the key: %v", err)
			}
		})
	}
	// A transport error quotes the URL: the key must not be in it.
	_, err := New(Config{APIKey: "secret-key", BaseURL: "http://127.0.0.1:1"}).Search(context.Background(), "x", 1)
	if err == nil || strings.Contains(err.Error(), "secret-key") {
		t.Errorf("transport error = %v", err)
	}
}
