// Package store is the DynamoDB plumbing: the one table's schema, typed get,
// put, query and transaction helpers, and the translation of DynamoDB's
// conditional failures into errors the domain packages can act on.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/matterly/matterly/shared/fault"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// DB is the table.
type DB struct {
	API   API
	Table string
}

// New returns a DB for table.
func New(api API, table string) *DB { return &DB{API: api, Table: table} }

// ErrNotFound means the item does not exist.
var ErrNotFound = errors.New("item not found")

// ErrConditionFailed means a single-item write's condition did not hold.
var ErrConditionFailed = errors.New("condition failed")

// TxCanceledError says which items of a transaction failed their condition.
// Reasons has one code per transaction item, in order ("" when that item was
// fine, "ConditionalCheckFailed" when its condition failed).
type TxCanceledError struct{ Reasons []string }

func (e *TxCanceledError) Error() string { return fmt.Sprintf("transaction canceled: %v", e.Reasons) }

// Failed reports whether item i of the transaction failed its condition.
func (e *TxCanceledError) Failed(i int) bool {
	return i < len(e.Reasons) && e.Reasons[i] == "ConditionalCheckFailed"
}

// Failed reports whether err is a canceled transaction in which item i
// failed its condition.
func Failed(err error, i int) bool {
	var tce *TxCanceledError
	return errors.As(err, &tce) && tce.Failed(i)
}

// Unchanged is the condition of a read-modify-write: the item's updatedAt
// is still the one read, so nobody wrote it since (every write sets it).
func Unchanged(updatedAt time.Time) *Cond {
	v, err := attributevalue.Marshal(updatedAt)
	if err != nil { // a time always marshals; keep the condition failing safe
		v = S("unmarshalable")
	}
	return &Cond{Expr: "#upd = :upd", Names: map[string]string{"#upd": "updatedAt"}, Values: map[string]types.AttributeValue{":upd": v}}
}

// S, N and Bool build expression values.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// N builds a number expression value.
func N(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Bool builds a boolean expression value.
func Bool(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// Key builds a primary key.
func Key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: S(pk), AttrSK: S(sk)}
}

// Get reads one item into out with a strongly consistent read.
func (d *DB) Get(ctx context.Context, pk, sk string, out any) error {
	res, err := d.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &d.Table, Key: Key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return wrap("get item", err)
	}
	if len(res.Item) == 0 {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	return nil
}

// GetAttrs reads the named top-level attributes of one item, strongly
// consistent, undecoded: for a hot read of a few attributes (the router's
// membership check on every request), which should not pay for decoding
// the whole item by reflection. The item costs the same read units. An
// item holding none of the names reads as ErrNotFound, as DynamoDB answers
// it with an empty item.
func (d *DB) GetAttrs(ctx context.Context, pk, sk string, names ...string) (map[string]types.AttributeValue, error) {
	if len(names) == 0 {
		return nil, errors.New("get item: GetAttrs needs at least one attribute name")
	}
	proj, alias := make([]byte, 0, 8*len(names)), make(map[string]string, len(names))
	for i, n := range names {
		a := "#a" + strconv.Itoa(i)
		if i > 0 {
			proj = append(proj, ',')
		}
		proj, alias[a] = append(proj, a...), n
	}
	res, err := d.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &d.Table, Key: Key(pk, sk), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(string(proj)), ExpressionAttributeNames: alias,
	})
	if err != nil {
		return nil, wrap("get item", err)
	}
	if len(res.Item) == 0 {
		return nil, ErrNotFound
	}
	return res.Item, nil
}

// String is item's string attribute name, "" when it is absent or not a
// string.
func String(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// Marshal turns a row struct into an item.
func Marshal(row any) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(row)
	if err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	return item, nil
}

// Put builds a transaction Put of row with an optional condition.
func (d *DB) Put(row any, cond *Cond) (types.TransactWriteItem, error) {
	item, err := Marshal(row)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	p := &types.Put{TableName: &d.Table, Item: item}
	if cond != nil {
		p.ConditionExpression = &cond.Expr
		p.ExpressionAttributeNames = cond.Names
		p.ExpressionAttributeValues = cond.Values
	}
	return types.TransactWriteItem{Put: p}, nil
}

// Cond is a condition expression with its names and values.
type Cond struct {
	Expr   string
	Names  map[string]string
	Values map[string]types.AttributeValue
}

// NotExists is the condition of a create: no item with this key yet.
func NotExists() *Cond { return &Cond{Expr: "attribute_not_exists(PK)"} }

// Exists is the condition that the item is there.
func Exists() *Cond { return &Cond{Expr: "attribute_exists(PK)"} }

// Update builds a transaction Update.
func (d *DB) Update(pk, sk, expr string, cond *Cond, names map[string]string, values map[string]types.AttributeValue) types.TransactWriteItem {
	u := &types.Update{TableName: &d.Table, Key: Key(pk, sk), UpdateExpression: &expr}
	names, values = merge(names, values, cond)
	if cond != nil {
		u.ConditionExpression = &cond.Expr
	}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		u.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Update: u}
}

// Delete builds a transaction Delete with an optional condition.
func (d *DB) Delete(pk, sk string, cond *Cond) types.TransactWriteItem {
	del := &types.Delete{TableName: &d.Table, Key: Key(pk, sk)}
	if cond != nil {
		del.ConditionExpression = &cond.Expr
		if len(cond.Names) > 0 {
			del.ExpressionAttributeNames = cond.Names
		}
		if len(cond.Values) > 0 {
			del.ExpressionAttributeValues = cond.Values
		}
	}
	return types.TransactWriteItem{Delete: del}
}

// Check builds a transaction ConditionCheck.
func (d *DB) Check(pk, sk string, cond Cond) types.TransactWriteItem {
	c := &types.ConditionCheck{TableName: &d.Table, Key: Key(pk, sk), ConditionExpression: &cond.Expr}
	if len(cond.Names) > 0 {
		c.ExpressionAttributeNames = cond.Names
	}
	if len(cond.Values) > 0 {
		c.ExpressionAttributeValues = cond.Values
	}
	return types.TransactWriteItem{ConditionCheck: c}
}

func merge(names map[string]string, values map[string]types.AttributeValue, cond *Cond) (map[string]string, map[string]types.AttributeValue) {
	if cond == nil {
		return names, values
	}
	if len(cond.Names) > 0 && names == nil {
		names = map[string]string{}
	}
	for k, v := range cond.Names {
		names[k] = v
	}
	if len(cond.Values) > 0 && values == nil {
		values = map[string]types.AttributeValue{}
	}
	for k, v := range cond.Values {
		values[k] = v
	}
	return names, values
}

type requestTokenKey struct{}

// WithRequestToken makes the transactions run with ctx idempotent under
// token (at most 33 characters, unique per intended change): when a
// transaction committed but its answer was lost, the SDK's retry of the
// same request succeeds without writing again, instead of failing on the
// conditions the first attempt already satisfied (DynamoDB keeps the token
// for 10 minutes).
func WithRequestToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, requestTokenKey{}, token)
}

// Transact writes items atomically. A failed condition gives a
// *TxCanceledError naming the failing items. A transaction canceled only by
// a conflict with another transaction on the same items (which DynamoDB
// does not retry) is retried with jittered backoff, then answers 503.
func (d *DB) Transact(ctx context.Context, items ...types.TransactWriteItem) error {
	token, _ := ctx.Value(requestTokenKey{}).(string)
	for attempt := 0; ; attempt++ {
		in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
		if token != "" {
			// The SDK's retries of one attempt share its token; a retry of
			// ours after a conflict is a new attempt, which must run again.
			in.ClientRequestToken = aws.String(token + "." + strconv.Itoa(attempt))
		}
		_, err := d.API.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return wrap(fmt.Sprintf("transact %d items", len(items)), err)
		}
		reasons := make([]string, len(items))
		conditional, conflict, throttled := false, false, false
		for i, r := range tce.CancellationReasons {
			if i < len(reasons) && r.Code != nil && *r.Code != "None" {
				reasons[i] = *r.Code
				conditional = conditional || *r.Code == "ConditionalCheckFailed"
				conflict = conflict || *r.Code == "TransactionConflict"
				throttled = throttled || *r.Code == "ThrottlingError" || *r.Code == "ProvisionedThroughputExceeded"
			}
		}
		switch {
		case conditional:
			return &TxCanceledError{Reasons: reasons}
		case throttled:
			return unavailable(err)
		case !conflict:
			return wrap(fmt.Sprintf("transact %d items", len(items)), err)
		case attempt == 3:
			return unavailable(fmt.Errorf("transact %d items: still conflicting after %d attempts: %w", len(items), attempt+1, err))
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return err
		}
	}
}

// backoff waits a jittered, growing delay before retry number attempt.
func backoff(ctx context.Context, attempt int) error {
	base := time.Duration(10<<attempt) * time.Millisecond
	t := time.NewTimer(base/2 + rand.N(base/2))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wrap adds context to a DynamoDB error and marks throttling and service
// errors (left after the SDK's own retries) as a dependency being down: the
// client gets 503 with Retry-After, never a 500.
func wrap(op string, err error) error {
	err = fmt.Errorf("%s: %w", op, err)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException",
			"InternalServerError", "ServiceUnavailable", "LimitExceededException", "TransactionConflictException":
			return unavailable(err)
		}
	}
	var respErr *awshttp.ResponseError
	var netErr net.Error
	switch {
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500,
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return unavailable(err)
	}
	return err
}

func unavailable(err error) error {
	return &fault.Error{Kind: fault.Unavailable, Message: "The database is busy; try again shortly.", RetryAfter: time.Second, Err: err}
}

// PutItem writes one item with an optional condition; a failed condition is
// ErrConditionFailed.
func (d *DB) PutItem(ctx context.Context, row any, cond *Cond) error {
	w, err := d.Put(row, cond)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{
		TableName: &d.Table, Item: w.Put.Item, ConditionExpression: w.Put.ConditionExpression,
		ExpressionAttributeNames: w.Put.ExpressionAttributeNames, ExpressionAttributeValues: w.Put.ExpressionAttributeValues,
	}
	return retryConflicts(ctx, func() error {
		_, err := d.API.PutItem(ctx, in)
		return conditionErr(err, "put")
	})
}

// retryConflicts runs a single-item write again when it collided with a
// transaction in progress on the same item (TransactionConflictException,
// which the SDK does not retry; the write was not applied), then gives up
// with 503.
func retryConflicts(ctx context.Context, write func() error) error {
	for attempt := 0; ; attempt++ {
		err := write()
		var tc *types.TransactionConflictException
		if !errors.As(err, &tc) {
			return err
		}
		if attempt == 3 {
			return unavailable(err)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return err
		}
	}
}

// UpdateItem runs one update; a failed condition is ErrConditionFailed.
// When out is non-nil it receives the item's new attributes.
func (d *DB) UpdateItem(ctx context.Context, w types.TransactWriteItem, out any) error {
	u := w.Update
	in := &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	}
	if out != nil {
		in.ReturnValues = types.ReturnValueAllNew
	}
	var res *dynamodb.UpdateItemOutput
	err := retryConflicts(ctx, func() error {
		var err error
		res, err = d.API.UpdateItem(ctx, in)
		return conditionErr(err, "update")
	})
	if err != nil {
		return err
	}
	if out != nil {
		if err := attributevalue.UnmarshalMap(res.Attributes, out); err != nil {
			return fmt.Errorf("decode updated item: %w", err)
		}
	}
	return nil
}

func conditionErr(err error, op string) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrConditionFailed
	}
	return wrap(op, err)
}

// StartKey names where a page of a query starts: the DynamoDB
// ExclusiveStartKey of the next page, as QueryPage returns it. nil is the
// first page going in and the last page coming out. Services pass it through
// opaquely; only shared/cursor looks inside, to seal it for a client.
type StartKey map[string]types.AttributeValue

// Query is one page of a key-condition query.
type Query struct {
	Index      string // "" for the table
	PK         string // partition key value
	SKPrefix   string // optional begins_with on the sort key
	SKFrom     string // optional inclusive lower bound on the sort key, with SKTo
	SKTo       string // optional inclusive upper bound on the sort key, with SKFrom
	Forward    bool   // ascending sort key order
	Limit      int32
	StartKey   StartKey
	Consistent bool
}

// QueryAll reads every item of q, page after page: for bounded sets (one
// member's calendars, one account's ledgers), never an org's whole history.
func QueryAll[T any](ctx context.Context, db *DB, q Query) ([]T, error) {
	var all []T
	for {
		var page []T
		next, err := db.QueryPage(ctx, q, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == nil {
			return all, nil
		}
		q.StartKey = next
	}
}

// QueryPage runs q and decodes the items into out (a pointer to a slice). It
// returns the key to start the next page from, nil on the last page. It asks
// for one item more than Limit so that a full last page is known to be the
// last, instead of handing out a cursor to an empty page.
func (d *DB) QueryPage(ctx context.Context, q Query, out any) (StartKey, error) {
	pkName, skName := AttrPK, AttrSK
	for _, ix := range Indexes {
		if ix.Name == q.Index {
			pkName, skName = ix.PartitionKey, ix.SortKey
		}
	}
	expr := "#pk = :pk"
	names := map[string]string{"#pk": pkName}
	values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: q.PK}}
	switch {
	case q.SKPrefix != "":
		expr += " AND begins_with(#sk, :sk)"
		names["#sk"] = skName
		values[":sk"] = &types.AttributeValueMemberS{Value: q.SKPrefix}
	case q.SKFrom != "" || q.SKTo != "":
		expr += " AND #sk BETWEEN :from AND :to"
		names["#sk"] = skName
		values[":from"] = &types.AttributeValueMemberS{Value: q.SKFrom}
		values[":to"] = &types.AttributeValueMemberS{Value: q.SKTo}
	}
	in := &dynamodb.QueryInput{
		TableName: &d.Table, KeyConditionExpression: &expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(q.Forward), ExclusiveStartKey: q.StartKey,
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(q.Limit + 1)
	}
	if q.Index != "" {
		in.IndexName = aws.String(q.Index)
	} else if q.Consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	res, err := d.API.Query(ctx, in)
	if err != nil {
		return nil, wrap("query", err)
	}
	items, next := res.Items, res.LastEvaluatedKey
	if q.Limit > 0 && len(items) > int(q.Limit) {
		items = items[:q.Limit]
		next = keyOf(items[len(items)-1], pkName, skName)
	}
	// Otherwise a LastEvaluatedKey only comes from DynamoDB's 1 MB page cap:
	// more items may follow, so it stays.
	if err := attributevalue.UnmarshalListOfMaps(items, out); err != nil {
		return nil, fmt.Errorf("decode query: %w", err)
	}
	return next, nil
}

// keyOf extracts the ExclusiveStartKey of item: the table key plus, for an
// index query, the index key.
func keyOf(item map[string]types.AttributeValue, pkName, skName string) StartKey {
	key := StartKey{}
	for _, n := range []string{AttrPK, AttrSK, pkName, skName} {
		if v, ok := item[n]; ok {
			key[n] = v
		}
	}
	return key
}

// KeyOut pairs a key with where to decode the item.
type KeyOut struct {
	PK, SK string
	Out    any
	Found  bool // set by BatchGet
}

// BatchGet reads up to 100 items in one call with strongly consistent reads,
// setting Found on each. Missing items are not an error.
func (d *DB) BatchGet(ctx context.Context, reqs ...*KeyOut) error {
	keys := make([]map[string]types.AttributeValue, len(reqs))
	for i, r := range reqs {
		keys[i] = Key(r.PK, r.SK)
	}
	pending := map[string]types.KeysAndAttributes{d.Table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	// UnprocessedKeys are retried: DynamoDB may return a partial batch under load.
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 5 {
			return unavailable(fmt.Errorf("batch get: unprocessed keys after %d attempts", attempt))
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		res, err := d.API.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return wrap("batch get", err)
		}
		for _, item := range res.Responses[d.Table] {
			pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
			sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
			for _, r := range reqs {
				if pk != nil && sk != nil && r.PK == pk.Value && r.SK == sk.Value {
					if err := attributevalue.UnmarshalMap(item, r.Out); err != nil {
						return fmt.Errorf("decode item: %w", err)
					}
					r.Found = true
				}
			}
		}
		pending = res.UnprocessedKeys
	}
	return nil
}

// Replace builds a transaction Update that sets every attribute of row
// except its key and those named in keep: the attributes other writers own
// (counters kept by conditional ADDs, creation fields), which a
// read-modify-write of the rest must never overwrite with what it read.
// Attributes row leaves out (omitempty) are removed.
func (d *DB) Replace(row any, cond *Cond, keep ...string) (types.TransactWriteItem, error) {
	item, err := Marshal(row)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
	sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return types.TransactWriteItem{}, errors.New("replace: row has no PK and SK")
	}
	skip := map[string]bool{AttrPK: true, AttrSK: true}
	for _, k := range keep {
		skip[k] = true
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var sets []string
	for _, name := range sortedKeys(item) {
		if skip[name] {
			continue
		}
		n, v := "#a"+strconv.Itoa(len(names)), ":a"+strconv.Itoa(len(names))
		names[n], values[v] = name, item[name]
		sets = append(sets, n+" = "+v)
	}
	// A cleared attribute is set to NULL rather than removed: reads decode
	// NULL as the zero value, and the local stand-in ignores REMOVE. Index
	// keys cannot be NULL, so those are removed.
	var removes []string
	for _, name := range optionalAttrs(row) {
		if _, set := item[name]; set || skip[name] {
			continue
		}
		n := "#a" + strconv.Itoa(len(names))
		names[n] = name
		if isIndexKey(name) {
			removes = append(removes, n)
			continue
		}
		v := ":a" + strconv.Itoa(len(names))
		values[v] = &types.AttributeValueMemberNULL{Value: true}
		sets = append(sets, n+" = "+v)
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	return d.Update(pk.Value, sk.Value, expr, cond, names, values), nil
}

func isIndexKey(name string) bool {
	for _, ix := range Indexes {
		if name == ix.PartitionKey || name == ix.SortKey {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]types.AttributeValue) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// optionalAttrs lists the attribute names of row's omitempty fields.
func optionalAttrs(row any) []string {
	t := reflect.TypeOf(row)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("dynamodbav")
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.Contains(","+opts+",", ",omitempty,") {
				out = append(out, name)
			}
		}
	}
	walk(t)
	return out
}
