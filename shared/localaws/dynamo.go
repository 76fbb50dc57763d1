package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/matterly/matterly/shared/store"
)

// Dynamo is an embedded DynamoDB-compatible server (minidyn) on a real
// 127.0.0.1 listener, holding the one table of shared/store.
//
// Checked over HTTP with the AWS SDK (see dynamo_test.go): conditional
// puts, UpdateItem with ADD and conditions, TransactWriteItems with
// ConditionCheck (a failure is a *types.TransactionCanceledException with
// one CancellationReason per item, "ConditionalCheckFailed" or "None"),
// Query with begins_with, ScanIndexForward, Limit and
// ExclusiveStartKey/LastEvaluatedKey on the table and on GSIs,
// BatchGetItem, and a snapshot surviving a restart.
//
// minidyn is built from third_party/minidyn, a copy changed to be
// index-aware: the table and each GSI keep their items per partition in
// sort-key order (numbers by value, binaries by unsigned bytes), so a
// Query reads its key range by binary search, O(log n + page), and Limit
// counts only the items in the key range, as in DynamoDB; REMOVE works.
//
// A front in this package repairs minidyn bugs that would corrupt data or
// mislead tests (see dynamoFront): empty lists and maps are sent with
// their type (minidyn sends a typeless {}, which the SDK decodes as a copy
// of the attribute before it); TransactWriteItems runs as minidyn's
// TransactWriteItemsByItem (a Matterly addition), because minidyn's own
// rollback of a canceled transaction restores a copy of the whole table
// and it reports only the first failed condition; PutItem and DeleteItem return Attributes and the
// ConditionalCheckFailed Item as DynamoDB does. Transactions, and puts and
// deletes that ask for the old item, hold off all other requests while
// they run.
//
// Known differences that remain:
//   - TableStatus is empty after CreateTable, so table waiters never finish;
//     StartDynamo does not wait and neither should callers.
//   - No TTL calls (UpdateTimeToLive, DescribeTimeToLive) and items never
//     expire; reads must check expiry themselves (they must in AWS too).
//   - The response has no CRC32 checksum header, so clients must set
//     DisableValidateResponseChecksum (NewDynamoClient does).
//   - third_party/minidyn writes empty lists and maps with their type; the
//     front's repair of a typeless {} (see dynamoFront) is left for any
//     path that still writes one, and answers NULL where the item has no
//     PK and SK to ask minidyn with.
//   - Empty binary values (B "") are not supported: minidyn cannot evaluate
//     any expression on an item holding one ("value type is not supported
//     yet") and returns the value as NULL.
//   - A key condition other than DynamoDB's forms (partition = :v, then
//     =, <, <=, >, >=, BETWEEN or begins_with on the sort key) is
//     evaluated on every item of the table or index, as minidyn did, and
//     then items outside it count towards Limit.
//   - ScannedCount is always 0; no size limits (400 KB items, 1 MB pages),
//     no consumed capacity, no throttling, and GSIs are updated
//     synchronously, so a test cannot catch code that expects to read its
//     own write from a GSI at once.
type Dynamo struct {
	endpoint string
	table    string
	path     string
	srv      *localServer
	front    *dynamoFront
	local    *inProcess // Client's path to the front, without a socket
	client   *dynamodb.Client

	walMax     int64       // journal size that triggers a snapshot
	compacting atomic.Bool // a background snapshot is being written
	saveMu     sync.Mutex  // one snapshot write at a time
	closeOnce  sync.Once
	closeErr   error
}

// DynamoOption configures StartDynamo.
type DynamoOption func(*Dynamo)

// WithTableName creates the table under name instead of store.DefaultTableName.
func WithTableName(name string) DynamoOption {
	return func(d *Dynamo) { d.table = name }
}

// StartDynamo starts the embedded server, creates the table of shared/store
// and, when snapshotPath names an existing file, restores its items.
// With a snapshotPath, Close (and Save) write every item back to it.
func StartDynamo(snapshotPath string, opts ...DynamoOption) (*Dynamo, error) {
	d := &Dynamo{table: store.DefaultTableName, path: snapshotPath, walMax: defaultWALMax}
	for _, o := range opts {
		o(d)
	}
	mini := server.NewServer()
	d.front = &dynamoFront{next: mini, mini: mini, table: d.table}
	srv, err := startLocalServer(d.front)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	d.srv, d.endpoint = srv, srv.url
	d.local = &inProcess{h: d.front}
	d.client = dynamodb.New(NewDynamoClient(d.endpoint).Options(), func(o *dynamodb.Options) {
		o.HTTPClient = d.local
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.createTable(ctx); err != nil {
		_ = d.srv.close()
		return nil, err
	}
	if snapshotPath != "" {
		if err := d.restore(ctx); err != nil {
			_ = d.srv.close()
			return nil, err
		}
		if err := d.replay(); err != nil {
			_ = d.srv.close()
			return nil, err
		}
		wal, err := openJournal(d.walPath())
		if err != nil {
			_ = d.srv.close()
			return nil, fmt.Errorf("open journal: %w", err)
		}
		d.front.wal = wal
		d.front.compact = d.compactInBackground
		if wal.Size() > d.walMax {
			if err := d.Save(); err != nil {
				_ = d.Close()
				return nil, err
			}
		}
	}
	return d, nil
}

// walPath is the journal beside the snapshot.
func (d *Dynamo) walPath() string { return d.path + ".wal" }

// defaultWALMax is the journal size past which it is folded into the
// snapshot (a few seconds of replay at most).
const defaultWALMax = 8 << 20

// WithJournalLimit folds the journal into the snapshot once it grows past
// n bytes, instead of defaultWALMax (tests use a small limit).
func WithJournalLimit(n int64) DynamoOption {
	return func(d *Dynamo) { d.walMax = n }
}

// replay applies the journal's records, in order, over the snapshot just
// restored. Each record is a whole item or a deletion, so a record already
// in the snapshot (a crash between writing a snapshot and emptying the
// journal) is applied again harmlessly.
func (d *Dynamo) replay() error {
	return readJournal(d.walPath(), func(line []byte) error {
		var rec walRecord
		if err := decodeJSON(line, &rec); err != nil {
			return err
		}
		var target string
		var in map[string]any
		switch {
		case rec.Put != nil:
			target, in = "PutItem", map[string]any{"TableName": d.table, "Item": rec.Put}
		case rec.Del != nil:
			target, in = "DeleteItem", map[string]any{"TableName": d.table, "Key": rec.Del}
		default:
			return errors.New("record with neither put nor del")
		}
		if out, _ := d.front.op(target, in, false); out.status != http.StatusOK {
			return fmt.Errorf("replay %s: %s", target, out.body.String())
		}
		return nil
	})
}

// compactInBackground folds the journal into the snapshot once it is
// longer than walMax, without holding up the write that found it so.
func (d *Dynamo) compactInBackground() {
	if d.front.wal.Size() <= d.walMax || !d.compacting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer d.compacting.Store(false)
		_ = d.Save() // a failure leaves the journal as it was: nothing is lost
	}()
}

// NewDynamoClient returns a DynamoDB client for a local endpoint such as
// Dynamo.Endpoint(): static credentials, us-east-1, response checksum
// validation off (minidyn sends none) and few retries, so a broken local
// server fails fast instead of backing off for seconds.
func NewDynamoClient(endpoint string) *dynamodb.Client {
	// One definition of the local client, shared with code that cannot
	// import this package (shared/store sits below it).
	return store.NewLocalClient(endpoint)
}

// Endpoint is the server's base URL, http://127.0.0.1:<port>.
func (d *Dynamo) Endpoint() string { return d.endpoint }

// Client returns a client for this server (see NewDynamoClient) that
// calls it in-process, without the HTTP listener (see inProcess); clients
// of other processes use Endpoint.
func (d *Dynamo) Client() *dynamodb.Client { return d.client }

// TableName is the name of the table the server holds.
func (d *Dynamo) TableName() string { return d.table }

func (d *Dynamo) createTable(ctx context.Context) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(d.table),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(store.AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(store.AttrSK), KeyType: types.KeyTypeRange},
		},
	}
	defined := map[string]bool{}
	define := func(name string) {
		if !defined[name] {
			defined[name] = true
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
				AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS,
			})
		}
	}
	define(store.AttrPK)
	define(store.AttrSK)
	for _, ix := range store.Indexes {
		define(ix.PartitionKey)
		define(ix.SortKey)
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	// No table waiter: minidyn leaves TableStatus empty, and the table is
	// usable as soon as CreateTable returns.
	if _, err := d.client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", d.table, err)
	}
	return nil
}

// snapshot is the file format: DynamoDB attribute-value JSON items, one per
// line, so a snapshot diffs and greps well.
type snapshot struct {
	Table string            `json:"table"`
	Items []json.RawMessage `json:"items"`
}

// batchWriteMax is DynamoDB's limit of write requests per BatchWriteItem.
const batchWriteMax = 25

func (d *Dynamo) restore(ctx context.Context) error {
	data, err := os.ReadFile(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("snapshot %s: %w", d.path, err)
	}
	reqs := make([]types.WriteRequest, 0, len(snap.Items))
	for i, raw := range snap.Items {
		item, err := unmarshalItem(raw)
		if err != nil {
			return fmt.Errorf("snapshot %s item %d: %w", d.path, i, err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for start := 0; start < len(reqs); start += batchWriteMax {
		batch := reqs[start:min(start+batchWriteMax, len(reqs))]
		if err := d.batchWrite(ctx, batch); err != nil {
			return fmt.Errorf("restore snapshot %s: %w", d.path, err)
		}
	}
	return nil
}

// batchWrite writes one batch, resubmitting unprocessed items a few times
// as a DynamoDB client must.
func (d *Dynamo) batchWrite(ctx context.Context, batch []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{d.table: batch}
	for range 5 {
		out, err := d.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		if len(out.UnprocessedItems[d.table]) == 0 {
			return nil
		}
		pending = out.UnprocessedItems
	}
	return fmt.Errorf("%d items still unprocessed", len(pending[d.table]))
}

// Save writes every item to the snapshot file (a no-op without one) and
// empties the journal, whose records the snapshot now holds. Writes wait
// meanwhile, so none falls between the two. It writes a temporary file and
// renames it over the old one, so a crash mid-save leaves the previous
// snapshot and the journal intact.
func (d *Dynamo) Save() error {
	if d.path == "" {
		return nil
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	f := d.front
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := f.snapshot()
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	write := func() error {
		if err := writeFileAtomic(d.path, data); err != nil {
			return err
		}
		return syncDir(filepath.Dir(d.path))
	}
	if f.wal == nil {
		return write()
	}
	return f.wal.reset(write)
}

// snapshot is every item of the table in the snapshot format, read with
// the caller holding the write lock. A Scan is right here: this is the
// stand-in's own backup of the whole table, not an application list.
func (f *dynamoFront) snapshot() ([]byte, error) {
	var buf bytes.Buffer
	name, _ := json.Marshal(f.table)
	fmt.Fprintf(&buf, "{\"table\": %s,\n\"items\": [", name)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	n := 0
	in := map[string]any{"TableName": f.table, "ConsistentRead": true}
	for {
		rec, out := f.op("Scan", in, true)
		if rec.status != http.StatusOK {
			return nil, fmt.Errorf("scan: %s", rec.body.String())
		}
		for _, item := range asList(out["Items"]) {
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
			if err := enc.Encode(item); err != nil {
				return nil, err
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
			n++
		}
		last := asMap(out["LastEvaluatedKey"])
		if len(last) == 0 {
			break
		}
		in["ExclusiveStartKey"] = last
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

// writeFileAtomic replaces path with data via a temporary file in the same
// directory (rename is atomic only within one file system).
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Close stops the server, letting writes in progress finish, then saves
// the snapshot (when there is a path) and closes the journal. Later calls
// return the first call's result.
func (d *Dynamo) Close() error {
	d.closeOnce.Do(func() {
		d.local.close()
		errs := []error{d.srv.close(), d.Save()}
		if d.front.wal != nil {
			errs = append(errs, d.front.wal.close())
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}
