package payments

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/trust"
)

// fakeStripe answers the worker's reads: a charge paying the given
// Matterly invoice ("" for a charge made outside Matterly).
type fakeStripe struct {
	Stripe
	invoiceOfCharge string
}

func (f fakeStripe) Charge(context.Context, string, string) (ChargeInfo, error) {
	return ChargeInfo{Amount: 100, Net: 100, MatterlyInvoiceID: f.invoiceOfCharge}, nil
}

// TestWorkerRetriesWhatIsNotKnownYet: an event naming something Matterly
// will know in a moment (an account being connected, a charge whose
// invoice.paid is on its way) fails, so SQS delivers it again; one that
// Matterly never will know (an old event of an unconnected account, a
// charge made outside Matterly) is acknowledged. Neither records a payment.
func TestWorkerRetriesWhatIsNotKnownYet(t *testing.T) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	db := store.New(dyn.Client(), store.DefaultTableName)
	ctx := context.Background()
	if err := db.PutItem(ctx, struct {
		store.Keys
		OrgID string `dynamodbav:"orgId"`
	}{store.Keys{PK: mapPK("acct_known"), SK: mapSK}, "org1"}, nil); err != nil {
		t.Fatal(err)
	}
	event := func(typ, account string, age time.Duration) string {
		b, _ := json.Marshal(map[string]any{"id": "evt_" + typ + account, "type": typ, "account": account, "created": time.Now().Add(-age).Unix(),
			"data": map[string]any{"object": map[string]any{"id": "ch_1", "object": "charge"}}})
		return string(b)
	}
	for _, tt := range []struct {
		name      string
		body      string
		ofInvoice string
		retry     bool
	}{
		{"young event of an account being connected", event("account.updated", "acct_new", time.Minute), "", true},
		{"old event of an account nobody connected", event("account.updated", "acct_new", time.Hour), "", false},
		{"refund of a Matterly charge not recorded yet", event("charge.refunded", "acct_known", 0), "inv_1", true},
		{"refund of a charge made outside Matterly", event("charge.refunded", "acct_known", 0), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			w := NewWorker(NewService(db, log, time.Now, fakeStripe{invoiceOfCharge: tt.ofInvoice}, ""), trust.NewService(db, log, time.Now))
			err := w.apply(ctx, tt.body)
			if (err != nil) != tt.retry {
				t.Fatalf("apply = %v, want retry %v", err, tt.retry)
			}
			// A retried event is not claimed: the retry applies it.
			var claim struct{}
			if err := db.Get(ctx, tenant.PK("org1"), "PAY#EVT#evt_charge.refundedacct_known", &claim); tt.retry && err == nil {
				t.Error("a retried event was claimed")
			}
			var recs []Payment
			if _, err := db.QueryPage(ctx, store.Query{PK: tenant.PK("org1"), SKPrefix: paymentPf}, &recs); err != nil || len(recs) != 0 {
				t.Errorf("payment records %v (%v)", recs, err)
			}
		})
	}
}
