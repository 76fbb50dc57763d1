package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// AnchorPrefix is where the chains' heads are anchored in the bucket, one
// object per org and day: audit-anchors/<orgId>/<YYYY-MM-DD>.json. Only the
// privacy worker (the daily retention run) may put there; the table's
// writers may not, so a chain rewritten in the table no longer matches
// the anchors of its past heads.
const AnchorPrefix = "audit-anchors/"

// Anchor is one anchored head: the chain's last entry on a day.
type Anchor struct {
	OrgID   string    `json:"orgId"`
	Day     string    `json:"day"` // YYYY-MM-DD, UTC
	Seq     int64     `json:"seq"`
	Hash    string    `json:"hash"`
	At      time.Time `json:"at"`
	Version int       `json:"version"` // of the anchored entry
}

// AnchorRef names the anchor a verification compared the chain with.
type AnchorRef struct {
	Day string `json:"day"`
	Seq int64  `json:"seq"`
}

// ObjectStore keeps the anchors outside the table: the bucket in AWS
// (package s3anchors), where the table's writers may not put.
type ObjectStore interface {
	// Put writes body under key.
	Put(ctx context.Context, key string, body []byte) error
	// Last reads the object whose key is the greatest under prefix;
	// "" and nil when there is none.
	Last(ctx context.Context, prefix string) (string, []byte, error)
}

// Anchors keeps the chains' anchors in Store.
type Anchors struct {
	Store ObjectStore
}

func anchorKey(orgID, day string) string { return AnchorPrefix + orgID + "/" + day + ".json" }

// Anchor writes orgID's chain head as the anchor of now's day (a second
// run the same day replaces it with the later head). An org without an
// audit log yet has nothing to anchor; nil a is a no-op.
func (a *Anchors) Anchor(ctx context.Context, db *store.DB, orgID string, now time.Time) error {
	if a == nil {
		return nil
	}
	var head headRow
	err := db.Get(ctx, tenant.PK(orgID), headSK, &head)
	if errors.Is(err, store.ErrNotFound) || (err == nil && head.Seq == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	var last entryRow
	if err := db.Get(ctx, tenant.PK(orgID), entrySK(head.Seq), &last); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	day := now.UTC().Format("2006-01-02")
	body, _ := json.Marshal(Anchor{OrgID: orgID, Day: day, Seq: head.Seq, Hash: head.Hash, At: now.UTC(), Version: max(last.Version, V1)})
	if err := a.Store.Put(ctx, anchorKey(orgID, day), body); err != nil {
		return fmt.Errorf("audit: put anchor: %w", err)
	}
	return nil
}

// Latest reads orgID's latest anchor; nil when there is none.
func (a *Anchors) Latest(ctx context.Context, orgID string) (*Anchor, error) {
	last, b, err := a.Store.Last(ctx, AnchorPrefix+orgID+"/") // days sort as text
	if err != nil {
		return nil, fmt.Errorf("audit: read anchor: %w", err)
	}
	if last == "" {
		return nil, nil
	}
	var an Anchor
	if err := json.Unmarshal(b, &an); err != nil || an.OrgID != orgID || an.Seq < 1 {
		return nil, fmt.Errorf("audit: anchor %s is unreadable", last)
	}
	return &an, nil
}
