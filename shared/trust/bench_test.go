package trust

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// reads counts the items DynamoDB returns, which is what a read costs.
type reads struct {
	store.API
	items, calls atomic.Int64
}

func (r *reads) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.API.Query(ctx, in, o...)
	r.calls.Add(1)
	if err == nil {
		r.items.Add(int64(len(out.Items)))
	}
	return out, err
}

func (r *reads) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := r.API.GetItem(ctx, in, o...)
	r.calls.Add(1)
	if err == nil && out.Item != nil {
		r.items.Add(1)
	}
	return out, err
}

// seedAccount builds the items of an account with n entries for clients
// clients, laid out exactly as Post lays them out: entries from 2025-01-01
// to asOf, then `later` entries dated after asOf; all but the last `open`
// bank items cleared on their own date. It returns the items, the account
// id and the statement balance as of asOf.
func seedAccount(orgID string, n, clients, later, open int) ([]map[string]types.AttributeValue, string, int64) {
	acct := Account{ID: ulid.Make().String(), Name: "IOLTA", BankName: "Bank", AccountLast4: "1234", Currency: "usd", CreatedAt: time.Now().UTC()}
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = ulid.Make().String()
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	asOf := time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
	span := int(asOf.Sub(start).Hours() / 24)
	balances := map[string]int64{}
	var bank int64
	var items []map[string]types.AttributeValue
	put := func(row any) {
		item, err := store.Marshal(row)
		if err != nil {
			panic(err) // the rows are ours; a marshal error is a bug in this file
		}
		items = append(items, item)
	}
	for i := range n + later {
		client := ids[i%clients]
		in := EntryInput{AccountID: acct.ID, ClientID: client, Type: Deposit, Amount: 10_000, Description: "Seed", Counterparty: "Payer",
			Method: &Method{Kind: Wire, Reference: fmt.Sprint(i)}}
		if (i/clients)%2 == 1 {
			in.Type, in.Amount = Disbursement, 3_000
		}
		date := start.AddDate(0, 0, i*span/n)
		if i >= n {
			date = asOf.AddDate(0, 0, 1+(i-n)%20)
		}
		in.Date = date.Format("2006-01-02")
		e := in.legs(acct, func() string { return ulid.Make().String() }, "seed", time.Now().UTC())[0]
		cleared := e.Date
		if i >= n-open && i < n {
			cleared = notCleared
		} else if i < n {
			bank += e.Change
		}
		if cleared != notCleared {
			e.ClearedOn = cleared
		}
		put(toEntryRow(orgID, e))
		put(ref{Keys: store.Keys{PK: tenant.PK(orgID), SK: pointerPfx + e.ID, Type: "trustEntryRef"}, AccountID: acct.ID, EntrySK: e.sk()})
		put(bankItemOf(orgID, e, cleared))
		balances[client] += e.Change
		acct.Balance += e.Change
	}
	for client, bal := range balances {
		for _, bucket := range []string{"", generalBucket} {
			put(toLedgerRow(orgID, Ledger{AccountID: acct.ID, Currency: "usd", ClientID: client, Bucket: bucket, Balance: bal}))
		}
	}
	acct.Version = 1
	put(toAccountRow(orgID, acct))
	return items, acct.ID, bank
}

// batchWrite loads items into DynamoDB, 25 per call.
func batchWrite(t testing.TB, api *dynamodb.Client, items []map[string]types.AttributeValue) {
	for len(items) > 0 {
		n := min(len(items), 25)
		batch := make([]types.WriteRequest, n)
		for i, item := range items[:n] {
			batch[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
		}
		if _, err := api.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{store.DefaultTableName: batch}}); err != nil {
			t.Fatal(err)
		}
		items = items[n:]
	}
}

// sortedTable is an in-memory table with DynamoDB's reads on the table's
// own key (what a reconciliation uses): items sorted by partition and sort
// key; GetItem and Query are binary searches plus a walk over what they
// return, as in DynamoDB, so their cost does not grow with the table. It
// stands in for DynamoDB where minidyn cannot: minidyn re-sorts its whole
// index on every insert, so loading the 300,000 items of a 100,000-entry
// account would take hours. TestReconcileReadsOnlyWhatMatters pins the
// same reads against minidyn at a smaller size.
type sortedTable struct {
	store.API // everything else: not used by a reconciliation
	items     []map[string]types.AttributeValue
}

func keyOf(item map[string]types.AttributeValue) string {
	return item[store.AttrPK].(*types.AttributeValueMemberS).Value + "\x00" + item[store.AttrSK].(*types.AttributeValueMemberS).Value
}

func newSortedTable(items []map[string]types.AttributeValue) *sortedTable {
	t := &sortedTable{items: slices.Clone(items)}
	slices.SortFunc(t.items, func(a, b map[string]types.AttributeValue) int { return strings.Compare(keyOf(a), keyOf(b)) })
	return t
}

// search is the index of the first item whose key is at least k.
func (t *sortedTable) search(k string) int {
	i, _ := slices.BinarySearchFunc(t.items, k, func(item map[string]types.AttributeValue, k string) int { return strings.Compare(keyOf(item), k) })
	return i
}

func (t *sortedTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	k := keyOf(in.Key)
	if i := t.search(k); i < len(t.items) && keyOf(t.items[i]) == k {
		return &dynamodb.GetItemOutput{Item: t.items[i]}, nil
	}
	return &dynamodb.GetItemOutput{}, nil
}

// Query serves the key conditions store.QueryPage writes: a partition, and
// a begins_with or a BETWEEN on the sort key; unpaged (Limit 0).
func (t *sortedTable) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	v := func(name string) string {
		s, _ := in.ExpressionAttributeValues[name].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	if in.IndexName != nil || in.Limit != nil || in.ExclusiveStartKey != nil {
		return nil, fmt.Errorf("sortedTable: only unpaged table queries")
	}
	pk := v(":pk")
	from, to := v(":from"), v(":to")
	if prefix := v(":sk"); prefix != "" {
		from, to = prefix, prefix+"\U0010FFFF"
	}
	var out []map[string]types.AttributeValue
	for i := t.search(pk + "\x00" + from); i < len(t.items) && keyOf(t.items[i]) <= pk+"\x00"+to; i++ {
		out = append(out, t.items[i])
	}
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		slices.Reverse(out)
	}
	return &dynamodb.QueryOutput{Items: out, Count: int32(len(out))}, nil
}

// BenchmarkReconcile100k reconciles an account of 100,000 entries for 500
// clients as of a month end, with 40 entries dated after it and 60 bank
// items not cleared. A reconciliation reads the stored balance of each
// client and only those 100 entries, never the journal.
func BenchmarkReconcile100k(b *testing.B) {
	org := ulid.Make().String()
	items, acct, bank := seedAccount(org, 100_000, 500, 40, 60)
	counted := &reads{API: newSortedTable(items)}
	svc := NewService(store.New(counted, store.DefaultTableName), nil, time.Now)
	ctx := context.Background()

	rec, _, err := svc.Reconcile(ctx, org, acct, "2026-10-31", bank)
	if err != nil || !rec.Balanced || len(rec.Uncleared) != 60 || len(rec.Ledgers) != 500 {
		b.Fatalf("seeded account does not reconcile: %v, balanced %v, %d uncleared, %d ledgers, %v", err, rec.Balanced, len(rec.Uncleared), len(rec.Ledgers), rec.Differences)
	}
	counted.items.Store(0)
	counted.calls.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := svc.Reconcile(ctx, org, acct, "2026-10-31", bank); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(counted.items.Load())/float64(b.N), "items-read/op")
	b.ReportMetric(float64(counted.calls.Load())/float64(b.N), "dynamo-calls/op")
}

// TestReconcileReadsOnlyWhatMatters pins the benchmark's claim at a size
// fit for every test run: 1,000 entries, 50 clients, 10 dated after the
// date and 7 uncleared; the reconciliation reads the account twice, 100
// ledger items (total and unallocated part per client), the 10 later
// entries, and 17 bank items (the 7 uncleared, and the later 10, which
// cleared after the date), whatever the journal's length.
func TestReconcileReadsOnlyWhatMatters(t *testing.T) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	counted := &reads{API: dyn.Client()}
	svc := NewService(store.New(counted, store.DefaultTableName), nil, time.Now)
	org := ulid.Make().String()
	items, acct, bank := seedAccount(org, 1000, 50, 10, 7)
	batchWrite(t, dyn.Client(), items)
	rec, _, err := svc.Reconcile(context.Background(), org, acct, "2026-10-31", bank)
	if err != nil || !rec.Balanced {
		t.Fatalf("%v %+v", err, rec.Differences)
	}
	if got, want := counted.items.Load(), int64(2+100+10+17); got != want {
		t.Errorf("read %d items, want %d", got, want)
	}
	if got := counted.calls.Load(); got != 5 {
		t.Errorf("%d calls, want 5 (account, 3 queries, account)", got)
	}
	if rec.JournalBalance != rec.ClientLedgersTotal || rec.AdjustedBankBalance != rec.JournalBalance {
		t.Errorf("figures %+v", rec)
	}
}
