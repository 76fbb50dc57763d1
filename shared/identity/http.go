package identity

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// RefreshCookie is the name of the HttpOnly refresh-token cookie.
const RefreshCookie = "matterly_refresh"

// refreshCookiePath limits the cookie to the auth routes that read it.
const refreshCookiePath = "/v1/auth"

// UserJSON is a member as the API shows it (never the password hash).
type UserJSON struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Username  string    `json:"username,omitempty"` // none until an invitation is accepted
	Role      string    `json:"role"`
	Status    string    `json:"status"` // "active" or "invited"
	Phone     string    `json:"phone,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toUserJSON(u User) UserJSON {
	status := "active"
	if !u.Active() {
		status = u.Status
	}
	return UserJSON{ID: u.ID, OrgID: u.OrgID, Name: u.Name, Email: u.Email, Username: u.Username, Role: string(u.Role),
		Status: status, Phone: u.Phone, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// OrgJSON is an org as the API shows it.
type OrgJSON struct {
	ID                        string    `json:"id"`
	Name                      string    `json:"name"`
	BusinessName              string    `json:"businessName"`
	Industry                  string    `json:"industry"`
	Timezone                  string    `json:"timezone"`
	SMSSenderName             string    `json:"smsSenderName"`
	SMSFromNumber             string    `json:"smsFromNumber"`
	TwilioMessagingServiceSID string    `json:"twilioMessagingServiceSid"`
	RequireMFA                bool      `json:"requireMfa"`
	CreatedAt                 time.Time `json:"createdAt"`
	UpdatedAt                 time.Time `json:"updatedAt"`
}

func toOrgJSON(o Org) OrgJSON {
	return OrgJSON{ID: o.ID, Name: o.Name, BusinessName: o.BusinessName, Industry: o.Industry, Timezone: o.Timezone,
		SMSSenderName: o.SMSSenderName, SMSFromNumber: o.SMSFromNumber, TwilioMessagingServiceSID: o.TwilioMessagingServiceSID,
		RequireMFA: o.RequireMFA, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

// SessionJSON answers signup, login and refresh.
type SessionJSON struct {
	User                 *UserJSON `json:"user,omitempty"`
	Org                  *OrgJSON  `json:"org,omitempty"`
	AccessToken          string    `json:"accessToken"`
	AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
}

type signupRequest struct {
	OrgName  string `json:"orgName"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Password string `json:"password"`
	Phone    string `json:"phone"`
	Industry string `json:"industry"`
	Timezone string `json:"timezone"`
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type orgPatchRequest struct {
	Name                      *string `json:"name"`
	BusinessName              *string `json:"businessName"`
	Industry                  *string `json:"industry"`
	Timezone                  *string `json:"timezone"`
	SMSSenderName             *string `json:"smsSenderName"`
	SMSFromNumber             *string `json:"smsFromNumber"`
	TwilioMessagingServiceSID *string `json:"twilioMessagingServiceSid"`
	RequireMFA                *bool   `json:"requireMfa"`
}

type userCreateRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Password string `json:"password"`
	Phone    string `json:"phone"`
}

type acceptInvitationRequest struct {
	Token    string `json:"token"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

type mfaVerifyRequest struct {
	MFAToken     string `json:"mfaToken"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recoveryCode"`
}

type mfaConfirmRequest struct {
	Code string `json:"code"`
}

type mfaDisableRequest struct {
	CurrentPassword string `json:"currentPassword"`
	Code            string `json:"code"`
}

// mfaRequiredJSON answers the login of a member with two-factor: no
// session yet, a token for the second step (POST /v1/auth/mfa).
type mfaRequiredJSON struct {
	MFARequired       bool      `json:"mfaRequired"`
	MFAToken          string    `json:"mfaToken"`
	MFATokenExpiresAt time.Time `json:"mfaTokenExpiresAt"`
}

// mfaSetupJSON answers the login of a member who must set two-factor up:
// an access token reaching only the setup routes and GET /v1/me, and no
// refresh cookie.
type mfaSetupJSON struct {
	MFASetupRequired     bool      `json:"mfaSetupRequired"`
	User                 UserJSON  `json:"user"`
	AccessToken          string    `json:"accessToken"`
	AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
}

// mfaConfirmedJSON answers turning two-factor on: the recovery codes, and
// for a setup token's holder their first full session.
type mfaConfirmedJSON struct {
	RecoveryCodes        []string   `json:"recoveryCodes"`
	User                 *UserJSON  `json:"user,omitempty"`
	AccessToken          string     `json:"accessToken,omitempty"`
	AccessTokenExpiresAt *time.Time `json:"accessTokenExpiresAt,omitempty"`
}

type resetRequest struct {
	Email string `json:"email"`
}

type resetConfirmRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"newPassword"`
}

// resetAccepted is the one answer to every reset request.
var resetAccepted = map[string]string{"message": "If that address belongs to a Matterly account, a reset link is on its way."}

type userPatchRequest struct {
	Name  *string `json:"name"`
	Role  *string `json:"role"`
	Phone *string `json:"phone"`
}

// refreshCookie sets (or, with an empty token, clears) the refresh cookie.
func refreshCookie(tok string, expires time.Time, now time.Time) string {
	maxAge := int(expires.Sub(now).Seconds())
	if tok == "" {
		maxAge = 0
	}
	return RefreshCookie + "=" + tok + "; Path=" + refreshCookiePath + "; Max-Age=" + strconv.Itoa(maxAge) +
		"; HttpOnly; Secure; SameSite=Strict"
}

// NewAuthRouter serves the auth function: login and its two-factor step,
// refresh, logout, signing out other sessions, and setting two-factor up
// (svc.Sealer seals the TOTP secrets).
func NewAuthRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	if svc.Tokens == nil {
		return nil, errNoTokenSecret
	}
	if svc.Sealer == nil {
		return nil, errNoSealer
	}
	rt := httpapi.NewRouter(routes.FnAuth, rc.Options)
	rt.Handle("POST /v1/auth/login", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in loginRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		sess, err := svc.Login(WithFrom(ctx, r.Principal), in.Login, in.Password, r.SourceIP())
		if err != nil {
			return nil, err
		}
		switch {
		case sess.MFAToken != "":
			return httpapi.JSON(http.StatusOK, mfaRequiredJSON{MFARequired: true, MFAToken: sess.MFAToken,
				MFATokenExpiresAt: svc.Now().UTC().Add(MFATokenTTL).Truncate(time.Second)}), nil
		case sess.SetupOnly:
			return httpapi.JSON(http.StatusOK, mfaSetupJSON{MFASetupRequired: true, User: toUserJSON(sess.User),
				AccessToken: sess.AccessToken, AccessTokenExpiresAt: sess.AccessExpires}), nil
		}
		return sessionResponse(svc.Now, http.StatusOK, sess, nil), nil
	})
	rt.Handle("POST /v1/auth/mfa", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in mfaVerifyRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		sess, err := svc.VerifyMFA(WithFrom(ctx, r.Principal), r.Principal, in.MFAToken, in.Code, in.RecoveryCode, r.SourceIP())
		if err != nil {
			return nil, err
		}
		return sessionResponse(svc.Now, http.StatusOK, sess, nil), nil
	})
	rt.Handle("POST /v1/me/mfa/totp", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		e, err := svc.StartTOTP(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, map[string]string{"secret": e.Secret, "otpauthUrl": e.OtpauthURL}), nil
	})
	rt.Handle("POST /v1/me/mfa/totp/confirm", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in mfaConfirmRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		c, err := svc.ConfirmTOTP(WithFrom(ctx, r.Principal), r.Principal, in.Code)
		if err != nil {
			return nil, err
		}
		body := mfaConfirmedJSON{RecoveryCodes: c.RecoveryCodes}
		if c.Session == nil {
			return httpapi.JSON(http.StatusOK, body), nil
		}
		u := toUserJSON(c.Session.User)
		body.User, body.AccessToken, body.AccessTokenExpiresAt = &u, c.Session.AccessToken, &c.Session.AccessExpires
		resp := httpapi.JSON(http.StatusOK, body)
		resp.Cookies = []string{refreshCookie(c.Session.RefreshToken, c.Session.RefreshExpiry, svc.Now())}
		return resp, nil
	})
	rt.Handle("DELETE /v1/me/mfa", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in mfaDisableRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		if err := svc.DisableMFA(ctx, r.Principal, in.CurrentPassword, in.Code, r.SourceIP()); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("POST /v1/auth/refresh", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		sess, err := svc.Refresh(WithFrom(ctx, r.Principal), r.Cookie(RefreshCookie))
		if fault.Is(err, fault.Unauthorized) {
			// The cookie is dead: tell the browser to drop it.
			return &httpapi.Response{Cookies: []string{refreshCookie("", time.Time{}, svc.Now())}}, err
		}
		if err != nil {
			return nil, err
		}
		sess.User = User{} // API.md: refresh answers {accessToken} only
		return sessionResponse(svc.Now, http.StatusOK, sess, nil), nil
	})
	rt.Handle("DELETE /v1/me/sessions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		sess, err := svc.EndOtherSessions(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		resp := httpapi.NoContent()
		resp.Cookies = []string{refreshCookie(sess.RefreshToken, sess.RefreshExpiry, svc.Now())}
		return resp, nil
	})
	registerSessions(rt, svc)
	rt.Handle("POST /v1/auth/logout", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := svc.Logout(ctx, r.Principal, r.Cookie(RefreshCookie)); err != nil {
			return nil, err
		}
		resp := httpapi.NoContent()
		resp.Cookies = []string{refreshCookie("", time.Time{}, svc.Now())}
		return resp, nil
	})
	return rt, rt.Check()
}

// NewOrgRouter serves the org function: me, org settings, members.
func NewOrgRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnOrg, rc.Options)
	rt.Handle("GET /v1/me", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		u, o, err := svc.Me(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, map[string]any{"user": toUserJSON(u), "org": toOrgJSON(o)}), nil
	})
	rt.Handle("GET /v1/org", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadOrg); err != nil {
			return nil, err
		}
		o, err := svc.Org(ctx, r.Principal.OrgID)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, toOrgJSON(o)), nil
	})
	rt.Handle("PATCH /v1/org", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageOrg); err != nil {
			return nil, err
		}
		var in orgPatchRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		o, err := svc.UpdateOrg(ctx, r.Principal, OrgPatch(in))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, toOrgJSON(o)), nil
	})
	rt.Handle("GET /v1/users", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadUsers); err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, rc.Cursors, "users", func(limit int32, start store.StartKey) ([]UserJSON, store.StartKey, error) {
			users, next, err := svc.ListUsers(ctx, r.Principal.OrgID, limit, start)
			out := make([]UserJSON, len(users))
			for i, u := range users {
				out[i] = toUserJSON(u)
			}
			return out, next, err
		})
	})
	rt.Handle("PATCH /v1/users/{userId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageUsers); err != nil {
			return nil, err
		}
		var in userPatchRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		patch := MemberPatch{Name: in.Name, Phone: in.Phone}
		if in.Role != nil {
			role := access.Role(*in.Role)
			patch.Role = &role
		}
		u, err := svc.UpdateUser(ctx, r.Principal, r.Param("userId"), patch)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, toUserJSON(u)), nil
	})
	rt.Handle("DELETE /v1/users/{userId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageUsers); err != nil {
			return nil, err
		}
		if err := svc.DeleteUser(ctx, r.Principal, r.Param("userId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	audit.Register(rt, audit.Chain{DB: svc.DB, Keys: svc.AuditKeys, Anchors: svc.AuditAnchors}, rc.Cursors)
	return rt, rt.Check()
}

// errNoTokenSecret stops a token-issuing function that was deployed without
// the token secret.
var errNoTokenSecret = errors.New("this function issues access tokens: TOKEN_SECRET_ARN is required")

// sessionResponse answers a new session: the access token in the body, the
// refresh token in its HttpOnly cookie.
func sessionResponse(now func() time.Time, status int, sess Session, org *Org) *httpapi.Response {
	body := SessionJSON{AccessToken: sess.AccessToken, AccessTokenExpiresAt: sess.AccessExpires}
	if sess.User.ID != "" {
		u := toUserJSON(sess.User)
		body.User = &u
	}
	if org != nil {
		o := toOrgJSON(*org)
		body.Org = &o
	}
	resp := httpapi.JSON(status, body)
	resp.Cookies = []string{refreshCookie(sess.RefreshToken, sess.RefreshExpiry, now())}
	return resp
}

// NewAccountsRouter serves the accounts function: the routes that
// create logins and so judge password strength (sign-up, adding or
// inviting a member, accepting an invitation). svc must issue tokens; its Strength is the password policy and
// its Mailer (nil: none) sends the notice to an address a sign-up found
// taken.
func NewAccountsRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	if svc.Tokens == nil {
		return nil, errNoTokenSecret
	}
	rt := httpapi.NewRouter(routes.FnAccounts, rc.Options)
	rt.Handle("POST /v1/auth/signup", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in signupRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		org, sess, err := svc.Signup(WithFrom(ctx, r.Principal), SignupInput{OrgName: in.OrgName, Name: in.Name, Email: in.Email,
			Username: in.Username, Password: in.Password, Phone: in.Phone, Industry: in.Industry, Timezone: in.Timezone,
			IP: r.SourceIP()})
		if err != nil {
			return nil, err
		}
		return sessionResponse(svc.Now, http.StatusCreated, sess, &org), nil
	})
	rt.Handle("POST /v1/users", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageUsers); err != nil {
			return nil, err
		}
		var in userCreateRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		u, err := svc.CreateUser(ctx, r.Principal, NewMember{Name: in.Name, Email: in.Email, Username: in.Username,
			Password: in.Password, Phone: in.Phone, Role: access.Role(in.Role)})
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusCreated, toUserJSON(u)), nil
	})
	rt.Handle("POST /v1/users/{userId}/invitation", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageUsers); err != nil {
			return nil, err
		}
		if err := svc.ResendInvitation(ctx, r.Principal, r.Param("userId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	registerAccount(rt, svc)
	rt.Handle("POST /v1/me/password", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in passwordChangeRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		sess, err := svc.ChangePassword(ctx, r.Principal, in.CurrentPassword, in.NewPassword, r.SourceIP())
		if err != nil {
			return nil, err
		}
		// Every session ended; the caller's new one rides in the cookie.
		resp := httpapi.NoContent()
		resp.Cookies = []string{refreshCookie(sess.RefreshToken, sess.RefreshExpiry, svc.Now())}
		return resp, nil
	})
	rt.Handle("POST /v1/auth/password-reset", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in resetRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		// Known and unknown addresses differ by a write and an email; no
		// answer comes sooner than the floor, so their times match.
		start := time.Now()
		err := svc.RequestPasswordReset(ctx, r.Principal, in.Email, r.SourceIP())
		if wait := svc.ResetFloor - time.Since(start); wait > 0 && !fault.Is(err, fault.Invalid) {
			time.Sleep(wait)
		}
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusAccepted, resetAccepted), nil
	})
	rt.Handle("POST /v1/auth/password-reset/confirm", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in resetConfirmRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		if err := svc.ConfirmPasswordReset(ctx, r.Principal, in.Token, in.NewPassword); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("POST /v1/auth/invitations/accept", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in acceptInvitationRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		sess, err := svc.AcceptInvitation(WithFrom(ctx, r.Principal), r.Principal, in.Token, in.Username, in.Password)
		if err != nil {
			return nil, err
		}
		return sessionResponse(svc.Now, http.StatusOK, sess, nil), nil
	})
	return rt, rt.Check()
}
