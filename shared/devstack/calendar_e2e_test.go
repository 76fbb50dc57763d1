package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/providers/msgraph/msgraphtest"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/wire/calendarwire"
)

// The tests' Microsoft app registration.
const (
	msClientID     = "matterly-test-app"
	msClientSecret = "ms_test_client_secret"
)

// msgraphFake stands in for Microsoft's login and Graph (see msgraphtest).
var msgraphFake = msgraphtest.New(msClientID, msClientSecret, clock.Now)

// connectCalendar connects a's Microsoft calendar (a stand-in user named
// after a) through the browser flow, runs the first sync, and returns the
// Microsoft user id and default calendar id.
func connectCalendar(t *testing.T, a *account) (string, string) {
	t.Helper()
	user := "ms-" + a.userID
	cal := msgraphFake.AddUser(user, strings.ToLower(a.username)+"@contoso.example", "Olive Owner")
	callback := authorize(t, a, user)
	r := finish(a, callback)
	if r.Status != 302 || r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=connected" {
		t.Fatalf("callback = %d %q %s", r.Status, r.Header.Get("Location"), r.Raw)
	}
	drain(t)
	return user, cal
}

// connectCookies holds, by callback path, the connect cookie the
// browser that asked for it got (finish sends it).
var connectCookies sync.Map

// finish is the browser that started the connect following the redirect
// to the callback: it sends the connect's cookie.
func finish(a *account, callback string) result {
	a.t.Helper()
	c, _ := connectCookies.Load(callback)
	s, _ := c.(string)
	return a.do("GET", callback, nil, "Cookie", s)
}

func mustLoad(t *testing.T, callback string) string {
	c, ok := connectCookies.Load(callback)
	if !ok {
		t.Fatalf("no connect cookie for %s", callback)
	}
	return c.(string)
}

// authorize runs GET connect and the stand-in's authorize, signing user
// in, and returns the callback path with its query.
func authorize(t *testing.T, a *account, user string) string {
	t.Helper()
	r := a.must(200, "GET", "/v1/calendar/microsoft/connect", nil)
	var cookie string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == calendar.BindingCookie {
			cookie = c.Name + "=" + c.Value
			if c.Path != "/v1/calendar/microsoft/callback" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || len(c.Value) < 40 {
				t.Errorf("connect cookie = %+v", c)
			}
		}
	}
	if cookie == "" {
		t.Fatalf("connect set no %s cookie: %v", calendar.BindingCookie, r.Header.Values("Set-Cookie"))
	}
	u, err := url.Parse(str(r.Body, "authorizeUrl"))
	if err != nil {
		t.Fatal(err)
	}
	msgraphFake.SignInNext(user)
	resp, err := apiClient.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != 302 || !strings.HasPrefix(to.String(), publicURL+"/v1/calendar/microsoft/callback?") {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	callback := to.Path + "?" + to.RawQuery
	connectCookies.Store(callback, cookie)
	return callback
}

// notify posts a change notification for each subscription of user, with
// its clientState (or state, when set), and runs the queues.
func notify(t *testing.T, user, state string) result {
	t.Helper()
	var items []map[string]any
	for _, s := range msgraphFake.Subscriptions() {
		if s.User == user {
			cs := s.ClientState
			if state != "" {
				cs = state
			}
			items = append(items, map[string]any{"subscriptionId": s.ID, "clientState": cs, "changeType": "updated", "resource": s.Resource})
		}
	}
	if len(items) == 0 {
		t.Fatal("no subscription to notify")
	}
	r := (&client{t: t}).do("POST", "/webhooks/microsoft-graph", map[string]any{"value": items})
	if r.Status != 202 {
		t.Fatalf("notification = %d %s", r.Status, r.Raw)
	}
	drain(t)
	return r
}

type calEvent struct {
	ID, Source, Subject, ShowAs, SeriesMasterID, Type, BookingID, Location string
	Start, End                                                             time.Time
	Private                                                                bool
}

func listEvents(t *testing.T, a *account, from, to time.Time, userID string) []calEvent {
	t.Helper()
	q := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	if userID != "" {
		q.Set("userId", userID)
	}
	r := a.must(200, "GET", "/v1/calendar/events?"+q.Encode(), nil)
	var out struct{ Items []calEvent }
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func eventIDs(evs []calEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

// diff lists what a has and b has not.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// liveIDs are the stand-in's events of a calendar overlapping [from, to).
func liveIDs(user, cal string, from, to time.Time) []string {
	var out []string
	for _, e := range msgraphFake.Events(user, cal) {
		if e.End.After(from) && e.Start.Before(to) {
			out = append(out, e.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestCalendarConnectSyncNotify is the main flow: connect with
// PKCE through a single-use state, the first sync (pages, a weekly series),
// the subscription, the validation handshake, a change "in Outlook"
// arriving through its notification, a forged clientState changing
// nothing, @removed, a 410 resync ending with the same events, a 429, and
// the disconnect.
func TestCalendarConnectSyncNotify(t *testing.T) {
	a := signup(t)
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	user := "ms-" + a.userID
	cal := msgraphFake.AddUser(user, strings.ToLower(a.username)+"@contoso.example", "Olive Owner")
	for i := range 120 { // more than a page of 100
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: "e" + strconv.Itoa(i), Subject: "Meeting " + strconv.Itoa(i), Start: day.Add(time.Duration(i) * time.Hour),
			End: day.Add(time.Duration(i)*time.Hour + 30*time.Minute), Location: "Room 1", Attendees: []string{"ann@example.com"}})
	}
	msgraphFake.AddWeekly(user, cal, "series1", "Weekly review", day.Add(9*time.Hour), time.Hour, 4)

	// Before the connect: nothing.
	if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); r.Body["connected"] != false || str(r.Body, "status") != "disconnected" {
		t.Errorf("before connect = %s", r.Raw)
	}
	r := a.must(200, "GET", "/v1/calendar/microsoft/connect", nil)
	au, _ := url.Parse(str(r.Body, "authorizeUrl"))
	q := au.Query()
	if !strings.HasSuffix(au.Path, "/matterly-test/oauth2/v2.0/authorize") || q.Get("client_id") != msClientID || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("scope") != "offline_access User.Read Calendars.ReadWrite Calendars.Read.Shared" ||
		q.Get("redirect_uri") != publicURL+"/v1/calendar/microsoft/callback" || q.Get("state") == "" {
		t.Errorf("authorize URL = %s", au)
	}
	callback := authorize(t, a, user)
	// A tampered state changes nothing.
	bad := strings.Replace(callback, "state=", "state=x", 1)
	if r := a.do("GET", bad, nil); r.Status != 302 || !strings.Contains(r.Header.Get("Location"), "calendar=error&reason=invalid_state") {
		t.Errorf("tampered state = %d %q", r.Status, r.Header.Get("Location"))
	}
	// Login CSRF: the authorize URL completed in another browser (a victim
	// signed in at Microsoft, without the connect's cookie, or with another
	// connect's) connects nothing, and leaves the state to its owner.
	other := authorize(t, a, user)
	for _, c := range []string{"", calendar.BindingCookie + "=" + strings.Repeat("A", 43), strings.Split(mustLoad(t, other), ";")[0]} {
		victim := &client{t: t}
		if r := victim.do("GET", callback, nil, "Cookie", c); r.Status != 302 || r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=error&reason=invalid_state" {
			t.Errorf("callback with cookie %q = %d %q", c, r.Status, r.Header.Get("Location"))
		}
	}
	var none struct{ Sealed string }
	if err := stack.Deps.DB.Get(context.Background(), tenant.PK(a.orgID), "CALTOKEN#"+a.userID, &none); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused callback stored tokens: %v", err)
	}
	if r := finish(a, callback); r.Status != 302 || r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=connected" {
		t.Fatalf("callback = %d %q", r.Status, r.Header.Get("Location"))
	}
	// Reused: refused, and the connection stays as it is.
	if r := finish(a, callback); r.Status != 302 || !strings.Contains(r.Header.Get("Location"), "reason=invalid_state") {
		t.Errorf("reused state = %d %q", r.Status, r.Header.Get("Location"))
	}
	drain(t)

	st := a.must(200, "GET", "/v1/calendar/microsoft", nil)
	var status calendar.Status
	_ = json.Unmarshal([]byte(st.Raw), &status)
	if !status.Connected || status.Status != "connected" || status.Account.Email != strings.ToLower(a.username)+"@contoso.example" || len(status.Calendars) != 2 ||
		!status.Calendars[0].Sync || status.Calendars[1].Sync || !status.Calendars[1].Shared || status.LastSyncAt == nil {
		t.Errorf("status = %s", st.Raw)
	}
	// The tokens are sealed at rest.
	var tok struct{ Sealed string }
	if err := stack.Deps.DB.Get(context.Background(), tenant.PK(a.orgID), "CALTOKEN#"+a.userID, &tok); err != nil || !strings.HasPrefix(tok.Sealed, "l1.") ||
		strings.Contains(tok.Sealed, "at-") || strings.Contains(tok.Sealed, "rt-") {
		t.Errorf("token item = %q, %v", tok.Sealed, err)
	}
	subs := 0
	for _, s := range msgraphFake.Subscriptions() {
		if s.User == user {
			subs++
			if s.NotificationURL != publicURL+"/webhooks/microsoft-graph" || s.LifecycleURL != s.NotificationURL || s.Resource != "/me/calendars/"+cal+"/events" ||
				len(s.ClientState) < 32 || s.Expires.Sub(clock.Now()) > 7*24*time.Hour {
				t.Errorf("subscription = %+v", s)
			}
		}
	}
	if subs != 1 {
		t.Fatalf("%d subscriptions, want 1", subs)
	}

	from, to := day.Add(-time.Hour), day.AddDate(0, 0, 30)
	got := listEvents(t, a, from, to, "")
	if want := liveIDs(user, cal, from, to); !slices.Equal(eventIDs(got), want) || len(want) != 124 {
		t.Fatalf("events = %d %v, want %d", len(got), eventIDs(got), len(want))
	}
	series := 0
	for _, e := range got {
		if e.SeriesMasterID == "series1" && e.Type == "occurrence" && e.Subject == "Weekly review" {
			series++
		}
	}
	if series != 4 {
		t.Errorf("%d occurrences of the weekly series, want 4", series)
	}

	// The validation handshake: the token, decoded, as text/plain, at once.
	if r := (&client{t: t}).do("POST", "/webhooks/microsoft-graph?validationToken=Validation%3A+Testing+client+application", nil); r.Status != 200 ||
		r.Raw != "Validation: Testing client application" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("validation = %d %q %q", r.Status, r.Raw, r.Header.Get("Content-Type"))
	}

	// A change in Outlook, then its notification.
	msgraphFake.Edit(user, cal, "e1", func(e *msgraphtest.Event) { e.Subject = "Moved meeting"; e.Start = e.Start.Add(15 * time.Minute) })
	msgraphFake.Remove(user, cal, "e2")
	msgraphFake.Calls()
	// A forged clientState: 202, and nothing happens.
	notify(t, user, "forged-client-state")
	if calls := msgraphFake.Calls(); len(calls) != 0 {
		t.Errorf("a forged notification made Graph calls: %v", calls)
	}
	notify(t, user, "")
	if calls := msgraphFake.Calls(); len(calls) != 1 || !strings.Contains(calls[0], "/calendarView/delta") {
		t.Errorf("a notification's sync = %v, want one delta call", calls)
	}
	got = listEvents(t, a, from, to, "")
	if !slices.Equal(eventIDs(got), liveIDs(user, cal, from, to)) || slices.Contains(eventIDs(got), "e2") {
		t.Errorf("after the change: %v", eventIDs(got))
	}
	for _, e := range got {
		if e.ID == "e1" && (e.Subject != "Moved meeting" || !e.Start.Equal(day.Add(time.Hour+15*time.Minute))) {
			t.Errorf("e1 = %+v", e)
		}
	}

	// Graph drops the sync state: a full resync ends with the same events,
	// none twice, and a 429 on the way is waited out.
	msgraphFake.ResetDeltaOnce(user, cal)
	msgraphFake.Remove(user, cal, "e3")
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "late", Subject: "Added", Start: day.Add(2 * time.Hour), End: day.Add(3 * time.Hour)})
	msgraphFake.ThrottleNext(1)
	notify(t, user, "")
	got = listEvents(t, a, from, to, "")
	if want := liveIDs(user, cal, from, to); !slices.Equal(eventIDs(got), want) {
		t.Errorf("after the 410 resync: %d events, want %d; extra %v, missing %v", len(got), len(want), diff(eventIDs(got), want), diff(want, eventIDs(got)))
	}

	// An unchanged calendar: one Graph call.
	msgraphFake.Calls()
	a.must(202, "POST", "/v1/calendar/sync", nil)
	drain(t)
	if calls := msgraphFake.Calls(); len(calls) != 1 {
		t.Errorf("unchanged sync = %v, want one call", calls)
	}

	// Disconnect: subscriptions at Graph, tokens and events gone.
	a.must(204, "DELETE", "/v1/calendar/microsoft", nil)
	for _, s := range msgraphFake.Subscriptions() {
		if s.User == user {
			t.Errorf("subscription %s left at Graph", s.ID)
		}
	}
	if got := listEvents(t, a, from, to, ""); len(got) != 0 {
		t.Errorf("%d events left after the disconnect", len(got))
	}
	if err := stack.Deps.DB.Get(context.Background(), tenant.PK(a.orgID), "CALTOKEN#"+a.userID, &tok); err == nil {
		t.Error("token item left after the disconnect")
	}
}

// calendarService is the calendar service over the stack, its waits instant.
func calendarService() *calendar.Service {
	svc := calendarwire.Calendar(stack.Deps)
	svc.Graph = calendarwire.MSGraph(stack.Deps, func(context.Context, time.Duration) error { return nil })
	svc.Sleep = func(context.Context, time.Duration) error { return nil }
	return svc
}

// TestCalendarConcurrentTokenRefresh: expired access tokens are refreshed, the
// rotated refresh token replaces the old one, concurrent syncs refresh
// once (no refresh token is ever presented twice), a 401 refreshes, and a
// refused refresh marks the connection reconnect_required.
func TestCalendarConcurrentTokenRefresh(t *testing.T) {
	a := signup(t)
	user, cal := connectCalendar(t, a)
	shared := "shared-" + user
	a.must(200, "PATCH", "/v1/calendar/microsoft/calendars/"+shared, map[string]any{"sync": true})
	drain(t)
	svc := calendarService()
	ctx := context.Background()

	before := len(msgraphFake.Refreshes())
	clock.Advance(2 * time.Hour) // the access token expired
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cal
			if i%2 == 1 {
				c = shared
			}
			_, errs[i] = svc.Sync(ctx, a.orgID, a.userID, c)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("sync: %v", err)
		}
	}
	used := msgraphFake.Refreshes()[before:]
	if len(used) != 1 {
		t.Errorf("refreshes = %v, want exactly one for four concurrent syncs", used)
	}
	// A 401 refreshes with the rotated token.
	msgraphFake.ExpireAccess(user)
	if _, err := svc.Sync(ctx, a.orgID, a.userID, cal); err != nil {
		t.Fatalf("sync after a 401: %v", err)
	}
	all := msgraphFake.Refreshes()[before:]
	if len(all) != 2 || all[0] == all[1] {
		t.Errorf("refresh tokens presented = %v: each once, the rotated one second", all)
	}
	// Microsoft refuses the refresh token: reconnect required.
	msgraphFake.RevokeRefresh(user)
	msgraphFake.ExpireAccess(user)
	if _, err := svc.Sync(ctx, a.orgID, a.userID, cal); err == nil {
		t.Error("sync with a revoked refresh token succeeded")
	}
	a.login() // the app's own access token expired with the clock too
	if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); str(r.Body, "status") != "reconnect_required" {
		t.Errorf("status = %s", r.Raw)
	}
	// Reconnecting brings it back.
	msgraphFake.SignInNext(user)
	if r := finish(a, authorize(t, a, user)); !strings.HasSuffix(r.Header.Get("Location"), "calendar=connected") {
		t.Errorf("reconnect = %q", r.Header.Get("Location"))
	}
	if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); str(r.Body, "status") != "connected" {
		t.Errorf("status after reconnect = %s", r.Raw)
	}
}

// TestCalendarSubscriptionLifecycle: the renewal schedule renews, a
// renewal Graph lost recreates, and lifecycle notifications renew and
// recreate.
func TestCalendarSubscriptionLifecycle(t *testing.T) {
	a := signup(t)
	user, _ := connectCalendar(t, a)
	sub := func() msgraphtest.Subscription {
		for _, s := range msgraphFake.Subscriptions() {
			if s.User == user {
				return s
			}
		}
		t.Fatal("no subscription")
		return msgraphtest.Subscription{}
	}
	first := sub()
	clock.Advance(6*24*time.Hour + time.Hour) // within a day of expiry
	if err := calendarService().RunRenewals(context.Background()); err != nil {
		t.Fatal(err)
	}
	drain(t)
	renewed := sub()
	if renewed.ID != first.ID || renewed.Renewals != 1 || !renewed.Expires.After(first.Expires) {
		t.Errorf("renewed = %+v, first %+v", renewed, first)
	}
	// reauthorizationRequired renews.
	post := func(s msgraphtest.Subscription, event string) {
		r := (&client{t: t}).do("POST", "/webhooks/microsoft-graph", map[string]any{"value": []map[string]any{{"subscriptionId": s.ID, "clientState": s.ClientState,
			"lifecycleEvent": event}}})
		if r.Status != 202 {
			t.Fatalf("lifecycle = %d %s", r.Status, r.Raw)
		}
		drain(t)
	}
	post(renewed, "reauthorizationRequired")
	if s := sub(); s.Renewals != 2 {
		t.Errorf("after reauthorizationRequired: %+v", s)
	}
	// subscriptionRemoved: a new subscription with a new clientState.
	msgraphFake.DropSubscription(renewed.ID)
	post(renewed, "subscriptionRemoved")
	again := sub()
	if again.ID == renewed.ID || again.ClientState == renewed.ClientState {
		t.Errorf("recreated = %+v", again)
	}
	// A renewal of a subscription Graph lost recreates it.
	msgraphFake.DropSubscription(again.ID)
	if err := calendarService().Run(context.Background(), calendar.Job{Kind: calendar.JobRenew, OrgID: a.orgID, UserID: a.userID, CalendarID: "cal-" + user}); err != nil {
		t.Fatal(err)
	}
	if s := sub(); s.ID == again.ID {
		t.Errorf("lost subscription not recreated: %+v", s)
	}
	// The old subscription's clientState no longer counts.
	notify(t, user, again.ClientState)
}

// TestCalendarBookingWriteBack: a booking is written to the organizer's and
// an attendee's Outlook with the booking id as transactionId (a retried job
// makes no second event), private, with a body naming no client; a
// Matterly edit patches both; an Outlook edit of the start and location
// flows back into the booking (and its activity); the events list shows
// the booking once; the organizer deleting the event in Outlook cancels
// the booking and removes the attendee's copy.
func TestCalendarBookingWriteBack(t *testing.T) {
	a := signup(t)
	m := a.member("attorney")
	user, cal := connectCalendar(t, a)
	mUser, _ := connectCalendar(t, m)
	client := a.newClient("Casey Confidential")
	matter := a.newMatter(client)
	start := clock.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	b := a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": client, "matterId": matter, "title": "Strategy call",
		"startsAt": start.Format(time.RFC3339), "endsAt": start.Add(time.Hour).Format(time.RFC3339), "location": "Office 4", "attendees": []string{m.userID}})
	id := str(b.Body, "id")
	drain(t)
	copyOf := func(u string) *msgraphtest.Event {
		for _, c := range []string{"cal-" + u} {
			for _, e := range msgraphFake.Events(u, c) {
				if e.TransactionID == id {
					return &e
				}
			}
		}
		return nil
	}
	mine, theirs := copyOf(user), copyOf(mUser)
	if mine == nil || theirs == nil {
		t.Fatalf("written copies: organizer %v, attendee %v", mine, theirs)
	}
	if mine.Subject != "Strategy call" || !mine.Start.Equal(start) || mine.Location != "Office 4" || mine.Sensitivity != "private" ||
		!strings.Contains(mine.Body, "/matters/"+matter) || strings.Contains(mine.Body, "Casey") {
		t.Errorf("written event = %+v", mine)
	}
	// A retried write-back finds the first event.
	svc := calendarService()
	if err := svc.WriteBack(context.Background(), a.orgID, id); err != nil {
		t.Fatal(err)
	}
	// Even with its link lost, transactionId keeps it to one event.
	_ = stack.Deps.DB.Transact(context.Background(), stack.Deps.DB.Delete(tenant.PK(a.orgID), "CALWRITE#"+id+"#"+a.userID, nil))
	if err := svc.WriteBack(context.Background(), a.orgID, id); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range msgraphFake.Events(user, cal) {
		if e.TransactionID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Outlook events for the booking, want 1", n)
	}

	// A Matterly edit patches both copies.
	a.must(200, "PATCH", "/v1/bookings/"+id, map[string]any{"title": "Strategy call (moved)"})
	drain(t)
	if c := copyOf(mUser); c == nil || c.Subject != "Strategy call (moved)" {
		t.Errorf("attendee copy after the edit = %+v", c)
	}

	// The organizer's calendar synced the written event: the events list
	// shows the booking once.
	notify(t, user, "")
	evs := listEvents(t, a, start.Add(-time.Hour), start.Add(2*time.Hour), "")
	if len(evs) != 1 || evs[0].Source != "matterly" || evs[0].BookingID != id {
		t.Errorf("events = %+v, want the booking once", evs)
	}

	// Outlook edit of start and location flows back (Outlook's change is later).
	clock.Advance(time.Minute)
	moved := start.Add(2 * time.Hour)
	msgraphFake.Edit(user, cal, mine.ID, func(e *msgraphtest.Event) { e.Start, e.End, e.Location = moved, moved.Add(time.Hour), "Room 9" })
	notify(t, user, "")
	got := a.must(200, "GET", "/v1/bookings/"+id, nil)
	if str(got.Body, "startsAt") != moved.Format(time.RFC3339) || str(got.Body, "location") != "Room 9" {
		t.Errorf("booking after the Outlook edit = %s", got.Raw)
	}
	act := a.must(200, "GET", "/v1/activity", nil)
	if !strings.Contains(act.Raw, `"action":"booking.updated"`) || !strings.Contains(act.Raw, "Microsoft 365 calendar sync") {
		t.Errorf("activity does not show the Outlook change: %.1500s", act.Raw)
	}
	drain(t)
	if c := copyOf(mUser); c == nil || !c.Start.Equal(moved) || c.Location != "Room 9" {
		t.Errorf("attendee copy after the Outlook edit = %+v", c)
	}

	// The organizer deletes it in Outlook: the booking is canceled and the
	// attendee's copy removed.
	msgraphFake.Remove(user, cal, mine.ID)
	notify(t, user, "")
	got = a.must(200, "GET", "/v1/bookings/"+id, nil)
	if str(got.Body, "status") != "canceled" {
		t.Errorf("booking after the Outlook delete = %s", got.Raw)
	}
	drain(t)
	if c := copyOf(mUser); c != nil {
		t.Errorf("attendee copy left after the cancel: %+v", c)
	}
}

// TestCalendarAvailability: two members' busy time (synced busy events,
// a booking; free and private events count as they show) and their
// common free slots inside their working hours; another member's private
// event shows as busy only.
func TestCalendarAvailability(t *testing.T) {
	a := signup(t) // org time zone America/New_York
	m := a.member("staff")
	user, cal := connectCalendar(t, a)
	a.must(200, "PUT", "/v1/calendar/working-hours", map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start": "09:00", "end": "17:00"})
	m.must(200, "PUT", "/v1/calendar/working-hours", map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start": "10:00", "end": "18:00"})
	if r := m.must(200, "GET", "/v1/calendar/working-hours", nil); str(r.Body, "start") != "10:00" {
		t.Errorf("working hours = %s", r.Raw)
	}
	ny, _ := time.LoadLocation("America/New_York")
	now := clock.Now().In(ny)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, ny).AddDate(0, 0, 7)
	for day.Weekday() != time.Wednesday {
		day = day.AddDate(0, 0, 1)
	}
	at := func(h, min int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, min, 0, 0, ny) }
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "busy-" + a.userID, Subject: "Court", Start: at(11, 0), End: at(12, 30)})
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "free-" + a.userID, Subject: "Lunch maybe", Start: at(13, 0), End: at(14, 0), ShowAs: "free"})
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "priv-" + a.userID, Subject: "Doctor", Start: at(15, 0), End: at(15, 30), Sensitivity: "private"})
	notify(t, user, "")
	client := a.newClient("Casey Client")
	a.must(201, "POST", "/v1/bookings", map[string]any{"clientId": client, "title": "Intake", "startsAt": at(16, 0).Format(time.RFC3339),
		"endsAt": at(16, 30).Format(time.RFC3339), "attendees": []string{m.userID}})
	drain(t)

	q := url.Values{"userIds": {a.userID + "," + m.userID}, "from": {at(0, 0).UTC().Format(time.RFC3339)}, "to": {at(0, 0).AddDate(0, 0, 1).UTC().Format(time.RFC3339)},
		"duration": {"30"}}
	r := m.must(200, "GET", "/v1/calendar/availability?"+q.Encode(), nil)
	var av calendar.Availability
	if err := json.Unmarshal([]byte(r.Raw), &av); err != nil {
		t.Fatal(err)
	}
	iv := func(h1, m1, h2, m2 int) calendar.Interval {
		return calendar.Interval{Start: at(h1, m1).UTC(), End: at(h2, m2).UTC()}
	}
	wantBusyA := []calendar.Interval{iv(11, 0, 12, 30), iv(15, 0, 15, 30), iv(16, 0, 16, 30)}
	wantBusyM := []calendar.Interval{iv(16, 0, 16, 30)}
	if len(av.Members) != 2 || !slices.Equal(av.Members[0].Busy, wantBusyA) || !slices.Equal(av.Members[1].Busy, wantBusyM) {
		t.Errorf("busy = %+v", av.Members)
	}
	// Common hours 10:00-17:00, minus 11:00-12:30, 15:00-15:30, 16:00-16:30.
	wantFree := []calendar.Interval{iv(10, 0, 11, 0), iv(12, 30, 15, 0), iv(15, 30, 16, 0), iv(16, 30, 17, 0)}
	if !slices.Equal(av.Free, wantFree) || av.TimeZone != "America/New_York" {
		t.Errorf("free = %+v (%s), want %+v", av.Free, av.TimeZone, wantFree)
	}
	// The member sees the owner's private event as busy only.
	for _, e := range listEvents(t, m, at(0, 0), at(23, 0), a.userID) {
		if e.ID == "priv-"+a.userID && (!e.Private || e.Subject != "") {
			t.Errorf("another member's private event = %+v", e)
		}
		if e.ID == "busy-"+a.userID && e.Subject != "Court" {
			t.Errorf("another member's normal event = %+v", e)
		}
	}
	// Bad input: 422 naming the field; another org's member: 404.
	bad := url.Values{"from": {"yesterday"}, "to": {q.Get("to")}}
	if r := m.do("GET", "/v1/calendar/availability?"+bad.Encode(), nil); r.Status != 422 || !strings.Contains(r.Raw, `"field":"from"`) {
		t.Errorf("bad from = %d %s", r.Status, r.Raw)
	}
	other := signup(t)
	q.Set("userIds", other.userID)
	if r := m.do("GET", "/v1/calendar/availability?"+q.Encode(), nil); r.Status != 404 {
		t.Errorf("another org's member = %d %s", r.Status, r.Raw)
	}
}

// TestCalendarSyncCosts counts what a delta sync costs: an unchanged
// calendar is one Graph call, one DynamoDB read and no write; a page of 100
// changed events is written in batches (BatchWriteItem of 25), not one
// call per event.
func TestCalendarSyncCosts(t *testing.T) {
	a := signup(t)
	user := "ms-" + a.userID
	cal := msgraphFake.AddUser(user, strings.ToLower(a.username)+"@contoso.example", "Olive Owner")
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	for i := range 100 {
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: "c" + strconv.Itoa(i), Subject: "Meeting", Start: day.Add(time.Duration(i) * time.Hour),
			End: day.Add(time.Duration(i)*time.Hour + 30*time.Minute)})
	}
	r := finish(a, authorize(t, a, user))
	if r.Status != 302 {
		t.Fatalf("callback = %d", r.Status)
	}
	drain(t)
	svc := calendarService()
	sync := func(name string) (map[string]int, []string) {
		trace := name + "-" + a.userID
		msgraphFake.Calls()
		ctx := context.WithValue(context.Background(), traceKey{}, trace)
		if _, err := svc.Sync(ctx, a.orgID, a.userID, cal); err != nil {
			t.Fatal(err)
		}
		return calls.Of(result{trace: trace}), msgraphFake.Calls()
	}
	db, graph := sync("unchanged")
	writes := 0
	for op, n := range db {
		if isWrite(op) {
			writes += n
		}
	}
	if len(graph) != 1 || writes != 0 || db["BatchGetItem"] != 1 || len(db) != 1 {
		t.Errorf("unchanged calendar: Graph %v, DynamoDB %v; want 1 call, 1 BatchGetItem and no write", graph, db)
	}
	t.Logf("unchanged calendar: %d Graph call(s), DynamoDB %v", len(graph), db)

	for i := range 100 {
		msgraphFake.Edit(user, cal, "c"+strconv.Itoa(i), func(e *msgraphtest.Event) { e.Subject = "Moved" })
	}
	db, graph = sync("changed")
	// 99 puts and the sync item's check per transaction (a sync stops
	// writing once the calendar is no longer synced), then the delta link.
	if len(graph) != 1 || db["BatchWriteItem"] != 0 || db["PutItem"]+db["UpdateItem"] > 0 || db["TransactWriteItems"] != 3 {
		t.Errorf("100 changed events: Graph %v, DynamoDB %v; want 1 call, 2 transactions of events and the delta link in 1 transaction", graph, db)
	}
	t.Logf("100 changed events: %d Graph call(s), DynamoDB %v", len(graph), db)

	// Notification to event visible: the webhook, the queued sync, the read.
	var took []time.Duration
	for i := range 5 {
		clock.Advance(6 * time.Second) // past the notification dedupe window
		subject := "Visible " + strconv.Itoa(i)
		msgraphFake.Edit(user, cal, "c1", func(e *msgraphtest.Event) { e.Subject = subject })
		start := time.Now()
		notify(t, user, "")
		evs := listEvents(t, a, day, day.Add(2*time.Hour), "")
		took = append(took, time.Since(start))
		if !slices.ContainsFunc(evs, func(e calEvent) bool { return e.Subject == subject }) {
			t.Fatalf("change %d not visible after its notification", i)
		}
	}
	slices.Sort(took)
	t.Logf("notification to visible: p50 %v (of %v)", took[len(took)/2], took)
}

// TestCalendarPrivacy: the export lists a member's synced events and
// connection without tokens; the erasure removes the subscriptions at
// Graph, the tokens, the events and the working hours.
func TestCalendarPrivacy(t *testing.T) {
	a := signup(t)
	user, cal := connectCalendar(t, a)
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "p-" + a.userID, Subject: "Private matter", Start: day, End: day.Add(time.Hour)})
	notify(t, user, "")
	a.must(200, "PUT", "/v1/calendar/working-hours", map[string]any{"days": []string{"mon"}, "start": "09:00", "end": "12:00"})
	svc := calendarService()
	ctx := context.Background()
	exp, err := svc.ExportMember(ctx, a.orgID, a.userID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(exp)
	if len(exp.Events) != 1 || exp.Events[0].Subject != "Private matter" || exp.Account == nil || exp.WorkingHours == nil ||
		strings.Contains(string(raw), "at-") || strings.Contains(string(raw), "l1.") {
		t.Errorf("export = %s", raw)
	}
	if org, err := svc.ExportOrg(ctx, a.orgID); err != nil || len(org) != 1 {
		t.Errorf("org export = %d, %v", len(org), err)
	}
	owner := caller.Caller{OrgID: a.orgID, UserID: a.userID, Role: access.Owner}
	if err := svc.DeleteMember(ctx, owner, a.orgID, a.userID); err != nil {
		t.Fatal(err)
	}
	for _, s := range msgraphFake.Subscriptions() {
		if s.User == user {
			t.Errorf("subscription %s left at Graph", s.ID)
		}
	}
	left, err := queryLeft(a.orgID, a.userID)
	if err != nil || len(left) != 0 {
		t.Errorf("calendar items left after the erasure: %v, %v", left, err)
	}
	if exp, _ := svc.ExportMember(ctx, a.orgID, a.userID); exp.Account != nil || len(exp.Events) != 0 || exp.WorkingHours != nil {
		t.Errorf("export after the erasure = %+v", exp)
	}
}

// queryLeft lists the sort keys of the member's calendar items.
func queryLeft(orgID, userID string) ([]string, error) {
	var out []string
	for _, pf := range []string{"CALCONN#", "CALTOKEN#", "CALSYNC#", "CALEVT#", "CALHOURS#", "CALWRITE#"} {
		var rows []struct{ SK string }
		if _, err := stack.Deps.DB.QueryPage(context.Background(), store.Query{PK: tenant.PK(orgID), SKPrefix: pf, Consistent: true}, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			if strings.Contains(r.SK, userID) {
				out = append(out, r.SK)
			}
		}
	}
	return out, nil
}

// TestCalendarReconnectOtherAccount: connecting another Microsoft account
// replaces the first one's calendars, events and subscriptions.
func TestCalendarReconnectOtherAccount(t *testing.T) {
	a := signup(t)
	first, cal := connectCalendar(t, a)
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	msgraphFake.Put(first, cal, msgraphtest.Event{ID: "old-" + a.userID, Subject: "Old account", Start: day, End: day.Add(time.Hour)})
	notify(t, first, "")
	second := "ms2-" + a.userID
	cal2 := msgraphFake.AddUser(second, "second-"+strings.ToLower(a.username)+"@contoso.example", "Olive Again")
	msgraphFake.Put(second, cal2, msgraphtest.Event{ID: "new-" + a.userID, Subject: "New account", Start: day, End: day.Add(time.Hour)})
	if r := finish(a, authorize(t, a, second)); !strings.HasSuffix(r.Header.Get("Location"), "calendar=connected") {
		t.Fatalf("second connect = %q", r.Header.Get("Location"))
	}
	drain(t)
	evs := listEvents(t, a, day, day.Add(2*time.Hour), "")
	if got := eventIDs(evs); !slices.Equal(got, []string{"new-" + a.userID}) {
		t.Errorf("events = %v, want only the new account's", got)
	}
	for _, s := range msgraphFake.Subscriptions() {
		if s.User == first {
			t.Errorf("the first account's subscription %s is left", s.ID)
		}
	}
	if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); !strings.Contains(r.Raw, "second-") || strings.Contains(r.Raw, "cal-"+first) {
		t.Errorf("status = %s", r.Raw)
	}
}

// TestCalendarCanceledBookingNoReminder: a booking canceled from Outlook
// sends its client no appointment reminder.
func TestCalendarCanceledBookingNoReminder(t *testing.T) {
	o := newSMSOrg(t)
	start := clock.Now().Add(23 * time.Hour).UTC().Truncate(time.Minute)
	id := str(o.must(201, "POST", "/v1/bookings", map[string]any{"clientId": o.clientID, "title": "Consultation", "startsAt": start.Format(time.RFC3339),
		"endsAt": start.Add(time.Hour).Format(time.RFC3339), "smsReminder": true}).Body, "id")
	drain(t)
	a := caller.Caller{OrgID: o.orgID, UserID: o.userID, Role: access.Owner}
	if err := calendarService().CRM.CancelBooking(context.Background(), a, id, "its event was deleted in Outlook"); err != nil {
		t.Fatal(err)
	}
	if err := stack.Scheduler.Trigger(context.Background(), ReminderSchedule); err != nil {
		t.Fatal(err)
	}
	drain(t)
	if sent := twilioFake.to(o.phone); len(sent) != 0 {
		t.Errorf("reminders sent for a canceled booking: %v", sent)
	}
}

// TestCalendarMemberRemovedErased: a member who leaves (removed by an
// admin, or deleting their own account) keeps nothing in the calendar:
// the member.removed event takes the worker to end their subscriptions at
// Graph and delete their connection, tokens, events and working hours.
func TestCalendarMemberRemovedErased(t *testing.T) {
	a := signup(t)
	for _, leave := range []string{"removed", "deleted own account"} {
		m := a.member("attorney")
		user, cal := connectCalendar(t, m)
		day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: "e-" + m.userID, Subject: "Deposition", Start: day, End: day.Add(time.Hour)})
		notify(t, user, "")
		m.must(200, "PUT", "/v1/calendar/working-hours", map[string]any{"days": []string{"tue"}, "start": "09:00", "end": "12:00"})
		if left, err := queryLeft(a.orgID, m.userID); err != nil || len(left) == 0 {
			t.Fatalf("%s: nothing synced before: %v, %v", leave, left, err)
		}
		if leave == "removed" {
			a.must(204, "DELETE", "/v1/users/"+m.userID, nil)
		} else {
			m.must(204, "DELETE", "/v1/me", map[string]any{"currentPassword": m.password})
		}
		drain(t)
		if left, err := queryLeft(a.orgID, m.userID); err != nil || len(left) != 0 {
			t.Errorf("%s: calendar items left: %v, %v", leave, left, err)
		}
		for _, s := range msgraphFake.Subscriptions() {
			if s.User == user {
				t.Errorf("%s: subscription %s left at Graph", leave, s.ID)
			}
		}
	}
}

// TestCalendarAccountInUse: a Microsoft account is one member's
// connection: another member (of any org) connecting it is refused, until
// its member disconnects.
func TestCalendarAccountInUse(t *testing.T) {
	a := signup(t)
	user, _ := connectCalendar(t, a)
	for _, b := range []*account{a.member("attorney"), signup(t)} {
		if r := finish(b, authorize(t, b, user)); r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=error&reason=account_in_use" {
			t.Errorf("connecting another member's account = %d %q", r.Status, r.Header.Get("Location"))
		}
		var none struct{ Sealed string }
		if err := stack.Deps.DB.Get(context.Background(), tenant.PK(b.orgID), "CALTOKEN#"+b.userID, &none); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused connect stored tokens: %v", err)
		}
	}
	// The member reconnecting their own account is fine.
	if r := finish(a, authorize(t, a, user)); r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=connected" {
		t.Errorf("reconnect = %d %q", r.Status, r.Header.Get("Location"))
	}
	a.must(204, "DELETE", "/v1/calendar/microsoft", nil)
	b := signup(t)
	if r := finish(b, authorize(t, b, user)); r.Header.Get("Location") != publicURL+"/settings/calendar?calendar=connected" {
		t.Errorf("connect after the disconnect = %d %q", r.Status, r.Header.Get("Location"))
	}
	drain(t)
}

// holdingGraph holds the delta call after the first page with events
// until released.
type holdingGraph struct {
	calendar.Graph
	got              bool
	reached, release chan struct{}
}

func (g *holdingGraph) Delta(ctx context.Context, access, calID, link string, from, to time.Time) (calendar.DeltaPage, error) {
	if g.got && g.reached != nil {
		close(g.reached)
		g.reached = nil
		<-g.release
	}
	p, err := g.Graph.Delta(ctx, access, calID, link, from, to)
	if err == nil && len(p.Events) > 0 {
		g.got = true
	}
	return p, err
}

// TestCalendarDisconnectDuringSync: a multi-page sync running while the
// member disconnects writes no event back after the disconnect deleted
// them (each page's writes check the calendar is still synced).
func TestCalendarDisconnectDuringSync(t *testing.T) {
	a := signup(t)
	b := a.member("attorney")
	user, cal := connectCalendar(t, a)
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	for i := range 150 {
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: "d" + strconv.Itoa(i), Subject: "Client meeting", Start: day.Add(time.Duration(i) * time.Minute),
			End: day.Add(time.Duration(i)*time.Minute + time.Minute)})
	}
	msgraphFake.ResetDeltaOnce(user, cal) // a full resync: two pages
	svc := calendarService()
	g := &holdingGraph{Graph: svc.Graph, reached: make(chan struct{}), release: make(chan struct{})}
	svc.Graph = g
	done := make(chan error, 1)
	go func() { _, err := svc.Sync(context.Background(), a.orgID, a.userID, cal); done <- err }()
	<-g.reached
	if left, _ := queryLeft(a.orgID, a.userID); !slices.ContainsFunc(left, func(sk string) bool { return strings.HasPrefix(sk, "CALEVT#") }) {
		t.Fatalf("the first page wrote no event: %v", left)
	}
	a.must(204, "DELETE", "/v1/calendar/microsoft", nil)
	close(g.release)
	if err := <-done; err != nil {
		t.Errorf("sync = %v", err)
	}
	left, err := queryLeft(a.orgID, a.userID)
	if err != nil || len(left) != 0 {
		t.Errorf("items left after the disconnect: %d %v (%v)", len(left), left[:min(3, len(left))], err)
	}
	if evs := listEvents(t, b, day, day.Add(24*time.Hour), a.userID); len(evs) != 0 {
		t.Errorf("a colleague sees %d events after the disconnect", len(evs))
	}
}

// TestCalendarSharedAndPersonal: the events of a calendar another mailbox
// shares with a member are the member's to see only: they count in no
// one's availability (the member's own included) and colleagues never see
// them; an event of sensitivity personal is private as private and
// confidential are (colleagues see busy time only).
func TestCalendarSharedAndPersonal(t *testing.T) {
	a := signup(t)
	m := a.member("staff")
	user, cal := connectCalendar(t, a)
	shared := "shared-" + user
	a.must(200, "PATCH", "/v1/calendar/microsoft/calendars/"+shared, map[string]any{"sync": true})
	drain(t)
	ny, _ := time.LoadLocation("America/New_York")
	now := clock.Now().In(ny)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, ny).AddDate(0, 0, 7)
	at := func(h, min int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, min, 0, 0, ny) }
	msgraphFake.Put(user, shared, msgraphtest.Event{ID: "team-" + a.userID, Subject: "Team offsite", Location: "Boardroom", Start: at(10, 0), End: at(11, 0),
		Attendees: []string{"team@example.com"}})
	for _, sens := range []string{"personal", "private", "confidential"} {
		h := map[string]int{"personal": 12, "private": 13, "confidential": 14}[sens]
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: sens + "-" + a.userID, Subject: "Secret " + sens, Location: "Clinic", Start: at(h, 0), End: at(h, 30),
			Attendees: []string{"doctor@example.com"}, Sensitivity: sens})
	}
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "normal-" + a.userID, Subject: "Court", Start: at(15, 0), End: at(16, 0)})
	notify(t, user, "")

	iv := func(h1, m1, h2, m2 int) calendar.Interval {
		return calendar.Interval{Start: at(h1, m1).UTC(), End: at(h2, m2).UTC()}
	}
	want := []calendar.Interval{iv(12, 0, 12, 30), iv(13, 0, 13, 30), iv(14, 0, 14, 30), iv(15, 0, 16, 0)}
	q := url.Values{"userIds": {a.userID}, "from": {at(0, 0).UTC().Format(time.RFC3339)}, "to": {at(0, 0).AddDate(0, 0, 1).UTC().Format(time.RFC3339)}}
	for who, c := range map[string]*account{"the member": a, "a colleague": m} {
		var av calendar.Availability
		if err := json.Unmarshal([]byte(c.must(200, "GET", "/v1/calendar/availability?"+q.Encode(), nil).Raw), &av); err != nil {
			t.Fatal(err)
		}
		if len(av.Members) != 1 || !slices.Equal(av.Members[0].Busy, want) {
			t.Errorf("availability asked by %s = %+v, want busy %+v (the shared calendar's event not counted)", who, av.Members, want)
		}
	}

	// A colleague: no shared calendar's event; personal, private and
	// confidential events as busy time only.
	seen := map[string]bool{}
	r := m.must(200, "GET", "/v1/calendar/events?"+url.Values{"from": {at(0, 0).UTC().Format(time.RFC3339)}, "to": {at(23, 0).UTC().Format(time.RFC3339)},
		"userId": {a.userID}}.Encode(), nil)
	var out struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		t.Fatal(err)
	}
	for _, e := range out.Items {
		id, _ := e["id"].(string)
		seen[id] = true
		switch id {
		case "team-" + a.userID:
			t.Errorf("a colleague sees the shared calendar's event: %v", e)
		case "personal-" + a.userID, "private-" + a.userID, "confidential-" + a.userID:
			if e["private"] != true || e["subject"] != nil || e["location"] != nil || e["attendees"] != nil || e["organizer"] != nil || e["showAs"] != "busy" {
				t.Errorf("a colleague sees %s as %v, want busy time only", id, e)
			}
		case "normal-" + a.userID:
			if e["subject"] != "Court" || e["private"] != false {
				t.Errorf("a colleague sees the normal event as %v", e)
			}
		}
	}
	if !seen["personal-"+a.userID] || !seen["normal-"+a.userID] {
		t.Errorf("a colleague's listing = %s", r.Raw)
	}
	// The member themself sees everything, the shared calendar too.
	mine := map[string]calEvent{}
	for _, e := range listEvents(t, a, at(0, 0), at(23, 0), "") {
		mine[e.ID] = e
	}
	if e := mine["team-"+a.userID]; e.Subject != "Team offsite" || e.Location != "Boardroom" || e.Private {
		t.Errorf("the member's own shared-calendar event = %+v", e)
	}
	if e := mine["personal-"+a.userID]; e.Subject != "Secret personal" || e.Private {
		t.Errorf("the member's own personal event = %+v", e)
	}
}

// heldRefresh is Graph whose first refresh, once Microsoft answered, is
// held until released: the answer arrives while the test changes the
// connection.
type heldRefresh struct {
	calendar.Graph
	held             atomic.Bool
	entered, release chan struct{}
}

func (h *heldRefresh) Refresh(ctx context.Context, rt string) (calendar.Tokens, error) {
	tok, err := h.Graph.Refresh(ctx, rt)
	if h.held.CompareAndSwap(false, true) {
		h.entered <- struct{}{}
		<-h.release
	}
	return tok, err
}

// TestCalendarRefreshRacesDisconnect: a refresh whose answer arrives after
// the member disconnected stores nothing (the connection stays gone), and
// after the member disconnected and connected again it does not replace
// the new connection's tokens with the old ones: the token write holds
// only over the tokens it was read with, while the connection exists.
func TestCalendarRefreshRacesDisconnect(t *testing.T) {
	a := signup(t)
	owner := caller.Caller{OrgID: a.orgID, UserID: a.userID, Role: access.Owner}
	ctx := context.Background()
	tokenItem := func() (string, error) {
		var tok struct{ Sealed string }
		err := stack.Deps.DB.Get(ctx, tenant.PK(a.orgID), "CALTOKEN#"+a.userID, &tok)
		return tok.Sealed, err
	}
	for _, reconnect := range []bool{false, true} {
		user, cal := connectCalendar(t, a)
		svc := calendarService()
		h := &heldRefresh{Graph: svc.Graph, entered: make(chan struct{}), release: make(chan struct{})}
		svc.Graph = h
		msgraphFake.ExpireAccess(user) // the sync's Graph call answers 401: it refreshes
		done := make(chan error, 1)
		go func() {
			_, err := svc.Sync(ctx, a.orgID, a.userID, cal)
			done <- err
		}()
		<-h.entered // Microsoft issued new tokens; not stored yet
		if err := svc.Disconnect(ctx, owner); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		var want string
		if reconnect {
			msgraphFake.SignInNext(user)
			if r := finish(a, authorize(t, a, user)); !strings.HasSuffix(r.Header.Get("Location"), "calendar=connected") {
				t.Fatalf("reconnect = %q", r.Header.Get("Location"))
			}
			var err error
			if want, err = tokenItem(); err != nil {
				t.Fatal(err)
			}
		}
		close(h.release)
		err := <-done
		got, gerr := tokenItem()
		if !reconnect {
			if err == nil {
				t.Error("a sync whose connection was removed meanwhile succeeded")
			}
			if !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("the refresh resurrected the disconnected connection's tokens: %v", gerr)
			}
			if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); str(r.Body, "status") != "disconnected" {
				t.Errorf("status after the racing refresh = %s", r.Raw)
			}
			continue
		}
		if err != nil {
			t.Errorf("sync after the reconnect: %v", err)
		}
		if gerr != nil || got != want {
			t.Errorf("the old connection's refresh replaced the reconnected tokens (%v)", gerr)
		}
		if r := a.must(200, "GET", "/v1/calendar/microsoft", nil); str(r.Body, "status") != "connected" {
			t.Errorf("status after the reconnect = %s", r.Raw)
		}
		drain(t)
	}
}

// cutDelta is Graph whose delta call number failAt (from 1) fails before
// reaching Graph, as a run cut short by its Lambda timeout.
type cutDelta struct {
	calendar.Graph
	n, failAt atomic.Int32
}

func (c *cutDelta) Delta(ctx context.Context, access, calID, link string, from, to time.Time) (calendar.DeltaPage, error) {
	if c.n.Add(1) == c.failAt.Load() {
		return calendar.DeltaPage{}, context.DeadlineExceeded
	}
	return c.Graph.Delta(ctx, access, calID, link, from, to)
}

// TestCalendarSyncResumes: a large sync cut short after its first page
// resumes at the second page on its next run (the nextLink saved after
// each page's writes), for a full resync (whose end still removes what
// Graph no longer lists) and a delta alike; a 410 on the saved nextLink
// starts a full resync. Each ends with Graph's events, none twice.
func TestCalendarSyncResumes(t *testing.T) {
	a := signup(t)
	user, cal := connectCalendar(t, a)
	day := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	msgraphFake.Put(user, cal, msgraphtest.Event{ID: "gone-" + a.userID, Subject: "Removed while resyncing", Start: day, End: day.Add(time.Hour)})
	notify(t, user, "")
	for i := range 250 { // three pages of 100
		msgraphFake.Put(user, cal, msgraphtest.Event{ID: "r" + strconv.Itoa(i), Subject: "Meeting " + strconv.Itoa(i), Start: day.Add(time.Duration(i) * time.Hour),
			End: day.Add(time.Duration(i)*time.Hour + 30*time.Minute)})
	}
	msgraphFake.Remove(user, cal, "gone-"+a.userID)
	svc := calendarService()
	g := &cutDelta{Graph: svc.Graph}
	svc.Graph = g
	ctx := context.Background()
	from, to := day.Add(-time.Hour), day.AddDate(0, 0, 30)
	sync := func(failAt int32) (calendar.SyncResult, []string, error) {
		g.n.Store(0)
		g.failAt.Store(failAt)
		msgraphFake.Calls()
		res, err := svc.Sync(ctx, a.orgID, a.userID, cal)
		return res, msgraphFake.Calls(), err
	}
	check := func(when string) {
		t.Helper()
		got := eventIDs(listEvents(t, a, from, to, ""))
		want := liveIDs(user, cal, from, to)
		if !slices.Equal(got, want) || len(want) != 250 {
			t.Errorf("%s: %d events, want %d; extra %v, missing %v", when, len(got), len(want), diff(got, want), diff(want, got))
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Errorf("%s: event %s listed twice", when, id)
			}
			seen[id] = true
		}
	}

	// A full resync (Graph dropped the state) cut short on its second page.
	msgraphFake.ResetDeltaOnce(user, cal)
	if _, calls, err := sync(3); err == nil || len(calls) != 2 {
		t.Fatalf("cut sync = %v, Graph %v; want an error after the 410 and the first page", err, calls)
	}
	res, calls, err := sync(0)
	if err != nil || len(calls) != 2 || res.Pages != 2 {
		t.Errorf("resumed full sync = %+v, %v, Graph %v; want pages 2 and 3 only", res, err, calls)
	}
	for _, c := range calls {
		if !strings.Contains(c, "/calendarView/delta") {
			t.Errorf("resumed sync called %s", c)
		}
	}
	check("after the resumed full sync")
	if res, calls, err := sync(0); err != nil || len(calls) != 1 || res.Upserts != 0 {
		t.Errorf("then unchanged = %+v, %v, Graph %v; want one call (the final deltaLink stored)", res, err, calls)
	}

	// A delta of 250 changes cut short on its second page resumes there.
	for i := range 250 {
		msgraphFake.Edit(user, cal, "r"+strconv.Itoa(i), func(e *msgraphtest.Event) { e.Subject = "Moved" })
	}
	if _, calls, err := sync(2); err == nil || len(calls) != 1 {
		t.Fatalf("cut delta = %v, Graph %v; want an error after the first page", err, calls)
	}
	if res, calls, err := sync(0); err != nil || len(calls) != 2 || res.Pages != 2 || res.Upserts != 150 {
		t.Errorf("resumed delta = %+v, %v, Graph %v; want pages 2 and 3 only", res, err, calls)
	}
	check("after the resumed delta")

	// Graph drops the state behind a saved nextLink: a full resync.
	for i := range 250 {
		msgraphFake.Edit(user, cal, "r"+strconv.Itoa(i), func(e *msgraphtest.Event) { e.Subject = "Again" })
	}
	if _, _, err := sync(2); err == nil {
		t.Fatal("cut delta succeeded")
	}
	msgraphFake.Remove(user, cal, "r7") // listed on the first page already
	msgraphFake.ResetDeltaOnce(user, cal)
	if res, calls, err := sync(0); err != nil || !res.Reset || len(calls) != 4 || res.Pages != 3 {
		t.Errorf("410 on the saved nextLink = %+v, %v, Graph %v; want the 410 then a full resync of 3 pages", res, err, calls)
	}
	got := eventIDs(listEvents(t, a, from, to, ""))
	if want := liveIDs(user, cal, from, to); !slices.Equal(got, want) || slices.Contains(got, "r7") {
		t.Errorf("after the 410 resync: extra %v, missing %v", diff(got, want), diff(want, got))
	}
}
