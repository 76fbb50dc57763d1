package routes

// Function names of sign-up, orgs, users and roles.
const (
	FnAccounts = "accounts" // creating logins: sign-up, new and invited members (the password policy and account emails live here)
	FnAuth     = "auth"     // login, refresh, logout, listing and signing out sessions
	FnOrg      = "org"      // me, org settings, members and roles
)

var identityRoutes = []Route{
	{Method: "POST", Path: "/v1/auth/signup", Function: FnAccounts, Public: true},
	{Method: "POST", Path: "/v1/auth/login", Function: FnAuth, Public: true},
	{Method: "POST", Path: "/v1/auth/refresh", Function: FnAuth, Public: true},
	{Method: "POST", Path: "/v1/auth/logout", Function: FnAuth},
	{Method: "DELETE", Path: "/v1/me/sessions", Function: FnAuth},
	{Method: "GET", Path: "/v1/me/sessions", Function: FnAuth},
	{Method: "DELETE", Path: "/v1/me/sessions/{sessionId}", Function: FnAuth},
	{Method: "POST", Path: "/v1/auth/invitations/accept", Function: FnAccounts, Public: true},
	{Method: "POST", Path: "/v1/auth/password-reset", Function: FnAccounts, Public: true},
	{Method: "POST", Path: "/v1/auth/password-reset/confirm", Function: FnAccounts, Public: true},
	// Two-factor: the sign-in's second step, enrolment (which a member of
	// an org requiring two-factor reaches with a setup token) and turning
	// it off. Served by auth, the one function that opens TOTP secrets.
	{Method: "POST", Path: "/v1/auth/mfa", Function: FnAuth, Public: true},
	{Method: "POST", Path: "/v1/me/mfa/totp", Function: FnAuth, MFASetup: true},
	{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Function: FnAuth, MFASetup: true},
	{Method: "DELETE", Path: "/v1/me/mfa", Function: FnAuth},

	{Method: "GET", Path: "/v1/me", Function: FnOrg, MFASetup: true},
	{Method: "PATCH", Path: "/v1/me", Function: FnAccounts},
	{Method: "DELETE", Path: "/v1/me", Function: FnAccounts},
	{Method: "POST", Path: "/v1/me/password", Function: FnAccounts},
	{Method: "POST", Path: "/v1/me/email/confirm", Function: FnAccounts, Public: true}, // the emailed link is the credential
	{Method: "GET", Path: "/v1/org", Function: FnOrg},
	{Method: "PATCH", Path: "/v1/org", Function: FnOrg},
	{Method: "GET", Path: "/v1/users", Function: FnOrg},
	{Method: "POST", Path: "/v1/users", Function: FnAccounts},
	{Method: "POST", Path: "/v1/users/{userId}/invitation", Function: FnAccounts},
	{Method: "PATCH", Path: "/v1/users/{userId}", Function: FnOrg},
	{Method: "DELETE", Path: "/v1/users/{userId}", Function: FnOrg},
}
