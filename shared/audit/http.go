package audit

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
)

// Register adds the audit routes (GET /v1/audit, GET /v1/audit/verify) to
// rt, the router of the function the route table gives them. There is no
// route that edits or deletes an entry. The verify route opens the org's
// chain key with c.Keys and checks the latest anchor in c.Anchors.
func Register(rt *httpapi.Router, c Chain, cursors *cursor.Sealer) {
	db := c.DB
	rt.Handle("GET /v1/audit", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadAudit); err != nil {
			return nil, err
		}
		f, err := filterOf(r)
		if err != nil {
			return nil, err
		}
		// The cursor fits only the filters that made it.
		q := url.Values{"actorId": {f.ActorID}, "action": {f.Action}, "from": {r.Query("from")}, "to": {r.Query("to")}}
		return httpapi.ListPage(r, cursors, "audit?"+q.Encode(), func(limit int32, start store.StartKey) ([]Entry, store.StartKey, error) {
			return List(ctx, db, r.Principal.OrgID, f, limit, start)
		})
	})
	rt.Handle("GET /v1/audit/verify", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadAudit); err != nil {
			return nil, err
		}
		v, err := c.Verify(ctx, r.Principal.OrgID)
		if err != nil {
			return nil, verifyProblem(err)
		}
		return httpapi.JSON(http.StatusOK, v), nil
	})
}

// errNoAuditKey answers a verification this function cannot make: the
// chain is keyed and it was deployed without AUDIT_KEY_ID.
var errNoAuditKey = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "Audit verification is not configured: the audit log is keyed and this function has no AUDIT_KEY_ID."}

// verifyProblem is a failed verification as the caller sees it: a 503
// saying what to set for a missing audit key, the error as it is otherwise.
func verifyProblem(err error) error {
	if errors.Is(err, ErrNoKeyring) {
		e := *errNoAuditKey
		e.Err = err
		return &e
	}
	return err
}

// filterOf reads and checks ?actorId=&action=&from=&to=.
func filterOf(r *httpapi.Request) (Filter, error) {
	var c fault.Checker
	f := Filter{ActorID: r.Query("actorId"), Action: r.Query("action")}
	c.Check(len(f.ActorID) <= 64 && utf8.ValidString(f.ActorID), "actorId", "must be a member id")
	c.Check(len(f.Action) <= 100 && utf8.ValidString(f.Action), "action", "must be an action name such as user.login")
	at := func(name string, dst *time.Time) {
		v := r.Query(name)
		if v == "" {
			return
		}
		t, err := time.Parse(time.RFC3339, v)
		c.Check(err == nil, name, "must be an RFC 3339 time such as 2026-01-31T09:00:00Z")
		*dst = t
	}
	at("from", &f.From)
	at("to", &f.To)
	c.Check(f.From.IsZero() || f.To.IsZero() || !f.To.Before(f.From), "to", "must not be before from")
	return f, c.Err()
}
