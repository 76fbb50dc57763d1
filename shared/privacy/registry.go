// Package privacy is the data subject's rights over what the practice
// holds: export (portability), erasure of a client with the legal holds the
// law imposes, restriction of processing, and retention. It works from ONE
// registry of entity types (Types): each says where its items live, which of
// them concern a client, what an export shows of them, what erasing a client
// does to them and which legal hold, if any, keeps them. A capability adds
// its items with one Register call (see types.go); export, erasure and the
// retention run then cover them with no other change.
package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// Row is one item as an export shows it: its attributes by name, key
// attributes and the Type's Omit list removed.
type Row map[string]any

// Str is attribute name of r as a string ("" when absent or not a string).
func (r Row) Str(name string) string {
	s, _ := r[name].(string)
	return s
}

// Subject is the client an export or an erasure is about: what identifies
// the rows that concern them.
type Subject struct {
	ClientID string
	Email    string // lower-cased
	Phone    string
	Matters  map[string]bool   // the client's matter ids
	Closed   map[string]string // closedOn (YYYY-MM-DD) of the client's closed matters
}

// Of reports whether r belongs to the subject by its clientId or, for
// items of a matter (summaries), its matterId.
func (s Subject) Of(r Row) bool {
	if id := r.Str("clientId"); id != "" {
		return id == s.ClientID
	}
	return s.Matters[r.Str("matterId")]
}

// Erasure is what erasing a client does to the rows that concern them
// (held rows excepted: a Hold keeps them as they are).
type Erasure int

// The erasures.
const (
	Delete Erasure = iota // the item goes
	Redact                // the Redact attributes are blanked, the rest stays (a message's metadata)
	Keep                  // nothing: the audit trail (activity entries carry ids, never content)
)

// Hold is a legal obligation to keep a type's items after the client asked
// for erasure (GDPR art. 17(3)(b), CCPA's legal-obligation exception).
type Hold struct {
	Category string // "invoices", "trust records", ...
	Reason   string // the law, in a sentence
	// Applies, when set, says whether r is held at all (a matter is held
	// only while trust records name it).
	Applies func(r Row) bool
	// Until is the last day (YYYY-MM-DD) the law keeps r; "" when r's hold
	// cannot be dated from r and the subject (then Years after erasure).
	Until func(r Row, s Subject) string
	Years int
}

// until is the end of the hold of r, erased on day today.
func (h Hold) until(r Row, s Subject, today string) string {
	if h.Until != nil {
		if u := h.Until(r, s); u != "" {
			return u
		}
	}
	return addYears(today, h.Years)
}

// applies reports whether h holds r.
func (h *Hold) applies(r Row) bool { return h != nil && (h.Applies == nil || h.Applies(r)) }

// Type is one exportable and erasable entity type.
type Type struct {
	// Name names the type's file in an export (<Name>.json) and its count
	// in the manifest and in an erasure's answer.
	Name string
	// SKPrefix and ItemType find the items: under the org's partition, sort
	// key starting with SKPrefix and attribute type equal to ItemType.
	SKPrefix, ItemType string
	// Omit are attributes never exported (secrets, provider internals).
	Omit []string
	// StaffData are attributes, beyond StaffAttrs, that hold staff
	// members' personal data; a client-scope export leaves them out.
	StaffData []string
	// OrgOnly types are part of a workspace export only (members,
	// reconciliations), and never erased with a client.
	OrgOnly bool
	// OwnOrgErasure types are left by a workspace deletion's sweep to
	// the capability's own eraser (Service.OrgErasers), which may finish
	// them later, in another function: the calendar's worker, which holds
	// the tokens its connections need to remove what they wrote to
	// Outlook, erases the calendar's rows after the sweep has ended.
	OwnOrgErasure bool
	// Concerns reports whether r is about the subject; nil is Subject.Of.
	Concerns func(r Row, s Subject) bool
	// CSV, when set, are the columns of a CSV copy (<Name>.csv), for the
	// accountant's tools (trust journal and ledgers).
	CSV []string
	// File, when set, names the bytes to export with r under documents/:
	// the zip path, the S3 key and version id.
	File func(r Row) (path, key, versionID string, ok bool)
	// NoExport types are erased but not exported (search entries, which
	// repeat what the client's own record holds).
	NoExport bool
	// Erase is what a client's erasure does to the type's rows; Redact
	// lists the attributes it blanks.
	Erase  Erasure
	Redact []string
	// Purge, when set, removes what goes with a deleted row beyond its
	// item: a document's versions and every S3 object version of its bytes.
	Purge func(ctx context.Context, p Purger, orgID string, r Row) error
	// Deleted, when set, is the domain event (its activity action too) a
	// row's deletion by an erasure, the retention run or a workspace
	// deletion announces, as the capability's own delete does
	// ("booking.deleted": the calendar removes the booking's copies from
	// members' Outlook calendars). Its entry is written in the delete's
	// transaction, so the event goes out if and only if the row went.
	// EntityType names the row's kind in the entry.
	Deleted, EntityType string
	// Hold, when set, keeps the type's rows through an erasure until the
	// law lets them go; the retention run then deletes them.
	Hold *Hold
	// Expires, when set, is when the retention run deletes r whatever the
	// client asked (zero: never on its own).
	Expires func(r Row, p Policy) time.Time
}

// Purger is what a Purge may delete with: items by sort key prefix and S3
// objects, every version, by key prefix.
type Purger interface {
	DeleteItems(ctx context.Context, orgID, skPrefix string) error
	DeleteObjects(ctx context.Context, keyPrefix string) error
}

var (
	mu       sync.RWMutex
	registry []Type
)

// Register adds a type to the registry; a capability calls it once (from
// an init function, or types.go here). A repeated name or a type without
// prefix is a programming error.
func Register(t Type) {
	mu.Lock()
	defer mu.Unlock()
	if t.Name == "" || t.SKPrefix == "" || t.ItemType == "" {
		panic("privacy: Register needs Name, SKPrefix and ItemType")
	}
	for _, have := range registry {
		if have.Name == t.Name {
			panic(fmt.Sprintf("privacy: type %q registered twice", t.Name))
		}
	}
	registry = append(registry, t)
}

// Types returns the registered types in registration order.
func Types() []Type {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Clone(registry)
}

// concerns applies t's Concerns.
func (t Type) concerns(r Row, s Subject) bool {
	if t.OrgOnly {
		return false
	}
	if t.Concerns != nil {
		return t.Concerns(r, s)
	}
	return s.Of(r)
}

// StaffAttrs are the attributes, of any type, that hold a staff member's
// personal data: the address and browser a change was made from (activity
// entries), a session's device. A client's export is the client's data:
// it names the staff member who acted (actorId) and nothing more about
// them, so these are left out of every row of a client-scope export (a
// workspace export, for the owner, keeps them).
var StaffAttrs = []string{"ip", "userAgent", "device", "browser", "os"}

// forClient drops the staff data from r, a row of a client-scope export.
func (t Type) forClient(r Row) Row {
	for _, k := range StaffAttrs {
		delete(r, k)
	}
	for _, k := range t.StaffData {
		delete(r, k)
	}
	return r
}

// keyAttrs are never part of an exported row.
var keyAttrs = []string{store.AttrPK, store.AttrSK, store.AttrGSI1PK, store.AttrGSI1SK, store.AttrGSI2PK, store.AttrGSI2SK, "type", store.AttrTTL}

// decode turns an item into t's exported row: numbers stay exact
// (json.Number), keys and t.Omit are dropped.
func (t Type) decode(item map[string]types.AttributeValue) (Row, error) {
	var raw map[string]any
	if err := attributevalue.UnmarshalMapWithOptions(item, &raw, func(o *attributevalue.DecoderOptions) { o.UseNumber = true }); err != nil {
		return nil, fmt.Errorf("privacy: decode %s item: %w", t.Name, err)
	}
	for _, k := range keyAttrs {
		delete(raw, k)
	}
	for _, k := range t.Omit {
		delete(raw, k)
	}
	return Row(numbers(raw).(map[string]any)), nil
}

// numbers turns the decoder's attributevalue.Number into json.Number, so
// amounts and counts are written as JSON numbers, digit for digit.
func numbers(v any) any {
	switch x := v.(type) {
	case attributevalue.Number:
		return json.Number(x)
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
		return x
	}
	return v
}

// itemType is the type attribute of an item.
func itemType(item map[string]types.AttributeValue) string {
	if s, ok := item["type"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// addYears is date (YYYY-MM-DD, or an RFC 3339 time) plus n years, as a
// date; "" when date is neither.
func addYears(date string, n int) string {
	if len(date) >= 10 {
		if t, err := time.Parse("2006-01-02", date[:10]); err == nil {
			return t.AddDate(n, 0, 0).Format("2006-01-02")
		}
	}
	return ""
}

// SafeName keeps a file name's letters, digits, dot, dash and underscore,
// so a document's name cannot climb out of documents/ in the zip.
func SafeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		s = "file"
	}
	if len(s) > 120 {
		s = s[len(s)-120:]
	}
	return s
}
