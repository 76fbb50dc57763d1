package store

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// NewClient is the DynamoDB client the functions use: the SDK's, from
// cfg, with its endpoint resolution cached (CachedEndpoints).
func NewClient(cfg aws.Config, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	cache := func(o *dynamodb.Options) { o.EndpointResolverV2 = CachedEndpoints(o.EndpointResolverV2) }
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){cache}, optFns...)...)
}

// CachedEndpoints returns next with its answers remembered per set of
// parameters. The SDK evaluates DynamoDB's endpoint rule set on every call
// (about a sixth of a call's CPU, more than signing it), though for one
// client the parameters, and so the answer, hardly ever change: the region,
// the base endpoint, the FIPS and dual-stack flags, the account and the
// table. The answer is next's own, so it is the same endpoint the SDK
// would use; errors are not remembered. At most endpointCacheSize sets are
// kept; past that, next answers as before.
func CachedEndpoints(next dynamodb.EndpointResolverV2) dynamodb.EndpointResolverV2 {
	if next == nil {
		next = dynamodb.NewDefaultEndpointResolverV2()
	}
	return &cachedEndpoints{next: next, known: map[endpointKey]smithyendpoints.Endpoint{}}
}

const endpointCacheSize = 256

type cachedEndpoints struct {
	next  dynamodb.EndpointResolverV2
	mu    sync.RWMutex
	known map[endpointKey]smithyendpoints.Endpoint
}

// endpointKey is every field of dynamodb.EndpointParameters, pointers
// dereferenced (a nil one is "unset", distinct from any value).
type endpointKey struct {
	region, endpoint, accountID, accountIDMode, resourceARN, resourceARNs string
	set                                                                   uint8 // which of the optional fields are set
	dualStack, fips, searchSet, search                                    bool
}

func endpointKeyOf(p dynamodb.EndpointParameters) endpointKey {
	var k endpointKey
	str := func(bit uint8, s *string, dst *string) {
		if s != nil {
			k.set |= bit
			*dst = *s
		}
	}
	str(1, p.Region, &k.region)
	str(2, p.Endpoint, &k.endpoint)
	str(4, p.AccountId, &k.accountID)
	str(8, p.AccountIdEndpointMode, &k.accountIDMode)
	str(16, p.ResourceArn, &k.resourceARN)
	if p.ResourceArnList != nil {
		k.set |= 32
		k.resourceARNs = strings.Join(p.ResourceArnList, "\x00")
	}
	if p.UseDualStack != nil {
		k.set |= 64
		k.dualStack = *p.UseDualStack
	}
	if p.UseFIPS != nil {
		k.set |= 128
		k.fips = *p.UseFIPS
	}
	if p.IsSearchOperation != nil {
		k.searchSet, k.search = true, *p.IsSearchOperation
	}
	return k
}

func (c *cachedEndpoints) ResolveEndpoint(ctx context.Context, p dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	k := endpointKeyOf(p)
	c.mu.RLock()
	e, ok := c.known[k]
	c.mu.RUnlock()
	if ok {
		return e, nil
	}
	e, err := c.next.ResolveEndpoint(ctx, p)
	if err != nil {
		return e, err
	}
	c.mu.Lock()
	if len(c.known) < endpointCacheSize {
		c.known[k] = e
	}
	c.mu.Unlock()
	return e, nil
}
