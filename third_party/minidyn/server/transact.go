package server

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/truora/minidyn/core"
	"github.com/truora/minidyn/interpreter"
	"github.com/truora/minidyn/types"
)

// Matterly: TransactWriteItemsByItem (target MatterlyTransactWriteItems,
// not a DynamoDB operation) runs a TransactWriteItems request the way
// DynamoDB does, for shared/localaws, in one call:
//
//  1. Each item's condition is evaluated on the item as it is (an empty
//     one when there is none), writing nothing. Unless every condition
//     holds, nothing is written and every failed condition is reported
//     (upstream's TransactWriteItems reports the first only).
//  2. The writes are applied one by one, with their conditions (which
//     still hold). If one fails anyway (a bad update expression), the
//     items written so far are put back from deep copies taken in step 1
//     (upstream restores a copy of the whole table, O(table) per
//     transaction).
//
// The answer has, per transaction item, the item as it is after the
// write (none for a Delete or a ConditionCheck) and whether a Put created
// it: the front journals and streams them without reading them back.

// TransactByItemOutput is TransactWriteItemsByItem's answer.
type TransactByItemOutput struct {
	Items    []map[string]*AttributeValue `json:"Items"`
	Inserted []bool                       `json:"Inserted"`
}

// txItem is one item of the transaction, resolved.
type txItem struct {
	table *core.Table
	key   string
	keyAV map[string]*AttributeValue
	cond  string
	names map[string]string
	vals  map[string]*AttributeValue
	rvcf  ddbtypes.ReturnValuesOnConditionCheckFailure
}

var txPlaceholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// usedOnly keeps the names and values cond refers to: a condition is
// asked without the update expression that may use the others, and
// unused ones are an error.
func usedOnly(cond string, names map[string]string, vals map[string]*AttributeValue) (map[string]string, map[string]*AttributeValue) {
	n, v := map[string]string{}, map[string]*AttributeValue{}

	for _, p := range txPlaceholder.FindAllString(cond, -1) {
		if s, ok := names[p]; ok {
			n[p] = s
		}

		if a, ok := vals[p]; ok {
			v[p] = a
		}
	}

	return n, v
}

func (c *Client) resolveTxItem(it TransactWriteItem) (txItem, error) {
	var (
		tableName *string
		keyAV     map[string]*AttributeValue
		x         txItem
	)

	switch {
	case it.Put != nil:
		tableName, keyAV = it.Put.TableName, it.Put.Item
		x.cond, x.names, x.vals, x.rvcf = aws.ToString(it.Put.ConditionExpression), it.Put.ExpressionAttributeNames, it.Put.ExpressionAttributeValues, it.Put.ReturnValuesOnConditionCheckFailure
	case it.Update != nil:
		tableName, keyAV = it.Update.TableName, it.Update.Key
		x.cond, x.names, x.vals, x.rvcf = aws.ToString(it.Update.ConditionExpression), it.Update.ExpressionAttributeNames, it.Update.ExpressionAttributeValues, it.Update.ReturnValuesOnConditionCheckFailure
	case it.Delete != nil:
		tableName, keyAV = it.Delete.TableName, it.Delete.Key
		x.cond, x.names, x.vals, x.rvcf = aws.ToString(it.Delete.ConditionExpression), it.Delete.ExpressionAttributeNames, it.Delete.ExpressionAttributeValues, it.Delete.ReturnValuesOnConditionCheckFailure
	case it.ConditionCheck != nil:
		tableName, keyAV = it.ConditionCheck.TableName, it.ConditionCheck.Key
		x.cond, x.names, x.vals, x.rvcf = aws.ToString(it.ConditionCheck.ConditionExpression), it.ConditionCheck.ExpressionAttributeNames, it.ConditionCheck.ExpressionAttributeValues, it.ConditionCheck.ReturnValuesOnConditionCheckFailure
	default:
		return x, &smithy.GenericAPIError{Code: "ValidationException", Message: "transaction item must include one of Put, Update, Delete, or ConditionCheck"}
	}

	if ferr := c.failureErrFor(aws.ToString(tableName), ""); ferr != nil {
		return x, ferr
	}

	table, err := c.getTable(aws.ToString(tableName))
	if err != nil {
		return x, mapKnownError(err)
	}

	x.table = table

	keyMap := mapAttributeValueMapToTypes(keyAV)
	if it.Put != nil {
		keyMap = table.KeyOf(keyMap)
	} else {
		if vErr := types.ValidateItemMap(keyMap); vErr != nil {
			return x, mapKnownError(types.NewError("ValidationException", vErr.Error(), nil))
		}

		if keyErr := table.ValidatePrimaryKeyMap(keyMap); keyErr != nil {
			return x, &smithy.GenericAPIError{Code: "ValidationException", Message: keyErr.Error()}
		}
	}

	if x.key, err = table.KeySchema.GetKey(table.AttributesDef, keyMap); err != nil {
		return x, &smithy.GenericAPIError{Code: "ValidationException", Message: err.Error()}
	}

	x.keyAV = mapTypesMapToAttributeValue(keyMap)

	return x, nil
}

// holds evaluates x's condition on its stored item.
func (x txItem) holds() (bool, error) {
	if x.cond == "" {
		return true, nil
	}

	names, vals := usedOnly(x.cond, x.names, x.vals)
	if vErr := validateExpressionAttributes(names, keysFromAttributeValueMap(vals), x.cond); vErr != nil {
		return false, vErr
	}

	stored := x.table.Data[x.key]
	if stored == nil {
		stored = map[string]*types.Item{}
	}

	matched, err := x.table.InterpreterMatch(interpreter.MatchInput{
		TableName:      x.table.Name,
		Expression:     x.cond,
		ExpressionType: interpreter.ExpressionTypeConditional,
		Item:           stored,
		Aliases:        names,
		Attributes:     mapAttributeValueMapToTypes(vals),
	})
	if err != nil {
		return false, &smithy.GenericAPIError{Code: "ValidationException", Message: err.Error()}
	}

	return matched, nil
}

// TransactWriteItemsByItem: see above.
func (c *Client) TransactWriteItemsByItem(input *TransactWriteItemsInput) (*TransactByItemOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	n := len(input.TransactItems)
	items := make([]txItem, n)
	before := make([]map[string]*types.Item, n)
	reasons := make([]ddbtypes.CancellationReason, n)
	codes := make([]string, n)
	canceled := false

	for i, it := range input.TransactItems {
		x, err := c.resolveTxItem(it)
		if err != nil {
			return nil, err
		}

		ok, err := x.holds()
		if err != nil {
			return nil, err
		}

		items[i], before[i] = x, x.table.StoredItemCopy(x.key)
		reasons[i], codes[i] = ddbtypes.CancellationReason{Code: aws.String("None")}, "None"

		if !ok {
			canceled = true
			codes[i] = "ConditionalCheckFailed"
			reasons[i] = ddbtypes.CancellationReason{Code: aws.String(codes[i]), Message: aws.String(core.ErrConditionalRequestFailed.Error())}

			if x.rvcf == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld && before[i] != nil {
				reasons[i].Item = mapTypesMapToDDBAttributeValue(before[i])
			}
		}
	}

	if canceled {
		return nil, &ddbtypes.TransactionCanceledException{
			Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"),
			CancellationReasons: reasons,
		}
	}

	out := &TransactByItemOutput{Items: make([]map[string]*AttributeValue, n), Inserted: make([]bool, n)}

	for i, it := range input.TransactItems {
		if it.ConditionCheck != nil {
			continue
		}

		if err := c.runTransactItem(i, n, it); err != nil {
			c.rollbackByItem(items[:i], before[:i], input.TransactItems[:i])

			return nil, err
		}

		if it.Delete == nil {
			out.Items[i] = mapTypesMapToAttributeValue(items[i].table.Data[items[i].key])
		}

		out.Inserted[i] = it.Put != nil && before[i] == nil
	}

	return out, nil
}

// rollbackByItem restores the items written so far to their copies from
// before the transaction.
func (c *Client) rollbackByItem(items []txItem, before []map[string]*types.Item, ops []TransactWriteItem) {
	for i, x := range items {
		if ops[i].ConditionCheck != nil {
			continue
		}

		name := aws.String(x.table.Name)
		if before[i] == nil {
			_, _ = x.table.Delete(&types.DeleteItemInput{TableName: name, Key: mapAttributeValueMapToTypes(x.keyAV)})
		} else {
			_, _ = x.table.Put(&types.PutItemInput{TableName: name, Item: before[i]})
		}
	}
}

func (o *TransactByItemOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"Items":[`...)

	for i, item := range o.Items {
		if i > 0 {
			b = append(b, ',')
		}

		if item == nil {
			b = append(b, "null"...)
		} else {
			b = appendItem(b, item)
		}
	}

	b = append(b, `],"Inserted":[`...)

	for i, ins := range o.Inserted {
		if i > 0 {
			b = append(b, ',')
		}

		b = strconv.AppendBool(b, ins)
	}

	return append(b, ']', '}')
}
