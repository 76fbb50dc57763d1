// Package giphytest is a stand-in for the Giphy API, for tests and the dev
// server: it answers GET /v1/gifs/search and GET /v1/gifs/{id} in Giphy's
// wire format, refuses a wrong api_key (401) and logs every request. Like
// Giphy, GET /v1/gifs/random answers some GIF (whose id is not "random"),
// and a GIF carries a content rating ("g" unless SetRating says otherwise).
package giphytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Fake is the stand-in. Down makes it answer 503.
type Fake struct {
	Key  string
	mu   sync.Mutex
	log  []url.URL
	down bool
	hold map[string]held
	rate map[string]string
}

type held struct {
	arrived chan struct{}
	release chan struct{}
}

// New returns a stand-in that accepts key.
func New(key string) *Fake { return &Fake{Key: key} }

// SetDown makes every answer a 503 (true) or normal again.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// SetRating gives GIF id the content rating Giphy reports for it ("g",
// "pg", "pg-13", "r").
func (f *Fake) SetRating(id, rating string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate == nil {
		f.rate = map[string]string{}
	}
	f.rate[id] = rating
}

func (f *Fake) rating(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.rate[id]; ok {
		return r
	}
	return "g"
}

// Hold makes the next lookup of GIF id wait: arrived is closed when it
// comes, and it answers once release is called. A test uses it to change
// the world while a request is in flight.
func (f *Fake) Hold(id string) (arrived <-chan struct{}, release func()) {
	h := held{arrived: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	if f.hold == nil {
		f.hold = map[string]held{}
	}
	f.hold[id] = h
	f.mu.Unlock()
	var once sync.Once
	return h.arrived, func() { once.Do(func() { close(h.release) }) }
}

// Requests returns the requests served so far.
func (f *Fake) Requests() []url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.URL(nil), f.log...)
}

// GIFJSON is the Giphy object of the stand-in's GIF id, rated g.
func GIFJSON(id string) map[string]any { return gifJSON(id, "g") }

func gifJSON(id, rating string) map[string]any {
	img := func(w, h int, kind string) map[string]any {
		return map[string]any{"url": "https://media.giphy.example/media/" + id + "/" + kind + ".gif", "width": strconv.Itoa(w), "height": strconv.Itoa(h)}
	}
	return map[string]any{"type": "gif", "id": id, "title": "GIF " + id, "rating": rating,
		"images": map[string]any{"original": img(480, 270, "giphy"), "fixed_width": img(200, 113, "200w"), "fixed_width_small": img(100, 56, "100w")}}
}

// Known reports whether the stand-in knows a GIF id: ids starting "gif".
func Known(id string) bool { return strings.HasPrefix(id, "gif") }

// SearchID is the id of a search's i-th GIF: "gif", the query's letters
// and digits, i, padded to 8 and cut at 40 characters, the shape of a
// Giphy id.
func SearchID(q string, i int) string {
	var b strings.Builder
	b.WriteString("gif")
	for _, r := range q {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	id := b.String()[:min(b.Len(), 39)] + strconv.Itoa(i)
	for len(id) < 8 {
		id += "0"
	}
	return id
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, *r.URL)
	down := f.down
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case down:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case r.Method != http.MethodGet:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	case r.URL.Query().Get("api_key") != f.Key:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"meta":{"status":401,"msg":"Unauthorized"}}`))
		return
	}
	q := r.URL.Query()
	if r.URL.Path == "/v1/gifs/search" {
		n, _ := strconv.Atoi(q.Get("limit"))
		if n <= 0 || q.Get("rating") != "pg-13" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		data := []any{}
		for i := range min(n, 3) {
			id := SearchID(q.Get("q"), i)
			data = append(data, gifJSON(id, f.rating(id)))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]any{"status": 200}})
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/v1/gifs/")
	f.mu.Lock()
	h, isHeld := f.hold[id]
	delete(f.hold, id)
	f.mu.Unlock()
	if isHeld {
		close(h.arrived)
		<-h.release
	}
	if id == "random" { // Giphy's random GIF, not a GIF named "random"
		_ = json.NewEncoder(w).Encode(map[string]any{"data": gifJSON("gifrandom0", f.rating("gifrandom0")), "meta": map[string]any{"status": 200}})
		return
	}
	if !ok || !Known(id) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"data":[],"meta":{"status":404,"msg":"Not Found"}}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"data": gifJSON(id, f.rating(id)), "meta": map[string]any{"status": 200}})
}
