package calendar

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// maxNotificationBody bounds a notification post (Graph batches up to a
// few hundred items).
const maxNotificationBody = 1 << 20

// maxValidationToken bounds the echoed validation token.
const maxValidationToken = 4096

// dedupeFor is how long one calendar's sync job stands for every
// notification of that calendar.
const dedupeFor = 5 * time.Second

// Notification is one item of a Graph change or lifecycle notification.
type Notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	ChangeType     string `json:"changeType"`
	LifecycleEvent string `json:"lifecycleEvent"` // reauthorizationRequired, subscriptionRemoved, missed
}

// NewWebhookRouter serves POST /webhooks/microsoft-graph: the validation
// handshake (?validationToken= echoed as text/plain at once), then change
// and lifecycle notifications, answered 202 after each item's clientState
// is checked in constant time against its subscription's (items that fail
// are dropped and logged). The work is queued, never done here, so Graph
// hears back within its 3 seconds.
func NewWebhookRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnMSGraphWebhook, httpapi.Options{Verifier: rc.Verifier, Logger: rc.Logger, MaxBody: maxNotificationBody})
	rt.Handle("POST /webhooks/microsoft-graph", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if v, ok := r.Event.QueryStringParameters["validationToken"]; ok {
			if v == "" || len(v) > maxValidationToken {
				return nil, fault.E(fault.Malformed, "The validationToken is empty or too long.")
			}
			return httpapi.Text(http.StatusOK, "text/plain", v), nil
		}
		body, err := r.Body()
		if err != nil {
			return nil, err
		}
		var in struct {
			Value []Notification `json:"value"`
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Value) == 0 {
			return nil, fault.E(fault.Malformed, "The body is not a Microsoft Graph notification.")
		}
		accepted, dropped, err := svc.Notified(ctx, in.Value)
		if err != nil {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The notification could not be queued; Graph will send it again.", Err: err}
		}
		if dropped > 0 {
			r.Log.Warn("graph notification items dropped: clientState mismatch or unknown subscription", "dropped", dropped, "accepted", accepted)
		}
		return &httpapi.Response{Status: http.StatusAccepted}, nil
	})
	return rt, rt.Check()
}

// maxNotificationItems bounds the items read of one post.
const maxNotificationItems = 500

// Notified checks a notification's items and queues their work: a delta
// sync per calendar (one per calendar for dedupeFor), a renewal for
// reauthorizationRequired, a new subscription for subscriptionRemoved.
func (s *Service) Notified(ctx context.Context, items []Notification) (accepted, dropped int, err error) {
	if len(items) > maxNotificationItems {
		dropped += len(items) - maxNotificationItems
		items = items[:maxNotificationItems]
	}
	subs := map[string]*store.KeyOut{}
	var reqs []*store.KeyOut
	for _, n := range items {
		if n.SubscriptionID == "" || len(n.SubscriptionID) > 200 || subs[n.SubscriptionID] != nil {
			continue
		}
		k := &store.KeyOut{PK: subPK(n.SubscriptionID), SK: subSK, Out: &subRow{}}
		subs[n.SubscriptionID] = k
		reqs = append(reqs, k)
	}
	for i := 0; i < len(reqs); i += 100 {
		if err := s.DB.BatchGet(ctx, reqs[i:min(i+100, len(reqs))]...); err != nil {
			return 0, 0, err
		}
	}
	jobs := map[Job]bool{}
	for _, n := range items {
		k := subs[n.SubscriptionID]
		if k == nil || !k.Found {
			dropped++
			continue
		}
		sub := k.Out.(*subRow)
		if subtle.ConstantTimeCompare([]byte(sub.ClientState), []byte(n.ClientState)) != 1 {
			dropped++
			continue
		}
		accepted++
		j := Job{Kind: JobSync, OrgID: sub.OrgID, UserID: sub.UserID, CalendarID: sub.CalendarID}
		switch n.LifecycleEvent {
		case "reauthorizationRequired":
			j.Kind = JobRenew
		case "subscriptionRemoved":
			j.Kind = JobRecreate
		}
		jobs[j] = true
	}
	for j := range jobs {
		if j.Kind == JobSync {
			first, err := s.claimSync(ctx, j)
			if err != nil {
				return accepted, dropped, err
			}
			if !first {
				continue // a sync of this calendar was queued a moment ago
			}
		}
		b, _ := json.Marshal(j)
		if s.Queue == nil {
			return accepted, dropped, errors.New("calendar: no queue")
		}
		if err := s.Queue.Send(ctx, Queue, string(b), map[string]string{"kind": j.Kind}); err != nil {
			return accepted, dropped, err
		}
	}
	return accepted, dropped, nil
}

// claimSync takes the calendar's queued-sync mark for dedupeFor: false
// when another notification took it within that time (its sync, not yet
// run, will see this change too).
func (s *Service) claimSync(ctx context.Context, j Job) (bool, error) {
	now := s.Now().UTC()
	w := s.DB.Update(tenant.PK(j.OrgID), syncSK(j.UserID, j.CalendarID), "SET queuedUntil = :u", &store.Cond{
		Expr: "attribute_exists(PK) AND (attribute_not_exists(queuedUntil) OR queuedUntil < :now)", Values: map[string]types.AttributeValue{
			":now": store.S(now.Format(stampLayout))}}, nil, map[string]types.AttributeValue{":u": store.S(now.Add(dedupeFor).Format(stampLayout))})
	err := s.DB.UpdateItem(ctx, w, nil)
	if errors.Is(err, store.ErrConditionFailed) {
		return false, nil
	}
	return err == nil, err
}
