package localaws

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// The embedded DynamoDB keeps each partition's items in sort-key order
// (third_party/minidyn/core/ordered.go) and answers a Query from the key
// range alone. These tests pin DynamoDB's order and paging on it: numbers
// by value, binaries byte by byte, strings with shared prefixes, equal
// index keys, a start key whose item is gone, and Limit counting only the
// items inside the key condition.

// orderTable creates a table with a numeric sort key and a GSI with a
// binary sort key beside the store's table.
func orderTable(t *testing.T, d *Dynamo) string {
	t.Helper()
	name := "ordering"
	_, err := d.Client().CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("p"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("n"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("gp"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("gb"), AttributeType: types.ScalarAttributeTypeB},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("p"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("n"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("bin"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("gp"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("gb"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return name
}

// pages runs a Query page by page (Limit per page) and returns the value
// of attribute attr of each item, in order, and the page sizes.
func pages(t *testing.T, d *Dynamo, in dynamodb.QueryInput, attr string) ([]string, []int) {
	t.Helper()
	var got []string
	var sizes []int
	for range 100 {
		out, err := d.Client().Query(context.Background(), &in)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		sizes = append(sizes, len(out.Items))
		for _, it := range out.Items {
			switch v := it[attr].(type) {
			case *types.AttributeValueMemberB:
				got = append(got, fmt.Sprintf("%x", v.Value))
			default:
				got = append(got, str(it, attr))
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return got, sizes
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	t.Fatal("query never ended")
	return nil, nil
}

func TestDynamoQueryOrderAndRanges(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := orderTable(t, d)

	// Numbers in an order where string order and numeric order differ.
	for _, v := range []string{"9", "10", "-1.5", "100", "0", "2", "-10", "1E3", "11"} {
		if _, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"p": s("P"), "n": n(v), "v": s(v),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	// An item of another partition that sorts between them as a string.
	if _, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"p": s("P2"), "n": n("5"), "v": s("other"),
	}}); err != nil {
		t.Fatal(err)
	}
	// Binary GSI keys, unsigned byte order, with shared prefixes.
	for i, b := range [][]byte{{0xff}, {0x01, 0x00}, {0x80}, {0x00}, {0x01}, {0x7f}, {0x01, 0xff}} {
		if _, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"p": s("B"), "n": n(fmt.Sprint(i)), "gp": s("G"), "gb": &types.AttributeValueMemberB{Value: b},
		}}); err != nil {
			t.Fatal(err)
		}
	}

	vals := func(m map[string]types.AttributeValue) map[string]types.AttributeValue {
		m[":p"] = s("P")
		return m
	}
	numeric := []string{"-10", "-1.5", "0", "2", "9", "10", "11", "100", "1E3"}
	tests := []struct {
		name    string
		in      dynamodb.QueryInput
		attr    string
		want    []string
		reverse bool
	}{
		{"numbers ascending", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{})}, "v", numeric, false},
		{"numbers descending", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p"), ScanIndexForward: aws.Bool(false), ExpressionAttributeValues: vals(map[string]types.AttributeValue{})}, "v", numeric, true},
		{"greater than", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p AND n > :a"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("9")})}, "v", []string{"10", "11", "100", "1E3"}, false},
		{"at most, equal value written differently", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p AND n <= :a"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("10.0")})}, "v", []string{"-10", "-1.5", "0", "2", "9", "10"}, false},
		{"less than", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p AND n < :a"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("0")})}, "v", []string{"-10", "-1.5"}, false},
		{"at least", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p AND n >= :a"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("100")})}, "v", []string{"100", "1E3"}, false},
		{"between, sort key first", dynamodb.QueryInput{KeyConditionExpression: aws.String("(#n BETWEEN :a AND :b) AND #p = :p"), ExpressionAttributeNames: map[string]string{"#n": "n", "#p": "p"}, ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("2"), ":b": n("100")})}, "v", []string{"2", "9", "10", "11", "100"}, false},
		{"equal", dynamodb.QueryInput{KeyConditionExpression: aws.String("p = :p AND n = :a"), ExpressionAttributeValues: vals(map[string]types.AttributeValue{":a": n("11")})}, "v", []string{"11"}, false},
		{"binary ascending", dynamodb.QueryInput{IndexName: aws.String("bin"), KeyConditionExpression: aws.String("gp = :g"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G")}}, "gb", []string{"00", "01", "0100", "01ff", "7f", "80", "ff"}, false},
		{"binary begins_with", dynamodb.QueryInput{IndexName: aws.String("bin"), KeyConditionExpression: aws.String("gp = :g AND begins_with(gb, :b)"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G"), ":b": &types.AttributeValueMemberB{Value: []byte{0x01}}}}, "gb", []string{"01", "0100", "01ff"}, false},
		{"binary greater than", dynamodb.QueryInput{IndexName: aws.String("bin"), KeyConditionExpression: aws.String("gp = :g AND gb > :b"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G"), ":b": &types.AttributeValueMemberB{Value: []byte{0x7f}}}}, "gb", []string{"80", "ff"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := append([]string(nil), tc.want...)
			if tc.reverse {
				for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
					want[i], want[j] = want[j], want[i]
				}
			}
			for _, limit := range []int32{0, 1, 2, 4} {
				in := tc.in
				in.TableName = aws.String(table)
				if limit > 0 {
					in.Limit = aws.Int32(limit)
				}
				got, _ := pages(t, d, in, tc.attr)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("limit %d: got %v, want %v", limit, got, want)
				}
			}
		})
	}
}

// Strings with shared prefixes, a begins_with range, equal GSI sort keys
// paged one by one, and a page that resumes after its start item is gone.
func TestDynamoQueryPrefixesTiesAndGoneStartKey(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	for _, sk := range []string{"B", "A#2", "A", "AB", "A#10", "A#", "A#1", "A$"} {
		put(t, d, item("PFX", sk, store.AttrGSI1PK, "TIE", store.AttrGSI1SK, "same", "sk", sk))
	}
	put(t, d, item("PF", "A#3", "sk", "other partition")) // "PF" sorts before "PFX" as a prefix
	query := func(cond string, values map[string]types.AttributeValue, index string) dynamodb.QueryInput {
		in := dynamodb.QueryInput{TableName: aws.String(d.TableName()), KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: values}
		if index != "" {
			in.IndexName = aws.String(index)
		}
		return in
	}
	for _, limit := range []int32{1, 3} {
		in := query("PK = :pk AND begins_with(SK, :p)", map[string]types.AttributeValue{":pk": s("PFX"), ":p": s("A#")}, "")
		in.Limit = aws.Int32(limit)
		if got, _ := pages(t, d, in, "sk"); !reflect.DeepEqual(got, []string{"A#", "A#1", "A#10", "A#2"}) {
			t.Errorf("begins_with A#, limit %d: %v", limit, got)
		}
		in.ScanIndexForward = aws.Bool(false)
		if got, _ := pages(t, d, in, "sk"); !reflect.DeepEqual(got, []string{"A#2", "A#10", "A#1", "A#"}) {
			t.Errorf("begins_with A# backwards, limit %d: %v", limit, got)
		}
	}

	// Equal GSI keys: every item exactly once, whatever the page size.
	for _, limit := range []int32{1, 2, 5} {
		in := query("GSI1PK = :g AND GSI1SK = :s", map[string]types.AttributeValue{":g": s("TIE"), ":s": s("same")}, store.IndexGSI1)
		in.Limit = aws.Int32(limit)
		got, _ := pages(t, d, in, "sk")
		seen := map[string]int{}
		for _, sk := range got {
			seen[sk]++
		}
		if len(got) != 8 || len(seen) != 8 {
			t.Errorf("ties, limit %d: got %v", limit, got)
		}
	}

	// The page's last item is deleted before the next page is asked for:
	// the next page starts after where it was.
	in := query("PK = :pk", map[string]types.AttributeValue{":pk": s("PFX")}, "")
	in.Limit = aws.Int32(3)
	out, err := d.Client().Query(ctx, &in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.TableName()), Key: store.Key("PFX", "A#1")}); err != nil {
		t.Fatal(err)
	}
	in.ExclusiveStartKey, in.Limit = out.LastEvaluatedKey, nil
	rest, _ := pages(t, d, in, "sk")
	if !reflect.DeepEqual(rest, []string{"A#10", "A#2", "A$", "AB", "B"}) {
		t.Errorf("after a deleted start item: %v", rest)
	}
}

// Limit counts the items read inside the key condition, before the
// filter, as in DynamoDB: items of the partition sorting before the key
// range do not use up the page.
func TestDynamoQueryLimitCountsOnlyTheKeyRange(t *testing.T) {
	d := startDynamo(t, "")
	for i := range 5 {
		put(t, d, item("LIM", fmt.Sprintf("A#%d", i), "kind", "a"))
	}
	for i := range 3 {
		put(t, d, item("LIM", fmt.Sprintf("B#%d", i), "kind", map[bool]string{true: "keep", false: "drop"}[i != 1]))
	}
	got, sizes := pages(t, d, dynamodb.QueryInput{
		TableName:                 aws.String(d.TableName()),
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :b)"),
		FilterExpression:          aws.String("kind = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("LIM"), ":b": s("B#"), ":k": s("keep")},
		Limit:                     aws.Int32(2),
	}, store.AttrSK)
	if !reflect.DeepEqual(got, []string{"B#0", "B#2"}) || !reflect.DeepEqual(sizes, []int{1, 1}) {
		t.Errorf("got %v in pages %v, want [B#0 B#2] in pages [1 1]", got, sizes)
	}
}

// An item leaves a sparse index when it loses the index key, and moves
// when its index sort key changes.
func TestDynamoIndexFollowsUpdates(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	for _, sk := range []string{"1", "2", "3"} {
		put(t, d, item("UPD", sk, store.AttrGSI1PK, "G", store.AttrGSI1SK, "k"+sk, "sk", sk))
	}
	update := func(sk, expr string, values map[string]types.AttributeValue) {
		t.Helper()
		if _, err := d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(d.TableName()), Key: store.Key("UPD", sk), UpdateExpression: aws.String(expr), ExpressionAttributeValues: values,
		}); err != nil {
			t.Fatal(err)
		}
	}
	update("1", "SET GSI1SK = :v", map[string]types.AttributeValue{":v": s("k9")})
	update("2", "REMOVE GSI1SK", nil)
	got, _ := pages(t, d, dynamodb.QueryInput{
		TableName: aws.String(d.TableName()), IndexName: aws.String(store.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G")},
	}, "sk")
	if !reflect.DeepEqual(got, []string{"3", "1"}) {
		t.Errorf("index after updates: %v, want [3 1]", got)
	}
}

// UpdateItem's old values keep an empty list's type when the update
// changes the attribute's type (upstream minidyn sent NULL).
func TestDynamoUpdateOldValuesKeepEmptyTypes(t *testing.T) {
	d := startDynamo(t, "")
	it := item("OLD", "1")
	it["tags"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	it["prefs"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	put(t, d, it)
	out, err := d.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(d.TableName()), Key: store.Key("OLD", "1"),
		UpdateExpression:          aws.String("SET tags = :s, prefs = :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("x")},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{}
	for k, v := range it {
		want[k] = v
	}
	if !reflect.DeepEqual(out.Attributes, want) {
		t.Errorf("old values %s, want %s", dump(t, out.Attributes), dump(t, want))
	}
}

// A page of items holding empty lists and maps is one request to minidyn:
// it writes them typed, so the front need not ask for each one's type
// (upstream minidyn wrote a typeless {}, and the front made two more
// queries per empty value).
func TestDynamoEmptyValuesCostNoExtraCalls(t *testing.T) {
	d := startDynamo(t, "")
	for i := range 10 {
		it := item("EMPTY", fmt.Sprint(i))
		it["tags"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
		it["prefs"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		put(t, d, it)
	}
	before := d.front.calls.Load()
	out, err := d.Client().Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(d.TableName()), KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("EMPTY")},
	})
	if err != nil || len(out.Items) != 10 {
		t.Fatalf("Query: %d items, %v", len(out.Items), err)
	}
	if _, ok := out.Items[3]["tags"].(*types.AttributeValueMemberL); !ok {
		t.Errorf("tags = %#v, want an empty list", out.Items[3]["tags"])
	}
	if n := d.front.calls.Load() - before; n != 1 {
		t.Errorf("%d requests to minidyn for one Query, want 1", n)
	}
}

// DescribeTable's ItemCount is the exact number of items at once (the
// end-to-end tests count the table with it), through puts, overwrites,
// deletes, batches and transactions.
func TestDynamoItemCountIsExact(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	count := func() int64 {
		t.Helper()
		out, err := d.Client().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.TableName())})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt64(out.Table.ItemCount)
	}
	put(t, d, item("CNT", "1"))
	put(t, d, item("CNT", "2"))
	put(t, d, item("CNT", "2", "name", "again")) // an overwrite
	if n := count(); n != 2 {
		t.Errorf("after 2 puts and an overwrite: %d", n)
	}
	if _, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(d.TableName()), Item: item("CNT", "3")}},
		{Delete: &types.Delete{TableName: aws.String(d.TableName()), Key: store.Key("CNT", "1")}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Client().BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		d.TableName(): {{PutRequest: &types.PutRequest{Item: item("CNT", "4")}}, {PutRequest: &types.PutRequest{Item: item("CNT", "5")}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Errorf("after a transaction and a batch: %d, want 4", n)
	}
}

// A Scan pages through every item once, in key order, after writes that
// added and removed keys between its pages (minidyn sorts the table's keys
// again on the first Scan after such writes, not on every write).
func TestDynamoScanAfterWrites(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	scan := func() []string {
		t.Helper()
		var keys []string
		in := &dynamodb.ScanInput{TableName: aws.String(d.TableName()), Limit: aws.Int32(3)}
		for range 100 {
			out, err := d.Client().Scan(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				keys = append(keys, str(it, store.AttrPK)+"/"+str(it, store.AttrSK))
			}
			if len(out.LastEvaluatedKey) == 0 {
				return keys
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
		t.Fatal("scan never ended")
		return nil
	}
	for _, sk := range []string{"5", "1", "9", "3", "7"} {
		put(t, d, item("SCAN#b", sk))
	}
	put(t, d, item("SCAN#a", "1"))
	want := []string{"SCAN#a/1", "SCAN#b/1", "SCAN#b/3", "SCAN#b/5", "SCAN#b/7", "SCAN#b/9"}
	if got := scan(); !reflect.DeepEqual(got, want) {
		t.Fatalf("scan: %v, want %v", got, want)
	}
	if _, err := d.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.TableName()), Key: store.Key("SCAN#b", "3")}); err != nil {
		t.Fatal(err)
	}
	put(t, d, item("SCAN#b", "4"))
	put(t, d, item("SCAN#a", "1", "name", "again")) // an overwrite adds no key
	want = []string{"SCAN#a/1", "SCAN#b/1", "SCAN#b/4", "SCAN#b/5", "SCAN#b/7", "SCAN#b/9"}
	if got := scan(); !reflect.DeepEqual(got, want) {
		t.Fatalf("scan after a delete and puts: %v, want %v", got, want)
	}
}
