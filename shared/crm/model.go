// Package crm is clients, matters, notes and bookings: the records a
// practice keeps about the people it serves, with every change written to
// the activity log in the same transaction. Each type is both the DynamoDB
// item (dynamodbav) and its API form (json); key attributes never leave the
// server.
package crm

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// List is a list of strings that is left out of the item when empty (the
// table stores no empty lists) and shown as [] in the API, never null.
type List []string

// MarshalJSON writes an empty list as [].
func (l List) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(l))
}

// stored is l as the item keeps it: nil when empty, so omitempty drops it.
func (l List) stored() List {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Client kinds.
const (
	Person  = "person"
	Company = "company"
)

// Address is a postal address: structured, or free-form text when the
// API is given a JSON string (and then shown as one).
type Address struct {
	Line1      string `dynamodbav:"line1,omitempty" json:"line1"`
	Line2      string `dynamodbav:"line2,omitempty" json:"line2,omitempty"`
	City       string `dynamodbav:"city,omitempty" json:"city"`
	Region     string `dynamodbav:"region,omitempty" json:"region,omitempty"` // state, province or county
	PostalCode string `dynamodbav:"postalCode,omitempty" json:"postalCode,omitempty"`
	Country    string `dynamodbav:"country,omitempty" json:"country"` // ISO 3166-1 alpha-2
	Text       string `dynamodbav:"text,omitempty" json:"-"`          // a free-form address
}

// plainAddress is Address without its JSON methods.
type plainAddress Address

// UnmarshalJSON takes an address object or a free-form string.
func (a *Address) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*a = Address{}
		return json.Unmarshal(b, &a.Text)
	}
	return json.Unmarshal(b, (*plainAddress)(a))
}

// MarshalJSON shows a free-form address as the string it was given.
func (a Address) MarshalJSON() ([]byte, error) {
	if a.Text != "" {
		return json.Marshal(a.Text)
	}
	return json.Marshal(plainAddress(a))
}

// Client is a person or company the practice serves.
type Client struct {
	store.Keys
	ID          string   `dynamodbav:"id" json:"id"`
	Kind        string   `dynamodbav:"kind" json:"kind"`
	Name        string   `dynamodbav:"name" json:"name"`
	Email       string   `dynamodbav:"email,omitempty" json:"email,omitempty"`
	Phone       string   `dynamodbav:"phone,omitempty" json:"phone,omitempty"` // E.164
	Address     *Address `dynamodbav:"address,omitempty" json:"address,omitempty"`
	Tags        List     `dynamodbav:"tags,omitempty" json:"tags"`
	OpenMatters int      `dynamodbav:"openMatters" json:"openMatters"` // matters not closed; kept by the matter writes
	// Restriction and Hold are the privacy capability's (shared/privacy):
	// processing restricted at the client's request (GDPR art. 18), and the
	// legal hold of an erased client's identity. Client edits keep both.
	Restriction *Restriction `dynamodbav:"restriction,omitempty" json:"restriction,omitempty"`
	Hold        *Hold        `dynamodbav:"privacyHold,omitempty" json:"privacyHold,omitempty"`
	CreatedBy   string       `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt   time.Time    `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt   time.Time    `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Restriction is a client's restriction of processing: while Restricted,
// nothing of the client goes to a processor (AI, SMS, email, e-signature).
type Restriction struct {
	Restricted bool      `dynamodbav:"restricted" json:"restricted"`
	Reason     string    `dynamodbav:"reason,omitempty" json:"reason,omitempty"`
	By         string    `dynamodbav:"by" json:"by"`
	At         time.Time `dynamodbav:"at" json:"at"`
}

// Hold marks a record kept after its client's erasure, for the law only.
type Hold struct {
	Category string `dynamodbav:"category" json:"category"`
	Reason   string `dynamodbav:"reason" json:"reason"`
	Until    string `dynamodbav:"until" json:"until"` // YYYY-MM-DD
}

// Matter statuses. Open and pending matters count as open for the rule that
// a client with open matters cannot be deleted.
const (
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusClosed  = "closed"
)

// Matter is a case or engagement for a client.
type Matter struct {
	store.Keys
	ID                    string `dynamodbav:"id" json:"id"`
	ClientID              string `dynamodbav:"clientId" json:"clientId"`
	Title                 string `dynamodbav:"title" json:"title"`
	PracticeArea          string `dynamodbav:"practiceArea,omitempty" json:"practiceArea,omitempty"`
	Status                string `dynamodbav:"status" json:"status"`
	ResponsibleAttorneyID string `dynamodbav:"responsibleAttorneyId,omitempty" json:"responsibleAttorneyId,omitempty"`
	Team                  List   `dynamodbav:"team,omitempty" json:"team"` // member ids working on the matter
	// TeamGrants names, for each team member, who put them on the team:
	// membership granted by oneself (or of unknown origin, from before
	// grants were kept) never widens access (OnMatter).
	TeamGrants    map[string]string `dynamodbav:"teamGrants,omitempty" json:"-"`
	Description   string            `dynamodbav:"description,omitempty" json:"description,omitempty"`
	OpenedOn      string            `dynamodbav:"openedOn" json:"openedOn"`                     // YYYY-MM-DD
	ClosedOn      string            `dynamodbav:"closedOn,omitempty" json:"closedOn,omitempty"` // YYYY-MM-DD
	DocumentCount int               `dynamodbav:"documentCount" json:"documentCount"`           // kept by the documents capability
	// ClientUpdates is how the client hears of status changes: "none"
	// (the default), "sms" or "email" (the messaging capability sends them).
	ClientUpdates string    `dynamodbav:"clientUpdates,omitempty" json:"clientUpdates"`
	CreatedBy     string    `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt     time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt     time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
	// Hold is set by the privacy capability on a matter kept after its
	// client's erasure (trust records): it says so, and until when.
	Hold *Hold `dynamodbav:"privacyHold,omitempty" json:"privacyHold,omitempty"`
}

// Client update channels of a matter.
const (
	UpdatesNone  = "none"
	UpdatesSMS   = "sms"
	UpdatesEmail = "email"
)

// OnMatter reports whether member userID works on m, as access rules
// count it: the responsible attorney, and team members someone else (an
// owner, an admin, the responsible attorney, or whoever opened the matter)
// put on the team. A place one gave oneself widens nothing.
func (m Matter) OnMatter(userID string) bool {
	if userID == "" {
		return false
	}
	if m.ResponsibleAttorneyID == userID {
		return true
	}
	by, ok := m.TeamGrants[userID]
	return ok && by != userID && slices.Contains(m.Team, userID)
}

// grantTeam records who put each member of m's team there: members already
// on before keep their grant, new ones are granted by by.
func (m *Matter) grantTeam(before Matter, by string) {
	grants := map[string]string{}
	for _, id := range m.Team {
		if g, ok := before.TeamGrants[id]; ok && slices.Contains(before.Team, id) {
			grants[id] = g
		} else if !slices.Contains(before.Team, id) {
			grants[id] = by
		}
	}
	m.TeamGrants = grants
	if len(grants) == 0 {
		m.TeamGrants = nil
	}
}

// Note is a free-text note on a client or a matter.
type Note struct {
	store.Keys
	ID        string    `dynamodbav:"id" json:"id"`
	ClientID  string    `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"` // set for client notes and matter notes alike
	MatterID  string    `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"` // set for matter notes
	Body      string    `dynamodbav:"body" json:"body"`
	AuthorID  string    `dynamodbav:"authorId" json:"authorId"`
	CreatedAt time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Booking is an appointment with a client.
type Booking struct {
	store.Keys
	ID          string    `dynamodbav:"id" json:"id"`
	ClientID    string    `dynamodbav:"clientId" json:"clientId"`
	MatterID    string    `dynamodbav:"matterId,omitempty" json:"matterId,omitempty"`
	Title       string    `dynamodbav:"title" json:"title"`
	StartsAt    time.Time `dynamodbav:"startsAt" json:"startsAt"`
	EndsAt      time.Time `dynamodbav:"endsAt" json:"endsAt"`
	Timezone    string    `dynamodbav:"timezone" json:"timezone"` // IANA; where the meeting's local times are shown and reminders are timed
	Location    string    `dynamodbav:"location,omitempty" json:"location,omitempty"`
	VideoURL    string    `dynamodbav:"videoUrl,omitempty" json:"videoUrl,omitempty"`
	Attendees   List      `dynamodbav:"attendees,omitempty" json:"attendees"` // member ids
	Description string    `dynamodbav:"description,omitempty" json:"description,omitempty"`
	SMSReminder bool      `dynamodbav:"smsReminder" json:"smsReminder"`
	// Status is "canceled" once the organizer deleted the booking's event
	// in their Outlook calendar (shared/calendar); "" otherwise.
	Status    string    `dynamodbav:"status,omitempty" json:"status,omitempty"`
	CreatedBy string    `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Key layout: items under the org's partition, with index partitions per
// list (see the Query in each list function).
const (
	clientPfx  = "CLIENT#"
	matterPfx  = "MATTER#"
	notePfx    = "NOTE#"
	bookingPfx = "BOOKING#"
)

// ClientSK and MatterSK are the sort keys of a client and of a matter.
func ClientSK(id string) string { return clientPfx + id }

// MatterSK is the sort key of a matter, for capabilities that attach items to one.
func MatterSK(id string) string { return matterPfx + id }

// AttrTrustEntries is the client and matter attribute the trust capability
// keeps by ADDs: how many trust ledger entries name the client or matter.
// A client or matter with trust records cannot be deleted: the records must
// be kept for audits (and a reversal may still need it), so it is closed
// instead. It is in neither API type, so edits never write it.
const AttrTrustEntries = "trustEntries"

// noTrustRecords is the delete condition that no trust entry names the item.
func noTrustRecords(c *store.Cond) *store.Cond {
	c.Expr += " AND (attribute_not_exists(#trust) OR #trust = :zero)"
	c.Names["#trust"] = AttrTrustEntries
	c.Values[":zero"] = store.N(0)
	return c
}

// errTrustRecords refuses deleting a client or matter with trust records.
func errTrustRecords(what string) error {
	return fault.Refused("trust.records-held", "This %s has trust account records, which must be kept for audits; it cannot be deleted. Close it instead.", what)
}

// AttrDocumentCount is the matter attribute the documents capability keeps
// with conditional ADDs; a matter with documents cannot be deleted.
const AttrDocumentCount = "documentCount"

// CountDocuments is the transaction item by which the documents capability
// adds n (1 or -1) to a matter's document count. It holds only while the
// matter exists.
func CountDocuments(db *store.DB, orgID, matterID string, n int64) types.TransactWriteItem {
	return db.Update(tenant.PK(orgID), MatterSK(matterID), "ADD #docs :n", store.Exists(),
		map[string]string{"#docs": AttrDocumentCount}, map[string]types.AttributeValue{":n": store.N(n)})
}

// AddDocument is CountDocuments' +1 for a document Matterly takes in (an
// upload, an AI draft): it also holds only while the matter is not kept
// after its client's erasure, so an erasure landing between a document's
// read of its matter and its write is caught (Refusal says why). A signed
// copy of an earlier request (CountDocuments) is a signature's record and
// still lands.
func AddDocument(db *store.DB, orgID, matterID string) types.TransactWriteItem {
	c := writable()
	return db.Update(tenant.PK(orgID), MatterSK(matterID), "ADD #docs :n", &c,
		map[string]string{"#docs": AttrDocumentCount}, map[string]types.AttributeValue{":n": store.N(1)})
}

// CountClientTrust is the transaction item by which the trust capability
// adds n entries to a client's trust entry count. It holds only while the
// client exists.
func CountClientTrust(db *store.DB, orgID, clientID string, n int64) types.TransactWriteItem {
	return db.Update(tenant.PK(orgID), ClientSK(clientID), "ADD #trust :n", store.Exists(),
		map[string]string{"#trust": AttrTrustEntries}, map[string]types.AttributeValue{":n": store.N(n)})
}

// CountMatterTrust is the transaction item by which the trust capability
// adds n entries to a matter's trust entry count. It holds only while the
// matter exists and is clientID's.
func CountMatterTrust(db *store.DB, orgID, matterID, clientID string, n int64) types.TransactWriteItem {
	return db.Update(tenant.PK(orgID), MatterSK(matterID), "ADD #trust :n", &store.Cond{
		Expr:   "attribute_exists(PK) AND #client = :client",
		Names:  map[string]string{"#client": "clientId"},
		Values: map[string]types.AttributeValue{":client": store.S(clientID)},
	}, map[string]string{"#trust": AttrTrustEntries}, map[string]types.AttributeValue{":n": store.N(n)})
}

func clientsByNamePK(orgID string) string { return tenant.PK(orgID) + "#CLIENTS" }
func mattersOfClientPK(orgID, clientID string) string {
	return tenant.PK(orgID) + "#CLIENT#" + clientID + "#MATTERS"
}
func mattersByStatusPK(orgID, status string) string { return tenant.PK(orgID) + "#MATTERS#" + status }
func notesPK(orgID, parentKind, parentID string) string {
	return tenant.PK(orgID) + "#" + parentKind + "#" + parentID + "#NOTES"
}
func bookingsPK(orgID string) string { return tenant.PK(orgID) + "#BOOKINGS" }
func bookingsOfClientPK(orgID, clientID string) string {
	return tenant.PK(orgID) + "#CLIENT#" + clientID + "#BOOKINGS"
}

// BookingsStarting is the query of the org's bookings that start from from
// through to (whole seconds, both inclusive), soonest first, on the org's
// bookings index (GSI1): for capabilities that act on upcoming bookings
// (messaging's reminders).
func BookingsStarting(orgID string, from, to time.Time) store.Query {
	return store.Query{Index: store.IndexGSI1, PK: bookingsPK(orgID), SKFrom: timeKey(from), SKTo: timeKey(to) + "~", Forward: true}
}

// timeKey formats a time for a sort key: fixed width, so strings sort as times.
func timeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (c *Client) setKeys(orgID string) {
	c.Tags = c.Tags.stored()
	c.Keys = store.Keys{PK: tenant.PK(orgID), SK: ClientSK(c.ID), Type: "client"}
}

// Contact entries: an inbound text or an unsubscribe names an address, and
// messaging finds the clients it belongs to with a Query on the org's
// partition (sort key prefix ContactPrefix). They are items of their own,
// written in the client's transactions, like the name entries.
type contactEntry struct {
	store.Keys
	ClientID string `dynamodbav:"clientId"`
}

// Contact channels.
const (
	ContactPhone = "phone"
	ContactEmail = "email"
)

// ContactPrefix is the sort key prefix of the contact entries of one phone
// number or (lower-cased) email address.
func ContactPrefix(channel, address string) string { return "CONTACT#" + channel + "#" + address + "#" }

// ClientsWithContact are the ids of up to limit clients whose contact
// entries name address (a phone number, or an email in any case) on
// channel. An entry may trail an edit or a delete of its client: callers
// read the client before acting on it.
func ClientsWithContact(ctx context.Context, db *store.DB, orgID, channel, address string, limit int32) ([]string, error) {
	if channel == ContactEmail {
		address = strings.ToLower(address)
	}
	var entries []contactEntry
	if _, err := db.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: ContactPrefix(channel, address), Limit: limit}, &entries); err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ClientID
	}
	return ids, nil
}

// contacts are the contact entries of c: its phone and email.
func contacts(c Client) map[string]string {
	out := map[string]string{}
	if c.Phone != "" {
		out[ContactPrefix(ContactPhone, c.Phone)+c.ID] = c.ID
	}
	if c.Email != "" {
		out[ContactPrefix(ContactEmail, strings.ToLower(c.Email))+c.ID] = c.ID
	}
	return out
}

// contactWrites moves c's contact entries from before (nil for a new
// client) to after (nil for a deleted one).
func (s *Service) contactWrites(orgID string, before, after *Client) ([]types.TransactWriteItem, error) {
	old, next := map[string]string{}, map[string]string{}
	if before != nil {
		old = contacts(*before)
	}
	if after != nil {
		next = contacts(*after)
	}
	var items []types.TransactWriteItem
	for sk := range old {
		if _, keep := next[sk]; !keep {
			items = append(items, s.DB.Delete(tenant.PK(orgID), sk, nil))
		}
	}
	for sk, id := range next {
		if _, had := old[sk]; had {
			continue
		}
		put, err := s.DB.Put(contactEntry{Keys: store.Keys{PK: tenant.PK(orgID), SK: sk, Type: "clientContact"}, ClientID: id}, nil)
		if err != nil {
			return nil, err
		}
		items = append(items, put)
	}
	return items, nil
}

// nameEntry is one search entry of a client's name: the folded name from
// one of its words on, in the org's name index (GSI1), sorted by that text.
type nameEntry struct {
	store.Keys
	ClientID string `dynamodbav:"clientId"`
	Folded   string `dynamodbav:"folded"` // the whole folded name, to list each client once
}

// nameSep ends an entry's text in its sort key. It sorts before every
// character a name can hold (names have no control characters), so "zoe"
// comes before "zoe adams".
const nameSep = "\x1f"

func nameEntrySK(clientID string, i int) string {
	return "CLIENTNAME#" + clientID + "#" + strconv.Itoa(i)
}

// nameEntries are the search entries of client c.
func nameEntries(orgID string, c Client) []nameEntry {
	folded := fold(c.Name)
	var out []nameEntry
	for i, start := range nameStarts(folded) {
		out = append(out, nameEntry{Keys: store.Keys{PK: tenant.PK(orgID), SK: nameEntrySK(c.ID, i), Type: "clientName",
			GSI1PK: clientsByNamePK(orgID), GSI1SK: start + nameSep + c.ID}, ClientID: c.ID, Folded: folded})
	}
	return out
}

func (m *Matter) setKeys(orgID string) {
	m.Team = m.Team.stored()
	m.Keys = store.Keys{PK: tenant.PK(orgID), SK: MatterSK(m.ID), Type: "matter",
		GSI1PK: mattersOfClientPK(orgID, m.ClientID), GSI1SK: m.Status + "#" + m.ID,
		GSI2PK: mattersByStatusPK(orgID, m.Status), GSI2SK: m.ID}
}

func (n *Note) setKeys(orgID string) {
	kind, parent := "CLIENT", n.ClientID
	if n.MatterID != "" {
		kind, parent = "MATTER", n.MatterID
	}
	n.Keys = store.Keys{PK: tenant.PK(orgID), SK: notePfx + n.ID, Type: "note",
		GSI1PK: notesPK(orgID, kind, parent), GSI1SK: n.ID}
}

func (b *Booking) setKeys(orgID string) {
	b.Attendees = b.Attendees.stored()
	start := timeKey(b.StartsAt) + "#" + b.ID
	b.Keys = store.Keys{PK: tenant.PK(orgID), SK: bookingPfx + b.ID, Type: "booking",
		GSI1PK: bookingsPK(orgID), GSI1SK: start,
		GSI2PK: bookingsOfClientPK(orgID, b.ClientID), GSI2SK: start}
}
