package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
)

// GIFProvider is Giphy (shared/providers/giphy): search, and one GIF by
// id. The API key stays on the server; a message's GIF is what the
// provider says the id is, so a client cannot make a message show an
// arbitrary URL.
type GIFProvider interface {
	Search(ctx context.Context, q string, limit int) ([]GIF, error)
	GIF(ctx context.Context, id string) (GIF, error)
}

// ErrNoGIF is a GIF id the provider does not know.
var ErrNoGIF = errors.New("chat: no such gif")

// gifIDShape reports whether id has the shape of a Giphy GIF id: letters
// and digits (Giphy's ids are 13 to 20 of them; 8 to 40 leaves room on
// both sides). A loop, not a regular expression compiled at every cold
// start of the functions linking chat.
func gifIDShape(id string) bool { return check.Bytes(id, 8, 40, check.Alnum) }

// giphyRoutes are the names Giphy serves under /v1/gifs/ that are not GIF
// ids: GET /v1/gifs/random answers some GIF, so as an id "random" would
// let a client post a GIF nobody chose (and nobody rated).
var giphyRoutes = []string{"search", "trending", "random", "translate", "categories"}

// ValidGIFID reports whether id has the shape of a Giphy GIF id and is not
// one of Giphy's other /v1/gifs/ routes. Only such an id is ever sent to
// Giphy.
func ValidGIFID(id string) bool {
	if !gifIDShape(id) {
		return false
	}
	for _, r := range giphyRoutes {
		if strings.EqualFold(id, r) {
			return false
		}
	}
	return true
}

// GIFRatings are the content ratings chat shows: Giphy's pg-13 and below,
// the rating every search asks for.
var GIFRatings = []string{"g", "pg", "pg-13"}

// ratedForChat reports whether a GIF's rating is one chat shows; a GIF
// without a rating is not.
func ratedForChat(g GIF) bool { return slices.Contains(GIFRatings, g.Rating) }

// errGIFRating refuses a GIF Giphy rates above pg-13.
func errGIFRating(g GIF) error {
	r := g.Rating
	if r == "" {
		r = "unrated"
	}
	return &fault.Error{Kind: fault.Invalid,
		Message: fmt.Sprintf("This GIF is rated %q on Giphy; chat shows only GIFs rated g, pg or pg-13.", r),
		Fields:  []fault.FieldError{{Field: "gif.id", Message: "is rated " + r + " on Giphy: above pg-13"}}}
}

// ErrGIFsNotConfigured answers GIF searches and GIF messages until the key is set.
var ErrGIFsNotConfigured = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "GIFs are not configured: set GIPHY_API_KEY (and GIPHY_API_BASE_URL for a local stand-in) for make dev, or the Giphy secret in AWS."}

func gifsDown(err error) error {
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: 30 * time.Second, Message: "Giphy is not answering; try again shortly.", Err: err}
}

// GIF search limits.
const (
	maxGIFQuery     = 50
	defaultGIFLimit = 25
	maxGIFLimit     = 50
	gifCacheTTL     = 60 * time.Second
	gifCacheEntries = 1000
)

// GIFPage is GET /v1/chat/gifs's answer.
type GIFPage struct {
	Items []GIF `json:"items"`
}

// SearchGIFs proxies a member's search to Giphy; the same search within a
// minute is answered from this function instance's cache.
func (s *Service) SearchGIFs(ctx context.Context, a caller.Caller, q, limitParam string) (GIFPage, error) {
	var ck fault.Checker
	q = strings.TrimSpace(q)
	n := utf8.RuneCountInString(q)
	ck.Check(n >= 1 && n <= maxGIFQuery && utf8.ValidString(q), "q", "must be 1 to 50 characters")
	limit := defaultGIFLimit
	if limitParam != "" {
		v, err := strconv.Atoi(limitParam)
		ck.Check(err == nil && v >= 1 && v <= maxGIFLimit, "limit", "must be an integer from 1 to 50")
		limit = v
	}
	if err := ck.Err(); err != nil {
		return GIFPage{}, err
	}
	if s.GIFs == nil {
		return GIFPage{}, ErrGIFsNotConfigured
	}
	key := strings.ToLower(q) + "\x00" + strconv.Itoa(limit)
	if items, ok := s.gifs.get(key, s.Now()); ok {
		return GIFPage{Items: items}, nil
	}
	items, err := s.GIFs.Search(ctx, q, limit)
	if err != nil {
		return GIFPage{}, gifsDown(err)
	}
	items = slices.DeleteFunc(items, func(g GIF) bool { return !ratedForChat(g) })
	if items == nil {
		items = []GIF{}
	}
	s.gifs.put(key, items, s.Now())
	return GIFPage{Items: items}, nil
}

// resolveGIF is the GIF a message's id names, as Giphy has it: only a
// Giphy id is looked up (GET /v1/gifs/{id}), the answer must be that id,
// and a GIF rated above pg-13 is refused as a search would have left it out.
func (s *Service) resolveGIF(ctx context.Context, id string) (GIF, error) {
	if !ValidGIFID(id) {
		return GIF{}, fault.Fields(fault.FieldError{Field: "gif.id", Message: "must be a Giphy GIF id"})
	}
	if s.GIFs == nil {
		return GIF{}, ErrGIFsNotConfigured
	}
	g, err := s.GIFs.GIF(ctx, id)
	switch {
	case errors.Is(err, ErrNoGIF) || (err == nil && g.ID != id):
		return GIF{}, fault.Fields(fault.FieldError{Field: "gif.id", Message: "is not a Giphy GIF"})
	case err != nil:
		return GIF{}, gifsDown(err)
	case !ratedForChat(g):
		return GIF{}, errGIFRating(g)
	}
	return g, nil
}

// gifCache keeps search answers for a minute.
type gifCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]gifEntry
}

type gifEntry struct {
	items []GIF
	at    time.Time
}

func newGIFCache(ttl time.Duration) *gifCache { return &gifCache{ttl: ttl, m: map[string]gifEntry{}} }

func (c *gifCache) get(key string, now time.Time) ([]GIF, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return nil, false
	}
	return e.items, true
}

func (c *gifCache) put(key string, items []GIF, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= gifCacheEntries {
		for k, e := range c.m {
			if now.Sub(e.at) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= gifCacheEntries {
			c.m = map[string]gifEntry{}
		}
	}
	c.m[key] = gifEntry{items: items, at: now}
}
