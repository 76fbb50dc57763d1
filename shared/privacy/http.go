package privacy

import (
	"context"
	"net/http"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// NewRouter serves the privacy function's routes, owners and admins only.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnPrivacy, rc.Options)
	rt.Handle("POST /v1/privacy/exports", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManagePrivacy, func(in ExportInput) (any, error) {
			return svc.CreateExport(ctx, r.Principal, in)
		}, http.StatusAccepted)
	})
	rt.Handle("GET /v1/privacy/exports", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManagePrivacy); err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, rc.Cursors, "privacy-exports", func(limit int32, start store.StartKey) ([]Export, store.StartKey, error) {
			return svc.ListExports(ctx, r.Principal.OrgID, limit, start)
		})
	})
	rt.Handle("GET /v1/privacy/exports/{exportId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManagePrivacy); err != nil {
			return nil, err
		}
		e, err := svc.GetExport(ctx, r.Principal, r.Param("exportId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, e), nil
	})
	rt.Handle("PUT /v1/clients/{clientId}/restriction", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManagePrivacy, func(in RestrictionInput) (any, error) {
			return svc.Restrict(ctx, r.Principal, r.Param("clientId"), in)
		}, http.StatusOK)
	})
	rt.Handle("DELETE /v1/org", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.DeleteOrg, func(in DeleteOrgInput) (any, error) {
			return svc.DeleteOrg(ctx, r.Principal, in)
		}, http.StatusAccepted)
	})
	rt.Handle("GET /v1/privacy/retention", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManagePrivacy); err != nil {
			return nil, err
		}
		p, err := svc.Retention(ctx, r.Principal.OrgID)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, p), nil
	})
	rt.Handle("PATCH /v1/privacy/retention", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManagePrivacy, func(in PolicyPatch) (any, error) {
			return svc.SetRetention(ctx, r.Principal, in)
		}, http.StatusOK)
	})
	return rt, rt.Check()
}
