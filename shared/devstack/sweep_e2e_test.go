package devstack

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/token"
)

// victim is what the second org must never see or change: its members and
// one of each of its records, by path parameter name.
type victim struct {
	owner, member *account
	ids           map[string]string
}

// newVictim signs up an org with a member of role and one record of each
// kind a path can name.
func newVictim(t *testing.T, role string) victim {
	v := victim{owner: signup(t)}
	v.owner.t = t
	v.member = v.owner.member(role)
	o := v.owner
	client := o.newClient("Victoria Victim")
	matter := o.newMatter(client)
	v.ids = map[string]string{
		"userId":   v.member.userID,
		"clientId": client,
		"matterId": matter,
		"noteId":   str(o.must(201, "POST", "/v1/matters/"+matter+"/notes", map[string]any{"body": "Privileged"}).Body, "id"),
		"bookingId": str(o.must(201, "POST", "/v1/bookings", map[string]any{"clientId": client, "title": "Meeting",
			"startsAt": "2027-01-01T10:00:00Z", "endsAt": "2027-01-01T11:00:00Z"}).Body, "id"),
		"documentId": str(o.must(201, "POST", "/v1/matters/"+matter+"/documents", map[string]any{"fileName": "will.pdf",
			"contentType": "application/pdf", "size": 1000}).Body, "document", "id"),
	}
	v.ids["sessionId"] = str(items(o.must(200, "GET", "/v1/me/sessions", nil))[0], "id")
	acct := o.trustAccount()
	v.ids["accountId"] = acct
	v.ids["entryId"] = str(o.must(201, "POST", "/v1/trust/entries", entry(acct, client, "deposit", 250000, "matterId", matter)).Body, "id")
	o.must(200, "POST", "/v1/payments/connect", map[string]any{})
	v.ids["invoiceId"] = str(o.must(201, "POST", "/v1/invoices", invoiceBody(client, "matterId", matter)).Body, "id")
	o.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "sweep"})
	v.ids["domain"] = fmt.Sprintf("victim%d.example", seq.Add(1))
	o.must(201, "POST", "/v1/messaging/email-domains", map[string]any{"domain": v.ids["domain"]})
	ready := readyDocument(t, o, matter, "contract.pdf", fixture(t, "contract.pdf")).docID
	v.ids["summaryId"] = str(o.must(201, "POST", "/v1/documents/"+ready+"/summaries", nil).Body, "id")
	v.ids["requestId"] = str(o.must(201, "POST", "/v1/documents/"+ready+"/signature-requests", map[string]any{
		"signers": []map[string]any{{"name": "Vera Signer", "email": "vera@example.com"}}}).Body, "id")
	v.ids["threadId"] = str(o.must(201, "POST", "/v1/chat/threads", map[string]any{"kind": "group", "name": "Victim team",
		"memberIds": []string{v.member.userID}}).Body, "id")
	v.ids["messageId"] = str(o.must(201, "POST", "/v1/chat/threads/"+v.ids["threadId"]+"/messages", map[string]any{"text": "Privileged chat"}).Body, "id")
	v.ids["exportId"] = str(o.must(202, "POST", "/v1/privacy/exports", map[string]any{"scope": "workspace"}).Body, "id")
	return v
}

// snapshot reads everything of the victim's an attacker might change.
func (v victim) snapshot() string {
	o, ids := v.owner, v.ids
	var b strings.Builder
	for _, path := range []string{"/v1/users", "/v1/org", "/v1/clients/" + ids["clientId"], "/v1/matters/" + ids["matterId"],
		"/v1/notes/" + ids["noteId"], "/v1/bookings/" + ids["bookingId"], "/v1/documents/" + ids["documentId"],
		"/v1/clients", "/v1/matters", "/v1/bookings", "/v1/activity", "/v1/matters/" + ids["matterId"] + "/documents",
		"/v1/trust/accounts", "/v1/trust/entries?accountId=" + ids["accountId"], "/v1/trust/ledgers", "/v1/trust/activity",
		"/v1/trust/reconciliations?accountId=" + ids["accountId"], "/v1/payments/account", "/v1/invoices", "/v1/invoices/" + ids["invoiceId"], "/v1/billing/credits",
		"/v1/messages?clientId=" + ids["clientId"], "/v1/messaging/settings", "/v1/messaging/email-domains",
		"/v1/matters/" + ids["matterId"] + "/summaries", "/v1/summaries/" + ids["summaryId"],
		"/v1/signature-requests/" + ids["requestId"], "/v1/matters/" + ids["matterId"] + "/signature-requests", "/v1/audit",
		"/v1/chat/threads", "/v1/chat/threads/" + ids["threadId"] + "/messages"} {
		b.WriteString(o.must(200, "GET", path, nil).Raw)
	}
	return b.String()
}

// sampleRequest returns a valid request for a route as attacker would send
// it, aimed at the victim's resources where the path takes an id. Every route
// of the route table must have one: a new route without it fails the sweep.
func sampleRequest(key string, attacker *account, v victim) (path string, body any, ok bool) {
	n := seq.Add(1)
	_, tmpl, _ := strings.Cut(key, " ")
	path = tmpl
	for name, id := range v.ids {
		path = strings.ReplaceAll(path, "{"+name+"}", id)
	}
	switch key {
	case "POST /v1/auth/signup":
		body = map[string]any{"orgName": "Sweep Firm", "name": "Sam Sweep", "email": fmt.Sprintf("sweep%d@example.com", n),
			"username": fmt.Sprintf("sweep_%d", n), "password": "correct horse battery staple"}
	case "POST /v1/auth/login":
		body = map[string]any{"login": attacker.username, "password": attacker.password}
	case "POST /v1/auth/refresh", "POST /v1/auth/logout", "GET /v1/me", "GET /v1/org", "GET /v1/users", "DELETE /v1/users/{userId}":
	case "PATCH /v1/org":
		body = map[string]any{"businessName": "Changed by the other org"}
	case "POST /v1/users":
		body = map[string]any{"name": "New Hire", "email": fmt.Sprintf("hire%d@example.com", n), "username": fmt.Sprintf("hire_%d", n),
			"role": "staff", "password": "violet tractor umbrella mosaic"}
	case "POST /v1/me/password":
		body = map[string]any{"currentPassword": attacker.password, "newPassword": "amber falcon quarry whistle"}
	case "POST /v1/auth/password-reset":
		body = map[string]any{"email": fmt.Sprintf("nobody%d@example.com", n)}
	case "POST /v1/me/email/confirm": // a forged link: 400
		body = map[string]any{"token": attacker.orgID + "." + attacker.userID + "." + strings.Repeat("A", 43)}
	case "POST /v1/auth/password-reset/confirm": // a forged link: 400
		body = map[string]any{"token": attacker.orgID + "." + attacker.userID + "." + strings.Repeat("A", 43), "newPassword": "amber falcon quarry whistle"}
	case "DELETE /v1/me/sessions":
	case "POST /v1/users/{userId}/invitation":
	case "POST /v1/auth/invitations/accept": // a forged link: 400
		body = map[string]any{"token": attacker.orgID + "." + attacker.userID + "." + strings.Repeat("A", 43),
			"username": fmt.Sprintf("accept_%d", n), "password": "violet tractor umbrella mosaic"}
	case "PATCH /v1/users/{userId}":
		body = map[string]any{"role": "staff", "name": "Renamed"}
	case "POST /v1/auth/mfa": // a forged token: 401
		body = map[string]any{"mfaToken": attacker.orgID + "." + attacker.userID + "." + strings.Repeat("A", 43), "code": "123456"}
	case "POST /v1/me/mfa/totp":
	case "POST /v1/me/mfa/totp/confirm": // nothing pending: 409
		body = map[string]any{"code": "123456"}
	case "DELETE /v1/me/mfa": // two-factor is off: 409
		body = map[string]any{"currentPassword": attacker.password, "code": "123456"}

	case "GET /v1/clients", "GET /v1/clients/{clientId}", "DELETE /v1/clients/{clientId}",
		"GET /v1/matters", "GET /v1/matters/{matterId}", "DELETE /v1/matters/{matterId}",
		"GET /v1/clients/{clientId}/notes", "GET /v1/matters/{matterId}/notes", "GET /v1/notes/{noteId}", "DELETE /v1/notes/{noteId}",
		"GET /v1/bookings", "GET /v1/bookings/{bookingId}", "DELETE /v1/bookings/{bookingId}", "GET /v1/activity",
		"GET /v1/matters/{matterId}/documents", "GET /v1/documents/{documentId}", "DELETE /v1/documents/{documentId}",
		"POST /v1/documents/{documentId}/complete", "GET /v1/documents/{documentId}/versions":
	case "POST /v1/clients":
		body = map[string]any{"name": "Sweep Client", "kind": "company"}
	case "PATCH /v1/clients/{clientId}":
		body = map[string]any{"name": "Changed by the other org"}
	case "POST /v1/matters":
		body = map[string]any{"clientId": v.ids["clientId"], "title": "Sweep matter"}
	case "PATCH /v1/matters/{matterId}":
		body = map[string]any{"title": "Changed by the other org", "status": "closed"}
	case "POST /v1/clients/{clientId}/notes", "POST /v1/matters/{matterId}/notes":
		body = map[string]any{"body": "Planted note"}
	case "PATCH /v1/notes/{noteId}":
		body = map[string]any{"body": "Changed by the other org"}
	case "POST /v1/bookings":
		body = map[string]any{"clientId": v.ids["clientId"], "title": "Planted", "startsAt": "2027-01-02T10:00:00Z", "endsAt": "2027-01-02T11:00:00Z"}
	case "PATCH /v1/bookings/{bookingId}":
		body = map[string]any{"title": "Moved by the other org"}
	case "POST /v1/matters/{matterId}/documents", "POST /v1/documents/{documentId}/versions":
		body = map[string]any{"fileName": "planted.pdf", "contentType": "application/pdf", "size": 2048}

	case "GET /v1/trust/accounts", "GET /v1/trust/accounts/{accountId}", "GET /v1/trust/entries/{entryId}", "GET /v1/trust/activity":
	case "POST /v1/trust/accounts":
		body = map[string]any{"name": "Planted trust", "bankName": "Sweep Bank", "accountLast4": "0000", "currency": "usd"}
	case "GET /v1/trust/entries", "GET /v1/trust/reconciliations":
		path += "?accountId=" + v.ids["accountId"]
	case "POST /v1/trust/entries":
		body = entry(v.ids["accountId"], v.ids["clientId"], "disbursement", 100, "matterId", v.ids["matterId"])
	case "POST /v1/trust/entries/{entryId}/reverse":
		body = map[string]any{"reason": "Reversed by the other org"}
	case "POST /v1/trust/entries/{entryId}/clear":
		body = map[string]any{"statementDate": "2026-11-03"}
	case "GET /v1/trust/ledgers":
		path += "?clientId=" + v.ids["clientId"] + "&accountId=" + v.ids["accountId"]
	case "GET /v1/trust/reconciliation":
		path += "?accountId=" + v.ids["accountId"] + "&asOf=2026-11-03&bankBalance=250000"
	case "POST /v1/trust/reconciliations":
		body = map[string]any{"accountId": v.ids["accountId"], "asOf": "2026-11-03", "bankBalance": 250000}
	case "GET /v1/trust/export":
		path += "?accountId=" + v.ids["accountId"] + "&matterId=" + v.ids["matterId"]

	case "POST /v1/payments/connect":
		body = map[string]any{"refreshUrl": ""}
	case "GET /v1/payments/account", "GET /v1/invoices", "GET /v1/invoices/{invoiceId}",
		"POST /v1/invoices/{invoiceId}/send", "POST /v1/invoices/{invoiceId}/void":
	case "POST /v1/invoices":
		body = invoiceBody(v.ids["clientId"], "matterId", v.ids["matterId"])
	case "GET /v1/payments":
		path += "?invoiceId=" + v.ids["invoiceId"]
	case "GET /v1/billing/credits":
	case "POST /v1/billing/credits/topup", "POST /v1/billing/credits/grants":
		body = map[string]any{"credits": 5}
	case "POST /v1/messages/sms":
		body = map[string]any{"clientId": v.ids["clientId"], "body": "Hello", "kind": "general"}
	case "POST /v1/messages/email":
		body = map[string]any{"clientId": v.ids["clientId"], "subject": "Hello", "body": "Hello", "kind": "general"}
	case "GET /v1/messages":
		path += "?clientId=" + v.ids["clientId"]
	case "GET /v1/consent", "GET /v1/consent/state":
		path += "?phone=%2B14155550100"
	case "POST /v1/consent":
		body = map[string]any{"phone": "+14155550100", "state": "opted_out", "method": "staff"}
	case "GET /v1/messaging/settings":
	case "PATCH /v1/messaging/settings":
		body = map[string]any{"reminderLeadMinutes": 60}
	case "POST /v1/messaging/email-domains":
		body = map[string]any{"domain": fmt.Sprintf("sweep%d.example", n)}
	case "GET /v1/messaging/email-domains", "DELETE /v1/messaging/email-domains/{domain}", "POST /v1/messaging/sms-services":
	case "POST /v1/messaging/sms-numbers":
		body = map[string]any{"areaCode": 415}
	case "POST /v1/consent/confirmations":
		body = map[string]any{"phone": "+14155550100", "clientId": v.ids["clientId"]}
	case "GET /unsubscribe", "POST /unsubscribe", "GET /consent/confirm", "POST /consent/confirm":
		path += "?token=not.a.token"
	case "POST /webhooks/twilio/sms", "POST /webhooks/twilio/status":
		// Unsigned: refused before anything is read (the signed paths are
		// in messaging_e2e_test.go).
		body = map[string]any{"From": "+14155550100", "Body": "STOP"}
	case "POST /v1/documents/{documentId}/summaries", "GET /v1/matters/{matterId}/summaries", "GET /v1/summaries/{summaryId}",
		"DELETE /v1/summaries/{summaryId}", "GET /v1/summaries/{summaryId}/speech":
	case "POST /v1/drafts":
		body = map[string]any{"kind": "letter", "instructions": "Thank the client.", "matterId": v.ids["matterId"]}
	case "POST /v1/documents/{documentId}/signature-requests":
		body = map[string]any{"signers": []map[string]any{{"name": "Sweep Signer", "email": "sweep@example.com"}}}
	case "GET /v1/signature-requests/{requestId}", "GET /v1/matters/{matterId}/signature-requests", "POST /v1/signature-requests/{requestId}/cancel":
	case "POST /v1/signature-requests/{requestId}/remind":
		body = map[string]any{"email": "vera@example.com"}
	case "POST /v1/privacy/exports":
		body = map[string]any{"scope": "client", "clientId": v.ids["clientId"]}
	case "GET /v1/privacy/exports", "GET /v1/privacy/exports/{exportId}", "GET /v1/privacy/retention":
	case "PUT /v1/clients/{clientId}/restriction":
		body = map[string]any{"restricted": true, "reason": "Sweep"}
	case "DELETE /v1/org": // the wrong name: 422, nothing deleted
		body = map[string]any{"confirm": "Not the firm's name", "currentPassword": attacker.password}
	case "PATCH /v1/privacy/retention":
		body = map[string]any{"closedMatterYears": 8}
	case "POST /webhooks/dropbox-sign":
		// Not hashed with the API key: refused before anything is read
		// (the hashed ones are TestESign*'s).
		body = map[string]any{"event": map[string]any{"event_time": "1669926463", "event_type": "signature_request_canceled", "event_hash": "00"}}
	case "GET /v1/chat/threads", "GET /v1/chat/threads/{threadId}", "DELETE /v1/chat/threads/{threadId}/members/{userId}",
		"GET /v1/chat/threads/{threadId}/messages", "DELETE /v1/chat/threads/{threadId}/messages/{messageId}",
		"POST /v1/chat/threads/{threadId}/leave", "POST /v1/chat/tickets",
		"GET /v1/compliance/chat/threads", "GET /v1/compliance/chat/threads/{threadId}/messages":
	case "POST /v1/chat/threads":
		body = map[string]any{"kind": "group", "name": "Sweep group", "memberIds": []string{v.ids["userId"]}}
	case "POST /v1/chat/threads/{threadId}/members":
		body = map[string]any{"userIds": []string{v.ids["userId"]}}
	case "POST /v1/chat/threads/{threadId}/messages":
		body = map[string]any{"text": "Planted"}
	case "PATCH /v1/chat/threads/{threadId}/messages/{messageId}":
		body = map[string]any{"text": "Changed by the other org"}
	case "POST /v1/chat/threads/{threadId}/messages/{messageId}/reactions":
		body = map[string]any{"emoji": "👍"}
	case "DELETE /v1/chat/threads/{threadId}/messages/{messageId}/reactions":
		path += "?emoji=%F0%9F%91%8D"
	case "POST /v1/chat/threads/{threadId}/attachments":
		body = map[string]any{"fileName": "planted.pdf", "contentType": "application/pdf", "size": 2048}
	case "POST /v1/chat/threads/{threadId}/read":
		body = map[string]any{"messageId": v.ids["messageId"]}
	case "PUT /v1/chat/threads/{threadId}/mute":
		body = map[string]any{"muted": true}
	case "GET /v1/chat/gifs":
		path += "?q=cats"
	case "GET /v1/calendar/microsoft/connect", "GET /v1/calendar/microsoft", "DELETE /v1/calendar/microsoft", "POST /v1/calendar/sync",
		"GET /v1/calendar/working-hours":
	case "GET /v1/calendar/microsoft/callback": // a forged state: nothing changes
		path += "?code=sweep&state=" + v.owner.orgID + "." + v.owner.userID + ".nonce.9999999999.forged"
	case "PATCH /v1/calendar/microsoft/calendars/{calendarId}":
		path = strings.ReplaceAll(path, "{calendarId}", "cal-"+v.owner.userID)
		body = map[string]any{"sync": true}
	case "GET /v1/calendar/events":
		path += "?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z&userId=" + v.member.userID
	case "GET /v1/calendar/availability":
		path += "?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z&duration=30&userIds=" + v.member.userID
	case "PUT /v1/calendar/working-hours":
		body = map[string]any{"days": []string{"mon", "tue"}, "start": "08:00", "end": "16:00"}
	case "POST /webhooks/microsoft-graph":
		// A clientState that matches no subscription: 202, nothing queued
		// (the real ones are TestCalendar*'s).
		body = map[string]any{"value": []map[string]any{{"subscriptionId": "sub-sweep", "clientState": "forged", "changeType": "updated"}}}
	case "POST /webhooks/stripe":
		// Unsigned: refused before anything is read (the signed paths are
		// TestStripeWebhook*'s).
		body = map[string]any{"id": "evt_sweep", "type": "invoice.paid"}
	case "GET /v1/audit", "GET /v1/audit/verify", "GET /v1/me/sessions", "DELETE /v1/me/sessions/{sessionId}":
	case "PATCH /v1/me":
		body = map[string]any{"name": "Self Renamed"}
	case "DELETE /v1/me": // a wrong password: no sweep deletes the account it walks with
		body = map[string]any{"currentPassword": "not the password at all"}
	default:
		return "", nil, false
	}
	return path, body, true
}

// TestCrossTenantSweep walks every route of the route table as the owner of
// a second org, aimed at the first org's resources. It must never see the
// first org's data (404 or 403 where a path names it) and never change it.
func TestCrossTenantSweep(t *testing.T) {
	t.Parallel()
	v := newVictim(t, "attorney")
	secrets := []string{v.owner.orgID, v.owner.userID, v.member.userID, v.owner.email, v.member.email, v.owner.username, v.member.username,
		"Victoria", "Privileged"}
	for _, id := range v.ids {
		secrets = append(secrets, id)
	}
	before := v.snapshot()

	for _, rt := range routes.Table {
		t.Run(rt.Key(), func(t *testing.T) {
			attacker := signup(t) // fresh each time: some routes (logout, refresh) end sessions
			path, body, ok := sampleRequest(rt.Key(), attacker, v)
			if !ok {
				t.Fatalf("no sample request for %s: add one to sampleRequest", rt.Key())
			}
			r := attacker.do(rt.Method, path, body)
			if r.Status >= 500 {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			if strings.Contains(rt.Path, "{") && r.Status != 404 && r.Status != 403 {
				t.Errorf("status %d for another org's resource, want 404 or 403: %s", r.Status, r.Raw)
			}
			for _, s := range secrets {
				if strings.Contains(r.Raw, s) {
					t.Errorf("response reveals %q of the other org: %s", s, r.Raw)
				}
			}
		})
	}
	if got := v.snapshot(); got != before {
		t.Errorf("the other org changed our records:\nbefore %s\nafter  %s", before, got)
	}
}

// badTokens are access tokens that must all be refused with 401.
func badTokens(t *testing.T, a *account) map[string]string {
	t.Helper()
	d := stack.Deps
	p := caller.Caller{UserID: a.userID, OrgID: a.orgID, Role: access.Owner}
	past := func() time.Time { return clock.Now().Add(-time.Hour) }
	expired, _, err := token.NewIssuer(d.TokenKey(), d.Config.TokenIssuer, d.Config.TokenAudience, past).Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forged, _, _ := token.NewIssuer(otherKey, d.Config.TokenIssuer, d.Config.TokenAudience, clock.Now).Issue(p)
	claims := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(
		`{"sub":%q,"org":%q,"role":"owner","iss":%q,"aud":%q,"exp":%d,"iat":%d}`,
		a.userID, a.orgID, d.Config.TokenIssuer, d.Config.TokenAudience, clock.Now().Add(time.Hour).Unix(), clock.Now().Unix())))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + claims + "."
	return map[string]string{"missing": "", "expired": expired, "forged": forged, "alg none": none, "garbage": "abc.def.ghi"}
}

// TestBadInputs sends every route malformed and hostile requests: each gets
// its exact problem status, and nothing is written.
func TestBadInputs(t *testing.T) {
	v := newVictim(t, "staff")
	a := v.owner
	tokens := badTokens(t, a)
	tokenNames := make([]string, 0, len(tokens))
	for k := range tokens {
		tokenNames = append(tokenNames, k)
	}
	sort.Strings(tokenNames)

	for _, rt := range routes.Table {
		path, body, ok := sampleRequest(rt.Key(), a, v)
		if !ok {
			t.Fatalf("no sample request for %s", rt.Key())
		}
		type badCase struct {
			name   string
			token  string
			body   any
			status int
			field  string
		}
		var cases []badCase
		// A webhook refuses anything unsigned with 400 before reading it;
		// TestStripeWebhookRefusals covers its bad inputs.
		if body != nil && !strings.HasPrefix(rt.Path, "/webhooks/") {
			fields := body.(map[string]any)
			first := slices.Sorted(func(yield func(string) bool) {
				for k := range fields {
					if !yield(k) {
						return
					}
				}
			})[0]
			utf8Status, utf8Field := utf8Case(rt.Key())
			cases = append(cases,
				badCase{name: "malformed json", token: a.token, body: `{"name": `, status: 400},
				badCase{name: "json array", token: a.token, body: `[1, 2]`, status: 400},
				badCase{name: "invalid utf-8", token: a.token, body: fmt.Sprintf("{%q: \"\xff\"}", first), status: utf8Status,
					field: utf8Field},
				badCase{name: "wrong type", token: a.token, body: fmt.Sprintf(`{%q: %s}`, first, wrongValue(fields[first])), status: 422, field: first},
				badCase{name: "unknown field", token: a.token, body: `{"isAdmin": true}`, status: 422, field: "isAdmin"},
				badCase{name: "oversized", token: a.token, body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413},
			)
		}
		if !rt.Public {
			for _, name := range tokenNames {
				cases = append(cases, badCase{name: "token " + name, token: tokens[name], body: body, status: 401})
			}
		}
		// A refused request sends no write to DynamoDB at all (checked per
		// case on the wire) and the table's item count does not move
		// (checked once per route: a count scans the whole table).
		before := itemCount(t)
		for _, bc := range cases {
			t.Run(rt.Key()+"/"+bc.name, func(t *testing.T) {
				c := &client{t: t, token: bc.token}
				r := c.do(rt.Method, path, bc.body)
				if r.Status != bc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, bc.status, r.Raw)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("content type %q, want application/problem+json", ct)
				}
				if int(r.Body["status"].(float64)) != bc.status || str(r.Body, "type") == "" || str(r.Body, "title") == "" {
					t.Errorf("problem body %s", r.Raw)
				}
				if bc.field != "" && !strings.Contains(r.Raw, `"field":"`+bc.field+`"`) {
					t.Errorf("problem does not name field %s: %s", bc.field, r.Raw)
				}
				if n := calls.WritesOf(r); n != 0 {
					t.Errorf("refused request sent %d writes to DynamoDB", n)
				}
			})
		}
		if after := itemCount(t); after != before {
			t.Errorf("%s: refused requests wrote %d items", rt.Key(), after-before)
		}
	}
}

// wrongValue is a JSON value of another type than v.
func wrongValue(v any) string {
	if _, isString := v.(string); isString {
		return "12345"
	}
	return `"not a number"`
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	a := signup(t)
	if r := a.do("GET", "/dev/openapi.json", nil); r.Status != 200 || str(r.Body, "openapi") != "3.1.0" {
		t.Errorf("GET /dev/openapi.json = %d, openapi %q", r.Status, str(r.Body, "openapi"))
	}
	if r := a.do("GET", "/v1/me", nil, "Host", "attacker.example:8080"); r.Status != 403 {
		t.Errorf("request for a foreign Host = %d, want 403 (DNS rebinding guard)", r.Status)
	}
	a.must(404, "GET", "/v1/nothing-here", nil)
	a.must(405, "PUT", "/v1/me", nil)
	r := a.do("OPTIONS", "/v1/me", nil, "Origin", "http://localhost:5173", "Access-Control-Request-Method", "GET")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight = %d, allow-origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// utf8Case is how a route answers a body that is not valid UTF-8: 400,
// but where its contract says otherwise (chat's message text: a 422 on
// the text, as for NUL; issue 17).
func utf8Case(key string) (status int, field string) {
	switch key {
	case "POST /v1/chat/threads/{threadId}/messages", "PATCH /v1/chat/threads/{threadId}/messages/{messageId}":
		return 422, "text"
	}
	return 400, ""
}
