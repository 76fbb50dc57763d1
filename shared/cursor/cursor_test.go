package cursor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
)

func TestSealOpen(t *testing.T) {
	s, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ORG#a"},
		"SK": &types.AttributeValueMemberS{Value: "USER#b"},
	}
	c, err := s.Seal("orgA|users", key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open("orgA|users", c)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if got["SK"].(*types.AttributeValueMemberS).Value != "USER#b" {
		t.Errorf("round trip lost the key: %v", got)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	flipped := []byte(c)
	flipped[2] ^= 1
	bad := map[string]struct {
		s      *Sealer
		scope  string
		cursor string
	}{
		"other org":      {s, "orgB|users", c},
		"other list":     {s, "orgA|matters", c},
		"other key":      {other, "orgA|users", c},
		"edited payload": {s, "orgA|users", string(flipped)},
		"no signature":   {s, "orgA|users", strings.Split(c, ".")[0]},
		"garbage":        {s, "orgA|users", "%%%.###"},
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := tt.s.Open(tt.scope, tt.cursor); !fault.Is(err, fault.Malformed) {
				t.Errorf("err = %v, want Malformed", err)
			}
		})
	}
	if k, err := s.Open("x", ""); err != nil || k != nil {
		t.Errorf("empty cursor = %v, %v; want first page", k, err)
	}
	if c, _ := s.Seal("x", nil); c != "" {
		t.Errorf("last page cursor = %q, want empty", c)
	}
}
