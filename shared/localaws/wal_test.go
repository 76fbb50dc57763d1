package localaws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// crash stops d the way kill -9 would leave its files: the listener and
// the journal's file handle go, nothing is saved or flushed.
func crash(t *testing.T, d *Dynamo) {
	t.Helper()
	_ = d.srv.srv.Close()
	if d.front.wal != nil {
		_ = d.front.wal.f.Close()
	}
}

// TestDynamoJournalSurvivesCrash: every write the server acknowledged is
// there after a crash, for each kind of write, replayed over the last
// snapshot.
func TestDynamoJournalSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dynamodb.json")
	table := aws.String(store.DefaultTableName)
	tests := []struct {
		name  string
		write func(t *testing.T, c *dynamodb.Client) error
		key   [2]string
		want  map[string]types.AttributeValue // nil: the item must be gone
	}{
		{"put", func(t *testing.T, c *dynamodb.Client) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("ORG#1", "CLIENT#1", "name", "Ada")})
			return err
		}, [2]string{"ORG#1", "CLIENT#1"}, item("ORG#1", "CLIENT#1", "name", "Ada")},
		{"update with ADD and an empty list", func(t *testing.T, c *dynamodb.Client) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: store.Key("ORG#1", "COUNTER"),
				UpdateExpression:          aws.String("ADD n :one SET tags = :empty"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1"), ":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}})
			return err
		}, [2]string{"ORG#1", "COUNTER"}, func() map[string]types.AttributeValue {
			it := store.Key("ORG#1", "COUNTER")
			it["n"], it["tags"] = n("1"), &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
			return it
		}()},
		{"delete of a snapshotted item", func(t *testing.T, c *dynamodb.Client) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: store.Key("ORG#0", "OLD")})
			return err
		}, [2]string{"ORG#0", "OLD"}, nil},
		{"transaction", func(t *testing.T, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: table, Item: item("ORG#1", "ENTRY#1", "amount", "250000"), ConditionExpression: aws.String("attribute_not_exists(PK)")}},
				{Put: &types.Put{TableName: table, Item: item("ORG#1", "IDEMPOTENCY#k1", "entry", "ENTRY#1"), ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			}})
			return err
		}, [2]string{"ORG#1", "IDEMPOTENCY#k1"}, item("ORG#1", "IDEMPOTENCY#k1", "entry", "ENTRY#1")},
		// A transaction's records come from its writes, not from reading
		// the items back: an update's new item, a delete's key, a put's
		// item as sent (empty list and map included).
		{"transaction of an update, a delete and a put", func(t *testing.T, c *dynamodb.Client) error {
			withEmpties := item("ORG#1", "TX#PUT", "name", "Bo")
			withEmpties["tags"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
			withEmpties["meta"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{TableName: table, Key: store.Key("ORG#0", "TX#UPD"),
					UpdateExpression:          aws.String("ADD n :one SET tags = :empty REMOVE gone"),
					ConditionExpression:       aws.String("attribute_exists(PK)"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1"), ":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}}},
				{Delete: &types.Delete{TableName: table, Key: store.Key("ORG#0", "TX#DEL")}},
				{Put: &types.Put{TableName: table, Item: withEmpties}},
			}})
			return err
		}, [2]string{"ORG#0", "TX#UPD"}, func() map[string]types.AttributeValue {
			it := item("ORG#0", "TX#UPD", "name", "Cy")
			it["n"], it["tags"] = n("42"), &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
			return it
		}()},
		{"(that transaction's delete)", func(*testing.T, *dynamodb.Client) error { return nil }, [2]string{"ORG#0", "TX#DEL"}, nil},
		{"(that transaction's put)", func(*testing.T, *dynamodb.Client) error { return nil }, [2]string{"ORG#1", "TX#PUT"}, func() map[string]types.AttributeValue {
			it := item("ORG#1", "TX#PUT", "name", "Bo")
			it["tags"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
			it["meta"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
			return it
		}()},
		{"batch write", func(t *testing.T, c *dynamodb.Client) error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				store.DefaultTableName: {{PutRequest: &types.PutRequest{Item: item("ORG#1", "OPTOUT#+15550001", "stop", "true")}}},
			}})
			return err
		}, [2]string{"ORG#1", "OPTOUT#+15550001"}, item("ORG#1", "OPTOUT#+15550001", "stop", "true")},
	}

	d := startDynamo(t, path)
	put(t, d, item("ORG#0", "OLD"))
	old := item("ORG#0", "TX#UPD", "name", "Cy", "gone", "x")
	old["n"] = n("41")
	put(t, d, old)
	put(t, d, item("ORG#0", "TX#DEL"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if err := tt.write(t, d.Client()); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	crash(t, d)

	d2 := startDynamo(t, path)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(t, d2, tt.key[0], tt.key[1]); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("after crash: %#v, want %#v", got, tt.want)
			}
		})
	}
	// The retry of the idempotent transaction is refused: the first one
	// is remembered, so there is no second entry.
	if err := tests[3].write(t, d2.Client()); err == nil {
		t.Error("the transaction's retry succeeded after the crash: its first run was lost")
	}
}

// TestDynamoJournalTornTail: a record cut short by the crash (never
// acknowledged) is dropped, and the records before it are kept.
func TestDynamoJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dynamodb.json")
	d := startDynamo(t, path)
	put(t, d, item("ORG#1", "A", "v", "1"))
	crash(t, d)
	f, err := os.OpenFile(path+".wal", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `{"put":{"PK":{"S":"ORG#1"},"SK":{"S":"B"`)
	f.Close()

	d2 := startDynamo(t, path)
	if get(t, d2, "ORG#1", "A") == nil {
		t.Error("acknowledged item lost")
	}
	if get(t, d2, "ORG#1", "B") != nil {
		t.Error("torn record applied")
	}
	put(t, d2, item("ORG#1", "C"))
	crash(t, d2)
	d3 := startDynamo(t, path)
	if get(t, d3, "ORG#1", "C") == nil || get(t, d3, "ORG#1", "A") == nil {
		t.Error("a write after the torn record was lost: the tail was not cut before appending")
	}
}

// TestDynamoJournalCompaction: past its limit the journal is folded into
// the snapshot, and a crash right after loses nothing.
func TestDynamoJournalCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dynamodb.json")
	d, err := StartDynamo(path, WithJournalLimit(2048))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	for i := range 60 {
		put(t, d, item("ORG#1", fmt.Sprintf("C#%02d", i), "name", "a client with a longish name"))
	}
	// No Save yet: the snapshot comes from the journal passing its limit.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the journal passed its limit and no snapshot was written")
		}
	}
	put(t, d, item("ORG#1", "LAST"))
	crash(t, d)
	d2 := startDynamo(t, path)
	for i := range 60 {
		if get(t, d2, "ORG#1", fmt.Sprintf("C#%02d", i)) == nil {
			t.Fatalf("C#%02d lost", i)
		}
	}
	if get(t, d2, "ORG#1", "LAST") == nil {
		t.Error("write after compaction lost")
	}
}

// TestJournalGroupCommit: concurrent writers share fsyncs.
func TestJournalGroupCommit(t *testing.T) {
	j, err := openJournal(filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	var order sync.Mutex
	var wg sync.WaitGroup
	const writers = 64
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			order.Lock()
			seq := j.append(fmt.Appendf(nil, "{\"i\":%d}\n", i))
			order.Unlock()
			errs <- j.wait(seq)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lines := 0
	if err := readJournal(j.f.Name(), func([]byte) error { lines++; return nil }); err != nil {
		t.Fatal(err)
	}
	if lines != writers {
		t.Errorf("%d lines on disk, want %d", lines, writers)
	}
	if got := j.fsyncs.Load(); got > writers {
		t.Errorf("%d fsyncs for %d writers", got, writers)
	}
	t.Logf("%d writers, %d fsyncs", writers, j.fsyncs.Load())
}

// BenchmarkDynamoPutDurable is the cost of durability: PutItem over HTTP
// with the journal (fsync before the answer) and without, serially and
// with concurrent writers (group commit).
func BenchmarkDynamoPutDurable(b *testing.B) {
	for _, bc := range []struct {
		name    string
		durable bool
		par     bool
	}{{"memory", false, false}, {"journal", true, false}, {"memory-parallel", false, true}, {"journal-parallel", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			path := ""
			if bc.durable {
				path = filepath.Join(b.TempDir(), "dynamodb.json")
			}
			d, err := StartDynamo(path)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			var next sync.Mutex
			i := 0
			putOne := func() {
				next.Lock()
				i++
				k := i
				next.Unlock()
				_, err := d.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.TableName()),
					Item: item("ORG#1", fmt.Sprintf("C#%d", k%1000), "name", "Ada Lovelace")})
				if err != nil {
					b.Error(err)
				}
			}
			b.ResetTimer()
			if bc.par {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						putOne()
					}
				})
			} else {
				for b.Loop() {
					putOne()
				}
			}
			b.StopTimer()
			if bc.durable {
				b.ReportMetric(float64(d.front.wal.fsyncs.Load())/float64(b.N), "fsyncs/write")
			}
		})
	}
}

// BenchmarkJournalAppendWait is the journal alone: one ~300-byte record
// appended and waited for (written and fsynced), by one writer and by
// many at once (group commit shares the fsyncs).
func BenchmarkJournalAppendWait(b *testing.B) {
	rec := append([]byte(`{"put":{"PK":{"S":"ORG#01J0000000000000000000000"},"SK":{"S":"CLIENT#01J0000000000000000000000"},"name":{"S":"Ada Lovelace"}`+
		`,"email":{"S":"ada@example.com"},"phone":{"S":"+14155550123"},"tags":{"L":[]},"createdAt":{"S":"2026-12-07T03:00:00Z"},"version":{"N":"1"}}}`), '\n')
	for _, par := range []int{0, 16} { // 0: one writer
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			j, err := openJournal(filepath.Join(b.TempDir(), "j"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.close()
			var order sync.Mutex
			if par == 0 {
				for b.Loop() {
					if err := j.wait(j.append(rec)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(j.fsyncs.Load())/float64(b.N), "fsyncs/write")
				return
			}
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					order.Lock()
					seq := j.append(rec)
					order.Unlock()
					if err := j.wait(seq); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(j.fsyncs.Load())/float64(b.N), "fsyncs/write")
		})
	}
}

// TestDynamoJournalCorruptLineStopsStart: a complete line that is not a
// record (an edit by hand, a bad disk) stops the start, rather than
// silently dropping writes the next snapshot would then forget for good.
func TestDynamoJournalCorruptLineStopsStart(t *testing.T) {
	for name, line := range map[string]string{
		"not JSON":            "{\n",
		"neither put nor del": "{}\n",
		"bad item":            `{"put":{"PK":{"S":"ORG#1"}}}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dynamodb.json")
			if err := os.WriteFile(path+".wal", []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			if d, err := StartDynamo(path); err == nil {
				d.Close()
				t.Fatal("StartDynamo accepted a corrupt journal")
			}
		})
	}
}
