package server

import (
	"sort"
	"strconv"
)

// Minimal output shapes encoded back to the client.
// They mirror DynamoDB JSON responses closely enough for SDK decoding.

// CreateTableOutput mirrors DynamoDB CreateTableOutput.
type CreateTableOutput struct {
	TableDescription any `json:"TableDescription,omitempty"`
}

// DeleteTableOutput mirrors DynamoDB DeleteTableOutput.
type DeleteTableOutput struct {
	TableDescription any `json:"TableDescription,omitempty"`
}

// UpdateTableOutput mirrors DynamoDB UpdateTableOutput.
type UpdateTableOutput struct {
	TableDescription any `json:"TableDescription,omitempty"`
}

// DescribeTableOutput mirrors DynamoDB DescribeTableOutput.
type DescribeTableOutput struct {
	Table any `json:"Table,omitempty"`
}

// PutItemOutput mirrors DynamoDB PutItemOutput.
type PutItemOutput struct {
	Attributes map[string]*AttributeValue `json:"Attributes,omitempty"`
}

// DeleteItemOutput mirrors DynamoDB DeleteItemOutput.
type DeleteItemOutput struct {
	Attributes map[string]*AttributeValue `json:"Attributes,omitempty"`
}

// UpdateItemOutput mirrors DynamoDB UpdateItemOutput.
type UpdateItemOutput struct {
	Attributes map[string]*AttributeValue `json:"Attributes,omitempty"`
}

// GetItemOutput mirrors DynamoDB GetItemOutput.
type GetItemOutput struct {
	Item map[string]*AttributeValue `json:"Item,omitempty"`
}

// QueryOutput mirrors DynamoDB QueryOutput.
type QueryOutput struct {
	Items            []map[string]*AttributeValue `json:"Items,omitempty"`
	Count            int32                        `json:"Count,omitempty"`
	ScannedCount     int32                        `json:"ScannedCount,omitempty"`
	LastEvaluatedKey map[string]*AttributeValue   `json:"LastEvaluatedKey,omitempty"`
}

// ScanOutput mirrors DynamoDB ScanOutput.
type ScanOutput struct {
	Items            []map[string]*AttributeValue `json:"Items,omitempty"`
	Count            int32                        `json:"Count,omitempty"`
	ScannedCount     int32                        `json:"ScannedCount,omitempty"`
	LastEvaluatedKey map[string]*AttributeValue   `json:"LastEvaluatedKey,omitempty"`
}

// BatchWriteItemOutput mirrors DynamoDB BatchWriteItemOutput.
type BatchWriteItemOutput struct {
	UnprocessedItems map[string][]WriteRequest `json:"UnprocessedItems,omitempty"`
}

// BatchGetItemOutput mirrors DynamoDB BatchGetItemOutput.
type BatchGetItemOutput struct {
	Responses       map[string][]map[string]*AttributeValue `json:"Responses,omitempty"`
	UnprocessedKeys map[string]KeysAndAttributes            `json:"UnprocessedKeys,omitempty"`
}

// TransactWriteItemsOutput mirrors DynamoDB TransactWriteItemsOutput.
type TransactWriteItemsOutput struct{}

// ItemResponse mirrors DynamoDB ItemResponse.
type ItemResponse struct {
	Item map[string]*AttributeValue `json:"Item,omitempty"`
}

// TransactGetItemsOutput mirrors DynamoDB TransactGetItemsOutput.
type TransactGetItemsOutput struct {
	Responses []ItemResponse `json:"Responses,omitempty"`
}

// Matterly: the item-carrying answers write their JSON by hand (the bytes
// encoding/json wrote, omitempty included): sorting each item's keys
// through reflection and re-scanning every value's MarshalJSON output cost
// more than the Query itself.

// jsonAppender is an output that writes its own JSON.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

func appendItem(b []byte, item map[string]*AttributeValue) []byte {
	keys := make([]string, 0, len(item))
	for k := range item {
		keys = append(keys, k)
	}

	sort.Strings(keys)

	b = append(b, '{')

	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}

		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendAV(b, item[k])
	}

	return append(b, '}')
}

// appendItemField writes "name":{item} after a comma when b already holds
// a field, nothing for an empty item (omitempty).
func appendItemField(b []byte, name string, item map[string]*AttributeValue) []byte {
	if len(item) == 0 {
		return b
	}

	b = fieldName(b, name)

	return appendItem(b, item)
}

func fieldName(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}

	b = append(b, '"')
	b = append(b, name...)

	return append(b, '"', ':')
}

func appendPage(b []byte, items []map[string]*AttributeValue, count, scanned int32, last map[string]*AttributeValue) []byte {
	b = append(b, '{')

	if len(items) > 0 {
		b = fieldName(b, "Items")
		b = append(b, '[')

		for i, item := range items {
			if i > 0 {
				b = append(b, ',')
			}

			if item == nil {
				b = append(b, "null"...)
			} else {
				b = appendItem(b, item)
			}
		}

		b = append(b, ']')
	}

	if count != 0 {
		b = fieldName(b, "Count")
		b = strconv.AppendInt(b, int64(count), 10)
	}

	if scanned != 0 {
		b = fieldName(b, "ScannedCount")
		b = strconv.AppendInt(b, int64(scanned), 10)
	}

	b = appendItemField(b, "LastEvaluatedKey", last)

	return append(b, '}')
}

func (o *GetItemOutput) appendJSON(b []byte) []byte {
	return append(appendItemField(append(b, '{'), "Item", o.Item), '}')
}

func (o *PutItemOutput) appendJSON(b []byte) []byte {
	return append(appendItemField(append(b, '{'), "Attributes", o.Attributes), '}')
}

func (o *UpdateItemOutput) appendJSON(b []byte) []byte {
	return append(appendItemField(append(b, '{'), "Attributes", o.Attributes), '}')
}

func (o *DeleteItemOutput) appendJSON(b []byte) []byte {
	return append(appendItemField(append(b, '{'), "Attributes", o.Attributes), '}')
}

func (o *QueryOutput) appendJSON(b []byte) []byte {
	return appendPage(b, o.Items, o.Count, o.ScannedCount, o.LastEvaluatedKey)
}

func (o *ScanOutput) appendJSON(b []byte) []byte {
	return appendPage(b, o.Items, o.Count, o.ScannedCount, o.LastEvaluatedKey)
}
