package summaries

import (
	"context"
	"io"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Speech starts a playback of a ready summary: the audio as the provider
// streams it, never stored. The first playback costs SpeechCredits, taken
// in one transaction with the summary's "spoken" marker, so two first
// playbacks at once charge once; replays are free. If the provider fails
// before any audio, a first playback's credit comes back. Every playback
// sends the summary to the provider, so every one is recorded
// ("summary.read-aloud", in the same transaction as its spend, or alone for
// a replay) and holds only while a is still a member allowed to use the AI.
func (s *Service) Speech(ctx context.Context, a caller.Caller, id string) (io.ReadCloser, error) {
	orgID, userID := a.OrgID, a.UserID
	if s.Model == nil {
		return nil, ai.ErrNotConfigured
	}
	sum, err := s.Get(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if sum.Status != Ready {
		return nil, fault.Refused("summaries.not-ready", "The summary is not ready to be read aloud.")
	}
	if err := crm.CheckMatterProcessable(ctx, s.DB, orgID, sum.MatterID); err != nil {
		return nil, err
	}
	marker, err := s.DB.Put(store.Keys{PK: tenant.PK(orgID), SK: speechSK(id), Type: "summarySpoken"}, store.NotExists())
	if err != nil {
		return nil, err
	}
	e := activity.Entry{Action: "summary.read-aloud", EntityType: "summary", EntityID: id, MatterID: sum.MatterID,
		Detail: "document " + sum.DocumentID}
	rec, err := activity.Record(s.DB, a, s.Now(), e)
	if err != nil {
		return nil, err
	}
	exists := s.DB.Check(tenant.PK(orgID), summarySK(id), *store.Exists())
	var usage *credits.Usage
	u, err := s.Credits.Spend(ctx, orgID, userID, credits.KindSpeech, id, SpeechCredits, marker, exists, rec,
		tenant.MemberWith(s.DB, orgID, userID, access.UseAI))
	switch {
	case store.Failed(err, 3):
		// Played before: a free replay, recorded all the same.
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.UseAI, e, exists)
		if store.Failed(err, 0) {
			return nil, errNotFound
		}
		if err != nil {
			return nil, err
		}
	case store.Failed(err, 4):
		return nil, errNotFound
	case store.Failed(err, 6):
		return nil, tenant.ErrRoleChanged
	case err != nil:
		return nil, err
	default:
		usage = &u
	}
	audio, err := s.Model.Speech(ctx, ai.SpeechRequest{Input: speechText(sum)})
	if err != nil && usage != nil {
		// Nothing was heard: the next playback is the first again.
		if rerr := s.Credits.Refund(ctx, orgID, usage.ID, "speech failed"); rerr != nil {
			s.Log.Error("speech credit not refunded", "summaryId", id, "err", rerr)
		} else if derr := s.DB.Transact(ctx, s.DB.Delete(tenant.PK(orgID), speechSK(id), nil)); derr != nil {
			s.Log.Error("speech marker not removed", "summaryId", id, "err", derr)
		}
	}
	return audio, err
}

// SpeechHandler serves GET /v1/summaries/{summaryId}/speech as a streaming
// Lambda function URL (RESPONSE_STREAM): the audio goes to the browser as
// the provider sends it. It checks the access token itself, since a
// function URL has no API Gateway authorizer in front.
type SpeechHandler struct {
	Svc      *Service
	Verifier httpapi.Verifier
	Members  httpapi.Members // the caller's current membership, as routers check it
}

// Handle answers one request.
func (h SpeechHandler) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	audio, err := h.open(ctx, req)
	if err != nil {
		if fe := fault.As(err); fe == nil || fe.Err != nil {
			// What the client is not told (a 500's cause, a provider's
			// error) is logged, as the API routers do; never any text.
			h.Svc.Log.Error("speech failed", "requestId", req.RequestContext.RequestID, "err", err)
		}
		p, headers := httpapi.ProblemFor(err, req.RequestContext.RequestID)
		resp := httpapi.ProblemResponse(p)
		for k, v := range headers {
			resp.Headers[k] = v
		}
		httpapi.SecureHeaders(resp.Headers)
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: resp.StatusCode, Headers: resp.Headers, Body: strings.NewReader(resp.Body)}, nil
	}
	h2 := map[string]string{"Content-Type": "audio/mpeg"}
	httpapi.SecureHeaders(h2)
	return &events.LambdaFunctionURLStreamingResponse{StatusCode: 200, Body: &closingReader{audio}, Headers: h2}, nil
}

func (h SpeechHandler) open(ctx context.Context, req events.LambdaFunctionURLRequest) (io.ReadCloser, error) {
	if req.RequestContext.HTTP.Method != "GET" {
		return nil, fault.E(fault.MethodNotAllowed, "Only GET reads a summary aloud.")
	}
	route, params, _ := routes.Match("GET", req.RawPath)
	if route.Function != routes.FnSpeech {
		return nil, fault.E(fault.NotFound, "No such route.")
	}
	p, _, err := httpapi.Authenticate(ctx, h.Verifier, h.Members, req.Headers["authorization"])
	if err != nil {
		return nil, err
	}
	if !access.Can(p.Role, access.UseAI) {
		return nil, fault.E(fault.Forbidden, "Your role does not allow this.")
	}
	a := p.From(req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	return h.Svc.Speech(ctx, a, params["summaryId"])
}

// closingReader closes the provider's stream at its end, so the
// connection goes back to the pool.
type closingReader struct{ rc io.ReadCloser }

// Close ends the stream early (the listener went away).
func (c *closingReader) Close() error { return c.rc.Close() }

func (c *closingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if err != nil {
		c.rc.Close()
	}
	return n, err
}

// NewSpeechHandler builds the speech function's handler: svc answers,
// after the token and the caller's membership check out as a router's would.
func NewSpeechHandler(svc *Service, opts httpapi.Options) SpeechHandler {
	return SpeechHandler{Svc: svc, Verifier: opts.Verifier, Members: opts.Members}
}
