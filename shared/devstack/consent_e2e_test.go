package devstack

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// consentRoles is an org with one member of every role.
type consentRoles struct {
	*smsOrg
	byRole map[string]*account
}

var roleNames = []string{"owner", "admin", "attorney", "staff", "billing"}

func newConsentRoles(t *testing.T) *consentRoles {
	o := newSMSOrg(t)
	c := &consentRoles{smsOrg: o, byRole: map[string]*account{"owner": o.account}}
	for _, r := range roleNames[1:] {
		c.byRole[r] = o.member(r)
	}
	return c
}

// log is the consent log of an address (?phone= or ?email=).
func (c *consentRoles) log(t *testing.T, query string) []map[string]any {
	t.Helper()
	r := c.must(200, "GET", "/v1/consent?"+query, nil)
	items, _ := r.Body["items"].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// emailLink sends the client an email and returns the path and query of
// the first link to prefix (e.g. "/unsubscribe?token=") in it.
func emailLink(t *testing.T, to, prefix string) string {
	t.Helper()
	for _, it := range stack.Outbox.Items() {
		if it.To != to {
			continue
		}
		if _, link, ok := strings.Cut(it.Body, publicURL+prefix); ok {
			return prefix + strings.Fields(link)[0]
		}
	}
	t.Fatalf("no email to %s with a %s link", to, prefix)
	return ""
}

// TestConsentRoles: every role against a client's own opt-out (STOP, then
// an unsubscribe), an opt-out, and an opt-in of an address staff opted out.
// After the client's own opt-out no ordinary opt-in lands, by any role; an
// owner's or admin's override needs a reason and evidence and shows in the
// log as such.
func TestConsentRoles(t *testing.T) {
	c := newConsentRoles(t)
	phoneQ, emailQ := "phone="+url.QueryEscape(c.phone), "email="+url.QueryEscape(c.email)

	// The client texts STOP; the unsubscribe link's GET changes nothing,
	// its POST opts out once.
	c.inbound(t, "Stop!")
	c.must(202, "POST", "/v1/messages/email", map[string]any{"clientId": c.clientID, "subject": "Hello", "body": "Hello", "kind": "general"})
	drain(t)
	link := emailLink(t, c.email, "/unsubscribe?token=")
	page := (&client{t: t}).do("GET", link, nil)
	if page.Status != 200 || !strings.Contains(page.Raw, "<form method=post>") || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		page.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "form-action 'self'") ||
		!strings.Contains(page.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET unsubscribe: %d %v %s", page.Status, page.Header, page.Raw)
	}
	if log := c.log(t, emailQ); len(log) != 0 {
		t.Fatalf("GET unsubscribe recorded %v", log)
	}
	for range 2 {
		if r := (&client{t: t}).do("POST", link, "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded"); r.Status != 200 || !strings.Contains(r.Raw, "no more emails") {
			t.Fatalf("POST unsubscribe: %d %s", r.Status, r.Raw)
		}
	}
	if log := c.log(t, emailQ); len(log) != 1 || log[0]["method"] != "unsubscribe" {
		t.Fatalf("after two POSTs: %v", log)
	}

	refused := map[string]int{"owner": 409, "admin": 409, "attorney": 409, "staff": 409, "billing": 403}
	override := map[string]int{"owner": 201, "admin": 201, "attorney": 403, "staff": 403, "billing": 403}
	justified := map[string]any{"reason": "Client asked in writing to resume texts", "evidence": "Signed engagement letter, document 01JDOC"}
	for _, addr := range []struct{ field, value, query string }{{"phone", c.phone, phoneQ}, {"email", c.email, emailQ}} {
		for _, role := range roleNames {
			for _, method := range []string{"staff", "web_form", "import"} {
				r := c.byRole[role].do("POST", "/v1/consent", map[string]any{addr.field: addr.value, "state": "opted_in", "method": method, "note": "Said so on the phone"})
				if r.Status != refused[role] || r.Status == 409 && str(r.Body, "rule") != "consent.client-opted-out" {
					t.Errorf("%s %s opt-in by %s after the client's opt-out: %d %s", addr.field, method, role, r.Status, r.Raw)
				}
			}
			if role != "owner" && role != "admin" {
				body := map[string]any{addr.field: addr.value, "state": "opted_in", "method": "staff_override"}
				for k, v := range justified {
					body[k] = v
				}
				if r := c.byRole[role].do("POST", "/v1/consent", body); r.Status != override[role] {
					t.Errorf("%s override by %s: %d %s", addr.field, role, r.Status, r.Raw)
				}
			}
		}
		// An owner's override without its justification is refused.
		for name, body := range map[string]map[string]any{
			"no reason":       {"evidence": "letter"},
			"no evidence":     {"reason": "asked"},
			"blank reason":    {"reason": "  ", "evidence": "letter"},
			"long evidence":   {"reason": "asked", "evidence": strings.Repeat("x", 1001)},
			"opting out":      {"reason": "asked", "evidence": "letter", "state": "opted_out"},
			"reason on staff": {"reason": "asked", "evidence": "letter", "method": "staff"},
		} {
			req := map[string]any{addr.field: addr.value, "state": "opted_in", "method": "staff_override"}
			for k, v := range body {
				req[k] = v
			}
			if r := c.do("POST", "/v1/consent", req); r.Status != 422 {
				t.Errorf("%s override, %s: %d %s", addr.field, name, r.Status, r.Raw)
			}
		}
		if log := c.log(t, addr.query); len(log) != 1 || log[0]["state"] != "opted_out" {
			t.Fatalf("%s: refused changes were logged: %v", addr.field, log)
		}
	}
	// A send after the refused overrides is still refused.
	if r := c.sms(c.byRole["staff"].client, 409, "Still there?"); str(r.Body, "rule") != "messaging.opted-out" {
		t.Errorf("send after refused overrides: %s", r.Raw)
	}

	// The admin overrides the STOP on written consent: logged as such, and
	// texts go out again.
	body := map[string]any{"phone": c.phone, "state": "opted_in", "method": "staff_override", "clientId": c.clientID}
	for k, v := range justified {
		body[k] = v
	}
	c.byRole["admin"].must(201, "POST", "/v1/consent", body)
	log := c.log(t, phoneQ)
	if len(log) != 2 || log[0]["method"] != "staff_override" || log[0]["state"] != "opted_in" || log[0]["reason"] != justified["reason"] ||
		log[0]["evidence"] != justified["evidence"] || log[0]["actorId"] != c.byRole["admin"].userID {
		t.Errorf("log after the override: %v", log)
	}
	if st := c.must(200, "GET", "/v1/consent/state?"+phoneQ, nil); str(st.Body, "method") != "staff_override" || str(st.Body, "state") != "opted_in" {
		t.Errorf("state after the override: %s", st.Raw)
	}
	c.sms(c.byRole["staff"].client, 202, "Welcome back.")

	// Opting out works for every role; an opt-in of an address a member
	// opted out works for everyone but billing.
	for i, role := range roleNames {
		phone := fmt.Sprintf("+1212%07d", seq.Add(1))
		if r := c.byRole[role].do("POST", "/v1/consent", map[string]any{"phone": phone, "state": "opted_out", "method": "staff"}); r.Status != 201 {
			t.Errorf("opt-out by %s: %d %s", role, r.Status, r.Raw)
		}
		want := 201
		if role == "billing" {
			want = 403
		}
		if r := c.byRole[role].do("POST", "/v1/consent", map[string]any{"phone": phone, "state": "opted_in", "method": "staff"}); r.Status != want {
			t.Errorf("opt-in by %s after a staff opt-out: %d, want %d: %s", role, r.Status, want, r.Raw)
		}
		_ = i
	}
}

// TestDoubleOptIn: after a STOP, a member asks the client to confirm; the
// request goes by email (never by text), its link's GET changes nothing,
// its POST records double_opt_in once.
func TestDoubleOptIn(t *testing.T) {
	o := newSMSOrg(t)
	staff, billing := o.member("staff"), o.member("billing")
	req := map[string]any{"phone": o.phone, "clientId": o.clientID}
	o.must(409, "POST", "/v1/consent/confirmations", req) // nothing to confirm yet
	o.inbound(t, "STOP")
	billing.must(403, "POST", "/v1/consent/confirmations", req)
	r := staff.must(202, "POST", "/v1/consent/confirmations", req)
	if str(r.Body, "sentTo") != "email" || strings.Contains(r.Raw, "token") {
		t.Errorf("confirmation %s", r.Raw)
	}
	texts := len(twilioFake.to(o.phone))
	drain(t)
	if n := len(twilioFake.to(o.phone)); n != texts {
		t.Errorf("the request texted the number that sent STOP")
	}
	link := emailLink(t, o.email, "/consent/confirm?token=")
	page := (&client{t: t}).do("GET", link, nil)
	if page.Status != 200 || !strings.Contains(page.Raw, "<form method=post>") || page.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET confirm: %d %s", page.Status, page.Raw)
	}
	if log := o.consent(t); len(log) != 1 {
		t.Fatalf("GET confirm recorded: %v", log)
	}
	o.sms(staff.client, 409, "Not yet")
	if r := (&client{t: t}).do("POST", link, "", "Content-Type", "application/x-www-form-urlencoded"); r.Status != 200 {
		t.Fatalf("POST confirm: %d %s", r.Status, r.Raw)
	}
	if r := (&client{t: t}).do("POST", link, ""); r.Status != 409 {
		t.Errorf("second POST confirm: %d %s", r.Status, r.Raw)
	}
	log := o.consent(t)
	if e := log[0].(map[string]any); len(log) != 2 || e["method"] != "double_opt_in" || e["state"] != "opted_in" || e["clientId"] != o.clientID {
		t.Errorf("log after confirming: %v", log)
	}
	o.sms(staff.client, 202, "Welcome back")
	if r := (&client{t: t}).do("GET", strings.Replace(link, "token=", "token=x", 1), nil); r.Status != 400 {
		t.Errorf("edited token: %d", r.Status)
	}

	// An email that unsubscribed: the request goes by text, to the phone.
	o.must(202, "POST", "/v1/messages/email", map[string]any{"clientId": o.clientID, "subject": "Hello", "body": "Hello", "kind": "general"})
	drain(t)
	if r := (&client{t: t}).do("POST", emailLink(t, o.email, "/unsubscribe?token="), nil); r.Status != 200 {
		t.Fatalf("unsubscribe %d", r.Status)
	}
	r = staff.must(202, "POST", "/v1/consent/confirmations", map[string]any{"email": o.email, "clientId": o.clientID})
	drain(t)
	sent := twilioFake.to(o.phone)
	_, smsLink, ok := strings.Cut(sent[len(sent)-1].Get("Body"), publicURL)
	if str(r.Body, "sentTo") != "sms" || !ok || !strings.HasPrefix(smsLink, "/consent/confirm?token=") {
		t.Fatalf("request by text: %s, %v", r.Raw, sent[len(sent)-1])
	}
	if r := (&client{t: t}).do("POST", strings.Fields(smsLink)[0], nil); r.Status != 200 {
		t.Fatalf("POST confirm: %d %s", r.Status, r.Raw)
	}
	if st := o.must(200, "GET", "/v1/consent/state?email="+url.QueryEscape(o.email), nil); str(st.Body, "state") != "opted_in" || str(st.Body, "method") != "double_opt_in" {
		t.Errorf("email state %s", st.Raw)
	}

	// A client with no email: after a STOP only START by text works.
	p := newSMSOrg(t)
	noEmail := str(p.must(201, "POST", "/v1/clients", map[string]any{"name": "Nora Noemail", "kind": "person", "phone": "+16465550199"}).Body, "id")
	twilioPost(t, "/webhooks/twilio/sms", url.Values{"MessageSid": {"SMnoemail00000000000000000000000001"}, "From": {"+16465550199"}, "To": {p.from}, "Body": {"STOP"}}, twilioToken)
	if r := p.must(422, "POST", "/v1/consent/confirmations", map[string]any{"phone": "+16465550199", "clientId": noEmail}); !strings.Contains(r.Raw, "START") {
		t.Errorf("no email: %s", r.Raw)
	}
	p.must(422, "POST", "/v1/consent/confirmations", map[string]any{"phone": o.phone, "clientId": noEmail}) // not this client's
}
