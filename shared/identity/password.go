package identity

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
)

// passwordChangedSubject and passwordChangedText tell a member their
// password changed, so a change they did not make does not go unnoticed.
const (
	passwordChangedSubject = "Your Matterly password was changed"
	passwordChangedText    = "The password of your Matterly account was just changed, and every other session " +
		"of your account was signed out.\n\nIf it was you, there is nothing more to do. If it was not, reset your " +
		"password now from the sign-in page and tell your firm's Matterly owner.\n"
)

// ChangePassword sets the caller's password after checking the current
// one. Every session of the member ends, and a new one starts for the
// caller: the refresh cookie is scoped to /v1/auth, so this request cannot
// tell which session it came from, and ending them all (then starting the
// caller's afresh) is what leaves no other device signed in.
func (s *Service) ChangePassword(ctx context.Context, p caller.Caller, current, next, ip string) (Session, error) {
	var req fault.Checker
	req.Check(current != "", "currentPassword", "is required")
	req.Check(next != "", "newPassword", "is required")
	if err := req.Err(); err != nil {
		return Session{}, err
	}
	u, org, err := s.Me(ctx, p)
	if err != nil {
		return Session{}, err
	}
	now := s.Now().UTC()
	slot, err := s.checkCurrentPassword(ctx, u, current, ip, now, "password_change_failed")
	if err != nil {
		return Session{}, err
	}
	var c fault.Checker
	c.Check(next != current, "newPassword", "must differ from the current password")
	if err := s.checkStrengthOf(&c, "newPassword", next, u.Name, u.Email, u.Username, org.Name, org.BusinessName); err != nil {
		return Session{}, err
	}
	if err := c.Err(); err != nil {
		return Session{}, err
	}
	hash, err := password.Hash(next, s.Password)
	if err != nil {
		return Session{}, err
	}
	rec, err := s.record(p, now, actPasswordChanged, u.ID)
	if err != nil {
		return Session{}, err
	}
	sess, err := s.setPassword(ctx, u, hash, now, "password_changed", true, slot.giveBack, rec)
	if err != nil {
		return Session{}, err
	}
	s.notify(ctx, u.Email, "password_changed", passwordChangedSubject, passwordChangedText)
	return sess, nil
}

// setPassword stores a member's new password hash (only over the hash it
// was checked against), ends every session of theirs and, with start,
// starts one for them. extra joins the password's transaction.
func (s *Service) setPassword(ctx context.Context, u User, hash string, now time.Time, event string, start bool, extra ...types.TransactWriteItem) (Session, error) {
	upd := s.DB.Update(orgPK(u.OrgID), userSK(u.ID), "SET passwordHash = :new, updatedAt = :now",
		&store.Cond{Expr: "passwordHash = :old"}, nil,
		map[string]types.AttributeValue{":new": store.S(hash), ":now": store.S(formatTime(now)), ":old": store.S(u.PasswordHash)})
	if err := s.DB.Transact(ctx, append([]types.TransactWriteItem{upd}, extra...)...); err != nil {
		if store.Failed(err, 0) {
			return Session{}, fault.E(fault.Conflict, "The password changed meanwhile; sign in again.")
		}
		return Session{}, err
	}
	ended, err := s.endSessions(ctx, u.OrgID, u.ID)
	if err != nil {
		return Session{}, err
	}
	if !start {
		s.Log.Info("security event", "event", event, "orgId", u.OrgID, "userId", u.ID, "sessionsEnded", ended)
		return Session{}, nil
	}
	u.PasswordHash, u.UpdatedAt = hash, now
	sess, writes, err := s.newSession(ctx, u, now)
	if err != nil {
		return Session{}, err
	}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		return Session{}, err
	}
	s.Log.Info("security event", "event", event, "orgId", u.OrgID, "userId", u.ID, "sessionsEnded", ended)
	return sess, nil
}

// endSessions revokes every live login session (token family) of a member;
// their refresh tokens stop working at once. Access tokens already out
// live out their few minutes.
func (s *Service) endSessions(ctx context.Context, orgID, userID string) (int, error) {
	ended := 0
	var start store.StartKey
	for {
		var rows []familyRow
		next, err := s.DB.QueryPage(ctx, store.Query{PK: orgPK(orgID), SKPrefix: familySK(""), Forward: true, Limit: 100,
			StartKey: start, Consistent: true}, &rows)
		if err != nil {
			return ended, err
		}
		now := s.Now().Unix()
		for _, f := range rows {
			if f.UserID != userID || f.Revoked || now >= f.ExpiresAt {
				continue
			}
			w := s.DB.Update(orgPK(orgID), f.SK, "SET revoked = :t", store.Exists(), nil,
				map[string]types.AttributeValue{":t": store.Bool(true)})
			if err := s.DB.UpdateItem(ctx, w, nil); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return ended, err
			}
			ended++
		}
		if next == nil {
			return ended, nil
		}
		start = next
	}
}

// notify sends a member an account notice. The change it reports is done
// whether or not the email goes out, so a failure is logged, not returned.
func (s *Service) notify(ctx context.Context, to, event, subject, text string) {
	if s.Mailer == nil {
		s.Log.Warn("security event", "event", event, "notice", "no mailer configured")
		return
	}
	if err := s.Mailer.SendAccountEmail(ctx, to, subject, text); err != nil {
		s.Log.Error("security event", "event", event, "notice", "not sent", "err", err)
	}
}

// EndOtherSessions signs out every other session of the caller: all their
// sessions end and a new one starts for the caller (as ChangePassword
// does, the request cannot name its own session).
func (s *Service) EndOtherSessions(ctx context.Context, p caller.Caller) (Session, error) {
	u, _, err := s.Me(ctx, p)
	if err != nil {
		return Session{}, err
	}
	ended, err := s.endSessions(ctx, u.OrgID, u.ID)
	if err != nil {
		return Session{}, err
	}
	now := s.Now().UTC()
	sess, writes, err := s.newSession(ctx, u, now)
	if err != nil {
		return Session{}, err
	}
	rec, err := s.record(p, now, actSessionsEnded, u.ID)
	if err != nil {
		return Session{}, err
	}
	writes = append(writes, rec, s.stillHasRole(p, u.Role))
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if roleLost(err, len(writes)) {
			return Session{}, errRoleChanged
		}
		return Session{}, err
	}
	s.Log.Info("security event", "event", "sessions_ended", "orgId", u.OrgID, "userId", u.ID, "sessionsEnded", ended)
	return sess, nil
}
