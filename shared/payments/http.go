package payments

import (
	"context"
	"net/http"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// AppURL is the web app's address, where Stripe's onboarding and
// checkout pages send the user back: the first allowed CORS origin, or
// make dev's app.
func AppURL(corsOrigins []string) string {
	if len(corsOrigins) > 0 {
		return corsOrigins[0]
	}
	return "http://localhost:5173"
}

// NewRouter serves the payments function: the org's Stripe connected
// account and its invoices from svc (whose Stripe is nil when Stripe is not
// configured), and the org's AI credits from cr.
func NewRouter(svc *Service, cr *credits.Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnPayments, rc.Options)
	rt.Handle("POST /v1/payments/connect", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManagePayments, func(in ConnectInput) (any, error) {
			return svc.Connect(ctx, r.Principal, "", in)
		}, http.StatusOK)
	})
	rt.Handle("GET /v1/payments/account", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManagePayments); err != nil {
			return nil, err
		}
		acct, err := svc.Account(ctx, r.Principal.OrgID)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, acct), nil
	})
	rt.Handle("POST /v1/invoices", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		replayed := false
		resp, err := httpapi.DecodeAnd(r, access.WriteInvoices, func(in InvoiceInput) (any, error) {
			inv, again, err := svc.CreateInvoice(ctx, r.Principal, r.Header(idempotency.Header), in)
			replayed = again
			return inv, err
		}, http.StatusCreated)
		if err == nil && replayed {
			resp.Headers = map[string]string{idempotency.ReplayedHeader: "true"}
		}
		return resp, err
	})
	rt.Handle("GET /v1/invoices", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadInvoices); err != nil {
			return nil, err
		}
		clientID := r.Query("clientId")
		if clientID != "" && !check.ID(clientID) {
			return nil, fault.Fields(fault.FieldError{Field: "clientId", Message: "must be an id"})
		}
		return httpapi.ListPage(r, rc.Cursors, "invoices?"+clientID, func(limit int32, start store.StartKey) ([]Invoice, store.StartKey, error) {
			return svc.ListInvoices(ctx, r.Principal.OrgID, clientID, limit, start)
		})
	})
	rt.Handle("GET /v1/invoices/{invoiceId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadInvoices); err != nil {
			return nil, err
		}
		inv, err := svc.Invoice(ctx, r.Principal.OrgID, r.Param("invoiceId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, inv), nil
	})
	rt.Handle("GET /v1/payments", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadInvoices); err != nil {
			return nil, err
		}
		invoiceID, clientID := r.Query("invoiceId"), r.Query("clientId")
		if (invoiceID == "") == (clientID == "") || !check.ID(invoiceID+clientID) {
			return nil, fault.Fields(fault.FieldError{Field: "invoiceId", Message: "give invoiceId or clientId (one of them, an id)"})
		}
		return httpapi.ListPage(r, rc.Cursors, "payments?"+invoiceID+"&"+clientID, func(limit int32, start store.StartKey) ([]Payment, store.StartKey, error) {
			return svc.ListPayments(ctx, r.Principal.OrgID, invoiceID, clientID, limit, start)
		})
	})
	for action, do := range map[string]func(context.Context, caller.Caller, string) (Invoice, error){"send": svc.SendInvoice, "void": svc.VoidInvoice} {
		rt.Handle("POST /v1/invoices/{invoiceId}/"+action, func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			if err := r.Require(access.WriteInvoices); err != nil {
				return nil, err
			}
			inv, err := do(ctx, r.Principal, r.Param("invoiceId"))
			if err != nil {
				return nil, err
			}
			return httpapi.JSON(http.StatusOK, inv), nil
		})
	}
	credits.Register(rt, cr, rc.Cursors)
	return rt, rt.Check()
}
