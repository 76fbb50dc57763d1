package privacy

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/documents"
)

// The entity types of every capability, in the order an export lists them.
// A capability that stores something about clients adds one Register call
// here (or in its own package's init), naming its sort key prefix and item
// type: export, erasure and retention then cover it.
func init() {
	Register(Type{Name: "clients", SKPrefix: "CLIENT#", ItemType: "client", Omit: []string{"trustEntries"},
		Concerns: func(r Row, s Subject) bool { return r.Str("id") == s.ClientID }})
	Register(Type{Name: "contact-entries", SKPrefix: "CONTACT#", ItemType: "clientContact"})
	Register(Type{Name: "client-search-entries", SKPrefix: "CLIENTNAME#", ItemType: "clientName", NoExport: true})
	Register(Type{Name: "matters", SKPrefix: "MATTER#", ItemType: "matter", Omit: []string{"teamGrants", "trustEntries"},
		Hold:    &Hold{Category: "matters with trust records", Reason: trustReason, Years: 5, Applies: hasTrustRecords, Until: matterEnd},
		Expires: closedMatterExpiry})
	Register(Type{Name: "notes", SKPrefix: "NOTE#", ItemType: "note"})
	Register(Type{Name: "bookings", SKPrefix: "BOOKING#", ItemType: "booking", Deleted: "booking.deleted", EntityType: "booking"})
	Register(Type{Name: "activity", SKPrefix: "ACT#", ItemType: "activity", Omit: []string{"event"}, Erase: Keep})
	Register(Type{Name: "trust-activity", SKPrefix: "TRUSTACT#", ItemType: "activity", Omit: []string{"event"}, OrgOnly: true})
	Register(Type{Name: "documents", SKPrefix: "DOC#", ItemType: "document", Omit: []string{"objectKey", "s3VersionId", "pending"},
		File: documentFile, Purge: purgeDocument})
	Register(Type{Name: "document-versions", SKPrefix: "DOC#", ItemType: "documentVersion", Omit: []string{"objectKey", "s3VersionId"},
		Concerns: func(Row, Subject) bool { return false }}) // erased with their document
	Register(Type{Name: "summaries", SKPrefix: "SUMMARY#", ItemType: "summary", Omit: []string{"usageId"},
		Purge: func(ctx context.Context, p Purger, orgID string, r Row) error {
			return p.DeleteItems(ctx, orgID, "SUMMARY#"+r.Str("id")+"#") // its spoken marker
		}})
	Register(Type{Name: "messages", SKPrefix: "MSG#", ItemType: "message", Erase: Redact, Redact: []string{"body", "subject", "to", "from"}})
	Register(Type{Name: "consent", SKPrefix: "CONSENT#", ItemType: "consent", Concerns: byAddress,
		Hold: &Hold{Category: "consent", Reason: consentReason, Years: 4, Until: yearsFrom("updatedAt", 4)}})
	Register(Type{Name: "consent-log", SKPrefix: "CONSENTLOG#", ItemType: "consentChange", Concerns: byAddress,
		Hold: &Hold{Category: "consent log", Reason: consentReason, Years: 4, Until: yearsFrom("at", 4)}})
	Register(Type{Name: "invoices", SKPrefix: "INV#", ItemType: "invoice",
		Hold: &Hold{Category: "invoices", Reason: paymentReason, Years: 7, Until: retainUntil}})
	Register(Type{Name: "payments", SKPrefix: "PAYMENT#", ItemType: "payment",
		Hold: &Hold{Category: "payments", Reason: paymentReason, Years: 7, Until: retainUntil}})
	Register(Type{Name: "trust-accounts", SKPrefix: "TRUST#ACCT#", ItemType: "trustAccount", OrgOnly: true})
	Register(Type{Name: "trust-journal", SKPrefix: "TRUST#E#", ItemType: "trustEntry", Omit: []string{"counterpartSK"},
		CSV:  []string{"date", "id", "accountId", "entryType", "clientId", "matterId", "amount", "change", "currency", "description", "counterparty", "clearedOn", "reversalOf", "reversedBy", "enteredBy", "enteredAt"},
		Hold: &Hold{Category: "trust journal entries", Reason: trustReason, Years: 5, Until: matterEnd}})
	Register(Type{Name: "trust-ledgers", SKPrefix: "TRUST#L#", ItemType: "trustLedger",
		CSV:  []string{"accountId", "clientId", "matterId", "firmFunds", "bucket", "balance", "currency", "lastDate"},
		Hold: &Hold{Category: "trust ledgers", Reason: trustReason, Years: 5, Until: matterEnd}})
	Register(Type{Name: "trust-reconciliations", SKPrefix: "TRUST#REC#", ItemType: "trustReconciliation", OrgOnly: true})
	Register(Type{Name: "members", SKPrefix: "USER#", ItemType: "user", OrgOnly: true,
		Omit: []string{"passwordHash", "inviteHash", "inviteExpiresAt", "totpSecret", "totpRecoveryCodes"}})
	Register(Type{Name: "signature-requests", SKPrefix: "ESIGN#", ItemType: "signatureRequest", Omit: []string{"providerId", "signedDocId"}})
}

// The reasons the law gives for keeping what a client asked to erase.
const (
	paymentReason = "Payment records are retained for a minimum of 7 years for tax and legal compliance (GDPR art. 17(3)(b); CCPA legal-obligation exception)."
	trustReason   = "Trust account records must be kept, identifying the client, for 5 years after the matter ends (trust-records rule)."
	consentReason = "Consent changes are kept for 4 years as evidence under the TCPA."
)

// byAddress: consent is kept by address, the client's phone or email.
func byAddress(r Row, s Subject) bool {
	addr := strings.ToLower(r.Str("address"))
	return addr != "" && (addr == s.Email || addr == strings.ToLower(s.Phone))
}

func retainUntil(r Row, _ Subject) string { return r.Str("retainUntil") }

func yearsFrom(attr string, n int) func(Row, Subject) string {
	return func(r Row, _ Subject) string { return addYears(r.Str(attr), n) }
}

// matterEnd is 5 years after the row's matter closed; "" (5 years from
// the erasure) while it is open or for a row of no matter.
func matterEnd(r Row, s Subject) string {
	id := r.Str("matterId")
	if id == "" && r.Str("clientId") == "" {
		id = r.Str("id") // a matter itself
	}
	return addYears(s.Closed[id], 5)
}

func hasTrustRecords(r Row) bool {
	n, _ := r["trustEntries"].(interface{ String() string })
	return n != nil && n.String() != "0"
}

func documentFile(r Row) (path, key, versionID string, ok bool) {
	if r.Str("status") != "ready" || r.Str("objectKey") == "" {
		return "", "", "", false
	}
	return "documents/" + r.Str("id") + "/" + SafeName(r.Str("fileName")), r.Str("objectKey"), r.Str("s3VersionId"), true
}

// purgeDocument deletes a document's versions and every S3 object version
// of its bytes (and of uploads still staged).
func purgeDocument(ctx context.Context, p Purger, orgID string, r Row) error {
	id := r.Str("id")
	if err := p.DeleteItems(ctx, orgID, "DOC#"+id+"#"); err != nil {
		return err
	}
	if err := p.DeleteObjects(ctx, path.Dir(documents.ObjectKey(orgID, r.Str("matterId"), id, 1))+"/"); err != nil {
		return err
	}
	return p.DeleteObjects(ctx, documents.StagingPrefix(orgID, id))
}

// closedMatterExpiry: a closed matter goes ClosedMatterYears after it closed.
func closedMatterExpiry(r Row, p Policy) time.Time {
	if r.Str("status") != "closed" || len(r.Str("closedOn")) < 10 {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", r.Str("closedOn")[:10])
	if err != nil {
		return time.Time{}
	}
	return t.AddDate(p.ClosedMatterYears, 0, 0)
}
