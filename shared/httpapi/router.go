package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/routes"
)

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (*Response, error)

// Verifier checks an access token and returns its principal.
type Verifier interface {
	Verify(token string) (caller.Caller, error)
}

// Members reads a caller's current membership. An access token outlives a
// removal or a demotion by up to its 15 minutes: every authenticated request
// asks the table, once, whether its caller is still a member and with which
// role. It lives behind this interface so httpapi does not import the store.
type Members interface {
	// Member returns the member item of userID in orgID; found is false when
	// there is none (the member was removed, or the org deleted).
	Member(ctx context.Context, orgID, userID string) (m caller.Member, found bool, err error)
}

// Options configure a Router.
type Options struct {
	Verifier       Verifier // required when the function has authenticated routes
	Members        Members  // required with Verifier: the caller's current membership
	AllowedOrigins []string // CORS origins allowed to call with credentials
	Logger         *slog.Logger
	MaxBody        int // bytes; DefaultMaxBody when zero
}

// RouterConfig is what an API function's router needs besides its
// services: the router's Options (token verification, the membership read,
// CORS, the logger) and the sealer of its list cursors. A domain package's
// NewRouter takes it with the services it serves; the mains and the devstack
// fill it in.
type RouterConfig struct {
	Options
	Cursors *cursor.Sealer // seals and opens list cursors; required by routers with list routes
}

// Router dispatches one function's requests by API Gateway route key.
type Router struct {
	function string
	opts     Options
	handlers map[string]HandlerFunc
	public   map[string]bool
	setup    map[string]bool // routes a two-factor-setup token reaches
}

// NewRouter returns an empty router for function.
func NewRouter(function string, opts Options) *Router {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	return &Router{function: function, opts: opts, handlers: map[string]HandlerFunc{}, public: map[string]bool{},
		setup: map[string]bool{}}
}

// Handle serves the route with the given key ("GET /v1/me") with h.
func (rt *Router) Handle(key string, h HandlerFunc) { rt.handlers[key] = h }

// Check verifies the router serves exactly its function's routes of the route
// table, so a route can be neither forgotten nor served by the wrong function.
func (rt *Router) Check() error {
	want := map[string]bool{}
	needsAuth := false
	for _, r := range routes.ForFunction(rt.function) {
		want[r.Key()] = true
		rt.public[r.Key()] = r.Public
		rt.setup[r.Key()] = r.MFASetup
		needsAuth = needsAuth || !r.Public
		if _, ok := rt.handlers[r.Key()]; !ok {
			return fmt.Errorf("function %s: no handler for route %q", rt.function, r.Key())
		}
	}
	for k := range rt.handlers {
		if !want[k] {
			return fmt.Errorf("function %s: handler for %q, which the route table does not give it", rt.function, k)
		}
	}
	if rt.opts.Verifier == nil && needsAuth {
		return fmt.Errorf("function %s: authenticated routes need a token verifier", rt.function)
	}
	if rt.opts.Members == nil && needsAuth {
		return fmt.Errorf("function %s: authenticated routes need a membership check (Options.Members)", rt.function)
	}
	return nil
}

// Serve is the Lambda handler for API Gateway HTTP API payload v2 events.
// It never returns an error: every failure becomes a problem response.
func (rt *Router) Serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	reqID := ev.RequestContext.RequestID
	if reqID == "" {
		reqID = ulid.Make().String()
	}
	if ev.RouteKey == "$default" {
		// A Lambda function URL sends the same payload 2.0 event without a
		// route: find it as API Gateway would.
		if r, params, _ := routes.Match(ev.RequestContext.HTTP.Method, ev.RawPath); r.FunctionURL && r.Function == rt.function {
			ev.RouteKey, ev.PathParameters = r.Key(), params
		}
	}
	req := &Request{Event: ev, ID: reqID, maxBody: rt.opts.MaxBody}
	req.logh = reqHandler{base: rt.opts.Logger.Handler(), req: req, fn: rt.function}
	req.Log = slog.New(&req.logh)
	req.Principal = caller.Caller{}.From(req.SourceIP(), req.UserAgent())

	var resp events.APIGatewayV2HTTPResponse
	if ev.RequestContext.HTTP.Method == http.MethodOptions {
		resp = rt.preflight(req)
	} else {
		resp = rt.dispatch(ctx, req)
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["X-Request-Id"] = reqID
	SecureHeaders(resp.Headers)
	rt.cors(req, resp.Headers)

	rt.accessLog(ctx, req, resp.StatusCode, start)
	return resp, nil
}

func (rt *Router) dispatch(ctx context.Context, req *Request) (resp events.APIGatewayV2HTTPResponse) {
	h, ok := rt.handlers[req.Event.RouteKey]
	if !ok {
		return problemResponse(fault.E(fault.NotFound, "No such route."), req.ID)
	}
	if !rt.public[req.Event.RouteKey] {
		p, m, err := rt.authenticate(ctx, req)
		if err != nil {
			if fe := fault.As(err); fe == nil || fe.Err != nil {
				req.Log.Error("membership check failed", "err", err)
			}
			r := problemResponse(err, req.ID)
			if fe := fault.As(err); fe != nil && fe.Kind == fault.Unauthorized {
				r.Headers["WWW-Authenticate"] = `Bearer realm="matterly"`
			}
			return r
		}
		req.Principal = p.From(req.Principal.IP, req.Principal.UserAgent)
		ctx = context.WithValue(ctx, authKey{}, &authenticated{p: req.Principal, m: m})
	}
	defer func() {
		if v := recover(); v != nil {
			req.Log.Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp = problemResponse(errors.New("panic"), req.ID)
		}
	}()
	out, err := h(ctx, req)
	if err != nil {
		if fe := fault.As(err); fe == nil || fe.Err != nil {
			req.Log.Error("request failed", "err", err)
		}
		resp := problemResponse(err, req.ID)
		if out != nil {
			// A handler may pair an error with cookies to set (clearing a
			// dead session cookie, say); the problem body still wins.
			resp.Cookies = out.Cookies
		}
		return resp
	}
	return render(out, req.ID)
}

func (rt *Router) authenticate(ctx context.Context, req *Request) (caller.Caller, caller.Member, error) {
	p, m, err := authenticate(ctx, rt.opts.Verifier, rt.opts.Members, req.Header("authorization"))
	if err == nil && p.Scope != "" && !rt.setup[req.Event.RouteKey] {
		return caller.Caller{}, caller.Member{}, errMFASetupRequired
	}
	return p, m, err
}

// errMFASetupRequired answers a two-factor-setup token (caller.ScopeMFASetup)
// on any route but the enrolment ones.
var errMFASetupRequired = fault.E(fault.Forbidden,
	"Two-factor setup is required: your org requires two-factor sign-in. Set it up with POST /v1/me/mfa/totp, then sign in again.")

// errInvalidToken answers a bad token and a removed member alike: a token
// whose member is gone is no longer a valid token, and the answer does not
// tell a former member anything a stranger would not learn.
var errInvalidToken = fault.E(fault.Unauthorized, "The access token is invalid or expired.")

// Authenticate checks an Authorization header's bearer token, then the
// caller's current membership (one consistent read): a removed member is
// refused as an invalid token, and a member whose role changed acts with
// the role they hold now. Handlers outside a Router (the streaming speech
// function) call it too, so every entry point refuses the same tokens with
// the same answers. It refuses a two-factor-setup token, which reaches only
// the Router's routes flagged for it.
func Authenticate(ctx context.Context, v Verifier, members Members, authz string) (caller.Caller, caller.Member, error) {
	p, m, err := authenticate(ctx, v, members, authz)
	if err == nil && p.Scope != "" {
		return caller.Caller{}, caller.Member{}, errMFASetupRequired
	}
	return p, m, err
}

func authenticate(ctx context.Context, v Verifier, members Members, authz string) (caller.Caller, caller.Member, error) {
	scheme, tok, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return caller.Caller{}, caller.Member{}, fault.E(fault.Unauthorized, "An access token is required (Authorization: Bearer <token>).")
	}
	p, err := v.Verify(strings.TrimSpace(tok))
	if err != nil {
		return caller.Caller{}, caller.Member{}, errInvalidToken
	}
	if members == nil {
		return caller.Caller{}, caller.Member{}, errors.New("no membership check configured")
	}
	m, found, err := members.Member(ctx, p.OrgID, p.UserID)
	if err != nil {
		return caller.Caller{}, caller.Member{}, err
	}
	if !found {
		return caller.Caller{}, caller.Member{}, errInvalidToken
	}
	p.Role = m.Role
	return p, m, nil
}

type memberKey struct{}

// WithMember stores the caller's member item, as the router read it, in ctx.
func WithMember(ctx context.Context, m caller.Member) context.Context {
	return context.WithValue(ctx, memberKey{}, m)
}

// MemberFrom returns the caller's member item read for this request, so a
// handler that needs it does not read it again.
func MemberFrom(ctx context.Context) (caller.Member, bool) {
	if m, ok := ctx.Value(memberKey{}).(caller.Member); ok {
		return m, true
	}
	if a, ok := ctx.Value(authKey{}).(*authenticated); ok {
		return a.m, true
	}
	return caller.Member{}, false
}

// authenticated is what the router stores in an authenticated request's
// context: the caller and their member item under one key, one value
// (PrincipalFrom and MemberFrom read it), rather than two.
type authenticated struct {
	p caller.Caller
	m caller.Member
}

type authKey struct{}

func render(out *Response, reqID string) events.APIGatewayV2HTTPResponse {
	if out == nil {
		out = NoContent()
	}
	// Sized for what Serve adds (request id, security and CORS headers),
	// so the map is allocated once.
	resp := events.APIGatewayV2HTTPResponse{StatusCode: out.Status, Headers: make(map[string]string, 16), Cookies: out.Cookies}
	for k, v := range out.Headers {
		resp.Headers[k] = v
	}
	if raw, ok := out.Body.(Raw); ok {
		resp.Body = string(raw)
	} else if out.Body != nil {
		body, err := marshalBody(out.Body)
		if err != nil {
			return problemResponse(fmt.Errorf("marshal response: %w", err), reqID)
		}
		resp.Body = body
		if resp.Headers["Content-Type"] == "" {
			resp.Headers["Content-Type"] = "application/json"
		}
	}
	return resp
}

// cors adds the CORS response headers for an allowed origin. Credentials are
// allowed (the refresh cookie), so the origin is echoed, never "*".
func (rt *Router) cors(req *Request, h map[string]string) {
	origin := req.Header("origin")
	if origin == "" || !slices.Contains(rt.opts.AllowedOrigins, origin) {
		return
	}
	h["Access-Control-Allow-Origin"] = origin
	h["Access-Control-Allow-Credentials"] = "true"
	h["Access-Control-Expose-Headers"] = "X-Request-Id, Retry-After"
	h["Vary"] = "Origin"
}

// preflight answers a CORS preflight. API Gateway answers these itself in
// AWS; the dev server passes them through to here.
func (rt *Router) preflight(req *Request) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{
		"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
		"Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
		"Access-Control-Max-Age":       "600",
	}}
}
