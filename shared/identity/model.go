// Package identity is sign-up, login, sessions, orgs, members and roles.
// Domain types, the DynamoDB rows that store them and the HTTP API types are
// kept apart; each has named converters.
package identity

import (
	"context"
	"errors"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Org is a tenant: one practice.
type Org struct {
	ID                        string
	Name                      string
	BusinessName              string
	Industry                  string
	Timezone                  string // IANA
	SMSSenderName             string
	SMSFromNumber             string // E.164; inbound SMS to it belong to this org
	TwilioMessagingServiceSID string
	// RequireMFA: members must sign in with two-factor (set by owners).
	RequireMFA           bool
	OwnerCount           int
	CreatedAt, UpdatedAt time.Time
}

// User is a member of an org.
type User struct {
	ID, OrgID    string
	Name         string
	Email        string
	Username     string
	Role         access.Role
	Phone        string
	PasswordHash string
	// Status is "invited" until the member accepts their invitation, ""
	// (active) after. An invited member has no username, password or
	// logins; InviteHash is the SHA-256 of their link's secret.
	Status               string
	InviteHash           string
	InviteExpires        int64
	CreatedAt, UpdatedAt time.Time
}

// Active reports whether the member may sign in (accepted any invitation).
func (u User) Active() bool { return u.Status != tenant.Invited }

// Key layout. Tenant items live under ORG#<orgId>; the login lookups and
// throttle counters are global by nature (a login names no org).
func orgPK(orgID string) string         { return tenant.PK(orgID) }
func userSK(userID string) string       { return tenant.MemberSK(userID) }
func familySK(familyID string) string   { return "RFAMILY#" + familyID }
func refreshSK(tokenID string) string   { return "REFRESH#" + tokenID }
func emailPK(email string) string       { return "LOGIN#email#" + email }
func usernamePK(username string) string { return "LOGIN#username#" + username }
func smsFromPK(number string) string    { return "SMSFROM#" + number }
func smsServicePK(sid string) string    { return "SMSSERVICE#" + sid }

const (
	orgSK    = tenant.OrgSK
	loginSK  = "LOGIN"
	userPfx  = "USER#"
	markerSK = "MARKER"
)

type orgRow struct {
	PK                        string `dynamodbav:"PK"`
	SK                        string `dynamodbav:"SK"`
	GSI1PK                    string `dynamodbav:"GSI1PK,omitempty"` // orgsIndex: every org, for the schedules
	GSI1SK                    string `dynamodbav:"GSI1SK,omitempty"`
	Type                      string `dynamodbav:"type"`
	ID                        string `dynamodbav:"id"`
	Name                      string `dynamodbav:"name"`
	BusinessName              string `dynamodbav:"businessName,omitempty"`
	Industry                  string `dynamodbav:"industry,omitempty"`
	Timezone                  string `dynamodbav:"timezone"`
	SMSSenderName             string `dynamodbav:"smsSenderName,omitempty"`
	SMSFromNumber             string `dynamodbav:"smsFromNumber,omitempty"`
	TwilioMessagingServiceSID string `dynamodbav:"twilioMessagingServiceSid,omitempty"`
	RequireMFA                bool   `dynamodbav:"requireMfa,omitempty"`
	OwnerCount                int    `dynamodbav:"ownerCount"`
	CreatedAt                 string `dynamodbav:"createdAt"`
	UpdatedAt                 string `dynamodbav:"updatedAt"`
	// DeletedAt is set when the workspace's deletion starts (privacy):
	// from then no one signs in, accepts an invitation or refreshes.
	DeletedAt string `dynamodbav:"deletedAt,omitempty"`
}

func toOrgRow(o Org) orgRow {
	return orgRow{
		PK: orgPK(o.ID), SK: orgSK, GSI1PK: orgsIndex, GSI1SK: o.ID, Type: "org", ID: o.ID, Name: o.Name, BusinessName: o.BusinessName,
		Industry: o.Industry, Timezone: o.Timezone, SMSSenderName: o.SMSSenderName, SMSFromNumber: o.SMSFromNumber,
		TwilioMessagingServiceSID: o.TwilioMessagingServiceSID, RequireMFA: o.RequireMFA, OwnerCount: o.OwnerCount,
		CreatedAt: formatTime(o.CreatedAt), UpdatedAt: formatTime(o.UpdatedAt),
	}
}

func (r orgRow) toOrg() Org {
	return Org{
		ID: r.ID, Name: r.Name, BusinessName: r.BusinessName, Industry: r.Industry, Timezone: r.Timezone,
		SMSSenderName: r.SMSSenderName, SMSFromNumber: r.SMSFromNumber, TwilioMessagingServiceSID: r.TwilioMessagingServiceSID,
		RequireMFA: r.RequireMFA, OwnerCount: r.OwnerCount, CreatedAt: parseTime(r.CreatedAt), UpdatedAt: parseTime(r.UpdatedAt),
	}
}

type userRow struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	Type         string `dynamodbav:"type"`
	ID           string `dynamodbav:"id"`
	OrgID        string `dynamodbav:"orgId"`
	Name         string `dynamodbav:"name"`
	Email        string `dynamodbav:"email"`
	Username     string `dynamodbav:"username"`
	Role         string `dynamodbav:"role"`
	Phone        string `dynamodbav:"phone,omitempty"`
	PasswordHash string `dynamodbav:"passwordHash"`
	Status       string `dynamodbav:"status,omitempty"`
	InviteHash   string `dynamodbav:"inviteHash,omitempty"`
	InviteExp    int64  `dynamodbav:"inviteExpiresAt,omitempty"`
	CreatedAt    string `dynamodbav:"createdAt"`
	UpdatedAt    string `dynamodbav:"updatedAt"`
}

func toUserRow(u User) userRow {
	return userRow{
		PK: orgPK(u.OrgID), SK: userSK(u.ID), Type: "user", ID: u.ID, OrgID: u.OrgID, Name: u.Name, Email: u.Email,
		Username: u.Username, Role: string(u.Role), Phone: u.Phone, PasswordHash: u.PasswordHash,
		Status: u.Status, InviteHash: u.InviteHash, InviteExp: u.InviteExpires,
		CreatedAt: formatTime(u.CreatedAt), UpdatedAt: formatTime(u.UpdatedAt),
	}
}

func (r userRow) toUser() User {
	return User{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, Email: r.Email, Username: r.Username, Role: access.Role(r.Role),
		Phone: r.Phone, PasswordHash: r.PasswordHash, Status: r.Status, InviteHash: r.InviteHash, InviteExpires: r.InviteExp,
		CreatedAt: parseTime(r.CreatedAt), UpdatedAt: parseTime(r.UpdatedAt),
	}
}

// loginRow maps a normalized email or username to its member.
type loginRow struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	OrgID  string `dynamodbav:"orgId"`
	UserID string `dynamodbav:"userId"`
}

// markerRow reserves a unique value (an SMS from-number) for one org.
type markerRow struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	OrgID string `dynamodbav:"orgId"`
}

// familyRow is one login session: the chain of refresh tokens rotated from
// one login. Reusing a rotated token revokes the whole family.
type familyRow struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	UserID    string `dynamodbav:"userId"`
	Revoked   bool   `dynamodbav:"revoked"`
	CreatedAt string `dynamodbav:"createdAt"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	// Where the session was last used from (sign-in, then each refresh),
	// for the member's session list.
	LastUsedAt string `dynamodbav:"lastUsedAt,omitempty"`
	IP         string `dynamodbav:"ip,omitempty"`
	UserAgent  string `dynamodbav:"userAgent,omitempty"`
}

// refreshRow is one refresh token; only a hash of its secret is stored.
type refreshRow struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	FamilyID   string `dynamodbav:"familyId"`
	UserID     string `dynamodbav:"userId"`
	SecretHash string `dynamodbav:"secretHash"`
	Used       bool   `dynamodbav:"used"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// SMSNumberOwner returns the org whose smsFromNumber is number, "" when
// none: inbound texts to that number belong to that org.
func SMSNumberOwner(ctx context.Context, db *store.DB, number string) (string, error) {
	return markerOwner(ctx, db, smsFromPK(number))
}

// MessagingServiceOwner returns the org whose twilioMessagingServiceSid is
// sid, "" when none: texts to any number of that service belong to it.
func MessagingServiceOwner(ctx context.Context, db *store.DB, sid string) (string, error) {
	return markerOwner(ctx, db, smsServicePK(sid))
}

func markerOwner(ctx context.Context, db *store.DB, pk string) (string, error) {
	var m markerRow
	if err := db.Get(ctx, pk, markerSK, &m); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	return m.OrgID, nil
}

// orgsIndex is the GSI1 partition listing every org: the schedules (SMS
// reminders) walk it. Global by nature, like the login lookups.
const orgsIndex = "ORGS"

// ListOrgs pages through the ids of all orgs.
func ListOrgs(ctx context.Context, db *store.DB, limit int32, start store.StartKey) ([]string, store.StartKey, error) {
	var rows []struct {
		ID string `dynamodbav:"id"`
	}
	next, err := db.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: orgsIndex, Forward: true, Limit: limit, StartKey: start}, &rows)
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids, next, err
}
