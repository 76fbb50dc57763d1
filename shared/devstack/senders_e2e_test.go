package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/senderswire"
)

// The stack's email is make dev's sandbox (no SES endpoint), whose domains
// verify without DNS; these tests give the messaging function SES
// identities and DNS they control instead (providers/ses's tests hold
// SES's wire format), so ownership is proved as in AWS.
func init() {
	Routers[routes.FnMessaging] = func(d *platform.Deps) (*httpapi.Router, error) {
		svc := messagingwire.Messaging(d)
		if err := senders.Provision(context.Background(), senderswire.Setup(d), svc); err != nil {
			return nil, err
		}
		svc.Domains, svc.Resolver, svc.SandboxDomains = sesDomains, dnsFake, false
		return messaging.NewRouter(svc, d.RouterConfig())
	}
}

// fakeDomains is SES's domain identities: one per domain for the whole
// account, DKIM pending until the test says otherwise.
type fakeDomains struct {
	mu      sync.Mutex
	ids     map[string]*messaging.DomainState
	deleted []string
}

var sesDomains = &fakeDomains{ids: map[string]*messaging.DomainState{}}

func (f *fakeDomains) CreateDomain(_ context.Context, d string) (messaging.DomainState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[d] == nil {
		f.ids[d] = &messaging.DomainState{Exists: true, DKIMStatus: "PENDING", DKIMTokens: []string{"k1" + d, "k2" + d, "k3" + d}}
	}
	return *f.ids[d], nil
}

func (f *fakeDomains) DomainState(_ context.Context, d string) (messaging.DomainState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[d] == nil {
		return messaging.DomainState{}, nil
	}
	return *f.ids[d], nil
}

func (f *fakeDomains) DeleteDomain(_ context.Context, d string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ids, d)
	f.deleted = append(f.deleted, d)
	return nil
}

// dkimVerified is SES finding the domain's CNAMEs.
func (f *fakeDomains) dkimVerified(d string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[d].DKIMStatus, f.ids[d].VerifiedForSending = "SUCCESS", true
}

func (f *fakeDomains) wasDeleted(d string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.deleted, d)
}

// fakeDNS holds TXT records by name.
type fakeDNS struct {
	mu  sync.Mutex
	txt map[string][]string
}

var dnsFake = &fakeDNS{txt: map[string][]string{}}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.txt[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) publish(name string, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txt[name] = append(f.txt[name], values...)
}

// provision answers the platform's Twilio account calls: the available
// numbers search, the purchase and the Messaging Service create.
func (f *fakeTwilio) provision(w http.ResponseWriter, r *http.Request) bool {
	acct := "/2010-04-01/Accounts/" + twilioSID
	key := r.Method + " " + r.URL.Path
	if key != "GET "+acct+"/AvailablePhoneNumbers/US/Local.json" && key != "POST "+acct+"/IncomingPhoneNumbers.json" && key != "POST /v1/Services" {
		return false
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != twilioSID || pass != twilioToken {
		http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
		return true
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return true
	}
	if key == "POST "+acct+"/IncomingPhoneNumbers.json" {
		f.mu.Lock()
		h := f.hold
		f.hold = nil
		f.mu.Unlock()
		if h != nil {
			close(h.arrived)
			<-h.release
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch key {
	case "GET " + acct + "/AvailablePhoneNumbers/US/Local.json":
		f.searches = append(f.searches, r.URL.Query())
		area := r.URL.Query().Get("AreaCode")
		if area == "" {
			area = "628"
		}
		fmt.Fprintf(w, `{"available_phone_numbers":[{"phone_number":"+1%s%07d","iso_country":"US","capabilities":{"SMS":true}}],"page":0,"page_size":1}`, area, len(f.searches))
	case "POST " + acct + "/IncomingPhoneNumbers.json":
		f.bought = append(f.bought, r.PostForm)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"PN%032d","account_sid":%q,"phone_number":%q}`, len(f.bought), twilioSID, r.PostForm.Get("PhoneNumber"))
	default:
		f.services = append(f.services, r.PostForm)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"MG%032x","account_sid":%q,"friendly_name":%q}`, 1<<40+len(f.services), twilioSID, r.PostForm.Get("FriendlyName"))
	}
	return true
}

func (f *fakeTwilio) lastBought() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bought[len(f.bought)-1]
}

// lastEmailTo is the newest sandboxed email to addr.
func lastEmailTo(t *testing.T, addr string) messaging.OutboxItem {
	t.Helper()
	for _, it := range stack.Outbox.Items() {
		if it.Channel == messaging.Email && it.To == addr {
			return it
		}
	}
	t.Fatalf("no email to %s", addr)
	return messaging.OutboxItem{}
}

func domainOf(t *testing.T, a *account, domain string) map[string]any {
	t.Helper()
	r := a.must(200, "GET", "/v1/messaging/email-domains", nil)
	items, _ := r.Body["items"].([]any)
	for _, it := range items {
		if d := it.(map[string]any); d["domain"] == domain {
			return d
		}
	}
	t.Fatalf("%s not listed: %s", domain, r.Raw)
	return nil
}

// txtOf is the ownership record the org was told to publish.
func txtOf(t *testing.T, d map[string]any) (name, value string) {
	t.Helper()
	recs, _ := d["dnsRecords"].([]any)
	if len(recs) != 4 {
		t.Fatalf("dnsRecords = %v, want the TXT and three CNAMEs", recs)
	}
	txt := recs[0].(map[string]any)
	if txt["type"] != "TXT" || !strings.HasPrefix(txt["value"].(string), "matterly-verification=") {
		t.Fatalf("first record %v, want the TXT ownership record", txt)
	}
	return txt["name"].(string), txt["value"].(string)
}

// TestEmailDomainOwnership is issue 13's "no org may send as another
// firm" for email: an address is accepted only on a domain verified for
// the org (SES's DKIM and the org's own TXT record), one org per domain;
// anything else goes from the platform's address with the firm's Reply-To.
func TestEmailDomainOwnership(t *testing.T) {
	a, b := newSMSOrg(t), newSMSOrg(t)
	domain := fmt.Sprintf("firm%d.example", seq.Add(1))
	from := "office@" + domain

	r := a.must(201, "POST", "/v1/messaging/email-domains", map[string]any{"domain": "  " + strings.ToUpper(domain) + ". "})
	if str(r.Body, "domain") != domain || str(r.Body, "status") != "pending" {
		t.Fatalf("added %s", r.Raw)
	}
	nameA, tokenA := txtOf(t, r.Body)
	if nameA != "_matterly."+domain {
		t.Errorf("TXT name %q", nameA)
	}
	if recs := r.Body["dnsRecords"].([]any); recs[1].(map[string]any)["name"] != "k1"+domain+"._domainkey."+domain ||
		recs[1].(map[string]any)["value"] != "k1"+domain+".dkim.amazonses.com" {
		t.Errorf("DKIM record %v", recs[1])
	}
	a.must(409, "POST", "/v1/messaging/email-domains", map[string]any{"domain": domain})
	for _, bad := range []string{"b", "a@b.example", "-x.example", "x..example", "example.123", "http://x.example"} {
		if r := a.must(422, "POST", "/v1/messaging/email-domains", map[string]any{"domain": bad}); !strings.Contains(r.Raw, `"field":"domain"`) {
			t.Errorf("domain %q: %s", bad, r.Raw)
		}
	}

	// Unverified, malformed, or a@b-style: refused, naming fromEmail.
	for _, addr := range []string{from, "a@b", "not an address", "office@other" + domain} {
		if r := a.must(422, "PATCH", "/v1/messaging/settings", map[string]any{"fromEmail": addr}); !strings.Contains(r.Raw, `"field":"fromEmail"`) {
			t.Errorf("fromEmail %q: %s", addr, r.Raw)
		}
	}
	a.must(422, "PATCH", "/v1/messaging/settings", map[string]any{"replyToEmail": "a@b"})

	// SES verifies DKIM: not enough, the org's TXT record is missing.
	sesDomains.dkimVerified(domain)
	if d := domainOf(t, a.account, domain); d["status"] != "pending" || !strings.Contains(d["problem"].(string), "TXT") {
		t.Errorf("DKIM only: %v", d)
	}
	// Org B asks for the same domain: same SES identity, its own token.
	rb := b.must(201, "POST", "/v1/messaging/email-domains", map[string]any{"domain": domain})
	_, tokenB := txtOf(t, rb.Body)
	if tokenB == tokenA {
		t.Fatal("two orgs got the same ownership token")
	}
	dnsFake.publish(nameA, "v=spf1 -all", tokenA)
	if d := domainOf(t, a.account, domain); d["status"] != "verified" || d["verifiedAt"] == nil {
		t.Fatalf("A after publishing: %v", d)
	}
	// Even with B's token published too, the domain is A's.
	dnsFake.publish(nameA, tokenB)
	if d := domainOf(t, b.account, domain); d["status"] != "pending" || !strings.Contains(d["problem"].(string), "Another org") {
		t.Errorf("B: %v", d)
	}
	b.must(422, "PATCH", "/v1/messaging/settings", map[string]any{"fromEmail": from})
	a.must(200, "PATCH", "/v1/messaging/settings", map[string]any{"fromEmail": strings.ToUpper(from), "replyToEmail": "desk@" + domain})
	b.must(200, "PATCH", "/v1/messaging/settings", map[string]any{"replyToEmail": "Desk@Firm-B.example"})

	send := map[string]any{"subject": "Hello", "body": "Your documents are ready.", "kind": "general"}
	send["clientId"] = a.clientID
	a.must(202, "POST", "/v1/messages/email", send)
	send["clientId"] = b.clientID
	b.must(202, "POST", "/v1/messages/email", send)
	drain(t)
	if m := lastEmailTo(t, a.email); !strings.HasSuffix(m.From, "<"+from+">") || m.ReplyTo != "desk@"+domain {
		t.Errorf("A's email from %q reply-to %q, want its verified address", m.From, m.ReplyTo)
	}
	platform := "<" + stack.Deps.Config.EmailFrom + ">"
	if stack.Deps.Config.EmailFrom == "" {
		platform = "<no-reply@sandbox.matterly.invalid>"
	}
	if m := lastEmailTo(t, b.email); !strings.HasSuffix(m.From, platform) || !strings.HasPrefix(m.From, "Firm ") || m.ReplyTo != "desk@firm-b.example" {
		t.Errorf("B's email from %q reply-to %q, want the platform's address, B's name and B's Reply-To", m.From, m.ReplyTo)
	}

	// B cannot delete A's verification; A's delete ends it, and the worker
	// (checking at send time) sends A's next email from the platform.
	b.must(204, "DELETE", "/v1/messaging/email-domains/"+domain, nil)
	if d := domainOf(t, a.account, domain); d["status"] != "verified" {
		t.Errorf("A after B's delete: %v", d)
	}
	b.must(404, "DELETE", "/v1/messaging/email-domains/"+domain, nil)
	if sesDomains.wasDeleted(domain) {
		t.Fatal("SES identity deleted while A still has the domain")
	}
	a.must(204, "DELETE", "/v1/messaging/email-domains/"+domain, nil)
	if !sesDomains.wasDeleted(domain) {
		t.Error("SES identity kept after the last org deleted the domain")
	}
	send["clientId"] = a.clientID
	a.must(202, "POST", "/v1/messages/email", send)
	drain(t)
	if m := lastEmailTo(t, a.email); !strings.HasSuffix(m.From, platform) || m.ReplyTo != "desk@"+domain {
		t.Errorf("A's email after the delete from %q reply-to %q, want the platform's address", m.From, m.ReplyTo)
	}
	// Now B may prove it: the domain was released.
	_, tokenB = txtOf(t, b.must(201, "POST", "/v1/messaging/email-domains", map[string]any{"domain": domain}).Body)
	sesDomains.dkimVerified(domain)
	dnsFake.publish(nameA, tokenB)
	if d := domainOf(t, b.account, domain); d["status"] != "verified" {
		t.Errorf("B after A released the domain: %v", d)
	}
}

// TestSMSSenderAssignment: the platform buys the org's number (Twilio's
// exact calls), and an org whose number was set before assignments
// existed sends nothing until it is assigned.
func TestSMSSenderAssignment(t *testing.T) {
	a := signup(t)
	r := a.must(201, "POST", "/v1/messaging/sms-numbers", map[string]any{"areaCode": 212})
	number := str(r.Body, "smsFromNumber")
	if !strings.HasPrefix(number, "+1212") || str(a.must(200, "GET", "/v1/org", nil).Body, "smsFromNumber") != number {
		t.Fatalf("bought %s", r.Raw)
	}
	if got, want := twilioFake.lastBought(), (url.Values{"PhoneNumber": {number}, "SmsUrl": {publicURL + "/webhooks/twilio/sms"}, "SmsMethod": {"POST"}}); !equalForms(got, want) {
		t.Errorf("purchase form %v, want %v", got, want)
	}
	a.must(409, "POST", "/v1/messaging/sms-numbers", map[string]any{})
	a.must(422, "POST", "/v1/messaging/sms-numbers", map[string]any{"areaCode": 12})
	staff := a.member("staff")
	staff.must(403, "POST", "/v1/messaging/sms-numbers", map[string]any{})
	staff.must(403, "POST", "/v1/messaging/sms-services", map[string]any{})

	// A legacy org: its number was set (and claimed) before this change,
	// never assigned by the platform.
	o := newSMSOrg(t)
	legacy := fmt.Sprintf("+1917%07d", seq.Add(1))
	db := stack.Deps.DB
	if err := db.UpdateItem(context.Background(), db.Update(tenant.PK(o.orgID), tenant.OrgSK, "SET smsFromNumber = :n", nil, nil,
		map[string]types.AttributeValue{":n": store.S(legacy)}), nil); err != nil {
		t.Fatal(err)
	}
	id := str(o.sms(o.client, 202, "Hello").Body, "id")
	drain(t)
	if m := o.message(t, id); m["status"] != "failed" || m["errorCode"] != "no_sender" {
		t.Errorf("legacy number's message: %v", m)
	}
	if n := len(twilioFake.to(o.phone)); n != 0 {
		t.Errorf("twilio got %d messages from an unassigned number", n)
	}
}

// twilioHold stops one number purchase at the fake Twilio.
type twilioHold struct{ arrived, release chan struct{} }

// holdNextPurchase makes the next purchase wait until release is closed;
// arrived is closed when it reaches Twilio.
func (f *fakeTwilio) holdNextPurchase() *twilioHold {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = &twilioHold{arrived: make(chan struct{}), release: make(chan struct{})}
	return f.hold
}

func (f *fakeTwilio) purchases() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bought)
}

// TestSMSNumberPurchaseRace: a second purchase request while the first is
// at Twilio gets 409 and never reaches Twilio (each purchase is the
// platform's money); once the first has set the number, so does a third.
func TestSMSNumberPurchaseRace(t *testing.T) {
	a := signup(t)
	before := twilioFake.purchases()
	h := twilioFake.holdNextPurchase()
	first := make(chan result, 1)
	go func() { first <- a.do("POST", "/v1/messaging/sms-numbers", map[string]any{}) }()
	<-h.arrived
	second := a.do("POST", "/v1/messaging/sms-numbers", map[string]any{})
	close(h.release)
	r := <-first
	if r.Status != 201 || second.Status != 409 {
		t.Fatalf("concurrent purchases answered %d %s and %d %s, want 201 and 409", r.Status, r.Raw, second.Status, second.Raw)
	}
	if n := twilioFake.purchases() - before; n != 1 {
		t.Errorf("%d purchases reached Twilio, want 1", n)
	}
	number := str(r.Body, "smsFromNumber")
	if got := str(a.must(200, "GET", "/v1/org", nil).Body, "smsFromNumber"); got != number {
		t.Errorf("org's number %q, want %q", got, number)
	}
	a.must(409, "POST", "/v1/messaging/sms-numbers", map[string]any{})
	if n := twilioFake.purchases() - before; n != 1 {
		t.Errorf("%d purchases reached Twilio after the claim was released, want 1", n)
	}
}

// TestSMSNumberPurchaseClaim: a claim left by a stopped request blocks
// purchases until its lease ends, then is taken over; a number it bought
// and assigned is set instead of buying another.
func TestSMSNumberPurchaseClaim(t *testing.T) {
	type claimRow struct {
		PK      string `dynamodbav:"PK"`
		SK      string `dynamodbav:"SK"`
		Request string `dynamodbav:"requestId"`
		Until   int64  `dynamodbav:"until"`
		Number  string `dynamodbav:"number,omitempty"`
	}
	ctx := context.Background()
	db := stack.Deps.DB
	for _, tc := range []struct {
		name     string
		until    time.Duration // from now
		assigned bool          // the claim's number was bought and assigned
		status   int
		buys     int
	}{
		{name: "held", until: time.Minute, status: 409},
		{name: "expired", until: -time.Second, status: 201, buys: 1},
		{name: "expired with its number assigned", until: -time.Second, assigned: true, status: 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := signup(t)
			row := claimRow{PK: tenant.PK(a.orgID), SK: "SMSNUMBER#PURCHASE", Request: "stopped", Until: clock.Now().Add(tc.until).Unix()}
			if tc.assigned {
				row.Number = fmt.Sprintf("+1646%07d", seq.Add(1))
				w, err := identity.SMSNumberAssignment(db, a.orgID, row.Number)
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Transact(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.PutItem(ctx, row, nil); err != nil {
				t.Fatal(err)
			}
			before := twilioFake.purchases()
			r := a.must(tc.status, "POST", "/v1/messaging/sms-numbers", map[string]any{})
			if n := twilioFake.purchases() - before; n != tc.buys {
				t.Errorf("%d purchases reached Twilio, want %d", n, tc.buys)
			}
			if tc.assigned && str(r.Body, "smsFromNumber") != row.Number {
				t.Errorf("set %s, want the claim's number %s", r.Raw, row.Number)
			}
			var left claimRow
			err := db.Get(ctx, row.PK, row.SK, &left)
			if held := tc.status == 409; held != (err == nil) || held && left.Request != "stopped" {
				t.Errorf("claim after the request: %+v, %v", left, err)
			}
		})
	}
}

func equalForms(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if !slices.Equal(a[k], v) {
			return false
		}
	}
	return true
}
