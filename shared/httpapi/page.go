package httpapi

import (
	"net/http"
	"strconv"

	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// Page sizes of every list.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

// cursorScope binds a list's cursors to the caller's org and the list, so a
// cursor from another org or another list is refused.
func cursorScope(r *Request, list string) string { return r.Principal.OrgID + "|" + list }

// PageParams reads ?limit= (1-100, default 25) and ?cursor= for the named
// list. A list with filters must name them in list ("matters?clientId=X"):
// a cursor only fits the query that made it.
func PageParams(r *Request, c *cursor.Sealer, list string) (int32, store.StartKey, error) {
	limit := int32(DefaultLimit)
	if v := r.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, nil, fault.Fields(fault.FieldError{Field: "limit", Message: "must be an integer from 1 to 100"})
		}
		limit = int32(n)
	}
	start, err := c.Open(cursorScope(r, list), r.Query("cursor"))
	return limit, start, err
}

// SealCursor turns the next page's start key into the list's nextCursor.
func SealCursor(r *Request, c *cursor.Sealer, list string, next store.StartKey) (string, error) {
	return c.Seal(cursorScope(r, list), next)
}

// PageQuery reads one page of a list from start (nil for the first page).
type PageQuery[T any] func(limit int32, start store.StartKey) (items []T, next store.StartKey, err error)

// ListPage answers one page of the named list (see PageParams for the
// name): ?limit and ?cursor in, {items, nextCursor} out, items never null.
func ListPage[T any](r *Request, c *cursor.Sealer, list string, query PageQuery[T]) (*Response, error) {
	limit, start, err := PageParams(r, c, list)
	if err != nil {
		return nil, err
	}
	items, next, err := query(limit, start)
	if err != nil {
		return nil, err
	}
	p := Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if p.NextCursor, err = SealCursor(r, c, list, next); err != nil {
		return nil, err
	}
	return JSON(http.StatusOK, p), nil
}
