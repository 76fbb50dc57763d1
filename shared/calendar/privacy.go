package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// The privacy registry (exports and erasure) calls these; they are
// system actions, not a member's request.

// MemberExport is what the calendar holds of one member.
type MemberExport struct {
	UserID       string        `json:"userId"`
	Account      *AccountView  `json:"account,omitempty"`
	Calendars    []Calendar    `json:"calendars,omitempty"`
	WorkingHours *WorkingHours `json:"workingHours,omitempty"`
	Events       []EventView   `json:"events"`
}

// ExportMember lists a member's connection (never its tokens), working
// hours and every synced event.
func (s *Service) ExportMember(ctx context.Context, orgID, userID string) (MemberExport, error) {
	out := MemberExport{UserID: userID, Events: []EventView{}}
	c, err := s.conn(ctx, orgID, userID)
	switch {
	case err == nil:
		out.Account, out.Calendars = &AccountView{Email: c.Email, Name: c.Name}, c.Calendars
	case !errors.Is(err, errNotConnected):
		return out, err
	}
	var h hoursRow
	if err := s.DB.Get(ctx, tenant.PK(orgID), hoursSK(userID), &h); err == nil {
		out.WorkingHours = &h.WorkingHours
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	rows, err := store.QueryAll[eventRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: eventSK(userID, ""), Consistent: true})
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		org := r.Organizer
		out.Events = append(out.Events, EventView{ID: r.EventID, Source: "microsoft", Subject: r.Subject, Start: r.Start, End: r.End, TimeZone: r.TimeZone,
			AllDay: r.AllDay, Location: r.Location, OnlineMeetingURL: r.OnlineMeetingURL, Attendees: r.Attendees, Organizer: &org, ShowAs: r.ShowAs,
			Sensitivity: r.Sensitivity, SeriesMasterID: r.SeriesMasterID, Type: r.Kind, BookingID: r.BookingID})
	}
	return out, nil
}

// ExportOrg is ExportMember for every member of the org with calendar data.
func (s *Service) ExportOrg(ctx context.Context, orgID string) ([]MemberExport, error) {
	users, err := s.orgMembersWithData(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := []MemberExport{}
	for _, u := range users {
		e, err := s.ExportMember(ctx, orgID, u)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteMember erases a member's calendar data: the subscriptions (at
// Graph too, when it answers), the tokens, every synced event, the links
// of bookings written to their Outlook, their working hours and pending
// connects. Actor is who asks (recorded in the activity log).
func (s *Service) DeleteMember(ctx context.Context, actor caller.Caller, orgID, userID string) error {
	c, err := s.conn(ctx, orgID, userID)
	switch {
	case err == nil:
		a := actor
		a.OrgID = orgID
		if err := s.disconnect(ctx, a, c); err != nil {
			return err
		}
	case !errors.Is(err, errNotConnected):
		return err
	}
	// What a disconnect leaves: events of calendars no longer listed,
	// sync items, working hours, pending states.
	// The sync items go first: a sync still running stops writing events
	// once they are gone (see writeSynced), so none comes back after.
	for _, pf := range []string{syncPf + userID + "#", eventSK(userID, "")} {
		rows, err := store.QueryAll[store.Keys](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: pf, Consistent: true})
		if err != nil {
			return err
		}
		var dels []types.TransactWriteItem
		for _, r := range rows {
			dels = append(dels, s.DB.Delete(r.PK, r.SK, nil))
		}
		if err := s.writeBatch(ctx, dels); err != nil {
			return err
		}
	}
	var dels []types.TransactWriteItem
	states, err := store.QueryAll[stateRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: statePf, Consistent: true})
	if err != nil {
		return err
	}
	for _, st := range states {
		if st.UserID == userID {
			dels = append(dels, s.DB.Delete(st.PK, st.SK, nil))
		}
	}
	dels = append(dels, s.DB.Delete(tenant.PK(orgID), hoursSK(userID), nil), s.DB.Delete(tenant.PK(orgID), tokenSK(userID), nil))
	return s.writeBatch(ctx, dels)
}

// WorkspaceActor is who a workspace deletion's calendar entries name.
func WorkspaceActor(orgID string) caller.Caller {
	return caller.Caller{OrgID: orgID, UserID: "system:workspace-deletion", Role: "system"}
}

// QueueDeleteOrg is the calendar's part of a workspace deletion as the
// privacy worker runs it: it hands DeleteOrg to the calendar worker
// (JobEraseOrg), the one function that holds the Microsoft secret and the
// token key (in AWS the privacy worker has neither), and changes nothing
// itself: the tokens, connections and Outlook links stay for the worker to
// remove the copies and subscriptions with. The privacy registry leaves
// the calendar's types to it (privacy_registry.go). Sent again on every
// run of the deletion; the job is idempotent. Without a queue (a bare
// build, no worker to hand to) it runs DeleteOrg here.
func (s *Service) QueueDeleteOrg(ctx context.Context, orgID string) error {
	if s.Queue == nil {
		return s.DeleteOrg(ctx, WorkspaceActor(orgID), orgID)
	}
	b, _ := json.Marshal(Job{Kind: JobEraseOrg, OrgID: orgID})
	if err := s.Queue.Send(ctx, Queue, string(b), map[string]string{"kind": JobEraseOrg}); err != nil {
		// The deletion fails and is retried (its queue, the daily run).
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The calendar's erasure could not be queued.", Err: err}
	}
	return nil
}

// DeleteOrg is DeleteMember for every member of the org with calendar data,
// after removing from their Outlook calendars the bookings written there:
// the workspace's bookings go with it, and its booking.deleted events may
// reach the worker only after the tokens that could remove the copies are
// gone. (A member's disconnect, by contrast, leaves the copies in Outlook.)
// Without Graph (a function that has not the Microsoft secret or the
// token key) it is QueueDeleteOrg: nothing is deleted here that the
// calendar worker needs.
func (s *Service) DeleteOrg(ctx context.Context, actor caller.Caller, orgID string) error {
	if _, err := s.graph(); err != nil && s.Queue != nil {
		return s.QueueDeleteOrg(ctx, orgID)
	}
	return s.deleteOrg(ctx, actor, orgID, true)
}

// eraseOrgJob is the calendar worker's JobEraseOrg: DeleteOrg for an org
// being deleted (a job for an org that is not is refused: settled).
// useGraph is false on the job's last try, and when the worker has no
// Graph (Microsoft not configured: no connection could be made either):
// the erasure then ends without Graph rather than not at all.
func (s *Service) eraseOrgJob(ctx context.Context, orgID string, useGraph bool) error {
	var org struct {
		DeletedAt string `dynamodbav:"deletedAt"`
	}
	switch err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &org); {
	case errors.Is(err, store.ErrNotFound):
		// Gone altogether: what the calendar left of it goes too.
	case err != nil:
		return err
	case org.DeletedAt == "":
		s.Log.Error("calendar erasure refused: the workspace is not being deleted", "orgId", orgID)
		return fault.E(fault.Conflict, "The workspace is not being deleted.")
	}
	return s.deleteOrg(ctx, WorkspaceActor(orgID), orgID, useGraph)
}

// deleteOrg is DeleteOrg run here; without Graph (or !useGraph) the
// copies stay in Outlook and the links go with the rest.
func (s *Service) deleteOrg(ctx context.Context, actor caller.Caller, orgID string, useGraph bool) error {
	links, err := store.QueryAll[writeRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: writePf, Consistent: true})
	if err != nil {
		return err
	}
	_, gerr := s.graph()
	if gerr == nil && !useGraph {
		gerr = errors.New("the workspace's erasure failed too often with Graph")
	}
	if gerr != nil && len(links) > 0 {
		s.Log.Warn("workspace deletion without Microsoft: bookings written to Outlook stay there", "orgId", orgID, "links", len(links), "err", gerr)
	}
	for _, l := range links {
		if gerr != nil {
			if err := s.DB.Transact(ctx, s.DB.Delete(l.PK, l.SK, nil)); err != nil {
				return err
			}
			continue
		}
		if err := s.unwrite(ctx, orgID, l); err != nil {
			return err
		}
	}
	users, err := s.orgMembersWithData(ctx, orgID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := s.DeleteMember(ctx, actor, orgID, u); err != nil {
			return err
		}
	}
	return s.sweepOrg(ctx, orgID)
}

// sweepOrg deletes what DeleteMember found no member for: every calendar
// item left in the org's partition (a link written while the erasure
// ran, tokens without a connection), with the subscription map items of
// the sync items.
func (s *Service) sweepOrg(ctx context.Context, orgID string) error {
	syncs, err := store.QueryAll[syncRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: syncPf, Consistent: true})
	if err != nil {
		return err
	}
	var dels []types.TransactWriteItem
	for _, r := range syncs {
		dels = append(dels, s.DB.Delete(r.PK, r.SK, nil))
		if r.SubscriptionID != "" {
			dels = append(dels, s.DB.Delete(subPK(r.SubscriptionID), subSK, nil))
		}
	}
	for _, pf := range []string{eventPf, writePf, statePf, hoursPf, tokenPf, connPf} {
		rows, err := store.QueryAll[store.Keys](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: pf, Consistent: true})
		if err != nil {
			return err
		}
		for _, r := range rows {
			dels = append(dels, s.DB.Delete(r.PK, r.SK, nil))
		}
	}
	return s.writeBatch(ctx, dels)
}

// orgMembersWithData lists the members with a connection or working hours.
func (s *Service) orgMembersWithData(ctx context.Context, orgID string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	conns, err := store.QueryAll[connRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: connPf, Consistent: true})
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		if !seen[c.UserID] {
			seen[c.UserID] = true
			out = append(out, c.UserID)
		}
	}
	hours, err := store.QueryAll[store.Keys](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: hoursPf, Consistent: true})
	if err != nil {
		return nil, err
	}
	for _, h := range hours {
		if u := h.SK[len(hoursPf):]; !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}
