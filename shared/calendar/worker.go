package calendar

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
)

// Worker runs the Queue's jobs.
type Worker struct{ svc *Service }

// NewWorker returns the worker of Queue.
func NewWorker(svc *Service) *Worker { return &Worker{svc: svc} }

// Handle runs each job and reports the ones that failed, which SQS
// delivers again (then to the DLQ, with an alarm). A message is a Job,
// or a booking event as EventBridge delivers it to the queue.
func (w *Worker) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range batch.Records {
		job, ok := parseJob(m.Body)
		if !ok {
			w.svc.Log.Error("unreadable calendar job", "messageId", m.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		start := time.Now()
		if job.Kind == JobEraseOrg && lastTry(m) {
			// A workspace's erasure ends even when Graph keeps failing:
			// its last try erases without it (the copies stay in Outlook).
			job.Kind = jobEraseOrgOffline
		}
		if err := w.svc.Run(ctx, job); err != nil && !settled(err) {
			w.svc.Log.Error("calendar job failed", "messageId", m.MessageId, "kind", job.Kind, "orgId", job.OrgID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		w.svc.Log.Info("calendar job done", "kind", job.Kind, "orgId", job.OrgID, "ms", float64(time.Since(start).Microseconds())/1000)
	}
	return resp, nil
}

// maxReceives is the queue's maxReceiveCount (infra's and the local
// broker's): the receive after which a failed job goes to the DLQ.
const maxReceives = 5

// lastTry reports whether m's failure would send it to the DLQ.
func lastTry(m events.SQSMessage) bool {
	n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n >= maxReceives
}

// jobEraseOrgOffline is JobEraseOrg on its last try: never queued.
const jobEraseOrgOffline = "erase-org-offline"

// settled is a job that cannot succeed by being tried again: the
// calendar was disconnected or needs a reconnect, or a record is gone.
func settled(err error) bool {
	fe := fault.As(err)
	return fe != nil && (fe.Kind == fault.Conflict || fe.Kind == fault.NotFound)
}

// BookingEvents are the domain events the worker writes back to Outlook.
var BookingEvents = []string{"booking.created", "booking.updated", "booking.deleted", "booking.canceled"}

// MemberEvents are the domain events after which the worker erases a
// member's calendar data: a removed member or a deleted account keeps no
// synced events, tokens or subscriptions.
var MemberEvents = []string{"member.removed"}

// Events are every domain event the worker takes from the bus.
var Events = append(slices.Clone(BookingEvents), MemberEvents...)

func parseJob(body string) (Job, bool) {
	var probe struct {
		Job
		DetailType string `json:"detail-type"`
		Detail     struct {
			OrgID     string `json:"orgId"`
			BookingID string `json:"bookingId"`
			EntityID  string `json:"entityId"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return Job{}, false
	}
	if slices.Contains(MemberEvents, probe.DetailType) {
		j := Job{Kind: JobErase, OrgID: probe.Detail.OrgID, UserID: probe.Detail.EntityID}
		return j, j.OrgID != "" && j.UserID != ""
	}
	if probe.DetailType != "" {
		j := Job{Kind: JobWriteBack, OrgID: probe.Detail.OrgID, BookingID: probe.Detail.BookingID}
		return j, j.OrgID != "" && j.BookingID != ""
	}
	j := probe.Job
	switch j.Kind {
	case JobSync, JobSubscribe, JobRenew, JobRecreate:
		return j, j.OrgID != "" && j.UserID != "" && j.CalendarID != ""
	case JobWriteBack:
		return j, j.OrgID != "" && j.BookingID != ""
	case JobEraseOrg:
		return j, j.OrgID != ""
	}
	return Job{}, false
}

// Run runs one job.
func (s *Service) Run(ctx context.Context, j Job) error {
	switch j.Kind {
	case JobSync:
		_, err := s.Sync(ctx, j.OrgID, j.UserID, j.CalendarID)
		return err
	case JobSubscribe:
		return s.Subscribe(ctx, j.OrgID, j.UserID, j.CalendarID)
	case JobRenew:
		return s.ensureSubscription(ctx, j.OrgID, j.UserID, j.CalendarID, false)
	case JobRecreate:
		if err := s.ensureSubscription(ctx, j.OrgID, j.UserID, j.CalendarID, true); err != nil {
			return err
		}
		_, err := s.Sync(ctx, j.OrgID, j.UserID, j.CalendarID) // what changed while it was gone
		return err
	case JobWriteBack:
		return s.WriteBack(ctx, j.OrgID, j.BookingID)
	case JobErase:
		// The member is gone: the system acts (and is recorded) for them.
		return s.DeleteMember(ctx, caller.Caller{OrgID: j.OrgID, UserID: "system:member-removed", Role: "system"}, j.OrgID, j.UserID)
	case JobEraseOrg, jobEraseOrgOffline:
		return s.eraseOrgJob(ctx, j.OrgID, j.Kind == JobEraseOrg)
	}
	return nil
}

// Schedules, as the EventBridge rules' constant input names them.
const (
	ScheduleRenew = "calendar-renew" // hourly: renew subscriptions
	ScheduleSync  = "calendar-sync"  // every 15 minutes: one sync per calendar
)

// Invoke is the calendarworker function's handler: an SQS batch of the
// Queue, or a schedule's {"schedule": name}.
func (w *Worker) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Schedule string            `json:"schedule"`
		Records  []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	switch probe.Schedule {
	case ScheduleRenew:
		return nil, w.svc.RunRenewals(ctx)
	case ScheduleSync:
		return nil, w.svc.RunSafetyNet(ctx)
	case "":
	default:
		return nil, fmt.Errorf("calendar: unknown schedule %q", probe.Schedule)
	}
	var batch events.SQSEvent
	if err := json.Unmarshal(raw, &batch); err != nil {
		return nil, err
	}
	return w.Handle(ctx, batch)
}
