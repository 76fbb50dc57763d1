package crm

import (
	"context"
	"errors"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// RuleRestricted and RuleHeld are the rules that refuse sending a client's
// data to a processor (AI, SMS, email, e-signature): the client restricted
// processing (GDPR art. 18), or was erased and only their legally held
// records remain, which serve nothing but those obligations.
const (
	RuleRestricted = "privacy.restricted"
	RuleHeld       = "privacy.held"
)

// Processable refuses, with a 409 naming the restriction, a client whose
// data may not go to a processor.
func (c Client) Processable() error {
	if c.Restriction != nil && c.Restriction.Restricted {
		return fault.Refused(RuleRestricted, "This client has restricted the processing of their data (GDPR art. 18): nothing of theirs goes to AI, SMS, email or e-signature until the restriction is lifted.")
	}
	if c.Hold != nil {
		return fault.Refused(RuleHeld, "This client was erased; their remaining records are kept only for legal obligations (until %s) and are not processed.", c.Hold.Until)
	}
	return nil
}

// Writable refuses, with a 409 naming the hold, new personal data about a
// client who was erased and whose remaining records are only held for the
// law: nothing may be added to them (an edit, a note, a booking, a matter,
// a document) that the erasure would have removed. A restricted client
// stays writable (art. 18 limits processing, not record keeping).
func (c Client) Writable() error {
	if c.Hold != nil {
		return fault.Refused(RuleHeld, "This client was erased; their remaining records are kept only for legal obligations (until %s) and nothing new is recorded about them.", c.Hold.Until)
	}
	return nil
}

// Writable refuses new records on a matter kept after its client's
// erasure (it has trust records, which the law keeps).
func (m Matter) Writable() error {
	if m.Hold != nil {
		return fault.Refused(RuleHeld, "This matter's client was erased; the matter is kept only for legal obligations (until %s) and nothing new is recorded on it.", m.Hold.Until)
	}
	return nil
}

// writable is the transaction condition of a client or matter that new
// records may name: it exists and is not held after an erasure. It costs
// nothing beyond the existence check the write makes anyway; which of the
// two failed is read only when it fails (refusal).
func writable() store.Cond {
	return store.Cond{Expr: "attribute_exists(PK) AND attribute_not_exists(#hold)", Names: map[string]string{"#hold": "privacyHold"}}
}

// Refusal explains a failed writable condition (AddDocument's, another
// capability's): 409 when the client is held, otherwise gone.
func Refusal(ctx context.Context, db *store.DB, orgID, clientID string, gone error) error {
	return refusal(ctx, db, orgID, clientID, gone)
}

// refusal explains a failed writable condition: 409 when the client is
// held, otherwise gone (the caller's own error).
func refusal(ctx context.Context, db *store.DB, orgID, clientID string, gone error) error {
	if err := CheckWritable(ctx, db, orgID, clientID); err != nil {
		return err
	}
	return gone
}

// CheckWritable reads a client and applies Writable; an unknown client is
// nothing to refuse (the caller's own read or condition answers 404).
func CheckWritable(ctx context.Context, db *store.DB, orgID, clientID string) error {
	return checkClient(ctx, db, orgID, clientID, Client.Writable)
}

// CheckProcessable reads a client and applies Processable; an unknown
// client is nothing to refuse (the caller's own read answers 404).
func CheckProcessable(ctx context.Context, db *store.DB, orgID, clientID string) error {
	return checkClient(ctx, db, orgID, clientID, Client.Processable)
}

// checkClient reads a client and applies rule to it.
func checkClient(ctx context.Context, db *store.DB, orgID, clientID string, rule func(Client) error) error {
	if clientID == "" {
		return nil
	}
	var c Client
	err := db.Get(ctx, tenant.PK(orgID), ClientSK(clientID), &c)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return rule(c)
}

// CheckMatterProcessable is CheckProcessable for the client of a matter.
func CheckMatterProcessable(ctx context.Context, db *store.DB, orgID, matterID string) error {
	var m struct {
		ClientID string `dynamodbav:"clientId"`
	}
	err := db.Get(ctx, tenant.PK(orgID), MatterSK(matterID), &m)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return CheckProcessable(ctx, db, orgID, m.ClientID)
}
