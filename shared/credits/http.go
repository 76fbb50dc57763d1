package credits

import (
	"context"
	"net/http"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/idempotency"
)

// Dashboard is GET /v1/billing/credits: the balance, this month's spending
// and a page of usage records.
type Dashboard struct {
	Balance
	Usage      []Usage `json:"usage"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// Register serves the credit routes on rt (the payments function, which
// owns billing).
func Register(rt *httpapi.Router, svc *Service, cursors *cursor.Sealer) {
	rt.Handle("GET /v1/billing/credits", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadCredits); err != nil {
			return nil, err
		}
		limit, start, err := httpapi.PageParams(r, cursors, "credit-usage")
		if err != nil {
			return nil, err
		}
		b, err := svc.Balance(ctx, r.Principal.OrgID)
		if err != nil {
			return nil, err
		}
		usage, next, err := svc.Usage(ctx, r.Principal.OrgID, limit, start)
		if err != nil {
			return nil, err
		}
		out := Dashboard{Balance: b, Usage: usage}
		if out.Usage == nil {
			out.Usage = []Usage{}
		}
		if out.NextCursor, err = httpapi.SealCursor(r, cursors, "credit-usage", next); err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
	topUp := func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.TopUpCredits, func(in TopUpInput) (any, error) {
			return svc.TopUp(ctx, r.Principal, r.Header(idempotency.Header), in)
		}, http.StatusOK)
	}
	rt.Handle("POST /v1/billing/credits/grants", topUp) // API.md's name
	rt.Handle("POST /v1/billing/credits/topup", topUp)
}
