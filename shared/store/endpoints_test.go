package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// countingResolver is the SDK's resolver, counted; it fails for one region.
type countingResolver struct{ calls int }

func (c *countingResolver) ResolveEndpoint(ctx context.Context, p dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	c.calls++
	if p.Region != nil && *p.Region == "fail-1" {
		return smithyendpoints.Endpoint{}, errors.New("no endpoint")
	}
	return dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
}

// TestCachedEndpoints: the cache answers what the SDK's resolver answers,
// asks it once per set of parameters (every field counts, an unset one
// apart from any value), and never remembers an error.
func TestCachedEndpoints(t *testing.T) {
	next := &countingResolver{}
	c := CachedEndpoints(next)
	ctx := context.Background()
	params := []dynamodb.EndpointParameters{
		{Region: aws.String("us-east-1")},
		{Region: aws.String("eu-west-2")},
		{Region: aws.String("us-east-1"), UseFIPS: aws.Bool(true)},
		{Region: aws.String("us-east-1"), UseFIPS: aws.Bool(false)},
		{Region: aws.String("us-east-1"), UseDualStack: aws.Bool(true)},
		{Region: aws.String("cn-north-1")},
		{Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:8000")},
		{Region: aws.String("us-east-1"), AccountId: aws.String("123456789012"), AccountIdEndpointMode: aws.String("preferred")},
		{Region: aws.String("us-east-1"), ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/matterly")},
		{Region: aws.String("us-east-1"), ResourceArnList: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/matterly"}},
		{Region: aws.String("us-east-1"), IsSearchOperation: aws.Bool(true)},
	}
	for round := range 3 {
		for i, p := range params {
			want, werr := dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
			got, err := c.ResolveEndpoint(ctx, p)
			if (err != nil) != (werr != nil) || got.URI.String() != want.URI.String() {
				t.Errorf("round %d, params %d: %s, %v; the SDK answers %s, %v", round, i, got.URI.String(), err, want.URI.String(), werr)
			}
		}
	}
	if next.calls != len(params) {
		t.Errorf("the SDK's resolver was asked %d times for %d sets of parameters", next.calls, len(params))
	}
	for range 2 {
		if _, err := c.ResolveEndpoint(ctx, dynamodb.EndpointParameters{Region: aws.String("fail-1")}); err == nil {
			t.Error("an error was not passed on")
		}
	}
	if next.calls != len(params)+2 {
		t.Errorf("an error was remembered: %d calls", next.calls)
	}
}

// TestEndpointKeyKnowsEveryParameter: the cache's key holds every field of
// the SDK's endpoint parameters; a field a newer SDK adds fails here until
// endpointKeyOf holds it too (else two calls differing only in it would
// share an endpoint).
func TestEndpointKeyKnowsEveryParameter(t *testing.T) {
	known := map[string]bool{"Region": true, "UseDualStack": true, "UseFIPS": true, "Endpoint": true, "AccountId": true,
		"AccountIdEndpointMode": true, "ResourceArn": true, "ResourceArnList": true, "IsSearchOperation": true}
	typ := reflect.TypeOf(dynamodb.EndpointParameters{})
	for i := range typ.NumField() {
		if f := typ.Field(i); !known[f.Name] {
			t.Errorf("EndpointParameters.%s is not in the cache's key", f.Name)
		}
	}
	if typ.NumField() != len(known) {
		t.Errorf("EndpointParameters has %d fields, the key knows %d", typ.NumField(), len(known))
	}
}
