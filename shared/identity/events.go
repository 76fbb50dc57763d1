package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
)

// Sign-in, session and membership events. Like the account events of
// audit.go, each is an activity entry written in the transaction of the
// change it records (the audit log takes every activity entry from the
// table's stream); a failed sign-in changes nothing, so its entry is a
// write of its own.
const (
	actLogin         = "user.login"
	actLoginFailed   = "user.login_failed"
	actLogout        = "user.logout"
	actRefreshReused = "user.refresh_token_reused"
	actSessionEnded  = "user.session_ended"
	actAdded         = "user.added"
	actUpdated       = "user.updated"
	actRoleChanged   = "user.role_changed"
	actRemoved       = "user.removed"
	actOrgUpdated    = "org.updated"
)

// fromKey carries, on a public route's context, where the request came
// from (IP and browser): sign-in and refresh have no signed-in caller yet.
type fromKey struct{}

// WithFrom returns ctx carrying from (its IP and User-Agent), for the
// account events of a request with no signed-in caller.
func WithFrom(ctx context.Context, from caller.Caller) context.Context {
	return context.WithValue(ctx, fromKey{}, from)
}

// fromOf is the request's origin WithFrom put on ctx.
func fromOf(ctx context.Context) caller.Caller {
	from, ok := ctx.Value(fromKey{}).(caller.Caller)
	if !ok {
		from, _ = httpapi.PrincipalFrom(ctx) // a signed-in request's
	}
	return caller.Caller{IP: from.IP, UserAgent: from.UserAgent}
}

// event is the activity entry of action about member u, done by u from
// where ctx's request came from.
func (s *Service) event(ctx context.Context, u User, now time.Time, action, detail string) (types.TransactWriteItem, error) {
	return activity.Record(s.DB, as(u, fromOf(ctx)), now,
		activity.Entry{Action: action, EntityType: "user", EntityID: u.ID, Detail: detail})
}

// loginEvent is the entry of u's sign-in, for the session's transaction.
func (s *Service) loginEvent(ctx context.Context, u User, now time.Time) types.TransactWriteItem {
	w, err := s.event(ctx, u, now, actLogin, "")
	if err != nil {
		panic(err) // an entry of strings always marshals
	}
	return w
}

// failedLogin records a failed sign-in for a known member (found, with
// their row) and answers errBadCredentials. An unknown login costs the
// same one-item transaction (a check that writes nothing), so the answer's
// time tells no one whether the login exists; its entry would have no org
// to go to anyway.
func (s *Service) failedLogin(ctx context.Context, lr loginRow, ur userRow, found bool, now time.Time) error {
	w := s.DB.Check(orgPK(lr.OrgID), userSK(lr.UserID), store.Cond{Expr: "attribute_not_exists(PK)"})
	if found {
		var err error
		if w, err = s.event(ctx, ur.toUser(), now, actLoginFailed, ""); err != nil {
			return err
		}
	}
	if err := s.DB.Transact(ctx, w); err != nil {
		return err
	}
	return errBadCredentials
}

// endFamily ends one login session of member userID and records why
// (sign-out, a session signed out from the list, a reused refresh token),
// in one transaction; by is who did it. A session already gone is not an
// error: it is ended either way.
func (s *Service) endFamily(ctx context.Context, by caller.Caller, orgID, userID, familyID, action string) error {
	now := s.Now().UTC()
	end := s.DB.Update(orgPK(orgID), familySK(familyID), "SET revoked = :t", &store.Cond{Expr: "attribute_exists(PK) AND userId = :u",
		Values: map[string]types.AttributeValue{":u": store.S(userID)}}, nil, map[string]types.AttributeValue{":t": store.Bool(true)})
	by.OrgID = orgID
	if by.UserID == "" {
		by.UserID = userID
	}
	rec, err := activity.Record(s.DB, by, now, activity.Entry{Action: action, EntityType: "session", EntityID: familyID,
		Detail: "member " + userID})
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, end, rec); err != nil && !store.Failed(err, 0) {
		return err
	}
	s.Log.Warn("security event", "event", strings.TrimPrefix(action, "user."), "orgId", orgID, "familyId", familyID)
	return nil
}

// refreshReused ends the session of a refresh token presented after it
// was spent (stolen, or replayed), recording it as its member's event
// from the presenter's address, and answers 401.
func (s *Service) refreshReused(ctx context.Context, orgID string, row refreshRow) error {
	var ur userRow
	err := s.DB.Get(ctx, orgPK(orgID), userSK(row.UserID), &ur)
	if errors.Is(err, store.ErrNotFound) {
		return s.revokeFamily(ctx, orgID, row.FamilyID, "refresh_reuse")
	}
	if err != nil {
		return err
	}
	if err := s.endFamily(ctx, as(ur.toUser(), fromOf(ctx)), orgID, row.UserID, row.FamilyID, actRefreshReused); err != nil {
		return err
	}
	return errBadRefresh
}

// memberEvent is the entry of an owner's or admin's change to member
// target (added, updated, role changed, removed), done by p.
func (s *Service) memberEvent(p caller.Caller, now time.Time, action string, target User, detail string, fields ...string) (types.TransactWriteItem, error) {
	e := activity.Entry{Action: action, EntityType: "user", EntityID: target.ID, Detail: detail, Fields: fields}
	if action == actRemoved {
		e.Event = EventMemberRemoved
	}
	return activity.Record(s.DB, p, now, e)
}

// EventMemberRemoved is the domain event of a member's removal or of their
// deleting their own account: capabilities holding the member's own data
// (their synced calendar) erase it.
const EventMemberRemoved = "member.removed"

// memberUpdateEvent is the entry of a change to member target (now as
// changed) by p: a role change names the roles, any other change the
// fields it touched (never their values).
func (s *Service) memberUpdateEvent(p caller.Caller, target User, oldRole access.Role, patch MemberPatch) (types.TransactWriteItem, error) {
	if target.Role != oldRole {
		return s.memberEvent(p, target.UpdatedAt, actRoleChanged, target, string(oldRole)+" → "+string(target.Role))
	}
	var fields []string
	if patch.Name != nil {
		fields = append(fields, "name")
	}
	if patch.Phone != nil {
		fields = append(fields, "phone")
	}
	return s.memberEvent(p, target.UpdatedAt, actUpdated, target, "", fields...)
}

// orgEvent is the entry of an org settings change by p, naming the
// settings the patch sets.
func (s *Service) orgEvent(p caller.Caller, org Org, patch OrgPatch) (types.TransactWriteItem, error) {
	var fields []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", patch.Name}, {"businessName", patch.BusinessName}, {"industry", patch.Industry}, {"timezone", patch.Timezone},
		{"smsSenderName", patch.SMSSenderName}, {"smsFromNumber", patch.SMSFromNumber}, {"twilioMessagingServiceSid", patch.TwilioMessagingServiceSID}} {
		if f.v != nil {
			fields = append(fields, f.name)
		}
	}
	return activity.Record(s.DB, p, org.UpdatedAt, activity.Entry{Action: actOrgUpdated, EntityType: "org", EntityID: org.ID, Fields: fields})
}
