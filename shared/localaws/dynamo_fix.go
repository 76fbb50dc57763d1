package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/truora/minidyn/server"

	"github.com/matterly/matterly/shared/store"
)

// dynamoFront sits in front of minidyn's handler and repairs the bugs of
// it that would otherwise corrupt data in make dev or mislead tests.
//
// Typeless empty values: minidyn stores empty lists, maps and binaries
// correctly but writes them as a typeless {} (its JSON shape has omitempty
// on L, M and B). DynamoDB never sends that, and the SDK's decoder does not
// reject it: it hands back the attribute value decoded just before it (one
// item's empty tags list comes back as a copy of another attribute), or
// nil when there is none. So the front finds each typeless {} in an item
// of a response and asks minidyn which empty value it is, with a read-only
// Query filtering on attribute_type(path, :t); it writes {"NULL": true}
// when it cannot tell (no key to ask with, the item is gone, or an empty
// binary, on which minidyn cannot evaluate expressions), so a value is
// never aliased.
//
// Transactions: minidyn rolls a canceled TransactWriteItems back by
// restoring a copy of the whole table, and its copy drops every empty list
// and map, leaving values that break all later expressions on those items
// ("value type is not supported yet"); it also reports only the first
// failed condition. So the front runs TransactWriteItems as minidyn's
// TransactWriteItemsByItem instead (see transactWrite), with every other
// request held off meanwhile.
//
// Return values: see putOrDelete.
//
// Durability: with a journal, every acknowledged write is on disk first
// (see write); writes run one at a time, reads alongside each other.
type dynamoFront struct {
	next   http.Handler
	mini   *server.Server // next, for the calls made without HTTP's shape (transactions)
	mu     sync.RWMutex   // writes hold it exclusively
	table  string         // the table whose new items are streamed and journaled
	stream stream
	wal    *journal // nil: writes are not journaled (no snapshot path)
	// compact folds the journal into the snapshot once it is too long.
	compact func()
	// calls counts the requests sent to minidyn (tests check that a
	// read costs one).
	calls atomic.Int64
}

func (f *dynamoFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var rec *recorder
	target := r.Header.Get("X-Amz-Target")
	switch target {
	case targetPrefix + "TransactWriteItems", targetPrefix + "PutItem", targetPrefix + "DeleteItem",
		targetPrefix + "UpdateItem", targetPrefix + "BatchWriteItem":
		rec = f.write(target, reqBody)
	default:
		f.mu.RLock()
		rec = f.call(target, reqBody)
		f.mu.RUnlock()
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// write runs one write with every other request held off, so the journal
// records the items it left in the order the writes were applied. The
// answer goes back only once the journal is on disk: an acknowledged write
// survives a crash (kill -9) of the process.
func (f *dynamoFront) write(target string, reqBody []byte) *recorder {
	var rec *recorder
	var inserted []json.RawMessage
	var touched []map[string]any
	var lines [][]byte
	var tx *transaction
	if target == targetPrefix+"TransactWriteItems" {
		if tx, rec = f.prepareTransaction(reqBody); rec != nil {
			return rec
		}
	}
	f.mu.Lock()
	switch target {
	case targetPrefix + "TransactWriteItems":
		rec, inserted, touched, lines = f.transactWrite(tx, reqBody)
	case targetPrefix + "PutItem", targetPrefix + "DeleteItem":
		rec = f.putOrDelete(target, reqBody)
	default:
		rec = f.call(target, reqBody)
	}
	var seq uint64
	if f.wal != nil {
		switch {
		case lines != nil: // a transaction's own records
			seq = f.wal.append(lines...)
		case touched == nil && rec.status == http.StatusOK:
			seq = f.journalItems(f.writtenKeys(reqBody))
		default:
			seq = f.journalItems(touched)
		}
	}
	f.mu.Unlock()
	if seq > 0 {
		if err := f.wal.wait(seq); err != nil {
			// Applied in memory but not durable: the caller must not take
			// it for acknowledged. DynamoDB's 500 is retryable.
			return jsonResponse(http.StatusInternalServerError, map[string]any{
				"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": err.Error()})
		}
		if f.compact != nil {
			f.compact()
		}
	}
	f.stream.deliver(inserted)
	return rec
}

// writtenKeys are the keys of the table's items that a successful
// PutItem, UpdateItem, DeleteItem or BatchWriteItem request wrote.
func (f *dynamoFront) writtenKeys(reqBody []byte) []map[string]any {
	var req map[string]any
	if decodeJSON(reqBody, &req) != nil {
		return nil
	}
	var keys []map[string]any
	if items, ok := asMap(req["RequestItems"])[f.table]; ok { // BatchWriteItem
		for _, wr := range asList(items) {
			if put := asMap(asMap(wr)["PutRequest"]); put != nil {
				keys = append(keys, keyOnly(asMap(put["Item"])))
			} else if del := asMap(asMap(wr)["DeleteRequest"]); del != nil {
				keys = append(keys, keyOnly(asMap(del["Key"])))
			}
		}
		return keys
	}
	if req["TableName"] != f.table {
		return nil
	}
	if key := asMap(req["Key"]); key != nil {
		return []map[string]any{keyOnly(key)}
	}
	if item := asMap(req["Item"]); item != nil {
		return []map[string]any{keyOnly(item)}
	}
	return nil
}

// journalItems appends the current state of each item (read back, typed,
// while the write lock is held) to the journal: the whole item, or its
// deletion. Replaying whole items is idempotent, unlike replaying an
// update expression. It returns the sequence number to wait for (0: none).
func (f *dynamoFront) journalItems(keys []map[string]any) uint64 {
	if len(keys) == 0 {
		return 0
	}
	lines := make([][]byte, 0, len(keys))
	for _, key := range keys {
		lines = append(lines, f.journalLine(key))
	}
	return f.wal.append(lines...)
}

// journalLine is the journal record of the item at key as it now is. The
// answer's item is copied into the record as minidyn wrote it, not decoded
// and encoded again: {"Item":{...}} becomes {"put":{...}} (see walRecord).
func (f *dynamoFront) journalLine(key map[string]any) []byte {
	body, _ := json.Marshal(map[string]any{"TableName": f.table, "Key": key, "ConsistentRead": true})
	rec := f.call(targetPrefix+"GetItem", body)
	var out struct{ Item json.RawMessage }
	_ = json.Unmarshal(rec.body.Bytes(), &out)
	if len(out.Item) > 0 && !bytes.Equal(out.Item, []byte("null")) {
		return append(append([]byte(`{"put":`), out.Item...), '}', '\n')
	}
	del, _ := json.Marshal(walRecord{Del: key})
	return append(del, '\n')
}

// walRecord is one line of the journal: an item as it now is, or the key
// of an item that is gone.
type walRecord struct {
	Put map[string]any `json:"put,omitempty"`
	Del map[string]any `json:"del,omitempty"`
}

// putOrDelete runs a PutItem or DeleteItem and gives it DynamoDB's
// answer, with the write lock held. minidyn's PutItem answers every put
// with the new item as Attributes, even for ReturnValues ALL_OLD, and
// neither call honours ReturnValuesOnConditionCheckFailure. When the old
// item is asked for, it is read first (typed).
func (f *dynamoFront) putOrDelete(target string, reqBody []byte) *recorder {
	var req map[string]any
	if decodeJSON(reqBody, &req) != nil {
		return f.call(target, reqBody) // let minidyn word the error
	}
	wantOld := req["ReturnValues"] == "ALL_OLD"
	wantOldOnFailure := req["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
	var old map[string]any
	if wantOld || wantOldOnFailure {
		key := asMap(req["Key"])
		if key == nil {
			key = keyOnly(asMap(req["Item"]))
		}
		getRec, out := f.op("GetItem", map[string]any{"TableName": req["TableName"], "Key": key, "ConsistentRead": true}, true)
		if getRec.status != http.StatusOK {
			return getRec
		}
		old = asMap(out["Item"])
	}
	rec := f.raw(target, reqBody)
	var resp map[string]any
	if decodeJSON(rec.body.Bytes(), &resp) != nil {
		return rec
	}
	switch {
	case rec.status == http.StatusOK:
		delete(resp, "Attributes")
		if wantOld && old != nil {
			resp["Attributes"] = old
		}
	case wantOldOnFailure && old != nil && strings.HasSuffix(fmt.Sprint(resp["__type"]), "ConditionalCheckFailedException"):
		resp["Item"] = old
	default:
		return rec
	}
	return jsonResponse(rec.status, resp)
}

// call runs one request through minidyn and types the empty values of its
// response.
func (f *dynamoFront) call(target string, reqBody []byte) *recorder {
	return f.typed(reqBody, f.raw(target, reqBody))
}

// typed types the empty values of rec, minidyn's answer to reqBody.
func (f *dynamoFront) typed(reqBody []byte, rec *recorder) *recorder {
	body := rec.body.Bytes()
	if bytes.Contains(body, []byte("{}")) || rec.status != http.StatusOK && bytes.Contains(body, []byte(`"NULL"`)) {
		if fixed, ok := f.fix(reqBody, body); ok {
			rec.body.Reset()
			rec.body.Write(fixed)
		}
	}
	return rec
}

// raw runs one request through minidyn as it is.
func (f *dynamoFront) raw(target string, reqBody []byte) *recorder {
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(reqBody))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	f.calls.Add(1)
	f.next.ServeHTTP(rec, req)
	return rec
}

// op sends a request built from in to minidyn, typed or raw.
func (f *dynamoFront) op(name string, in any, typed bool) (*recorder, map[string]any) {
	body, _ := json.Marshal(in)
	var rec *recorder
	if typed {
		rec = f.call(targetPrefix+name, body)
	} else {
		rec = f.raw(targetPrefix+name, body)
	}
	var out map[string]any
	_ = decodeJSON(rec.body.Bytes(), &out)
	return rec, out
}

const targetPrefix = "DynamoDB_20120810."

// recorder buffers a response so it can be repaired before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// wireItem is an item in a response with what is needed to ask about it.
type wireItem struct {
	item  map[string]any
	table string
	key   map[string]any // the request's key, used when the item lacks PK and SK
	// nullsSuspect: minidyn writes the item of a ConditionalCheckFailed
	// error through another mapping, which turns empty lists and maps
	// into NULL, so each NULL there is asked about too.
	nullsSuspect bool
}

// fix returns body with every typeless value typed, and false when there
// was nothing to change.
func (f *dynamoFront) fix(reqBody, body []byte) ([]byte, bool) {
	var resp, req map[string]any
	if decodeJSON(body, &resp) != nil || decodeJSON(reqBody, &req) != nil {
		return nil, false
	}
	table, _ := req["TableName"].(string)
	reqKey := asMap(req["Key"])
	if reqKey == nil {
		reqKey = asMap(req["Item"]) // PutItem: the key is in the item
	}
	var items []wireItem
	add := func(v any, table string, key map[string]any) {
		if m := asMap(v); m != nil {
			items = append(items, wireItem{item: m, table: table, key: key})
		}
	}
	add(resp["Item"], table, reqKey) // GetItem, ConditionalCheckFailed
	if strings.HasSuffix(fmt.Sprint(resp["__type"]), "ConditionalCheckFailedException") && len(items) == 1 {
		items[0].nullsSuspect = true
	}
	add(resp["Attributes"], table, reqKey) // PutItem, UpdateItem, DeleteItem
	for _, it := range asList(resp["Items"]) {
		add(it, table, nil) // Query, Scan
	}
	switch rs := resp["Responses"].(type) {
	case map[string]any: // BatchGetItem: table name → items
		for t, list := range rs {
			for _, it := range asList(list) {
				add(it, t, nil)
			}
		}
	case []any: // TransactGetItems: one response per request item
		for i, r := range rs {
			add(asMap(r)["Item"], transactTable(req, i), nil)
		}
	}
	for i, r := range asList(resp["CancellationReasons"]) {
		add(asMap(r)["Item"], transactTable(req, i), nil)
	}

	changed := false
	for _, wi := range items {
		for name, v := range wi.item {
			typed, ok := f.typeValue(wi, []any{name}, v)
			if ok {
				wi.item[name] = typed
				changed = true
			}
		}
	}
	if !changed {
		return nil, false
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(resp) != nil {
		return nil, false
	}
	return out.Bytes(), true
}

// typeValue returns v with its typeless parts typed, reporting whether
// anything changed. path is where v sits in the item.
func (f *dynamoFront) typeValue(wi wireItem, path []any, v any) (any, bool) {
	m := asMap(v)
	if m == nil {
		return v, false
	}
	if len(m) == 0 {
		return f.emptyAt(wi, path), true
	}
	if wi.nullsSuspect && len(m) == 1 && m["NULL"] == true {
		typed := f.emptyAt(wi, path)
		return typed, asMap(typed)["NULL"] == nil
	}
	changed := false
	if inner := asMap(m["M"]); inner != nil {
		for k, e := range inner {
			if typed, ok := f.typeValue(wi, append(path[:len(path):len(path)], k), e); ok {
				inner[k], changed = typed, true
			}
		}
	}
	if list := asList(m["L"]); list != nil {
		for i, e := range list {
			if typed, ok := f.typeValue(wi, append(path[:len(path):len(path)], i), e); ok {
				list[i], changed = typed, true
			}
		}
	}
	return v, changed
}

// emptyAt asks minidyn which empty value is at path.
func (f *dynamoFront) emptyAt(wi wireItem, path []any) any {
	pk, sk := asMap(wi.item[store.AttrPK]), asMap(wi.item[store.AttrSK])
	if (pk == nil || sk == nil) && wi.key != nil {
		pk, sk = asMap(wi.key[store.AttrPK]), asMap(wi.key[store.AttrSK])
	}
	if pk == nil || sk == nil || wi.table == "" {
		return map[string]any{"NULL": true}
	}
	names := map[string]string{"#pk": store.AttrPK, "#sk": store.AttrSK}
	var expr strings.Builder
	for i, p := range path {
		switch p := p.(type) {
		case string:
			if i > 0 {
				expr.WriteByte('.')
			}
			ph := fmt.Sprintf("#p%d", i)
			names[ph] = p
			expr.WriteString(ph)
		case int:
			fmt.Fprintf(&expr, "[%d]", p)
		}
	}
	for typ, empty := range map[string]any{"L": []any{}, "M": map[string]any{}} {
		q, _ := json.Marshal(map[string]any{
			"TableName":                wi.table,
			"ConsistentRead":           true,
			"KeyConditionExpression":   "#pk = :pk AND #sk = :sk",
			"FilterExpression":         "attribute_type(" + expr.String() + ", :t)",
			"ExpressionAttributeNames": names,
			"ExpressionAttributeValues": map[string]any{
				":pk": pk, ":sk": sk, ":t": map[string]any{"S": typ},
			},
		})
		rec := f.raw(targetPrefix+"Query", q)
		var out struct{ Count int }
		if rec.status == http.StatusOK && json.Unmarshal(rec.body.Bytes(), &out) == nil && out.Count > 0 {
			return map[string]any{typ: empty}
		}
	}
	return map[string]any{"NULL": true}
}

// transactTable is the table of the i-th item of a Transact* request.
func transactTable(req map[string]any, i int) string {
	list := asList(req["TransactItems"])
	if i >= len(list) {
		return ""
	}
	for _, op := range asMap(list[i]) {
		if t, ok := asMap(op)["TableName"].(string); ok {
			return t
		}
	}
	return ""
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep Count and the like exactly as minidyn wrote them
	return dec.Decode(v)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
