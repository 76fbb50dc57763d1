package summaries

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/drafts"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// Register serves the summary routes on rt.
func Register(rt *httpapi.Router, svc *Service, cursors *cursor.Sealer) {
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
		if _, err := crm.LoadMatter(ctx, svc.DB, r.Principal.OrgID, r.Param("matterId")); err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, cursors, "summaries|"+r.Param("matterId"), func(limit int32, start store.StartKey) ([]Summary, store.StartKey, error) {
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

// NewRouter serves the ai function: summaries from svc, and drafts from a
// drafts service sharing its model, credits and documents.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnAI, rc.Options)
	Register(rt, svc, rc.Cursors)
	drafts.Register(rt, &drafts.Service{DB: svc.DB, Credits: svc.Credits, Model: svc.Model, Docs: svc.Docs, Now: svc.Now})
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
