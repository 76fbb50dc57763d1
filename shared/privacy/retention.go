package privacy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// RetentionEvery is how often the retention schedule runs (an EventBridge
// rule in AWS, the local scheduler in make dev).
const RetentionEvery = 24 * time.Hour

// RetentionSchedule names the schedule.
const RetentionSchedule = "retention"

const policySK = "PRIVACY#RETENTION"

type policyRow struct {
	store.Keys
	Policy
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// PolicyPatch is PATCH /v1/privacy/retention.
type PolicyPatch struct {
	ClosedMatterYears *int `json:"closedMatterYears"`
	AuditYears        *int `json:"auditYears"`
}

// Retention reads the org's policy (DefaultPolicy until one is set).
func (s *Service) Retention(ctx context.Context, orgID string) (Policy, error) {
	var r policyRow
	err := s.DB.Get(ctx, tenant.PK(orgID), policySK, &r)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultPolicy, nil
	}
	return r.Policy, err
}

// SetRetention changes the org's policy, with its activity entry.
func (s *Service) SetRetention(ctx context.Context, a caller.Caller, in PolicyPatch) (Policy, error) {
	p, err := s.Retention(ctx, a.OrgID)
	if err != nil {
		return Policy{}, err
	}
	var ck fault.Checker
	var fields []string
	if in.ClosedMatterYears != nil {
		ck.Check(*in.ClosedMatterYears >= 1 && *in.ClosedMatterYears <= 100, "closedMatterYears", "must be a whole number of years from 1 to 100")
		p.ClosedMatterYears = *in.ClosedMatterYears
		fields = append(fields, "closedMatterYears")
	}
	if in.AuditYears != nil {
		ck.Check(*in.AuditYears >= 1 && *in.AuditYears <= 100, "auditYears", "must be a whole number of years from 1 to 100")
		p.AuditYears = *in.AuditYears
		fields = append(fields, "auditYears")
	}
	if err := ck.Err(); err != nil {
		return Policy{}, err
	}
	now := s.Now().UTC()
	put, err := s.DB.Put(policyRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: policySK, Type: "retentionPolicy"}, Policy: p, UpdatedAt: now}, nil)
	if err != nil {
		return Policy{}, err
	}
	e := activity.Entry{Action: "privacy.retention_updated", EntityType: "org", EntityID: a.OrgID, Fields: fields,
		Detail: fmt.Sprintf("closed matters %d years, audit %d years", p.ClosedMatterYears, p.AuditYears)}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePrivacy, e, put); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// RunRetention is the daily schedule: every org's run (RunOrg). One org's
// trouble does not hold up the others.
func (s *Service) RunRetention(ctx context.Context) error {
	var start store.StartKey
	var errs []error
	for {
		ids, next, err := identity.ListOrgs(ctx, s.DB, 100, start)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.RunOrg(ctx, id); err != nil {
				errs = append(errs, fmt.Errorf("org %s: %w", id, err))
			}
		}
		if next == nil {
			return errors.Join(errs...)
		}
		start = next
	}
}

// retentionActor is who the retention run's activity entries name.
func retentionActor(orgID string) caller.Caller {
	return caller.Caller{OrgID: orgID, UserID: "system:retention", Role: "system", UserAgent: "matterly-retention"}
}

// RunOrg deletes what has outlived org's policy and what a legal hold
// kept until a day now past: held rows whose hold ended (and the client's
// identity with the last of them), closed matters older than the policy
// (with their documents, every S3 version, notes and summaries; never one
// with trust records), and expired export zips. Its counts are written to
// the activity log (when anything was done). An org whose deletion was
// started but never finished (its job lost) is finished first. The org's
// audit chain head is anchored (audit.Anchors), once a day.
func (s *Service) RunOrg(ctx context.Context, orgID string) (map[string]int, error) {
	if err := s.resumeErasure(ctx, orgID); err != nil {
		return nil, err
	}
	pol, err := s.Retention(ctx, orgID)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	today := now.Format("2006-01-02")
	counts := map[string]int{}
	for _, t := range Types() {
		if t.Hold == nil && t.Name != "clients" && t.Expires == nil {
			continue
		}
		err := s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
			full, err := Type{Name: t.Name}.decode(item)
			if err != nil {
				return err
			}
			if h, _ := full[holdMark].(map[string]any); h != nil {
				if until, _ := h["until"].(string); until != "" && until < today {
					if t.Name == "clients" {
						// The client's last hold ended: every record of
						// theirs goes, whatever its type (not only those
						// that carried a hold), before the record that
						// identifies them.
						n, err := s.eraseEnded(ctx, orgID, full.Str("id"), today)
						if err != nil {
							return err
						}
						for k, v := range n {
							counts["holds ended: "+k] += v
						}
					}
					if err := s.deleteRow(ctx, retentionActor(orgID), whyRetention, t, item, full); err != nil {
						return err
					}
					counts["holds ended: "+t.Name]++
					if t.Name == "clients" {
						return s.DeleteItems(ctx, orgID, "CLIENTNAME#"+full.Str("id")+"#")
					}
				}
				return nil
			}
			if t.Expires == nil || (t.Hold.applies(full)) {
				return nil
			}
			if exp := t.Expires(full, pol); !exp.IsZero() && !now.Before(exp) {
				n, err := s.deleteMatter(ctx, orgID, full)
				if err != nil {
					return err
				}
				counts["closed matters"]++
				for k, v := range n {
					counts[k] += v
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	n, err := s.expireExports(ctx, orgID, now)
	if err != nil {
		return nil, err
	}
	// The audit chain's head, anchored out of the table writers' reach:
	// a chain rewritten in the table no longer matches it.
	if err := s.AuditAnchors.Anchor(ctx, s.DB, orgID, now); err != nil {
		return nil, err
	}
	if n > 0 {
		counts["expired exports"] = n
	}
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	if len(counts) == 0 {
		return counts, nil
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, k+" "+strconv.Itoa(v))
	}
	sort.Strings(parts)
	rec, err := activity.Record(s.DB, retentionActor(orgID), now, activity.Entry{Action: "privacy.retention_run", EntityType: "org", EntityID: orgID,
		Detail: strings.Join(parts, ", ")})
	if err != nil {
		return nil, err
	}
	return counts, s.DB.Transact(ctx, rec)
}

// eraseEnded deletes every row about a held client whose last hold has
// ended, of every type but the client record and its search entries
// (which the caller deletes last); a row still under a hold of its own
// that lasts beyond today stays.
func (s *Service) eraseEnded(ctx context.Context, orgID, clientID, today string) (map[string]int, error) {
	sub, err := s.subject(ctx, orgID, clientID)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, t := range Types() {
		if t.OrgOnly || t.Name == "clients" || t.Name == "client-search-entries" {
			continue
		}
		err := s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
			if !t.concerns(r, sub) {
				return nil
			}
			full, err := Type{Name: t.Name}.decode(item)
			if err != nil {
				return err
			}
			if h, _ := full[holdMark].(map[string]any); h != nil {
				if until, _ := h["until"].(string); until >= today {
					return nil
				}
			}
			counts[t.Name]++
			return s.deleteRow(ctx, retentionActor(orgID), whyRetention, t, item, full)
		})
		if err != nil {
			return nil, err
		}
	}
	// Two items outside the registry name the client too: the link to
	// their payment provider's customer, and the bank-side copies of their
	// trust entries (whose journal entries went with their hold).
	if err := s.DB.Transact(ctx, s.DB.Delete(tenant.PK(orgID), "PAY#CUST#"+clientID, nil)); err != nil {
		return nil, err
	}
	err = s.scan(ctx, orgID, "TRUST#U#", func(item map[string]types.AttributeValue) error {
		if c, _ := item["clientId"].(*types.AttributeValueMemberS); c == nil || c.Value != clientID {
			return nil
		}
		pk, sk := keyOf(item)
		counts["trust bank items"]++
		return s.DB.Transact(ctx, s.DB.Delete(pk, sk, nil))
	})
	return counts, err
}

// deleteRow deletes one row of t with what goes with it, done by actor
// (why: the entry's detail); a type with a Deleted event announces it in
// the same transaction.
func (s *Service) deleteRow(ctx context.Context, actor caller.Caller, why string, t Type, item map[string]types.AttributeValue, full Row) error {
	if t.Purge != nil {
		if err := t.Purge(ctx, s, actor.OrgID, full); err != nil {
			return err
		}
	}
	pk, sk := keyOf(item)
	if t.Deleted == "" {
		return s.DB.Transact(ctx, s.DB.Delete(pk, sk, nil))
	}
	rec, err := activity.Record(s.DB, actor, s.Now().UTC(), activity.Entry{Action: t.Deleted, EntityType: t.EntityType, EntityID: full.Str("id"),
		ClientID: full.Str("clientId"), MatterID: full.Str("matterId"), Detail: why, Event: t.Deleted})
	if err != nil {
		return err
	}
	// Only an existing row is deleted and announced: a concurrent run
	// that deleted it first announced it.
	err = s.DB.Transact(ctx, s.DB.Delete(pk, sk, store.Exists()), rec)
	if store.Failed(err, 0) {
		return nil
	}
	return err
}

// Why a row was deleted, as the entries of their Deleted events say.
const (
	whyErasure   = "client erased"
	whyRetention = "retention"
	whyWorkspace = "workspace deleted"
)

// deleteMatter deletes a closed matter past its retention with its
// documents, notes and summaries, then the matter (only while no trust
// entry names it, checked in the delete).
func (s *Service) deleteMatter(ctx context.Context, orgID string, m Row) (map[string]int, error) {
	id := m.Str("id")
	counts := map[string]int{}
	for _, t := range Types() {
		switch t.Name {
		case "documents", "notes", "summaries", "bookings":
		default:
			continue
		}
		err := s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
			if r.Str("matterId") != id {
				return nil
			}
			full, err := Type{Name: t.Name}.decode(item)
			if err != nil {
				return err
			}
			counts[t.Name]++
			return s.deleteRow(ctx, retentionActor(orgID), whyRetention, t, item, full)
		})
		if err != nil {
			return nil, err
		}
	}
	err := s.DB.Transact(ctx, s.DB.Delete(tenant.PK(orgID), "MATTER#"+id, &store.Cond{
		Expr: "attribute_exists(PK) AND (attribute_not_exists(#trust) OR #trust = :zero)", Names: map[string]string{"#trust": "trustEntries"},
		Values: map[string]types.AttributeValue{":zero": store.N(0)}}))
	if store.Failed(err, 0) {
		return counts, nil // trust records arrived: the matter stays
	}
	return counts, err
}

// expireExports deletes the zips of exports past their 7 days (the
// bucket's lifecycle rule does too; this run makes it prompt and marks
// them expired).
func (s *Service) expireExports(ctx context.Context, orgID string, now time.Time) (int, error) {
	return s.expireWhere(ctx, orgID, now, func(r exportRow) bool { return r.ExpiresAt != nil && !now.Before(*r.ExpiresAt) })
}

// expireWhere expires the ready exports that due says must go now: their
// zips are deleted and they answer "expired".
func (s *Service) expireWhere(ctx context.Context, orgID string, now time.Time, due func(exportRow) bool) (int, error) {
	n := 0
	err := s.scan(ctx, orgID, exportPfx, func(item map[string]types.AttributeValue) error {
		var r exportRow
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		if r.Status != Ready || !due(r) {
			return nil
		}
		n++
		return s.expireExport(ctx, orgID, r, now)
	})
	return n, err
}

// expireExport deletes a ready export's zip and marks it expired.
func (s *Service) expireExport(ctx context.Context, orgID string, r exportRow, now time.Time) error {
	if s.S3 != nil && r.ObjectKey != "" {
		if err := s.DeleteObjects(ctx, r.ObjectKey); err != nil {
			return err
		}
	}
	return s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), exportSK(r.ID), "SET #st = :st, manifest = :null, objectKey = :null, updatedAt = :u",
		store.Exists(), map[string]string{"#st": "status"}, map[string]types.AttributeValue{":st": store.S("expired"),
			":null": &types.AttributeValueMemberNULL{Value: true}, ":u": store.S(now.Format(time.RFC3339Nano))}), nil)
}

// voidExports marks every pending, running or ready export that due
// names as voided (attrVoided): one still being built may have read rows
// an erasure has removed since, so Build never marks it ready; one that
// became ready meanwhile is expired. Run after the erasure's deletions:
// an export that starts after this reads what is left.
func (s *Service) voidExports(ctx context.Context, orgID string, now time.Time, due func(exportRow) bool) error {
	return s.scan(ctx, orgID, exportPfx, func(item map[string]types.AttributeValue) error {
		var r exportRow
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		if (r.Status != Pending && r.Status != Running && r.Status != Ready) || !due(r) {
			return nil
		}
		var after exportRow
		err := s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), exportSK(r.ID), "SET #v = :u", store.Exists(),
			map[string]string{"#v": attrVoided}, map[string]types.AttributeValue{":u": store.S(now.Format(time.RFC3339Nano))}), &after)
		switch {
		case errors.Is(err, store.ErrConditionFailed):
			return nil
		case err != nil:
			return err
		case after.Status == Ready:
			return s.expireExport(ctx, orgID, after, now)
		}
		return nil
	})
}

// attrVoided marks an export an erasure overtook while it was built.
const attrVoided = "voidedAt"
