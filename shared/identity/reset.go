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
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// ResetTTL is how long a password-reset link works.
const ResetTTL = 30 * time.Minute

func resetSK(tokenID string) string { return "RESET#" + tokenID }

// resetRow is one password-reset link; only a hash of its secret is kept.
// Stamp is a hash of the member's password hash when it was issued: any
// password change since (another reset, a change) voids the link.
type resetRow struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	UserID     string `dynamodbav:"userId"`
	SecretHash string `dynamodbav:"secretHash"`
	Stamp      string `dynamodbav:"stamp"`
	Used       bool   `dynamodbav:"used"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"` // also the table's TTL
}

const (
	resetSubject = "Reset your Matterly password"
	resetText    = "Someone (hopefully you) asked to reset the password of your Matterly account.\n\n" +
		"To choose a new password, open this link (it works once, for 30 minutes):\n\n%s\n\n" +
		"If you did not ask for this, ignore this email: your password stays as it is.\n"
	resetDoneSubject = "Your Matterly password was reset"
	resetDoneText    = "The password of your Matterly account was just reset through an emailed link, and every " +
		"session of your account was signed out.\n\nIf it was not you, reset your password again now and tell your " +
		"firm's Matterly owner.\n"
)

// RequestPasswordReset emails a member a reset link. Its answer is the same
// for every address (the handler answers 202 whatever happens here short of
// a failure of our own), and an unknown address takes the same steps up to
// the link itself: the login read, the member read, the throttle writes.
// The address's own bucket drops requests quietly (no 429 that would tell
// it apart); the source address's answers 429, which tells nothing of the
// address typed.
func (s *Service) RequestPasswordReset(ctx context.Context, from caller.Caller, email, ip string) error {
	var c fault.Checker
	addr, ok := normalizeEmail(email)
	c.Check(ok, "email", "must be a valid email address")
	if err := c.Err(); err != nil {
		return err
	}
	now := s.Now().UTC()
	retry, err := s.take(ctx, bucket{pk: "THROTTLE#reset#ip#" + ip, size: s.Throttle.ResetsPerIP, per: s.Throttle.ResetWindow}, now)
	if err != nil {
		return err
	}
	if retry > 0 {
		e := fault.E(fault.RateLimited, "Too many password-reset requests from this address. Try again later.")
		e.RetryAfter = retry
		return e
	}
	h := sha256.Sum256([]byte("reset#" + addr))
	retry, err = s.take(ctx, bucket{pk: "THROTTLE#reset#addr#" + hex.EncodeToString(h[:16]), size: s.Throttle.ResetsPerAddress,
		per: s.Throttle.ResetWindow}, now)
	if err != nil {
		return err
	}
	lr := loginRow{OrgID: "-", UserID: "-"}
	if err := s.DB.Get(ctx, emailPK(addr), loginSK, &lr); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var ur userRow
	uerr := s.DB.Get(ctx, orgPK(lr.OrgID), userSK(lr.UserID), &ur)
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		return uerr
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	if retry > 0 || uerr != nil || ur.Status == tenant.Invited {
		s.Log.Info("security event", "event", "password_reset_requested", "sent", false, "throttled", retry > 0)
		return nil
	}
	tokenID := s.NewID()
	row := resetRow{PK: orgPK(ur.OrgID), SK: resetSK(tokenID), Type: "passwordReset", UserID: ur.ID, SecretHash: hashSecret(secret),
		Stamp: hashSecret([]byte(ur.PasswordHash)), ExpiresAt: now.Add(ResetTTL).Unix()}
	put, err := s.DB.Put(row, store.NotExists())
	if err != nil {
		return err
	}
	rec, err := s.record(as(ur.toUser(), from), now, actResetRequested, ur.ID)
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, put, rec); err != nil {
		return err
	}
	link := strings.TrimRight(s.AppBaseURL, "/") + "/reset-password?token=" + ur.OrgID + "." + tokenID + "." +
		base64.RawURLEncoding.EncodeToString(secret)
	s.notify(ctx, ur.Email, "password_reset_requested", resetSubject, strings.Replace(resetText, "%s", link, 1))
	s.Log.Info("security event", "event", "password_reset_requested", "sent", true, "orgId", ur.OrgID, "userId", ur.ID)
	return nil
}

// errBadReset answers a reset link that is forged, used, expired or voided
// by a password change since: all alike.
var errBadReset = fault.E(fault.Malformed, "This password-reset link is invalid or has expired; ask for a new one.")

// ConfirmPasswordReset sets a new password through a reset link, spends
// the link and ends every session of the member.
func (s *Service) ConfirmPasswordReset(ctx context.Context, from caller.Caller, tok, newPassword string) error {
	var req fault.Checker
	req.Check(tok != "", "token", "is required")
	req.Check(newPassword != "", "newPassword", "is required")
	if err := req.Err(); err != nil {
		return err
	}
	orgID, tokenID, secret, ok := parseRefresh(tok) // the same <org>.<id>.<secret> shape
	if !ok {
		return errBadReset
	}
	var rr resetRow
	if err := s.DB.Get(ctx, orgPK(orgID), resetSK(tokenID), &rr); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errBadReset
		}
		return err
	}
	now := s.Now().UTC()
	if rr.Type != "passwordReset" || rr.Used || now.Unix() >= rr.ExpiresAt ||
		subtle.ConstantTimeCompare([]byte(rr.SecretHash), []byte(hashSecret(secret))) != 1 {
		s.Log.Info("security event", "event", "password_reset_rejected", "orgId", orgID)
		return errBadReset
	}
	var ur userRow
	var or orgRow
	u := &store.KeyOut{PK: orgPK(orgID), SK: userSK(rr.UserID), Out: &ur}
	o := &store.KeyOut{PK: orgPK(orgID), SK: orgSK, Out: &or}
	if err := s.DB.BatchGet(ctx, u, o); err != nil {
		return err
	}
	if !u.Found || !o.Found || ur.Status == tenant.Invited ||
		subtle.ConstantTimeCompare([]byte(rr.Stamp), []byte(hashSecret([]byte(ur.PasswordHash)))) != 1 {
		return errBadReset
	}
	user, org := ur.toUser(), or.toOrg()
	var c fault.Checker
	if err := s.checkStrengthOf(&c, "newPassword", newPassword, user.Name, user.Email, user.Username, org.Name, org.BusinessName); err != nil {
		return err
	}
	if err := c.Err(); err != nil {
		return err
	}
	hash, err := password.Hash(newPassword, s.Password)
	if err != nil {
		return err
	}
	spend := s.DB.Update(orgPK(orgID), rr.SK, "SET used = :t", &store.Cond{Expr: "used = :f"}, nil,
		map[string]types.AttributeValue{":t": store.Bool(true), ":f": store.Bool(false)})
	rec, err := s.record(as(user, from), now, actResetDone, user.ID)
	if err != nil {
		return err
	}
	if _, err := s.setPassword(ctx, user, hash, now, "password_reset", false, spend, rec); err != nil {
		if fault.Is(err, fault.Conflict) || store.Failed(err, 1) {
			return errBadReset // spent, or the password changed, meanwhile
		}
		return err
	}
	s.notify(ctx, user.Email, "password_reset", resetDoneSubject, resetDoneText)
	return nil
}
