package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/token"
)

// Session lifetimes. A refresh token lives two weeks and is rotated on every
// use; a login session (token family) ends after 30 days regardless.
const (
	RefreshTTL = 14 * 24 * time.Hour
	SessionTTL = 30 * 24 * time.Hour
)

// Service implements the identity use cases.
type Service struct {
	DB       *store.DB
	Tokens   *token.Issuer
	Log      *slog.Logger
	Now      func() time.Time
	NewID    func() string
	Password password.Params
	Throttle ThrottlePolicy
	// Strength judges a new password ("" when acceptable). Only the accounts
	// function sets it: the others never set passwords and so do not pay
	// for its dictionaries at cold start.
	Strength func(pw string, userInputs ...string) string
	// Mailer tells an address's owner of a sign-up that tried to use it
	// (accounts function only; nil logs that no notice went out).
	Mailer Mailer
	// AppBaseURL is the web app's origin (APP_BASE_URL): account emails'
	// links (invitations) lead there.
	AppBaseURL string
	// ResetFloor is the least time a password-reset request takes, so a
	// known address (a write and an email) and an unknown one answer alike.
	ResetFloor time.Duration
	// Sealer encrypts TOTP secrets at rest (the auth function only: the
	// others never see one).
	Sealer *envelope.Sealer
	// AuditKeys opens the orgs' audit chain keys and AuditAnchors reads
	// the chains' anchors, for the audit log's verify route (org function).
	AuditKeys    *audit.Keyring
	AuditAnchors *audit.Anchors
}

// NewService returns a Service with production defaults.
func NewService(db *store.DB, tokens *token.Issuer, log *slog.Logger, now func() time.Time) *Service {
	return &Service{
		DB: db, Tokens: tokens, Log: log, Now: now,
		NewID:      func() string { return ulid.Make().String() },
		Password:   password.OWASP,
		Throttle:   DefaultThrottle,
		ResetFloor: 300 * time.Millisecond,
	}
}

// Session is what a successful sign-up, login or refresh hands out.
type Session struct {
	User          User
	AccessToken   string
	AccessExpires time.Time
	RefreshToken  string
	RefreshExpiry time.Time
	// MFAToken, from a login of a member with two-factor, is all there is:
	// no access or refresh token until the second step (VerifyMFA).
	MFAToken string
	// SetupOnly marks a login of a member whose org requires two-factor and
	// who has none: an access token scoped to setting it up, no refresh token.
	SetupOnly bool
}

// SignupInput is a new org and its first owner, and where the request came from.
type SignupInput struct {
	OrgName, Name, Email, Username, Password, Phone, Industry, Timezone string
	IP                                                                  string
}

// Signup creates the org and its owner and starts a session.
func (s *Service) Signup(ctx context.Context, in SignupInput) (Org, Session, error) {
	var c fault.Checker
	text(&c, "orgName", in.OrgName, true, 200)
	text(&c, "name", in.Name, true, 200)
	email, ok := normalizeEmail(in.Email)
	c.Check(ok, "email", "must be a valid email address")
	username, ok := normalizeUsername(in.Username)
	c.Check(ok, "username", "must be 3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
	c.Check(in.Phone == "" || validPhone(in.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	text(&c, "industry", in.Industry, false, 100)
	tz := in.Timezone
	if tz == "" {
		tz = "UTC"
	}
	c.Check(validTimezone(tz), "timezone", "must be an IANA time zone such as America/New_York")
	if err := s.checkStrength(&c, in.Password, in.Name, in.Email, in.Username, in.OrgName); err != nil {
		return Org{}, Session{}, err
	}
	if err := c.Err(); err != nil {
		return Org{}, Session{}, err
	}
	now := s.Now().UTC()
	if err := s.takeSignup(ctx, in.IP, now); err != nil {
		return Org{}, Session{}, err
	}
	hash, err := password.Hash(in.Password, s.Password)
	if err != nil {
		return Org{}, Session{}, err
	}
	org := Org{ID: s.NewID(), Name: strings.TrimSpace(in.OrgName), Industry: strings.TrimSpace(in.Industry), Timezone: tz,
		OwnerCount: 1, CreatedAt: now, UpdatedAt: now}
	user := User{ID: s.NewID(), OrgID: org.ID, Name: strings.TrimSpace(in.Name), Email: email, Username: username,
		Role: access.Owner, Phone: in.Phone, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}

	orgPut, err := s.DB.Put(toOrgRow(org), store.NotExists())
	if err != nil {
		return Org{}, Session{}, err
	}
	items, err := s.memberWrites(user)
	if err != nil {
		return Org{}, Session{}, err
	}
	sess, sessWrites, err := s.newSession(ctx, user, now)
	if err != nil {
		return Org{}, Session{}, err
	}
	all := append(append([]types.TransactWriteItem{orgPut}, items...), sessWrites...)
	if err := s.DB.Transact(ctx, all...); err != nil {
		return Org{}, Session{}, s.signupTaken(ctx, err, email)
	}
	s.Log.Info("security event", "event", "signup", "orgId", org.ID, "userId", user.ID)
	return org, sess, nil
}

// signupTaken answers a sign-up whose email or username is taken without
// telling whether the email is registered, whenever that can be hidden:
//
//   - A taken username is reported alone, as it always was (usernames are
//     public handles, shown to a whole org), and the email's state is
//     never added to it.
//   - A free username with a taken email answers one fixed 409 naming the
//     email. It cannot look like a success (that answer is a working
//     session), but it tells no more than that: it costs the same sign-up
//     token and the same password hash as a success, and the address's
//     owner is emailed that someone tried to sign up with it.
//
// Either way a taken email's owner hears of it, through the Mailer.
func (s *Service) signupTaken(ctx context.Context, err error, email string) error {
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		return err
	}
	emailTaken, usernameTaken := tce.Failed(2), tce.Failed(3) // after the org put and the user put
	if emailTaken {
		s.noticeSignupAttempt(ctx, email)
	}
	switch {
	case usernameTaken:
		return taken(fault.FieldError{Field: "username", Message: "is already taken"})
	case emailTaken:
		return taken(fault.FieldError{Field: "email", Message: "cannot be used to sign up; if it is yours, log in instead"})
	}
	return err
}

func taken(f fault.FieldError) error {
	e := fault.E(fault.Conflict, "That email or username is already in use.")
	e.Fields = []fault.FieldError{f}
	return e
}

// checkStrength records a password policy failure in c.
func (s *Service) checkStrength(c *fault.Checker, pw string, userInputs ...string) error {
	return s.checkStrengthOf(c, "password", pw, userInputs...)
}

// checkStrengthOf records a password policy failure of field in c.
func (s *Service) checkStrengthOf(c *fault.Checker, field, pw string, userInputs ...string) error {
	if s.Strength == nil {
		return errors.New("identity: no password policy configured")
	}
	if p := s.Strength(pw, userInputs...); p != "" {
		c.Add(field, p)
	}
	return nil
}

// memberWrites are the puts that create a member: the user and the two
// unique login lookups. Their order matters to uniquenessErr.
func (s *Service) memberWrites(u User) ([]types.TransactWriteItem, error) {
	userPut, err := s.DB.Put(toUserRow(u), store.NotExists())
	if err != nil {
		return nil, err
	}
	emailPut, err := s.DB.Put(loginRow{PK: emailPK(u.Email), SK: loginSK, OrgID: u.OrgID, UserID: u.ID}, store.NotExists())
	if err != nil {
		return nil, err
	}
	namePut, err := s.DB.Put(loginRow{PK: usernamePK(u.Username), SK: loginSK, OrgID: u.OrgID, UserID: u.ID}, store.NotExists())
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{userPut, emailPut, namePut}, nil
}

// uniquenessErr turns a failed member creation into a 409 naming the taken
// field; offset is the index of the user put within the transaction.
func uniquenessErr(err error, offset int) error {
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		return err
	}
	var fields []fault.FieldError
	if tce.Failed(offset + 1) {
		fields = append(fields, fault.FieldError{Field: "email", Message: "is already registered"})
	}
	if tce.Failed(offset + 2) {
		fields = append(fields, fault.FieldError{Field: "username", Message: "is already taken"})
	}
	e := fault.E(fault.Conflict, "That email or username is already in use.")
	e.Fields = fields
	return e
}

// newSession starts a token family and its first refresh token, and issues an
// access token. The returned writes must be committed for the session to exist.
func (s *Service) newSession(ctx context.Context, u User, now time.Time) (Session, []types.TransactWriteItem, error) {
	familyID := s.NewID()
	from := fromOf(ctx)
	fam := familyRow{PK: orgPK(u.OrgID), SK: familySK(familyID), UserID: u.ID, CreatedAt: formatTime(now),
		ExpiresAt: now.Add(SessionTTL).Unix(), LastUsedAt: formatTime(now), IP: from.IP, UserAgent: from.UserAgent}
	famPut, err := s.DB.Put(fam, store.NotExists())
	if err != nil {
		return Session{}, nil, err
	}
	refresh, refreshPut, expiry, err := s.newRefresh(u, familyID, now, time.Unix(fam.ExpiresAt, 0))
	if err != nil {
		return Session{}, nil, err
	}
	sess := Session{User: u, RefreshToken: refresh, RefreshExpiry: expiry}
	if sess.AccessToken, sess.AccessExpires, err = s.Tokens.Issue(inSession(u, familyID)); err != nil {
		return Session{}, nil, err
	}
	return sess, []types.TransactWriteItem{famPut, refreshPut}, nil
}

// newRefresh mints a refresh token "<orgId>.<tokenId>.<secret>"; only the
// secret's SHA-256 is stored. Its expiry never outlives the family.
func (s *Service) newRefresh(u User, familyID string, now, familyEnd time.Time) (string, types.TransactWriteItem, time.Time, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", types.TransactWriteItem{}, time.Time{}, err
	}
	expiry := now.Add(RefreshTTL)
	if familyEnd.Before(expiry) {
		expiry = familyEnd
	}
	tokenID := s.NewID()
	row := refreshRow{PK: orgPK(u.OrgID), SK: refreshSK(tokenID), FamilyID: familyID, UserID: u.ID,
		SecretHash: hashSecret(secret), ExpiresAt: expiry.Unix()}
	put, err := s.DB.Put(row, store.NotExists())
	if err != nil {
		return "", types.TransactWriteItem{}, time.Time{}, err
	}
	return u.OrgID + "." + tokenID + "." + base64.RawURLEncoding.EncodeToString(secret), put, expiry, nil
}

func hashSecret(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

func principalOf(u User) caller.Caller {
	return caller.Caller{UserID: u.ID, OrgID: u.OrgID, Role: u.Role}
}

var errBadCredentials = fault.E(fault.Unauthorized, "The login or password is incorrect.")

// dummyHash is an argon2id hash (OWASP parameters) of a random password no
// one knows. Logins for unknown accounts verify against it, so they cost the
// same time as a wrong password for a real account.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$0d/2OCqqJjbeut6n2RPPYA$jCr0QYd1iTJVz9tcTRJV0slXaSsqSw0v7IISPdU4bOI"

// Login checks a login (email or username) and password and starts a session.
func (s *Service) Login(ctx context.Context, login, pw, ip string) (Session, error) {
	var c fault.Checker
	c.Check(strings.TrimSpace(login) != "", "login", "is required")
	c.Check(pw != "", "password", "is required")
	if err := c.Err(); err != nil {
		return Session{}, err
	}
	login = strings.ToLower(strings.TrimSpace(login))
	now := s.Now().UTC()

	// Look the login up; an unknown one goes through the very same steps
	// (a throttle slot, a member read, a hash check) as a wrong password.
	lr := loginRow{OrgID: "-", UserID: "-"}
	if len(login) <= 254 { // longer is no email or username, and too long for a key
		pk := usernamePK(login)
		if strings.Contains(login, "@") {
			pk = emailPK(login)
		}
		if err := s.DB.Get(ctx, pk, loginSK, &lr); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Session{}, err
		}
	}
	// The account's counter is keyed by the member, so their email and
	// username share one budget; an unknown login by what was typed.
	account := "user#" + lr.UserID
	if lr.UserID == "-" {
		account = "login#" + login
	}
	slot, err := s.takeAttempt(ctx, account, ip, now)
	if err != nil {
		return Session{}, err
	}
	// The member, their org and their two-factor state, in one read.
	var ur userRow
	var or orgRow
	var mr mfaRow
	uo := &store.KeyOut{PK: orgPK(lr.OrgID), SK: userSK(lr.UserID), Out: &ur}
	oo := &store.KeyOut{PK: orgPK(lr.OrgID), SK: orgSK, Out: &or}
	mo := &store.KeyOut{PK: orgPK(lr.OrgID), SK: mfaSK(lr.UserID), Out: &mr}
	if err := s.DB.BatchGet(ctx, uo, oo, mo); err != nil {
		return Session{}, err
	}
	var uerr error
	if !uo.Found {
		uerr = store.ErrNotFound
	}
	hash := ur.PasswordHash
	invited := ur.Status == tenant.Invited // holds no password until they accept
	if or.DeletedAt != "" {
		invited = true // a workspace being deleted: no one signs in
	}
	if uerr != nil || invited || len(pw) > 4*password.MaxLength {
		hash = dummyHash
	}
	ok, err := password.Verify(pw, hash)
	if err != nil {
		return Session{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || uerr != nil || invited {
		s.Log.Info("security event", "event", "login_failed", "orgId", lr.OrgID)
		return Session{}, s.failedLogin(ctx, lr, ur, uerr == nil, now)
	}
	user := ur.toUser()
	// A right password gives its account slot back, in the same write.
	switch {
	case mo.Found && mr.Enabled:
		// Two-factor: the second step (VerifyMFA) starts the session.
		tok, put, err := s.newMFAToken(user, now)
		if err != nil {
			return Session{}, err
		}
		if err := s.DB.Transact(ctx, put, slot.giveBack); err != nil {
			return Session{}, err
		}
		s.Log.Info("security event", "event", "login_mfa_required", "orgId", user.OrgID, "userId", user.ID)
		return Session{User: user, MFAToken: tok}, nil
	case oo.Found && or.RequireMFA:
		// The org requires two-factor and this member has none: a token that
		// reaches only its setup, and no session to refresh.
		p := principalOf(user)
		p.Scope = caller.ScopeMFASetup
		sess := Session{User: user, SetupOnly: true}
		if sess.AccessToken, sess.AccessExpires, err = s.Tokens.Issue(p); err != nil {
			return Session{}, err
		}
		if err := s.DB.Transact(ctx, slot.giveBack); err != nil {
			return Session{}, err
		}
		s.Log.Info("security event", "event", "login_mfa_setup_required", "orgId", user.OrgID, "userId", user.ID)
		return sess, nil
	}
	sess, writes, err := s.newSession(ctx, user, now)
	if err != nil {
		return Session{}, err
	}
	if err := s.DB.Transact(ctx, append(writes, slot.giveBack, s.loginEvent(ctx, user, now))...); err != nil {
		return Session{}, err
	}
	s.Log.Info("security event", "event", "login", "orgId", user.OrgID, "userId", user.ID)
	return sess, nil
}

var errBadRefresh = fault.E(fault.Unauthorized, "The session has ended; log in again.")

// parseRefresh splits a refresh token into org, token id and secret.
func parseRefresh(tok string) (orgID, tokenID string, secret []byte, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", nil, false
	}
	secret, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(secret) != 32 || !validID(parts[0]) || !validID(parts[1]) {
		return "", "", nil, false
	}
	return parts[0], parts[1], secret, true
}

// lookupRefresh finds a presented refresh token and checks its secret.
func (s *Service) lookupRefresh(ctx context.Context, tok string) (refreshRow, string, error) {
	orgID, tokenID, secret, ok := parseRefresh(tok)
	if !ok {
		return refreshRow{}, "", errBadRefresh
	}
	var row refreshRow
	if err := s.DB.Get(ctx, orgPK(orgID), refreshSK(tokenID), &row); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return refreshRow{}, "", errBadRefresh
		}
		return refreshRow{}, "", err
	}
	if subtle.ConstantTimeCompare([]byte(row.SecretHash), []byte(hashSecret(secret))) != 1 {
		return refreshRow{}, "", errBadRefresh
	}
	return row, orgID, nil
}

// Refresh rotates a refresh token: the presented one is spent and a new one
// issued with a new access token. Presenting a spent token again means it
// was stolen or replayed, so its whole family is revoked.
func (s *Service) Refresh(ctx context.Context, tok string) (Session, error) {
	row, orgID, err := s.lookupRefresh(ctx, tok)
	if err != nil {
		return Session{}, err
	}
	now := s.Now().UTC()
	if row.Used {
		return Session{}, s.refreshReused(ctx, orgID, row)
	}
	fam := familyRow{}
	ur := userRow{}
	var or orgRow
	var mr mfaRow
	famReq := &store.KeyOut{PK: orgPK(orgID), SK: familySK(row.FamilyID), Out: &fam}
	userReq := &store.KeyOut{PK: orgPK(orgID), SK: userSK(row.UserID), Out: &ur}
	orgReq := &store.KeyOut{PK: orgPK(orgID), SK: orgSK, Out: &or}
	mfaReq := &store.KeyOut{PK: orgPK(orgID), SK: mfaSK(row.UserID), Out: &mr}
	if err := s.DB.BatchGet(ctx, famReq, userReq, orgReq, mfaReq); err != nil {
		return Session{}, err
	}
	if now.Unix() >= row.ExpiresAt || !famReq.Found || fam.Revoked || now.Unix() >= fam.ExpiresAt || !userReq.Found || or.DeletedAt != "" {
		return Session{}, errBadRefresh
	}
	user := ur.toUser()
	refresh, put, expiry, err := s.newRefresh(user, row.FamilyID, now, time.Unix(fam.ExpiresAt, 0))
	if err != nil {
		return Session{}, err
	}
	spend := s.DB.Update(orgPK(orgID), row.SK, "SET used = :t", &store.Cond{Expr: "used = :f"}, nil,
		map[string]types.AttributeValue{":t": store.Bool(true), ":f": store.Bool(false)})
	famOK := s.sessionUsed(ctx, orgID, fam.SK, now)
	// The member must still exist with the role the new token will carry.
	userOK := s.DB.Check(orgPK(orgID), ur.SK, *tenant.ActiveRoleIn(access.Role(ur.Role)))
	if err := s.DB.Transact(ctx, spend, famOK, userOK, put); err != nil {
		var tce *store.TxCanceledError
		if errors.As(err, &tce) && tce.Failed(0) {
			// Spent concurrently: a replay raced the rightful client.
			return Session{}, s.refreshReused(ctx, orgID, row)
		}
		if errors.As(err, &tce) {
			return Session{}, errBadRefresh
		}
		return Session{}, err
	}
	sess := Session{User: user, RefreshToken: refresh, RefreshExpiry: expiry}
	p := inSession(user, row.FamilyID)
	if or.RequireMFA && !mr.Enabled {
		// A session from before the org required two-factor goes on only
		// to set it up.
		p.Scope = caller.ScopeMFASetup
	}
	if sess.AccessToken, sess.AccessExpires, err = s.Tokens.Issue(p); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// revokeFamily ends a login session and answers the caller with 401.
func (s *Service) revokeFamily(ctx context.Context, orgID, familyID, why string) error {
	w := s.DB.Update(orgPK(orgID), familySK(familyID), "SET revoked = :t", store.Exists(), nil,
		map[string]types.AttributeValue{":t": store.Bool(true)})
	if err := s.DB.UpdateItem(ctx, w, nil); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	s.Log.Warn("security event", "event", why, "orgId", orgID, "familyId", familyID)
	return errBadRefresh
}

// Logout revokes the session the refresh token belongs to, when it is the
// caller's own. An absent or unknown token is not an error: logout is idempotent.
func (s *Service) Logout(ctx context.Context, p caller.Caller, tok string) error {
	if tok == "" {
		return nil
	}
	row, orgID, err := s.lookupRefresh(ctx, tok)
	if errors.Is(err, errBadRefresh) || (err == nil && (orgID != p.OrgID || row.UserID != p.UserID)) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.endFamily(ctx, p, orgID, row.UserID, row.FamilyID, actLogout)
}
