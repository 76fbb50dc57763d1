package msgraph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/calendar"
)

// wire records each request as Microsoft received it and answers from a
// table keyed by method and path.
type wire struct {
	mu       sync.Mutex
	requests []recorded
	answer   func(r *http.Request, body string) (int, http.Header, string)
}

type recorded struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.requests = append(w.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
	w.mu.Unlock()
	status, h, body := w.answer(r, string(b))
	for k, v := range h {
		rw.Header()[k] = v
	}
	rw.WriteHeader(status)
	_, _ = io.WriteString(rw, body)
}

func newClient(t *testing.T, answer func(r *http.Request, body string) (int, http.Header, string)) (*Client, *wire, *[]time.Duration) {
	t.Helper()
	w := &wire{answer: answer}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	c := New(Config{LoginBaseURL: srv.URL, GraphBaseURL: srv.URL, TenantID: "tenant-1", ClientID: "app-1", ClientSecret: "secret-1",
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	return c, w, &waits
}

func TestNewUnconfigured(t *testing.T) {
	for _, cfg := range []Config{{}, {ClientID: "a"}, {ClientID: "a", ClientSecret: calendar.UnsetSecret}} {
		if New(cfg) != nil {
			t.Errorf("New(%v) is configured", cfg)
		}
	}
}

// TestAuthorizeAndExchange: the authorize URL carries the PKCE challenge,
// and the code exchange posts the exact form the token endpoint expects.
func TestAuthorizeAndExchange(t *testing.T) {
	c, w, _ := newClient(t, func(r *http.Request, body string) (int, http.Header, string) {
		return 200, nil, `{"token_type":"Bearer","access_token":"at1","refresh_token":"rt1","expires_in":3599}`
	})
	verifier := "verifier-verifier-verifier-verifier-verifier-1"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	u, _ := url.Parse(c.AuthorizeURL("st", challenge, "https://api.example/v1/calendar/microsoft/callback"))
	q := u.Query()
	if u.Path != "/tenant-1/oauth2/v2.0/authorize" || q.Get("client_id") != "app-1" || q.Get("response_type") != "code" || q.Get("state") != "st" ||
		q.Get("code_challenge") != challenge || q.Get("code_challenge_method") != "S256" || q.Get("scope") != Scopes ||
		q.Get("redirect_uri") != "https://api.example/v1/calendar/microsoft/callback" || q.Has("client_secret") {
		t.Errorf("authorize URL = %s", u)
	}
	tok, err := c.Exchange(context.Background(), "code1", verifier, "https://api.example/v1/calendar/microsoft/callback")
	if err != nil || tok.Access != "at1" || tok.Refresh != "rt1" || tok.ExpiresIn != 3599*time.Second {
		t.Fatalf("exchange = %+v, %v", tok, err)
	}
	r := w.requests[0]
	form, _ := url.ParseQuery(r.Body)
	want := url.Values{"grant_type": {"authorization_code"}, "code": {"code1"}, "redirect_uri": {"https://api.example/v1/calendar/microsoft/callback"},
		"code_verifier": {verifier}, "scope": {Scopes}, "client_id": {"app-1"}, "client_secret": {"secret-1"}}
	if r.Method != "POST" || r.Path != "/tenant-1/oauth2/v2.0/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || form.Encode() != want.Encode() {
		t.Errorf("token request %s %s %q", r.Method, r.Path, r.Body)
	}
}

// TestRefresh: the rotated token comes back; invalid_grant is ErrInvalidGrant.
func TestRefresh(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"rotated", 200, `{"access_token":"at2","refresh_token":"rt2","expires_in":3600}`, nil},
		{"invalid_grant", 400, `{"error":"invalid_grant","error_description":"AADSTS700082: expired"}`, calendar.ErrInvalidGrant},
		{"server error", 503, `{"error":"temporarily_unavailable"}`, &calendar.GraphError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w, _ := newClient(t, func(*http.Request, string) (int, http.Header, string) { return tt.status, nil, tt.body })
			tok, err := c.Refresh(context.Background(), "rt1")
			form, _ := url.ParseQuery(w.requests[0].Body)
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt1" || form.Get("client_secret") != "secret-1" {
				t.Errorf("refresh form %q", w.requests[0].Body)
			}
			var ge *calendar.GraphError
			switch {
			case tt.want == nil && (err != nil || tok.Refresh != "rt2" || tok.Access != "at2"):
				t.Errorf("refresh = %+v, %v", tok, err)
			case errors.Is(tt.want, calendar.ErrInvalidGrant) && !errors.Is(err, calendar.ErrInvalidGrant):
				t.Errorf("err = %v, want invalid_grant", err)
			case tt.status == 503 && (!errors.As(err, &ge) || !ge.Retryable):
				t.Errorf("err = %v, want a retryable GraphError", err)
			}
		})
	}
}

// TestDelta: the first request carries the window and both Prefer headers;
// pages follow nextLink to deltaLink; @removed, a series occurrence and
// times in UTC are read; 410 is ErrSyncReset; 429 waits Retry-After.
func TestDelta(t *testing.T) {
	var base string
	calls := 0
	c, w, waits := newClient(t, func(r *http.Request, _ string) (int, http.Header, string) {
		calls++
		switch {
		case calls == 1:
			return 429, http.Header{"Retry-After": {"7"}}, `{"error":{"code":"TooManyRequests"}}`
		case r.URL.Query().Get("$skiptoken") == "":
			return 200, nil, `{"value":[{"id":"o1","subject":"Weekly","type":"occurrence","seriesMasterId":"m1","showAs":"busy","sensitivity":"normal",
				"start":{"dateTime":"2026-12-08T09:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-12-08T10:00:00.0000000","timeZone":"UTC"},
				"originalStartTimeZone":"Eastern Standard Time","location":{"displayName":"Room 1"},"onlineMeeting":{"joinUrl":"https://teams.example/j/1"},
				"attendees":[{"emailAddress":{"name":"Ann","address":"Ann@Example.com"},"status":{"response":"accepted"}}],
				"organizer":{"emailAddress":{"name":"Olive","address":"olive@example.com"}},"lastModifiedDateTime":"2026-12-01T10:00:00.1234567Z"}],
				"@odata.nextLink":"` + base + `/v1.0/me/calendars/c1/calendarView/delta?$skiptoken=p2"}`
		default:
			return 200, nil, `{"value":[{"id":"gone","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"` + base + `/v1.0/me/calendars/c1/calendarView/delta?$deltatoken=d1"}`
		}
	})
	base = strings.TrimSuffix(c.graph, "/v1.0")
	from := time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC)
	p1, err := c.Delta(context.Background(), "at1", "c1", "", from, from.AddDate(1, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] != 7*time.Second {
		t.Errorf("waits = %v, want Retry-After's 7s", *waits)
	}
	r := w.requests[1]
	if r.Path != "/v1.0/me/calendars/c1/calendarView/delta" || r.Query != "endDateTime=2027-12-07T00%3A00%3A00Z&startDateTime=2026-11-07T00%3A00%3A00Z" ||
		strings.Join(r.Header.Values("Prefer"), "|") != `odata.maxpagesize=100|outlook.timezone="UTC"` || r.Header.Get("Authorization") != "Bearer at1" {
		t.Errorf("first delta request %s?%s %v", r.Path, r.Query, r.Header)
	}
	e := p1.Events[0]
	if e.ID != "o1" || e.Type != "occurrence" || e.SeriesMasterID != "m1" || !e.Start.Equal(time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)) ||
		e.Location != "Room 1" || e.OnlineMeetingURL != "https://teams.example/j/1" || e.Attendees[0].Email != "ann@example.com" ||
		e.Attendees[0].Response != "accepted" || e.Organizer.Email != "olive@example.com" || e.TimeZone != "Eastern Standard Time" || e.LastModified.IsZero() {
		t.Errorf("event = %+v", e)
	}
	p2, err := c.Delta(context.Background(), "at1", "c1", p1.NextLink, from, from)
	if err != nil || len(p2.Events) != 1 || !p2.Events[0].Removed || p2.DeltaLink == "" || p2.NextLink != "" {
		t.Fatalf("page 2 = %+v, %v", p2, err)
	}
	if w.requests[2].Query != "$skiptoken=p2" {
		t.Errorf("nextLink followed as %q", w.requests[2].Query)
	}
	// A link not of Graph is never sent a token.
	if _, err := c.Delta(context.Background(), "at1", "c1", "https://evil.example/x", from, from); err == nil {
		t.Error("a foreign delta link was followed")
	}

	gone, _, _ := newClient(t, func(*http.Request, string) (int, http.Header, string) {
		return 410, nil, `{"error":{"code":"syncStateNotFound","message":"gone"}}`
	})
	if _, err := gone.Delta(context.Background(), "at1", "c1", "", from, from.AddDate(0, 1, 0)); !errors.Is(err, calendar.ErrSyncReset) {
		t.Errorf("410 = %v, want ErrSyncReset", err)
	}
	expired, _, _ := newClient(t, func(*http.Request, string) (int, http.Header, string) {
		return 401, nil, `{"error":{"code":"InvalidAuthenticationToken"}}`
	})
	if _, err := expired.Delta(context.Background(), "at1", "c1", "", from, from.AddDate(0, 1, 0)); !errors.Is(err, calendar.ErrUnauthorized) {
		t.Errorf("401 = %v, want ErrUnauthorized", err)
	}
}

// TestSubscriptionsAndEvents: the exact JSON of a subscription, its
// renewal, and a booking's event with its transactionId.
func TestSubscriptionsAndEvents(t *testing.T) {
	c, w, _ := newClient(t, func(r *http.Request, _ string) (int, http.Header, string) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1.0/subscriptions":
			return 201, nil, `{"id":"s1","expirationDateTime":"2026-12-13T00:00:00Z"}`
		case r.Method == "PATCH":
			return 200, nil, `{"id":"s1","expirationDateTime":"2026-12-14T00:00:00Z"}`
		case r.Method == "DELETE":
			return 404, nil, `{"error":{"code":"ResourceNotFound"}}`
		default:
			return 201, nil, `{"id":"ev1","transactionId":"B1","start":{"dateTime":"2026-12-08T14:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-12-08T15:00:00.0000000","timeZone":"UTC"}}`
		}
	})
	ctx := context.Background()
	exp := time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC)
	sub, err := c.Subscribe(ctx, "at1", calendar.SubscribeRequest{CalendarID: "c1", NotificationURL: "https://hook.example/webhooks/microsoft-graph", ClientState: "cs1", Expires: exp})
	if err != nil || sub.ID != "s1" || !sub.Expires.Equal(exp) {
		t.Fatalf("subscribe = %+v, %v", sub, err)
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(w.requests[0].Body), &got)
	want := map[string]any{"changeType": "created,updated,deleted", "notificationUrl": "https://hook.example/webhooks/microsoft-graph",
		"lifecycleNotificationUrl": "https://hook.example/webhooks/microsoft-graph", "resource": "/me/calendars/c1/events",
		"expirationDateTime": "2026-12-13T00:00:00Z", "clientState": "cs1"}
	if len(got) != len(want) {
		t.Errorf("subscription body = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("subscription %s = %v, want %v", k, got[k], v)
		}
	}
	if _, err := c.Renew(ctx, "at1", "s1", exp.Add(24*time.Hour)); err != nil || w.requests[1].Body != `{"expirationDateTime":"2026-12-14T00:00:00Z"}` {
		t.Errorf("renew %q, %v", w.requests[1].Body, err)
	}
	if err := c.Unsubscribe(ctx, "at1", "s1"); err != nil {
		t.Errorf("unsubscribe of a gone subscription = %v", err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	ev, err := c.CreateEvent(ctx, "at1", calendar.OutEvent{TransactionID: "B1", Subject: "Call", Start: time.Date(2026, 12, 8, 9, 0, 0, 0, ny),
		End: time.Date(2026, 12, 8, 10, 0, 0, 0, ny), TimeZone: "America/New_York", Location: "Office", Body: "<p>x</p>", Sensitivity: "private"})
	if err != nil || ev.ID != "ev1" || ev.TransactionID != "B1" {
		t.Fatalf("create = %+v, %v", ev, err)
	}
	r := w.requests[3]
	wantBody := `{"transactionId":"B1","subject":"Call","start":{"dateTime":"2026-12-08T09:00:00","timeZone":"America/New_York"},` +
		`"end":{"dateTime":"2026-12-08T10:00:00","timeZone":"America/New_York"},"location":{"displayName":"Office"},` +
		`"body":{"contentType":"html","content":"\u003cp\u003ex\u003c/p\u003e"},"sensitivity":"private"}`
	if r.Method != "POST" || r.Path != "/v1.0/me/events" || r.Body != wantBody {
		t.Errorf("create event %s %s\n%s\nwant\n%s", r.Method, r.Path, r.Body, wantBody)
	}
}
