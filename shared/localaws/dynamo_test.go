package localaws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// These tests talk to minidyn over real HTTP with the SDK client the
// functions use, to prove each DynamoDB feature the app relies on works
// locally (and to pin the one place where it does not behave like AWS).

func startDynamo(t *testing.T, path string) *Dynamo {
	t.Helper()
	d, err := StartDynamo(path)
	if err != nil {
		t.Fatalf("StartDynamo: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func item(pk, sk string, extra ...string) map[string]types.AttributeValue {
	it := store.Key(pk, sk)
	for i := 0; i+1 < len(extra); i += 2 {
		it[extra[i]] = s(extra[i+1])
	}
	return it
}

func put(t *testing.T, d *Dynamo, it map[string]types.AttributeValue) {
	t.Helper()
	if _, err := d.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(d.TableName()), Item: it}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

func get(t *testing.T, d *Dynamo, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := d.Client().GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(d.TableName()), Key: store.Key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

func str(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

func TestDynamoConditionalPut(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	unique := func() error {
		_, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(d.TableName()),
			Item:                item("EMAIL#a@example.com", "EMAIL"),
			ConditionExpression: aws.String("attribute_not_exists(PK)"),
		})
		return err
	}
	if err := unique(); err != nil {
		t.Fatalf("first put: %v", err)
	}
	err := unique()
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second put: got %v, want ConditionalCheckFailedException", err)
	}
}

func TestDynamoTransactWriteItems(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	put(t, d, item("ORG#1", "ORG", "name", "Acme"))
	put(t, d, item("EMAIL#taken@example.com", "EMAIL"))

	table := aws.String(d.TableName())
	orgExists := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: table, Key: store.Key("ORG#1", "ORG"), ConditionExpression: aws.String("attribute_exists(PK)"),
	}}
	orgMissing := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: table, Key: store.Key("ORG#2", "ORG"), ConditionExpression: aws.String("attribute_exists(PK)"),
	}}
	claim := func(email string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{
			TableName: table, Item: item("EMAIL#"+email, "EMAIL"), ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}}
	}
	tests := []struct {
		name    string
		items   []types.TransactWriteItem
		reasons []string // nil: the transaction commits
		written string   // email whose claim must exist afterwards ("" for none)
		absent  string   // email whose claim must not exist afterwards
	}{
		{name: "commits", items: []types.TransactWriteItem{orgExists, claim("new@example.com")}, written: "new@example.com"},
		{name: "condition check fails", items: []types.TransactWriteItem{orgMissing, claim("other@example.com")},
			reasons: []string{"ConditionalCheckFailed", "None"}, absent: "other@example.com"},
		{name: "unique put fails", items: []types.TransactWriteItem{orgExists, claim("taken@example.com"), claim("third@example.com")},
			reasons: []string{"None", "ConditionalCheckFailed", "None"}, absent: "third@example.com"},
		// Every failed condition is reported, as DynamoDB does (minidyn
		// alone reports only the first; the front runs transactions).
		{name: "two failures, both reported", items: []types.TransactWriteItem{orgMissing, claim("taken@example.com"), claim("fourth@example.com")},
			reasons: []string{"ConditionalCheckFailed", "ConditionalCheckFailed", "None"}, absent: "fourth@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tt.items})
			if tt.reasons == nil {
				if err != nil {
					t.Fatalf("TransactWriteItems: %v", err)
				}
			} else {
				var tce *types.TransactionCanceledException
				if !errors.As(err, &tce) {
					t.Fatalf("got %v, want TransactionCanceledException", err)
				}
				var got []string
				for _, r := range tce.CancellationReasons {
					got = append(got, aws.ToString(r.Code))
				}
				if !slices.Equal(got, tt.reasons) {
					t.Errorf("reasons = %v, want %v", got, tt.reasons)
				}
			}
			if tt.written != "" && get(t, d, "EMAIL#"+tt.written, "EMAIL") == nil {
				t.Errorf("%s not written", tt.written)
			}
			if tt.absent != "" && get(t, d, "EMAIL#"+tt.absent, "EMAIL") != nil {
				t.Errorf("%s written by a canceled transaction", tt.absent)
			}
		})
	}
}

func TestDynamoUpdateAddWithCondition(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	// A credit balance that may never go below zero: the pattern for AI
	// credits and trust ledgers.
	add := func(delta, need string) (string, error) {
		out, err := d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(d.TableName()),
			Key:                       store.Key("ORG#1", "CREDITS"),
			UpdateExpression:          aws.String("ADD #c :delta"),
			ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c >= :need"),
			ExpressionAttributeNames:  map[string]string{"#c": "credits"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":delta": n(delta), ":need": n(need)},
			ReturnValues:              types.ReturnValueUpdatedNew,
		})
		if err != nil {
			return "", err
		}
		return str(out.Attributes, "credits"), nil
	}
	tests := []struct {
		delta, need string // need: the balance the update requires
		want        string
		wantCCF     bool
	}{
		{delta: "100", need: "0", want: "100"}, // ADD creates the attribute
		{delta: "-30", need: "30", want: "70"},
		{delta: "-70", need: "70", want: "0"},
		{delta: "-1", need: "1", wantCCF: true}, // would overdraw
		{delta: "5", need: "0", want: "5"},
	}
	for _, tt := range tests {
		got, err := add(tt.delta, tt.need)
		var ccf *types.ConditionalCheckFailedException
		if tt.wantCCF {
			if !errors.As(err, &ccf) {
				t.Fatalf("ADD %s: got %v, want ConditionalCheckFailedException", tt.delta, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Fatalf("ADD %s: got %q, %v; want %q", tt.delta, got, err, tt.want)
		}
	}
}

// seedQueryItems writes five matters of ORG#1 (and noise around them),
// each also indexed on GSI1 by client.
func seedQueryItems(t *testing.T, d *Dynamo) {
	t.Helper()
	for _, id := range []string{"01", "02", "03", "04", "05"} {
		put(t, d, item("ORG#1", "MATTER#"+id, store.AttrGSI1PK, "ORG#1#CLIENT#9", store.AttrGSI1SK, "MATTER#"+id))
	}
	put(t, d, item("ORG#1", "CLIENT#9"))
	put(t, d, item("ORG#1", "NOTE#01", store.AttrGSI1PK, "ORG#1#CLIENT#9", store.AttrGSI1SK, "NOTE#01"))
	put(t, d, item("ORG#2", "MATTER#01", store.AttrGSI1PK, "ORG#2#CLIENT#9", store.AttrGSI1SK, "MATTER#01"))
}

func TestDynamoQueryPaging(t *testing.T) {
	d := startDynamo(t, "")
	seedQueryItems(t, d)
	all := []string{"MATTER#01", "MATTER#02", "MATTER#03", "MATTER#04", "MATTER#05"}
	reversed := slices.Clone(all)
	slices.Reverse(reversed)

	tests := []struct {
		name      string
		index     string
		forward   bool
		limit     int32
		wantPages []int
		want      []string
	}{
		{name: "table forward unpaged", forward: true, wantPages: []int{5}, want: all},
		{name: "table forward by 2", forward: true, limit: 2, wantPages: []int{2, 2, 1}, want: all},
		{name: "table backward by 2", limit: 2, wantPages: []int{2, 2, 1}, want: reversed},
		// A page that ends exactly on the last item still has a
		// LastEvaluatedKey, as in DynamoDB; the next page is empty.
		{name: "table by 5", forward: true, limit: 5, wantPages: []int{5, 0}, want: all},
		{name: "GSI1 forward by 2", index: store.IndexGSI1, forward: true, limit: 2, wantPages: []int{2, 2, 1}, want: all},
		{name: "GSI1 backward by 3", index: store.IndexGSI1, limit: 3, wantPages: []int{3, 2}, want: reversed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := queryAll(t, d, tt.index, tt.forward, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("items = %v, want %v", got, tt.want)
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("page sizes = %v, want %v", pages, tt.wantPages)
			}
		})
	}
}

// queryAll pages through MATTER# items of ORG#1 (on the table) or of its
// client 9 (on GSI1) and returns their sort keys and each page's size.
func queryAll(t *testing.T, d *Dynamo, index string, forward bool, limit int32) ([]string, []int) {
	t.Helper()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(d.TableName()),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": store.AttrPK, "#sk": store.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ORG#1"), ":prefix": s("MATTER#")},
		ScanIndexForward:          aws.Bool(forward),
	}
	keyAttrs := []string{store.AttrPK, store.AttrSK}
	sortAttr := store.AttrSK
	if index != "" {
		in.IndexName = aws.String(index)
		in.ExpressionAttributeNames = map[string]string{"#pk": store.AttrGSI1PK, "#sk": store.AttrGSI1SK}
		in.ExpressionAttributeValues[":pk"] = s("ORG#1#CLIENT#9")
		keyAttrs = append(keyAttrs, store.AttrGSI1PK, store.AttrGSI1SK)
		sortAttr = store.AttrGSI1SK
	}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	var got []string
	var pages []int
	for range 10 {
		out, err := d.Client().Query(context.Background(), in)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		pages = append(pages, len(out.Items))
		for _, it := range out.Items {
			got = append(got, str(it, sortAttr))
		}
		if len(out.LastEvaluatedKey) == 0 {
			return got, pages
		}
		// The cursor must carry the table key and, on an index, the index
		// key, or a sealed cursor could not resume the query.
		for _, a := range keyAttrs {
			if _, ok := out.LastEvaluatedKey[a]; !ok {
				t.Fatalf("LastEvaluatedKey %v lacks %s", out.LastEvaluatedKey, a)
			}
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	t.Fatal("query did not finish in 10 pages")
	return nil, nil
}

func TestDynamoBatchGetItem(t *testing.T) {
	d := startDynamo(t, "")
	seedQueryItems(t, d)
	out, err := d.Client().BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{
		RequestItems: map[string]types.KeysAndAttributes{d.TableName(): {Keys: []map[string]types.AttributeValue{
			store.Key("ORG#1", "MATTER#02"), store.Key("ORG#1", "MATTER#04"), store.Key("ORG#1", "MATTER#99"),
		}}},
	})
	if err != nil {
		t.Fatalf("BatchGetItem: %v", err)
	}
	var got []string
	for _, it := range out.Responses[d.TableName()] {
		got = append(got, str(it, store.AttrSK))
	}
	slices.Sort(got) // BatchGetItem returns items in no particular order
	if want := []string{"MATTER#02", "MATTER#04"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(out.UnprocessedKeys) != 0 {
		t.Errorf("unprocessed keys: %v", out.UnprocessedKeys)
	}
}

func TestDynamoSnapshotSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "dynamodb.json")
	every := item("ORG#1", "KINDS", store.AttrGSI1PK, "ORG#1#KINDS", store.AttrGSI1SK, "1")
	every["n"] = n("-12.5")
	every["b"] = &types.AttributeValueMemberB{Value: []byte{0, 1, 0xff}}
	every["t"] = &types.AttributeValueMemberBOOL{Value: true}
	every["f"] = &types.AttributeValueMemberBOOL{Value: false}
	every["null"] = &types.AttributeValueMemberNULL{Value: true}
	every["ss"] = &types.AttributeValueMemberSS{Value: []string{"a", "b"}}
	every["ns"] = &types.AttributeValueMemberNS{Value: []string{"1", "2"}}
	every["bs"] = &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}}
	every["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), n("1"), &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}}
	every["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("v"), "empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}}
	every["emptyL"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	every["emptyM"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	every["odd name.with [chars]"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}}
	every["unicode"] = s("Zoë \"quoted\" \u2028 ✓")

	d, err := StartDynamo(path)
	if err != nil {
		t.Fatal(err)
	}
	seedQueryItems(t, d)
	put(t, d, every)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"dynamodb.json", "dynamodb.json.wal"}; !slices.Equal(names, want) {
		t.Errorf("snapshot dir holds %v, want %v (no temp files)", names, want)
	}
	if fi, err := os.Stat(path + ".wal"); err != nil || fi.Size() != 0 {
		t.Errorf("journal after a clean stop: %v, %v; want empty (folded into the snapshot)", fi, err)
	}

	d2 := startDynamo(t, path)
	if got := get(t, d2, "ORG#1", "KINDS"); !reflect.DeepEqual(got, every) {
		t.Errorf("restored item differs:\n got %#v\nwant %#v", got, every)
	}
	sks, _ := queryAll(t, d2, store.IndexGSI1, true, 2)
	if want := []string{"MATTER#01", "MATTER#02", "MATTER#03", "MATTER#04", "MATTER#05"}; !slices.Equal(sks, want) {
		t.Errorf("GSI1 after restore = %v, want %v", sks, want)
	}
	// Saving again after changes keeps both old and new items.
	put(t, d2, item("ORG#3", "ORG"))
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	d3 := startDynamo(t, path)
	for _, k := range [][2]string{{"ORG#3", "ORG"}, {"ORG#1", "MATTER#05"}, {"ORG#2", "MATTER#01"}} {
		if get(t, d3, k[0], k[1]) == nil {
			t.Errorf("%v missing after second restart", k)
		}
	}
}

func TestDynamoSnapshotErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{name: "not JSON", content: "{"},
		{name: "unknown type", content: `{"items":[{"PK":{"X":"1"},"SK":{"S":"a"}}]}`},
		{name: "two types", content: `{"items":[{"PK":{"S":"1","N":"1"},"SK":{"S":"a"}}]}`},
		{name: "bad base64", content: `{"items":[{"PK":{"S":"1"},"SK":{"S":"a"},"b":{"B":"%%"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dynamodb.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// A corrupt snapshot must stop the start, not be silently
			// replaced by an empty table on the next save.
			if d, err := StartDynamo(path); err == nil {
				d.Close()
				t.Fatal("StartDynamo accepted a corrupt snapshot")
			}
		})
	}
}

func TestDynamoTableName(t *testing.T) {
	d, err := StartDynamo("", WithTableName("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.Client().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("other")})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	// Pinned: the reason no table waiter may be used locally.
	if out.Table.TableStatus != "" {
		t.Errorf("TableStatus = %q: minidyn now sets it; update the Dynamo doc comment and DESIGN.md", out.Table.TableStatus)
	}
	var idx []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		idx = append(idx, aws.ToString(g.IndexName))
	}
	slices.Sort(idx)
	var want []string
	for _, ix := range store.Indexes {
		want = append(want, ix.Name)
	}
	slices.Sort(want)
	if !slices.Equal(idx, want) {
		t.Errorf("indexes = %v, want %v", idx, want)
	}
}

// emptiesItem has the values minidyn writes as a typeless {}; "name" comes
// first so a decoder that reuses the previous value would alias it.
func emptiesItem(pk, sk string) map[string]types.AttributeValue {
	it := item(pk, sk, "name", "Zoë")
	it["tags"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	it["prefs"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
	}}
	return it
}

var emptyL = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}

func TestDynamoEmptyValuesKeepTheirType(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	put(t, d, emptiesItem("ORG#1", "A"))
	put(t, d, emptiesItem("ORG#1", "B"))
	ccfItem := func(err error) map[string]types.AttributeValue {
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			t.Fatalf("got %v, want ConditionalCheckFailedException", err)
		}
		return ccf.Item
	}

	tests := []struct {
		name  string
		read  func(t *testing.T) map[string]types.AttributeValue
		wantT types.AttributeValue // what "tags" must be
	}{
		{name: "GetItem", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			return get(t, d, "ORG#1", "A")
		}},
		{name: "Query", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().Query(ctx, &dynamodb.QueryInput{
				TableName: table, KeyConditionExpression: aws.String("PK = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ORG#1")},
			})
			if err != nil || len(out.Items) != 2 {
				t.Fatalf("Query: %d items, %v", len(out.Items), err)
			}
			return out.Items[1]
		}},
		{name: "Scan", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().Scan(ctx, &dynamodb.ScanInput{TableName: table})
			if err != nil || len(out.Items) != 2 {
				t.Fatalf("Scan: %d items, %v", len(out.Items), err)
			}
			return out.Items[0]
		}},
		{name: "BatchGetItem", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				d.TableName(): {Keys: []map[string]types.AttributeValue{store.Key("ORG#1", "A")}},
			}})
			if err != nil || len(out.Responses[d.TableName()]) != 1 {
				t.Fatalf("BatchGetItem: %v, %v", out, err)
			}
			return out.Responses[d.TableName()][0]
		}},
		{name: "TransactGetItems", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
				{Get: &types.Get{TableName: table, Key: store.Key("ORG#1", "B")}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			return out.Responses[0].Item
		}},
		{name: "UpdateItem ALL_NEW", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: table, Key: store.Key("ORG#1", "A"), UpdateExpression: aws.String("SET seen = :t"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
				ReturnValues:              types.ReturnValueAllNew,
			})
			if err != nil {
				t.Fatal(err)
			}
			delete(out.Attributes, "seen")
			return out.Attributes
		}},
		{name: "failed update ALL_OLD", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			_, err := d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: table, Key: store.Key("ORG#1", "B"), UpdateExpression: aws.String("SET seen = :t"),
				ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
				ExpressionAttributeValues:           map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return ccfItem(err)
		}},
		{name: "canceled transaction ALL_OLD", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{ConditionCheck: &types.ConditionCheck{
					TableName: table, Key: store.Key("ORG#1", "B"), ConditionExpression: aws.String("attribute_not_exists(PK)"),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
				}},
			}})
			var tce *types.TransactionCanceledException
			if !errors.As(err, &tce) || len(tce.CancellationReasons) != 1 {
				t.Fatalf("got %v, want TransactionCanceledException", err)
			}
			return tce.CancellationReasons[0].Item
		}},
		// With a ProjectionExpression too (upstream minidyn sent them as
		// NULL there).
		{name: "projection", wantT: emptyL, read: func(t *testing.T) map[string]types.AttributeValue {
			out, err := d.Client().Query(ctx, &dynamodb.QueryInput{
				TableName: table, KeyConditionExpression: aws.String("PK = :pk AND SK = :sk"),
				ProjectionExpression:      aws.String("#n, tags, prefs"),
				ExpressionAttributeNames:  map[string]string{"#n": "name"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ORG#1"), ":sk": s("A")},
			})
			if err != nil || len(out.Items) != 1 {
				t.Fatalf("Query: %v, %v", out, err)
			}
			it := out.Items[0]
			wantPrefs := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
			}}
			if !reflect.DeepEqual(it["prefs"], wantPrefs) {
				t.Errorf("prefs = %s", dump(t, map[string]types.AttributeValue{"prefs": it["prefs"]}))
			}
			// Compare the rest with the full item.
			it[store.AttrPK], it[store.AttrSK] = s("ORG#1"), s("A")
			it["prefs"] = emptiesItem("", "")["prefs"]
			return it
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.read(t)
			want := emptiesItem(str(got, store.AttrPK), str(got, store.AttrSK))
			want["tags"] = tt.wantT
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", dump(t, got), dump(t, want))
			}
		})
	}
}

func dump(t *testing.T, it map[string]types.AttributeValue) string {
	t.Helper()
	b, err := marshalItem(it)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestDynamoTransactUpdateDeleteAndRollback(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	put(t, d, item("ORG#1", "OLD"))
	spend := func(amount string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: table, Key: store.Key("ORG#1", "CREDITS"),
			UpdateExpression:          aws.String("ADD credits :delta"),
			ConditionExpression:       aws.String("credits >= :need"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":delta": n("-" + amount), ":need": n(amount)},
		}}
	}
	if _, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{
		store.AttrPK: s("ORG#1"), store.AttrSK: s("CREDITS"), "credits": n("10"),
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		items    []types.TransactWriteItem
		wantErr  string // substring of the error; "" for success
		credits  string
		newExist bool // ORG#1/NEW exists afterwards
		oldExist bool // ORG#1/OLD exists afterwards
	}{
		{name: "update, put, delete commit", items: []types.TransactWriteItem{
			spend("4"),
			{Put: &types.Put{TableName: table, Item: item("ORG#1", "NEW")}},
			{Delete: &types.Delete{TableName: table, Key: store.Key("ORG#1", "OLD")}},
		}, credits: "6", newExist: true},
		{name: "overdraw cancels all", items: []types.TransactWriteItem{
			{Put: &types.Put{TableName: table, Item: item("ORG#1", "OLD")}},
			spend("7"),
		}, wantErr: "TransactionCanceled", credits: "6", newExist: true},
		// The put is applied before the bad update expression is found;
		// it must be undone.
		{name: "bad update rolls back", items: []types.TransactWriteItem{
			{Put: &types.Put{TableName: table, Item: item("ORG#1", "OLD")}},
			{Delete: &types.Delete{TableName: table, Key: store.Key("ORG#1", "NEW")}},
			{Update: &types.Update{TableName: table, Key: store.Key("ORG#1", "X"), UpdateExpression: aws.String("SET = oops")}},
		}, wantErr: "ValidationException", credits: "6", newExist: true},
		{name: "one item twice", items: []types.TransactWriteItem{spend("1"), spend("1")},
			wantErr: "multiple operations on one item", credits: "6", newExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tt.items})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("TransactWriteItems: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
			if got := str(get(t, d, "ORG#1", "CREDITS"), "credits"); got != tt.credits {
				t.Errorf("credits = %s, want %s", got, tt.credits)
			}
			if got := get(t, d, "ORG#1", "NEW") != nil; got != tt.newExist {
				t.Errorf("NEW exists = %v, want %v", got, tt.newExist)
			}
			if got := get(t, d, "ORG#1", "OLD") != nil; got != tt.oldExist {
				t.Errorf("OLD exists = %v, want %v", got, tt.oldExist)
			}
		})
	}
}

// A canceled transaction must leave the rest of the table as it was:
// minidyn's own rollback loses every empty list and map in the table.
func TestDynamoCanceledTransactionKeepsEmptyValues(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	put(t, d, emptiesItem("ORG#1", "A"))
	_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: table, Key: store.Key("ORG#9", "X"), ConditionExpression: aws.String("attribute_exists(PK)")}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("got %v, want TransactionCanceledException", err)
	}
	if got, want := get(t, d, "ORG#1", "A"), emptiesItem("ORG#1", "A"); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", dump(t, got), dump(t, want))
	}
	// Expressions on the item still work.
	if _, err := d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: store.Key("ORG#1", "A"),
		UpdateExpression:          aws.String("SET tags = list_append(tags, :t)"),
		ConditionExpression:       aws.String("size(tags) = :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}, ":zero": n("0")},
	}); err != nil {
		t.Fatalf("UpdateItem after a canceled transaction: %v", err)
	}
}

// Concurrent spends through transactions never overdraw: exactly as many
// succeed as the balance allows, each with its ledger entry.
func TestDynamoConcurrentTransactionsDoNotOverdraw(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	if _, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{
		store.AttrPK: s("ORG#1"), store.AttrSK: s("CREDITS"), "credits": n("10"),
	}}); err != nil {
		t.Fatal(err)
	}
	const workers = 25
	errs := make(chan error, workers)
	for i := range workers {
		go func() {
			_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{
					TableName: table, Key: store.Key("ORG#1", "CREDITS"),
					UpdateExpression: aws.String("ADD credits :minus"), ConditionExpression: aws.String("credits >= :one"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":minus": n("-1"), ":one": n("1")},
				}},
				{Put: &types.Put{
					TableName: table, Item: item("ORG#1", fmt.Sprintf("LEDGER#%03d", i)),
					ConditionExpression: aws.String("attribute_not_exists(PK)"),
				}},
			}})
			errs <- err
		}()
	}
	ok := 0
	for range workers {
		err := <-errs
		var tce *types.TransactionCanceledException
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &tce):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 10 {
		t.Errorf("%d spends succeeded, want 10", ok)
	}
	if got := str(get(t, d, "ORG#1", "CREDITS"), "credits"); got != "0" {
		t.Errorf("credits = %s, want 0", got)
	}
	out, err := d.Client().Query(ctx, &dynamodb.QueryInput{
		TableName: table, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :l)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ORG#1"), ":l": s("LEDGER#")},
	})
	if err != nil || len(out.Items) != 10 {
		t.Errorf("ledger entries: %d, %v; want 10", len(out.Items), err)
	}
}

// PutItem and DeleteItem return what DynamoDB returns: nothing by
// default, the replaced item for ALL_OLD, and the current item on a failed
// condition for ReturnValuesOnConditionCheckFailure ALL_OLD (minidyn alone
// returns the new item from every put and never the item on failure).
func TestDynamoPutDeleteReturnValues(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	tests := []struct {
		name string
		do   func() (map[string]types.AttributeValue, error)
		want map[string]types.AttributeValue // nil: no attributes
	}{
		{name: "put, no return values", want: nil, do: func() (map[string]types.AttributeValue, error) {
			out, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: emptiesItem("ORG#1", "A")})
			return out.Attributes, err
		}},
		{name: "put ALL_OLD replaces", want: emptiesItem("ORG#1", "A"), do: func() (map[string]types.AttributeValue, error) {
			out, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("ORG#1", "A", "v", "2"), ReturnValues: types.ReturnValueAllOld})
			return out.Attributes, err
		}},
		{name: "put ALL_OLD creates", want: nil, do: func() (map[string]types.AttributeValue, error) {
			out, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: emptiesItem("ORG#1", "B"), ReturnValues: types.ReturnValueAllOld})
			return out.Attributes, err
		}},
		{name: "failed put ALL_OLD", want: emptiesItem("ORG#1", "B"), do: func() (map[string]types.AttributeValue, error) {
			_, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{
				TableName: table, Item: item("ORG#1", "B"), ConditionExpression: aws.String("attribute_not_exists(PK)"),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				return nil, fmt.Errorf("got %v, want ConditionalCheckFailedException", err)
			}
			return ccf.Item, nil
		}},
		{name: "failed delete ALL_OLD", want: emptiesItem("ORG#1", "B"), do: func() (map[string]types.AttributeValue, error) {
			_, err := d.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: table, Key: store.Key("ORG#1", "B"), ConditionExpression: aws.String("attribute_not_exists(PK)"),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				return nil, fmt.Errorf("got %v, want ConditionalCheckFailedException", err)
			}
			return ccf.Item, nil
		}},
		{name: "delete ALL_OLD", want: emptiesItem("ORG#1", "B"), do: func() (map[string]types.AttributeValue, error) {
			out, err := d.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: store.Key("ORG#1", "B"), ReturnValues: types.ReturnValueAllOld})
			return out.Attributes, err
		}},
		{name: "delete, no return values", want: nil, do: func() (map[string]types.AttributeValue, error) {
			out, err := d.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: store.Key("ORG#1", "A")})
			return out.Attributes, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && tt.want == nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dump(t, got), dump(t, tt.want))
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:9000": true, "127.1.2.3": true,
		"attacker.example:8080": false, "10.0.0.1:80": false, "": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
