package calendar

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Graph is Microsoft's login and Graph API as the calendar needs them
// (shared/providers/msgraph over net/http; an httptest stand-in in the
// tests). It is owned here so the domain says what it needs and nothing
// more. Access tokens are passed per call: the service keeps them.
type Graph interface {
	// AuthorizeURL is the authorization-code request with PKCE (S256).
	AuthorizeURL(state, challenge, redirectURI string) string
	// Exchange redeems a code with its PKCE verifier.
	Exchange(ctx context.Context, code, verifier, redirectURI string) (Tokens, error)
	// Refresh redeems a refresh token; ErrInvalidGrant when refused.
	Refresh(ctx context.Context, refreshToken string) (Tokens, error)
	Me(ctx context.Context, access string) (Account, error)
	Calendars(ctx context.Context, access string) ([]RemoteCalendar, error)
	// Delta reads one page of a calendar's calendarView delta: link is the
	// stored deltaLink or a nextLink, "" to start over in [from, to).
	// ErrSyncReset when Graph dropped the sync state (410, syncStateNotFound).
	Delta(ctx context.Context, access, calendarID, link string, from, to time.Time) (DeltaPage, error)
	Subscribe(ctx context.Context, access string, req SubscribeRequest) (Subscription, error)
	// Renew extends a subscription; ErrNotFound when Graph removed it.
	Renew(ctx context.Context, access, id string, expires time.Time) (Subscription, error)
	Unsubscribe(ctx context.Context, access, id string) error
	// CreateEvent creates an event in the default calendar; a retry with the
	// same TransactionID finds the first one.
	CreateEvent(ctx context.Context, access string, e OutEvent) (Event, error)
	UpdateEvent(ctx context.Context, access, id string, e OutEvent) (Event, error)
	// DeleteEvent deletes an event; one already gone is no error.
	DeleteEvent(ctx context.Context, access, id string) error
}

// Tokens are an OAuth token response.
type Tokens struct {
	Access    string
	Refresh   string
	ExpiresIn time.Duration // from when Microsoft answered
}

// Account is the signed-in Microsoft user (GET /me).
type Account struct {
	ID    string
	Email string
	Name  string
}

// RemoteCalendar is one of the member's calendars, own or shared with them.
type RemoteCalendar struct {
	ID        string
	Name      string
	Owner     string // the owner's address
	IsDefault bool
	CanEdit   bool
}

// Person is an organizer or attendee.
type Person struct {
	Name     string `dynamodbav:"name,omitempty" json:"name,omitempty"`
	Email    string `dynamodbav:"email,omitempty" json:"email,omitempty"`
	Response string `dynamodbav:"response,omitempty" json:"response,omitempty"` // attendees: accepted, declined, ...
}

// Event is a Graph event as synced (one occurrence of a series each).
type Event struct {
	ID               string
	Removed          bool // @removed in a delta: delete it
	Subject          string
	Start, End       time.Time // UTC
	TimeZone         string    // the event's original zone
	AllDay           bool
	Location         string
	OnlineMeetingURL string
	Attendees        []Person
	Organizer        Person
	ShowAs           string // free, tentative, busy, oof, workingElsewhere, unknown
	Sensitivity      string // normal, personal, private, confidential
	SeriesMasterID   string
	Type             string // singleInstance, occurrence, exception, seriesMaster
	TransactionID    string // set by whoever created it: a booking id for write-backs
	LastModified     time.Time
}

// DeltaPage is one page of a delta: a NextLink to follow, or the DeltaLink
// to keep for next time.
type DeltaPage struct {
	Events    []Event
	NextLink  string
	DeltaLink string
}

// SubscribeRequest is a change-notification subscription to a calendar's
// events.
type SubscribeRequest struct {
	CalendarID      string
	NotificationURL string // also the lifecycle notification URL
	ClientState     string
	Expires         time.Time
}

// Subscription is a created or renewed subscription.
type Subscription struct {
	ID      string
	Expires time.Time
}

// OutEvent is a booking written to Outlook.
type OutEvent struct {
	TransactionID string
	Subject       string
	Start, End    time.Time
	TimeZone      string // IANA; sent as the start/end zone
	Location      string
	Body          string // HTML
	Sensitivity   string
}

// Provider errors the service acts on.
var (
	ErrInvalidGrant = errors.New("msgraph: the refresh token was refused (invalid_grant)")
	ErrUnauthorized = errors.New("msgraph: the access token was refused (401)")
	ErrSyncReset    = errors.New("msgraph: the sync state is gone (410)")
	ErrNotFound     = errors.New("msgraph: not found (404)")
)

// GraphError is any other refusal or failure; Retryable for 429, 5xx and
// transport failures. Message is Graph's error code and message, never
// event content.
type GraphError struct {
	Op        string
	Status    int
	Retryable bool
	Message   string
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("msgraph %s: status %d: %s", e.Op, e.Status, e.Message)
}
