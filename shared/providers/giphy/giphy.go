// Package giphy is the Giphy API over net/http: GIF search and one GIF by
// id, for team chat (chat.GIFProvider). The API key is sent only from the
// server; Giphy's answers are reduced to the fields chat shows.
package giphy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/chat"
)

// DefaultBaseURL is Giphy's API.
const DefaultBaseURL = "https://api.giphy.com"

// Rating is the content rating every search asks for.
const Rating = "pg-13"

// Config configures a client.
type Config struct {
	APIKey  string
	BaseURL string // "" for Giphy; a stand-in's address otherwise
	HTTP    *http.Client
}

// Client calls Giphy.
type Client struct {
	key, base string
	http      *http.Client
}

// New returns a client, or nil without an API key (chat then answers 503
// saying what to set).
func New(c Config) *Client {
	if c.APIKey == "" || c.APIKey == "unset" {
		return nil
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{key: c.APIKey, base: strings.TrimRight(c.BaseURL, "/"), http: c.HTTP}
}

// image is one rendition; Giphy sends sizes as strings.
type image struct {
	URL    string `json:"url"`
	Width  string `json:"width"`
	Height string `json:"height"`
}

type gif struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Rating string `json:"rating"`
	Images struct {
		Original     image `json:"original"`
		FixedWidth   image `json:"fixed_width"`
		PreviewSmall image `json:"fixed_width_small"`
	} `json:"images"`
}

func (g gif) chat() chat.GIF {
	w, _ := strconv.Atoi(g.Images.Original.Width)
	h, _ := strconv.Atoi(g.Images.Original.Height)
	preview := g.Images.PreviewSmall.URL
	if preview == "" {
		preview = g.Images.FixedWidth.URL
	}
	return chat.GIF{ID: g.ID, Title: g.Title, URL: g.Images.Original.URL, Width: w, Height: h, PreviewURL: preview, Rating: g.Rating}
}

// Search is GET /v1/gifs/search with api_key, q, limit and rating=pg-13.
func (c *Client) Search(ctx context.Context, q string, limit int) ([]chat.GIF, error) {
	v := url.Values{"api_key": {c.key}, "q": {q}, "limit": {strconv.Itoa(limit)}, "rating": {Rating}}
	var out struct {
		Data []gif `json:"data"`
	}
	if err := c.get(ctx, "/v1/gifs/search", v, &out); err != nil {
		return nil, err
	}
	items := make([]chat.GIF, 0, len(out.Data))
	for _, g := range out.Data {
		if g.ID != "" && strings.HasPrefix(g.Images.Original.URL, "https://") {
			items = append(items, g.chat())
		}
	}
	return items, nil
}

// GIF is GET /v1/gifs/{id} with only api_key; an id Giphy does not know
// is chat.ErrNoGIF, and so is anything not shaped like a Giphy id (never
// sent: "random" is another route of Giphy's) and an answer that is
// another GIF than the one asked for. The rating is the caller's to check.
func (c *Client) GIF(ctx context.Context, id string) (chat.GIF, error) {
	if !chat.ValidGIFID(id) {
		return chat.GIF{}, chat.ErrNoGIF
	}
	var out struct {
		Data gif `json:"data"`
	}
	if err := c.get(ctx, "/v1/gifs/"+url.PathEscape(id), url.Values{"api_key": {c.key}}, &out); err != nil {
		return chat.GIF{}, err
	}
	if out.Data.ID != id || !strings.HasPrefix(out.Data.Images.Original.URL, "https://") {
		return chat.GIF{}, chat.ErrNoGIF
	}
	return out.Data.chat(), nil
}

func (c *Client) get(ctx context.Context, path string, v url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("giphy %s: %w", path, redact(err, c.key))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("giphy %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || (resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(path, "/v1/gifs/") && path != "/v1/gifs/search"):
		return chat.ErrNoGIF
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("giphy %s: status %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("giphy %s: %w", path, err)
	}
	return nil
}

// redact keeps the API key out of an error (a *url.Error quotes the URL).
func redact(err error, key string) error {
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), key, "REDACTED"))
}
