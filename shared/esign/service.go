package esign

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/filetype"
	"github.com/matterly/matterly/shared/idempotency"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Service implements e-signatures.
type Service struct {
	DB       *store.DB
	Docs     *documents.Service // reads the file sent, stores the signed copy
	Provider Provider           // nil when Dropbox Sign is not configured
	Log      *slog.Logger
	Now      func() time.Time
	NewID    func() string
}

// NewService returns a Service with ULID ids. provider is nil when no API
// key is set: the routes then answer 503 saying what to set.
func NewService(db *store.DB, docs *documents.Service, provider Provider, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Docs: docs, Provider: provider, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }}
}

// ErrNotConfigured answers every provider call until the API key is set.
var ErrNotConfigured = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "E-signatures are not configured: set DROPBOX_SIGN_API_KEY (and DROPBOX_SIGN_API_BASE_URL for a local stand-in) for make dev, or the Dropbox Sign secret in AWS."}

func (s *Service) provider() (Provider, error) {
	if s.Provider == nil || s.Docs == nil || s.Docs.Storage == nil {
		return nil, ErrNotConfigured
	}
	return s.Provider, nil
}

var errNotFound = fault.E(fault.NotFound, "No such signature request.")

// Limits of a request.
const (
	MaxSigners    = 20
	MaxFileSize   = 40 << 20 // Dropbox Sign's limit per file
	maxSubject    = 255
	maxMessage    = 5000
	maxSignerName = 200
)

// SendInput is POST /v1/documents/{documentId}/signature-requests.
type SendInput struct {
	Signers []SignerInput `json:"signers"`
	Subject string        `json:"subject"`
	Message string        `json:"message"`
	Ordered bool          `json:"ordered"`
}

func (in *SendInput) normalize() error {
	var ck fault.Checker
	ck.Check(len(in.Signers) >= 1 && len(in.Signers) <= MaxSigners, "signers", "must have 1 to "+strconv.Itoa(MaxSigners)+" signers")
	seen := map[string]bool{}
	orders := map[int]bool{}
	for i, sg := range in.Signers {
		f := "signers[" + strconv.Itoa(i) + "]."
		in.Signers[i].Name = strings.TrimSpace(sg.Name)
		check.Text(&ck, f+"name", in.Signers[i].Name, true, maxSignerName)
		email, ok := check.Email(sg.Email)
		ck.Check(ok, f+"email", "must be an email address")
		ck.Check(!ok || !seen[email], f+"email", "is another signer's too: each signer needs their own address")
		seen[email] = true
		in.Signers[i].Email = email
		if sg.Order != nil {
			o := *sg.Order
			ck.Check(in.Ordered, f+"order", "only for ordered requests (ordered: true)")
			ck.Check(o >= 0 && o < len(in.Signers), f+"order", "must be from 0 to "+strconv.Itoa(len(in.Signers)-1))
			ck.Check(!orders[o], f+"order", "is another signer's too")
			orders[o] = true
		}
	}
	in.Subject, in.Message = strings.TrimSpace(in.Subject), strings.TrimSpace(in.Message)
	check.Text(&ck, "subject", in.Subject, false, maxSubject)
	check.Text(&ck, "message", in.Message, false, maxMessage, true)
	return ck.Err()
}

// sendScope is the sends' idempotency keys.
const sendScope = "esign"

// Send sends a ready PDF or DOCX of the org for signature. The request,
// its Idempotency-Key claim and the activity entry are written before
// Dropbox Sign is called, so a retry (or a second request at once) under
// the same key finds the claim and never sends again; a send Dropbox Sign
// refuses is removed again with its claim. It reports whether the answer
// is a replay.
func (s *Service) Send(ctx context.Context, a caller.Caller, idemKey, documentID string, in SendInput) (Request, bool, error) {
	if err := idempotency.Check(idemKey); err != nil {
		return Request{}, false, err
	}
	if err := in.normalize(); err != nil {
		return Request{}, false, err
	}
	fingerprint := idempotency.Fingerprint(struct {
		Doc string
		In  SendInput
	}{documentID, in})
	if idemKey != "" {
		var claim idempotency.Record
		err := s.DB.Get(ctx, tenant.PK(a.OrgID), idempotency.SK(sendScope, idemKey), &claim)
		if err == nil && claim.Live(s.Now()) {
			return s.replay(ctx, a, idemKey, fingerprint)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Request{}, false, err
		}
	}
	prov, err := s.provider()
	if err != nil {
		return Request{}, false, err
	}
	d, err := s.Docs.Get(ctx, a.OrgID, documentID)
	if err != nil {
		return Request{}, false, err
	}
	if err := crm.CheckProcessable(ctx, s.DB, a.OrgID, d.ClientID); err != nil {
		return Request{}, false, err
	}
	t, ok := filetype.Lookup(d.ContentType)
	if d.Status != documents.StatusReady || !ok || (t.Name != "PDF" && t.Name != "DOCX") {
		return Request{}, false, fault.Refused("esign-document-type", "Only a ready PDF or DOCX document can be sent for signature.")
	}
	if d.Size > MaxFileSize {
		return Request{}, false, fault.Refused("esign-file-too-large", "Dropbox Sign takes files of up to %d MB; this document is larger.", MaxFileSize>>20)
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.SendSignatures); err != nil {
		return Request{}, false, err
	}
	body, found, err := s.Docs.Storage.Read(ctx, d.ObjectKey, d.S3VersionID, filetype.MaxSize)
	if err != nil {
		return Request{}, false, err
	}
	if !found {
		return Request{}, false, fault.E(fault.NotFound, "No such document.")
	}
	now := s.Now().UTC()
	row := requestRow{ID: s.NewID(), DocumentID: d.ID, MatterID: d.MatterID, ClientID: d.ClientID, FileName: d.FileName, Status: StatusAwaiting,
		SignedDocID: s.NewID(), CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	for i, sg := range in.Signers {
		o := i
		if sg.Order != nil {
			o = *sg.Order
		}
		row.Signers = append(row.Signers, signerRow{Name: sg.Name, Email: sg.Email, Order: o, Status: StatusAwaiting})
	}
	put, err := s.DB.Put(toRow(a.OrgID, row), store.NotExists())
	if err != nil {
		return Request{}, false, err
	}
	items := []types.TransactWriteItem{put, s.DB.Check(tenant.PK(a.OrgID), crm.MatterSK(d.MatterID), *store.Exists())}
	if idemKey != "" {
		claim, err := idempotency.Claim(s.DB, a.OrgID, sendScope, idemKey, fingerprint, row.ID, now)
		if err != nil {
			return Request{}, false, err
		}
		items = append(items, claim)
	}
	e := activity.Entry{Action: "signature.sent", EntityType: "signatureRequest", EntityID: row.ID, ClientID: d.ClientID, MatterID: d.MatterID,
		Detail: strconv.Itoa(len(row.Signers)) + " signers"}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.SendSignatures, e, items...)
	switch {
	case idemKey != "" && store.Failed(err, 2):
		return s.replay(ctx, a, idemKey, fingerprint)
	case store.Failed(err, 1):
		return Request{}, false, fault.E(fault.NotFound, "No such matter.")
	case err != nil:
		return Request{}, false, err
	}
	sent, err := prov.Send(ctx, s.sendRequest(a.OrgID, row, in, d.ContentType, body))
	if err != nil {
		s.undoSend(a, row, idemKey, err)
		return Request{}, false, providerFault(err)
	}
	before := row.UpdatedAt
	row.ProviderID = sent.RequestID
	for _, ss := range sent.Signers {
		for i := range row.Signers {
			if row.Signers[i].Email == strings.ToLower(ss.Email) && row.Signers[i].SignatureID == "" {
				row.Signers[i].SignatureID = ss.SignatureID
				break
			}
		}
	}
	row.UpdatedAt = s.Now().UTC()
	upd, err := s.DB.Put(toRow(a.OrgID, row), store.Unchanged(before))
	if err != nil {
		return Request{}, false, err
	}
	link, err := s.DB.Put(providerMap{Keys: store.Keys{PK: mapPK(sent.RequestID), SK: mapSK, Type: "dropboxSignMap"}, OrgID: a.OrgID, RequestID: row.ID}, nil)
	if err != nil {
		return Request{}, false, err
	}
	// A system write: the request is at Dropbox Sign now, whatever happens
	// to the sender's role, and must be found by its callbacks.
	if err := s.DB.Transact(ctx, upd, link); err != nil {
		s.Log.Error("sent signature request not linked", "requestId", row.ID, "providerId", sent.RequestID, "err", err)
		return Request{}, false, err
	}
	return row.toRequest(), false, nil
}

func (s *Service) sendRequest(orgID string, row requestRow, in SendInput, contentType string, body []byte) SendRequest {
	req := SendRequest{FileName: row.FileName, ContentType: contentType, File: body, Title: row.FileName, Subject: in.Subject, Message: in.Message,
		Ordered: in.Ordered, Metadata: map[string]string{"matterlyRequestId": row.ID, "orgId": orgID}}
	for _, sg := range row.Signers {
		req.Signers = append(req.Signers, SendSigner{Name: sg.Name, Email: sg.Email, Order: sg.Order})
	}
	return req
}

// undoSend removes a request Dropbox Sign refused, and its claim, so the
// same key may be tried again; the entry says it failed.
func (s *Service) undoSend(a caller.Caller, row requestRow, idemKey string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items := []types.TransactWriteItem{s.DB.Delete(tenant.PK(a.OrgID), requestSK(row.ID), nil)}
	if idemKey != "" {
		items = append(items, s.DB.Delete(tenant.PK(a.OrgID), idempotency.SK(sendScope, idemKey), nil))
	}
	rec, err := activity.Record(s.DB, a, s.Now(), activity.Entry{Action: "signature.failed", EntityType: "signatureRequest", EntityID: row.ID,
		ClientID: row.ClientID, MatterID: row.MatterID, Detail: "Dropbox Sign refused the request"})
	if err == nil {
		err = s.DB.Transact(ctx, append(items, rec)...)
	}
	if err != nil {
		s.Log.Error("refused signature request not removed", "requestId", row.ID, "err", err, "cause", cause)
	}
}

func (s *Service) replay(ctx context.Context, a caller.Caller, idemKey, fingerprint string) (Request, bool, error) {
	id, err := idempotency.Replay(ctx, s.DB, a.OrgID, sendScope, idemKey, fingerprint)
	if err != nil {
		return Request{}, false, err
	}
	r, err := s.Get(ctx, a.OrgID, id)
	return r, err == nil, err
}

// providerFault turns a provider error into the API's answer: a refusal
// is a 422 naming Dropbox Sign's reason, anything else a 503.
func providerFault(err error) error {
	var pe *ProviderError
	if errors.As(err, &pe) && !pe.Retryable && pe.Status >= 400 && pe.Status < 500 && pe.Status != 401 && pe.Status != 403 {
		return fault.Refused("esign-provider-refused", "Dropbox Sign refused the request (%s).", pe.Message)
	}
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: 30 * time.Second, Message: "Dropbox Sign could not be reached; try again.", Err: err}
}

func (s *Service) load(ctx context.Context, orgID, id string) (requestRow, error) {
	if !check.ID(id) {
		return requestRow{}, errNotFound
	}
	var r requestRow
	err := s.DB.Get(ctx, tenant.PK(orgID), requestSK(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return requestRow{}, errNotFound
	}
	return r, err
}

// Get reads one request of the org.
func (s *Service) Get(ctx context.Context, orgID, id string) (Request, error) {
	r, err := s.load(ctx, orgID, id)
	if err != nil {
		return Request{}, err
	}
	return r.toRequest(), nil
}

// List pages through a matter's requests, newest first.
func (s *Service) List(ctx context.Context, orgID, matterID string, limit int32, start store.StartKey) ([]Request, store.StartKey, error) {
	if _, err := crm.LoadMatter(ctx, s.DB, orgID, matterID); err != nil {
		return nil, nil, err
	}
	var rows []requestRow
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: matterRequestsPK(orgID, matterID), Limit: limit, StartKey: start}, &rows)
	out := make([]Request, len(rows))
	for i, r := range rows {
		out[i] = r.toRequest()
	}
	return out, next, err
}

var errNotAwaiting = fault.Refused("esign-not-awaiting", "This signature request is no longer awaiting signatures.")

// Cancel cancels an incomplete request at Dropbox Sign, then here.
func (s *Service) Cancel(ctx context.Context, a caller.Caller, id string) (Request, error) {
	prov, err := s.provider()
	if err != nil {
		return Request{}, err
	}
	r, err := s.load(ctx, a.OrgID, id)
	if err != nil {
		return Request{}, err
	}
	if r.Status != StatusAwaiting || r.ProviderID == "" {
		return Request{}, errNotAwaiting
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.SendSignatures); err != nil {
		return Request{}, err
	}
	if err := prov.Cancel(ctx, r.ProviderID); err != nil {
		return Request{}, providerFault(err)
	}
	for range 3 {
		before := r.UpdatedAt
		if r.Status != StatusAwaiting {
			return r.toRequest(), nil // a callback got there first
		}
		r.Status, r.UpdatedAt = StatusCanceled, s.Now().UTC()
		upd, err := s.DB.Put(toRow(a.OrgID, r), store.Unchanged(before))
		if err != nil {
			return Request{}, err
		}
		e := activity.Entry{Action: "signature.canceled", EntityType: "signatureRequest", EntityID: r.ID, ClientID: r.ClientID, MatterID: r.MatterID}
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, r.UpdatedAt, access.SendSignatures, e, upd)
		if !store.Failed(err, 0) {
			return r.toRequest(), err
		}
		if r, err = s.load(ctx, a.OrgID, id); err != nil {
			return Request{}, err
		}
	}
	return Request{}, fault.E(fault.Conflict, "This signature request is being changed; try again.")
}

// RemindInput names the signer to remind.
type RemindInput struct {
	Email string `json:"email"`
}

// Remind has Dropbox Sign email a signer who has not signed yet.
func (s *Service) Remind(ctx context.Context, a caller.Caller, id string, in RemindInput) (Request, error) {
	email, ok := check.Email(in.Email)
	if !ok {
		return Request{}, fault.Fields(fault.FieldError{Field: "email", Message: "must be an email address"})
	}
	prov, err := s.provider()
	if err != nil {
		return Request{}, err
	}
	r, err := s.load(ctx, a.OrgID, id)
	if err != nil {
		return Request{}, err
	}
	if r.Status != StatusAwaiting || r.ProviderID == "" {
		return Request{}, errNotAwaiting
	}
	var signer *signerRow
	for i := range r.Signers {
		if r.Signers[i].Email == email {
			signer = &r.Signers[i]
		}
	}
	if signer == nil {
		return Request{}, fault.Fields(fault.FieldError{Field: "email", Message: "is not a signer of this request"})
	}
	if signer.Status == StatusSigned || signer.Status == StatusDeclined {
		return Request{}, fault.Refused("esign-signer-done", "This signer has already signed or declined.")
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.SendSignatures); err != nil {
		return Request{}, err
	}
	if err := prov.Remind(ctx, r.ProviderID, email); err != nil {
		return Request{}, providerFault(err)
	}
	e := activity.Entry{Action: "signature.reminded", EntityType: "signatureRequest", EntityID: r.ID, ClientID: r.ClientID, MatterID: r.MatterID}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.SendSignatures, e); err != nil {
		return Request{}, err
	}
	return r.toRequest(), nil
}
