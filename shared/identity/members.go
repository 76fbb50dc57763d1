package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

var errUserNotFound = fault.E(fault.NotFound, "No such user.")

// Me returns the caller and their org in one read.
func (s *Service) Me(ctx context.Context, p caller.Caller) (User, Org, error) {
	var ur userRow
	var or orgRow
	u := &store.KeyOut{PK: orgPK(p.OrgID), SK: userSK(p.UserID), Out: &ur}
	o := &store.KeyOut{PK: orgPK(p.OrgID), SK: orgSK, Out: &or}
	if err := s.DB.BatchGet(ctx, u, o); err != nil {
		return User{}, Org{}, err
	}
	if !u.Found || !o.Found {
		// The member was removed after the token was issued.
		return User{}, Org{}, fault.E(fault.Unauthorized, "This account no longer exists.")
	}
	return ur.toUser(), or.toOrg(), nil
}

// Org returns the caller's org.
func (s *Service) Org(ctx context.Context, orgID string) (Org, error) {
	var row orgRow
	if err := s.DB.Get(ctx, orgPK(orgID), orgSK, &row); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Org{}, fault.E(fault.NotFound, "No such org.")
		}
		return Org{}, err
	}
	return row.toOrg(), nil
}

// OrgPatch holds the org settings to change; nil fields stay as they are and
// "" clears an optional one.
type OrgPatch struct {
	Name, BusinessName, Industry, Timezone, SMSSenderName, SMSFromNumber, TwilioMessagingServiceSID *string
	// RequireMFA makes every member sign in with two-factor; owners only.
	RequireMFA *bool
}

// UpdateOrg applies patch to the caller's org. A new SMS from-number is
// reserved for this org in the same transaction: inbound SMS are routed by it,
// so two orgs can never share one.
func (s *Service) UpdateOrg(ctx context.Context, p caller.Caller, patch OrgPatch) (Org, error) {
	org, err := s.Org(ctx, p.OrgID)
	if err != nil {
		return Org{}, err
	}
	var c fault.Checker
	set := func(dst *string, v *string, field string, required bool, maxLen int) {
		if v == nil {
			return
		}
		text(&c, field, *v, required, maxLen)
		*dst = strings.TrimSpace(*v)
	}
	oldFrom, oldMG := org.SMSFromNumber, org.TwilioMessagingServiceSID
	set(&org.Name, patch.Name, "name", true, 200)
	set(&org.BusinessName, patch.BusinessName, "businessName", false, 200)
	set(&org.Industry, patch.Industry, "industry", false, 100)
	set(&org.SMSSenderName, patch.SMSSenderName, "smsSenderName", false, 30)
	set(&org.Timezone, patch.Timezone, "timezone", true, 64)
	set(&org.SMSFromNumber, patch.SMSFromNumber, "smsFromNumber", false, 16)
	set(&org.TwilioMessagingServiceSID, patch.TwilioMessagingServiceSID, "twilioMessagingServiceSid", false, 34)
	if patch.Timezone != nil && *patch.Timezone != "" {
		c.Check(validTimezone(org.Timezone), "timezone", "must be an IANA time zone such as America/New_York")
	}
	c.Check(org.SMSFromNumber == "" || validPhone(org.SMSFromNumber), "smsFromNumber", "must be in E.164 format, e.g. +14155550123")
	c.Check(org.TwilioMessagingServiceSID == "" || validMessagingServiceSID(org.TwilioMessagingServiceSID),
		"twilioMessagingServiceSid", "must be a Twilio Messaging Service SID (MG followed by 32 hex digits)")
	if err := c.Err(); err != nil {
		return Org{}, err
	}
	editors := access.RolesWith(access.ManageOrg)
	if patch.RequireMFA != nil && *patch.RequireMFA != org.RequireMFA {
		if p.Role != access.Owner {
			return Org{}, fault.E(fault.Forbidden, "Only an owner can change whether two-factor sign-in is required.")
		}
		org.RequireMFA, editors = *patch.RequireMFA, []access.Role{access.Owner}
	}
	prevUpdated := formatTime(org.UpdatedAt)
	org.UpdatedAt = s.Now().UTC()
	// Only the settings are written: the owner count on the same item changes
	// through its own conditional updates and must never be overwritten with
	// what this request read. The updatedAt condition catches a concurrent
	// settings edit.
	r := toOrgRow(org)
	put := s.DB.Update(orgPK(org.ID), orgSK,
		"SET #name = :name, #bn = :bn, #ind = :ind, #tz = :tz, #ssn = :ssn, #sfn = :sfn, #mg = :mg, #rm = :rm, #up = :now",
		&store.Cond{Expr: "#up = :prev"},
		map[string]string{"#name": "name", "#bn": "businessName", "#ind": "industry", "#tz": "timezone",
			"#ssn": "smsSenderName", "#sfn": "smsFromNumber", "#mg": "twilioMessagingServiceSid", "#rm": "requireMfa", "#up": "updatedAt"},
		map[string]types.AttributeValue{
			":rm":   store.Bool(org.RequireMFA),
			":name": store.S(r.Name), ":bn": store.S(r.BusinessName), ":ind": store.S(r.Industry), ":tz": store.S(r.Timezone),
			":ssn": store.S(r.SMSSenderName), ":sfn": store.S(r.SMSFromNumber), ":mg": store.S(r.TwilioMessagingServiceSID),
			":now": store.S(r.UpdatedAt), ":prev": store.S(prevUpdated),
		})
	writes := []types.TransactWriteItem{put}
	// The SMS number and the Messaging Service route inbound texts to this
	// org: each is claimed by one org at a time.
	claims, assigned := map[int]claim{}, map[int]claim{}
	for _, cl := range []claim{
		{field: "smsFromNumber", old: oldFrom, new: org.SMSFromNumber, pk: smsFromPK, taken: "That SMS number belongs to another org.",
			unassigned: "is not a number the platform assigned to this org; get one with POST /v1/messaging/sms-numbers"},
		{field: "twilioMessagingServiceSid", old: oldMG, new: org.TwilioMessagingServiceSID, pk: smsServicePK, taken: "That Messaging Service belongs to another org.",
			unassigned: "is not a Messaging Service the platform assigned to this org; get one with POST /v1/messaging/sms-services"},
	} {
		if cl.new == cl.old {
			continue
		}
		if cl.new != "" {
			w, err := s.DB.Put(markerRow{PK: cl.pk(cl.new), SK: markerSK, OrgID: org.ID}, store.NotExists())
			if err != nil {
				return Org{}, err
			}
			claims[len(writes)] = cl
			writes = append(writes, w)
			// First come is not first served: only a number or service the
			// platform bought or created for this org (SMSNumberAssignment)
			// may be set, checked in the same transaction.
			assigned[len(writes)] = cl
			writes = append(writes, s.DB.Check(cl.pk(cl.new), assignedSK, assignedTo(org.ID)))
		}
		if cl.old != "" {
			// Only our own claim is given up: an old setting another org
			// claimed since (the marker was never ours) stays theirs.
			owner, err := markerOwner(ctx, s.DB, cl.pk(cl.old))
			if err != nil {
				return Org{}, err
			}
			if owner == org.ID {
				writes = append(writes, s.DB.Delete(cl.pk(cl.old), markerSK, nil))
			}
		}
	}
	rec, err := s.orgEvent(p, org, patch)
	if err != nil {
		return Org{}, err
	}
	writes = append(writes, rec, s.stillHasRole(p, editors...))
	if err := s.DB.Transact(ctx, writes...); err != nil {
		var tce *store.TxCanceledError
		switch {
		case roleLost(err, len(writes)):
			return Org{}, errRoleChanged
		case errors.As(err, &tce) && tce.Failed(0):
			return Org{}, fault.E(fault.Conflict, "The org changed while you edited it; reload and try again.")
		}
		for i, cl := range assigned {
			if errors.As(err, &tce) && tce.Failed(i) {
				return Org{}, fault.Fields(fault.FieldError{Field: cl.field, Message: cl.unassigned})
			}
		}
		for i, cl := range claims {
			if errors.As(err, &tce) && tce.Failed(i) {
				e := fault.E(fault.Conflict, "%s", cl.taken)
				e.Fields = []fault.FieldError{{Field: cl.field, Message: "is in use by another org"}}
				return Org{}, e
			}
		}
		return Org{}, err
	}
	return org, nil
}

// claim is an org setting only one org may hold at a time.
type claim struct {
	field, old, new, taken, unassigned string
	pk                                 func(string) string
}

// assignedSK is the item, next to a number's or service's claim marker,
// that records which org the platform bought or created it for. Only the
// messaging function writes it (SMSNumberAssignment,
// MessagingServiceAssignment), after Twilio confirmed the purchase or
// creation in the platform's own account.
const assignedSK = "ASSIGNED"

func assignedTo(orgID string) store.Cond {
	return store.Cond{Expr: "#org = :org", Names: map[string]string{"#org": "orgId"},
		Values: map[string]types.AttributeValue{":org": store.S(orgID)}}
}

// SMSNumberAssignment is the write that records the platform bought
// number for orgID, so the org may set it as its smsFromNumber: a
// transaction item of the caller's (with its activity entry), whose
// condition fails when the number is assigned to another org.
func SMSNumberAssignment(db *store.DB, orgID, number string) (types.TransactWriteItem, error) {
	return assignment(db, smsFromPK(number), orgID)
}

// MessagingServiceAssignment is SMSNumberAssignment for a Messaging
// Service the platform created (or adopted from its own account) for orgID.
func MessagingServiceAssignment(db *store.DB, orgID, sid string) (types.TransactWriteItem, error) {
	return assignment(db, smsServicePK(sid), orgID)
}

func assignment(db *store.DB, pk, orgID string) (types.TransactWriteItem, error) {
	cond := assignedTo(orgID)
	cond.Expr = "attribute_not_exists(PK) OR " + cond.Expr
	return db.Put(markerRow{PK: pk, SK: assignedSK, OrgID: orgID}, &cond)
}

// SMSNumberAssignee is the org the platform assigned number to, "" when none.
func SMSNumberAssignee(ctx context.Context, db *store.DB, number string) (string, error) {
	return assignee(ctx, db, smsFromPK(number))
}

// MessagingServiceAssignee is the org the platform assigned sid to, "" when none.
func MessagingServiceAssignee(ctx context.Context, db *store.DB, sid string) (string, error) {
	return assignee(ctx, db, smsServicePK(sid))
}

func assignee(ctx context.Context, db *store.DB, pk string) (string, error) {
	var m markerRow
	if err := db.Get(ctx, pk, assignedSK, &m); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	return m.OrgID, nil
}

// ListUsers returns one page of the org's members.
func (s *Service) ListUsers(ctx context.Context, orgID string, limit int32, start store.StartKey) ([]User, store.StartKey, error) {
	var rows []userRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: orgPK(orgID), SKPrefix: userPfx, Forward: true, Limit: limit, StartKey: start}, &rows)
	if err != nil {
		return nil, nil, err
	}
	users := make([]User, len(rows))
	for i, r := range rows {
		users[i] = r.toUser()
	}
	return users, next, nil
}

// actor loads the caller's current member record. Role checks for member
// management use it rather than the token's role, which may be up to 15
// minutes old.
func (s *Service) actor(ctx context.Context, p caller.Caller) (User, error) {
	u, err := s.user(ctx, p.OrgID, p.UserID)
	if fault.Is(err, fault.NotFound) {
		return User{}, fault.E(fault.Unauthorized, "This account no longer exists.")
	}
	if err == nil && !access.Can(u.Role, access.ManageUsers) {
		return User{}, fault.E(fault.Forbidden, "Only owners and admins manage members.")
	}
	return u, err
}

// actorAndTarget loads the caller and the member they act on. Acting on
// oneself uses the one record the role rules were checked against, so the
// write's role condition pins exactly that.
func (s *Service) actorAndTarget(ctx context.Context, p caller.Caller, userID string) (User, User, error) {
	actor, err := s.actor(ctx, p)
	if err != nil {
		return User{}, User{}, err
	}
	if userID == actor.ID {
		return actor, actor, nil
	}
	target, err := s.user(ctx, p.OrgID, userID)
	return actor, target, err
}

// stillHasRole is a transaction item that holds only while the caller still
// has role: a member demoted or removed between our read and our write
// cannot complete a change their old role allowed.
func (s *Service) stillHasRole(p caller.Caller, roles ...access.Role) types.TransactWriteItem {
	return s.DB.Check(orgPK(p.OrgID), userSK(p.UserID), *tenant.ActiveRoleIn(roles...))
}

// roleIn is the condition that a member item exists with one of roles.
func roleIn(roles ...access.Role) *store.Cond { return tenant.RoleIn(roles...) }

// errRoleChanged answers a write whose caller lost the role it needed meanwhile.
var errRoleChanged = fault.E(fault.Forbidden, "Your role changed while this request ran; it no longer allows this.")

// roleLost reports whether the last item of a failed transaction, the
// caller's role check, is what failed.
func roleLost(err error, n int) bool {
	var tce *store.TxCanceledError
	return errors.As(err, &tce) && tce.Failed(n-1)
}

func (s *Service) user(ctx context.Context, orgID, userID string) (User, error) {
	if !validID(userID) {
		return User{}, errUserNotFound
	}
	var row userRow
	if err := s.DB.Get(ctx, orgPK(orgID), userSK(userID), &row); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return User{}, errUserNotFound
		}
		return User{}, err
	}
	return row.toUser(), nil
}

// NewMember is a member an owner or admin adds.
type NewMember struct {
	Name, Email, Username, Password, Phone string
	Role                                   access.Role
}

// CreateUser adds a member to the caller's org. Nobody grants a role above
// their own: admins cannot create owners.
func (s *Service) CreateUser(ctx context.Context, p caller.Caller, in NewMember) (User, error) {
	// The org comes with the caller in one read: its names are words a
	// guesser tries first, so the strength check must know them.
	actor, org, err := s.Me(ctx, p)
	if err != nil {
		return User{}, err
	}
	if !access.Can(actor.Role, access.ManageUsers) {
		return User{}, fault.E(fault.Forbidden, "Only owners and admins manage members.")
	}
	if in.Password == "" && in.Username == "" {
		return s.invite(ctx, p, actor, org, in)
	}
	var c fault.Checker
	text(&c, "name", in.Name, true, 200)
	email, ok := normalizeEmail(in.Email)
	c.Check(ok, "email", "must be a valid email address")
	username, ok := normalizeUsername(in.Username)
	c.Check(ok, "username", "must be 3-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
	c.Check(in.Role.Valid(), "role", "must be one of owner, admin, attorney, staff, billing")
	c.Check(in.Phone == "" || validPhone(in.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	if err := s.checkStrength(&c, in.Password, in.Name, in.Email, in.Username, org.Name, org.BusinessName); err != nil {
		return User{}, err
	}
	if err := c.Err(); err != nil {
		return User{}, err
	}
	if !actor.Role.AtLeast(in.Role) {
		return User{}, fault.E(fault.Forbidden, "You cannot grant a role above your own.")
	}
	hash, err := password.Hash(in.Password, s.Password)
	if err != nil {
		return User{}, err
	}
	now := s.Now().UTC()
	u := User{ID: s.NewID(), OrgID: p.OrgID, Name: strings.TrimSpace(in.Name), Email: email, Username: username,
		Role: in.Role, Phone: in.Phone, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	writes, err := s.memberWrites(u)
	if err != nil {
		return User{}, err
	}
	if u.Role == access.Owner {
		writes = append(writes, s.ownerDelta(p.OrgID, +1))
	}
	rec, err := s.memberEvent(p, now, actAdded, u, "role "+string(u.Role))
	if err != nil {
		return User{}, err
	}
	writes = append(writes, rec, s.stillHasRole(p, actor.Role))
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if roleLost(err, len(writes)) {
			return User{}, errRoleChanged
		}
		return User{}, uniquenessErr(err, 0)
	}
	s.Log.Info("security event", "event", "member_added", "orgId", p.OrgID, "userId", u.ID, "role", string(u.Role))
	return u, nil
}

// ownerDelta changes the org's owner count; taking one away requires that
// another owner remains, so the last owner can never be demoted or removed,
// even by two concurrent requests.
func (s *Service) ownerDelta(orgID string, delta int) types.TransactWriteItem {
	values := map[string]types.AttributeValue{":d": store.N(1)}
	if delta > 0 {
		return s.DB.Update(orgPK(orgID), orgSK, "ADD ownerCount :d", store.Exists(), nil, values)
	}
	values[":one"] = store.N(1)
	return s.DB.Update(orgPK(orgID), orgSK, "SET ownerCount = ownerCount - :d", &store.Cond{Expr: "ownerCount > :one"}, nil, values)
}

var errLastOwner = fault.E(fault.Conflict, "The org's last owner cannot be removed or demoted; make someone else an owner first.")

// MemberPatch holds the member fields to change.
type MemberPatch struct {
	Name, Phone *string
	Role        *access.Role
}

// UpdateUser changes a member's name, phone or role under the role rules:
// only owners touch owners or grant ownership, admins manage the other roles,
// nobody raises their own role, and the last owner stays an owner.
func (s *Service) UpdateUser(ctx context.Context, p caller.Caller, userID string, patch MemberPatch) (User, error) {
	actor, target, err := s.actorAndTarget(ctx, p, userID)
	if err != nil {
		return User{}, err
	}
	if !actor.Role.AtLeast(target.Role) {
		return User{}, fault.E(fault.Forbidden, "Only an owner can change an owner.")
	}
	var c fault.Checker
	if patch.Name != nil {
		text(&c, "name", *patch.Name, true, 200)
	}
	if patch.Phone != nil {
		c.Check(*patch.Phone == "" || validPhone(*patch.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	}
	if patch.Role != nil {
		c.Check(patch.Role.Valid(), "role", "must be one of owner, admin, attorney, staff, billing")
	}
	if err := c.Err(); err != nil {
		return User{}, err
	}
	oldRole := target.Role
	var writes []types.TransactWriteItem
	if patch.Role != nil && *patch.Role != oldRole {
		newRole := *patch.Role
		switch {
		case target.ID == actor.ID && !oldRole.AtLeast(newRole):
			return User{}, fault.E(fault.Forbidden, "Nobody can raise their own role.")
		case (oldRole == access.Owner || newRole == access.Owner) && actor.Role != access.Owner:
			return User{}, fault.E(fault.Forbidden, "Only an owner can grant or take away the owner role.")
		case !actor.Role.AtLeast(oldRole) || !actor.Role.AtLeast(newRole):
			return User{}, fault.E(fault.Forbidden, "You cannot manage a role above your own.")
		}
		// Only active owners count: an invitation counts when accepted.
		if oldRole == access.Owner && target.Active() {
			writes = append(writes, s.ownerDelta(p.OrgID, -1))
		} else if newRole == access.Owner && target.Active() {
			writes = append(writes, s.ownerDelta(p.OrgID, +1))
		}
		target.Role = newRole
	}
	if patch.Name != nil {
		target.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.Phone != nil {
		target.Phone = *patch.Phone
	}
	target.UpdatedAt = s.Now().UTC()
	// The role must still be what the rules were checked against.
	put, err := s.DB.Put(toUserRow(target), roleIn(oldRole))
	if err != nil {
		return User{}, err
	}
	writes = append([]types.TransactWriteItem{put}, writes...)
	rec, err := s.memberUpdateEvent(p, target, oldRole, patch)
	if err != nil {
		return User{}, err
	}
	writes = append(writes, rec)
	if target.ID != actor.ID { // on oneself, the put's own role condition does it
		writes = append(writes, s.stillHasRole(p, actor.Role))
	}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if target.ID != actor.ID && roleLost(err, len(writes)) {
			return User{}, errRoleChanged
		}
		return User{}, memberTxErr(err)
	}
	if target.Role != oldRole {
		s.Log.Info("security event", "event", "role_changed", "orgId", p.OrgID, "userId", target.ID,
			"from", string(oldRole), "to", string(target.Role), "by", actor.ID)
	}
	return target, nil
}

// memberTxErr explains a failed member transaction whose first item is the
// member itself and whose optional second item is the owner count.
func memberTxErr(err error) error {
	var tce *store.TxCanceledError
	switch {
	case errors.As(err, &tce) && tce.Failed(0):
		return fault.E(fault.Conflict, "The member changed meanwhile; reload and try again.")
	case errors.As(err, &tce) && tce.Failed(1):
		return errLastOwner
	}
	return err
}

// DeleteUser removes a member and their logins; their sessions end because
// refresh checks the member still exists.
func (s *Service) DeleteUser(ctx context.Context, p caller.Caller, userID string) error {
	actor, target, err := s.actorAndTarget(ctx, p, userID)
	if err != nil {
		return err
	}
	if !actor.Role.AtLeast(target.Role) {
		return fault.E(fault.Forbidden, "Only an owner can remove an owner.")
	}
	writes := []types.TransactWriteItem{
		s.DB.Delete(orgPK(p.OrgID), userSK(target.ID), roleIn(target.Role)),
	}
	// An invited member holds no logins (their email may well be another
	// account's) and does not count as an owner; deleting the item voids
	// their link.
	if target.Role == access.Owner && target.Active() {
		writes = append(writes, s.ownerDelta(p.OrgID, -1))
	}
	if target.Active() {
		writes = append(writes, s.DB.Delete(emailPK(target.Email), loginSK, nil), s.DB.Delete(usernamePK(target.Username), loginSK, nil))
	}
	// Their sealed TOTP secret and recovery codes go with them.
	writes = append(writes, s.DB.Delete(orgPK(p.OrgID), mfaSK(target.ID), nil))
	rec, err := s.memberEvent(p, s.Now().UTC(), actRemoved, target, "role "+string(target.Role))
	if err != nil {
		return err
	}
	writes = append(writes, rec)
	if target.ID != actor.ID { // on oneself, the delete's own role condition does it
		writes = append(writes, s.stillHasRole(p, actor.Role))
	}
	if err := s.DB.Transact(ctx, writes...); err != nil {
		if target.ID != actor.ID && roleLost(err, len(writes)) {
			return errRoleChanged
		}
		return memberTxErr(err)
	}
	s.Log.Info("security event", "event", "member_removed", "orgId", p.OrgID, "userId", target.ID, "by", actor.ID)
	return nil
}
