package calendar

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Queue is the calendar's job queue: syncs, subscriptions and write-backs.
// A failed job is retried by the queue (its visibility timeout the
// backoff), then goes to the dead-letter queue after 5 receives.
const Queue = "calendar-sync"

// Job kinds.
const (
	JobSync      = "sync"      // delta sync of one calendar
	JobSubscribe = "subscribe" // first sync and a subscription of a calendar just chosen
	JobRenew     = "renew"     // renew a subscription (recreate it when Graph lost it)
	JobRecreate  = "recreate"  // Graph removed the subscription: make a new one
	JobWriteBack = "writeback" // write a booking to its members' Outlook calendars
	JobErase     = "erase"     // a member left: their connection, tokens and events go
	JobEraseOrg  = "erase-org" // the workspace is being deleted: DeleteOrg, with Graph (see QueueDeleteOrg)
)

// Job is a Queue message.
type Job struct {
	Kind       string `json:"kind"`
	OrgID      string `json:"orgId"`
	UserID     string `json:"userId,omitempty"`
	CalendarID string `json:"calendarId,omitempty"`
	BookingID  string `json:"bookingId,omitempty"`
}

// The sync window: Graph's calendarView needs one.
const (
	windowBack  = 30 * 24 * time.Hour
	windowAhead = 365 * 24 * time.Hour
)

// zeroTime clears a time attribute (a SET, not a REMOVE: the local
// DynamoDB stand-in does not always apply a REMOVE).
const zeroTime = "0001-01-01T00:00:00.000000000Z"

// stampLayout writes the times conditions compare as strings: fixed
// width, so the order of the strings is the order of the times.
const stampLayout = "2006-01-02T15:04:05.000000000Z"

// SyncResult counts what a sync did.
type SyncResult struct {
	Pages, Upserts, Removed int
	Reset                   bool // Graph dropped the sync state: a full resync ran
}

// Sync brings one calendar up to date: its stored delta link is followed
// page by page to the next delta link; a 410 or syncStateNotFound starts
// over without a link and, once through, removes the stored events Graph
// no longer lists, so the result has no duplicates and no gaps. After each
// page's writes its nextLink is saved on the calendar's sync item, so a
// sync cut short (a Lambda timeout, an error) resumes at the next page on
// its next run instead of starting over; the final deltaLink replaces it.
// An unchanged calendar costs one Graph call, one DynamoDB read and no
// write.
func (s *Service) Sync(ctx context.Context, orgID, userID, calID string) (SyncResult, error) {
	var res SyncResult
	g, err := s.graph()
	if err != nil {
		return res, err
	}
	var conn connRow
	var sr syncRow
	var tr tokenRow
	reqs := []*store.KeyOut{{PK: tenant.PK(orgID), SK: connSK(userID), Out: &conn}, {PK: tenant.PK(orgID), SK: syncSK(userID, calID), Out: &sr},
		{PK: tenant.PK(orgID), SK: tokenSK(userID), Out: &tr}}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return res, err
	}
	if !reqs[0].Found || !reqs[1].Found || !reqs[2].Found || conn.Status != StatusConnected {
		return res, nil // disconnected, not synced or waiting for a reconnect: nothing to do
	}
	if sr.QueuedUntil.After(s.Now()) {
		// A notification's sync starts: the next notification queues
		// another, which sees whatever this one's delta misses.
		clr := s.DB.Update(tenant.PK(orgID), syncSK(userID, calID), "SET queuedUntil = :z", store.Exists(), nil,
			map[string]types.AttributeValue{":z": store.S(zeroTime)})
		if err := s.DB.UpdateItem(ctx, clr, nil); err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return res, err
		}
	}
	at, err := s.accessTokenFrom(ctx, orgID, userID, &tr, false)
	if err != nil {
		return res, err
	}
	now := s.Now().UTC()
	from, to := now.Add(-windowBack), now.Add(windowAhead)
	link, gen := sr.DeltaLink, ""
	resumed := sr.NextLink != ""
	if resumed {
		link, gen = sr.NextLink, sr.FullGen // an earlier run's pages are written: go on after them
	} else if link == "" {
		gen = random(9)
	}
	full := gen != ""
	var flow []Event // write-backs among the changes, for bookings
	var removed []string
	for res.Pages < 10000 {
		var page DeltaPage
		err := s.call(ctx, orgID, userID, &at, func(access string) error {
			var err error
			page, err = g.Delta(ctx, access, calID, link, from, to)
			return err
		})
		if errors.Is(err, ErrSyncReset) && (!full || resumed) {
			s.Log.Info("calendar sync state gone: full resync", "orgId", orgID, "userId", userID)
			full, link, gen, resumed, res.Reset = true, "", random(9), false, true
			continue
		}
		if err != nil {
			return res, err
		}
		res.Pages++
		items, rm, up := s.pageWrites(orgID, userID, calID, page.Events, gen)
		if err := s.writeSynced(ctx, orgID, userID, calID, items); err != nil {
			if errors.Is(err, errSyncGone) {
				s.Log.Info("calendar sync stopped: no longer synced", "orgId", orgID, "userId", userID)
				return res, nil
			}
			return res, err
		}
		res.Upserts += up
		res.Removed += len(rm)
		removed = append(removed, rm...)
		for _, e := range page.Events {
			if !e.Removed && e.TransactionID != "" {
				flow = append(flow, e)
			}
		}
		if page.NextLink != "" {
			// The page is written: a run cut short from here resumes at
			// the next one. Only while the calendar is still synced.
			save := s.DB.Update(tenant.PK(orgID), syncSK(userID, calID), "SET nextLink = :n, fullGen = :g", store.Exists(), nil,
				map[string]types.AttributeValue{":n": store.S(page.NextLink), ":g": store.S(gen)})
			if err := s.DB.UpdateItem(ctx, save, nil); err != nil {
				if errors.Is(err, store.ErrConditionFailed) {
					return res, nil // no longer synced (or disconnected) meanwhile
				}
				return res, err
			}
			link = page.NextLink
			continue
		}
		link = page.DeltaLink
		break
	}
	if full {
		n, err := s.deleteEvents(ctx, orgID, userID, func(r eventRow) bool { return r.CalendarID == calID && r.SyncGen != gen })
		if err != nil {
			return res, err
		}
		res.Removed += n
	}
	if link != sr.DeltaLink || sr.NextLink != "" || res.Upserts > 0 || res.Removed > 0 {
		stamp := store.S(now.Format(stampLayout))
		upd := s.DB.Update(tenant.PK(orgID), syncSK(userID, calID), "SET deltaLink = :l, syncedAt = :t, nextLink = :e, fullGen = :e", store.Exists(), nil,
			map[string]types.AttributeValue{":l": store.S(link), ":t": stamp, ":e": store.S("")})
		last := s.DB.Update(tenant.PK(orgID), connSK(userID), "SET lastSyncAt = :t", store.Exists(), nil, map[string]types.AttributeValue{":t": stamp})
		if err := s.DB.Transact(ctx, upd, last); err != nil && !store.Failed(err, 0) && !store.Failed(err, 1) {
			return res, err
		}
	}
	if len(flow) > 0 || len(removed) > 0 {
		s.flowBack(ctx, orgID, userID, flow, removed)
	}
	return res, nil
}

// pageWrites are one page's puts and deletes (the last change of an
// event in a page wins), the ids removed and the count of upserts. gen,
// in a full sync, marks the events it lists.
func (s *Service) pageWrites(orgID, userID, calID string, evs []Event, gen string) ([]types.TransactWriteItem, []string, int) {
	last := map[string]int{}
	for i, e := range evs {
		last[e.ID] = i
	}
	var items []types.TransactWriteItem
	var removed []string
	ups := 0
	for i, e := range evs {
		if last[e.ID] != i || e.ID == "" {
			continue
		}
		if e.Removed {
			removed = append(removed, e.ID)
			items = append(items, s.DB.Delete(tenant.PK(orgID), eventSK(userID, e.ID), nil))
			continue
		}
		if e.Type == "seriesMaster" {
			continue // calendarView lists its occurrences
		}
		r := toRow(userID, calID, e)
		r.SyncGen = gen
		r.setKeys(orgID)
		put, err := s.DB.Put(r, nil)
		if err != nil {
			s.Log.Error("synced event not encoded", "eventId", e.ID, "err", err)
			continue
		}
		items = append(items, put)
		ups++
	}
	return items, removed, ups
}

// Field bounds of a stored event: Graph's are larger than the app shows.
const (
	maxSubject   = 500
	maxLocation  = 500
	maxAttendees = 100
)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

func toRow(userID, calID string, e Event) eventRow {
	att := e.Attendees
	if len(att) > maxAttendees {
		att = att[:maxAttendees]
	}
	return eventRow{UserID: userID, CalendarID: calID, EventID: e.ID, Subject: clip(e.Subject, maxSubject), Start: e.Start, End: e.End,
		TimeZone: e.TimeZone, AllDay: e.AllDay, Location: clip(e.Location, maxLocation), OnlineMeetingURL: clip(e.OnlineMeetingURL, 2000),
		Attendees: att, Organizer: e.Organizer, ShowAs: e.ShowAs, Sensitivity: e.Sensitivity, SeriesMasterID: e.SeriesMasterID, Kind: e.Type,
		BookingID: e.TransactionID, LastModified: e.LastModified}
}

// deleteEvents deletes the member's stored events that match, in
// transactions of 100, and counts them.
func (s *Service) deleteEvents(ctx context.Context, orgID, userID string, match func(eventRow) bool) (int, error) {
	rows, err := store.QueryAll[eventRow](ctx, s.DB, store.Query{PK: tenant.PK(orgID), SKPrefix: eventSK(userID, ""), Consistent: true})
	if err != nil {
		return 0, err
	}
	var dels []types.TransactWriteItem
	for _, r := range rows {
		if match(r) {
			dels = append(dels, s.DB.Delete(r.PK, r.SK, nil))
		}
	}
	return len(dels), s.writeBatch(ctx, dels)
}

// call runs a Graph call with the access token at, refreshing it once
// after a 401 (at then holds the new one).
func (s *Service) call(ctx context.Context, orgID, userID string, at *string, fn func(access string) error) error {
	err := fn(*at)
	if !errors.Is(err, ErrUnauthorized) {
		return err
	}
	fresh, err := s.accessToken(ctx, orgID, userID, true)
	if err != nil {
		return err
	}
	*at = fresh
	return fn(fresh)
}

// SyncMember queues a sync of each of the member's synced calendars
// (POST /v1/calendar/sync).
func (s *Service) SyncMember(ctx context.Context, orgID, userID string) error {
	c, err := s.conn(ctx, orgID, userID)
	if err != nil {
		return err
	}
	if c.Status != StatusConnected {
		return errReconnect
	}
	for _, cal := range c.Calendars {
		if cal.Sync {
			s.enqueue(ctx, Job{Kind: JobSync, OrgID: orgID, UserID: userID, CalendarID: cal.ID})
		}
	}
	return nil
}
