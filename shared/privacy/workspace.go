package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// DeleteOrgInput is DELETE /v1/org.
type DeleteOrgInput struct {
	Confirm         string `json:"confirm"`
	CurrentPassword string `json:"currentPassword"`
}

// OrgDeletion is its answer: the deletion started, and the latest ready
// export (download it now: after this, nobody signs in).
type OrgDeletion struct {
	Status       string  `json:"status"` // "deleting"
	LatestExport *Export `json:"latestExport"`
}

// DeleteOrg starts deleting the caller's workspace (owners only): the
// name must be confirmed and the owner's password given. Every member is
// signed out at once (their membership stops answering, so no token or
// sign-in works), then the worker erases everything but what the law
// keeps, as for a client. The answer names the latest ready export.
func (s *Service) DeleteOrg(ctx context.Context, a caller.Caller, in DeleteOrgInput) (OrgDeletion, error) {
	var ck fault.Checker
	ck.Check(in.Confirm != "", "confirm", "is required: the workspace's name")
	ck.Check(in.CurrentPassword != "", "currentPassword", "is required")
	if err := ck.Err(); err != nil {
		return OrgDeletion{}, err
	}
	if s.Queue == nil {
		return OrgDeletion{}, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The privacy queue is not configured."}
	}
	if s.Passwords == nil {
		return OrgDeletion{}, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The password check is not configured."}
	}
	pk := tenant.PK(a.OrgID)
	var org struct {
		Name string `dynamodbav:"name"`
	}
	if err := s.DB.Get(ctx, pk, tenant.OrgSK, &org); errors.Is(err, store.ErrNotFound) {
		return OrgDeletion{}, fault.E(fault.NotFound, "No such workspace.")
	} else if err != nil {
		return OrgDeletion{}, err
	}
	if in.Confirm != org.Name {
		return OrgDeletion{}, fault.Fields(fault.FieldError{Field: "confirm", Message: "must be the workspace's name, exactly"})
	}
	// The sign-in budget's check: a stolen access token cannot guess the
	// password here any faster than at the sign-in form.
	if err := s.Passwords.CheckPassword(ctx, a, in.CurrentPassword, "org_delete_password_failed"); err != nil {
		return OrgDeletion{}, err
	}
	latest, err := s.latestReady(ctx, a.OrgID)
	if err != nil {
		return OrgDeletion{}, err
	}
	now := s.Now().UTC()
	// Sign-ins stop in the same transaction as the mark: every member's
	// membership turns inactive, which the router's check and login refuse.
	items := []types.TransactWriteItem{s.DB.Update(pk, tenant.OrgSK, "SET deletedAt = :t", store.Exists(), nil,
		map[string]types.AttributeValue{":t": store.S(now.Format(time.RFC3339Nano))})}
	var members []string
	if err := s.scan(ctx, a.OrgID, "USER#", func(item map[string]types.AttributeValue) error {
		_, sk := keyOf(item)
		members = append(members, sk)
		return nil
	}); err != nil {
		return OrgDeletion{}, err
	}
	e := activity.Entry{Action: "org.deletion_started", EntityType: "org", EntityID: a.OrgID}
	rec, err := activity.Record(s.DB, a, now, e)
	if err != nil {
		return OrgDeletion{}, err
	}
	items = append(items, rec, tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.DeleteOrg))
	if err := s.DB.Transact(ctx, items...); err != nil {
		if tenant.RoleLost(err) {
			return OrgDeletion{}, tenant.ErrRoleChanged
		}
		return OrgDeletion{}, err
	}
	// The job is queued before anything else: once deletedAt is committed
	// no one signs in, and a job lost here is resumed by the daily
	// retention run (RunOrg), which finishes any org marked deleted.
	job, _ := json.Marshal(exportJob{OrgID: a.OrgID, Kind: jobDeleteOrg})
	if err := s.Queue.Send(ctx, Queue, string(job), map[string]string{"kind": jobDeleteOrg}); err != nil {
		return OrgDeletion{}, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The deletion could not be queued; try again.", Err: err}
	}
	if err := s.signOutMembers(ctx, a.OrgID, members); err != nil { // after the check above, which needed the caller active
		return OrgDeletion{}, err
	}
	return OrgDeletion{Status: "deleting", LatestExport: latest}, nil
}

// signOutMembers turns the memberships sks inactive (invited), which the
// router's check and every sign-in refuse; EraseOrg does it again first,
// so one interrupted here is finished there.
func (s *Service) signOutMembers(ctx context.Context, orgID string, sks []string) error {
	for _, sk := range sks {
		err := s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), sk, "SET #st = :st", store.Exists(), map[string]string{"#st": "status"},
			map[string]types.AttributeValue{":st": store.S(tenant.Invited)}), nil)
		if err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return err
		}
	}
	return nil
}

// jobDeleteOrg is the Kind of a queued workspace deletion.
const jobDeleteOrg = "delete-org"

func (s *Service) latestReady(ctx context.Context, orgID string) (*Export, error) {
	exps, _, err := s.ListExports(ctx, orgID, 100, nil)
	if err != nil {
		return nil, err
	}
	for _, e := range exps { // newest first
		if e.Status == Ready {
			return &e, nil
		}
	}
	return nil, nil
}

// EraseOrg is the worker's part of a workspace deletion: every registered
// type's rows go, or stay marked held when a legal hold keeps them (the
// activity log stays as the security record); sessions and the members'
// logins go with the members. The types a capability erases itself
// (OwnOrgErasure: the calendar's, which its worker erases with Graph
// after this) are left to its OrgErasers. Running it again finishes what
// an interrupted run left.
func (s *Service) EraseOrg(ctx context.Context, orgID string) error {
	var org struct {
		DeletedAt string `dynamodbav:"deletedAt"`
	}
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &org); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if org.DeletedAt == "" {
		return nil // not being deleted: nothing to do
	}
	var members, logins []string
	if err := s.scan(ctx, orgID, "USER#", func(item map[string]types.AttributeValue) error {
		_, sk := keyOf(item)
		members = append(members, sk)
		for attr, pfx := range map[string]string{"email": "LOGIN#email#", "username": "LOGIN#username#"} {
			if v, _ := item[attr].(*types.AttributeValueMemberS); v != nil && v.Value != "" {
				logins = append(logins, pfx+strings.ToLower(v.Value))
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := s.signOutMembers(ctx, orgID, members); err != nil {
		return err
	}
	// The members' logins live outside the org's partition: they go while
	// the members still name them (a login another org holds now stays),
	// so the same address can sign up again.
	for _, pk := range logins {
		err := s.DB.Transact(ctx, s.DB.Delete(pk, "LOGIN", &store.Cond{Expr: "orgId = :o",
			Values: map[string]types.AttributeValue{":o": store.S(orgID)}}))
		if err != nil && !store.Failed(err, 0) {
			return err
		}
	}
	// First the capabilities' own erasers. The calendar's hands its part
	// to the calendar worker (which holds the tokens to remove the
	// Outlook copies and end the subscriptions with), and its types are
	// OwnOrgErasure: the sweep below leaves them to that worker.
	for _, erase := range s.OrgErasers {
		if err := erase(ctx, orgID); err != nil {
			return err
		}
	}
	today := s.Now().UTC().Format("2006-01-02")
	sub := Subject{Matters: map[string]bool{}, Closed: map[string]string{}}
	for _, t := range Types() {
		if t.OwnOrgErasure {
			continue
		}
		err := s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
			full, err := Type{Name: t.Name}.decode(item)
			if err != nil {
				return err
			}
			pk, sk := keyOf(item)
			if t.Hold.applies(full) {
				if _, marked := full[holdMark]; marked {
					return nil // by an earlier run: its end date stays
				}
				mark, err := store.Marshal(HoldMark{Category: t.Hold.Category, Reason: t.Hold.Reason, Until: t.Hold.until(full, sub, today)})
				if err != nil {
					return err
				}
				return s.DB.UpdateItem(ctx, s.DB.Update(pk, sk, "SET #h = :h", store.Exists(), map[string]string{"#h": holdMark},
					map[string]types.AttributeValue{":h": &types.AttributeValueMemberM{Value: mark}}), nil)
			}
			if t.Erase == Keep || t.Name == "trust-activity" || t.Name == "trust-accounts" || t.Name == "trust-reconciliations" {
				return nil // the audit trail and the books' own records
			}
			return s.deleteRow(ctx, workspaceActor(orgID), whyWorkspace, t, item, full)
		})
		if err != nil {
			return err
		}
	}
	for _, prefix := range []string{"CONTACT#", "REFRESH#", "RFAMILY#", "RESET#", "IDEM#", "MFA#", "MFATOKEN#"} {
		if err := s.DeleteItems(ctx, orgID, prefix); err != nil {
			return err
		}
	}
	// Done: the daily run resumes an org marked deleted until this is set.
	return s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), tenant.OrgSK, "SET erasedAt = :t", store.Exists(), nil,
		map[string]types.AttributeValue{":t": store.S(s.Now().UTC().Format(time.RFC3339Nano))}), nil)
}

// workspaceActor is who a workspace deletion's entries name.
func workspaceActor(orgID string) caller.Caller {
	return caller.Caller{OrgID: orgID, UserID: "system:workspace-deletion", Role: "system", UserAgent: "matterly-workspace-deletion"}
}

// resumeErasure finishes the deletion of an org whose job was lost (a
// failed queue send, a message dropped after its retries).
func (s *Service) resumeErasure(ctx context.Context, orgID string) error {
	var org struct {
		DeletedAt string `dynamodbav:"deletedAt"`
		ErasedAt  string `dynamodbav:"erasedAt"`
	}
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &org); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if org.DeletedAt == "" || org.ErasedAt != "" {
		return nil
	}
	return s.EraseOrg(ctx, orgID)
}
