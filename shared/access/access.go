// Package access defines the roles of an org's members and what each may do.
// The permission matrix lives here, in one place, so handlers ask "may this
// role do that" instead of listing roles themselves.
package access

// Role is a member's role in their org.
type Role string

// The roles, from most to least privileged for org administration.
const (
	Owner    Role = "owner"
	Admin    Role = "admin"
	Attorney Role = "attorney"
	Staff    Role = "staff"
	Billing  Role = "billing"
)

// Roles lists every valid role.
var Roles = []Role{Owner, Admin, Attorney, Staff, Billing}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// rank orders roles for "nobody grants more than they have": owner > admin >
// everyone else. Attorney, staff and billing are different jobs, not ranks.
func (r Role) rank() int {
	switch r {
	case Owner:
		return 3
	case Admin:
		return 2
	case Attorney, Staff, Billing:
		return 1
	}
	return 0
}

// AtLeast reports whether r is at least as privileged as other.
func (r Role) AtLeast(other Role) bool { return r.rank() >= other.rank() }

// Permission is an action guarded by role.
type Permission string

// The permissions. Each capability adds its own here, so the whole matrix
// reads in one place.
const (
	ReadOrg     Permission = "org:read"
	ManageOrg   Permission = "org:manage"
	ReadUsers   Permission = "users:read"
	ManageUsers Permission = "users:manage"

	// CRM: clients, matters, notes, bookings and their activity log.
	ReadClients   Permission = "clients:read"
	WriteClients  Permission = "clients:write" // create and edit
	DeleteClients Permission = "clients:delete"
	ReadMatters   Permission = "matters:read"
	WriteMatters  Permission = "matters:write"
	// DeleteMatters is deleting any matter; DeleteAssignedMatters only the
	// matters the member is on (responsible attorney or team).
	DeleteMatters         Permission = "matters:delete"
	DeleteAssignedMatters Permission = "matters:delete-assigned"
	ReadNotes             Permission = "notes:read"
	WriteNotes            Permission = "notes:write"  // add notes, edit and delete one's own
	ManageNotes           Permission = "notes:manage" // edit and delete anyone's
	ReadBookings          Permission = "bookings:read"
	WriteBookings         Permission = "bookings:write"
	ReadActivity          Permission = "activity:read"

	// Documents. Billing works with invoices, not privileged files.
	ReadDocuments   Permission = "documents:read"
	WriteDocuments  Permission = "documents:write" // upload documents and new versions
	DeleteDocuments Permission = "documents:delete"

	// Trust accounting (client funds, ABA Model Rule 1.15). Staff see
	// nothing of trust; attorneys see the ledgers of the matters they are on.
	ReadTrust        Permission = "trust:read"        // accounts, journals, client ledgers, reconciliations
	WriteTrust       Permission = "trust:write"       // accounts, entries, reversals, clearing, sign-offs
	ReadMatterLedger Permission = "trust:read-matter" // a matter's ledger; attorneys only for their matters

	// Payments: the org's Stripe connected account, invoices, payments.
	ManagePayments Permission = "payments:manage" // connect Stripe, read the account
	ReadInvoices   Permission = "invoices:read"   // invoices and payments
	WriteInvoices  Permission = "invoices:write"  // create, send, void

	// AI credits: the billing dashboard reads them; owners top up.
	ReadCredits  Permission = "credits:read"
	TopUpCredits Permission = "credits:topup"

	// AI: summaries, text-to-speech and drafting (they spend the org's credits).
	UseAI Permission = "ai:use"

	// Messaging: SMS and email to clients, and the consent log behind them.
	SendMessages    Permission = "messages:send"
	ReadMessages    Permission = "messages:read"
	ReadConsent     Permission = "consent:read"
	RecordConsent   Permission = "consent:record"   // a staff action: the client said so by phone or in person
	ManageMessaging Permission = "messaging:manage" // reminder lead time, quiet hours

	// E-signatures: sending documents to Dropbox Sign, cancel and remind.
	SendSignatures Permission = "esign:send"
	ReadSignatures Permission = "esign:read"

	// The audit log: reading and verifying it (nobody edits it).
	ReadAudit Permission = "audit:read"
	// Team chat: every member talks in the threads they belong to; owners
	// and admins read every thread's full log for compliance monitoring.
	UseChat            Permission = "chat:use"
	ReadChatCompliance Permission = "chat:compliance"
	// Calendar: connecting one's own Microsoft calendar, reading members'
	// events (others' private ones as busy only) and availability.
	UseCalendar Permission = "calendar:use"
	// Privacy: exports of the workspace or a client, erasure of a client,
	// restriction of processing and the retention policy.
	ManagePrivacy Permission = "privacy:manage"
	// DeleteOrg is deleting the whole workspace.
	DeleteOrg Permission = "org:delete"
)

// Consent beyond opting out: OptInConsent is recording an opt-in (or asking
// the client to confirm one); OverrideConsent is making sendable, on
// written evidence, an address whose owner opted out themselves (STOP,
// unsubscribe, a spam complaint).
const (
	OptInConsent    Permission = "consent:opt-in"
	OverrideConsent Permission = "consent:override"
)

// Role groups of the matrix below.
var (
	everyone = []Role{Owner, Admin, Attorney, Staff, Billing}
	caseTeam = []Role{Owner, Admin, Attorney, Staff} // everyone who works on matters
	lawyers  = []Role{Owner, Admin, Attorney}
	trustees = []Role{Owner, Admin, Billing} // who keeps the trust books
)

// matrix is the one permission matrix: permission → roles allowed.
var matrix = map[Permission][]Role{
	ReadOrg:     everyone,
	ManageOrg:   {Owner, Admin},
	ReadUsers:   everyone,
	ManageUsers: {Owner, Admin},

	ReadClients:           everyone,
	WriteClients:          caseTeam,
	DeleteClients:         lawyers,
	ReadMatters:           everyone,
	WriteMatters:          caseTeam,
	DeleteMatters:         lawyers,
	DeleteAssignedMatters: caseTeam,
	ReadNotes:             caseTeam,
	WriteNotes:            caseTeam,
	ManageNotes:           lawyers,
	ReadBookings:          everyone,
	WriteBookings:         caseTeam,
	ReadActivity:          caseTeam,

	ReadDocuments:   caseTeam,
	WriteDocuments:  caseTeam,
	DeleteDocuments: lawyers,

	ReadTrust:        trustees,
	WriteTrust:       trustees,
	ReadMatterLedger: {Owner, Admin, Billing, Attorney},

	ManagePayments: {Owner, Billing},
	ReadInvoices:   {Owner, Admin, Billing, Attorney},
	WriteInvoices:  trustees,

	ReadCredits:  trustees,
	TopUpCredits: {Owner},

	// Only the people who work on matters send their documents to the AI.
	UseAI: caseTeam,

	// Billing sends payment reminders; everyone who talks to clients texts them.
	SendMessages:    everyone,
	ReadMessages:    everyone,
	ReadConsent:     everyone,
	RecordConsent:   everyone,
	ManageMessaging: {Owner, Admin},

	// Anyone who hears "stop" records it (RecordConsent); billing never
	// makes anyone reachable again.
	OptInConsent:    caseTeam,
	OverrideConsent: {Owner, Admin},

	// Sending a document for signature speaks for the firm: lawyers only.
	SendSignatures: lawyers,
	ReadSignatures: caseTeam,

	ReadAudit:          {Owner, Admin},
	UseChat:            everyone,
	ReadChatCompliance: {Owner, Admin},
	// Everyone has a calendar and schedules with colleagues.
	UseCalendar: everyone,
	// Exports carry everything, erasure destroys it: owners and admins only.
	ManagePrivacy: {Owner, Admin},
	DeleteOrg:     {Owner},
}

// Can reports whether role r holds permission p.
func Can(r Role, p Permission) bool {
	for _, allowed := range matrix[p] {
		if r == allowed {
			return true
		}
	}
	return false
}

// RolesWith returns the roles that hold permission p.
func RolesWith(p Permission) []Role { return append([]Role(nil), matrix[p]...) }

// Matrix returns a copy of the permission matrix, for documentation and tests.
func Matrix() map[Permission][]Role {
	out := make(map[Permission][]Role, len(matrix))
	for p, rs := range matrix {
		out[p] = append([]Role(nil), rs...)
	}
	return out
}
