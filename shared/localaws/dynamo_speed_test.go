package localaws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// The paths added for speed (issue 20): parsed expressions shared between
// requests, the key condition taken from the key range, the in-process
// client, transactions run by minidyn in one call. These tests pin
// that they answer as before.

// Many goroutines query and write with the same few expression texts at
// once: the cached parse trees are shared read-only (run with -race), and
// every answer is still right.
func TestDynamoSharedExpressionsUnderConcurrency(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	for i := range 30 {
		it := item("CONC", fmt.Sprintf("ITEM#%02d", i), "kind", []string{"even", "odd"}[i%2])
		it["n"] = n(fmt.Sprint(i))
		put(t, d, it)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 20 {
				out, err := d.Client().Query(ctx, &dynamodb.QueryInput{
					TableName:                 table,
					KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :p)"),
					FilterExpression:          aws.String("#k = :k AND n >= :min"),
					ExpressionAttributeNames:  map[string]string{"#k": "kind"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("CONC"), ":p": s("ITEM#"), ":k": s("odd"), ":min": n("10")},
					ScanIndexForward:          aws.Bool(r%2 == 0),
				})
				if err != nil {
					errs <- err
					return
				}
				if out.Count != 10 { // 11, 13, ..., 29
					errs <- fmt.Errorf("goroutine %d: %d items, want 10", g, out.Count)
					return
				}
				// A conditional write whose condition holds for some
				// goroutines' items and not others.
				key := store.Key("CONC", fmt.Sprintf("ITEM#%02d", (g*7+r)%30))
				_, err = d.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName: table, Key: key,
					UpdateExpression:          aws.String("ADD hits :one"),
					ConditionExpression:       aws.String("attribute_exists(PK) AND n < :max"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1"), ":max": n("100")},
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A key condition the interpreter rejects is still an error when the key
// range has items (it is evaluated on the first one), and a filter is
// evaluated on every item of the range.
func TestDynamoKeyRangeStillChecksExpressions(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	for i := range 5 {
		put(t, d, item("KR", fmt.Sprintf("S#%d", i), "name", fmt.Sprintf("n%d", i)))
	}
	_, err := d.Client().Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(d.TableName()),
		KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :a AND :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("KR"), ":a": s("S#1"), ":b": n("3")},
	})
	if err == nil {
		t.Error("BETWEEN a string and a number: no error")
	}
	out, err := d.Client().Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(d.TableName()),
		KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :a AND :b"),
		FilterExpression:          aws.String("#n <> :skip"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("KR"), ":a": s("S#1"), ":b": s("S#3"), ":skip": s("n2")},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Limit 2 reads S#3 and S#2 (filtered out), as DynamoDB counts them.
	if len(out.Items) != 1 || str(out.Items[0], "SK") != "S#3" || len(out.LastEvaluatedKey) == 0 {
		t.Errorf("items %v, last %v", out.Items, out.LastEvaluatedKey)
	}
}

// A transaction's conditions are checked without writing: a condition on
// a missing item that holds leaves no item behind when another condition
// fails, a bad condition is a ValidationException, and every failed
// condition is reported with the old item when asked.
func TestDynamoTransactionConditionsWriteNothing(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	table := aws.String(d.TableName())
	put(t, d, item("TXC", "EXISTS", "name", "old"))
	_, err := d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: table, Key: store.Key("TXC", "MISSING"), ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: table, Item: item("TXC", "EXISTS", "name", "new"), ConditionExpression: aws.String("attribute_not_exists(PK)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Update: &types.Update{TableName: table, Key: store.Key("TXC", "OTHER"), UpdateExpression: aws.String("SET x = :x"),
			ConditionExpression: aws.String("attribute_exists(PK)"), ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("1")}}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("err %v, want TransactionCanceledException", err)
	}
	var codes []string
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if got := strings.Join(codes, ","); got != "None,ConditionalCheckFailed,ConditionalCheckFailed" {
		t.Errorf("reasons %s", got)
	}
	if old := tce.CancellationReasons[1].Item; str(old, "name") != "old" {
		t.Errorf("old item %v", old)
	}
	for _, sk := range []string{"MISSING", "OTHER"} {
		if it := get(t, d, "TXC", sk); it != nil {
			t.Errorf("%s exists after a canceled transaction: %v", sk, it)
		}
	}
	if it := get(t, d, "TXC", "EXISTS"); str(it, "name") != "old" {
		t.Errorf("EXISTS changed: %v", it)
	}

	_, err = d.Client().TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: item("TXC", "NEW"), ConditionExpression: aws.String("attribute_not_exists(PK) AND (")}},
	}})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("bad condition: %v, want a ValidationException", err)
	}
	if it := get(t, d, "TXC", "NEW"); it != nil {
		t.Errorf("NEW written despite a bad condition: %v", it)
	}
}

// Close refuses the in-process client's later calls, as the closed
// listener refuses an HTTP client's.
func TestDynamoClientAfterClose(t *testing.T) {
	d := startDynamo(t, "")
	put(t, d, item("CL", "1"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(d.TableName()), Key: store.Key("CL", "1")})
	if err == nil {
		t.Error("GetItem after Close succeeded")
	}
	_, err = NewDynamoClient(d.Endpoint()).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(d.TableName()), Key: store.Key("CL", "1")})
	if err == nil {
		t.Error("GetItem over HTTP after Close succeeded")
	}
}

// The HTTP listener and the in-process client reach the same table.
func TestDynamoEndpointAndClientAgree(t *testing.T) {
	d := startDynamo(t, "")
	ctx := context.Background()
	if _, err := NewDynamoClient(d.Endpoint()).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.TableName()), Item: item("EP", "1", "via", "http")}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, d, "EP", "1"); str(it, "via") != "http" {
		t.Errorf("in-process read of an HTTP write: %v", it)
	}
}
