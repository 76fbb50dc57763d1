package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/matterly/matterly/shared/fault"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
)

var db *store.DB

func TestMain(m *testing.M) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db = store.New(dyn.Client(), store.DefaultTableName)
	code := m.Run()
	dyn.Close()
	os.Exit(code)
}

type item struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
	N      int    `dynamodbav:"n"`
}

func put(t *testing.T, it item) {
	t.Helper()
	if err := db.PutItem(context.Background(), it, nil); err != nil {
		t.Fatal(err)
	}
}

func TestQueryPage(t *testing.T) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		put(t, item{PK: "P#page", SK: fmt.Sprintf("A#%02d", i), GSI1PK: "G#page", GSI1SK: fmt.Sprintf("%02d", 10-i), N: i})
	}
	put(t, item{PK: "P#page", SK: "B#00"})
	tests := []struct {
		name      string
		q         store.Query
		wantPages []int // items per page
	}{
		{"exact multiple ends without an empty page", store.Query{PK: "P#page", SKPrefix: "A#", Forward: true, Limit: 5}, []int{5}},
		{"pages of two", store.Query{PK: "P#page", SKPrefix: "A#", Forward: true, Limit: 2}, []int{2, 2, 1}},
		{"between", store.Query{PK: "P#page", SKFrom: "A#01", SKTo: "A#03", Forward: true, Limit: 10}, []int{3}},
		{"index, newest first", store.Query{Index: store.IndexGSI1, PK: "G#page", Limit: 4}, []int{4, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			q := tt.q
			seen := map[string]bool{}
			for {
				var rows []item
				next, err := db.QueryPage(ctx, q, &rows)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, len(rows))
				for _, r := range rows {
					if seen[r.SK] {
						t.Errorf("%s on two pages", r.SK)
					}
					seen[r.SK] = true
				}
				if next == nil {
					break
				}
				q.StartKey = next
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantPages) {
				t.Errorf("pages %v, want %v", got, tt.wantPages)
			}
		})
	}
}

func TestTransactReportsEachFailedCondition(t *testing.T) {
	ctx := context.Background()
	put(t, item{PK: "P#tx", SK: "taken-1"})
	put(t, item{PK: "P#tx", SK: "taken-2"})
	var writes []types.TransactWriteItem
	for _, sk := range []string{"free", "taken-1", "taken-2"} {
		w, err := db.Put(item{PK: "P#tx", SK: sk}, store.NotExists())
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, w)
	}
	err := db.Transact(ctx, writes...)
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		t.Fatalf("err = %v, want *TxCanceledError", err)
	}
	if tce.Failed(0) || !tce.Failed(1) || !tce.Failed(2) {
		t.Errorf("reasons %v, want items 1 and 2 failed", tce.Reasons)
	}
	var got item
	if err := db.Get(ctx, "P#tx", "free", &got); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("canceled transaction wrote an item (err %v)", err)
	}
}

func TestGetAndBatchGet(t *testing.T) {
	ctx := context.Background()
	put(t, item{PK: "P#get", SK: "a", N: 7})
	var a, missing item
	ra := &store.KeyOut{PK: "P#get", SK: "a", Out: &a}
	rm := &store.KeyOut{PK: "P#get", SK: "nope", Out: &missing}
	if err := db.BatchGet(ctx, ra, rm); err != nil {
		t.Fatal(err)
	}
	if !ra.Found || a.N != 7 || rm.Found {
		t.Errorf("found a=%v (n=%d) missing=%v", ra.Found, a.N, rm.Found)
	}
	if err := db.Get(ctx, "P#get", "nope", &missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a missing item = %v, want ErrNotFound", err)
	}
	if err := db.PutItem(ctx, item{PK: "P#get", SK: "a"}, store.NotExists()); !errors.Is(err, store.ErrConditionFailed) {
		t.Errorf("conditional put over an item = %v, want ErrConditionFailed", err)
	}
}

// conflictingAPI cancels the first n transactions with TransactionConflict,
// as DynamoDB does when two transactions touch the same item at once.
type conflictingAPI struct {
	store.API
	n, calls int
	code     string // an API error code instead of a conflict
	reason   string // the cancellation reason; TransactionConflict when ""
	tokens   []string
}

func (c *conflictingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls++
	c.tokens = append(c.tokens, aws.ToString(in.ClientRequestToken))
	if c.calls <= c.n {
		if c.code != "" {
			return nil, &smithy.GenericAPIError{Code: c.code, Message: "slow down"}
		}
		reason := c.reason
		if reason == "" {
			reason = "TransactionConflict"
		}
		return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
			{Code: aws.String("None")}, {Code: aws.String(reason)}}}
	}
	return c.API.TransactWriteItems(ctx, in, o...)
}

func TestTransactConflicts(t *testing.T) {
	tests := []struct {
		name      string
		api       *conflictingAPI
		wantKind  fault.Kind // "" for success
		wantCalls int
	}{
		{"conflict then success", &conflictingAPI{n: 2}, "", 3},
		{"conflict persists", &conflictingAPI{n: 10}, fault.Unavailable, 4},
		{"throttled", &conflictingAPI{n: 10, code: "ThrottlingException"}, fault.Unavailable, 1},
		{"throttled inside the transaction", &conflictingAPI{n: 10, reason: "ThrottlingError"}, fault.Unavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.api.API = db.API
			d := store.New(tt.api, db.Table)
			a, _ := d.Put(item{PK: "P#conflict", SK: tt.name + "-a"}, nil)
			b, _ := d.Put(item{PK: "P#conflict", SK: tt.name + "-b"}, nil)
			err := d.Transact(context.Background(), a, b)
			if tt.wantKind == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantKind != "" {
				fe := fault.As(err)
				if fe == nil || fe.Kind != tt.wantKind || fe.RetryAfter == 0 {
					t.Fatalf("err = %v, want %s with Retry-After", err, tt.wantKind)
				}
			}
			if tt.api.calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", tt.api.calls, tt.wantCalls)
			}
		})
	}
}

// conflictingUpdates fails the first n UpdateItem calls the way DynamoDB does
// when a transaction holds the item.
type conflictingUpdates struct {
	store.API
	n, calls int
}

func (c *conflictingUpdates) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls++
	if c.calls <= c.n {
		return nil, &types.TransactionConflictException{Message: aws.String("in a transaction")}
	}
	return c.API.UpdateItem(ctx, in, o...)
}

func TestSingleWriteConflicts(t *testing.T) {
	for _, tt := range []struct {
		n         int
		wantKind  fault.Kind
		wantCalls int
	}{{2, "", 3}, {10, fault.Unavailable, 4}} {
		api := &conflictingUpdates{API: db.API, n: tt.n}
		d := store.New(api, db.Table)
		w := d.Update("P#single", fmt.Sprint(tt.n), "ADD n :one", nil, nil,
			map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}})
		err := d.UpdateItem(context.Background(), w, nil)
		if got := fault.As(err); (tt.wantKind == "" && err != nil) || (tt.wantKind != "" && (got == nil || got.Kind != tt.wantKind)) {
			t.Errorf("n=%d: err = %v, want kind %q", tt.n, err, tt.wantKind)
		}
		if api.calls != tt.wantCalls {
			t.Errorf("n=%d: %d calls, want %d", tt.n, api.calls, tt.wantCalls)
		}
	}
}

type replaced struct {
	PK      string   `dynamodbav:"PK"`
	SK      string   `dynamodbav:"SK"`
	Name    string   `dynamodbav:"name"`
	Note    string   `dynamodbav:"note,omitempty"`
	Tags    []string `dynamodbav:"tags,omitempty"`
	Counter int      `dynamodbav:"counter"`
}

// TestReplace: a read-modify-write sets what changed, removes what was
// cleared and leaves the attributes other writers own alone.
func TestReplace(t *testing.T) {
	ctx := context.Background()
	if err := db.PutItem(ctx, replaced{PK: "P#rep", SK: "X", Name: "old", Note: "n", Tags: []string{"a"}, Counter: 1}, nil); err != nil {
		t.Fatal(err)
	}
	// Meanwhile another writer bumps the counter.
	bump := db.Update("P#rep", "X", "ADD #c :one", nil, map[string]string{"#c": "counter"}, map[string]types.AttributeValue{":one": store.N(1)})
	if err := db.UpdateItem(ctx, bump, nil); err != nil {
		t.Fatal(err)
	}
	w, err := db.Replace(replaced{PK: "P#rep", SK: "X", Name: "new", Counter: 1}, store.Exists(), "counter")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Transact(ctx, w); err != nil {
		t.Fatal(err)
	}
	var got replaced
	if err := db.Get(ctx, "P#rep", "X", &got); err != nil {
		t.Fatal(err)
	}
	if want := (replaced{PK: "P#rep", SK: "X", Name: "new", Counter: 2}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after replace: %+v, want %+v", got, want)
	}
	if _, err := db.Replace(struct{ Name string }{"x"}, nil); err == nil {
		t.Error("a row without keys was accepted")
	}
}

// TestTransactRequestToken: with a request token, each attempt carries its
// own (the SDK's retries of one attempt share it, so a commit whose answer
// was lost is not written twice), and a retry after a conflict runs anew.
func TestTransactRequestToken(t *testing.T) {
	api := &conflictingAPI{API: db.API, n: 2}
	d := store.New(api, db.Table)
	w, _ := d.Put(item{PK: "P#token", SK: "a"}, nil)
	w2, _ := d.Put(item{PK: "P#token", SK: "b"}, nil)
	if err := d.Transact(store.WithRequestToken(context.Background(), "01JTOKEN"), w, w2); err != nil {
		t.Fatal(err)
	}
	if want := []string{"01JTOKEN.0", "01JTOKEN.1", "01JTOKEN.2"}; !slices.Equal(api.tokens, want) {
		t.Errorf("tokens %v, want %v", api.tokens, want)
	}
	if err := d.Transact(context.Background(), w, w2); err != nil || api.tokens[3] != "" {
		t.Errorf("without a token: %v, sent %q", err, api.tokens[3])
	}
}
