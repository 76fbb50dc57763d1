package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/truora/minidyn/server"

	"github.com/matterly/matterly/shared/store"
)

// maxTransactItems is DynamoDB's limit of items per transaction.
const maxTransactItems = 100

// txOp is one item of a TransactWriteItems request in wire form. Its
// members stay raw JSON: items pass through the front without being
// decoded and encoded again.
type txOp struct {
	kind  string                     // ConditionCheck, Put, Update or Delete
	spec  map[string]json.RawMessage // the operation's members as sent
	table string
	key   map[string]any  // PK and SK, each a compacted json.RawMessage
	item  json.RawMessage // a Put's item, compacted
}

// specString is the string member name of op's spec ("" when absent or not
// a string).
func (op txOp) specString(name string) string {
	var v string
	if raw, ok := op.spec[name]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

// transaction is a TransactWriteItems request read and checked by
// prepareTransaction, ready to run.
type transaction struct {
	ops   []txOp
	input *server.TransactWriteItemsInput // decoded for minidyn
}

// compactJSON is raw without insignificant space (so equal keys compare
// equal, and a journal record stays on one line); raw itself when it is
// not valid JSON, for minidyn to word the error.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// prepareTransaction reads and validates a TransactWriteItems request
// without the write lock, so other requests wait only for the call to
// minidyn. A non-nil recorder is the request's answer (a malformed
// request).
func (f *dynamoFront) prepareTransaction(reqBody []byte) (*transaction, *recorder) {
	var req struct {
		TransactItems []map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(reqBody, &req); err != nil {
		return nil, apiError("SerializationException", err.Error())
	}
	if n := len(req.TransactItems); n == 0 || n > maxTransactItems {
		return nil, apiError("ValidationException", fmt.Sprintf("TransactItems must have between 1 and %d items, got %d", maxTransactItems, n))
	}
	ops := make([]txOp, len(req.TransactItems))
	seen := map[string]bool{}
	for i, ti := range req.TransactItems {
		if len(ti) != 1 {
			return nil, apiError("ValidationException", "transaction item must include exactly one of Put, Update, Delete, or ConditionCheck")
		}
		for kind, spec := range ti {
			ops[i] = txOp{kind: kind, spec: spec}
		}
		op := &ops[i]
		keyFrom := "Key"
		switch op.kind {
		case "ConditionCheck", "Update", "Delete":
		case "Put":
			keyFrom = "Item"
			op.item = compactJSON(op.spec["Item"])
		default:
			return nil, apiError("ValidationException", "unknown transaction item "+op.kind)
		}
		var attrs map[string]json.RawMessage
		_ = json.Unmarshal(op.spec[keyFrom], &attrs)
		op.key = map[string]any{store.AttrPK: compactJSON(attrs[store.AttrPK]), store.AttrSK: compactJSON(attrs[store.AttrSK])}
		op.table = op.specString("TableName")
		if op.kind == "ConditionCheck" && op.spec["ConditionExpression"] == nil {
			return nil, apiError("ValidationException", "ConditionCheck needs a ConditionExpression")
		}
		id, _ := json.Marshal([]any{op.table, op.key})
		if seen[string(id)] {
			return nil, apiError("ValidationException", "Transaction request cannot include multiple operations on one item")
		}
		seen[string(id)] = true
	}
	input, err := server.DecodeTransactWriteItems(reqBody)
	if err != nil {
		return nil, apiError("SerializationException", err.Error())
	}
	return &transaction{ops: ops, input: input}, nil
}

// transactWrite runs a TransactWriteItems request the way DynamoDB does,
// while the caller holds f.mu exclusively (so no other request sees a
// half-applied transaction), with one call to minidyn's
// TransactWriteItemsByItem (see third_party/minidyn/server/transact.go):
// every item's condition is evaluated first, writing nothing, and every
// failed one reported; then the writes are applied one by one, and put
// back from copies if one fails anyway.
//
// minidyn's own TransactWriteItems is not used: its rollback restores a
// copy of the whole table that loses every empty list and map.
//
// It also returns the items the transaction inserted (JSON), for the
// stream, and, when it committed and there is a journal, the journal's
// records, taken from the answer (each written item as it now is), so
// its items are not read back. When a write failed and minidyn put the
// others back, touched holds the keys it may have written, for the
// journal to record as they are.
func (f *dynamoFront) transactWrite(tx *transaction, reqBody []byte) (rec *recorder, inserted []json.RawMessage, touched []map[string]any, journal [][]byte) {
	// The request was decoded before the lock (prepareTransaction).
	rec = &recorder{header: http.Header{}, status: http.StatusOK}
	f.calls.Add(1)
	f.mini.ServeTransactByItem(rec, tx.input)
	rec = f.typed(reqBody, rec)
	if rec.status != http.StatusOK {
		if bytes.Contains(rec.body.Bytes(), []byte("TransactionCanceledException")) {
			return rec, nil, nil, nil // no write happened
		}
		for _, op := range tx.ops {
			if op.kind != "ConditionCheck" && op.table == f.table {
				touched = append(touched, op.key)
			}
		}
		return rec, nil, touched, nil
	}
	var out struct {
		Items    []json.RawMessage
		Inserted []bool
	}
	_ = json.Unmarshal(rec.body.Bytes(), &out)
	for i, op := range tx.ops {
		if op.kind == "ConditionCheck" || op.table != f.table {
			continue
		}
		if f.wal != nil {
			var written json.RawMessage
			if i < len(out.Items) {
				written = out.Items[i]
			}
			journal = append(journal, f.journalWrite(op, written))
		}
		if i < len(out.Inserted) && out.Inserted[i] {
			inserted = append(inserted, op.item)
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{}), inserted, nil, journal
}

// journalWrite is the journal record of a transaction's write: the item
// as minidyn answered it after the write, or a Delete's key.
func (f *dynamoFront) journalWrite(op txOp, written json.RawMessage) []byte {
	if op.kind == "Delete" {
		line, _ := json.Marshal(walRecord{Del: op.key})
		return append(line, '\n')
	}
	if len(written) == 0 || bytes.Equal(written, []byte("null")) { // not expected: read it back
		return f.journalLine(op.key)
	}
	return append(append([]byte(`{"put":`), written...), '}', '\n')
}

// keyOnly is the primary key of item (the table of shared/store).
func keyOnly(item map[string]any) map[string]any {
	return map[string]any{store.AttrPK: item[store.AttrPK], store.AttrSK: item[store.AttrSK]}
}

func jsonResponse(status int, body any) *recorder {
	rec := &recorder{header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, status: status}
	enc := json.NewEncoder(&rec.body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
	return rec
}

func apiError(typ, msg string) *recorder {
	return jsonResponse(http.StatusBadRequest, map[string]any{"__type": typ, "message": msg})
}
