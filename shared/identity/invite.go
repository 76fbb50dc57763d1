package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// statusActive marks a member who accepted their invitation (members
// created with a password have no status: also active).
const statusActive = "active"

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// errBadInvite answers a link that is forged, used, replaced by a resend,
// expired or of a member since removed: all alike, so a link tells nothing.
var errBadInvite = fault.E(fault.Malformed, "This invitation link is invalid or has expired; ask for a new one.")

// invite adds a member who sets their own username and password through an
// emailed link. The address's global login is claimed only when they
// accept, so inviting an address that already has an account answers
// exactly as inviting a new one: nothing tells the inviter it exists.
func (s *Service) invite(ctx context.Context, p caller.Caller, actor User, org Org, in NewMember) (User, error) {
	var c fault.Checker
	text(&c, "name", in.Name, true, 200)
	email, ok := normalizeEmail(in.Email)
	c.Check(ok, "email", "must be a valid email address")
	c.Check(in.Role.Valid(), "role", "must be one of owner, admin, attorney, staff, billing")
	c.Check(in.Phone == "" || validPhone(in.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	if err := c.Err(); err != nil {
		return User{}, err
	}
	if !actor.Role.AtLeast(in.Role) {
		return User{}, fault.E(fault.Forbidden, "You cannot grant a role above your own.")
	}
	now := s.Now().UTC()
	u := User{ID: s.NewID(), OrgID: p.OrgID, Name: strings.TrimSpace(in.Name), Email: email, Role: in.Role,
		Phone: in.Phone, Status: tenant.Invited, CreatedAt: now, UpdatedAt: now}
	link, err := s.newInvite(&u, now)
	if err != nil {
		return User{}, err
	}
	put, err := s.DB.Put(toUserRow(u), store.NotExists())
	if err != nil {
		return User{}, err
	}
	rec, err := s.record(p, now, actInvited, u.ID)
	if err != nil {
		return User{}, err
	}
	writes := []types.TransactWriteItem{put, rec, s.stillHasRole(p, actor.Role)}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if roleLost(err, len(writes)) {
			return User{}, errRoleChanged
		}
		return User{}, err
	}
	s.Log.Info("security event", "event", "member_invited", "orgId", p.OrgID, "userId", u.ID, "role", string(u.Role), "by", actor.ID)
	s.sendInvite(ctx, u, org, link)
	return u, nil
}

// newInvite gives u a fresh link secret (replacing any earlier one, which
// so stops working) and returns the link. Only the secret's hash is kept.
func (s *Service) newInvite(u *User, now time.Time) (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	u.InviteHash = hashSecret(secret)
	u.InviteExpires = now.Add(InviteTTL).Unix()
	tok := u.OrgID + "." + u.ID + "." + base64.RawURLEncoding.EncodeToString(secret)
	return strings.TrimRight(s.AppBaseURL, "/") + "/accept-invite?token=" + tok, nil
}

// sendInvite emails the link. The member exists whether or not the email
// went out (a resend sends another), so a failure is logged, not returned.
func (s *Service) sendInvite(ctx context.Context, u User, org Org, link string) {
	if s.Mailer == nil {
		s.Log.Warn("security event", "event", "invitation_email", "notice", "no mailer configured", "userId", u.ID)
		return
	}
	subject := "You are invited to join " + org.Name + " on Matterly"
	body := "You have been invited to join " + org.Name + " on Matterly, the practice-management system.\n\n" +
		"To accept, choose a username and password here (the link works once, for 7 days):\n\n" + link + "\n\n" +
		"If you did not expect this invitation, you can ignore this email.\n"
	if err := s.Mailer.SendAccountEmail(ctx, u.Email, subject, body); err != nil {
		s.Log.Error("security event", "event", "invitation_email", "notice", "not sent", "userId", u.ID, "err", err)
	}
}

// ResendInvitation replaces an invited member's link with a new one and
// emails it; the old link stops working.
func (s *Service) ResendInvitation(ctx context.Context, p caller.Caller, userID string) error {
	actor, target, err := s.actorAndTarget(ctx, p, userID)
	if err != nil {
		return err
	}
	if target.Active() {
		return fault.E(fault.Conflict, "This member has already accepted their invitation.")
	}
	if !actor.Role.AtLeast(target.Role) {
		return fault.E(fault.Forbidden, "You cannot manage a role above your own.")
	}
	org, err := s.Org(ctx, p.OrgID)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	target.UpdatedAt = now
	link, err := s.newInvite(&target, now)
	if err != nil {
		return err
	}
	upd := s.DB.Update(orgPK(p.OrgID), userSK(target.ID), "SET inviteHash = :h, inviteExpiresAt = :e, updatedAt = :now",
		&store.Cond{Expr: "#st = :invited", Names: map[string]string{"#st": "status"}}, nil,
		map[string]types.AttributeValue{":h": store.S(target.InviteHash), ":e": store.N(target.InviteExpires),
			":now": store.S(formatTime(now)), ":invited": store.S(tenant.Invited)})
	rec, err := s.record(p, now, actInvitationResent, target.ID)
	if err != nil {
		return err
	}
	writes := []types.TransactWriteItem{upd, rec, s.stillHasRole(p, actor.Role)}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if roleLost(err, len(writes)) {
			return errRoleChanged
		}
		if store.Failed(err, 0) {
			return fault.E(fault.Conflict, "The member changed meanwhile; reload and try again.")
		}
		return err
	}
	s.Log.Info("security event", "event", "invitation_resent", "orgId", p.OrgID, "userId", target.ID, "by", actor.ID)
	s.sendInvite(ctx, target, org, link)
	return nil
}

// AcceptInvitation turns an invitation into an active member with the
// username and password they chose, and signs them in. The link works
// once: the member's write is conditional on the very hash it presented.
func (s *Service) AcceptInvitation(ctx context.Context, from caller.Caller, tok, username, pw string) (Session, error) {
	var req fault.Checker
	req.Check(tok != "", "token", "is required")
	req.Check(username != "", "username", "is required")
	req.Check(pw != "", "password", "is required")
	if err := req.Err(); err != nil {
		return Session{}, err
	}
	orgID, userID, secret, ok := parseRefresh(tok) // the same <org>.<id>.<secret> shape
	if !ok {
		return Session{}, errBadInvite
	}
	var ur userRow
	var or orgRow
	u := &store.KeyOut{PK: orgPK(orgID), SK: userSK(userID), Out: &ur}
	o := &store.KeyOut{PK: orgPK(orgID), SK: orgSK, Out: &or}
	if err := s.DB.BatchGet(ctx, u, o); err != nil {
		return Session{}, err
	}
	now := s.Now().UTC()
	hash := hashSecret(secret)
	if !u.Found || !o.Found || or.DeletedAt != "" || ur.Status != tenant.Invited || ur.InviteHash == "" ||
		subtle.ConstantTimeCompare([]byte(ur.InviteHash), []byte(hash)) != 1 || now.Unix() >= ur.InviteExp {
		s.Log.Info("security event", "event", "invitation_rejected", "orgId", orgID)
		return Session{}, errBadInvite
	}
	user, org := ur.toUser(), or.toOrg()
	var c fault.Checker
	name, ok := normalizeUsername(username)
	c.Check(ok, "username", "must be 3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
	if err := s.checkStrength(&c, pw, user.Name, user.Email, username, org.Name, org.BusinessName); err != nil {
		return Session{}, err
	}
	if err := c.Err(); err != nil {
		return Session{}, err
	}
	pwHash, err := password.Hash(pw, s.Password)
	if err != nil {
		return Session{}, err
	}
	user.Username, user.PasswordHash, user.Status, user.InviteHash, user.InviteExpires, user.UpdatedAt = name, pwHash, statusActive, "", 0, now
	activate := s.DB.Update(orgPK(orgID), userSK(userID),
		"SET username = :u, passwordHash = :p, updatedAt = :now, #st = :active, inviteHash = :none, inviteExpiresAt = :zero",
		&store.Cond{Expr: "#st = :invited AND inviteHash = :h"}, map[string]string{"#st": "status"},
		map[string]types.AttributeValue{":u": store.S(name), ":p": store.S(pwHash), ":now": store.S(formatTime(now)),
			":invited": store.S(tenant.Invited), ":h": store.S(hash), ":active": store.S(statusActive), ":none": store.S(""), ":zero": store.N(0)})
	emailPut, err := s.DB.Put(loginRow{PK: emailPK(user.Email), SK: loginSK, OrgID: orgID, UserID: userID}, store.NotExists())
	if err != nil {
		return Session{}, err
	}
	namePut, err := s.DB.Put(loginRow{PK: usernamePK(name), SK: loginSK, OrgID: orgID, UserID: userID}, store.NotExists())
	if err != nil {
		return Session{}, err
	}
	writes := []types.TransactWriteItem{activate, emailPut, namePut}
	if user.Role == access.Owner {
		writes = append(writes, s.ownerDelta(orgID, +1))
	}
	rec, err := s.record(as(user, from), now, actInvitationAccept, user.ID)
	if err != nil {
		return Session{}, err
	}
	sess, sessWrites, err := s.newSession(ctx, user, now)
	if err != nil {
		return Session{}, err
	}
	if org.RequireMFA {
		// A new member has no two-factor yet: in an org that requires it,
		// their token reaches only its setup (and so does every refresh).
		p := principalOf(user)
		p.Scope = caller.ScopeMFASetup
		if sess.AccessToken, sess.AccessExpires, err = s.Tokens.Issue(p); err != nil {
			return Session{}, err
		}
	}
	if err := s.DB.Transact(ctx, append(append(writes, rec), sessWrites...)...); err != nil {
		var tce *store.TxCanceledError
		switch {
		case errors.As(err, &tce) && tce.Failed(0):
			return Session{}, errBadInvite // accepted (or resent, or removed) meanwhile
		case errors.As(err, &tce) && tce.Failed(1):
			// Only the address's owner reads the link, so this tells no one else.
			return Session{}, taken(fault.FieldError{Field: "email", Message: "already belongs to a Matterly account; log in with it instead"})
		case errors.As(err, &tce) && tce.Failed(2):
			return Session{}, taken(fault.FieldError{Field: "username", Message: "is already taken"})
		}
		return Session{}, err
	}
	s.Log.Info("security event", "event", "invitation_accepted", "orgId", orgID, "userId", userID)
	return sess, nil
}
