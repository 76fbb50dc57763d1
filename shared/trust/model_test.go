package trust

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store/storetest"
)

// TestRows pins the split of the API types from their items: an item
// holds the same attributes as before the split (items already stored are
// read as they are), converting there and back loses nothing, and the JSON
// shows no key and no storage-only attribute.
func TestRows(t *testing.T) {
	const org = "01JAAAAAAAAAAAAAAAAAAAAAAA"
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	acct := Account{ID: "01JBBBBBBBBBBBBBBBBBBBBBBB", Name: "IOLTA", BankName: "Bank", AccountLast4: "1234", Currency: "usd", Balance: 500,
		Version: 3, LockedThrough: "2026-10-31", CreatedBy: "u", CreatedAt: at}
	entry := Entry{ID: "01JEEEEEEEEEEEEEEEEEEEEEEE", AccountID: acct.ID, Currency: "usd", ClientID: "01JCCCCCCCCCCCCCCCCCCCCCCC",
		MatterID: "01JMMMMMMMMMMMMMMMMMMMMMMM", FirmFunds: true, Type: Transfer, Amount: 100, Change: -100, Date: "2026-11-02", Description: "d",
		Counterparty: "p", Method: &Method{Kind: Check, Reference: "77"}, TransferID: "t", CounterpartID: "c", ReversalOf: "r", ReversedBy: "b",
		ClearedOn: "2026-11-03", Bank: true, EnteredBy: "u", EnteredAt: at, CounterpartSK: "TRUST#E#x"}
	part := Ledger{AccountID: acct.ID, Currency: "usd", ClientID: "01JCCCCCCCCCCCCCCCCCCCCCCC", MatterID: "01JMMMMMMMMMMMMMMMMMMMMMMM",
		Bucket: "01JMMMMMMMMMMMMMMMMMMMMMMM", Balance: 40, LastDate: "2026-11-02"}
	tests := []struct {
		name      string
		row       any
		back      func(map[string]types.AttributeValue) (any, error)
		api       any
		attrs     []string // of the item
		jsonNames []string // of the API form
	}{
		{"account", toAccountRow(org, acct), storetest.Back(accountRow.toAccount), acct,
			[]string{"PK", "SK", "accountLast4", "balance", "bankName", "createdAt", "createdBy", "currency", "id", "lockedThrough", "name", "type", "version"},
			[]string{"accountLast4", "balance", "bankName", "createdAt", "createdBy", "currency", "id", "lockedThrough", "name"}},
		{"ledger part", toLedgerRow(org, part), storetest.Back(ledgerRow.toLedger), part,
			[]string{"PK", "SK", "accountId", "balance", "bucket", "clientId", "currency", "lastDate", "matterId", "type"},
			[]string{"accountId", "balance", "clientId", "currency", "lastDate", "matterId"}},
		{"entry", toEntryRow(org, entry), storetest.Back(entryRow.toEntry), entry,
			[]string{"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "PK", "SK", "accountId", "amount", "bank", "change", "clearedOn", "clientId", "counterpartId",
				"counterpartSK", "counterparty", "currency", "date", "description", "enteredAt", "enteredBy", "entryType", "firmFunds", "id", "matterId",
				"method", "reversalOf", "reversedBy", "transferId", "type"},
			[]string{"accountId", "amount", "bankItem", "change", "clearedOn", "clientId", "counterpartId", "counterparty", "currency", "date", "description",
				"enteredAt", "enteredBy", "firmFunds", "id", "matterId", "method", "reversalOf", "reversedBy", "transferId", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.CheckRow(t, tt.row, tt.back, tt.api, tt.attrs, tt.jsonNames)
		})
	}
	// An entry's item is where the journal, its ledger and its matter find it.
	k := toEntryRow(org, entry).Keys
	if k.SK != entrySK(acct.ID, entry.Date, entry.ID) || k.SK != entry.sk() || k.GSI1PK != clientLedgerPK(org, acct.ID, firmLedger) ||
		k.GSI2PK != matterLedgerPK(org, acct.ID, entry.MatterID) || k.GSI1SK != "2026-11-02#"+entry.ID || k.Type != "trustEntry" {
		t.Errorf("entry keys = %+v", k)
	}
	// A ledger's item is its total or, with a bucket, its part.
	for _, tc := range []struct {
		l    Ledger
		want string
	}{
		{Ledger{AccountID: "a", ClientID: "c"}, ledgerSK("a", "c")},
		{Ledger{AccountID: "a", ClientID: "c", Bucket: generalBucket}, bucketSK("a", "c", generalBucket)},
		{Ledger{AccountID: "a", FirmFunds: true, MatterID: "m", Bucket: "m"}, bucketSK("a", firmLedger, "m")},
	} {
		if r := toLedgerRow(org, tc.l); r.SK != tc.want || r.PK != "ORG#"+org || r.Type != "trustLedger" {
			t.Errorf("ledger %+v keys = %+v, want SK %s", tc.l, r.Keys, tc.want)
		}
	}
	// AccountKey reads the currency of the item toAccountRow writes.
	item, err := attributevalue.MarshalMap(toAccountRow(org, acct))
	if err != nil {
		t.Fatal(err)
	}
	var ref AccountRef
	read := AccountKey(org, acct.ID, &ref)
	if read.PK != item["PK"].(*types.AttributeValueMemberS).Value || read.SK != item["SK"].(*types.AttributeValueMemberS).Value {
		t.Errorf("AccountKey = %s %s, want the account item's keys", read.PK, read.SK)
	}
	if err := attributevalue.UnmarshalMap(item, read.Out); err != nil || ref.Currency != "usd" {
		t.Errorf("AccountRef = %+v (%v), want usd", ref, err)
	}
}
