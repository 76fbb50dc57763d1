package esign

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	samples "github.com/matterly/matterly/events"

	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/store/storetest"
)

// The ids the samples under events/ name.
const (
	sampleOrg     = "01KB0ES1GN0000000000000RG1"
	sampleRequest = "01KB0ES1GN0000000000000RQ1"
	sampleKey     = "324e3b0840f065eb51f3fd63231d0d33daa35d4ed10d27718839e81737065782" // Dropbox Sign's published example key
)

// scriptedProvider answers SignedPDF with err, counting the calls.
type scriptedProvider struct {
	Provider
	err   error
	calls int
}

func (p *scriptedProvider) SignedPDF(context.Context, string) ([]byte, error) {
	p.calls++
	return nil, p.err
}

// TestSampleCallbackAndJob: the callback of events/furl-dropbox-sign.json
// (multipart, base64 as a function URL delivers it) verifies with the key
// it was hashed with and marks its signer signed; the job of
// events/sqs-esign-files.json is retried while the file is not ready,
// acknowledged without a download once the signed copy is stored, and an
// unreadable job is reported (for the DLQ), never dropped.
func TestSampleCallbackAndJob(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	storetest.NewOrg(t, db, storetest.WithID(sampleOrg))
	now := time.Now().UTC()
	row := requestRow{ID: sampleRequest, DocumentID: storetest.ID(), MatterID: storetest.ID(), FileName: "contract.pdf", Status: StatusAwaiting,
		ProviderID: "fa5c8a0b0f492d768749333ad6fcc214c111e967", SignedDocID: storetest.ID(), CreatedAt: now, UpdatedAt: now,
		Signers: []signerRow{{Name: "Ann Client", Email: "ann@example.com", SignatureID: "5687d3c6f5cb33f8b9d2b5d6b1e1a0f1", Status: StatusAwaiting},
			{Name: "Bob Witness", Email: "bob@example.com", Order: 1, SignatureID: "9a4b2c7e1d3f5a6b8c0d2e4f6a8b0c1d", Status: StatusAwaiting}}}
	storetest.Put(t, db, toRow(sampleOrg, row))
	storetest.Put(t, db, providerMap{Keys: storeKeys(mapPK(row.ProviderID), mapSK), OrgID: sampleOrg, RequestID: sampleRequest})
	prov := &scriptedProvider{err: ErrNotReady}
	docs := documents.NewService(db, &documents.Storage{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	svc := NewService(db, docs, prov, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)

	t.Run("furl-dropbox-sign.json", func(t *testing.T) {
		var cb events.LambdaFunctionURLRequest
		samples.Read(t, "furl-dropbox-sign.json", &cb)
		body, err := base64.StdEncoding.DecodeString(cb.Body)
		if err != nil || !cb.IsBase64Encoded {
			t.Fatalf("body: %v", err)
		}
		ev, err := ParseCallback(cb.Headers["content-type"], body)
		if err != nil {
			t.Fatal(err)
		}
		if !ev.Verified(sampleKey) || ev.Verified("another key") {
			t.Fatal("the sample's event_hash does not verify with its key (or verifies with another)")
		}
		if _, err := svc.Apply(ctx, ev); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(ctx, sampleOrg, sampleRequest)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusAwaiting || got.Signers[0].Status != StatusSigned || got.Signers[1].Status != StatusAwaiting ||
			got.Signers[0].SignedAt == nil || got.Signers[0].SignedAt.Unix() != 1795435200 {
			t.Fatalf("request after the callback: %+v", got)
		}
	})
	t.Run("sqs-esign-files.json", func(t *testing.T) {
		var batch events.SQSEvent
		samples.Read(t, "sqs-esign-files.json", &batch)
		w := NewWorker(svc)
		resp, err := w.Handle(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) != 1 || prov.calls != 1 {
			t.Fatalf("not ready: %+v %v, %d downloads", resp, err, prov.calls)
		}
		row.SignedDocumentID = row.SignedDocID
		storetest.Put(t, db, toRow(sampleOrg, row))
		resp, err = w.Handle(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) != 0 || prov.calls != 1 {
			t.Fatalf("stored before: %+v %v, %d downloads", resp, err, prov.calls)
		}
		bad := batch.Records[0]
		bad.MessageId, bad.Body = "bad-1", "{not json"
		resp, err = w.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{bad}})
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad-1" {
			t.Fatalf("unreadable: %+v %v", resp, err)
		}
		if !errors.Is(prov.err, ErrNotReady) {
			t.Fatal("scripted error changed")
		}
	})
}

func storeKeys(pk, sk string) store.Keys { return store.Keys{PK: pk, SK: sk} }
