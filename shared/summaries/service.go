package summaries

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/extract"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Queue is where summaries too long to answer at once wait for the worker.
const Queue = "summaries"

// Limits.
const (
	// SyncMaxChars is the longest text summarized within the request (one
	// model call, well inside API Gateway's 30 seconds); longer ones answer
	// 202 and run in the worker.
	SyncMaxChars = 12_000
	// MaxChars is the longest text summarized: 12 chunks, whose map-reduce
	// fits the worker's time (13 model calls of at most a minute each).
	MaxChars = 12 * ChunkChars
	// maxDocumentBytes bounds what is read from S3 for extraction.
	maxDocumentBytes = 50 << 20
)

// Service creates and keeps summaries.
type Service struct {
	DB      *store.DB
	Log     *slog.Logger
	Now     func() time.Time
	NewID   func() string
	Credits *credits.Service
	Model   ai.Model
	Docs    *documents.Service // reads the documents summarized; nil without a bucket
	Queue   queue.Sender
}

// New builds a Service.
func New(db *store.DB, log *slog.Logger, now func() time.Time, model ai.Model, docs *documents.Service, q queue.Sender) *Service {
	return &Service{DB: db, Log: log, Now: now, NewID: func() string { return ulid.Make().String() },
		Credits: credits.NewService(db, log, now), Model: model, Docs: docs, Queue: q}
}

var errNotFound = fault.E(fault.NotFound, "No such summary.")

// job is the queue message: ids only; the text is extracted again by the
// worker and never leaves our functions except to the AI provider.
type job struct {
	OrgID     string `json:"orgId"`
	SummaryID string `json:"summaryId"`
}

// Create summarizes a document at its owner's explicit request: the only
// way a document reaches the AI provider. It answers the summary ready
// (short texts) or pending (the worker finishes it), and 402 when the
// org's credits do not cover it. The spend, the summary and its activity
// entry ("summary.created": who, which document; never text) land in one
// transaction that also holds only while a is still a member allowed to use
// the AI.
func (s *Service) Create(ctx context.Context, a caller.Caller, documentID string) (Summary, error) {
	orgID, userID := a.OrgID, a.UserID
	if s.Model == nil {
		return Summary{}, ai.ErrNotConfigured
	}
	doc, text, err := s.load(ctx, orgID, documentID)
	if err != nil {
		return Summary{}, err
	}
	if err := crm.CheckProcessable(ctx, s.DB, orgID, doc.ClientID); err != nil {
		return Summary{}, err
	}
	chars := len(text.Text())
	if chars > MaxChars {
		return Summary{}, fault.Fields(fault.FieldError{Field: "documentId", Message: fmt.Sprintf(
			"the document has %d characters of text; summaries take up to %d (about 200 pages): split it and summarize the parts", chars, MaxChars)})
	}
	now := s.Now().UTC()
	sum := Summary{ID: s.NewID(), DocumentID: doc.ID, DocumentVersion: doc.Version, MatterID: doc.MatterID, Status: Pending,
		Credits: TierOf(chars).Credits, Pages: len(text.Pages), Words: text.Words(), CreatedBy: userID, CreatedAt: now, UpdatedAt: now}
	// The usage record's id is the summary's own, so a refund finds it.
	sum.UsageID = sum.ID
	sum.setKeys(orgID)
	put, err := s.DB.Put(sum, store.NotExists())
	if err != nil {
		return Summary{}, err
	}
	rec, err := activity.Record(s.DB, a, now, activity.Entry{Action: "summary.created", EntityType: "summary", EntityID: sum.ID,
		MatterID: doc.MatterID, Detail: fmt.Sprintf("document %s, version %d", doc.ID, doc.Version)})
	if err != nil {
		return Summary{}, err
	}
	_, err = s.Credits.SpendAs(ctx, sum.UsageID, orgID, userID, credits.KindSummary, sum.ID, sum.Credits, put,
		s.DB.Check(tenant.PK(orgID), documents.SK(doc.ID), *store.Exists()), rec,
		tenant.MemberWith(s.DB, orgID, userID, access.UseAI))
	if err != nil {
		switch {
		case store.Failed(err, 4):
			return Summary{}, fault.E(fault.NotFound, "No such document.")
		case store.Failed(err, 6):
			return Summary{}, tenant.ErrRoleChanged
		}
		return Summary{}, err
	}
	if chars > SyncMaxChars {
		return sum, s.enqueue(ctx, orgID, &sum)
	}
	return s.finish(ctx, orgID, sum, text)
}

// enqueue hands a pending summary to the worker; if that fails the credits
// come back and the summary is marked failed.
func (s *Service) enqueue(ctx context.Context, orgID string, sum *Summary) error {
	var err error
	if s.Queue == nil {
		err = errors.New("no queue configured")
	} else {
		b, _ := json.Marshal(job{OrgID: orgID, SummaryID: sum.ID})
		err = s.Queue.Send(ctx, Queue, string(b), nil)
	}
	if err != nil {
		s.Log.Error("summary not queued", "summaryId", sum.ID, "err", err)
		failed, ferr := s.fail(ctx, orgID, *sum, "The summary could not be started; its credits were given back.")
		*sum = failed
		if ferr != nil {
			return ferr
		}
		return &fault.Error{Kind: fault.Unavailable, RetryAfter: 30 * time.Second, Message: "The summary could not be started; try again.", Err: err}
	}
	return nil
}

// finish runs the model on text and records the result, or the failure
// (and gives the credits back). Provider trouble is answered as such, the
// failed summary kept with its reason.
func (s *Service) finish(ctx context.Context, orgID string, sum Summary, text extract.Document) (Summary, error) {
	r, err := summarize(ctx, s.Model, text)
	if err != nil {
		reason := reasonOf(err, "The AI provider could not summarize the document.") + " Its credits were given back."
		s.Log.Warn("summary failed", "summaryId", sum.ID, "err", err)
		failed, ferr := s.fail(ctx, orgID, sum, reason)
		if ferr != nil {
			return failed, ferr
		}
		return failed, err
	}
	err = s.save(ctx, orgID, &sum, func(v *Summary) {
		v.Status, v.Title, v.Summary, v.KeyPoints = Ready, r.Title, r.Summary, r.KeyPoints
	})
	return sum, err
}

// errNotPending ends a second run of finished work without touching it.
var errNotPending = errors.New("summary no longer pending")

// fail marks a summary failed and refunds its credits, in one
// transaction conditional on the summary still being pending: a second
// run of the job that fails after the first delivered changes nothing, and
// a summary is never failed without its refund (nor refunded without being
// failed). It runs to the end even when the request that ran it timed out.
func (s *Service) fail(ctx context.Context, orgID string, sum Summary, reason string) (Summary, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for range 5 {
		cur, err := s.Get(ctx, orgID, sum.ID)
		if err != nil || cur.Status != Pending {
			return cur, err // gone, or finished by another run
		}
		failed := cur
		failed.Status, failed.Error, failed.UpdatedAt = Failed, reason, s.Now().UTC()
		failed.setKeys(orgID)
		put, err := s.DB.Put(failed, store.Unchanged(cur.UpdatedAt))
		if err != nil {
			return cur, err
		}
		err = s.Credits.Refund(ctx, orgID, cur.UsageID, "summary failed", put)
		switch {
		case errors.Is(err, credits.ErrRefunded):
			// A run that died after refunding: only the status is left.
			err = s.save(ctx, orgID, &failed, func(v *Summary) { v.Status, v.Error = Failed, reason })
			if errors.Is(err, errNotPending) {
				err = nil
			}
			return failed, err
		case store.Failed(err, 4):
			continue // changed meanwhile: read again
		case err != nil:
			return cur, err
		}
		return failed, nil
	}
	return sum, fault.E(fault.Conflict, "The summary changed while it was failed; try again.")
}

// save applies change to the stored summary while it is still pending
// (re-read on a race): a second run of the same job never overwrites the
// first one's result, nor refunds work that was delivered.
func (s *Service) save(ctx context.Context, orgID string, sum *Summary, change func(*Summary)) error {
	for range 5 {
		cur, err := s.Get(ctx, orgID, sum.ID)
		if err != nil {
			return err
		}
		if cur.Status != Pending {
			return errNotPending
		}
		prev := cur.UpdatedAt
		change(&cur)
		cur.UpdatedAt = s.Now().UTC()
		cur.setKeys(orgID)
		put, err := s.DB.Put(cur, store.Unchanged(prev))
		if err != nil {
			return err
		}
		if err := s.DB.Transact(ctx, put); store.Failed(err, 0) {
			continue
		} else if err != nil {
			return err
		}
		*sum = cur
		return nil
	}
	return fault.E(fault.Conflict, "The summary changed while it was saved; try again.")
}

// load reads a ready document and extracts its current version's text.
func (s *Service) load(ctx context.Context, orgID, documentID string) (documents.Document, extract.Document, error) {
	if s.Docs == nil {
		return documents.Document{}, extract.Document{}, errors.New("summaries: no document storage configured")
	}
	doc, err := s.Docs.Get(ctx, orgID, documentID)
	if err != nil {
		return doc, extract.Document{}, err
	}
	if doc.Status != documents.StatusReady || doc.ObjectKey == "" {
		return doc, extract.Document{}, fault.Refused("summaries.document-not-ready", "The document has not finished uploading.")
	}
	body, found, err := s.Docs.Storage.Read(ctx, doc.ObjectKey, doc.S3VersionID, maxDocumentBytes)
	if err != nil {
		return doc, extract.Document{}, err
	}
	if !found {
		return doc, extract.Document{}, fault.E(fault.NotFound, "The document's file is gone.")
	}
	text, err := extract.Extract(ctx, doc.ContentType, bytes.NewReader(body), int64(len(body)))
	return doc, text, err
}

// Get reads one summary.
func (s *Service) Get(ctx context.Context, orgID, id string) (Summary, error) {
	var sum Summary
	if !check.ID(id) {
		return sum, errNotFound
	}
	if err := s.DB.Get(ctx, tenant.PK(orgID), summarySK(id), &sum); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return sum, errNotFound
		}
		return sum, err
	}
	if sum.KeyPoints == nil {
		sum.KeyPoints = []KeyPoint{}
	}
	return sum, nil
}

// List pages through a matter's summaries, newest first.
func (s *Service) List(ctx context.Context, orgID, matterID string, limit int32, start store.StartKey) ([]Summary, store.StartKey, error) {
	var out []Summary
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: matterSummariesPK(orgID, matterID), Limit: limit, StartKey: start}, &out)
	for i := range out {
		if out[i].KeyPoints == nil {
			out[i].KeyPoints = []KeyPoint{}
		}
	}
	return out, next, err
}

// Delete removes a summary (and its playback marker), with its activity
// entry, while a is still a member allowed to use the AI. Credits are not
// given back: the work was done.
func (s *Service) Delete(ctx context.Context, a caller.Caller, id string) error {
	sum, err := s.Get(ctx, a.OrgID, id)
	if err != nil {
		return err
	}
	e := activity.Entry{Action: "summary.deleted", EntityType: "summary", EntityID: id, MatterID: sum.MatterID,
		Detail: "document " + sum.DocumentID}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.UseAI, e,
		s.DB.Delete(tenant.PK(a.OrgID), summarySK(id), store.Exists()), s.DB.Delete(tenant.PK(a.OrgID), speechSK(id), nil))
	if store.Failed(err, 0) {
		return errNotFound // deleted meanwhile
	}
	return err
}

// Work is the worker's part: summarize a pending summary. It returns an
// error only when the job should be retried (the provider is down); any
// other failure is recorded on the summary, with the credits given back.
func (s *Service) Work(ctx context.Context, orgID, id string) error {
	sum, err := s.Get(ctx, orgID, id)
	if fault.Is(err, fault.NotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if sum.Status != Pending {
		return nil // a redelivery of finished work
	}
	doc, text, err := s.load(ctx, orgID, sum.DocumentID)
	if err == nil && doc.Version != sum.DocumentVersion {
		err = fault.E(fault.Conflict, "A new version of the document was uploaded; summarize it again.")
	}
	if err != nil {
		_, ferr := s.fail(ctx, orgID, sum, reasonOf(err, "The document could not be read."))
		return ferr
	}
	// A failure of the work is recorded on the summary, its credits given
	// back, and the job ends; a failure to record anything is retried.
	_, err = s.finish(ctx, orgID, sum, text)
	switch {
	case err == nil, errors.Is(err, errNotPending):
		return nil
	case fault.As(err) != nil:
		s.Log.Warn("summary failed", "summaryId", id, "err", err)
		return nil
	}
	return err
}

// reasonOf is an error's client-safe message, def for internal errors.
func reasonOf(err error, def string) string {
	if f := fault.As(err); f != nil {
		return f.Message
	}
	return def
}
