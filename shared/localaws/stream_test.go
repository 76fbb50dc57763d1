package localaws

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func transact(t *testing.T, d *Dynamo, items ...types.TransactWriteItem) {
	t.Helper()
	if _, err := d.Client().TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		t.Fatalf("TransactWriteItems: %v", err)
	}
}

func putOp(d *Dynamo, it map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(d.TableName()), Item: it}}
}

// TestStreamDeliversInsertedItems: the items a transaction creates reach
// the handler as INSERT records with their new image, before the writer
// gets its answer; replaced items and failed transactions send nothing.
func TestStreamDeliversInsertedItems(t *testing.T) {
	d := startDynamo(t, "")
	put(t, d, item("P#s", "OLD", "v", "before"))
	var got []string
	d.SetStream(func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, r := range ev.Records {
			if r.EventName != "INSERT" || r.Change.StreamViewType != "NEW_IMAGE" || r.Change.Keys["PK"].String() != "P#s" {
				t.Errorf("record %+v", r)
			}
			got = append(got, r.Change.NewImage["SK"].String()+"="+r.Change.NewImage["v"].String())
		}
		return events.DynamoDBEventResponse{}, nil
	}, nil)

	transact(t, d, putOp(d, item("P#s", "NEW1", "v", "a")), putOp(d, item("P#s", "OLD", "v", "after")), putOp(d, item("P#s", "NEW2", "v", "b")))
	if want := []string{"NEW1=a", "NEW2=b"}; !slices.Equal(got, want) {
		t.Errorf("streamed %v, want %v", got, want)
	}
	got = nil
	_, err := d.Client().TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		putOp(d, item("P#s", "NEW3")),
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(d.TableName()), Key: item("P#s", "NOPE"), ConditionExpression: aws.String("attribute_exists(PK)")}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(got) != 0 {
		t.Errorf("canceled transaction: err %v, streamed %v", err, got)
	}
}

// TestStreamRetriesFromFirstFailure: as with Lambda's
// ReportBatchItemFailures, the batch is sent again from the first record
// reported failed, a bounded number of times.
func TestStreamRetriesFromFirstFailure(t *testing.T) {
	d := startDynamo(t, "")
	var batches [][]string
	d.SetStream(func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var sks []string
		var resp events.DynamoDBEventResponse
		for _, r := range ev.Records {
			sk := r.Change.NewImage["SK"].String()
			sks = append(sks, sk)
			if sk == "B" && len(batches) < 1 || sk == "C" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			}
		}
		batches = append(batches, sks)
		return resp, nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	transact(t, d, putOp(d, item("P#r", "A")), putOp(d, item("P#r", "B")), putOp(d, item("P#r", "C")))
	want := [][]string{{"A", "B", "C"}, {"B", "C"}, {"C"}}
	if len(batches) != len(want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	for i := range want {
		if !slices.Equal(batches[i], want[i]) {
			t.Errorf("batch %d = %v, want %v", i, batches[i], want[i])
		}
	}
}

// TestStreamFilterLetsHandlerWrite: with a filter, as an event source
// mapping has, a handler may write items the filter drops from inside its
// own delivery (the relay appending audit items) without waiting on
// itself; those items never reach it.
func TestStreamFilterLetsHandlerWrite(t *testing.T) {
	d := startDynamo(t, "")
	var got []string
	d.SetStreamFilter(func(img map[string]events.DynamoDBAttributeValue) bool { return img["v"].String() == "entry" })
	d.SetStream(func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, r := range ev.Records {
			sk := r.Change.NewImage["SK"].String()
			got = append(got, sk)
			transact(t, d, putOp(d, item("P#f", "COPY-"+sk, "v", "copy")))
		}
		return events.DynamoDBEventResponse{}, nil
	}, nil)
	transact(t, d, putOp(d, item("P#f", "A", "v", "entry")), putOp(d, item("P#f", "B", "v", "other")))
	if !slices.Equal(got, []string{"A"}) {
		t.Errorf("streamed %v, want [A]", got)
	}
	res, err := d.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(d.TableName()), Key: item("P#f", "COPY-A")})
	if err != nil || res.Item == nil {
		t.Errorf("the handler's write: %v, %v", res, err)
	}
}
