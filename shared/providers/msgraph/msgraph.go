// Package msgraph is the Microsoft identity platform (OAuth 2.0
// authorization code flow with PKCE) and Microsoft Graph's calendar API
// over net/http, plain JSON: the calendar provider of shared/calendar.
// Tokens are sent and received here and never logged; errors carry
// Graph's error code and message, never event content.
package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/calendar"
)

// Defaults: Microsoft itself, and the multi-tenant endpoint.
const (
	DefaultLoginBaseURL = "https://login.microsoftonline.com"
	DefaultGraphBaseURL = "https://graph.microsoft.com"
	DefaultTenant       = "common"
)

// Scopes are what the connect asks for: a refresh token, the user's
// profile, their calendars read and write, and calendars shared with them.
const Scopes = "offline_access User.Read Calendars.ReadWrite Calendars.Read.Shared"

// PageSize is the delta's odata.maxpagesize.
const PageSize = 100

const (
	callTimeout = 30 * time.Second
	maxBody     = 8 << 20
	maxRetries  = 3                // 429 and 503 answers tried again, Retry-After apart
	maxWait     = 30 * time.Second // the longest Retry-After honoured inside a call
)

// Config is how the client reaches Microsoft.
type Config struct {
	LoginBaseURL string // "" is DefaultLoginBaseURL
	GraphBaseURL string // "" is DefaultGraphBaseURL
	TenantID     string // "" is DefaultTenant
	ClientID     string
	ClientSecret string
	// Sleep waits out a Retry-After (tests record it instead).
	Sleep func(context.Context, time.Duration) error
	HTTP  *http.Client
}

// Client is safe for concurrent use.
type Client struct {
	cfg   Config
	login string // {login}/{tenant}/oauth2/v2.0
	graph string // {graph}/v1.0
}

var _ calendar.Graph = (*Client)(nil)

// New returns a client; nil without a client id or secret, so callers
// answer 503 saying what to set.
func New(cfg Config) *Client {
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.ClientSecret == calendar.UnsetSecret {
		return nil
	}
	if cfg.LoginBaseURL == "" {
		cfg.LoginBaseURL = DefaultLoginBaseURL
	}
	if cfg.GraphBaseURL == "" {
		cfg.GraphBaseURL = DefaultGraphBaseURL
	}
	if cfg.TenantID == "" {
		cfg.TenantID = DefaultTenant
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: callTimeout}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Client{cfg: cfg, login: strings.TrimSuffix(cfg.LoginBaseURL, "/") + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0",
		graph: strings.TrimSuffix(cfg.GraphBaseURL, "/") + "/v1.0"}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// AuthorizeURL is the authorize request the browser is sent to.
func (c *Client) AuthorizeURL(state, challenge, redirectURI string) string {
	q := url.Values{"client_id": {c.cfg.ClientID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "response_mode": {"query"},
		"scope": {Scopes}, "state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	return c.login + "/authorize?" + q.Encode()
}

type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	ExpiresIn        int64  `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Exchange redeems an authorization code.
func (c *Client) Exchange(ctx context.Context, code, verifier, redirectURI string) (calendar.Tokens, error) {
	return c.token(ctx, "exchange", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "scope": {Scopes}})
}

// Refresh redeems a refresh token; the answer carries the rotated one.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (calendar.Tokens, error) {
	return c.token(ctx, "refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "scope": {Scopes}})
}

func (c *Client) token(ctx context.Context, op string, form url.Values) (calendar.Tokens, error) {
	form.Set("client_id", c.cfg.ClientID)
	form.Set("client_secret", c.cfg.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.login+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return calendar.Tokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return calendar.Tokens{}, &calendar.GraphError{Op: op, Retryable: true, Message: "no answer"}
	}
	defer resp.Body.Close()
	var ans tokenAnswer
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK || ans.AccessToken == "" {
		if ans.Error == "invalid_grant" {
			return calendar.Tokens{}, calendar.ErrInvalidGrant
		}
		return calendar.Tokens{}, &calendar.GraphError{Op: op, Status: resp.StatusCode, Retryable: resp.StatusCode >= 500 || resp.StatusCode == 429,
			Message: ans.Error}
	}
	if ans.ExpiresIn <= 0 {
		ans.ExpiresIn = 3600
	}
	return calendar.Tokens{Access: ans.AccessToken, Refresh: ans.RefreshToken, ExpiresIn: time.Duration(ans.ExpiresIn) * time.Second}, nil
}

// call sends one Graph request and decodes a 2xx answer into out. 429 and
// 503 are tried again after their Retry-After (at most maxWait each).
func (c *Client) call(ctx context.Context, op, method, target, access string, in, out any, prefer ...string) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(target, "http") {
		target = c.graph + target
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if payload != nil {
			body = strings.NewReader(string(payload))
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, p := range prefer {
			req.Header.Add("Prefer", p)
		}
		resp, err := c.cfg.HTTP.Do(req)
		if err != nil {
			return &calendar.GraphError{Op: op, Retryable: true, Message: "no answer"}
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		status := resp.StatusCode
		if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && attempt < maxRetries {
			if err := c.cfg.Sleep(ctx, retryAfter(resp.Header.Get("Retry-After"))); err != nil {
				return err
			}
			continue
		}
		if status >= 200 && status < 300 {
			if out == nil || len(raw) == 0 {
				return nil
			}
			if err := json.Unmarshal(raw, out); err != nil {
				return &calendar.GraphError{Op: op, Status: status, Message: "unreadable answer"}
			}
			return nil
		}
		var ge struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &ge)
		switch {
		case status == http.StatusUnauthorized:
			return calendar.ErrUnauthorized
		case status == http.StatusGone || ge.Error.Code == "syncStateNotFound" || ge.Error.Code == "resyncRequired":
			return calendar.ErrSyncReset
		case status == http.StatusNotFound:
			return calendar.ErrNotFound
		}
		return &calendar.GraphError{Op: op, Status: status, Retryable: status == 429 || status >= 500, Message: ge.Error.Code}
	}
}

// retryAfter reads a Retry-After in seconds (Graph sends seconds), capped.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		n = 1
	}
	d := time.Duration(n) * time.Second
	return min(d, maxWait)
}

// Me reads the signed-in user.
func (c *Client) Me(ctx context.Context, access string) (calendar.Account, error) {
	var me struct {
		ID                string `json:"id"`
		DisplayName       string `json:"displayName"`
		Mail              string `json:"mail"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	if err := c.call(ctx, "me", http.MethodGet, "/me?$select=id,displayName,mail,userPrincipalName", access, nil, &me); err != nil {
		return calendar.Account{}, err
	}
	email := me.Mail
	if email == "" {
		email = me.UserPrincipalName
	}
	return calendar.Account{ID: me.ID, Email: email, Name: me.DisplayName}, nil
}

// Calendars lists the user's calendars, their own and those shared with them.
func (c *Client) Calendars(ctx context.Context, access string) ([]calendar.RemoteCalendar, error) {
	var out []calendar.RemoteCalendar
	next := "/me/calendars?$select=id,name,owner,isDefaultCalendar,canEdit&$top=100"
	for next != "" && len(out) < 500 {
		var page struct {
			Value []struct {
				ID        string `json:"id"`
				Name      string `json:"name"`
				IsDefault bool   `json:"isDefaultCalendar"`
				CanEdit   bool   `json:"canEdit"`
				Owner     struct {
					Address string `json:"address"`
				} `json:"owner"`
			} `json:"value"`
			Next string `json:"@odata.nextLink"`
		}
		if err := c.call(ctx, "calendars", http.MethodGet, next, access, nil, &page); err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			out = append(out, calendar.RemoteCalendar{ID: v.ID, Name: v.Name, Owner: strings.ToLower(v.Owner.Address), IsDefault: v.IsDefault, CanEdit: v.CanEdit})
		}
		next = page.Next
	}
	return out, nil
}

// graphTime is Graph's dateTimeTimeZone.
type graphTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// graphLayout is Graph's dateTime (seven fractional digits, no offset).
const graphLayout = "2006-01-02T15:04:05.9999999"

func (g graphTime) utc() time.Time {
	loc := time.UTC
	if g.TimeZone != "" && g.TimeZone != "UTC" {
		if l, err := time.LoadLocation(g.TimeZone); err == nil {
			loc = l
		}
	}
	t, err := time.ParseInLocation(graphLayout, g.DateTime, loc)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

type emailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// graphEvent is the part of an event the calendar stores.
type graphEvent struct {
	ID                    string    `json:"id"`
	Removed               *struct{} `json:"@removed"`
	Subject               string    `json:"subject"`
	Start                 graphTime `json:"start"`
	End                   graphTime `json:"end"`
	OriginalStartTimeZone string    `json:"originalStartTimeZone"`
	IsAllDay              bool      `json:"isAllDay"`
	Location              struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	OnlineMeeting *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	OnlineMeetingURL string `json:"onlineMeetingUrl"`
	Attendees        []struct {
		EmailAddress emailAddress `json:"emailAddress"`
		Status       struct {
			Response string `json:"response"`
		} `json:"status"`
	} `json:"attendees"`
	Organizer struct {
		EmailAddress emailAddress `json:"emailAddress"`
	} `json:"organizer"`
	ShowAs               string `json:"showAs"`
	Sensitivity          string `json:"sensitivity"`
	SeriesMasterID       string `json:"seriesMasterId"`
	Type                 string `json:"type"`
	TransactionID        string `json:"transactionId"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
}

func (g graphEvent) event() calendar.Event {
	e := calendar.Event{ID: g.ID, Removed: g.Removed != nil, Subject: g.Subject, Start: g.Start.utc(), End: g.End.utc(), TimeZone: g.OriginalStartTimeZone,
		AllDay: g.IsAllDay, Location: g.Location.DisplayName, OnlineMeetingURL: g.OnlineMeetingURL, ShowAs: g.ShowAs, Sensitivity: g.Sensitivity,
		SeriesMasterID: g.SeriesMasterID, Type: g.Type, TransactionID: g.TransactionID,
		Organizer: calendar.Person{Name: g.Organizer.EmailAddress.Name, Email: strings.ToLower(g.Organizer.EmailAddress.Address)}}
	if g.OnlineMeeting != nil && g.OnlineMeeting.JoinURL != "" {
		e.OnlineMeetingURL = g.OnlineMeeting.JoinURL
	}
	for _, a := range g.Attendees {
		e.Attendees = append(e.Attendees, calendar.Person{Name: a.EmailAddress.Name, Email: strings.ToLower(a.EmailAddress.Address), Response: a.Status.Response})
	}
	e.LastModified, _ = time.Parse(time.RFC3339Nano, g.LastModifiedDateTime)
	return e
}

// Delta reads one page of a calendarView delta. The window and page size
// go on the first request only: Graph carries them in its links.
func (c *Client) Delta(ctx context.Context, access, calendarID, link string, from, to time.Time) (calendar.DeltaPage, error) {
	if link == "" {
		q := url.Values{"startDateTime": {from.UTC().Format(time.RFC3339)}, "endDateTime": {to.UTC().Format(time.RFC3339)}}
		link = "/me/calendars/" + url.PathEscape(calendarID) + "/calendarView/delta?" + q.Encode()
	} else if !strings.HasPrefix(link, c.graph+"/") && !strings.HasPrefix(link, "https://graph.microsoft.com/") {
		// A stored link only ever comes from Graph; anything else is not sent a token.
		return calendar.DeltaPage{}, &calendar.GraphError{Op: "delta", Message: "a delta link not of Graph"}
	}
	var page struct {
		Value     []graphEvent `json:"value"`
		NextLink  string       `json:"@odata.nextLink"`
		DeltaLink string       `json:"@odata.deltaLink"`
	}
	if err := c.call(ctx, "delta", http.MethodGet, link, access, nil, &page,
		"odata.maxpagesize="+strconv.Itoa(PageSize), `outlook.timezone="UTC"`); err != nil {
		return calendar.DeltaPage{}, err
	}
	out := calendar.DeltaPage{NextLink: page.NextLink, DeltaLink: page.DeltaLink}
	for _, g := range page.Value {
		out.Events = append(out.Events, g.event())
	}
	return out, nil
}

type subscription struct {
	ID                       string `json:"id,omitempty"`
	ChangeType               string `json:"changeType,omitempty"`
	NotificationURL          string `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl,omitempty"`
	Resource                 string `json:"resource,omitempty"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState,omitempty"`
}

func (s subscription) out() calendar.Subscription {
	t, _ := time.Parse(time.RFC3339Nano, s.ExpirationDateTime)
	return calendar.Subscription{ID: s.ID, Expires: t}
}

// Subscribe creates a subscription to a calendar's events.
func (c *Client) Subscribe(ctx context.Context, access string, r calendar.SubscribeRequest) (calendar.Subscription, error) {
	in := subscription{ChangeType: "created,updated,deleted", NotificationURL: r.NotificationURL, LifecycleNotificationURL: r.NotificationURL,
		Resource: "/me/calendars/" + r.CalendarID + "/events", ExpirationDateTime: r.Expires.UTC().Format(time.RFC3339), ClientState: r.ClientState}
	var out subscription
	if err := c.call(ctx, "subscribe", http.MethodPost, "/subscriptions", access, in, &out); err != nil {
		return calendar.Subscription{}, err
	}
	return out.out(), nil
}

// Renew extends a subscription.
func (c *Client) Renew(ctx context.Context, access, id string, expires time.Time) (calendar.Subscription, error) {
	var out subscription
	err := c.call(ctx, "renew", http.MethodPatch, "/subscriptions/"+url.PathEscape(id), access,
		subscription{ExpirationDateTime: expires.UTC().Format(time.RFC3339)}, &out)
	if err != nil {
		return calendar.Subscription{}, err
	}
	return out.out(), nil
}

// Unsubscribe deletes a subscription; one already gone is no error.
func (c *Client) Unsubscribe(ctx context.Context, access, id string) error {
	err := c.call(ctx, "unsubscribe", http.MethodDelete, "/subscriptions/"+url.PathEscape(id), access, nil, nil)
	if errors.Is(err, calendar.ErrNotFound) {
		return nil
	}
	return err
}

type outEvent struct {
	TransactionID string    `json:"transactionId,omitempty"`
	Subject       string    `json:"subject"`
	Start         graphTime `json:"start"`
	End           graphTime `json:"end"`
	Location      struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Body struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	Sensitivity string `json:"sensitivity,omitempty"`
}

func toOut(e calendar.OutEvent) outEvent {
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil || e.TimeZone == "" {
		loc, e.TimeZone = time.UTC, "UTC"
	}
	o := outEvent{TransactionID: e.TransactionID, Subject: e.Subject, Sensitivity: e.Sensitivity,
		Start: graphTime{DateTime: e.Start.In(loc).Format("2006-01-02T15:04:05"), TimeZone: e.TimeZone},
		End:   graphTime{DateTime: e.End.In(loc).Format("2006-01-02T15:04:05"), TimeZone: e.TimeZone}}
	o.Location.DisplayName = e.Location
	o.Body.ContentType, o.Body.Content = "html", e.Body
	return o
}

// CreateEvent posts an event to the default calendar with its
// transactionId, so a retried post finds the first event.
func (c *Client) CreateEvent(ctx context.Context, access string, e calendar.OutEvent) (calendar.Event, error) {
	var out graphEvent
	if err := c.call(ctx, "create event", http.MethodPost, "/me/events", access, toOut(e), &out, `outlook.timezone="UTC"`); err != nil {
		return calendar.Event{}, err
	}
	return out.event(), nil
}

// UpdateEvent patches an event's subject, times, location, body and
// sensitivity.
func (c *Client) UpdateEvent(ctx context.Context, access, id string, e calendar.OutEvent) (calendar.Event, error) {
	e.TransactionID = "" // set at creation only
	var out graphEvent
	if err := c.call(ctx, "update event", http.MethodPatch, "/me/events/"+url.PathEscape(id), access, toOut(e), &out, `outlook.timezone="UTC"`); err != nil {
		return calendar.Event{}, err
	}
	return out.event(), nil
}

// DeleteEvent deletes an event; one already gone is no error.
func (c *Client) DeleteEvent(ctx context.Context, access, id string) error {
	err := c.call(ctx, "delete event", http.MethodDelete, "/me/events/"+url.PathEscape(id), access, nil, nil)
	if errors.Is(err, calendar.ErrNotFound) {
		return nil
	}
	return err
}

// String hides the secret should a Config ever be printed.
func (c Config) String() string {
	return fmt.Sprintf("msgraph.Config{login=%s graph=%s tenant=%s client=%s}", c.LoginBaseURL, c.GraphBaseURL, c.TenantID, c.ClientID)
}
