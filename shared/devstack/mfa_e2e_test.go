package devstack

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// The two-factor flows over HTTP. They move the clock (TOTP codes are of
// 30-second steps, each accepted once), so they stay sequential.

// totpAt is the 6-digit RFC 6238 code of a base32 secret at t, computed
// here apart from the server's own implementation.
func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:])&0x7fffffff)%1000000)
}

// nextStep moves the clock into the next 30-second step, so a new code is
// current (each step's code signs in once).
func nextStep() { clock.Advance(30 * time.Second) }

// enrol turns two-factor on for a; it returns the secret and the recovery codes.
func (a *account) enrol() (string, []string) {
	a.t.Helper()
	r := a.must(200, "POST", "/v1/me/mfa/totp", nil)
	secret := str(r.Body, "secret")
	nextStep()
	c := a.must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": totpAt(a.t, secret, clock.Now())})
	var codes []string
	for _, v := range c.Body["recoveryCodes"].([]any) {
		codes = append(codes, v.(string))
	}
	return secret, codes
}

// mfaLogin signs in with the password and returns the mfaToken.
func (a *account) mfaLogin(c *client) string {
	a.t.Helper()
	r := c.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	if r.Body["mfaRequired"] != true || str(r.Body, "mfaToken") == "" || r.Body["accessToken"] != nil || r.Body["user"] != nil {
		a.t.Fatalf("login of a two-factor member = %s", r.Raw)
	}
	return str(r.Body, "mfaToken")
}

var recoveryShape = regexp.MustCompile(`^[a-z2-7]{4}(-[a-z2-7]{4}){3}$`)

// TestMFAFlow is issue 15's walkthrough end to end: an owner invites a
// member, who accepts the emailed link, turns two-factor on, signs in with
// a code and with a recovery code (each once), changes their password
// (other sessions end), resets it through the emailed link, and turns
// two-factor off; every step's activity entry is in the log and no secret.
func TestMFAFlow(t *testing.T) {
	owner := signup(t)
	userID, email := owner.invite("attorney")
	m := &account{client: &client{t: t, ip: nextIP()}, email: email, orgID: owner.orgID, userID: userID}
	body := acceptBody(lastLink(t, email, "/accept-invite?token="))
	m.username, m.password = body["username"].(string), body["password"].(string)
	m.token = str(m.must(200, "POST", "/v1/auth/invitations/accept", body).Body, "accessToken")

	// Enrol: a pending secret, a wrong code refused, a right one turns it on.
	r := m.must(200, "POST", "/v1/me/mfa/totp", nil)
	secret := str(r.Body, "secret")
	u, err := url.Parse(str(r.Body, "otpauthUrl"))
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Matterly" ||
		!strings.HasSuffix(u.Path, ":"+email) {
		t.Fatalf("enrolment = %s", r.Raw)
	}
	if r := m.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": "000000"}); r.Status != 422 || !strings.Contains(r.Raw, `"field":"code"`) {
		t.Fatalf("wrong code = %d: %s", r.Status, r.Raw)
	}
	confirmCode := totpAt(t, secret, clock.Now())
	c := m.must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": confirmCode})
	var codes []string
	for _, v := range c.Body["recoveryCodes"].([]any) {
		codes = append(codes, v.(string))
	}
	if len(codes) != 10 || c.Body["accessToken"] != nil {
		t.Fatalf("confirm = %s", c.Raw)
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if !recoveryShape.MatchString(code) || seen[code] {
			t.Errorf("recovery code %q malformed or repeated", code)
		}
		seen[code] = true
	}
	m.must(409, "POST", "/v1/me/mfa/totp", nil)
	m.must(409, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": confirmCode})

	// The secret is sealed at rest: the item holds neither it nor a code.
	item := rawItem(t, "ORG#"+owner.orgID, "MFA#"+userID)
	if strings.Contains(item, secret) || strings.Contains(item, codes[0]) || !strings.Contains(item, `"l1.`) {
		t.Errorf("the two-factor item holds its secrets in the clear: %s", item)
	}

	// Sign in with a code: the password alone gives no session.
	laptop := &client{t: t, ip: nextIP()}
	tok := m.mfaLogin(laptop)
	if laptop.refresh != "" {
		t.Fatal("a cookie came with the mfaToken")
	}
	// The code that confirmed is spent: its step is over.
	if r := laptop.do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": confirmCode}); r.Status != 422 {
		t.Fatalf("confirm's code replayed = %d: %s", r.Status, r.Raw)
	}
	nextStep()
	code := totpAt(t, secret, clock.Now())
	s := laptop.must(200, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": code})
	if str(s.Body, "user", "id") != userID || str(s.Body, "accessToken") == "" || laptop.refresh == "" {
		t.Fatalf("mfa sign-in = %s (cookie %v)", s.Raw, laptop.refresh != "")
	}
	laptop.token = str(s.Body, "accessToken")
	laptop.must(200, "GET", "/v1/me", nil)
	laptop.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": code}) // the token is spent
	// The same code again, through a new login: refused.
	phone := &client{t: t, ip: nextIP()}
	if r := phone.do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": m.mfaLogin(phone), "code": code}); r.Status != 422 {
		t.Fatalf("replayed code = %d: %s", r.Status, r.Raw)
	}

	// A recovery code works once, typed in any case with spaces.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	s = phone.must(200, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": m.mfaLogin(phone), "recoveryCode": typed})
	phone.token = str(s.Body, "accessToken")
	other := &client{t: t, ip: nextIP()}
	if r := other.do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": m.mfaLogin(other), "recoveryCode": codes[3]}); r.Status != 422 ||
		!strings.Contains(r.Raw, `"field":"recoveryCode"`) {
		t.Fatalf("used recovery code = %d: %s", r.Status, r.Raw)
	}

	// Change password: other sessions end (the phone's refresh fails).
	laptopAcct := &account{client: laptop}
	newPW := "amber falcon quarry whistle"
	laptopAcct.must(204, "POST", "/v1/me/password", map[string]any{"currentPassword": m.password, "newPassword": newPW})
	phone.must(401, "POST", "/v1/auth/refresh", nil)
	laptop.must(200, "POST", "/v1/auth/refresh", nil)
	m.password = newPW

	// Reset through the emailed link: every session ends; two-factor stays on.
	anon := &client{t: t, ip: nextIP()}
	anon.must(202, "POST", "/v1/auth/password-reset", map[string]any{"email": email})
	resetPW := "cobalt meadow sparrow violin"
	anon.must(204, "POST", "/v1/auth/password-reset/confirm", map[string]any{"token": lastLink(t, email, "/reset-password?token="), "newPassword": resetPW})
	laptop.must(401, "POST", "/v1/auth/refresh", nil)
	m.password = resetPW
	nextStep()
	s = anon.must(200, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": m.mfaLogin(anon), "code": totpAt(t, secret, clock.Now())})
	anon.token = str(s.Body, "accessToken")

	// Off: the password and a fresh code; the recovery codes go with it.
	off := &account{client: anon}
	if r := off.do("DELETE", "/v1/me/mfa", map[string]any{"currentPassword": "not the password at all", "code": totpAt(t, secret, clock.Now())}); r.Status != 422 ||
		!strings.Contains(r.Raw, `"field":"currentPassword"`) {
		t.Fatalf("off with a wrong password = %d: %s", r.Status, r.Raw)
	}
	if r := off.do("DELETE", "/v1/me/mfa", map[string]any{"currentPassword": resetPW, "code": totpAt(t, secret, clock.Now())}); r.Status != 422 {
		t.Fatalf("off with the code just used = %d: %s", r.Status, r.Raw)
	}
	nextStep()
	off.must(204, "DELETE", "/v1/me/mfa", map[string]any{"currentPassword": resetPW, "code": totpAt(t, secret, clock.Now())})
	off.must(409, "DELETE", "/v1/me/mfa", map[string]any{"currentPassword": resetPW, "code": totpAt(t, secret, clock.Now())})
	if item := rawItem(t, "ORG#"+owner.orgID, "MFA#"+userID); item != "" {
		t.Errorf("the two-factor item outlived turning it off: %s", item)
	}
	plain := &client{t: t, ip: nextIP()}
	if r := plain.must(200, "POST", "/v1/auth/login", map[string]any{"login": email, "password": resetPW}); str(r.Body, "accessToken") == "" {
		t.Fatalf("login after two-factor off = %s", r.Raw)
	}

	owner.login()
	log := owner.must(200, "GET", "/v1/activity?limit=100", nil)
	for _, action := range []string{"user.invitation_accepted", "user.mfa_enabled", "user.mfa_failed", "user.mfa_recovery_code_used",
		"user.password_changed", "user.password_reset", "user.mfa_disabled"} {
		if !strings.Contains(log.Raw, `"action":"`+action+`"`) {
			t.Errorf("no %s in the activity log", action)
		}
	}
	for _, secretText := range []string{secret, codes[0], codes[3], "otpauth"} {
		if strings.Contains(log.Raw, secretText) {
			t.Errorf("the activity log holds %q", secretText)
		}
	}
}

// TestMFATokenLimits: an mfaToken ends after 5 wrong codes (the right code
// then fails too) and after 5 minutes; a forged one is refused; a code and
// a recovery code together, or neither, is a 422.
func TestMFATokenLimits(t *testing.T) {
	clock.StartOfWindow(15 * time.Minute) // the wrong codes below spend the account's login budget
	a := signup(t)
	secret, codes := a.enrol()
	c := &client{t: t, ip: nextIP()}

	tok := a.mfaLogin(c)
	for i := range 4 {
		if r := c.do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": "000000"}); r.Status != 422 {
			t.Fatalf("wrong code %d = %d: %s", i+1, r.Status, r.Raw)
		}
	}
	c.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": "000000"}) // the fifth ends it
	nextStep()
	c.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": totpAt(t, secret, clock.Now())})

	tok = a.mfaLogin(c)
	clock.Advance(5*time.Minute + time.Second)
	c.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": totpAt(t, secret, clock.Now())})

	tok = a.mfaLogin(c)
	for name, body := range map[string]map[string]any{
		"both":     {"mfaToken": tok, "code": "123456", "recoveryCode": codes[0]},
		"neither":  {"mfaToken": tok},
		"no token": {"code": "123456"},
	} {
		if r := c.do("POST", "/v1/auth/mfa", body); r.Status != 422 {
			t.Errorf("%s = %d, want 422: %s", name, r.Status, r.Raw)
		}
	}
	forged := a.orgID + "." + a.userID + "." + strings.Repeat("A", 43)
	for _, bad := range []string{forged, tok + "x", "garbage"} {
		c.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": bad, "code": "123456"})
	}
	nextStep()
	c.must(200, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": totpAt(t, secret, clock.Now())})
}

// TestMFAConcurrentReplay: the same code, or the same recovery code, sent
// at once through two sign-ins: exactly one signs in.
func TestMFAConcurrentReplay(t *testing.T) {
	a := signup(t)
	secret, codes := a.enrol()
	for round := range 3 {
		for _, kind := range []string{"code", "recoveryCode"} {
			clients := []*client{{t: t, ip: nextIP()}, {t: t, ip: nextIP()}}
			toks := []string{a.mfaLogin(clients[0]), a.mfaLogin(clients[1])}
			nextStep()
			value := totpAt(t, secret, clock.Now())
			if kind == "recoveryCode" {
				value = codes[round]
			}
			statuses := make([]int, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					statuses[i] = clients[i].do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": toks[i], kind: value}).Status
				}()
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, st := range statuses {
				if st == 200 {
					ok++
				} else if st != 422 && st != 401 {
					t.Errorf("round %d %s: status %d", round, kind, st)
				}
			}
			if ok != 1 {
				t.Errorf("round %d: one %s signed in %d times (%v), want once", round, kind, ok, statuses)
			}
		}
	}
}

// TestMFARequiredByOrg: only an owner can require two-factor; a member
// without it then signs in to a token that reaches only the setup routes
// and GET /v1/me (every other route of the table answers 403 saying so),
// as does a session from before; confirming starts a full session.
func TestMFARequiredByOrg(t *testing.T) {
	owner := signup(t)
	admin := owner.member("admin")
	admin.must(403, "PATCH", "/v1/org", map[string]any{"requireMfa": true})
	m := owner.member("staff")
	before := &account{client: &client{t: t, ip: nextIP()}, username: m.username, password: m.password}
	before.login() // a session from before the requirement
	if r := owner.must(200, "PATCH", "/v1/org", map[string]any{"requireMfa": true}); r.Body["requireMfa"] != true {
		t.Fatalf("org = %s", r.Raw)
	}

	setup := &client{t: t, ip: nextIP()}
	r := setup.must(200, "POST", "/v1/auth/login", map[string]any{"login": m.username, "password": m.password})
	if r.Body["mfaSetupRequired"] != true || str(r.Body, "accessToken") == "" || setup.refresh != "" {
		t.Fatalf("login = %s (cookie %v)", r.Raw, setup.refresh != "")
	}
	setup.token = str(r.Body, "accessToken")
	setup.must(200, "GET", "/v1/me", nil)

	// The refreshed token of the older session is a setup token too.
	before.must(200, "GET", "/v1/clients", nil)
	before.token = str(before.must(200, "POST", "/v1/auth/refresh", nil).Body, "accessToken")
	before.must(403, "GET", "/v1/clients", nil)

	// A member joining now gets a setup token from their invitation too.
	_, email := owner.invite("staff")
	joined := &client{t: t, ip: nextIP()}
	joined.token = str(joined.must(200, "POST", "/v1/auth/invitations/accept", acceptBody(lastLink(t, email, "/accept-invite?token="))).Body, "accessToken")
	joined.must(200, "GET", "/v1/me", nil)
	joined.must(403, "GET", "/v1/clients", nil)

	sweepSetupToken(t, setup, m)

	// Enrolling turns the setup token into a session.
	e := setup.must(200, "POST", "/v1/me/mfa/totp", nil)
	nextStep()
	c := setup.must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": totpAt(t, str(e.Body, "secret"), clock.Now())})
	if str(c.Body, "accessToken") == "" || str(c.Body, "user", "id") != m.userID || setup.refresh == "" {
		t.Fatalf("confirm with a setup token = %s (cookie %v)", c.Raw, setup.refresh != "")
	}
	setup.token = str(c.Body, "accessToken")
	setup.must(200, "GET", "/v1/clients", nil)
	nextStep()
	setup.must(409, "DELETE", "/v1/me/mfa", map[string]any{"currentPassword": m.password, "code": totpAt(t, str(e.Body, "secret"), clock.Now())})
	setup.token = str(setup.must(200, "POST", "/v1/auth/refresh", nil).Body, "accessToken")
	setup.must(200, "GET", "/v1/clients", nil)

	// Not required any more: a member without two-factor signs in fully.
	owner.must(200, "PATCH", "/v1/org", map[string]any{"requireMfa": false})
	other := owner.member("attorney")
	other.must(200, "GET", "/v1/clients", nil)
}

// sweepSetupToken walks the route table with a setup token: every
// authenticated route not flagged for it answers 403 naming two-factor
// setup, and writes nothing.
func sweepSetupToken(t *testing.T, setup *client, m *account) {
	t.Helper()
	v := victim{owner: m, member: m, ids: map[string]string{}}
	for _, rt := range routes.Table {
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				v.ids[strings.Trim(seg, "{}")] = "01JAAAAAAAAAAAAAAAAAAAAAAA"
			}
		}
	}
	for _, rt := range routes.Table {
		if rt.Public || rt.MFASetup {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path, body, ok := sampleRequest(rt.Key(), m, v)
			if !ok {
				t.Fatalf("no sample request for %s", rt.Key())
			}
			c := &client{t: t, token: setup.token, ip: nextIP()}
			r := c.do(rt.Method, path, body)
			if r.Status != 403 || !strings.Contains(r.Raw, "Two-factor setup is required") {
				t.Fatalf("status %d, want 403 saying two-factor setup is required: %s", r.Status, r.Raw)
			}
			if n := calls.WritesOf(r); n != 0 {
				t.Errorf("a setup token's request sent %d writes", n)
			}
		})
	}
}

// rawItem is one table item as JSON, "" when there is none.
func rawItem(t *testing.T, pk, sk string) string {
	t.Helper()
	var item map[string]any
	if err := stack.Deps.DB.Get(context.Background(), pk, sk, &item); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ""
		}
		t.Fatal(err)
	}
	b, _ := json.Marshal(item)
	return string(b)
}

// TestMFAConcurrentWrongCodes: wrong codes sent at once through one
// mfaToken each count against it, so parallel guesses cannot get past the
// limit of five: afterwards the token is dead and even the right code
// answers 401.
func TestMFAConcurrentWrongCodes(t *testing.T) {
	clock.StartOfWindow(15 * time.Minute) // the ten wrong codes spend the account's whole login budget
	a := signup(t)
	secret, _ := a.enrol()
	c := &client{t: t, ip: nextIP()}
	tok := a.mfaLogin(c)
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = c.do("POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": "000000"}).Status
		}()
	}
	close(start)
	wg.Wait()
	// 429 is right too: when all ten pass the token's check before any
	// counts (a loaded machine), they also spend the account's budget,
	// which enrolment's code already drew on. None may sign in.
	wrong := 0
	for i, st := range statuses {
		switch st {
		case 422:
			wrong++
		case 401, 429:
		default:
			t.Errorf("wrong code %d = %d, want 422, 401 or 429 (%v)", i+1, st, statuses)
		}
	}
	if wrong > identity.MFAMaxAttempts {
		t.Errorf("%d wrong codes were judged, more than the token's %d (%v)", wrong, identity.MFAMaxAttempts, statuses)
	}
	// One login attempt's worth of the budget (and a new TOTP step) later:
	// the right code finds the token ended.
	clock.Advance(90*time.Second + time.Second)
	c.must(401, "POST", "/v1/auth/mfa", map[string]any{"mfaToken": tok, "code": totpAt(t, secret, clock.Now())})
}
