package storetest

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Back reads an item into the stored row R and converts it to the API form
// with to: the way a service reads what it stored.
func Back[R, A any](to func(R) A) func(map[string]types.AttributeValue) (any, error) {
	return func(item map[string]types.AttributeValue) (any, error) {
		var r R
		err := attributevalue.UnmarshalMap(item, &r)
		return to(r), err
	}
}

// CheckRow pins a stored row split from its API form: the item holds
// exactly attrs (items stored before a split are read as they are), reading
// it back gives api again, and api's JSON shows exactly jsonNames (no key
// and no storage-only attribute).
func CheckRow(t *testing.T, row any, back func(map[string]types.AttributeValue) (any, error), api any, attrs, jsonNames []string) {
	t.Helper()
	item, err := attributevalue.MarshalMap(row)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(item)); !slices.Equal(got, attrs) {
		t.Errorf("item attributes = %q, want %q", got, attrs)
	}
	got, err := back(item)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, api) {
		t.Errorf("round trip = %+v, want %+v", got, api)
	}
	b, err := json.Marshal(api)
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]json.RawMessage
	if err := json.Unmarshal(b, &shown); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(shown)); !slices.Equal(got, jsonNames) {
		t.Errorf("JSON fields = %q, want %q", got, jsonNames)
	}
}
