package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// A member's new email is theirs only once they prove they read it:
// PATCH /v1/me with a new email leaves the login as it is and mails a
// single-use link to the new address (and a notice to the old one); the
// login claim moves at POST /v1/me/email/confirm. Until then the address
// stays free, so a member cannot take someone else's email and lock them
// out of signing up or accepting an invitation.

// EmailChangeTTL is how long an email-confirmation link works.
const EmailChangeTTL = 24 * time.Hour

const (
	actEmailChangeRequested = "user.email_change_requested"

	emailConfirmSubject = "Confirm your new Matterly email"
	emailConfirmText    = "Someone (hopefully you) asked to make this address the sign-in email of their Matterly " +
		"account.\n\nTo confirm, open this link (it works once, for 24 hours):\n\n%s\n\n" +
		"If you did not ask for this, ignore this email: nothing changes.\n"
	emailRequestedSubject = "A change of your Matterly email was requested"
	emailRequestedText    = "Someone signed in to your Matterly account asked to change its sign-in email. It " +
		"changes only once the new address is confirmed through the link sent to it.\n\nIf it was not you, change " +
		"your password now and tell your firm's Matterly owner.\n"
	emailChangedSubject = "Your Matterly email was changed"
	emailChangedText    = "The sign-in email of your Matterly account was just changed to a confirmed new " +
		"address; this address no longer signs in.\n\nIf it was not you, tell your firm's Matterly owner.\n"
)

func emailChangeSK(tokenID string) string { return "EMAILCHANGE#" + tokenID }

// emailChangeRow is one pending email change; only a hash of its link's
// secret is kept. OldEmail voids it once the member's email is no longer
// the one it was asked from (another change was confirmed first).
type emailChangeRow struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	UserID     string `dynamodbav:"userId"`
	OldEmail   string `dynamodbav:"oldEmail"`
	NewEmail   string `dynamodbav:"newEmail"`
	SecretHash string `dynamodbav:"secretHash"`
	Used       bool   `dynamodbav:"used"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"` // also the table's TTL
}

// emailChange is a pending change's writes, and the mail to send once
// they are committed.
type emailChange struct {
	writes []types.TransactWriteItem
	link   string
}

// startEmailChange makes u's pending change to addr: its row and activity
// entry (the new address is in neither log nor audit entry).
func (s *Service) startEmailChange(u User, p caller.Caller, addr string, now time.Time) (emailChange, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return emailChange{}, err
	}
	tokenID := s.NewID()
	put, err := s.DB.Put(emailChangeRow{PK: orgPK(u.OrgID), SK: emailChangeSK(tokenID), Type: "emailChange", UserID: u.ID,
		OldEmail: u.Email, NewEmail: addr, SecretHash: hashSecret(secret), ExpiresAt: now.Add(EmailChangeTTL).Unix()}, store.NotExists())
	if err != nil {
		return emailChange{}, err
	}
	rec, err := activity.Record(s.DB, p, now, activity.Entry{Action: actEmailChangeRequested, EntityType: "user", EntityID: u.ID,
		Fields: []string{"email"}})
	if err != nil {
		return emailChange{}, err
	}
	link := strings.TrimRight(s.AppBaseURL, "/") + "/confirm-email?token=" + u.OrgID + "." + tokenID + "." +
		base64.RawURLEncoding.EncodeToString(secret)
	return emailChange{writes: []types.TransactWriteItem{put, rec}, link: link}, nil
}

// sendEmailChange mails the link to the new address and a notice to the old.
func (s *Service) sendEmailChange(ctx context.Context, u User, addr string, ec emailChange) {
	s.notify(ctx, addr, "email_change_requested", emailConfirmSubject, strings.Replace(emailConfirmText, "%s", ec.link, 1))
	s.notify(ctx, u.Email, "email_change_requested", emailRequestedSubject, emailRequestedText)
	s.Log.Info("security event", "event", "email_change_requested", "orgId", u.OrgID, "userId", u.ID)
}

// errBadEmailChange answers a confirmation link that is forged, used,
// expired or voided by another change since: all alike.
var errBadEmailChange = fault.E(fault.Malformed, "This email-confirmation link is invalid or has expired; change your email again.")

// ConfirmEmailChange moves the member's email login to the confirmed
// address, spending the link, in one transaction with the member and the
// activity entry. An address someone else took meanwhile answers 409.
func (s *Service) ConfirmEmailChange(ctx context.Context, from caller.Caller, tok string) (User, error) {
	var req fault.Checker
	req.Check(tok != "", "token", "is required")
	if err := req.Err(); err != nil {
		return User{}, err
	}
	orgID, tokenID, secret, ok := parseRefresh(tok) // the same <org>.<id>.<secret> shape
	if !ok {
		return User{}, errBadEmailChange
	}
	var er emailChangeRow
	if err := s.DB.Get(ctx, orgPK(orgID), emailChangeSK(tokenID), &er); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return User{}, errBadEmailChange
		}
		return User{}, err
	}
	now := s.Now().UTC()
	if er.Type != "emailChange" || er.Used || now.Unix() >= er.ExpiresAt ||
		subtle.ConstantTimeCompare([]byte(er.SecretHash), []byte(hashSecret(secret))) != 1 {
		s.Log.Info("security event", "event", "email_change_rejected", "orgId", orgID)
		return User{}, errBadEmailChange
	}
	var ur userRow
	if err := s.DB.Get(ctx, orgPK(orgID), userSK(er.UserID), &ur); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return User{}, errBadEmailChange
		}
		return User{}, err
	}
	if ur.Status == tenant.Invited || ur.Email != er.OldEmail {
		return User{}, errBadEmailChange
	}
	u := ur.toUser()
	spend := s.DB.Update(orgPK(orgID), er.SK, "SET used = :t", &store.Cond{Expr: "used = :f"}, nil,
		map[string]types.AttributeValue{":t": store.Bool(true), ":f": store.Bool(false)})
	move := s.DB.Update(orgPK(orgID), userSK(u.ID), "SET email = :new, updatedAt = :now",
		&store.Cond{Expr: "email = :old"}, nil, map[string]types.AttributeValue{
			":new": store.S(er.NewEmail), ":old": store.S(er.OldEmail), ":now": store.S(formatTime(now))})
	claim, err := s.DB.Put(loginRow{PK: emailPK(er.NewEmail), SK: loginSK, OrgID: u.OrgID, UserID: u.ID}, store.NotExists())
	if err != nil {
		return User{}, err
	}
	rec, err := activity.Record(s.DB, as(u, from), now, activity.Entry{Action: actAccountUpdated, EntityType: "user",
		EntityID: u.ID, Fields: []string{"email"}})
	if err != nil {
		return User{}, err
	}
	if err := s.DB.Transact(ctx, spend, move, claim, s.DB.Delete(emailPK(er.OldEmail), loginSK, nil), rec); err != nil {
		switch {
		case store.Failed(err, 0), store.Failed(err, 1): // spent, or the email changed, meanwhile
			return User{}, errBadEmailChange
		case store.Failed(err, 2):
			e := fault.E(fault.Conflict, "That email is already in use.")
			e.Fields = []fault.FieldError{{Field: "email", Message: "is already in use"}}
			return User{}, e
		}
		return User{}, err
	}
	s.notify(ctx, er.OldEmail, "email_changed", emailChangedSubject, emailChangedText)
	s.Log.Info("security event", "event", "email_changed", "orgId", u.OrgID, "userId", u.ID)
	u.Email, u.UpdatedAt = er.NewEmail, parseTime(formatTime(now))
	return u, nil
}

type emailConfirmRequest struct {
	Token string `json:"token"`
}

// registerEmailChange adds POST /v1/me/email/confirm, public as the
// password-reset confirmation is: the link is the credential.
func registerEmailChange(rt *httpapi.Router, svc *Service) {
	rt.Handle("POST /v1/me/email/confirm", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in emailConfirmRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		u, err := svc.ConfirmEmailChange(ctx, r.Principal, in.Token)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, toUserJSON(u)), nil
	})
}
