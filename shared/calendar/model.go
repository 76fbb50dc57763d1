// Package calendar is Microsoft 365 calendar sync: a member connects their
// Microsoft account (authorization code with PKCE), their chosen calendars
// are synced through Graph's calendarView delta, kept current by change
// notifications (and a 15-minute safety net), bookings made in Matterly are
// written to the organizer's and attendees' Outlook calendars and Outlook
// edits flow back, and the synced events and bookings answer events and
// availability queries.
//
// OAuth tokens are sealed with shared/envelope under the purpose
// "msgraph:<orgId>:<userId>" and never logged.
package calendar

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Connection statuses.
const (
	StatusConnected         = "connected"
	StatusReconnectRequired = "reconnect_required"
)

// Calendar is one of a connection's calendars as the API shows it.
type Calendar struct {
	ID    string `dynamodbav:"id" json:"id"`
	Name  string `dynamodbav:"name" json:"name"`
	Owner string `dynamodbav:"owner" json:"owner"`
	// Shared is a calendar another mailbox shares with the member.
	Shared    bool `dynamodbav:"shared" json:"shared"`
	Sync      bool `dynamodbav:"sync" json:"sync"`
	IsDefault bool `dynamodbav:"isDefault" json:"-"`
}

// Account is the connected Microsoft account.
type AccountView struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Status is GET /v1/calendar/microsoft.
type Status struct {
	Connected  bool         `json:"connected"`
	Account    *AccountView `json:"account,omitempty"`
	Calendars  []Calendar   `json:"calendars"`
	LastSyncAt *time.Time   `json:"lastSyncAt,omitempty"`
	Status     string       `json:"status"` // connected, reconnect_required, disconnected
}

// connRow is a member's connection: the account and the calendars chosen.
type connRow struct {
	store.Keys
	UserID     string     `dynamodbav:"userId"`
	AccountID  string     `dynamodbav:"accountId"`
	Email      string     `dynamodbav:"email"`
	Name       string     `dynamodbav:"name"`
	Status     string     `dynamodbav:"status"`
	Calendars  []Calendar `dynamodbav:"calendars"`
	LastSyncAt *time.Time `dynamodbav:"lastSyncAt,omitempty"`
	CreatedAt  time.Time  `dynamodbav:"createdAt"`
	UpdatedAt  time.Time  `dynamodbav:"updatedAt"`
}

// tokenRow holds a connection's sealed tokens. Version counts refreshes:
// a refresh is written only over the version it started from, and a lease
// lets one refresh run at a time, so a refresh token is never sent after
// the one that replaced it was issued.
type tokenRow struct {
	store.Keys
	Sealed     string    `dynamodbav:"sealed"`          // envelope of tokenPair
	ExpiresAt  time.Time `dynamodbav:"accessExpiresAt"` // not the table's TTL attribute: the tokens outlive the access token
	Version    int64     `dynamodbav:"version"`
	LeaseUntil time.Time `dynamodbav:"leaseUntil"`
}

type tokenPair struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

// syncRow is a synced calendar's state: its delta link and subscription.
// Every one is listed in the global calendars index (for the safety-net
// schedule and renewals), ordered by subscription expiry.
type syncRow struct {
	store.Keys
	OrgID      string `dynamodbav:"orgId"`
	UserID     string `dynamodbav:"userId"`
	CalendarID string `dynamodbav:"calendarId"`
	DeltaLink  string `dynamodbav:"deltaLink,omitempty"`
	// NextLink is where a sync that did not finish resumes: the
	// @odata.nextLink of the last page written. The final deltaLink
	// replaces it ("" then).
	NextLink string `dynamodbav:"nextLink,omitempty"`
	// FullGen names the full sync NextLink belongs to ("" for a delta):
	// its events carry it, so once through, the events without it are the
	// ones Graph no longer lists, whichever run wrote the pages.
	FullGen        string    `dynamodbav:"fullGen,omitempty"`
	SubscriptionID string    `dynamodbav:"subscriptionId,omitempty"`
	SubExpires     time.Time `dynamodbav:"subExpires"`
	ClientState    string    `dynamodbav:"clientState,omitempty"`
	SyncedAt       time.Time `dynamodbav:"syncedAt"`
	// QueuedUntil is set by a notification that queued a sync: later ones
	// queue none until the sync starts (and clears it) or it passes.
	QueuedUntil time.Time `dynamodbav:"queuedUntil,omitempty"`
}

// subRow maps a Graph subscription id to its calendar: a notification
// names only the subscription, so this is the one item outside any org's
// partition (its clientState is checked against the notification's).
type subRow struct {
	store.Keys
	OrgID       string `dynamodbav:"orgId"`
	UserID      string `dynamodbav:"userId"`
	CalendarID  string `dynamodbav:"calendarId"`
	ClientState string `dynamodbav:"clientState"`
}

// eventRow is a synced event (one occurrence of a series each).
type eventRow struct {
	store.Keys
	UserID           string    `dynamodbav:"userId"`
	CalendarID       string    `dynamodbav:"calendarId"`
	EventID          string    `dynamodbav:"eventId"`
	Subject          string    `dynamodbav:"subject,omitempty"`
	Start            time.Time `dynamodbav:"start"`
	End              time.Time `dynamodbav:"end"`
	TimeZone         string    `dynamodbav:"timeZone,omitempty"`
	AllDay           bool      `dynamodbav:"allDay"`
	Location         string    `dynamodbav:"location,omitempty"`
	OnlineMeetingURL string    `dynamodbav:"onlineMeetingUrl,omitempty"`
	Attendees        []Person  `dynamodbav:"attendees,omitempty"`
	Organizer        Person    `dynamodbav:"organizer"`
	ShowAs           string    `dynamodbav:"showAs,omitempty"`
	Sensitivity      string    `dynamodbav:"sensitivity,omitempty"`
	SeriesMasterID   string    `dynamodbav:"seriesMasterId,omitempty"`
	Kind             string    `dynamodbav:"kind,omitempty"` // Graph's type
	BookingID        string    `dynamodbav:"bookingId,omitempty"`
	LastModified     time.Time `dynamodbav:"lastModified"`
	SyncGen          string    `dynamodbav:"syncGen,omitempty"` // the full sync that last listed it
}

// hoursRow is a member's working hours.
type hoursRow struct {
	store.Keys
	WorkingHours
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// stateRow is a pending connect: single use (deleted by the callback),
// holding the PKCE verifier, which never leaves the server.
type stateRow struct {
	store.Keys
	UserID   string `dynamodbav:"userId"`
	Verifier string `dynamodbav:"verifier"`
	// Binding is the SHA-256 (base64url) of the connect cookie's value:
	// only the browser that started the connect may finish it.
	Binding string    `dynamodbav:"binding"`
	Expires time.Time `dynamodbav:"validUntil"`
	TTL     int64     `dynamodbav:"expiresAt"` // store.AttrTTL: DynamoDB removes unused states
}

// accountRow claims a Microsoft account (its Graph /me id) for the one
// member who connected it, across every org: a second member connecting
// the same account is refused.
type accountRow struct {
	store.Keys
	OrgID  string `dynamodbav:"orgId"`
	UserID string `dynamodbav:"userId"`
}

// writeRow links a booking to the Outlook event written for one member.
type writeRow struct {
	store.Keys
	BookingID string    `dynamodbav:"bookingId"`
	UserID    string    `dynamodbav:"userId"`
	EventID   string    `dynamodbav:"eventId"`
	Written   time.Time `dynamodbav:"written"` // the booking's updatedAt last written
}

// Keys, all under the org's partition but the subscription map.
const (
	connPf    = "CALCONN#"
	tokenPf   = "CALTOKEN#"
	syncPf    = "CALSYNC#"
	eventPf   = "CALEVT#"
	hoursPf   = "CALHOURS#"
	statePf   = "CALSTATE#"
	writePf   = "CALWRITE#"
	subPf     = "MSGRAPHSUB#"
	subSK     = "MSGRAPHSUB"
	acctPf    = "MSACCOUNT#"
	acctSK    = "MSACCOUNT"
	syncIndex = "MSCALENDARS" // GSI1 partition of every synced calendar
)

func connSK(userID string) string        { return connPf + userID }
func tokenSK(userID string) string       { return tokenPf + userID }
func syncSK(userID, calID string) string { return syncPf + userID + "#" + calID }
func eventSK(userID, id string) string   { return eventPf + userID + "#" + id }
func hoursSK(userID string) string       { return hoursPf + userID }
func stateSK(nonce string) string        { return statePf + nonce }
func writeSK(bookingID, userID string) string {
	return writePf + bookingID + "#" + userID
}
func subPK(id string) string { return subPf + id }

func acctPK(accountID string) string { return acctPf + accountID }

// claimedBy is the condition of writing or deleting an account's claim:
// none yet, or the member's own.
func claimedBy(orgID, userID string) *store.Cond {
	return &store.Cond{Expr: "attribute_not_exists(PK) OR (orgId = :o AND userId = :u)",
		Values: map[string]types.AttributeValue{":o": store.S(orgID), ":u": store.S(userID)}}
}

// eventsPK is the GSI1 partition of a member's events, by start time.
func eventsPK(orgID, userID string) string { return tenant.PK(orgID) + "#CALEVTS#" + userID }

func timeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (r *syncRow) setKeys() {
	r.Keys = store.Keys{PK: tenant.PK(r.OrgID), SK: syncSK(r.UserID, r.CalendarID), Type: "calendarSync",
		GSI1PK: syncIndex, GSI1SK: timeKey(r.SubExpires) + "#" + r.OrgID + "#" + r.UserID + "#" + r.CalendarID}
}

func (r *eventRow) setKeys(orgID string) {
	r.Keys = store.Keys{PK: tenant.PK(orgID), SK: eventSK(r.UserID, r.EventID), Type: "calendarEvent",
		GSI1PK: eventsPK(orgID, r.UserID), GSI1SK: timeKey(r.Start) + "#" + r.EventID}
}
