// Package routes is the one route table of the app API. The CDK app turns it
// into API Gateway routes and integrations, the dev server into its local
// router, and each function dispatches on the route key API Gateway sets
// ("METHOD /path/{param}"), so a route is listed exactly once.
package routes

import "strings"

// Route is one HTTP API route served by one Lambda function.
type Route struct {
	Method   string // GET, POST, PUT, PATCH, DELETE
	Path     string // API Gateway path template, e.g. /v1/users/{userId}
	Function string // the functions/<name> that serves it
	Public   bool   // true when no access token is required
	// MFASetup routes also take a two-factor-setup token
	// (caller.ScopeMFASetup); every other route refuses it with 403.
	MFASetup bool
	// FunctionURL routes are served in AWS by the function's own Lambda
	// function URL, not the HTTP API: provider webhooks, which check the
	// provider's signature and need no API Gateway in front.
	FunctionURL bool
	// Stream routes answer with a streamed body (a function URL in
	// RESPONSE_STREAM mode); their function is not an httpapi router.
	Stream bool
}

// Key is the API Gateway route key, "GET /v1/users/{userId}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Table lists every app API route: the capabilities' route lists, each kept
// in its own file. Order does not matter for matching: literal segments
// always win over parameters, as in API Gateway.
var Table = concat(identityRoutes, crmRoutes, documentRoutes, trustRoutes, paymentRoutes, webhookRoutes, messagingRoutes, twilioRoutes, aiRoutes, speechRoutes, esignRoutes, auditRoutes, chatRoutes, calendarRoutes, privacyRoutes)

func concat(lists ...[]Route) []Route {
	var out []Route
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Functions returns the distinct function names of the table, in first-seen order.
func Functions() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range Table {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}

// ForFunction returns the routes one function serves.
func ForFunction(name string) []Route {
	var out []Route
	for _, r := range Table {
		if r.Function == name {
			out = append(out, r)
		}
	}
	return out
}

// Match finds the route for a request path the way API Gateway does: the most
// specific template wins (literal segments before {params}). It returns the
// route, the path parameters, and whether another method exists for the path
// (so callers can answer 405 instead of 404).
func Match(method, path string) (route Route, params map[string]string, pathKnown bool) {
	segs := split(path)
	bestScore := -1
	for _, r := range Table {
		p, score, ok := matchPath(split(r.Path), segs)
		if !ok {
			continue
		}
		pathKnown = true
		if r.Method != method || score <= bestScore {
			continue
		}
		route, params, bestScore = r, p, score
	}
	return route, params, pathKnown
}

func split(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// matchPath scores a match by its number of literal segments.
func matchPath(tmpl, segs []string) (map[string]string, int, bool) {
	if len(tmpl) != len(segs) {
		return nil, 0, false
	}
	var params map[string]string
	score := 0
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return nil, 0, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = segs[i]
			continue
		}
		if t != segs[i] {
			return nil, 0, false
		}
		score++
	}
	return params, score, true
}
