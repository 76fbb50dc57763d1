package payments

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
		{"invoice", toInvoiceRow(org, inv), func(item map[string]types.AttributeValue) (any, error) {
			var r invoiceRow
			err := attributevalue.UnmarshalMap(item, &r)
			return r.toInvoice(), err
		}, inv,
			[]string{"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "PK", "SK", "clientId", "createdAt", "createdBy", "currency", "destination", "dueDate", "hostedUrl",
				"id", "lineItems", "linesMirrored", "matterId", "number", "retainUntil", "status", "stripeCustomerId", "stripeInvoiceId", "syncError", "total",
				"trustAccountId", "type", "updatedAt"},
			[]string{"clientId", "createdAt", "createdBy", "currency", "destination", "dueDate", "hostedUrl", "id", "lineItems", "matterId", "number",
				"retainUntil", "status", "stripeInvoiceId", "syncError", "total", "trustAccountId", "updatedAt"}},
		{"payment", toPaymentRow(org, pay), func(item map[string]types.AttributeValue) (any, error) {
			var r paymentRow
			err := attributevalue.UnmarshalMap(item, &r)
			return r.toPayment(), err
		}, pay,
			[]string{"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "PK", "SK", "amount", "chargeId", "clientId", "createdAt", "currency", "date", "destination",
				"fee", "id", "invoiceId", "kind", "matterId", "method", "net", "retainUntil", "status", "stripeId", "trustEntryId", "type"},
			[]string{"amount", "chargeId", "clientId", "createdAt", "currency", "date", "destination", "fee", "id", "invoiceId", "kind", "matterId",
				"method", "net", "retainUntil", "status", "stripeId", "trustEntryId"}},
		{"connected account", toAccountRow(org, acct), func(item map[string]types.AttributeValue) (any, error) {
			var r accountRow
			err := attributevalue.UnmarshalMap(item, &r)
			return r.toAccount(), err
		}, acct,
			[]string{"PK", "SK", "chargesEnabled", "createdAt", "detailsSubmitted", "payoutsEnabled", "stripeAccountId", "type", "updatedAt"},
			[]string{"chargesEnabled", "createdAt", "detailsSubmitted", "payoutsEnabled", "requirementsDue", "status", "stripeAccountId", "updatedAt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, err := attributevalue.MarshalMap(tt.row)
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(item); !slices.Equal(got, tt.attrs) {
				t.Errorf("item attributes = %q, want %q", got, tt.attrs)
			}
			back, err := tt.back(item)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.api) {
				t.Errorf("round trip = %+v, want %+v", back, tt.api)
			}
			b, err := json.Marshal(tt.api)
			if err != nil {
				t.Fatal(err)
			}
			var shown map[string]json.RawMessage
			if err := json.Unmarshal(b, &shown); err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(shown); !slices.Equal(got, tt.jsonNames) {
				t.Errorf("JSON fields = %q, want %q", got, tt.jsonNames)
			}
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

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
