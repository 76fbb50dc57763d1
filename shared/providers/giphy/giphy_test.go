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
			_, _ = w.Write([]byte(`{"data":[{"type":"gif","id":"abc123","title":"Cat","images":{"original":{"url":"https://media.giphy.com/a.gif","width":"480","height":"270"},"fixed_width_small":{"url":"https://media.giphy.com/s.gif","width":"100","height":"56"}}},
				{"id":"bad","images":{"original":{"url":"javascript:alert(1)"}}}],"meta":{"status":200}}`))
		case "/v1/gifs/abc123":
			_, _ = w.Write([]byte(`{"data":{"id":"abc123","title":"Cat","images":{"original":{"url":"https://media.giphy.com/a.gif","width":"480","height":"270"},"fixed_width":{"url":"https://media.giphy.com/f.gif"}}},"meta":{"status":200}}`))
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
	want := chat.GIF{ID: "abc123", Title: "Cat", URL: "https://media.giphy.com/a.gif", Width: 480, Height: 270, PreviewURL: "https://media.giphy.com/s.gif"}
	if len(items) != 1 || items[0] != want {
		t.Errorf("search = %+v, want only %+v (a non-https GIF is dropped)", items, want)
	}
	q := got[0].URL.Query()
	if got[0].Method != "GET" || got[0].URL.Path != "/v1/gifs/search" || q.Get("api_key") != "key-1" || q.Get("q") != "happy cat" ||
		q.Get("limit") != "7" || q.Get("rating") != "pg-13" || len(q) != 4 {
		t.Errorf("search request = %s %s", got[0].Method, got[0].URL)
	}
	g, err := c.GIF(context.Background(), "abc123")
	if err != nil || g.ID != "abc123" || g.PreviewURL != "https://media.giphy.com/f.gif" {
		t.Errorf("gif = %+v, %v", g, err)
	}
	if got[1].URL.Path != "/v1/gifs/abc123" || got[1].URL.Query().Get("api_key") != "key-1" {
		t.Errorf("gif request = %s", got[1].URL)
	}
	if _, err := c.GIF(context.Background(), "nope"); !errors.Is(err, chat.ErrNoGIF) {
		t.Errorf("unknown gif: %v, want ErrNoGIF", err)
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
