package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/routes"
)

// fakeMembers holds the current role of each "org/user"; the fakeVerifier's
// u1 of o1 is a staff member unless a test says otherwise.
type fakeMembers map[string]access.Role

func (f fakeMembers) Member(_ context.Context, orgID, userID string) (caller.Member, bool, error) {
	if f == nil {
		return caller.Member{Role: access.Staff, Item: "u1"}, true, nil
	}
	if f["fail"] != "" {
		return caller.Member{}, false, errors.New("table unreachable")
	}
	r, ok := f[orgID+"/"+userID]
	return caller.Member{Role: r, Item: userID}, ok, nil
}

// TestRouterMembership checks the router asks for the caller's current
// membership on every authenticated request: a removed member's token is
// refused as an invalid one, a demoted member acts with the role they hold
// now, and the handler finds the member item in its context.
func TestRouterMembership(t *testing.T) {
	tests := []struct {
		name       string
		members    fakeMembers
		key        string
		wantStatus int
		wantRole   access.Role
	}{
		{name: "current member", members: fakeMembers{"o1/u1": access.Staff}, key: "GET /v1/me", wantStatus: 204, wantRole: access.Staff},
		{name: "removed member", members: fakeMembers{}, key: "GET /v1/me", wantStatus: 401},
		{name: "removed member writes", members: fakeMembers{}, key: "PATCH /v1/org", wantStatus: 401},
		{name: "promoted member", members: fakeMembers{"o1/u1": access.Admin}, key: "PATCH /v1/org", wantStatus: 204, wantRole: access.Admin},
		{name: "demoted member", members: fakeMembers{"o1/u1": access.Billing}, key: "GET /v1/me", wantStatus: 204, wantRole: access.Billing},
		{name: "table down", members: fakeMembers{"fail": access.Owner}, key: "GET /v1/me", wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}, Members: tt.members})
			for _, r := range routes.ForFunction(routes.FnOrg) {
				rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) {
					if err := req.Require(access.ManageOrg); req.Event.RouteKey == "PATCH /v1/org" && err != nil {
						return nil, err
					}
					m, ok := MemberFrom(ctx)
					if !ok || m.Item != "u1" || m.Role != req.Principal.Role {
						t.Errorf("member in context = %+v, %v (principal %+v)", m, ok, req.Principal)
					}
					if req.Principal.Role != tt.wantRole {
						t.Errorf("principal role = %s, want %s", req.Principal.Role, tt.wantRole)
					}
					return nil, nil
				})
			}
			if err := rt.Check(); err != nil {
				t.Fatal(err)
			}
			method, _, _ := stringsCut(tt.key)
			ev := events.APIGatewayV2HTTPRequest{RouteKey: tt.key, Headers: map[string]string{"authorization": "Bearer good"}}
			ev.RequestContext.HTTP.Method = method
			resp, _ := rt.Serve(context.Background(), ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus == 401 {
				var p Problem
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Detail != errInvalidToken.Message {
					t.Errorf("removed member's problem = %s, want the invalid-token answer", resp.Body)
				}
				if resp.Headers["WWW-Authenticate"] == "" {
					t.Error("no WWW-Authenticate on 401")
				}
			}
		})
	}
}

// TestAuthenticateMembers checks the entry point outside routers (the
// speech function) gets the same answers.
func TestAuthenticateMembers(t *testing.T) {
	if _, _, err := Authenticate(context.Background(), fakeVerifier{}, fakeMembers{}, "Bearer good"); fault.As(err) == nil || fault.As(err).Kind != fault.Unauthorized {
		t.Errorf("removed member: err = %v, want 401", err)
	}
	p, m, err := Authenticate(context.Background(), fakeVerifier{}, fakeMembers{"o1/u1": access.Attorney}, "Bearer good")
	if err != nil || p.Role != access.Attorney || m.Role != access.Attorney {
		t.Errorf("demoted member: %+v %+v %v", p, m, err)
	}
	if _, _, err := Authenticate(context.Background(), fakeVerifier{}, nil, "Bearer good"); err == nil {
		t.Error("no membership check: a token was accepted unchecked")
	}
}

// TestRouterMFASetupScope: a two-factor-setup token reaches the routes the
// table flags for it (GET /v1/me) and nothing else: every other route of
// the function answers 403 saying setup is required, before its handler
// runs; a full token is unaffected. Authenticate, which knows no route,
// refuses the setup token everywhere.
func TestRouterMFASetupScope(t *testing.T) {
	rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}, Members: fakeMembers(nil)})
	for _, r := range routes.ForFunction(routes.FnOrg) {
		rt.Handle(r.Key(), func(ctx context.Context, req *Request) (*Response, error) {
			if req.Principal.Scope != "" && req.Event.RouteKey != "GET /v1/me" {
				t.Errorf("%s ran with a setup token", req.Event.RouteKey)
			}
			return nil, nil
		})
	}
	if err := rt.Check(); err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.ForFunction(routes.FnOrg) {
		for _, tok := range []string{"good", "setup"} {
			t.Run(r.Key()+" "+tok, func(t *testing.T) {
				ev := events.APIGatewayV2HTTPRequest{RouteKey: r.Key(), Headers: map[string]string{"authorization": "Bearer " + tok}}
				ev.RequestContext.HTTP.Method = r.Method
				resp, _ := rt.Serve(context.Background(), ev)
				want := 204
				if tok == "setup" && !r.MFASetup {
					want = 403
				}
				if resp.StatusCode != want {
					t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, want, resp.Body)
				}
				if want == 403 {
					var p Problem
					if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Detail != errMFASetupRequired.Message {
						t.Errorf("problem = %s, want the setup-required answer", resp.Body)
					}
				}
			})
		}
	}
	if _, _, err := Authenticate(context.Background(), fakeVerifier{}, fakeMembers(nil), "Bearer setup"); fault.As(err) == nil || fault.As(err).Kind != fault.Forbidden {
		t.Errorf("Authenticate with a setup token: err = %v, want 403", err)
	}
}

// TestRouterCheckNeedsMembers checks a function cannot forget the
// membership check: a router with authenticated routes and no Members
// fails Check; one with public routes only needs none.
func TestRouterCheckNeedsMembers(t *testing.T) {
	rt := NewRouter(routes.FnOrg, Options{Verifier: fakeVerifier{}})
	for _, r := range routes.ForFunction(routes.FnOrg) {
		rt.Handle(r.Key(), nil)
	}
	if err := rt.Check(); err == nil {
		t.Error("Check passed a router with authenticated routes and no membership check")
	}
	pub := NewRouter(routes.FnStripeWebhook, Options{})
	for _, r := range routes.ForFunction(routes.FnStripeWebhook) {
		pub.Handle(r.Key(), nil)
	}
	if err := pub.Check(); err != nil {
		t.Errorf("public-only router: %v", err)
	}
}

func stringsCut(key string) (string, string, bool) {
	for i := range key {
		if key[i] == ' ' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}
