package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/matterly/matterly/shared/store"
)

// maxTransactItems is DynamoDB's limit of items per transaction.
const maxTransactItems = 100

// txOp is one item of a TransactWriteItems request in wire form, with
// the requests to minidyn it takes, encoded before the write lock is taken.
// Its members stay raw JSON: items pass through the front as minidyn and
// the journal need them, without being decoded and encoded again.
type txOp struct {
	kind  string                     // ConditionCheck, Put, Update or Delete
	spec  map[string]json.RawMessage // the operation's members as sent
	table string
	key   map[string]any  // PK and SK, each a compacted json.RawMessage
	item  json.RawMessage // a Put's item, compacted

	check   []byte // the CheckCondition request (see checkCondition)
	write   []byte // the write request; nil for a ConditionCheck
	putLine []byte // a journaled Put's record (see journalWrite)
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
	ops []txOp
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

// prepareTransaction reads and validates a TransactWriteItems request and
// encodes every request to minidyn it takes, all without the write lock,
// so other requests wait only for the calls themselves. A non-nil
// recorder is the request's answer (a malformed request).
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

		op.check = checkConditionRequest(*op)
		if op.kind == "ConditionCheck" {
			continue
		}
		in := make(map[string]json.RawMessage, len(op.spec)+1)
		for k, v := range op.spec {
			if k != "ReturnValuesOnConditionCheckFailure" {
				in[k] = v
			}
		}
		if f.wal != nil && op.table == f.table {
			switch op.kind {
			case "Update":
				in["ReturnValues"] = json.RawMessage(`"ALL_NEW"`) // the item as it now is, for the journal
			case "Put":
				op.putLine = append(append([]byte(`{"put":`), op.item...), '}', '\n')
			}
		}
		op.write, _ = json.Marshal(in)
	}
	return &transaction{ops: ops}, nil
}

// transactWrite runs a TransactWriteItems request the way DynamoDB does,
// with single-item calls to minidyn, while the caller holds f.mu
// exclusively (so no other request sees a half-applied transaction):
//
//  1. Each item is read and its condition evaluated on it, without a
//     write (minidyn's CheckCondition, one call per item). No write
//     happens unless every condition holds, and every failed condition is
//     reported, as in DynamoDB.
//  2. The writes are applied one by one with their conditions (which still
//     hold: an item appears once per transaction). If one fails anyway
//     (a bad update expression), the items written so far are put back
//     from the copies read in step 1.
//
// minidyn's own TransactWriteItems is not used: its rollback restores a
// copy of the whole table that loses every empty list and map.
//
// It also returns the items the transaction inserted (JSON), for the
// stream, and the keys of the items it may have written (once it got to
// writing, even if it rolled back), for the journal. When it committed and
// there is a journal, it returns the journal's records too, taken from the
// writes themselves (see journalWrite), and touched is nil.
func (f *dynamoFront) transactWrite(tx *transaction) (rec *recorder, inserted []json.RawMessage, touched []map[string]any, journal [][]byte) {
	ops := tx.ops
	before := make([]json.RawMessage, len(ops)) // nil: no item
	reasons := make([]map[string]any, len(ops))
	canceled := false
	for i, op := range ops {
		holds, item, rec := f.checkCondition(op)
		if rec != nil {
			return rec, nil, nil, nil
		}
		before[i] = item
		reasons[i] = map[string]any{"Code": "None"}
		if !holds {
			canceled = true
			reasons[i] = map[string]any{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
			if op.specString("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" && before[i] != nil {
				reasons[i]["Item"] = before[i]
			}
		}
	}
	if canceled {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = r["Code"].(string)
		}
		return jsonResponse(http.StatusBadRequest, map[string]any{
			"__type":              "TransactionCanceledException",
			"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
			"CancellationReasons": reasons,
		}), nil, nil, nil
	}

	for _, op := range ops {
		if op.kind != "ConditionCheck" && op.table == f.table {
			touched = append(touched, op.key)
		}
	}
	for i, op := range ops {
		if op.kind == "ConditionCheck" {
			continue
		}
		rec := f.raw(targetPrefix+op.kind+"Item", op.write)
		if rec.status != http.StatusOK {
			f.rollback(ops[:i], before[:i])
			return rec, nil, touched, nil
		}
		if f.wal != nil && op.table == f.table {
			journal = append(journal, f.journalWrite(op, rec))
		}
	}
	for i, op := range ops {
		if op.kind == "Put" && before[i] == nil && op.table == f.table {
			inserted = append(inserted, op.item)
		}
	}
	if journal != nil {
		touched = nil
	}
	return jsonResponse(http.StatusOK, map[string]any{}), inserted, touched, journal
}

// journalWrite is the journal record of a transaction's write, which rec
// answered: a Put's item as sent (minidyn stores it as it is), an Update's
// new item (ReturnValues ALL_NEW, typed) or a Delete's key. So a committed
// transaction is journaled without reading its items back.
func (f *dynamoFront) journalWrite(op txOp, rec *recorder) []byte {
	var line []byte
	switch op.kind {
	case "Put":
		return op.putLine
	case "Update":
		body := rec.body.Bytes()
		if bytes.Contains(body, []byte("{}")) { // a typeless empty value
			if fixed, ok := f.fix(mustJSON(map[string]any{"TableName": op.table, "Key": op.key}), body); ok {
				body = fixed
			}
		}
		var out struct{ Attributes json.RawMessage }
		if json.Unmarshal(body, &out) == nil && len(out.Attributes) > 0 && !bytes.Equal(out.Attributes, []byte("null")) {
			line = append([]byte(`{"put":`), out.Attributes...)
			line = append(line, '}')
		}
	case "Delete":
		line, _ = json.Marshal(walRecord{Del: op.key})
	}
	if line == nil { // not expected: read the item back, as journalItems does
		return f.journalLine(op.key)
	}
	return append(line, '\n')
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// checkConditionRequest is the CheckCondition request of op: its key, and
// its condition with the names and values it uses (minidyn, like DynamoDB,
// rejects unused ones, and an Update's condition is asked without its
// update expression).
func checkConditionRequest(op txOp) []byte {
	in := map[string]any{"TableName": op.table, "Key": op.key}
	if cond := op.specString("ConditionExpression"); cond != "" {
		var names, values map[string]json.RawMessage
		_ = json.Unmarshal(op.spec["ExpressionAttributeNames"], &names)
		_ = json.Unmarshal(op.spec["ExpressionAttributeValues"], &values)
		usedNames, usedValues := usedPlaceholders(cond, names, values)
		in["ConditionExpression"] = cond
		if len(usedNames) > 0 {
			in["ExpressionAttributeNames"] = usedNames
		}
		if len(usedValues) > 0 {
			in["ExpressionAttributeValues"] = usedValues
		}
	}
	return mustJSON(in)
}

// checkCondition reads op's item (typed) and evaluates its condition on it
// (true without one) in one call to minidyn, which writes nothing (see
// minidyn's CheckCondition). A non-nil recorder is an error to answer
// with (a syntax error in the condition, say).
func (f *dynamoFront) checkCondition(op txOp) (bool, json.RawMessage, *recorder) {
	rec := f.call(targetPrefix+"MatterlyCheckCondition", op.check)
	if rec.status != http.StatusOK {
		return false, nil, rec
	}
	var out struct {
		Holds bool
		Item  json.RawMessage
	}
	_ = json.Unmarshal(rec.body.Bytes(), &out)
	if bytes.Equal(out.Item, []byte("null")) {
		out.Item = nil
	}
	return out.Holds, out.Item, nil
}

// rollback restores the items ops wrote to their state before.
func (f *dynamoFront) rollback(ops []txOp, before []json.RawMessage) {
	for i, op := range ops {
		if op.kind == "ConditionCheck" {
			continue
		}
		if before[i] == nil {
			f.send("DeleteItem", map[string]any{"TableName": op.table, "Key": op.key})
		} else {
			f.send("PutItem", map[string]any{"TableName": op.table, "Item": before[i]})
		}
	}
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// usedPlaceholders keeps the names and values expr refers to: minidyn,
// like DynamoDB, rejects unused ones, and an Update's condition is asked
// without its update expression.
func usedPlaceholders[V any](expr string, names, values map[string]V) (map[string]V, map[string]V) {
	usedNames, usedValues := map[string]V{}, map[string]V{}
	for _, p := range placeholder.FindAllString(expr, -1) {
		if v, ok := names[p]; ok {
			usedNames[p] = v
		}
		if v, ok := values[p]; ok {
			usedValues[p] = v
		}
	}
	return usedNames, usedValues
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
