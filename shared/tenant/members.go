package tenant

import (
	"context"
	"errors"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
)

// Members is the router's membership check (httpapi.Members): one strongly
// consistent GetItem of the caller's member item per authenticated request,
// so a removal or a demotion takes effect on the next request rather than
// when the access token expires. The item goes to handlers as a decoded
// map[string]any (httpapi.MemberFrom), for those that
// would read it anyway.
type Members struct{ DB *store.DB }

// Member reads userID's member item in orgID.
func (m Members) Member(ctx context.Context, orgID, userID string) (httpapi.Member, bool, error) {
	if orgID == "" || userID == "" {
		return httpapi.Member{}, false, nil
	}
	var item map[string]any
	if err := m.DB.Get(ctx, PK(orgID), MemberSK(userID), &item); errors.Is(err, store.ErrNotFound) {
		return httpapi.Member{}, false, nil
	} else if err != nil {
		return httpapi.Member{}, false, err
	}
	role, _ := item["role"].(string)
	if !access.Role(role).Valid() {
		// No item, or one that is not a member's (a corrupt role grants
		// nothing): either way, not a member.
		return httpapi.Member{}, false, nil
	}
	return httpapi.Member{Role: access.Role(role), Item: item}, true, nil
}

// MemberItem is the caller's member item the router read for this request,
// decoded (nil when the request was not authenticated through a router).
func MemberItem(ctx context.Context) map[string]any {
	m, _ := httpapi.MemberFrom(ctx)
	item, _ := m.Item.(map[string]any)
	return item
}
