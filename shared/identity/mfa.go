package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Two-factor sign-in (TOTP, RFC 6238) with single-use recovery codes.
//
// A member's two-factor state is one item, MFA#<userId>: the TOTP secret
// sealed by the envelope Sealer (purpose "totp:<userId>"), pending until a
// first code confirms it; the last time step a code was accepted at, which
// every later code must exceed (a conditional write, so a code signs in
// once even when two requests race); and the SHA-256 hashes of the unused
// recovery codes, a string set a code leaves by a conditional DELETE.
//
// A login whose password is right for such a member answers an mfaToken
// instead of a session: "<orgId>.<id>.<secret>", stored as the secret's
// hash under MFATOKEN#<id>, good for MFATokenTTL and MFAMaxAttempts wrong
// codes.

const (
	// MFATokenTTL is how long the second step of a sign-in may take.
	MFATokenTTL = 5 * time.Minute
	// MFAMaxAttempts wrong codes end an mfaToken.
	MFAMaxAttempts = 5
	// RecoveryCodes is how many recovery codes enabling two-factor hands out.
	RecoveryCodes = 10
)

func mfaSK(userID string) string       { return "MFA#" + userID }
func mfaTokenSK(tokenID string) string { return "MFATOKEN#" + tokenID }
func totpPurpose(userID string) string { return "totp:" + userID }

// mfaRow is a member's two-factor state.
type mfaRow struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	Type      string   `dynamodbav:"type"`
	UserID    string   `dynamodbav:"userId"`
	Pending   string   `dynamodbav:"pending,omitempty"` // sealed secret awaiting its first code
	Secret    string   `dynamodbav:"secret,omitempty"`  // sealed secret in use
	Enabled   bool     `dynamodbav:"enabled"`
	LastStep  int64    `dynamodbav:"lastStep"`                  // the last time step a code was accepted at
	Codes     []string `dynamodbav:"codes,stringset,omitempty"` // hashes of the unused recovery codes
	EnabledAt string   `dynamodbav:"enabledAt,omitempty"`
}

// mfaTokenRow is the second step of a sign-in in progress.
type mfaTokenRow struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	UserID     string `dynamodbav:"userId"`
	SecretHash string `dynamodbav:"secretHash"`
	Attempts   int    `dynamodbav:"attempts"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"` // also the table's TTL
}

var (
	errNoSealer = errors.New("identity: two-factor needs the secret sealer (KMS_KEY_ID in AWS)")
	errBadMFA   = fault.E(fault.Unauthorized, "This sign-in has expired or failed too often; sign in again.")
	errMFAOn    = fault.E(fault.Conflict, "Two-factor sign-in is already on; turn it off first to enrol again.")
	errMFAOff   = fault.E(fault.Conflict, "Two-factor sign-in is not on.")
	errNoEnrol  = fault.E(fault.Conflict, "No two-factor setup is in progress; start one with POST /v1/me/mfa/totp.")
)

func wrongCode(field string) error {
	return fault.Fields(fault.FieldError{Field: field, Message: "is incorrect"})
}

// mfaState reads a member's two-factor item; the zero row when there is none.
func (s *Service) mfaState(ctx context.Context, orgID, userID string) (mfaRow, error) {
	var m mfaRow
	if err := s.DB.Get(ctx, orgPK(orgID), mfaSK(userID), &m); err != nil && !errors.Is(err, store.ErrNotFound) {
		return mfaRow{}, err
	}
	return m, nil
}

// Enrolment is a new TOTP secret for the member's authenticator app.
type Enrolment struct {
	Secret     string // base32
	OtpauthURL string
}

// StartTOTP gives the caller a new TOTP secret, pending until ConfirmTOTP.
// Starting again replaces a pending secret; with two-factor on it is a 409.
func (s *Service) StartTOTP(ctx context.Context, p caller.Caller) (Enrolment, error) {
	if s.Sealer == nil {
		return Enrolment{}, errNoSealer
	}
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return Enrolment{}, err
	}
	key := make([]byte, totpSecretLen)
	if _, err := rand.Read(key); err != nil {
		return Enrolment{}, err
	}
	sealed, err := s.Sealer.Seal(ctx, totpPurpose(u.ID), key)
	if err != nil {
		return Enrolment{}, err
	}
	row := mfaRow{PK: orgPK(u.OrgID), SK: mfaSK(u.ID), Type: "mfa", UserID: u.ID, Pending: sealed}
	put, err := s.DB.Put(row, &store.Cond{Expr: "attribute_not_exists(PK) OR enabled = :f",
		Values: map[string]types.AttributeValue{":f": store.Bool(false)}})
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.DB.Transact(ctx, put, s.stillHasRole(p, u.Role)); err != nil {
		if store.Failed(err, 0) {
			return Enrolment{}, errMFAOn
		}
		if roleLost(err, 2) {
			return Enrolment{}, errRoleChanged
		}
		return Enrolment{}, err
	}
	secret := b32.EncodeToString(key)
	return Enrolment{Secret: secret, OtpauthURL: otpauthURL(secret, u.Email)}, nil
}

// Confirmed is what turning two-factor on hands out: the recovery codes,
// shown this once, and for a caller signed in only to set two-factor up, a
// full session.
type Confirmed struct {
	RecoveryCodes []string
	Session       *Session
}

// ConfirmTOTP turns two-factor on once code is right for the pending
// secret. That code is spent (the next must be of a later step).
func (s *Service) ConfirmTOTP(ctx context.Context, p caller.Caller, code string) (Confirmed, error) {
	code = normalizeCode(code)
	var c fault.Checker
	c.Check(code != "", "code", "is required")
	if err := c.Err(); err != nil {
		return Confirmed{}, err
	}
	if s.Sealer == nil {
		return Confirmed{}, errNoSealer
	}
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return Confirmed{}, err
	}
	m, err := s.mfaState(ctx, u.OrgID, u.ID)
	if err != nil {
		return Confirmed{}, err
	}
	if m.Enabled {
		return Confirmed{}, errMFAOn
	}
	if m.Pending == "" {
		return Confirmed{}, errNoEnrol
	}
	key, err := s.Sealer.Open(ctx, totpPurpose(u.ID), m.Pending)
	if err != nil {
		return Confirmed{}, err
	}
	now := s.Now().UTC()
	step, ok := totpMatch(key, code, now)
	if !ok {
		s.Log.Info("security event", "event", "mfa_enrol_failed", "orgId", u.OrgID, "userId", u.ID)
		return Confirmed{}, wrongCode("code")
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return Confirmed{}, err
	}
	on := s.DB.Update(orgPK(u.OrgID), mfaSK(u.ID),
		"SET secret = :p, enabled = :t, lastStep = :step, codes = :codes, enabledAt = :now REMOVE pending",
		&store.Cond{Expr: "pending = :p AND enabled = :f"}, nil,
		map[string]types.AttributeValue{":p": store.S(m.Pending), ":t": store.Bool(true), ":f": store.Bool(false),
			":step": store.N(step), ":codes": &types.AttributeValueMemberSS{Value: hashes}, ":now": store.S(formatTime(now))})
	rec, err := s.record(p, now, actMFAEnabled, u.ID)
	if err != nil {
		return Confirmed{}, err
	}
	writes := []types.TransactWriteItem{on, rec, s.stillHasRole(p, u.Role)}
	out := Confirmed{RecoveryCodes: codes}
	if p.Scope == caller.ScopeMFASetup {
		// Signed in only to set two-factor up: now a real session starts.
		sess, sw, err := s.newSession(ctx, u, now)
		if err != nil {
			return Confirmed{}, err
		}
		writes = append(writes, sw...)
		out.Session = &sess
	}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if store.Failed(err, 0) {
			return Confirmed{}, fault.E(fault.Conflict, "The two-factor setup changed meanwhile; start again.")
		}
		if store.Failed(err, 2) {
			return Confirmed{}, errRoleChanged
		}
		return Confirmed{}, err
	}
	s.Log.Info("security event", "event", "mfa_enabled", "orgId", u.OrgID, "userId", u.ID)
	return out, nil
}

// DisableMFA turns the caller's two-factor off (and drops the recovery
// codes); it takes the current password and a current code, from the
// login attempts' budget.
func (s *Service) DisableMFA(ctx context.Context, p caller.Caller, current, code, ip string) error {
	code = normalizeCode(code)
	var c fault.Checker
	c.Check(current != "", "currentPassword", "is required")
	c.Check(code != "", "code", "is required")
	if err := c.Err(); err != nil {
		return err
	}
	if s.Sealer == nil {
		return errNoSealer
	}
	u, org, err := s.Me(ctx, p)
	if err != nil {
		return err
	}
	if org.RequireMFA {
		return fault.E(fault.Conflict, "Your org requires two-factor sign-in; an owner can lift that first.")
	}
	now := s.Now().UTC()
	slot, err := s.checkCurrentPassword(ctx, u, current, ip, now, "mfa_disable_failed")
	if err != nil {
		return err
	}
	m, err := s.mfaState(ctx, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	if !m.Enabled {
		return errMFAOff
	}
	step, ok, err := s.checkTOTP(ctx, u.ID, m, code, now)
	if err != nil {
		return err
	}
	if !ok {
		return s.codeFailed(ctx, as(u, p), now, u, nil, "code")
	}
	off := s.DB.Delete(orgPK(u.OrgID), mfaSK(u.ID), &store.Cond{Expr: "enabled = :t AND lastStep < :step",
		Values: map[string]types.AttributeValue{":t": store.Bool(true), ":step": store.N(step)}})
	rec, err := s.record(p, now, actMFADisabled, u.ID)
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, off, rec, slot.giveBack); err != nil {
		if store.Failed(err, 0) { // the code was used meanwhile, or two-factor went off
			return s.codeFailed(ctx, as(u, p), now, u, nil, "code")
		}
		return err
	}
	s.Log.Info("security event", "event", "mfa_disabled", "orgId", u.OrgID, "userId", u.ID)
	return nil
}

// checkTOTP opens the member's secret and matches code against it: the
// step it matched, if it is later than the last one accepted.
func (s *Service) checkTOTP(ctx context.Context, userID string, m mfaRow, code string, now time.Time) (int64, bool, error) {
	key, err := s.Sealer.Open(ctx, totpPurpose(userID), m.Secret)
	if err != nil {
		return 0, false, err
	}
	step, ok := totpMatch(key, code, now)
	if ok && step <= m.LastStep {
		s.Log.Warn("security event", "event", "mfa_code_replayed", "userId", userID)
		ok = false
	}
	return step, ok, nil
}

// codeFailed records a wrong (or replayed) code and answers it. With an
// mfaToken, the failure counts against it, and the last allowed one ends it.
//
// Every wrong code counts, whatever the others sent at the same time did:
// the count is an increment, not a compare-and-set on the attempts read
// (concurrent guesses all read the same n, and a failed condition must not
// be a free guess). One that finds the token gone or spent ends the
// sign-in; the limit holds because VerifyMFA refuses a token at the max
// and a sign-in needs the attempts it read to be unchanged.
func (s *Service) codeFailed(ctx context.Context, a caller.Caller, now time.Time, u User, tok *mfaTokenRow, field string) error {
	rec, err := s.record(a, now, actMFAFailed, u.ID)
	if err != nil {
		return err
	}
	writes := []types.TransactWriteItem{rec}
	ended := false
	if tok != nil {
		if ended = tok.Attempts+1 >= MFAMaxAttempts; ended {
			writes = append(writes, s.DB.Delete(orgPK(u.OrgID), tok.SK, nil))
		} else {
			live := &store.Cond{Expr: "attribute_exists(attempts) AND attempts < :max",
				Values: map[string]types.AttributeValue{":max": store.N(MFAMaxAttempts)}}
			writes = append(writes, s.DB.Update(orgPK(u.OrgID), tok.SK, "SET attempts = attempts + :one", live, nil,
				map[string]types.AttributeValue{":one": store.N(1)}))
		}
	}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if tok != nil && store.Failed(err, 1) {
			// Other wrong codes used the token up meanwhile: this one ends
			// it too (it is deleted, so it cannot linger at the max).
			if err := s.DB.Transact(ctx, rec, s.DB.Delete(orgPK(u.OrgID), tok.SK, nil)); err != nil {
				return err
			}
			s.Log.Info("security event", "event", "mfa_failed", "orgId", u.OrgID, "userId", u.ID, "ended", true)
			return errBadMFA
		}
		return err
	}
	s.Log.Info("security event", "event", "mfa_failed", "orgId", u.OrgID, "userId", u.ID, "ended", ended)
	if ended {
		return errBadMFA
	}
	return wrongCode(field)
}

// newRecoveryCodes makes RecoveryCodes codes of 80 random bits each,
// "xxxx-xxxx-xxxx-xxxx" in lower-case base32, and their hashes.
func newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	for range RecoveryCodes {
		raw := make([]byte, 10)
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, err
		}
		c := strings.ToLower(b32.EncodeToString(raw)) // 16 characters
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
		hashes = append(hashes, recoveryHash(userID, c))
	}
	return codes, hashes, nil
}

// recoveryHash is the stored form of a recovery code (dashes, spaces and
// case dropped). The code has 80 random bits: a fast hash is enough, and
// the member's id keeps equal codes of two members apart.
func recoveryHash(userID, code string) string {
	h := sha256.Sum256([]byte("recovery#" + userID + "#" + strings.ToLower(normalizeCode(code))))
	return hex.EncodeToString(h[:])
}

// newMFAToken starts the second step of u's sign-in.
func (s *Service) newMFAToken(u User, now time.Time) (string, types.TransactWriteItem, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", types.TransactWriteItem{}, err
	}
	id := s.NewID()
	put, err := s.DB.Put(mfaTokenRow{PK: orgPK(u.OrgID), SK: mfaTokenSK(id), Type: "mfaToken", UserID: u.ID,
		SecretHash: hashSecret(secret), ExpiresAt: now.Add(MFATokenTTL).Unix()}, store.NotExists())
	if err != nil {
		return "", types.TransactWriteItem{}, err
	}
	return u.OrgID + "." + id + "." + base64.RawURLEncoding.EncodeToString(secret), put, nil
}

// VerifyMFA is a sign-in's second step: a current code or an unused
// recovery code for the mfaToken's member starts their session. Codes come
// out of the login attempts' budget (account and source address), a right
// one gives its account token back.
func (s *Service) VerifyMFA(ctx context.Context, from caller.Caller, mfaToken, code, recoveryCode, ip string) (Session, error) {
	code, recoveryCode = normalizeCode(code), normalizeCode(recoveryCode)
	var c fault.Checker
	c.Check(mfaToken != "", "mfaToken", "is required")
	c.Check(code != "" || recoveryCode != "", "code", "a code or a recoveryCode is required")
	c.Check(code == "" || recoveryCode == "", "recoveryCode", "give a code or a recoveryCode, not both")
	if err := c.Err(); err != nil {
		return Session{}, err
	}
	if s.Sealer == nil {
		return Session{}, errNoSealer
	}
	orgID, tokenID, secret, ok := parseRefresh(mfaToken) // the same <org>.<id>.<secret> shape
	if !ok {
		return Session{}, errBadMFA
	}
	var tr mfaTokenRow
	if err := s.DB.Get(ctx, orgPK(orgID), mfaTokenSK(tokenID), &tr); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Session{}, errBadMFA
		}
		return Session{}, err
	}
	now := s.Now().UTC()
	if tr.Type != "mfaToken" || now.Unix() >= tr.ExpiresAt || tr.Attempts >= MFAMaxAttempts ||
		subtle.ConstantTimeCompare([]byte(tr.SecretHash), []byte(hashSecret(secret))) != 1 {
		return Session{}, errBadMFA
	}
	slot, err := s.takeAttempt(ctx, "user#"+tr.UserID, ip, now)
	if err != nil {
		return Session{}, err
	}
	var ur userRow
	var m mfaRow
	uo := &store.KeyOut{PK: orgPK(orgID), SK: userSK(tr.UserID), Out: &ur}
	mo := &store.KeyOut{PK: orgPK(orgID), SK: mfaSK(tr.UserID), Out: &m}
	if err := s.DB.BatchGet(ctx, uo, mo); err != nil {
		return Session{}, err
	}
	if !uo.Found || ur.Status == tenant.Invited || !mo.Found || !m.Enabled {
		return Session{}, errBadMFA // removed, or two-factor went off, meanwhile
	}
	u := ur.toUser()
	actor := as(u, from)
	var spend types.TransactWriteItem
	var writes []types.TransactWriteItem
	field := "code"
	if code != "" {
		step, ok, err := s.checkTOTP(ctx, u.ID, m, code, now)
		if err != nil {
			return Session{}, err
		}
		if !ok {
			return Session{}, s.codeFailed(ctx, actor, now, u, &tr, field)
		}
		spend = s.DB.Update(orgPK(orgID), mfaSK(u.ID), "SET lastStep = :step",
			&store.Cond{Expr: "enabled = :t AND lastStep < :step"}, nil,
			map[string]types.AttributeValue{":step": store.N(step), ":t": store.Bool(true)})
	} else {
		field = "recoveryCode"
		h := recoveryHash(u.ID, recoveryCode)
		spend = s.DB.Update(orgPK(orgID), mfaSK(u.ID), "DELETE codes :h",
			&store.Cond{Expr: "enabled = :t AND contains(codes, :hs)"}, nil,
			map[string]types.AttributeValue{":h": &types.AttributeValueMemberSS{Value: []string{h}}, ":hs": store.S(h),
				":t": store.Bool(true)})
		rec, err := s.record(actor, now, actRecoveryUsed, u.ID)
		if err != nil {
			return Session{}, err
		}
		writes = append(writes, rec)
	}
	sess, sw, err := s.newSession(ctx, u, now)
	if err != nil {
		return Session{}, err
	}
	sw = append(sw, s.loginEvent(ctx, u, now)) // the sign-in completes here
	// The token goes with the code: one sign-in per token, one per code.
	used := s.DB.Delete(orgPK(orgID), tr.SK, &store.Cond{Expr: "attempts = :n",
		Values: map[string]types.AttributeValue{":n": store.N(int64(tr.Attempts))}})
	writes = append(append([]types.TransactWriteItem{spend, used, slot.giveBack}, writes...), sw...)
	if err := s.DB.Transact(ctx, writes...); err != nil {
		switch {
		case store.Failed(err, 0): // the code was spent meanwhile (a replay raced it)
			return Session{}, s.codeFailed(ctx, actor, now, u, &tr, field)
		case store.Failed(err, 1):
			return Session{}, errBadMFA
		}
		return Session{}, err
	}
	event := "login_mfa"
	if field == "recoveryCode" {
		event = "login_recovery_code"
	}
	s.Log.Info("security event", "event", event, "orgId", u.OrgID, "userId", u.ID)
	return sess, nil
}
