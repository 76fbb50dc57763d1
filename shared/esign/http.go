package esign

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// NewRouter serves the esign function's API routes.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnESign, rc.Options)
	rt.Handle("POST /v1/documents/{documentId}/signature-requests", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		replayed := false
		resp, err := httpapi.DecodeAnd(r, access.SendSignatures, func(in SendInput) (any, error) {
			req, again, err := svc.Send(ctx, r.Principal, r.Header(idempotency.Header), r.Param("documentId"), in)
			replayed = again
			return req, err
		}, http.StatusCreated)
		if err == nil && replayed {
			resp.Headers = map[string]string{idempotency.ReplayedHeader: "true"}
		}
		return resp, err
	})
	rt.Handle("GET /v1/signature-requests/{requestId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadSignatures); err != nil {
			return nil, err
		}
		req, err := svc.Get(ctx, r.Principal.OrgID, r.Param("requestId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, req), nil
	})
	rt.Handle("GET /v1/matters/{matterId}/signature-requests", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadSignatures); err != nil {
			return nil, err
		}
		matterID := r.Param("matterId")
		return httpapi.ListPage(r, rc.Cursors, "signature-requests?"+matterID, func(limit int32, start store.StartKey) ([]Request, store.StartKey, error) {
			return svc.List(ctx, r.Principal.OrgID, matterID, limit, start)
		})
	})
	rt.Handle("POST /v1/signature-requests/{requestId}/cancel", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.SendSignatures); err != nil {
			return nil, err
		}
		req, err := svc.Cancel(ctx, r.Principal, r.Param("requestId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, req), nil
	})
	rt.Handle("POST /v1/signature-requests/{requestId}/remind", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.SendSignatures, func(in RemindInput) (any, error) {
			return svc.Remind(ctx, r.Principal, r.Param("requestId"), in)
		}, http.StatusOK)
	})
	return rt, rt.Check()
}

// Webhook is what the Dropbox Sign callback needs: the API key, which
// keys the event hashes ("" or UnsetSecret until set: 503), and the queue
// of signed-file downloads.
type Webhook struct {
	APIKey string
	Queue  queue.Sender
}

// UnsetSecret is the Dropbox Sign secret's value until the operator sets it.
const UnsetSecret = "unset"

// maxCallbackBody bounds a callback (an event with its request's details).
const maxCallbackBody = 1 << 20

// NewWebhookRouter serves POST /webhooks/dropbox-sign: the event hash is
// checked before anything else (a wrong one is a 401 and stores nothing),
// then the event is applied and, once the signed file is downloadable, a
// download queued. Success is answered with CallbackAnswer, the only body
// Dropbox Sign accepts; a failure is a 5xx, which it retries.
func NewWebhookRouter(svc *Service, wh Webhook, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnDropboxSignWebhook, httpapi.Options{Verifier: rc.Verifier, Logger: rc.Logger, MaxBody: maxCallbackBody})
	rt.Handle("POST /webhooks/dropbox-sign", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if wh.APIKey == "" || wh.APIKey == UnsetSecret {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
				Message: "The Dropbox Sign callback is not configured: set DROPBOX_SIGN_API_KEY (locally) or the Dropbox Sign secret in AWS."}
		}
		body, err := r.Body()
		if err != nil {
			return nil, err
		}
		ev, err := ParseCallback(r.Header("Content-Type"), body)
		if err != nil {
			return nil, fault.E(fault.Malformed, "The body is not a Dropbox Sign event (a json field of multipart/form-data, or JSON).")
		}
		if !ev.Verified(wh.APIKey) {
			return nil, fault.E(fault.Unauthorized, "The event_hash does not verify.")
		}
		answer := httpapi.Text(http.StatusOK, "text/plain; charset=utf-8", CallbackAnswer)
		if ev.Event.Type == "callback_test" {
			return answer, nil
		}
		applied, err := svc.Apply(ctx, ev)
		if err != nil {
			return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The event could not be applied; Dropbox Sign will send it again.", Err: err}
		}
		if applied.Download {
			if wh.Queue == nil {
				return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The signed-file queue is not configured."}
			}
			job, _ := json.Marshal(FileJob{OrgID: applied.OrgID, RequestID: applied.RequestID})
			if err := wh.Queue.Send(ctx, FilesQueue, string(job), map[string]string{"requestId": applied.RequestID}); err != nil {
				return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The download could not be queued; Dropbox Sign will send the event again.", Err: err}
			}
		}
		return answer, nil
	})
	return rt, rt.Check()
}
