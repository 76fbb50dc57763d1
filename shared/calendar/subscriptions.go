package calendar

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// subscriptionLife is how long a subscription is asked for: under
// Outlook's maximum of 10080 minutes (7 days).
const subscriptionLife = 7*24*time.Hour - time.Hour

// renewAhead is how long before expiry the schedule renews.
const renewAhead = 24 * time.Hour

// Schedules: renewals hourly, the safety-net sync every 15 minutes.
const (
	RenewEvery = time.Hour
	SyncEvery  = 15 * time.Minute
)

// Subscribe runs a calendar's first sync and creates its subscription.
func (s *Service) Subscribe(ctx context.Context, orgID, userID, calID string) error {
	if _, err := s.Sync(ctx, orgID, userID, calID); err != nil {
		return err
	}
	return s.ensureSubscription(ctx, orgID, userID, calID, false)
}

// ensureSubscription creates the calendar's subscription when it has none
// (or when recreate), or renews it; a renewal Graph answers 404 to is a
// subscription it removed: a new one is made.
func (s *Service) ensureSubscription(ctx context.Context, orgID, userID, calID string, recreate bool) error {
	g, err := s.graph()
	if err != nil {
		return err
	}
	var sr syncRow
	if err := s.DB.Get(ctx, tenant.PK(orgID), syncSK(userID, calID), &sr); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // no longer synced
		}
		return err
	}
	exp := s.Now().UTC().Add(subscriptionLife).Truncate(time.Second)
	if sr.SubscriptionID != "" && !recreate {
		var sub Subscription
		err := s.withToken(ctx, orgID, userID, func(at string) error {
			var err error
			sub, err = g.Renew(ctx, at, sr.SubscriptionID, exp)
			return err
		})
		if err == nil {
			return s.saveSubscription(ctx, sr, sr.SubscriptionID, sr.ClientState, sub.Expires, false)
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		s.Log.Info("subscription gone at Graph: recreating", "orgId", orgID, "userId", userID)
	}
	if sr.SubscriptionID != "" {
		old := sr.SubscriptionID
		_ = s.withToken(ctx, orgID, userID, func(at string) error { return g.Unsubscribe(ctx, at, old) })
	}
	state := random(24)
	var sub Subscription
	err = s.withToken(ctx, orgID, userID, func(at string) error {
		var err error
		sub, err = g.Subscribe(ctx, at, SubscribeRequest{CalendarID: calID, NotificationURL: s.NotificationURL, ClientState: state, Expires: exp})
		return err
	})
	if err != nil {
		return err
	}
	return s.saveSubscription(ctx, sr, sub.ID, state, sub.Expires, true)
}

// saveSubscription records a created or renewed subscription on the
// calendar's sync item and, for a new one, its map item (the old one's
// removed).
func (s *Service) saveSubscription(ctx context.Context, sr syncRow, id, clientState string, expires time.Time, created bool) error {
	if expires.IsZero() {
		expires = s.Now().UTC().Add(subscriptionLife)
	}
	old := sr.SubscriptionID
	sr.SubscriptionID, sr.ClientState, sr.SubExpires = id, clientState, expires.UTC()
	sr.setKeys()
	upd := s.DB.Update(sr.PK, sr.SK, "SET subscriptionId = :i, clientState = :c, subExpires = :e, GSI1SK = :g", store.Exists(), nil,
		map[string]types.AttributeValue{":i": store.S(id), ":c": store.S(clientState), ":e": store.S(sr.SubExpires.Format(time.RFC3339Nano)), ":g": store.S(sr.GSI1SK)})
	items := []types.TransactWriteItem{upd}
	if created {
		m, err := s.DB.Put(subRow{Keys: store.Keys{PK: subPK(id), SK: subSK, Type: "msgraphSubscription"}, OrgID: sr.OrgID, UserID: sr.UserID,
			CalendarID: sr.CalendarID, ClientState: clientState}, nil)
		if err != nil {
			return err
		}
		items = append(items, m)
		if old != "" && old != id {
			items = append(items, s.DB.Delete(subPK(old), subSK, nil))
		}
	}
	err := s.DB.Transact(ctx, items...)
	if store.Failed(err, 0) {
		return nil // the calendar was dropped meanwhile
	}
	return err
}

// syncedCalendars lists every synced calendar, or those whose
// subscription expires before until.
func (s *Service) syncedCalendars(ctx context.Context, until time.Time) ([]syncRow, error) {
	q := store.Query{Index: store.IndexGSI1, PK: syncIndex, Forward: true}
	if !until.IsZero() {
		q.SKFrom, q.SKTo = "0", timeKey(until)+"#~"
	}
	return store.QueryAll[syncRow](ctx, s.DB, q)
}

// RunRenewals is the renewal schedule: one renew job per subscription
// expiring within renewAhead (or missing).
func (s *Service) RunRenewals(ctx context.Context) error {
	rows, err := s.syncedCalendars(ctx, s.Now().Add(renewAhead))
	if err != nil {
		return err
	}
	for _, r := range rows {
		s.enqueue(ctx, Job{Kind: JobRenew, OrgID: r.OrgID, UserID: r.UserID, CalendarID: r.CalendarID})
	}
	s.Log.Info("calendar renewals queued", "count", len(rows))
	return nil
}

// RunSafetyNet is the 15-minute schedule: one sync job per synced calendar,
// in case a notification was lost.
func (s *Service) RunSafetyNet(ctx context.Context) error {
	rows, err := s.syncedCalendars(ctx, time.Time{})
	if err != nil {
		return err
	}
	for _, r := range rows {
		s.enqueue(ctx, Job{Kind: JobSync, OrgID: r.OrgID, UserID: r.UserID, CalendarID: r.CalendarID})
	}
	s.Log.Info("calendar syncs queued", "count", len(rows))
	return nil
}
