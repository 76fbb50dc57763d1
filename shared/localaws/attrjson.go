package localaws

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The SDK has no public codec for DynamoDB's attribute-value JSON, and the
// snapshot must be written in that format (the same one the AWS CLI and the
// console's "JSON view" use) so people can read, grep and hand-edit it.

// marshalItem encodes an item as DynamoDB attribute-value JSON.
func marshalItem(item map[string]types.AttributeValue) ([]byte, error) {
	m, err := encodeMap(item)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// unmarshalItem decodes an item written by marshalItem (or by the AWS CLI).
func unmarshalItem(data []byte) (map[string]types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return decodeMap(raw)
}

func encodeMap(item map[string]types.AttributeValue) (map[string]any, error) {
	out := make(map[string]any, len(item))
	for k, v := range item {
		enc, err := encodeAV(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = enc
	}
	return out, nil
}

// encodeAV returns a one-key map such as {"S": "x"}; a map rather than a
// struct with omitempty so that an empty list or map is still written.
func encodeAV(av types.AttributeValue) (map[string]any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		bs := make([]string, len(v.Value))
		for i, b := range v.Value {
			bs[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": bs}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			enc, err := encodeAV(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = enc
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m, err := encodeMap(v.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"M": m}, nil
	default:
		return nil, fmt.Errorf("unsupported attribute value %T", av)
	}
}

func decodeMap(raw map[string]json.RawMessage) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(raw))
	for k, v := range raw {
		av, err := decodeAV(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

// decodeAV decodes a one-key attribute value such as {"N": "1"}.
func decodeAV(data json.RawMessage) (types.AttributeValue, error) {
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, err
	}
	if len(wire) != 1 {
		return nil, fmt.Errorf("attribute value must have exactly one type key, got %d", len(wire))
	}
	var typ string
	var val json.RawMessage
	for k, v := range wire { // the only entry
		typ, val = k, v
	}
	switch typ {
	case "S":
		var s string
		err := json.Unmarshal(val, &s)
		return &types.AttributeValueMemberS{Value: s}, err
	case "N":
		var s string
		err := json.Unmarshal(val, &s)
		return &types.AttributeValueMemberN{Value: s}, err
	case "B":
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		return &types.AttributeValueMemberB{Value: b}, err
	case "BOOL":
		var b bool
		err := json.Unmarshal(val, &b)
		return &types.AttributeValueMemberBOOL{Value: b}, err
	case "NULL":
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case "SS":
		var ss []string
		err := json.Unmarshal(val, &ss)
		return &types.AttributeValueMemberSS{Value: ss}, err
	case "NS":
		var ns []string
		err := json.Unmarshal(val, &ns)
		return &types.AttributeValueMemberNS{Value: ns}, err
	case "BS":
		var enc []string
		if err := json.Unmarshal(val, &enc); err != nil {
			return nil, err
		}
		bs := make([][]byte, len(enc))
		for i, s := range enc {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, err
			}
			bs[i] = b
		}
		return &types.AttributeValueMemberBS{Value: bs}, nil
	case "L":
		var raws []json.RawMessage
		if err := json.Unmarshal(val, &raws); err != nil {
			return nil, err
		}
		l := make([]types.AttributeValue, len(raws))
		for i, r := range raws {
			av, err := decodeAV(r)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case "M":
		var raws map[string]json.RawMessage
		if err := json.Unmarshal(val, &raws); err != nil {
			return nil, err
		}
		m, err := decodeMap(raws)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	default:
		return nil, fmt.Errorf("unknown attribute value type %q", typ)
	}
}
