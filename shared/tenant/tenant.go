// Package tenant is the key layout every tenant item shares and the checks
// that tie a write to its caller: an org's items all live under ORG#<orgId>,
// and a write can require, in its own transaction, that the caller is still
// a member with a role that allows it (an access token outlives a removal or
// a demotion by up to its 15 minutes).
package tenant

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// PK is the partition key of every item of an org, and the prefix of every
// index partition key of its items.
func PK(orgID string) string { return "ORG#" + orgID }

// MemberSK is the sort key of a member (user) item.
func MemberSK(userID string) string { return "USER#" + userID }

// RoleIn is the condition that a member item exists with one of roles.
func RoleIn(roles ...access.Role) *store.Cond {
	keys := make([]string, len(roles))
	values := map[string]types.AttributeValue{}
	for i, r := range roles {
		keys[i] = ":role" + strconv.Itoa(i)
		values[keys[i]] = store.S(string(r))
	}
	return &store.Cond{Expr: "#r IN (" + strings.Join(keys, ", ") + ")", Names: map[string]string{"#r": "role"}, Values: values}
}

// Invited is the status of a member who has not accepted their invitation:
// they hold a role but are no member yet (no sign-in, no token works).
// Members without a status are active.
const Invited = "invited"

// ActiveRoleIn is RoleIn for a member who accepted their invitation.
func ActiveRoleIn(roles ...access.Role) *store.Cond {
	c := RoleIn(roles...)
	c.Expr = "(" + c.Expr + ") AND (attribute_not_exists(#st) OR #st <> :invited)"
	c.Names["#st"] = "status"
	c.Values[":invited"] = store.S(Invited)
	return c
}

// MemberWith is a transaction item that holds only while user is an active
// member of org with a role that has permission p.
func MemberWith(db *store.DB, orgID, userID string, p access.Permission) types.TransactWriteItem {
	return db.Check(PK(orgID), MemberSK(userID), *ActiveRoleIn(access.RolesWith(p)...))
}

// Confirm checks, in a transaction of its own, that user is still a member
// of org with a role that holds p: for a request about to act outside the
// table (a provider call that creates or hands out something), before it
// does. Its own writes, if any, check again when they commit.
func Confirm(ctx context.Context, db *store.DB, orgID, userID string, p access.Permission) error {
	err := db.Transact(ctx, MemberWith(db, orgID, userID, p))
	if store.Failed(err, 0) {
		return ErrRoleChanged
	}
	return err
}

// ErrRoleChanged answers a write whose caller lost the role it needed (or
// was removed) after their access token was issued.
var ErrRoleChanged = fault.E(fault.Forbidden, "Your role changed while your session was open; it no longer allows this.")

// RoleLost reports whether err is a canceled transaction whose last item
// failed: for a transaction that ends with MemberWith, that the caller lost
// the role it needed (or was removed). It serves callers that add the check
// to a transaction whose other items they do not count.
func RoleLost(err error) bool {
	var tce *store.TxCanceledError
	return errors.As(err, &tce) && tce.Failed(len(tce.Reasons)-1)
}

// OrgSK is the sort key of the org item itself.
const OrgSK = "ORG"

// OrgOf is the org id of a tenant partition key (PK(orgID)), "" for others.
func OrgOf(pk string) string {
	if id, ok := strings.CutPrefix(pk, "ORG#"); ok && !strings.Contains(id, "#") {
		return id
	}
	return ""
}

// Zone is an org's time zone from its timezone setting: UTC when unset, or
// when not a zone this runtime knows.
func Zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}

// OrgZone is the one projection of the org item's time zone setting that
// other capabilities read (the org item itself belongs to identity, which
// this package must not import). Embed it in a wider projection of the org
// item, or read it alone with ZoneKey in a batch.
type OrgZone struct {
	Timezone string `dynamodbav:"timezone"` // IANA; "" when unset
}

// Loc is the org's time zone: UTC when unset or unknown (see Zone).
func (o OrgZone) Loc() *time.Location { return Zone(o.Timezone) }

// ZoneKey is the read of org's time zone into out, for a BatchGet with the
// caller's other items. An org item that is not found leaves out unset
// (UTC).
func ZoneKey(orgID string, out *OrgZone) *store.KeyOut {
	return &store.KeyOut{PK: PK(orgID), SK: OrgSK, Out: out}
}

// ReadZone reads an org's time zone (UTC for an org without one).
func ReadZone(ctx context.Context, db *store.DB, orgID string) (*time.Location, error) {
	var org OrgZone
	if err := db.Get(ctx, PK(orgID), OrgSK, &org); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return org.Loc(), nil
}
