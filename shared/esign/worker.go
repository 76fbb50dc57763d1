package esign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// FilesQueue is the queue between the callback and the worker that
// downloads signed PDFs. A download Dropbox Sign is not ready for (409) or
// that fails (5xx) is retried by the queue, with its visibility timeout as
// the backoff, then goes to the dead-letter queue after 5 receives.
const FilesQueue = "esign-files"

// FileJob is a FilesQueue message.
type FileJob struct {
	OrgID     string `json:"orgId"`
	RequestID string `json:"requestId"`
}

// Worker downloads signed PDFs into documents.
type Worker struct{ svc *Service }

// NewWorker returns the worker of FilesQueue.
func NewWorker(svc *Service) *Worker { return &Worker{svc: svc} }

// Handle stores the signed PDF of each job and reports the ones that
// failed, which SQS delivers again (then to the DLQ, with an alarm).
func (w *Worker) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range batch.Records {
		var job FileJob
		if err := json.Unmarshal([]byte(m.Body), &job); err != nil || job.OrgID == "" || job.RequestID == "" {
			// Reported, not dropped: the DLQ's alarm brings it to a person.
			w.svc.Log.Error("unreadable signed-file job", "messageId", m.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		start := time.Now()
		if err := w.svc.StoreSigned(ctx, job); err != nil {
			level := w.svc.Log.Error
			if errors.Is(err, ErrNotReady) {
				level = w.svc.Log.Info
			}
			level("signed file not stored yet", "messageId", m.MessageId, "requestId", job.RequestID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		w.svc.Log.Info("signed file stored", "requestId", job.RequestID, "ms", float64(time.Since(start).Microseconds())/1000)
	}
	return resp, nil
}

// errNotPDF is a download that is not a PDF: kept out of the documents.
var errNotPDF = errors.New("esign: the signed file Dropbox Sign served is not a PDF")

// StoreSigned downloads a request's signed PDF and stores it as a new
// document of its matter, exactly once: under the document id reserved at
// send, in one transaction with the request's signedDocumentId, so a
// duplicated event or a retried job finds it stored and does nothing.
func (s *Service) StoreSigned(ctx context.Context, job FileJob) error {
	r, err := s.load(ctx, job.OrgID, job.RequestID)
	if err != nil {
		return err
	}
	if r.SignedDocumentID != "" {
		return nil
	}
	prov, err := s.provider()
	if err != nil {
		return err
	}
	pdf, err := prov.SignedPDF(ctx, r.ProviderID)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return errNotPDF
	}
	link := s.DB.Update(tenant.PK(job.OrgID), requestSK(r.ID), "SET signedDocumentId = :d, updatedAt = :u",
		&store.Cond{Expr: "attribute_exists(PK) AND attribute_not_exists(signedDocumentId)"}, nil,
		map[string]types.AttributeValue{":d": store.S(r.SignedDocID), ":u": store.S(s.Now().UTC().Format(time.RFC3339Nano))})
	_, err = s.Docs.StoreSigned(ctx, dropboxSignActor(job.OrgID), r.MatterID, documents.Signed{ID: r.SignedDocID, FileName: signedName(r.FileName),
		ContentType: "application/pdf", Body: pdf, SignatureRequestID: r.ID, SignedFrom: r.DocumentID, Items: []types.TransactWriteItem{link}})
	if errors.Is(err, documents.ErrStoredBefore) {
		return nil
	}
	return err
}

// signedName is "<original name> (signed).pdf".
func signedName(name string) string {
	base := name
	if i := strings.LastIndex(name, "."); i > 0 {
		base = name[:i]
	}
	for len(base)+len(" (signed).pdf") > 255 {
		_, n := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-n]
	}
	return base + " (signed).pdf"
}
