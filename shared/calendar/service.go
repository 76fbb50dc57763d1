package calendar

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Service implements the calendar.
type Service struct {
	DB     *store.DB
	Graph  Graph            // nil until the app registration is configured
	Sealer *envelope.Sealer // seals the tokens
	Queue  queue.Sender     // sync, renew and write-back jobs
	CRM    *crm.Service     // bookings: read, and Outlook's changes applied
	Log    *slog.Logger
	Now    func() time.Time
	// StateKey signs connect states (the link HMAC key).
	StateKey []byte
	// PublicBaseURL is where the callback is (redirect_uri);
	// AppBaseURL where the browser lands after it; NotificationURL where
	// Graph posts change notifications.
	PublicBaseURL, AppBaseURL, NotificationURL string
	// Sleep waits between the polls of a refresh another request is running.
	Sleep func(context.Context, time.Duration) error
}

// Settings are the URLs and keys the service is built with.
type Settings struct {
	StateKey                                   []byte
	PublicBaseURL, AppBaseURL, NotificationURL string
}

// NewService returns a Service. graph is nil until MS_CLIENT_ID and the
// client secret are set: the routes then answer 503 saying what to set.
func NewService(db *store.DB, graph Graph, sealer *envelope.Sealer, q queue.Sender, bookings *crm.Service, log *slog.Logger, now func() time.Time, set Settings) *Service {
	app := set.AppBaseURL
	if app == "" {
		app = set.PublicBaseURL
	}
	note := set.NotificationURL
	if note == "" && set.PublicBaseURL != "" {
		note = strings.TrimSuffix(set.PublicBaseURL, "/") + "/webhooks/microsoft-graph"
	}
	return &Service{DB: db, Graph: graph, Sealer: sealer, Queue: q, CRM: bookings, Log: log, Now: now, StateKey: set.StateKey,
		PublicBaseURL: strings.TrimSuffix(set.PublicBaseURL, "/"), AppBaseURL: strings.TrimSuffix(app, "/"), NotificationURL: note,
		Sleep: func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}}
}

// ErrNotConfigured answers every Graph call until the app is registered.
var ErrNotConfigured = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "Microsoft 365 calendars are not configured: set MS_CLIENT_ID and MS_CLIENT_SECRET (and MS_LOGIN_BASE_URL/MS_GRAPH_BASE_URL for a local stand-in) for make dev, or MS_CLIENT_ID and the Microsoft client secret in AWS."}

func (s *Service) graph() (Graph, error) {
	if s.Graph == nil || s.Sealer == nil {
		return nil, ErrNotConfigured
	}
	return s.Graph, nil
}

// connectable is graph() for the connect and its callback, which also
// need the state key and the callback's public address.
func (s *Service) connectable() (Graph, error) {
	if len(s.StateKey) == 0 || s.PublicBaseURL == "" {
		return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "Microsoft 365 calendars need PUBLIC_BASE_URL (the OAuth callback's address)."}
	}
	return s.graph()
}

var (
	errNotConnected = fault.Refused("calendar-not-connected", "No Microsoft calendar is connected.")
	errReconnect    = fault.Refused("calendar-reconnect-required", "Microsoft refused the connection's token: connect the calendar again.")
)

// graphFault turns a Graph error into the API's answer.
func graphFault(err error) error {
	switch {
	case err == nil:
		return nil
	case fault.As(err) != nil:
		return err
	case errors.Is(err, ErrInvalidGrant):
		return errReconnect
	}
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: 30 * time.Second, Message: "Microsoft Graph could not be reached; try again.", Err: err}
}

// stateTTL is how long a connect may take.
const stateTTL = 10 * time.Minute

// ConnectOut is GET /v1/calendar/microsoft/connect.
type ConnectOut struct {
	AuthorizeURL string `json:"authorizeUrl"`
	// Binding is the connect cookie's value (never in the body): the
	// callback refuses a browser without it, so an authorize URL sent to
	// someone else cannot connect their Microsoft account to the sender.
	Binding string `json:"-"`
}

// BindingCookie names the cookie that binds a connect to the browser
// that started it; it is only sent to the callback.
const BindingCookie = "matterly_calendar_connect"

// BindingCookieValue is the Set-Cookie value of Connect's response.
func BindingCookieValue(v string) string {
	return BindingCookie + "=" + v + "; Path=/v1/calendar/microsoft/callback; Max-Age=" + itoa(int64(stateTTL/time.Second)) +
		"; HttpOnly; Secure; SameSite=Lax"
}

func bindingHash(v string) string {
	sum := sha256.Sum256([]byte("calendar-connect\x00" + v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Service) redirectURI() string { return s.PublicBaseURL + "/v1/calendar/microsoft/callback" }

// Connect starts a connect: a single-use state bound to the member and
// org, signed and expiring in 10 minutes, with the PKCE verifier kept here.
func (s *Service) Connect(ctx context.Context, a caller.Caller) (ConnectOut, error) {
	g, err := s.connectable()
	if err != nil {
		return ConnectOut{}, err
	}
	nonce, verifier, binding := random(18), random(48), random(32)
	now := s.Now().UTC()
	exp := now.Add(stateTTL)
	row := stateRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: stateSK(nonce), Type: "calendarState"}, UserID: a.UserID, Verifier: verifier,
		Binding: bindingHash(binding), Expires: exp, TTL: exp.Add(time.Hour).Unix()}
	put, err := s.DB.Put(row, store.NotExists())
	if err != nil {
		return ConnectOut{}, err
	}
	// Confirmed as a member in the same write: a removed member's token starts nothing.
	if err := s.DB.Transact(ctx, put, tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.UseCalendar)); err != nil {
		if store.Failed(err, 1) {
			return ConnectOut{}, tenant.ErrRoleChanged
		}
		return ConnectOut{}, err
	}
	sum := sha256.Sum256([]byte(verifier))
	return ConnectOut{AuthorizeURL: g.AuthorizeURL(s.signState(a.OrgID, a.UserID, nonce, exp), base64.RawURLEncoding.EncodeToString(sum[:]), s.redirectURI()),
		Binding: binding}, nil
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signState is "<orgId>.<userId>.<nonce>.<unix expiry>.<mac>".
func (s *Service) signState(orgID, userID, nonce string, exp time.Time) string {
	body := orgID + "." + userID + "." + nonce + "." + itoa(exp.Unix())
	return body + "." + s.mac(body)
}

func (s *Service) mac(body string) string {
	m := hmac.New(sha256.New, s.StateKey)
	m.Write([]byte("msgraph-state\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type state struct{ orgID, userID, nonce string }

func (s *Service) openState(v string) (state, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 5 || !check.ID(parts[0]) || !check.ID(parts[1]) {
		return state{}, false
	}
	body := strings.Join(parts[:4], ".")
	if subtle.ConstantTimeCompare([]byte(s.mac(body)), []byte(parts[4])) != 1 {
		return state{}, false
	}
	var exp int64
	if json.Unmarshal([]byte(parts[3]), &exp) != nil || s.Now().Unix() > exp {
		return state{}, false
	}
	return state{orgID: parts[0], userID: parts[1], nonce: parts[2]}, true
}

// Callback finishes a connect and answers where the browser goes: the
// settings page with calendar=connected, or calendar=error&reason=... A
// bad, reused or expired state, or one arriving from a browser without
// the connect's cookie (binding), changes nothing.
func (s *Service) Callback(ctx context.Context, q url.Values, binding string) string {
	reason := s.callback(ctx, q, binding)
	v := url.Values{"calendar": {"connected"}}
	if reason != "" {
		v = url.Values{"calendar": {"error"}, "reason": {reason}}
	}
	return s.AppBaseURL + "/settings/calendar?" + v.Encode()
}

func (s *Service) callback(ctx context.Context, q url.Values, binding string) string {
	g, err := s.connectable()
	if err != nil {
		return "not_configured"
	}
	st, ok := s.openState(q.Get("state"))
	if !ok || binding == "" || len(binding) > 256 {
		return "invalid_state"
	}
	// Bound to the browser that started the connect: another browser (the
	// victim of a forwarded authorize URL) is refused without consuming
	// the state, so it cannot burn the owner's connect either.
	var pending stateRow
	if err := s.DB.Get(ctx, tenant.PK(st.orgID), stateSK(st.nonce), &pending); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.Log.Error("calendar connect state not read", "err", err)
			return "unavailable"
		}
		return "invalid_state"
	}
	want := bindingHash(binding)
	if subtle.ConstantTimeCompare([]byte(want), []byte(pending.Binding)) != 1 {
		return "invalid_state"
	}
	// Single use: the state's item is deleted before anything else, and
	// only by the first callback to arrive.
	row, err := s.takeState(ctx, st, want)
	if err != nil {
		var cond *types.ConditionalCheckFailedException
		if !errors.As(err, &cond) {
			s.Log.Error("calendar connect state not read", "err", err)
			return "unavailable"
		}
		return "invalid_state"
	}
	if row.Expires.Before(s.Now()) {
		return "invalid_state"
	}
	if e := q.Get("error"); e != "" {
		return "denied"
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return "invalid_request"
	}
	member, found, err := (tenant.Members{DB: s.DB}).Member(ctx, st.orgID, st.userID)
	if err != nil || !found {
		return "invalid_state"
	}
	tok, err := g.Exchange(ctx, code, row.Verifier, s.redirectURI())
	if err != nil {
		s.Log.Warn("calendar code exchange refused", "orgId", st.orgID, "userId", st.userID, "err", err)
		return "exchange_failed"
	}
	acct, err := g.Me(ctx, tok.Access)
	if err != nil {
		s.Log.Warn("calendar account not read", "orgId", st.orgID, "userId", st.userID, "err", err)
		return "graph_failed"
	}
	cals, err := g.Calendars(ctx, tok.Access)
	if err != nil {
		s.Log.Warn("calendars not listed", "orgId", st.orgID, "userId", st.userID, "err", err)
		return "graph_failed"
	}
	if err := s.store(ctx, caller.Caller{OrgID: st.orgID, UserID: st.userID, Role: member.Role}, tok, acct, cals); err != nil {
		if errors.Is(err, errAccountInUse) {
			s.Log.Warn("calendar account already connected by another member", "orgId", st.orgID, "userId", st.userID)
			return "account_in_use"
		}
		s.Log.Error("calendar connection not stored", "orgId", st.orgID, "userId", st.userID, "err", err)
		return "unavailable"
	}
	for _, c := range cals {
		if c.IsDefault {
			s.enqueue(ctx, Job{Kind: JobSubscribe, OrgID: st.orgID, UserID: st.userID, CalendarID: c.ID})
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

// takeState deletes a connect's state item, answering what it held; only
// one caller can (a condition failure for the others).
func (s *Service) takeState(ctx context.Context, st state, binding string) (stateRow, error) {
	var row stateRow
	res, err := s.DB.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.DB.Table, Key: store.Key(tenant.PK(st.orgID), stateSK(st.nonce)),
		ConditionExpression:       ptr("attribute_exists(PK) AND userId = :u AND binding = :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": store.S(st.userID), ":b": store.S(binding)},
		ReturnValues:              types.ReturnValueAllOld})
	if err != nil {
		return row, err
	}
	err = attributevalue.UnmarshalMap(res.Attributes, &row)
	return row, err
}

// store writes a new connection: the account, its calendars (the default
// one synced), the sealed tokens, and the activity entry, replacing an
// earlier connection of the member (whose events are then resynced).
func (s *Service) store(ctx context.Context, a caller.Caller, tok Tokens, acct Account, cals []RemoteCalendar) error {
	orgID, userID := a.OrgID, a.UserID
	now := s.Now().UTC()
	var old connRow
	prev := s.DB.Get(ctx, tenant.PK(orgID), connSK(userID), &old)
	if prev != nil && !errors.Is(prev, store.ErrNotFound) {
		return prev
	}
	if prev == nil && old.AccountID != acct.ID {
		// Another Microsoft account: the old one's calendars, delta links
		// and subscriptions mean nothing to the new one.
		for _, c := range old.Calendars {
			if err := s.dropCalendar(ctx, orgID, userID, c.ID); err != nil {
				return err
			}
		}
		old.Calendars = nil
	}
	row := connRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: connSK(userID), Type: "calendarConnection"}, UserID: userID, AccountID: acct.ID,
		Email: strings.ToLower(acct.Email), Name: acct.Name, Status: StatusConnected, CreatedAt: now, UpdatedAt: now}
	chosen := map[string]bool{}
	for _, c := range old.Calendars {
		chosen[c.ID] = c.Sync
	}
	for _, c := range cals {
		sync, ok := chosen[c.ID]
		if !ok {
			sync = c.IsDefault
		}
		row.Calendars = append(row.Calendars, Calendar{ID: c.ID, Name: c.Name, Owner: c.Owner, Shared: !ownCalendar(Calendar{Owner: c.Owner, IsDefault: c.IsDefault}, row.Email),
			Sync: sync, IsDefault: c.IsDefault})
	}
	sealed, err := s.seal(ctx, orgID, userID, tok)
	if err != nil {
		return err
	}
	conn, err := s.DB.Put(row, nil)
	if err != nil {
		return err
	}
	claim, err := s.DB.Put(accountRow{Keys: store.Keys{PK: acctPK(acct.ID), SK: acctSK, Type: "msgraphAccount"}, OrgID: orgID, UserID: userID},
		claimedBy(orgID, userID))
	if err != nil {
		return err
	}
	for _, c := range row.Calendars {
		if c.Sync {
			sr := syncRow{OrgID: orgID, UserID: userID, CalendarID: c.ID, SubExpires: now}
			sr.setKeys()
			// A reconnect keeps what the calendar's sync had.
			put, err := s.DB.Put(sr, &store.Cond{Expr: "attribute_not_exists(PK)"})
			if err != nil {
				return err
			}
			if err := s.DB.Transact(ctx, put); err != nil && !store.Failed(err, 0) {
				return err
			}
		}
	}
	rec, err := activity.Record(s.DB, a, now, activity.Entry{Action: "calendar.connected",
		EntityType: "calendarConnection", EntityID: userID})
	if err != nil {
		return err
	}
	const tokenAt, claimAt = 1, 2
	for attempt := 0; attempt < 5; attempt++ {
		// The new tokens replace exactly the token item read (or none):
		// a refresh stored meanwhile is read again and replaced, not
		// overwritten blindly with a version it already has.
		var tr tokenRow
		version, cond := int64(1), store.NotExists()
		switch err := s.DB.Get(ctx, tenant.PK(orgID), tokenSK(userID), &tr); {
		case err == nil:
			version, cond = tr.Version+1, sameTokens(tr)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		tk, err := s.DB.Put(tokenRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: tokenSK(userID), Type: "calendarToken"}, Sealed: sealed,
			ExpiresAt: now.Add(tok.ExpiresIn), Version: version}, cond)
		if err != nil {
			return err
		}
		items := []types.TransactWriteItem{conn, tk, claim}
		if prev == nil && old.AccountID != "" && old.AccountID != acct.ID {
			items = append(items, s.DB.Delete(acctPK(old.AccountID), acctSK, claimedBy(orgID, userID)))
		}
		err = s.DB.Transact(ctx, append(items, rec, s.DB.Check(tenant.PK(orgID), tenant.MemberSK(userID), *store.Exists()))...)
		switch {
		case store.Failed(err, claimAt):
			return errAccountInUse
		case store.Failed(err, tokenAt):
			continue // the tokens changed meanwhile: read them again
		}
		return err
	}
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second, Message: "The calendar's tokens kept changing; try again."}
}

// errAccountInUse: the Microsoft account is another member's connection.
var errAccountInUse = errors.New("the Microsoft account is connected by another member")

func purpose(orgID, userID string) string { return "msgraph:" + orgID + ":" + userID }

func (s *Service) seal(ctx context.Context, orgID, userID string, tok Tokens) (string, error) {
	b, _ := json.Marshal(tokenPair{Access: tok.Access, Refresh: tok.Refresh})
	defer clear(b)
	return s.Sealer.Seal(ctx, purpose(orgID, userID), b)
}

func (s *Service) open(ctx context.Context, orgID, userID string, tr tokenRow) (tokenPair, error) {
	b, err := s.Sealer.Open(ctx, purpose(orgID, userID), tr.Sealed)
	if err != nil {
		return tokenPair{}, err
	}
	defer clear(b)
	var p tokenPair
	err = json.Unmarshal(b, &p)
	return p, err
}

// refreshAhead is how long before expiry an access token is refreshed.
const refreshAhead = 2 * time.Minute

// leaseFor bounds one refresh; a crashed refresher's lease runs out.
const leaseFor = 30 * time.Second

// accessToken returns a live access token of the member's connection,
// refreshing it when it expires within refreshAhead or when force (a 401
// from Graph). Refreshes are serialized: the one that takes the lease on
// the token item's version calls Microsoft; the others wait for its
// result, so an old refresh token is never sent after a newer one was
// issued. A refused refresh marks the connection reconnect_required.
func (s *Service) accessToken(ctx context.Context, orgID, userID string, force bool) (string, error) {
	return s.accessTokenFrom(ctx, orgID, userID, nil, force)
}

// accessTokenFrom is accessToken starting from a token item already read.
func (s *Service) accessTokenFrom(ctx context.Context, orgID, userID string, first *tokenRow, force bool) (string, error) {
	g, err := s.graph()
	if err != nil {
		return "", err
	}
	var stale string
	for attempt := 0; attempt < 50; attempt++ {
		var tr tokenRow
		if first != nil {
			tr, first = *first, nil
		} else if err := s.DB.Get(ctx, tenant.PK(orgID), tokenSK(userID), &tr); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", errNotConnected
			}
			return "", err
		}
		p, err := s.open(ctx, orgID, userID, tr)
		if err != nil {
			return "", err
		}
		now := s.Now().UTC()
		if p.Refresh == "" {
			return "", errReconnect
		}
		if tr.ExpiresAt.After(now.Add(refreshAhead)) && (!force || (stale != "" && p.Access != stale)) {
			return p.Access, nil
		}
		if stale == "" {
			stale = p.Access
		}
		if p.Access != stale {
			return p.Access, nil // another request refreshed meanwhile
		}
		// Take the lease on this version (the very tokens read: a
		// connection made again since restarts its version).
		lease := s.DB.Update(tenant.PK(orgID), tokenSK(userID), "SET leaseUntil = :l", &store.Cond{
			Expr: "attribute_exists(PK) AND version = :v AND sealed = :s AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
			Values: map[string]types.AttributeValue{":v": store.N(tr.Version), ":s": store.S(tr.Sealed),
				":now": store.S(now.Format(stampLayout))}},
			nil, map[string]types.AttributeValue{":l": store.S(now.Add(leaseFor).Format(stampLayout))})
		if err := s.DB.UpdateItem(ctx, lease, nil); err != nil {
			if !errors.Is(err, store.ErrConditionFailed) {
				return "", err
			}
			if err := s.Sleep(ctx, 100*time.Millisecond); err != nil {
				return "", err
			}
			continue // someone else is refreshing: read their result
		}
		tok, err := g.Refresh(ctx, p.Refresh)
		if errors.Is(err, ErrInvalidGrant) {
			s.markReconnect(ctx, orgID, userID, tr)
			return "", errReconnect
		}
		if err != nil {
			s.release(ctx, orgID, userID, tr.Version)
			return "", graphFault(err)
		}
		if tok.Refresh == "" {
			tok.Refresh = p.Refresh // Microsoft rotates it; keep the old one if it did not
		}
		sealed, err := s.seal(ctx, orgID, userID, tok)
		if err != nil {
			return "", err
		}
		// Written only over the tokens it was read with, while the
		// connection exists: a disconnect meanwhile is not undone (no
		// connection resurrected), and a reconnect's or another refresh's
		// newer tokens are not replaced.
		put, err := s.DB.Put(tokenRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: tokenSK(userID), Type: "calendarToken"}, Sealed: sealed,
			ExpiresAt: now.Add(tok.ExpiresIn), Version: tr.Version + 1}, sameTokens(tr))
		if err != nil {
			return "", err
		}
		if err := s.DB.Transact(ctx, put, s.DB.Check(tenant.PK(orgID), connSK(userID), *store.Exists())); err != nil {
			if !store.Failed(err, 0) && !store.Failed(err, 1) {
				return "", err
			}
			// Disconnected or replaced meanwhile: read again what is there.
			s.Log.Warn("refreshed calendar token not stored: the connection changed meanwhile", "orgId", orgID, "userId", userID)
			continue
		}
		return tok.Access, nil
	}
	return "", &fault.Error{Kind: fault.Unavailable, RetryAfter: 5 * time.Second, Message: "The calendar's token is being refreshed; try again."}
}

// sameTokens is the condition of replacing a token item: it still exists
// and holds the very tokens read (version and sealed pair).
func sameTokens(tr tokenRow) *store.Cond {
	return &store.Cond{Expr: "attribute_exists(PK) AND version = :v AND sealed = :s",
		Values: map[string]types.AttributeValue{":v": store.N(tr.Version), ":s": store.S(tr.Sealed)}}
}

func (s *Service) release(ctx context.Context, orgID, userID string, version int64) {
	w := s.DB.Update(tenant.PK(orgID), tokenSK(userID), "SET leaseUntil = :z", &store.Cond{Expr: "version = :v",
		Values: map[string]types.AttributeValue{":v": store.N(version)}}, nil, map[string]types.AttributeValue{":z": store.S(zeroTime)})
	if err := s.DB.UpdateItem(ctx, w, nil); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		s.Log.Warn("calendar token lease not released", "orgId", orgID, "userId", userID, "err", err)
	}
}

// markReconnect records that Microsoft refused the refresh token of tr,
// unless the connection was replaced (or removed) meanwhile.
func (s *Service) markReconnect(ctx context.Context, orgID, userID string, tr tokenRow) {
	now := s.Now().UTC().Format(stampLayout)
	w := s.DB.Update(tenant.PK(orgID), connSK(userID), "SET #s = :s, updatedAt = :u", store.Exists(), map[string]string{"#s": "status"},
		map[string]types.AttributeValue{":s": store.S(StatusReconnectRequired), ":u": store.S(now)})
	if err := s.DB.Transact(ctx, w, s.DB.Check(tenant.PK(orgID), tokenSK(userID), *sameTokens(tr))); err != nil && !store.Failed(err, 0) && !store.Failed(err, 1) {
		s.Log.Error("calendar not marked reconnect_required", "orgId", orgID, "userId", userID, "err", err)
	}
	s.Log.Warn("calendar refresh refused: reconnect required", "orgId", orgID, "userId", userID)
}

// withToken runs call with a live access token, once more with a
// refreshed one after a 401.
func (s *Service) withToken(ctx context.Context, orgID, userID string, call func(access string) error) error {
	at, err := s.accessToken(ctx, orgID, userID, false)
	if err != nil {
		return err
	}
	err = call(at)
	if !errors.Is(err, ErrUnauthorized) {
		return err
	}
	if at, err = s.accessToken(ctx, orgID, userID, true); err != nil {
		return err
	}
	return call(at)
}

func (s *Service) conn(ctx context.Context, orgID, userID string) (connRow, error) {
	var c connRow
	err := s.DB.Get(ctx, tenant.PK(orgID), connSK(userID), &c)
	if errors.Is(err, store.ErrNotFound) {
		return connRow{}, errNotConnected
	}
	return c, err
}

// Status is the caller's connection.
func (s *Service) Status(ctx context.Context, a caller.Caller) (Status, error) {
	c, err := s.conn(ctx, a.OrgID, a.UserID)
	if errors.Is(err, errNotConnected) {
		return Status{Calendars: []Calendar{}, Status: "disconnected"}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return Status{Connected: true, Account: &AccountView{Email: c.Email, Name: c.Name}, Calendars: c.Calendars, LastSyncAt: c.LastSyncAt, Status: c.Status}, nil
}

// CalendarPatch is PATCH /v1/calendar/microsoft/calendars/{calendarId}.
type CalendarPatch struct {
	Sync *bool `json:"sync"`
}

// SetSync turns a calendar's sync on or off. Turning it on queues its
// first sync and subscription; off removes its events and subscription.
func (s *Service) SetSync(ctx context.Context, a caller.Caller, calendarID string, p CalendarPatch) (Status, error) {
	if p.Sync == nil {
		return Status{}, fault.Fields(fault.FieldError{Field: "sync", Message: "is required"})
	}
	c, err := s.conn(ctx, a.OrgID, a.UserID)
	if errors.Is(err, errNotConnected) {
		return Status{}, fault.E(fault.NotFound, "No such calendar.")
	}
	if err != nil {
		return Status{}, err
	}
	i := -1
	for j, cal := range c.Calendars {
		if cal.ID == calendarID {
			i = j
		}
	}
	if i < 0 {
		return Status{}, fault.E(fault.NotFound, "No such calendar.")
	}
	if c.Calendars[i].Sync != *p.Sync {
		before := c.UpdatedAt
		c.Calendars[i].Sync = *p.Sync
		c.UpdatedAt = s.Now().UTC()
		put, err := s.DB.Put(c, store.Unchanged(before))
		if err != nil {
			return Status{}, err
		}
		items := []types.TransactWriteItem{put}
		if *p.Sync {
			sr := syncRow{OrgID: a.OrgID, UserID: a.UserID, CalendarID: calendarID, SubExpires: c.UpdatedAt}
			sr.setKeys()
			w, err := s.DB.Put(sr, nil)
			if err != nil {
				return Status{}, err
			}
			items = append(items, w)
		}
		e := activity.Entry{Action: "calendar.sync-changed", EntityType: "calendarConnection", EntityID: a.UserID, Fields: []string{"sync"}}
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, c.UpdatedAt, access.UseCalendar, e, items...)
		if store.Failed(err, 0) {
			return Status{}, fault.E(fault.Conflict, "The connection changed meanwhile; try again.")
		}
		if err != nil {
			return Status{}, err
		}
		if *p.Sync {
			s.enqueue(ctx, Job{Kind: JobSubscribe, OrgID: a.OrgID, UserID: a.UserID, CalendarID: calendarID})
		} else if err := s.dropCalendar(ctx, a.OrgID, a.UserID, calendarID); err != nil {
			return Status{}, err
		}
	}
	return s.Status(ctx, a)
}

// dropCalendar removes a calendar's subscription (at Graph too), sync
// state and events.
func (s *Service) dropCalendar(ctx context.Context, orgID, userID, calID string) error {
	var sr syncRow
	err := s.DB.Get(ctx, tenant.PK(orgID), syncSK(userID, calID), &sr)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if sr.SubscriptionID != "" && s.Graph != nil {
		if err := s.withToken(ctx, orgID, userID, func(at string) error { return s.Graph.Unsubscribe(ctx, at, sr.SubscriptionID) }); err != nil {
			s.Log.Warn("subscription not deleted at Graph; it expires by itself", "orgId", orgID, "userId", userID, "err", err)
		}
	}
	items := []types.TransactWriteItem{s.DB.Delete(tenant.PK(orgID), syncSK(userID, calID), nil)}
	if sr.SubscriptionID != "" {
		items = append(items, s.DB.Delete(subPK(sr.SubscriptionID), subSK, nil))
	}
	if err := s.DB.Transact(ctx, items...); err != nil {
		return err
	}
	_, err = s.deleteEvents(ctx, orgID, userID, func(r eventRow) bool { return r.CalendarID == calID })
	return err
}

// Disconnect deletes the subscriptions at Graph, the tokens and every
// synced event of the caller.
func (s *Service) Disconnect(ctx context.Context, a caller.Caller) error {
	c, err := s.conn(ctx, a.OrgID, a.UserID)
	if err != nil {
		return err
	}
	return s.disconnect(ctx, a, c)
}

func (s *Service) disconnect(ctx context.Context, a caller.Caller, c connRow) error {
	for _, cal := range c.Calendars {
		if err := s.dropCalendar(ctx, a.OrgID, c.UserID, cal.ID); err != nil {
			return err
		}
	}
	// Links of bookings written to Outlook: the events stay in Outlook.
	links, err := store.QueryAll[writeRow](ctx, s.DB, store.Query{PK: tenant.PK(a.OrgID), SKPrefix: writePf, Consistent: true})
	if err != nil {
		return err
	}
	var dels []types.TransactWriteItem
	for _, l := range links {
		if l.UserID == c.UserID {
			dels = append(dels, s.DB.Delete(l.PK, l.SK, nil))
		}
	}
	if err := s.transactChunks(ctx, dels); err != nil {
		return err
	}
	items := []types.TransactWriteItem{s.DB.Delete(tenant.PK(a.OrgID), connSK(c.UserID), nil), s.DB.Delete(tenant.PK(a.OrgID), tokenSK(c.UserID), nil)}
	if c.AccountID != "" {
		// The account is free for another member again. Only the member's
		// own claim goes (a connection older than the claims may share
		// its account with a member who has claimed it since).
		var claim accountRow
		switch err := s.DB.Get(ctx, acctPK(c.AccountID), acctSK, &claim); {
		case err == nil && claim.OrgID == a.OrgID && claim.UserID == c.UserID:
			items = append(items, s.DB.Delete(acctPK(c.AccountID), acctSK, claimedBy(a.OrgID, c.UserID)))
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if a.UserID == c.UserID && a.Role != "" {
		e := activity.Entry{Action: "calendar.disconnected", EntityType: "calendarConnection", EntityID: c.UserID}
		return activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.UseCalendar, e, items...)
	}
	rec, err := activity.Record(s.DB, a, s.Now(), activity.Entry{Action: "calendar.disconnected", EntityType: "calendarConnection", EntityID: c.UserID})
	if err != nil {
		return err
	}
	return s.DB.Transact(ctx, append(items, rec)...)
}

// transactChunks writes items in transactions of up to 100.
func (s *Service) transactChunks(ctx context.Context, items []types.TransactWriteItem) error {
	for len(items) > 0 {
		n := min(len(items), maxTransact)
		if err := s.DB.Transact(ctx, items[:n]...); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// maxTransact is DynamoDB's limit of items per transaction.
const maxTransact = 100

// enqueue sends a job; a failure is logged (the 15-minute schedule
// catches up).
func (s *Service) enqueue(ctx context.Context, j Job) {
	if s.Queue == nil {
		s.Log.Warn("calendar job not queued: no queue", "kind", j.Kind)
		return
	}
	b, _ := json.Marshal(j)
	if err := s.Queue.Send(ctx, Queue, string(b), map[string]string{"kind": j.Kind}); err != nil {
		s.Log.Error("calendar job not queued", "kind", j.Kind, "orgId", j.OrgID, "err", err)
	}
}
