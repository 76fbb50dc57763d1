package chat

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/matterly/matterly/shared/store"
)

// queryOnly is a store.API that answers Query as real DynamoDB does for a
// BETWEEN whose lower bound is above its upper one, and counts the calls.
type queryOnly struct {
	store.API
	queries int
}

func (q *queryOnly) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.queries++
	return &dynamodb.QueryOutput{}, nil
}

func TestMessagePageBeforeSince(t *testing.T) {
	const since = "01J0000000000000000000000M"
	for _, tc := range []struct {
		name, before string
		queries      int
	}{
		{"before older than since", "01H0000000000000000000000A", 0},
		{"before equal to since", since, 0},
		{"before newer than since", "01K0000000000000000000000Z", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &queryOnly{}
			s := &Service{DB: store.New(api, "t")}
			rows, next, err := s.messagePage(context.Background(), "ORG1", "T1", since, tc.before, 20, nil)
			if err != nil || len(rows) != 0 || next != nil {
				t.Fatalf("messagePage = %v, %v, %v; want an empty last page", rows, next, err)
			}
			if api.queries != tc.queries {
				t.Fatalf("%d queries, want %d (an inverted BETWEEN is a ValidationException in DynamoDB)", api.queries, tc.queries)
			}
		})
	}
}
