package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
)

// My account: a member corrects their own details (PATCH /v1/me) or
// deletes their account (DELETE /v1/me). Changing a login (email or
// username) or deleting needs the current password, checked against the
// same attempt budget as sign-in.

const (
	actAccountUpdated = "user.account_updated"
	actAccountDeleted = "user.account_deleted"
)

// AccountPatch holds the caller's own fields to change; nil stays as is.
type AccountPatch struct {
	Name, Email, Phone, Username *string
	CurrentPassword              string
}

type accountPatchRequest struct {
	Name            *string `json:"name"`
	Email           *string `json:"email"`
	Phone           *string `json:"phone"`
	Username        *string `json:"username"`
	CurrentPassword string  `json:"currentPassword"`
}

// accountJSON is PATCH /v1/me's answer: the account as it now is, and
// the email waiting for its confirmation, if one is.
type accountJSON struct {
	UserJSON
	PendingEmail string `json:"pendingEmail,omitempty"`
}

type accountDeleteRequest struct {
	CurrentPassword string `json:"currentPassword"`
}

// currentPassword checks the caller's password, spending one attempt of
// their sign-in budget (given back, in the change's transaction, when it
// succeeds).
func (s *Service) currentPassword(ctx context.Context, u User, pw string, now time.Time) (attempt, error) {
	return s.checkCurrentPassword(ctx, u, pw, fromOf(ctx).IP, now, "current_password_failed")
}

// checkCurrentPassword checks u's password pw, sent from ip, spending one
// attempt of their sign-in budget (guessing it through a signed-in route
// costs what guessing it at login does); a wrong one is logged as the
// security event failedEvent. Every route that asks for the current
// password checks it here.
func (s *Service) checkCurrentPassword(ctx context.Context, u User, pw, ip string, now time.Time, failedEvent string) (attempt, error) {
	if pw == "" {
		return attempt{}, fault.Fields(fault.FieldError{Field: "currentPassword", Message: "is required"})
	}
	slot, err := s.takeAttempt(ctx, "user#"+u.ID, ip, now)
	if err != nil {
		return attempt{}, err
	}
	ok := false
	if len(pw) <= 4*password.MaxLength {
		if ok, err = password.Verify(pw, u.PasswordHash); err != nil {
			return attempt{}, err
		}
	}
	if !ok {
		s.Log.Info("security event", "event", failedEvent, "orgId", u.OrgID, "userId", u.ID)
		return attempt{}, fault.Fields(fault.FieldError{Field: "currentPassword", Message: "is incorrect"})
	}
	return slot, nil
}

// CheckPassword checks p's current password for a grave action outside
// this package (deleting the workspace): the same check, against the same
// sign-in budget, as changing the email or the password, so an access
// token alone cannot be used to guess the password behind it. A right
// password gives its attempt back. A wrong one is logged as the security
// event named failedEvent ("org_delete_password_failed").
func (s *Service) CheckPassword(ctx context.Context, p caller.Caller, pw, failedEvent string) error {
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return err
	}
	slot, err := s.checkCurrentPassword(ctx, u, pw, fromOf(ctx).IP, s.Now().UTC(), failedEvent)
	if err != nil {
		return err
	}
	return s.DB.Transact(ctx, slot.giveBack)
}

// UpdateAccount corrects the caller's name, email, phone or username. A
// new username is claimed and the old one given up in the same
// transaction as the member, so a login always names exactly one member.
// A new email only becomes pending (see emailchange.go): the member keeps
// their email until the new address confirms, and the pending address is
// returned.
func (s *Service) UpdateAccount(ctx context.Context, p caller.Caller, patch AccountPatch) (User, string, error) {
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return User{}, "", err
	}
	var c fault.Checker
	next := u
	if patch.Name != nil {
		text(&c, "name", *patch.Name, true, 200)
		next.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.Phone != nil {
		c.Check(*patch.Phone == "" || validPhone(*patch.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
		next.Phone = *patch.Phone
	}
	pending := "" // the new email, which waits for its confirmation
	if patch.Email != nil {
		email, ok := normalizeEmail(*patch.Email)
		c.Check(ok, "email", "must be a valid email address")
		if email != u.Email {
			pending = email
		}
	}
	if patch.Username != nil {
		username, ok := normalizeUsername(*patch.Username)
		c.Check(ok, "username", "must be 3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
		next.Username = username
	}
	c.Check(u.Active() || (patch.Email == nil && patch.Username == nil), "email", "cannot change before the invitation is accepted")
	if err := c.Err(); err != nil {
		return User{}, "", err
	}
	loginChanged := pending != "" || next.Username != u.Username
	now := s.Now().UTC()
	var extra []types.TransactWriteItem
	if loginChanged || patch.CurrentPassword != "" {
		slot, err := s.currentPassword(ctx, u, patch.CurrentPassword, now)
		if err != nil {
			return User{}, "", err
		}
		extra = append(extra, slot.giveBack)
	}
	if pending != "" {
		// Another account's email answers 409 now rather than at the
		// confirmation (which checks again: the address is not held).
		var lr loginRow
		switch err := s.DB.Get(ctx, emailPK(pending), loginSK, &lr); {
		case err == nil:
			e := fault.E(fault.Conflict, "That email or username is already in use.")
			e.Fields = []fault.FieldError{{Field: "email", Message: "is already in use"}}
			return User{}, "", e
		case !errors.Is(err, store.ErrNotFound):
			return User{}, "", err
		}
	}
	var fields []string
	for _, f := range []struct {
		name     string
		old, new string
	}{{"name", u.Name, next.Name}, {"phone", u.Phone, next.Phone}, {"username", u.Username, next.Username}} {
		if f.old != f.new {
			fields = append(fields, f.name)
		}
	}
	var writes []types.TransactWriteItem
	claims := map[int]string{}
	if len(fields) > 0 {
		next.UpdatedAt = now
		put, err := s.DB.Put(toUserRow(next), &store.Cond{Expr: "updatedAt = :prev AND #role = :role",
			Names: map[string]string{"#role": "role"}, Values: map[string]types.AttributeValue{
				":prev": store.S(formatTime(u.UpdatedAt)), ":role": store.S(string(u.Role))}})
		if err != nil {
			return User{}, "", err
		}
		writes = append(writes, put)
		if next.Username != u.Username {
			claim, err := s.DB.Put(loginRow{PK: usernamePK(next.Username), SK: loginSK, OrgID: u.OrgID, UserID: u.ID}, store.NotExists())
			if err != nil {
				return User{}, "", err
			}
			claims[len(writes)] = "username"
			writes = append(writes, claim, s.DB.Delete(usernamePK(u.Username), loginSK, nil))
		}
		rec, err := activity.Record(s.DB, p, now, activity.Entry{Action: actAccountUpdated, EntityType: "user", EntityID: u.ID, Fields: fields})
		if err != nil {
			return User{}, "", err
		}
		writes = append(writes, rec)
	}
	var ec emailChange
	if pending != "" {
		if ec, err = s.startEmailChange(u, p, pending, now); err != nil {
			return User{}, "", err
		}
		writes = append(writes, ec.writes...)
	}
	if len(writes) == 0 {
		if len(extra) > 0 { // a right password gives its attempt back, change or not
			return u, "", s.DB.Transact(ctx, extra...)
		}
		return u, "", nil
	}
	if err := s.DB.Transact(ctx, append(writes, extra...)...); err != nil {
		if len(fields) > 0 && store.Failed(err, 0) {
			return User{}, "", fault.E(fault.Conflict, "Your account changed meanwhile; reload and try again.")
		}
		var taken []fault.FieldError
		for i, field := range claims {
			if store.Failed(err, i) {
				taken = append(taken, fault.FieldError{Field: field, Message: "is already in use"})
			}
		}
		if len(taken) > 0 {
			e := fault.E(fault.Conflict, "That email or username is already in use.")
			e.Fields = taken
			return User{}, "", e
		}
		return User{}, "", err
	}
	if pending != "" {
		s.sendEmailChange(ctx, u, pending, ec)
	}
	if len(fields) > 0 {
		s.Log.Info("security event", "event", "account_updated", "orgId", u.OrgID, "userId", u.ID, "fields", strings.Join(fields, ","))
	}
	return next, pending, nil
}

// DeleteAccount deletes the caller's account: the member, their logins
// and every session. What they authored stays, naming only their id, which
// no member answers to any more (the app shows "Former member"). The last
// owner cannot leave (409): the org would have no one to run it.
func (s *Service) DeleteAccount(ctx context.Context, p caller.Caller, current string) error {
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	if _, err := s.currentPassword(ctx, u, current, now); err != nil {
		return err
	}
	writes := []types.TransactWriteItem{s.DB.Delete(orgPK(u.OrgID), userSK(u.ID), roleIn(u.Role))}
	if u.Role == access.Owner && u.Active() {
		writes = append(writes, s.ownerDelta(u.OrgID, -1))
	}
	if u.Active() {
		writes = append(writes, s.DB.Delete(emailPK(u.Email), loginSK, nil), s.DB.Delete(usernamePK(u.Username), loginSK, nil))
	}
	// Their sealed TOTP secret and recovery codes go with them.
	writes = append(writes, s.DB.Delete(orgPK(u.OrgID), mfaSK(u.ID), nil))
	rec, err := activity.Record(s.DB, p, now, activity.Entry{Action: actAccountDeleted, EntityType: "user", EntityID: u.ID,
		Detail: "role " + string(u.Role), Event: EventMemberRemoved})
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, append(writes, rec)...); err != nil {
		return memberTxErr(err)
	}
	ended, err := s.endSessions(ctx, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	s.Log.Info("security event", "event", "account_deleted", "orgId", u.OrgID, "userId", u.ID, "sessionsEnded", ended)
	return nil
}

// registerAccount adds PATCH and DELETE /v1/me and the email
// confirmation to the accounts function's router (they check passwords or
// links, as the rest of it does).
func registerAccount(rt *httpapi.Router, svc *Service) {
	registerEmailChange(rt, svc)
	rt.Handle("PATCH /v1/me", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in accountPatchRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		u, pending, err := svc.UpdateAccount(ctx, r.Principal, AccountPatch(in))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, accountJSON{UserJSON: toUserJSON(u), PendingEmail: pending}), nil
	})
	rt.Handle("DELETE /v1/me", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in accountDeleteRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		if err := svc.DeleteAccount(ctx, r.Principal, in.CurrentPassword); err != nil {
			return nil, err
		}
		resp := httpapi.NoContent()
		resp.Cookies = []string{refreshCookie("", time.Time{}, svc.Now())}
		return resp, nil
	})
}
