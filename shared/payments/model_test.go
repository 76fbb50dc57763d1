package payments

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store/storetest"

	"github.com/matterly/matterly/shared/store"
)

// TestRows pins the split of the API types from their items: an item
// holds the same attributes as before the split (items already stored are
// read as they are), converting there and back loses nothing, and the JSON
// shows no key and no mirror progress.
func TestRows(t *testing.T) {
	const org = "01JAAAAAAAAAAAAAAAAAAAAAAA"
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	inv := Invoice{ID: "01JIIIIIIIIIIIIIIIIIIIIIII", ClientID: "01JCCCCCCCCCCCCCCCCCCCCCCC", MatterID: "01JMMMMMMMMMMMMMMMMMMMMMMM", Currency: "usd",
		DueDate: "2026-12-31", LineItems: []LineItem{{Description: "Advice", Quantity: 2, UnitAmount: 5000}}, Total: 10000, Destination: ToTrust,
		TrustAccountID: "01JTTTTTTTTTTTTTTTTTTTTTTT", Status: Open, StripeInvoiceID: "in_1", StripeCustomerID: "cus_1", LinesMirrored: 1,
		HostedURL: "https://pay.example.com/i", Number: "A-1", SyncError: "x", CreatedBy: "u", CreatedAt: at, UpdatedAt: at, RetainUntil: "2033-12-07"}
	pay := Payment{ID: "01JPPPPPPPPPPPPPPPPPPPPPPP", Kind: KindPayment, InvoiceID: inv.ID, ClientID: inv.ClientID, MatterID: inv.MatterID,
		Currency: "usd", Amount: 10000, Fee: 320, Net: 9680, Method: "card", Status: "succeeded", Destination: ToTrust, TrustEntryID: "01JEEEEEEEEEEEEEEEEEEEEEEE",
		StripeID: "ch_1", ChargeID: "ch_1", Date: "2026-12-07", CreatedAt: at, RetainUntil: "2033-12-07"}
	acct := ConnectedAccount{StripeAccountID: "acct_1", Status: "enabled", AccountStatus: AccountStatus{ChargesEnabled: true, PayoutsEnabled: true,
		DetailsSubmitted: true, RequirementsDue: []string{}}, CreatedAt: at, UpdatedAt: at}
	tests := []struct {
		name      string
		row       any
		back      func(map[string]types.AttributeValue) (any, error)
		api       any
		attrs     []string // of the item
		jsonNames []string // of the API form
	}{
		{"invoice", toInvoiceRow(org, inv), storetest.Back(invoiceRow.toInvoice), inv,
			[]string{"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "PK", "SK", "clientId", "createdAt", "createdBy", "currency", "destination", "dueDate", "hostedUrl",
				"id", "lineItems", "linesMirrored", "matterId", "number", "retainUntil", "status", "stripeCustomerId", "stripeInvoiceId", "syncError", "total",
				"trustAccountId", "type", "updatedAt"},
			[]string{"clientId", "createdAt", "createdBy", "currency", "destination", "dueDate", "hostedUrl", "id", "lineItems", "matterId", "number",
				"retainUntil", "status", "stripeInvoiceId", "syncError", "total", "trustAccountId", "updatedAt"}},
		{"payment", toPaymentRow(org, pay), storetest.Back(paymentRow.toPayment), pay,
			[]string{"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "PK", "SK", "amount", "chargeId", "clientId", "createdAt", "currency", "date", "destination",
				"fee", "id", "invoiceId", "kind", "matterId", "method", "net", "retainUntil", "status", "stripeId", "trustEntryId", "type"},
			[]string{"amount", "chargeId", "clientId", "createdAt", "currency", "date", "destination", "fee", "id", "invoiceId", "kind", "matterId",
				"method", "net", "retainUntil", "status", "stripeId", "trustEntryId"}},
		{"connected account", toAccountRow(org, acct), storetest.Back(accountRow.toAccount), acct,
			[]string{"PK", "SK", "chargesEnabled", "createdAt", "detailsSubmitted", "payoutsEnabled", "stripeAccountId", "type", "updatedAt"},
			[]string{"chargesEnabled", "createdAt", "detailsSubmitted", "payoutsEnabled", "requirementsDue", "status", "stripeAccountId", "updatedAt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.CheckRow(t, tt.row, tt.back, tt.api, tt.attrs, tt.jsonNames)
		})
	}
}

// TestInvoiceDueIndex: only an invoice that can still be paid is in the
// overdue list's index.
func TestInvoiceDueIndex(t *testing.T) {
	for status, indexed := range map[string]bool{Draft: true, Open: true, Uncollectible: true, Paid: false, Void: false} {
		k := toInvoiceRow("o", Invoice{ID: "i", ClientID: "c", DueDate: "2026-12-31", Status: status}).Keys
		want := store.Keys{PK: "ORG#o", SK: "INV#i", Type: "invoice", GSI1PK: "ORG#o#CLIENT#c#INV", GSI1SK: "i"}
		if indexed {
			want.GSI2PK, want.GSI2SK = "ORG#o#INVDUE", "2026-12-31#i"
		}
		if k != want {
			t.Errorf("%s: keys = %+v, want %+v", status, k, want)
		}
	}
}
