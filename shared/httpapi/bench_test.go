package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/token"
)

const (
	benchOrg    = "01JB00000000000000000000AA"
	benchUser   = "01JB00000000000000000000BB"
	benchClient = "01JB00000000000000000000CC"
)

// cannedDynamo answers every GetItem with a fixed item, the member item when
// the key is a member's, the client otherwise: the SDK does all its work
// (serialize, sign, deserialize) and no network is touched.
type cannedDynamo struct{ member, client []byte }

func (c cannedDynamo) RoundTrip(r *http.Request) (*http.Response, error) {
	in, _ := io.ReadAll(r.Body)
	body := c.client
	if bytes.Contains(in, []byte(`"USER#`)) {
		body = c.member
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

func getItemAnswer(tb testing.TB, item any) []byte {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		tb.Fatal(err)
	}
	// The wire form of an AttributeValue map, as DynamoDB sends it.
	var wire func(types.AttributeValue) any
	wire = func(v types.AttributeValue) any {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return map[string]string{"S": v.Value}
		case *types.AttributeValueMemberN:
			return map[string]string{"N": v.Value}
		case *types.AttributeValueMemberBOOL:
			return map[string]bool{"BOOL": v.Value}
		case *types.AttributeValueMemberL:
			l := []any{}
			for _, e := range v.Value {
				l = append(l, wire(e))
			}
			return map[string]any{"L": l}
		case *types.AttributeValueMemberM:
			m := map[string]any{}
			for k, e := range v.Value {
				m[k] = wire(e)
			}
			return map[string]any{"M": m}
		case *types.AttributeValueMemberNULL:
			return map[string]bool{"NULL": true}
		}
		tb.Fatalf("attribute %T", v)
		return nil
	}
	m := map[string]any{}
	for k, v := range av {
		m[k] = wire(v)
	}
	b, err := json.Marshal(map[string]any{"Item": m})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type memberRead struct{}

type benchSetup struct {
	payload []byte // the API Gateway event, as the Runtime API delivers it
	router  lambda.Handler
	bare    lambda.Handler
	// bareMember is bare with the router's membership read first: the
	// same DynamoDB work as the router, so the difference is ours alone.
	bareMember lambda.Handler
}

func newBenchSetup(tb testing.TB) benchSetup {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	client := crm.Client{Keys: store.Keys{PK: tenant.PK(benchOrg), SK: crm.ClientSK(benchClient), Type: "client"},
		ID: benchClient, Kind: "person", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+442071234567",
		Tags: crm.List{"vip"}, CreatedBy: benchUser, CreatedAt: at, UpdatedAt: at}
	member := map[string]any{"PK": tenant.PK(benchOrg), "SK": tenant.MemberSK(benchUser), "type": "user",
		"role": string(access.Staff), "name": "Grace", "email": "grace@example.com", "status": "active"}
	canned := cannedDynamo{member: getItemAnswer(tb, member), client: getItemAnswer(tb, client)}
	awsCfg := config.LocalAWS("http://dynamodb.invalid")
	awsCfg.HTTPClient = &http.Client{Transport: canned}
	// The bare handlers use the SDK's client as it comes; the router the
	// one every function builds (store.NewClient: endpoint resolution
	// cached), which is ours to make cheaper.
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	ours := store.NewClient(awsCfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })

	pub, priv, _ := ed25519.GenerateKey(nil)
	tok, _, err := token.NewIssuer(priv, "matterly", "matterly-api", nil).Issue(caller.Caller{UserID: benchUser, OrgID: benchOrg, Role: access.Staff})
	if err != nil {
		tb.Fatal(err)
	}
	cursors, err := cursor.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	db := store.New(ours, "matterly")
	log := logging.New(io.Discard, "info", "crm")
	rt, err := crm.NewRouter(crm.NewService(db, log, time.Now), httpapi.RouterConfig{
		Options: httpapi.Options{Verifier: token.NewVerifier(pub, "matterly", "matterly-api", nil), Members: tenant.Members{DB: db}, Logger: log},
		Cursors: cursors})
	if err != nil {
		tb.Fatal(err)
	}

	// The anchor: a bare aws-lambda-go handler making the same GetItem and
	// answering the item as JSON.
	bare := func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if ctx.Value(memberRead{}) != nil {
			m, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("matterly"), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: tenant.PK(benchOrg)},
				"SK": &types.AttributeValueMemberS{Value: tenant.MemberSK(benchUser)},
			}})
			if err != nil || m.Item == nil {
				return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("member read: %v", err)
			}
		}
		out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("matterly"), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: tenant.PK(benchOrg)},
			"SK": &types.AttributeValueMemberS{Value: crm.ClientSK(ev.PathParameters["clientId"])},
		}})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		var c crm.Client
		if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		body, err := json.Marshal(c)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /v1/clients/{clientId}", RawPath: "/v1/clients/" + benchClient,
		Headers: map[string]string{"authorization": "Bearer " + tok, "accept": "application/json", "host": "api.example.com",
			"user-agent": "Mozilla/5.0", "x-forwarded-for": "192.0.2.7", "x-forwarded-proto": "https", "origin": "https://app.example.com"},
		PathParameters: map[string]string{"clientId": benchClient},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "GET /v1/clients/{clientId}", AccountID: "123456789012",
			Stage: "$default", RequestID: "JDkW0hbQIAMEVzw=", APIID: "abc123", DomainName: "api.example.com", DomainPrefix: "api",
			Time: "01/Dec/2026:09:00:00 +0000", TimeEpoch: at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/clients/" + benchClient,
				Protocol: "HTTP/1.1", SourceIP: "192.0.2.7", UserAgent: "Mozilla/5.0"}},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	bareMember := func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return bare(context.WithValue(ctx, memberRead{}, true), ev)
	}
	return benchSetup{payload: payload, router: lambda.NewHandler(rt.Serve), bare: lambda.NewHandler(bare), bareMember: lambda.NewHandler(bareMember)}
}

func invoke(tb testing.TB, h lambda.Handler, payload []byte) {
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"statusCode":200`)) || !bytes.Contains(out, []byte(benchClient)) {
		tb.Fatalf("answer %s", out)
	}
}

// TestBenchSetup checks both handlers answer the client, so the benchmark
// compares like with like.
func TestBenchSetup(t *testing.T) {
	s := newBenchSetup(t)
	invoke(t, s.router, s.payload)
	invoke(t, s.bare, s.payload)
	invoke(t, s.bareMember, s.payload)
}

// BenchmarkRouterVsBare runs one authenticated GET /v1/clients/{id}
// through lambda.NewHandler(router.Serve).Invoke, token verification,
// membership read, logging and all, against a bare aws-lambda-go handler
// making the same SDK GetItem, and against that bare handler making the
// router's membership GetItem too (the same DynamoDB work as the router:
// what is left is ours). DynamoDB's answers are canned. The three run
// in turn, so a busy machine slows them alike; it reports each one's time
// and allocations and the ratios.
func BenchmarkRouterVsBare(b *testing.B) {
	s := newBenchSetup(b)
	hs := []lambda.Handler{s.router, s.bare, s.bareMember}
	allocs := make([]float64, len(hs))
	for i, h := range hs {
		invoke(b, h, s.payload) // warm: the token cache, the SDK's endpoint resolution
		allocs[i] = testing.AllocsPerRun(200, func() { invoke(b, h, s.payload) })
	}
	took := make([]time.Duration, len(hs))
	n := 0
	for b.Loop() {
		for i, h := range hs {
			t0 := time.Now()
			invoke(b, h, s.payload)
			took[i] += time.Since(t0)
		}
		n++
	}
	per := func(i int) float64 { return float64(took[i].Nanoseconds()) / float64(n) / 1e3 }
	b.ReportMetric(per(0), "router-µs")
	b.ReportMetric(per(1), "bare-µs")
	b.ReportMetric(per(2), "bare+member-µs")
	b.ReportMetric(per(0)/per(1), "ratio")
	b.ReportMetric(per(0)/per(2), "ratio-same-reads")
	b.ReportMetric(allocs[0], "router-allocs")
	b.ReportMetric(allocs[1], "bare-allocs")
	b.ReportMetric(allocs[0]-allocs[2], "own-allocs")
	b.Logf("router %.0f µs (%.0f allocs); bare handler + GetItem %.0f µs (%.0f allocs): %.2f×; "+
		"bare + the membership GetItem too %.0f µs (%.0f allocs): %.2f×, %.0f allocs ours",
		per(0), allocs[0], per(1), allocs[1], per(0)/per(1), per(2), allocs[2], per(0)/per(2), allocs[0]-allocs[2])
}
