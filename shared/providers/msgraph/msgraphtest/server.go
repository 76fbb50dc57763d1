// Package msgraphtest is a stand-in for the Microsoft identity platform
// and Graph's calendar API, for the tests and make dev
// (scripts/msgraphfake): the authorize endpoint signs in the next user and
// redirects with a code; the token endpoint checks the client secret and
// the PKCE verifier (S256) and rotates refresh tokens (a used one is
// refused with invalid_grant); /me, /me/calendars (one shared), the
// calendarView delta with pages, nextLink, deltaLink, @removed and
// expanded weekly series, a 410 once on demand, a 429 with Retry-After on
// demand; subscriptions; and events POSTed with transactionId idempotency.
package msgraphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is an event in a stand-in calendar.
type Event struct {
	ID, Subject, Location, ShowAs, Sensitivity string
	Start, End                                 time.Time
	SeriesMasterID, Type, TransactionID        string
	Attendees                                  []string // addresses
	Organizer                                  string
	Body                                       string
	LastModified                               time.Time
	seq                                        int
	removed                                    bool
}

type calendar struct {
	id, name, owner string
	isDefault       bool
	events          map[string]*Event
	seq             int
	failDelta       bool // the next delta with a token answers 410
}

type mailbox struct {
	id, email, name string
	calendars       []*calendar
}

type code struct {
	user, challenge, redirect string
}

// Subscription is one subscription as created.
type Subscription struct {
	ID, Resource, ChangeType, NotificationURL, LifecycleURL, ClientState, User string
	Expires                                                                    time.Time
	Renewals                                                                   int
}

// Server is the stand-in. Build it with New.
type Server struct {
	clientID, secret string
	mu               sync.Mutex
	now              func() time.Time
	n                int
	boxes            map[string]*mailbox // by user id
	next             string              // the user the next authorize signs in
	codes            map[string]code
	refresh          map[string]string // live refresh token → user
	used             map[string]bool   // refresh tokens already redeemed
	access           map[string]string // access token → user
	subs             map[string]*Subscription
	throttle         int // the next n Graph calls answer 429
	calls            []string
	refreshes        []string // refresh tokens presented, in order
	Base             string   // set by the caller to the server's URL (links)
}

// New returns a stand-in for one app registration.
func New(clientID, secret string, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{clientID: clientID, secret: secret, now: now, boxes: map[string]*mailbox{}, codes: map[string]code{},
		refresh: map[string]string{}, used: map[string]bool{}, access: map[string]string{}, subs: map[string]*Subscription{}}
}

// AddUser adds a Microsoft user with a default calendar "Calendar" and a
// calendar "Team" shared with them by team@...; it returns the default
// calendar's id and the next authorize signs them in.
func (s *Server) AddUser(id, email, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &mailbox{id: id, email: email, name: name, calendars: []*calendar{
		{id: "cal-" + id, name: "Calendar", owner: email, isDefault: true, events: map[string]*Event{}},
		{id: "shared-" + id, name: "Team", owner: "team@example.com", events: map[string]*Event{}},
	}}
	s.boxes[id] = b
	s.next = id
	return b.calendars[0].id
}

// SignInNext makes the next authorize sign user in.
func (s *Server) SignInNext(user string) {
	s.mu.Lock()
	s.next = user
	s.mu.Unlock()
}

func (s *Server) cal(user, calID string) *calendar {
	if b := s.boxes[user]; b != nil {
		for _, c := range b.calendars {
			if c.id == calID {
				return c
			}
		}
	}
	return nil
}

// Put adds or changes an event "in Outlook" (its lastModified is now).
func (s *Server) Put(user, calID string, e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(s.cal(user, calID), e)
}

func (s *Server) put(c *calendar, e Event) *Event {
	c.seq++
	if e.ShowAs == "" {
		e.ShowAs = "busy"
	}
	if e.Sensitivity == "" {
		e.Sensitivity = "normal"
	}
	if e.Type == "" {
		e.Type = "singleInstance"
	}
	e.seq, e.LastModified = c.seq, s.now().UTC()
	c.events[e.ID] = &e
	return &e
}

// Edit changes an event "in Outlook".
func (s *Server) Edit(user, calID, id string, change func(*Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cal(user, calID)
	e := *c.events[id]
	change(&e)
	s.put(c, e)
}

// Remove deletes an event "in Outlook".
func (s *Server) Remove(user, calID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cal(user, calID)
	if e := c.events[id]; e != nil {
		c.seq++
		e.removed, e.seq = true, c.seq
	}
}

// AddWeekly adds a weekly series of n occurrences from start, expanded as
// Graph's calendarView does; it returns the master's id.
func (s *Server) AddWeekly(user, calID, master, subject string, start time.Time, d time.Duration, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cal(user, calID)
	for i := range n {
		at := start.AddDate(0, 0, 7*i)
		s.put(c, Event{ID: master + "_" + at.Format("20060102"), Subject: subject, Start: at, End: at.Add(d), SeriesMasterID: master, Type: "occurrence"})
	}
	return master
}

// Event returns an event as stored (nil when absent or removed).
func (s *Server) Event(user, id string) *Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.boxes[user].calendars {
		if e := c.events[id]; e != nil && !e.removed {
			cp := *e
			return &cp
		}
	}
	return nil
}

// Events returns a calendar's live events.
func (s *Server) Events(user, calID string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.cal(user, calID).events {
		if !e.removed {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ResetDeltaOnce makes the next delta of the calendar with a token (a
// deltaLink's or a nextLink's) answer 410 Gone (syncStateNotFound), as
// Graph does when it drops state.
func (s *Server) ResetDeltaOnce(user, calID string) {
	s.mu.Lock()
	s.cal(user, calID).failDelta = true
	s.mu.Unlock()
}

// ThrottleNext makes the next n Graph calls answer 429, Retry-After: 2.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	s.throttle = n
	s.mu.Unlock()
}

// Calls lists the Graph calls served ("GET /v1.0/me"), and clears the list.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// Refreshes lists the refresh tokens presented, in order.
func (s *Server) Refreshes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refreshes...)
}

// ExpireAccess makes every access token of user invalid (401).
func (s *Server) ExpireAccess(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, u := range s.access {
		if u == user {
			delete(s.access, t)
		}
	}
}

// RevokeRefresh makes user's refresh tokens invalid (invalid_grant).
func (s *Server) RevokeRefresh(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, u := range s.refresh {
		if u == user {
			delete(s.refresh, t)
			s.used[t] = true
		}
	}
}

// Subscriptions lists the live subscriptions.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		out = append(out, *sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DropSubscription removes a subscription as Graph may.
func (s *Server) DropSubscription(id string) {
	s.mu.Lock()
	delete(s.subs, id)
	s.mu.Unlock()
}

func (s *Server) id(prefix string) string {
	s.n++
	return prefix + strconv.Itoa(s.n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func graphErr(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": code}})
}

// ServeHTTP serves login and Graph.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth2/v2.0/authorize") && r.Method == http.MethodGet:
		s.authorize(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && r.Method == http.MethodPost:
		s.token(w, r)
	case strings.HasPrefix(p, "/v1.0/"):
		s.calls = append(s.calls, r.Method+" "+p)
		if s.throttle > 0 {
			s.throttle--
			w.Header().Set("Retry-After", "2")
			graphErr(w, http.StatusTooManyRequests, "TooManyRequests")
			return
		}
		user := s.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if user == "" {
			graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken")
			return
		}
		s.graph(w, r, user, strings.TrimPrefix(p, "/v1.0"))
	default:
		graphErr(w, http.StatusNotFound, "ResourceNotFound")
	}
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "offline_access") {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	c := s.id("code-")
	s.codes[c] = code{user: s.next, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	to, _ := url.Parse(q.Get("redirect_uri"))
	v := to.Query()
	v.Set("code", c)
	v.Set("state", q.Get("state"))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.clientID || r.PostForm.Get("client_secret") != s.secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	f := r.PostForm
	var user string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || c.redirect != f.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "AADSTS70008"})
			return
		}
		user = c.user
	case "refresh_token":
		rt := f.Get("refresh_token")
		s.refreshes = append(s.refreshes, rt)
		user = s.refresh[rt]
		if user == "" || s.used[rt] {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "AADSTS700082"})
			return
		}
		delete(s.refresh, rt)
		s.used[rt] = true
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	at, rt := s.id("at-"), s.id("rt-")
	s.access[at], s.refresh[rt] = user, user
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "access_token": at, "refresh_token": rt, "expires_in": 3600, "scope": f.Get("scope")})
}

const layout = "2006-01-02T15:04:05.0000000"

func (s *Server) eventJSON(e *Event) map[string]any {
	if e.removed {
		return map[string]any{"id": e.ID, "@removed": map[string]string{"reason": "deleted"}}
	}
	var att []map[string]any
	for _, a := range e.Attendees {
		att = append(att, map[string]any{"emailAddress": map[string]string{"name": a, "address": a}, "status": map[string]string{"response": "accepted"}})
	}
	out := map[string]any{"id": e.ID, "subject": e.Subject, "isAllDay": false, "showAs": e.ShowAs, "sensitivity": e.Sensitivity, "type": e.Type,
		"start":                 map[string]string{"dateTime": e.Start.UTC().Format(layout), "timeZone": "UTC"},
		"end":                   map[string]string{"dateTime": e.End.UTC().Format(layout), "timeZone": "UTC"},
		"originalStartTimeZone": "UTC", "location": map[string]string{"displayName": e.Location}, "attendees": att,
		"organizer":            map[string]any{"emailAddress": map[string]string{"name": e.Organizer, "address": e.Organizer}},
		"lastModifiedDateTime": e.LastModified.UTC().Format(time.RFC3339Nano)}
	if e.SeriesMasterID != "" {
		out["seriesMasterId"] = e.SeriesMasterID
	}
	if e.TransactionID != "" {
		out["transactionId"] = e.TransactionID
	}
	return out
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request, user, p string) {
	b := s.boxes[user]
	switch {
	case r.Method == http.MethodGet && p == "/me":
		writeJSON(w, 200, map[string]any{"id": b.id, "displayName": b.name, "mail": b.email, "userPrincipalName": b.email})
	case r.Method == http.MethodGet && p == "/me/calendars":
		var v []map[string]any
		for _, c := range b.calendars {
			v = append(v, map[string]any{"id": c.id, "name": c.name, "isDefaultCalendar": c.isDefault, "canEdit": c.isDefault,
				"owner": map[string]string{"name": c.owner, "address": c.owner}})
		}
		writeJSON(w, 200, map[string]any{"value": v})
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/me/calendars/") && strings.HasSuffix(p, "/calendarView/delta"):
		s.delta(w, r, user, strings.TrimSuffix(strings.TrimPrefix(p, "/me/calendars/"), "/calendarView/delta"))
	case r.Method == http.MethodPost && p == "/subscriptions":
		var in Subscription
		var body struct {
			ChangeType, NotificationURL, LifecycleNotificationURL, Resource, ExpirationDateTime, ClientState string
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.ChangeType != "created,updated,deleted" || body.NotificationURL == "" ||
			body.ClientState == "" || !strings.HasPrefix(body.Resource, "/me/calendars/") {
			graphErr(w, 400, "InvalidRequest")
			return
		}
		exp, err := time.Parse(time.RFC3339, body.ExpirationDateTime)
		if err != nil || exp.After(s.now().Add(10080*time.Minute)) {
			graphErr(w, 400, "InvalidRequest") // past Outlook's 7-day maximum
			return
		}
		in = Subscription{ID: s.id("sub-"), Resource: body.Resource, ChangeType: body.ChangeType, NotificationURL: body.NotificationURL,
			LifecycleURL: body.LifecycleNotificationURL, ClientState: body.ClientState, User: user, Expires: exp}
		s.subs[in.ID] = &in
		writeJSON(w, 201, map[string]any{"id": in.ID, "resource": in.Resource, "expirationDateTime": exp.Format(time.RFC3339)})
	case strings.HasPrefix(p, "/subscriptions/"):
		sub := s.subs[strings.TrimPrefix(p, "/subscriptions/")]
		if sub == nil || sub.User != user {
			graphErr(w, 404, "ResourceNotFound")
			return
		}
		if r.Method == http.MethodDelete {
			delete(s.subs, sub.ID)
			w.WriteHeader(204)
			return
		}
		var body struct{ ExpirationDateTime string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		exp, err := time.Parse(time.RFC3339, body.ExpirationDateTime)
		if err != nil || exp.After(s.now().Add(10080*time.Minute)) {
			graphErr(w, 400, "InvalidRequest")
			return
		}
		sub.Expires = exp
		sub.Renewals++
		writeJSON(w, 200, map[string]any{"id": sub.ID, "expirationDateTime": exp.Format(time.RFC3339)})
	case r.Method == http.MethodPost && p == "/me/events":
		s.writeEvent(w, r, b, "")
	case strings.HasPrefix(p, "/me/events/"):
		id := strings.TrimPrefix(p, "/me/events/")
		c := b.calendars[0]
		e := c.events[id]
		if e == nil || e.removed {
			graphErr(w, 404, "ErrorItemNotFound")
			return
		}
		if r.Method == http.MethodDelete {
			c.seq++
			e.removed, e.seq = true, c.seq
			w.WriteHeader(204)
			return
		}
		s.writeEvent(w, r, b, id)
	default:
		graphErr(w, 404, "ResourceNotFound")
	}
}

type wireTime struct{ DateTime, TimeZone string }

func (t wireTime) parse() (time.Time, bool) {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.Time{}, false
	}
	v, err := time.ParseInLocation("2006-01-02T15:04:05", t.DateTime, loc)
	return v.UTC(), err == nil
}

// writeEvent creates (id "") or patches an event of the default calendar.
func (s *Server) writeEvent(w http.ResponseWriter, r *http.Request, b *mailbox, id string) {
	var in struct {
		TransactionID, Subject, Sensitivity string
		Start, End                          *wireTime
		Location                            *struct{ DisplayName string }
		Body                                *struct{ ContentType, Content string }
	}
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		graphErr(w, 400, "InvalidRequest")
		return
	}
	c := b.calendars[0]
	var e Event
	if id == "" {
		for _, old := range c.events {
			if in.TransactionID != "" && old.TransactionID == in.TransactionID && !old.removed {
				writeJSON(w, 201, s.eventJSON(old)) // the retried post finds the first
				return
			}
		}
		e = Event{ID: s.id("evt-"), TransactionID: in.TransactionID, Organizer: b.email}
	} else {
		e = *c.events[id]
	}
	if in.Subject != "" {
		e.Subject = in.Subject
	}
	if in.Sensitivity != "" {
		e.Sensitivity = in.Sensitivity
	}
	if in.Location != nil {
		e.Location = in.Location.DisplayName
	}
	if in.Body != nil {
		e.Body = in.Body.Content
	}
	var ok1, ok2 = true, true
	if in.Start != nil {
		e.Start, ok1 = in.Start.parse()
	}
	if in.End != nil {
		e.End, ok2 = in.End.parse()
	}
	if !ok1 || !ok2 || e.Start.IsZero() || !e.End.After(e.Start) {
		graphErr(w, 400, "InvalidRequest")
		return
	}
	status := 200
	if id == "" {
		status = 201
	}
	writeJSON(w, status, s.eventJSON(s.put(c, e)))
}

// delta serves calendarView/delta: a first request lists the window's
// events; links carry "cal:seq:offset" (skip) or "cal:seq" (delta).
func (s *Server) delta(w http.ResponseWriter, r *http.Request, user, calID string) {
	c := s.cal(user, calID)
	if c == nil {
		graphErr(w, 404, "ErrorItemNotFound")
		return
	}
	q := r.URL.Query()
	size := 10
	for _, p := range r.Header.Values("Prefer") {
		if v, ok := strings.CutPrefix(p, "odata.maxpagesize="); ok {
			size, _ = strconv.Atoi(v)
		}
	}
	since, offset := -1, 0
	from, _ := time.Parse(time.RFC3339, q.Get("startDateTime"))
	to, _ := time.Parse(time.RFC3339, q.Get("endDateTime"))
	if tok := q.Get("$deltatoken"); tok != "" {
		if c.failDelta {
			c.failDelta = false
			graphErr(w, http.StatusGone, "syncStateNotFound")
			return
		}
		since, _ = strconv.Atoi(tok)
	} else if tok := q.Get("$skiptoken"); tok != "" {
		if c.failDelta {
			c.failDelta = false
			graphErr(w, http.StatusGone, "syncStateNotFound")
			return
		}
		parts := strings.Split(tok, ".")
		since, _ = strconv.Atoi(parts[0])
		offset, _ = strconv.Atoi(parts[1])
	} else if from.IsZero() || to.IsZero() || !to.After(from) {
		graphErr(w, 400, "InvalidRequest")
		return
	}
	upTo := c.seq
	if tok := q.Get("upto"); tok != "" {
		upTo, _ = strconv.Atoi(tok)
	}
	var items []*Event
	for _, e := range c.events {
		if e.seq > upTo {
			continue
		}
		inWindow := e.End.After(from) && e.Start.Before(to)
		switch {
		case since < 0 && !e.removed && inWindow: // initial: what is there
			items = append(items, e)
		case since >= 0 && e.seq > since && (e.removed || inWindow):
			items = append(items, e)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].seq < items[j].seq })
	end := min(offset+size, len(items))
	var v []map[string]any
	for _, e := range items[offset:end] {
		v = append(v, s.eventJSON(e))
	}
	link := func(k, tok string) string {
		u := url.Values{k: {tok}, "startDateTime": {q.Get("startDateTime")}, "endDateTime": {q.Get("endDateTime")}, "upto": {strconv.Itoa(upTo)}}
		if k == "$deltatoken" {
			u.Del("upto")
		}
		return s.Base + r.URL.Path + "?" + u.Encode()
	}
	out := map[string]any{"value": v}
	if v == nil {
		out["value"] = []any{}
	}
	if end < len(items) {
		out["@odata.nextLink"] = link("$skiptoken", fmt.Sprintf("%d.%d", since, end))
	} else {
		out["@odata.deltaLink"] = link("$deltatoken", strconv.Itoa(upTo))
	}
	writeJSON(w, 200, out)
}
