package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// reqHandler is the slog.Handler behind a request's req.Log: it adds the
// request's attributes (request id, function, route and, once known, the
// caller) to a line when the line is written. slog's Logger.With would
// format them into a new handler on every request, whether or not the
// request logs anything beyond its access line, which most do not.
type reqHandler struct {
	base slog.Handler
	req  *Request
	fn   string
}

func (h *reqHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.base.Enabled(ctx, l) }

func (h *reqHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(h.attrs()...)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.base.Handle(ctx, out)
}

// WithAttrs and WithGroup (a handler deriving a logger of its own) fix the
// request's attributes as they are now, outside any group.
func (h *reqHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.base.WithAttrs(append(h.attrs(), as...))
}

func (h *reqHandler) WithGroup(name string) slog.Handler {
	return h.base.WithAttrs(h.attrs()).WithGroup(name)
}

func (h *reqHandler) attrs() []slog.Attr {
	r := h.req
	as := []slog.Attr{slog.String("requestId", r.ID), slog.String("function", h.fn), slog.String("route", r.Event.RouteKey)}
	if r.Principal.OrgID != "" {
		as = append(as, slog.String("orgId", r.Principal.OrgID), slog.String("userId", r.Principal.UserID))
	}
	return as
}

// emfMetadata is the constant part of the access line's CloudWatch
// Embedded Metric Format record: latency and error counts per function and
// route (both top-level fields of the line), with no extra API calls.
var emfMetadata = json.RawMessage(`[{"Namespace":"Matterly","Dimensions":[["function","route"]],"Metrics":[` +
	`{"Name":"Latency","Unit":"Milliseconds"},{"Name":"ClientErrors","Unit":"Count"},{"Name":"ServerErrors","Unit":"Count"}]}]`)

// accessLog writes the request's one access line, which is also its
// metrics record, straight to the router's handler: one record, its
// attributes built in place.
func (rt *Router) accessLog(ctx context.Context, req *Request, status int, start time.Time) {
	h := rt.opts.Logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	now := time.Now()
	ms := float64(now.Sub(start).Microseconds()) / 1000
	r := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("requestId", req.ID), slog.String("function", rt.function), slog.String("route", req.Event.RouteKey),
		slog.Int("status", status), slog.Float64("ms", ms))
	if req.Principal.OrgID != "" {
		r.AddAttrs(slog.String("orgId", req.Principal.OrgID), slog.String("userId", req.Principal.UserID))
	}
	r.AddAttrs(
		slog.Attr{Key: "_aws", Value: slog.GroupValue(slog.Int64("Timestamp", start.UnixMilli()), slog.Any("CloudWatchMetrics", emfMetadata))},
		slog.Float64("Latency", ms),
		slog.Int("ClientErrors", b2i(status >= 400 && status < 500)),
		slog.Int("ServerErrors", b2i(status >= 500)))
	_ = h.Handle(ctx, r)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
