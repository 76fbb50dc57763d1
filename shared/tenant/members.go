package tenant

import (
	"context"
	"errors"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/store"
)

// Members is the router's membership check (caller.Members): one strongly
// consistent GetItem of the caller's member item per authenticated request,
// so a removal or a demotion takes effect on the next request rather than
// when the access token expires. It reads only the role and the status,
// undecoded: the check runs on every request. Handlers find the two in
// caller.Member.Item as the raw attribute map.
type Members struct{ DB *store.DB }

// Member reads userID's member item in orgID.
func (m Members) Member(ctx context.Context, orgID, userID string) (caller.Member, bool, error) {
	if orgID == "" || userID == "" {
		return caller.Member{}, false, nil
	}
	item, err := m.DB.GetAttrs(ctx, PK(orgID), MemberSK(userID), "role", "status")
	if errors.Is(err, store.ErrNotFound) {
		return caller.Member{}, false, nil
	} else if err != nil {
		return caller.Member{}, false, err
	}
	role := store.String(item, "role")
	if status := store.String(item, "status"); !access.Role(role).Valid() || status == Invited {
		// No item, one that is not a member's (a corrupt role grants
		// nothing), or an invitation not yet accepted: not a member.
		return caller.Member{}, false, nil
	}
	return caller.Member{Role: access.Role(role), Item: item}, true, nil
}
