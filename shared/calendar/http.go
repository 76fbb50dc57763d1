package calendar

import (
	"context"
	"net/http"
	"net/url"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
)

// NewRouter serves the calendar function's API routes.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnCalendar, rc.Options)
	rt.Handle("GET /v1/calendar/microsoft/connect", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		out, err := svc.Connect(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		resp := httpapi.JSON(http.StatusOK, out)
		resp.Cookies = []string{BindingCookieValue(out.Binding)}
		return resp, nil
	})
	rt.Handle("GET /v1/calendar/microsoft/callback", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		q := url.Values{}
		for k, v := range r.Event.QueryStringParameters {
			q.Set(k, v)
		}
		to := svc.Callback(ctx, q, r.Cookie(BindingCookie))
		return &httpapi.Response{Status: http.StatusFound, Headers: map[string]string{"Location": to, "Cache-Control": "no-store",
			"Referrer-Policy": "no-referrer"}}, nil
	})
	rt.Handle("GET /v1/calendar/microsoft", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		st, err := svc.Status(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, st), nil
	})
	rt.Handle("DELETE /v1/calendar/microsoft", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		if err := svc.Disconnect(ctx, r.Principal); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("PATCH /v1/calendar/microsoft/calendars/{calendarId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseCalendar, func(in CalendarPatch) (any, error) {
			return svc.SetSync(ctx, r.Principal, r.Param("calendarId"), in)
		}, http.StatusOK)
	})
	rt.Handle("POST /v1/calendar/sync", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		if err := svc.SyncMember(ctx, r.Principal.OrgID, r.Principal.UserID); err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusAccepted, map[string]string{"status": "queued"}), nil
	})
	rt.Handle("GET /v1/calendar/events", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		items, err := svc.Events(ctx, r.Principal, r.Query("userId"), r.Query("from"), r.Query("to"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, httpapi.Page[EventView]{Items: items}), nil
	})
	rt.Handle("GET /v1/calendar/availability", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		out, err := svc.Availability(ctx, r.Principal, r.Query("userIds"), r.Query("from"), r.Query("to"), r.Query("duration"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
	rt.Handle("GET /v1/calendar/working-hours", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseCalendar); err != nil {
			return nil, err
		}
		h, err := svc.Hours(ctx, r.Principal.OrgID, r.Principal.UserID)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, h), nil
	})
	rt.Handle("PUT /v1/calendar/working-hours", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseCalendar, func(in WorkingHours) (any, error) {
			return svc.SetHours(ctx, r.Principal, in)
		}, http.StatusOK)
	})
	return rt, rt.Check()
}
