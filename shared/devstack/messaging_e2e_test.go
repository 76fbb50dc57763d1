package devstack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/messaging/twiliosig"
)

// The Twilio account the stack is configured with, and the public URL
// Twilio signs its webhooks for.
const (
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "0123456789abcdef0123456789abcdef"
	publicURL   = "https://matterly.example"
)

// fakeTwilio is Twilio's Messages API as the worker sees it: it checks the
// path and Basic auth, records each message's form, and can fail the next
// sends to a number.
type fakeTwilio struct {
	mu    sync.Mutex
	sent  []url.Values
	fails map[string][]twilioFailure
	n     int
	// bought and services are the provisioning requests (senders_e2e_test.go).
	bought, searches, services []url.Values
	// hold, when set, stops the next number purchase until released.
	hold *twilioHold
}

type twilioFailure struct {
	status int
	code   int
}

var twilioFake = &fakeTwilio{fails: map[string][]twilioFailure{}}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.provision(w, r) {
		return
	}
	user, pass, ok := r.BasicAuth()
	if r.Method != "POST" || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || !ok || user != twilioSID || pass != twilioToken ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	to := r.PostForm.Get("To")
	if q := f.fails[to]; len(q) > 0 {
		f.fails[to] = q[1:]
		if q[0].status < 300 { // accepted, but the answer is lost on the way back
			f.sent = append(f.sent, r.PostForm)
			w.WriteHeader(q[0].status)
			io.WriteString(w, "{truncated")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(q[0].status)
		fmt.Fprintf(w, `{"code":%d,"message":"refused","more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, q[0].code, q[0].code, q[0].status)
		return
	}
	f.n++
	f.sent = append(f.sent, r.PostForm)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","to":%q,"body":%q}`, f.n, to, r.PostForm.Get("Body"))
}

// to lists the forms of the messages sent to number.
func (f *fakeTwilio) to(number string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, v := range f.sent {
		if v.Get("To") == number {
			out = append(out, v)
		}
	}
	return out
}

func (f *fakeTwilio) fail(number string, fs ...twilioFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[number] = fs
}

// drain delivers every queued message and event.
func drain(t testing.TB) {
	t.Helper()
	if err := stack.Broker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// smsOrg is an org with an SMS number, no quiet hours (so the tests do not
// depend on the hour they run at) and a client with a phone and an email.
type smsOrg struct {
	*account
	from, phone, email, clientID string
}

func newSMSOrg(t testing.TB) *smsOrg {
	t.Helper()
	a := signup(t)
	n := seq.Add(1)
	o := &smsOrg{account: a, phone: fmt.Sprintf("+1646%07d", n), email: fmt.Sprintf("client%d@example.com", n)}
	// The number is the platform's, bought for the org.
	o.from = str(a.must(201, "POST", "/v1/messaging/sms-numbers", map[string]any{}).Body, "smsFromNumber")
	a.must(200, "PATCH", "/v1/messaging/settings", map[string]any{"quietHoursStart": "00:00", "quietHoursEnd": "00:00"})
	o.clientID = str(a.must(201, "POST", "/v1/clients", map[string]any{"name": "Carla Client", "kind": "person", "phone": o.phone, "email": o.email}).Body, "id")
	return o
}

// twilioPost posts a form to a Twilio webhook path, signed as Twilio signs
// it (token "" sends no signature).
func twilioPost(t testing.TB, pathAndQuery string, form url.Values, token string) result {
	t.Helper()
	headers := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if token != "" {
		headers = append(headers, "X-Twilio-Signature", twiliosig.Sign(token, publicURL+pathAndQuery, form))
	}
	return (&client{t: t}).do("POST", pathAndQuery, form.Encode(), headers...)
}

var inboundSeq = 0

// inbound is the client texting the org.
func (o *smsOrg) inbound(t testing.TB, body string) result {
	inboundSeq++
	return o.inboundSid(t, fmt.Sprintf("SMin%030d", inboundSeq), body)
}

func (o *smsOrg) inboundSid(t testing.TB, sid, body string) result {
	t.Helper()
	return twilioPost(t, "/webhooks/twilio/sms", url.Values{"MessageSid": {sid}, "AccountSid": {twilioSID}, "From": {o.phone},
		"To": {o.from}, "Body": {body}, "NumMedia": {"0"}}, twilioToken)
}

func (o *smsOrg) sms(c *client, want int, body string) result {
	c.t.Helper()
	return c.must(want, "POST", "/v1/messages/sms", map[string]any{"clientId": o.clientID, "body": body, "kind": "general"})
}

func (o *smsOrg) consent(t testing.TB) []any {
	t.Helper()
	r := o.must(200, "GET", "/v1/consent?phone="+url.QueryEscape(o.phone), nil)
	items, _ := r.Body["items"].([]any)
	return items
}

func (o *smsOrg) message(t testing.TB, id string) map[string]any {
	t.Helper()
	r := o.must(200, "GET", "/v1/messages?clientId="+o.clientID+"&limit=100", nil)
	items, _ := r.Body["items"].([]any)
	for _, it := range items {
		if m := it.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("message %s not in the conversation: %s", id, r.Raw)
	return nil
}

// TestSMSStopFlow is the "done when": a staff member texts a
// client, the client replies STOP through a signed webhook, the next send
// is refused with 409, and the consent log shows the change; START undoes it.
func TestSMSStopFlow(t *testing.T) {
	o := newSMSOrg(t)
	staff := o.member("staff")
	r := o.sms(staff.client, 202, "Your documents are ready.")
	id := str(r.Body, "id")
	if str(r.Body, "status") != "queued" || str(r.Body, "body") != "Firm "+strings.TrimPrefix(str(o.must(200, "GET", "/v1/org", nil).Body, "name"), "Firm ")+": Your documents are ready." {
		t.Fatalf("queued message %s", r.Raw)
	}
	drain(t)
	sent := twilioFake.to(o.phone)
	if len(sent) != 1 {
		t.Fatalf("twilio got %d messages, want 1", len(sent))
	}
	want := url.Values{"To": {o.phone}, "From": {o.from}, "Body": {str(r.Body, "body")},
		"StatusCallback": {publicURL + "/webhooks/twilio/status?msg=" + id + "&org=" + o.orgID}}
	for k, v := range want {
		if sent[0].Get(k) != v[0] {
			t.Errorf("twilio form %s = %q, want %q", k, sent[0].Get(k), v[0])
		}
	}
	if m := o.message(t, id); m["status"] != "sent" || !strings.HasPrefix(fmt.Sprint(m["providerId"]), "SM") {
		t.Errorf("after the worker: %v", m)
	}

	stop := o.inbound(t, " stop ")
	if stop.Status != 200 || !strings.HasPrefix(stop.Header.Get("Content-Type"), "text/xml") || !strings.Contains(stop.Raw, "<Response/>") {
		t.Fatalf("STOP answered %d %q: %s", stop.Status, stop.Header.Get("Content-Type"), stop.Raw)
	}
	refused := o.sms(staff.client, 409, "Are you there?")
	if str(refused.Body, "rule") != "messaging.opted-out" {
		t.Errorf("refusal %s", refused.Raw)
	}
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 1 {
		t.Errorf("twilio got %d messages after the STOP, want still 1", n)
	}
	log := o.consent(t)
	if len(log) != 1 {
		t.Fatalf("consent log %v", log)
	}
	e := log[0].(map[string]any)
	if e["state"] != "opted_out" || e["method"] != "keyword" || e["keyword"] != "STOP" || e["address"] != o.phone || e["at"] == nil || e["providerId"] == nil {
		t.Errorf("consent entry %v", e)
	}

	// Twilio retries a webhook it got no answer to: nothing is logged twice.
	o.inboundSid(t, fmt.Sprint(e["providerId"]), "STOP")
	if n := len(o.consent(t)); n != 1 {
		t.Errorf("a retried STOP logged %d entries, want 1", n)
	}

	o.inbound(t, "START")
	log = o.consent(t)
	if len(log) != 2 || log[0].(map[string]any)["state"] != "opted_in" {
		t.Fatalf("after START, consent log %v", log)
	}
	o.sms(staff.client, 202, "Welcome back.")
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 2 {
		t.Errorf("twilio got %d messages after START, want 2", n)
	}
	conv := o.must(200, "GET", "/v1/messages?clientId="+o.clientID, nil)
	if strings.Count(conv.Raw, `"direction":"inbound"`) != 2 || strings.Count(conv.Raw, `"status":"blocked"`) != 0 {
		t.Errorf("conversation %s", conv.Raw)
	}
}

// TestKeywordMatching sends the keywords as a client would: only a
// whole-message keyword changes consent (an opt-out also with trailing
// punctuation, full-width or with zero-width characters inside).
func TestKeywordMatching(t *testing.T) {
	o := newSMSOrg(t)
	for _, tt := range []struct {
		body, want string // want: the consent state after, "" for unchanged
	}{
		{"STOP please", ""},
		{" stop ", "opted_out"},
		{"unstop", "opted_in"},
		{"revoke", "opted_out"},
		{"YES", "opted_in"},
		{"OptOut", "opted_out"},
		{"start now", ""},
		{"Help", ""},
		{"START", "opted_in"},
		{"ＳＴＯＰ.", "opted_out"},
		{"Yes!", ""},
		{"S\u200bTART", "opted_in"},
		{"stop by tomorrow?", ""},
		{"Opt-Out", "opted_out"},
	} {
		before := len(o.consent(t))
		if r := o.inbound(t, tt.body); r.Status != 200 {
			t.Fatalf("%q answered %d", tt.body, r.Status)
		}
		log := o.consent(t)
		switch {
		case tt.want == "" && len(log) != before:
			t.Errorf("%q changed consent", tt.body)
		case tt.want != "" && (len(log) != before+1 || log[0].(map[string]any)["state"] != tt.want):
			t.Errorf("%q: consent log %v, want %s on top", tt.body, log, tt.want)
		}
	}
}

// TestSendQueuedBeforeStop: a message queued a moment before the STOP
// arrives is never sent: the worker's claim checks consent again.
func TestSendQueuedBeforeStop(t *testing.T) {
	o := newSMSOrg(t)
	id := str(o.sms(o.client, 202, "Queued just before the STOP").Body, "id")
	o.inbound(t, "STOP")
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 0 {
		t.Fatalf("twilio got %d messages, want 0", n)
	}
	if m := o.message(t, id); m["status"] != "blocked" || m["errorCode"] != "opted_out" {
		t.Errorf("message %v", m)
	}
}

// TestTwilioWebhookRefusals: a webhook whose signature does not verify is
// refused with 403 and stores nothing.
func TestTwilioWebhookRefusals(t *testing.T) {
	o := newSMSOrg(t)
	form := url.Values{"MessageSid": {"SMrefused0000000000000000000000001"}, "From": {o.phone}, "To": {o.from}, "Body": {"STOP"}}
	before := itemCount(t)
	for name, r := range map[string]result{
		"unsigned":      twilioPost(t, "/webhooks/twilio/sms", form, ""),
		"wrong token":   twilioPost(t, "/webhooks/twilio/sms", form, "not_the_token"),
		"status forged": twilioPost(t, "/webhooks/twilio/status?org="+o.orgID+"&msg=x", url.Values{"MessageStatus": {"delivered"}}, "not_the_token"),
		"tampered body": (&client{t: t}).do("POST", "/webhooks/twilio/sms", strings.Replace(form.Encode(), "STOP", "START", 1),
			"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", twiliosig.Sign(twilioToken, publicURL+"/webhooks/twilio/sms", form)),
	} {
		if r.Status != 403 || !strings.Contains(r.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if after := itemCount(t); after != before {
		t.Errorf("refused webhooks wrote %d items", after-before)
	}
}

// TestStatusCallbacks: Twilio's delivery statuses update the message, and
// a late "sent" never moves a delivered message back.
func TestStatusCallbacks(t *testing.T) {
	o := newSMSOrg(t)
	id := str(o.sms(o.client, 202, "Status please").Body, "id")
	drain(t)
	cb := "/webhooks/twilio/status?" + url.Values{"org": {o.orgID}, "msg": {id}}.Encode()
	for _, status := range []string{"delivered", "sent"} {
		if r := twilioPost(t, cb, url.Values{"MessageSid": {"SMx"}, "MessageStatus": {status}, "AccountSid": {twilioSID}}, twilioToken); r.Status != 204 {
			t.Fatalf("%s callback: %d %s", status, r.Status, r.Raw)
		}
	}
	if m := o.message(t, id); m["status"] != "delivered" {
		t.Errorf("message %v", m)
	}
}

// TestTwilioFailures: a permanent refusal fails the message without a
// retry (21610 also records the opt-out Twilio holds); a 503 is retried.
func TestTwilioFailures(t *testing.T) {
	o := newSMSOrg(t)
	twilioFake.fail(o.phone, twilioFailure{400, 21610})
	id := str(o.sms(o.client, 202, "Blocked at Twilio").Body, "id")
	drain(t)
	if m := o.message(t, id); m["status"] != "failed" || m["errorCode"] != "21610" || m["attempts"] != float64(1) {
		t.Errorf("message %v", m)
	}
	if log := o.consent(t); len(log) != 1 || log[0].(map[string]any)["method"] != "provider" {
		t.Errorf("consent log %v", log)
	}
	o.sms(o.client, 409, "Refused at the API now")

	p := newSMSOrg(t)
	twilioFake.fail(p.phone, twilioFailure{503, 0}, twilioFailure{429, 20429})
	id = str(p.sms(p.client, 202, "Twilio hiccups").Body, "id")
	drain(t)
	if m := p.message(t, id); m["status"] != "sent" || len(twilioFake.to(p.phone)) != 1 {
		t.Errorf("after two transient failures: %v, %d sent", m, len(twilioFake.to(p.phone)))
	}
}

// TestTwilioAnswerLost: Twilio accepted the text but its answer was lost:
// the message is not sent again (a duplicate text is worse than none); it
// is marked delivery_unknown for the status callback to settle.
func TestTwilioAnswerLost(t *testing.T) {
	o := newSMSOrg(t)
	twilioFake.fail(o.phone, twilioFailure{201, 0})
	id := str(o.sms(o.client, 202, "Sent once").Body, "id")
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 1 {
		t.Fatalf("twilio got %d copies, want 1", n)
	}
	if m := o.message(t, id); m["status"] != "failed" || m["errorCode"] != "delivery_unknown" {
		t.Errorf("message %v", m)
	}
	cb := "/webhooks/twilio/status?" + url.Values{"org": {o.orgID}, "msg": {id}}.Encode()
	twilioPost(t, cb, url.Values{"MessageSid": {"SMlost"}, "MessageStatus": {"delivered"}}, twilioToken)
	if m := o.message(t, id); m["status"] != "delivered" {
		t.Errorf("after Twilio's callback: %v", m)
	}
}

// TestWorkerRedelivery: SQS delivers at least once; a second delivery of a
// sent message's job sends nothing.
func TestWorkerRedelivery(t *testing.T) {
	o := newSMSOrg(t)
	id := str(o.sms(o.client, 202, "Once only").Body, "id")
	drain(t)
	job, _ := json.Marshal(map[string]string{"orgId": o.orgID, "messageId": id})
	for range 3 {
		if err := stack.Broker.Send(context.Background(), "messages", string(job), nil); err != nil {
			t.Fatal(err)
		}
	}
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 1 {
		t.Errorf("twilio got %d messages, want 1", n)
	}
}

// TestAppointmentReminderOnce: two schedule runs at once send one reminder.
func TestAppointmentReminderOnce(t *testing.T) {
	o := newSMSOrg(t)
	start := clock.Now().Add(23 * time.Hour).UTC().Truncate(time.Minute)
	o.must(201, "POST", "/v1/bookings", map[string]any{"clientId": o.clientID, "title": "Consultation", "startsAt": start.Format(time.RFC3339),
		"endsAt": start.Add(time.Hour).Format(time.RFC3339), "smsReminder": true, "location": "12 Main St"})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stack.Scheduler.Trigger(context.Background(), ReminderSchedule); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	drain(t)
	if err := stack.Scheduler.Trigger(context.Background(), ReminderSchedule); err != nil {
		t.Fatal(err)
	}
	drain(t)
	sent := twilioFake.to(o.phone)
	if len(sent) != 1 || !strings.Contains(sent[0].Get("Body"), "Reminder: your appointment on") || !strings.Contains(sent[0].Get("Body"), "12 Main St") {
		t.Fatalf("reminders sent: %v", sent)
	}
}

// TestCaseUpdateAndQuietHours: a matter with clientUpdates "sms" texts the
// client when its status changes, holding the text during quiet hours.
func TestCaseUpdateAndQuietHours(t *testing.T) {
	o := newSMSOrg(t)
	m := str(o.must(201, "POST", "/v1/matters", map[string]any{"clientId": o.clientID, "title": "Estate of Doe", "clientUpdates": "sms"}).Body, "id")
	o.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "pending"})
	drain(t)
	sent := twilioFake.to(o.phone)
	if len(sent) != 1 || !strings.Contains(sent[0].Get("Body"), `"Estate of Doe": it is now pending`) {
		t.Fatalf("case updates sent: %v", sent)
	}

	// Quiet hours from an hour ago to an hour from now (org time zone).
	ny, _ := time.LoadLocation("America/New_York")
	now := clock.Now().In(ny)
	o.must(200, "PATCH", "/v1/messaging/settings", map[string]any{"quietHoursStart": now.Add(-time.Hour).Format("15:04"), "quietHoursEnd": now.Add(time.Hour).Format("15:04")})
	o.must(200, "PATCH", "/v1/matters/"+m, map[string]any{"status": "open"})
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != 1 {
		t.Fatalf("a case update went out in quiet hours (%d sent)", n)
	}
	clock.Advance(2 * time.Hour)
	if err := stack.Scheduler.Trigger(context.Background(), ReminderSchedule); err != nil {
		t.Fatal(err)
	}
	drain(t)
	if sent := twilioFake.to(o.phone); len(sent) != 2 || !strings.Contains(sent[1].Get("Body"), "it is now open") {
		t.Errorf("after quiet hours: %v", sent)
	}
	o.login() // the clock moved past the access token's life
}

// TestEmailUnsubscribe: an email carries a signed one-click unsubscribe
// link; its page's POST records the opt-out, and the next email is refused.
func TestEmailUnsubscribe(t *testing.T) {
	o := newSMSOrg(t)
	send := map[string]any{"clientId": o.clientID, "subject": "Your invoice", "body": "Please find your invoice attached.", "kind": "general"}
	o.must(202, "POST", "/v1/messages/email", send)
	drain(t)
	var body string
	for _, it := range stack.Outbox.Items() {
		if it.To == o.email {
			body = it.Body
			break
		}
	}
	_, link, ok := strings.Cut(body, publicURL)
	if !ok || !strings.HasPrefix(link, "/unsubscribe?token=") {
		t.Fatalf("email body has no unsubscribe link: %q", body)
	}
	link = strings.TrimSpace(link)
	token, _ := url.QueryUnescape(strings.TrimPrefix(link, "/unsubscribe?token="))
	parts := strings.Split(token, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte("someone@else.example"))
	if r := (&client{t: t}).do("GET", "/unsubscribe?token="+url.QueryEscape(parts[0]+"."+forged+"."+parts[2]), nil); r.Status != 400 {
		t.Errorf("forged token answered %d", r.Status)
	}
	// The link shows a page and records nothing; the page's button (or a
	// mail client's one-click POST) unsubscribes.
	if r := (&client{t: t}).do("GET", link, nil); r.Status != 200 || !strings.Contains(r.Raw, "<form method=post>") || strings.Contains(r.Raw, "no more emails") {
		t.Fatalf("GET unsubscribe: %d %s", r.Status, r.Raw)
	}
	if r := (&client{t: t}).do("POST", link, nil); r.Status != 200 || !strings.Contains(r.Raw, "no more emails") {
		t.Fatalf("POST unsubscribe: %d %s", r.Status, r.Raw)
	}
	r := o.must(200, "GET", "/v1/consent?email="+url.QueryEscape(o.email), nil)
	if items, _ := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["method"] != "unsubscribe" {
		t.Errorf("consent log %s", r.Raw)
	}
	if r := o.must(409, "POST", "/v1/messages/email", send); str(r.Body, "rule") != "messaging.opted-out" {
		t.Errorf("refusal %s", r.Raw)
	}
	// The client unsubscribed themselves: a member's word is not enough;
	// the owner, holding their written consent, overrides: email resumes.
	o.must(409, "POST", "/v1/consent", map[string]any{"email": o.email, "state": "opted_in", "method": "staff", "clientId": o.clientID, "note": "Asked at the front desk"})
	o.must(201, "POST", "/v1/consent", map[string]any{"email": o.email, "state": "opted_in", "method": "staff_override", "clientId": o.clientID,
		"reason": "Asked at the front desk", "evidence": "Signed consent form, scanned as document 01JCONSENT"})
	o.must(202, "POST", "/v1/messages/email", send)
}

// BenchmarkSendSMS: the API's send path, from the request to the message
// stored and handed to the queue.
func BenchmarkSendSMS(b *testing.B) {
	o := newSMSOrg(b)
	body := map[string]any{"clientId": o.clientID, "body": "Your documents are ready to sign.", "kind": "general"}
	measure(b, func() int {
		return o.do("POST", "/v1/messages/sms", body).Status
	}, 202)
	b.StopTimer()
	drain(b)
}

// BenchmarkMessageWorker: one Lambda's throughput on batches of 10 queued
// texts, each claimed, sent to the (local) Twilio and recorded.
func BenchmarkMessageWorker(b *testing.B) {
	o := newSMSOrg(b)
	body := map[string]any{"clientId": o.clientID, "body": "Reminder: bring your ID.", "kind": "general"}
	var elapsed time.Duration
	var dynamo int64
	for range b.N {
		b.StopTimer()
		for range 10 {
			if r := o.do("POST", "/v1/messages/sms", body); r.Status != 202 {
				b.Fatalf("send %d", r.Status)
			}
		}
		c0 := calls.total.Load()
		t0 := time.Now()
		b.StartTimer()
		drain(b)
		b.StopTimer()
		elapsed += time.Since(t0)
		dynamo += calls.total.Load() - c0
	}
	b.ReportMetric(float64(10*b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(dynamo)/float64(10*b.N), "dynamo-calls/msg")
}

// TestMessagingServiceInbound: an org that sends through a Messaging
// Service gets the texts sent to any number of its pool; a second org
// cannot set the same service (it is not assigned to it).
func TestMessagingServiceInbound(t *testing.T) {
	a := signup(t)
	n := seq.Add(1)
	mg := str(a.must(201, "POST", "/v1/messaging/sms-services", map[string]any{}).Body, "twilioMessagingServiceSid")
	phone := fmt.Sprintf("+1646%07d", n)
	if r := signup(t).must(422, "PATCH", "/v1/org", map[string]any{"twilioMessagingServiceSid": mg}); !strings.Contains(r.Raw, `"field":"twilioMessagingServiceSid"`) {
		t.Errorf("second claim %s", r.Raw)
	}
	form := url.Values{"MessageSid": {fmt.Sprintf("SMmg%030d", n)}, "From": {phone}, "To": {"+18005550199"}, "Body": {"STOP"}, "MessagingServiceSid": {mg}}
	if r := twilioPost(t, "/webhooks/twilio/sms", form, twilioToken); r.Status != 200 {
		t.Fatalf("inbound %d %s", r.Status, r.Raw)
	}
	r := a.must(200, "GET", "/v1/consent?phone="+url.QueryEscape(phone), nil)
	if items, _ := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["state"] != "opted_out" {
		t.Errorf("consent log %s", r.Raw)
	}
}

// TestEmailComplaintAndBounce: SES's complaint ("this is spam") unsubscribes
// the address in the consent log, once however often it is delivered; a
// permanent bounce marks the email undelivered.
func TestEmailComplaintAndBounce(t *testing.T) {
	o := newSMSOrg(t)
	send := map[string]any{"clientId": o.clientID, "subject": "Newsletter", "body": "News.", "kind": "general"}
	first := str(o.must(202, "POST", "/v1/messages/email", send).Body, "id")
	second := str(o.must(202, "POST", "/v1/messages/email", send).Body, "id")
	drain(t)
	sesEvent := func(detailType, msgID string, detail map[string]any) {
		m := o.message(t, msgID)
		detail["mail"] = map[string]any{"messageId": m["providerId"], "tags": map[string]any{"org": []string{o.orgID}, "msg": []string{msgID}}}
		if err := stack.Bus.Put(context.Background(), "aws.ses", detailType, detail); err != nil {
			t.Fatal(err)
		}
		drain(t)
	}
	bounce := map[string]any{"eventType": "Bounce", "bounce": map[string]any{"bounceType": "Permanent", "bouncedRecipients": []any{map[string]any{"emailAddress": o.email}}}}
	sesEvent("Email Bounced", first, bounce)
	if m := o.message(t, first); m["status"] != "undelivered" || m["errorCode"] != "bounced" {
		t.Errorf("bounced email %v", m)
	}
	complaint := map[string]any{"eventType": "Complaint", "complaint": map[string]any{"complainedRecipients": []any{map[string]any{"emailAddress": o.email}}}}
	for range 2 { // EventBridge delivers at least once
		sesEvent("Email Complaint Received", second, complaint)
	}
	r := o.must(200, "GET", "/v1/consent?email="+url.QueryEscape(o.email), nil)
	if items, _ := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["method"] != "provider" || items[0].(map[string]any)["messageId"] != second {
		t.Errorf("consent log %s", r.Raw)
	}
	o.must(409, "POST", "/v1/messages/email", send)
}
