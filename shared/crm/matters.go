package crm

import (
	"context"
	"errors"

	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// LoadMatter reads a matter of the org with a strongly consistent read; a
// missing one (or a malformed id) is a not-found error. Other capabilities
// that attach items to matters (documents) call it.
func LoadMatter(ctx context.Context, db *store.DB, orgID, id string) (Matter, error) {
	var m Matter
	if !check.ID(id) {
		return m, notFound("matter")
	}
	err := db.Get(ctx, tenant.PK(orgID), MatterSK(id), &m)
	if errors.Is(err, store.ErrNotFound) {
		return m, notFound("matter")
	}
	return m, err
}
