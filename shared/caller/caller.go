// Package caller names who makes a request or a change: the verified
// principal of an access token (org, user, role) and where the call came
// from (IP, User-Agent). The router builds one per authenticated request,
// the token package issues and verifies its identity part, and the activity
// log records it with every change. It is a leaf: it imports nothing of the
// project but shared/access, so none of those three has to import another.
package caller

import "github.com/matterly/matterly/shared/access"

// Caller is who makes a request or a change, and from where. OrgID, UserID
// and Role come from a verified access token (Role as the caller's current
// membership holds it); IP and UserAgent from the request. System actors
// (a webhook, a worker) fill in what describes them.
type Caller struct {
	OrgID     string
	UserID    string
	Role      access.Role
	IP        string
	UserAgent string
	// Scope narrows what the token reaches: "" is everything the role
	// allows; ScopeMFASetup only the two-factor enrolment routes and
	// GET /v1/me (a member whose org requires two-factor and who has none).
	Scope string
	// SessionID is the login session (refresh token family) the access
	// token was issued to, "" for tokens that name none: a member's
	// session list marks the caller's own.
	SessionID string
}

// ScopeMFASetup is the scope of a member who must set up two-factor
// before anything else.
const ScopeMFASetup = "mfa_setup"

// MaxUserAgent bounds what a caller-chosen header can make us store.
const MaxUserAgent = 512

// From returns c as calling from ip with userAgent, the header clipped to
// MaxUserAgent bytes.
func (c Caller) From(ip, userAgent string) Caller {
	if len(userAgent) > MaxUserAgent {
		userAgent = userAgent[:MaxUserAgent]
	}
	c.IP, c.UserAgent = ip, userAgent
	return c
}

// Member is a caller's membership as the table holds it now: the role (which
// may differ from an older token's) and the attributes the check read (the
// router's reads only the role and the status, as a raw attribute map).
type Member struct {
	Role access.Role
	Item any // the store's raw item; whoever reads it decides its type
}
