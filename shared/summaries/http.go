package summaries

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/drafts"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// FromDeps builds the service for a function; model is nil-safe (the
// routes then answer 503 saying what to set).
func FromDeps(d *platform.Deps, model ai.Model) *Service {
	var docs *documents.Service
	if d.S3 != nil && d.Config.BucketName != "" {
		docs = documents.NewService(d.DB, documents.NewStorage(d.S3, d.Config.BucketName, d.Config.KMSKeyID), d.Log, d.Now)
	}
	return New(d.DB, d.Log, d.Now, model, docs, d.Queue)
}

// Register serves the summary routes on rt.
func Register(rt *httpapi.Router, d *platform.Deps, svc *Service) {
	rt.Handle("POST /v1/documents/{documentId}/summaries", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseAI); err != nil {
			return nil, err
		}
		sum, err := svc.Create(ctx, r.Principal, r.Param("documentId"))
		if err != nil {
			return nil, err
		}
		if sum.Status == Pending {
			return httpapi.JSON(http.StatusAccepted, sum), nil
		}
		return httpapi.JSON(http.StatusCreated, sum), nil
	})
	rt.Handle("GET /v1/matters/{matterId}/summaries", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadDocuments); err != nil {
			return nil, err
		}
		if _, err := crm.LoadMatter(ctx, d.DB, r.Principal.OrgID, r.Param("matterId")); err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, d.Cursors, "summaries|"+r.Param("matterId"), func(limit int32, start store.StartKey) ([]Summary, store.StartKey, error) {
			return svc.List(ctx, r.Principal.OrgID, r.Param("matterId"), limit, start)
		})
	})
	rt.Handle("GET /v1/summaries/{summaryId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadDocuments); err != nil {
			return nil, err
		}
		sum, err := svc.Get(ctx, r.Principal.OrgID, r.Param("summaryId"))
		return httpapi.JSON(http.StatusOK, sum), err
	})
	rt.Handle("DELETE /v1/summaries/{summaryId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.UseAI); err != nil {
			return nil, err
		}
		if err := svc.Delete(ctx, r.Principal, r.Param("summaryId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
}

// NewRouter serves the ai function: summaries and drafts.
func NewRouter(d *platform.Deps, model ai.Model) (*httpapi.Router, error) {
	svc := FromDeps(d, model)
	rt := httpapi.NewRouter(routes.FnAI, d.RouterOptions())
	Register(rt, d, svc)
	drafts.Register(rt, &drafts.Service{DB: d.DB, Credits: svc.Credits, Model: model, Docs: svc.Docs, Now: d.Now})
	return rt, rt.Check()
}

// Handle is the worker on the summaries queue (functions/aiworker).
func (s *Service) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		var j job
		if err := json.Unmarshal([]byte(rec.Body), &j); err != nil || j.OrgID == "" || j.SummaryID == "" {
			s.Log.Error("unreadable summary job dropped", "sqsMessageId", rec.MessageId)
			continue
		}
		if err := s.Work(ctx, j.OrgID, j.SummaryID); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}
