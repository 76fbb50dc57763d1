// Package messaging is SMS (Twilio) and email (Amazon SES) to a practice's
// clients, with the consent that governs both: a message to someone who
// opted out is a legal problem for the practice (TCPA, carrier A2P rules),
// so none may ever leave.
//
// The rule is enforced where it cannot be raced: a message is stored only
// in a transaction that checks the recipient's consent item, and the worker
// claims a message for sending in a transaction that checks it again. A STOP
// flips that item in its own transaction, so a send queued a moment before
// the STOP is blocked by the claim.
//
// Consent is per org and address (an E.164 phone number or an email
// address), not per client: it belongs to the person holding the number,
// survives a client's erasure, and binds every later send.
package messaging

import (
	"strings"
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Channels.
const (
	SMS   = "sms"
	Email = "email"
)

// Message kinds, as the API names them.
const (
	KindAppointmentReminder = "appointment_reminder"
	KindPaymentReminder     = "payment_reminder"
	KindCaseUpdate          = "case_update"
	KindGeneral             = "general"
)

// Kinds are the message kinds a caller may send.
var Kinds = []string{KindAppointmentReminder, KindPaymentReminder, KindCaseUpdate, KindGeneral}

// Message statuses. Outbound: queued → sending → sent → delivered, or
// failed / undelivered / blocked (the recipient had opted out when the
// worker claimed it). Inbound messages are received.
const (
	StatusQueued      = "queued"
	StatusSending     = "sending"
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
	StatusFailed      = "failed"
	StatusBlocked     = "blocked"
	StatusReceived    = "received"
)

// Directions.
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// Message is one SMS or email, either way.
type Message struct {
	store.Keys
	ID        string `dynamodbav:"id" json:"id"`
	Channel   string `dynamodbav:"channel" json:"channel"`
	Direction string `dynamodbav:"direction" json:"direction"`
	Kind      string `dynamodbav:"kind,omitempty" json:"kind,omitempty"`
	ClientID  string `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	MatterID  string `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	To        string `dynamodbav:"to" json:"to"`
	From      string `dynamodbav:"from,omitempty" json:"from,omitempty"`
	Subject   string `dynamodbav:"subject,omitempty" json:"subject,omitempty"`
	Body      string `dynamodbav:"body" json:"body"`
	// Segments is what an SMS costs (outbound SMS only).
	Segments *Segments `dynamodbav:"segments,omitempty" json:"segments,omitempty"`
	Status   string    `dynamodbav:"status" json:"status"`
	// ErrorCode and Error say why a message failed (the provider's code,
	// e.g. Twilio 21610, or ours, e.g. "opted_out").
	ErrorCode  string    `dynamodbav:"errorCode,omitempty" json:"errorCode,omitempty"`
	Error      string    `dynamodbav:"error,omitempty" json:"error,omitempty"`
	ProviderID string    `dynamodbav:"providerId,omitempty" json:"providerId,omitempty"` // Twilio's SM..., SES's message id
	Attempts   int       `dynamodbav:"attempts" json:"attempts"`
	SentBy     string    `dynamodbav:"sentBy,omitempty" json:"sentBy,omitempty"` // member id; "" for reminders and inbound
	CreatedAt  time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
	SentAt     time.Time `dynamodbav:"sentAt,omitempty" json:"sentAt,omitzero"`
	// SendAfter holds an automated message until quiet hours end.
	SendAfter time.Time `dynamodbav:"sendAfter,omitempty" json:"sendAfter,omitzero"`
}

// Automated reports a message the schedules made (reminders, case
// updates): quiet hours apply to it, not to a member's own texts.
func (m Message) Automated() bool { return m.SentBy == "" && m.Direction == Outbound }

// NotBefore reports whether m must still wait at now.
func (m Message) NotBefore(now time.Time) bool { return now.Before(m.SendAfter) }

// Consent states. An address with no consent item may be messaged: the
// client gave the practice the number; an opt-out is what must bind.
const (
	ConsentIn  = "opted_in"
	ConsentOut = "opted_out"
)

// Consent is the current state of one address.
type Consent struct {
	store.Keys
	Channel   string    `dynamodbav:"channel" json:"channel"`
	Address   string    `dynamodbav:"address" json:"address"`
	State     string    `dynamodbav:"state" json:"state"`
	Method    string    `dynamodbav:"method,omitempty" json:"method,omitempty"` // how State was set (see ClientOptedOut)
	Version   int64     `dynamodbav:"version" json:"version"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Consent change methods, as the log records them.
const (
	MethodKeyword     = "keyword"     // an SMS keyword (STOP, START, ...)
	MethodWebForm     = "web_form"    // the client, on a form of the practice's
	MethodStaff       = "staff"       // a member, told by the client
	MethodImport      = "import"      // records brought from another system
	MethodUnsubscribe = "unsubscribe" // the signed link or one-click header of an email
	MethodProvider    = "provider"    // the provider refused the number as unsubscribed (Twilio 21610)
	// MethodStaffOverride is an owner or admin opting in an address whose
	// owner opted out themselves, with a reason and written evidence.
	MethodStaffOverride = "staff_override"
	// MethodDoubleOptIn is the client confirming an opt-in on the page a
	// confirmation request linked to.
	MethodDoubleOptIn = "double_opt_in"
)

// ConsentMethods are the methods a member may record through the API.
var ConsentMethods = []string{MethodWebForm, MethodStaff, MethodImport, MethodStaffOverride}

// ConsentChange is one entry of the append-only consent log.
type ConsentChange struct {
	store.Keys
	ID       string `dynamodbav:"id" json:"id"`
	Channel  string `dynamodbav:"channel" json:"channel"`
	Address  string `dynamodbav:"address" json:"address"`
	State    string `dynamodbav:"state" json:"state"` // the state after the change
	Method   string `dynamodbav:"method" json:"method"`
	Keyword  string `dynamodbav:"keyword,omitempty" json:"keyword,omitempty"`
	ActorID  string `dynamodbav:"actorId,omitempty" json:"actorId,omitempty"`
	ClientID string `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	// MessageID is our message (or the email) that carried the change;
	// ProviderID the provider's id of it (Twilio's MessageSid).
	MessageID  string    `dynamodbav:"messageId,omitempty" json:"messageId,omitempty"`
	ProviderID string    `dynamodbav:"providerId,omitempty" json:"providerId,omitempty"`
	Note       string    `dynamodbav:"note,omitempty" json:"note,omitempty"`
	Reason     string    `dynamodbav:"reason,omitempty" json:"reason,omitempty"`     // why a staff_override was made
	Evidence   string    `dynamodbav:"evidence,omitempty" json:"evidence,omitempty"` // the written consent it rests on
	At         time.Time `dynamodbav:"at" json:"at"`
}

// Settings are an org's messaging settings.
type Settings struct {
	store.Keys `json:"-"`
	// ReminderLeadMinutes is how long before a booking its reminder goes out.
	ReminderLeadMinutes int `dynamodbav:"reminderLeadMinutes" json:"reminderLeadMinutes"`
	// Quiet hours, HH:MM in the org's time zone: no reminder or case update
	// goes out between them.
	QuietStart string `dynamodbav:"quietStart" json:"quietHoursStart"`
	QuietEnd   string `dynamodbav:"quietEnd" json:"quietHoursEnd"`
	// PaymentReminders turns reminders for overdue invoices on.
	PaymentReminders bool `dynamodbav:"paymentReminders" json:"paymentReminders"`
	// FromEmail is the address the org's email goes from: only on a domain
	// verified for the org (POST /v1/messaging/email-domains).
	FromEmail string `dynamodbav:"fromEmail,omitempty" json:"fromEmail,omitempty"`
	// ReplyToEmail is where replies go (any address the firm reads); it
	// matters most when email goes from the platform's address.
	ReplyToEmail string    `dynamodbav:"replyToEmail,omitempty" json:"replyToEmail,omitempty"`
	UpdatedAt    time.Time `dynamodbav:"updatedAt,omitempty" json:"updatedAt,omitzero"`
}

// DefaultSettings apply until an org saves its own.
var DefaultSettings = Settings{ReminderLeadMinutes: 24 * 60, QuietStart: "21:00", QuietEnd: "08:00", PaymentReminders: true}

// Key layout.
func consentSK(channel, address string) string { return "CONSENT#" + channel + "#" + address }
func consentLogPrefix(channel, address string) string {
	return "CONSENTLOG#" + channel + "#" + address + "#"
}
func messageSK(id string) string { return "MSG#" + id }

const settingsSK = "MSGSETTINGS"

// conversationPK lists a client's messages (GSI1); an inbound message from
// an address no client has goes under the address.
func conversationPK(orgID, clientID, address string) string {
	if clientID != "" {
		return tenant.PK(orgID) + "#CLIENT#" + clientID + "#MSGS"
	}
	return tenant.PK(orgID) + "#ADDR#" + address + "#MSGS"
}

// statusPK indexes messages by status (GSI2), so the schedule finds the
// queued ones a lost enqueue left behind.
func statusPK(orgID, status string) string { return tenant.PK(orgID) + "#MSGS#" + status }

func (m *Message) setKeys(orgID string) {
	m.Keys = store.Keys{PK: tenant.PK(orgID), SK: messageSK(m.ID), Type: "message",
		GSI1PK: conversationPK(orgID, m.ClientID, m.counterpart()), GSI1SK: m.CreatedAt.UTC().Format(sortTime) + "#" + m.ID,
		GSI2PK: statusPK(orgID, m.Status), GSI2SK: m.CreatedAt.UTC().Format(sortTime) + "#" + m.ID}
}

// sortTime is a fixed-width time, so index keys sort in time order
// (inbound ids are Twilio's SIDs, which do not).
const sortTime = "2006-01-02T15:04:05.000000000Z"

// counterpart is the client's side of the message.
func (m *Message) counterpart() string {
	if m.Direction == Inbound {
		return m.From
	}
	return m.To
}

// normalEmail is the form consent keys use for an address: case folded, so
// Ann@Example.com and ann@example.com are one person.
func normalEmail(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }
