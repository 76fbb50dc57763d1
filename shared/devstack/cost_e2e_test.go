package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// wireCall is one DynamoDB call as sent and answered.
type wireCall struct {
	op        string
	req, resp []byte
	status    int
}

// keep starts recording r's call under its trace.
func (c *countingClient) keep(r *http.Request, op string) *http.Request {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c.mu.Lock()
	trace := TraceOf(r.Context())
	c.wire[trace] = append(c.wire[trace], wireCall{op: op, req: body})
	c.mu.Unlock()
	return r
}

// kept records the answer to the call keep started.
func (c *countingClient) kept(r *http.Request, resp *http.Response) *http.Response {
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.wire[TraceOf(r.Context())]
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].resp == nil {
			calls[i].resp, calls[i].status = body, resp.StatusCode
			break
		}
	}
	return resp
}

// keepWire records every traced call until the returned stop is called.
func keepWire() (stop func()) {
	calls.mu.Lock()
	calls.wire = map[string][]wireCall{}
	calls.mu.Unlock()
	return func() {
		calls.mu.Lock()
		calls.wire = nil
		calls.mu.Unlock()
	}
}

func (c *countingClient) wireOf(r result) []wireCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wire[r.trace]
}

// Prices, us-east-1 on-demand, as the README's performance section states
// them: the cost test and the README use the same figures.
const (
	priceHTTPAPI     = 1.00         // $ per million HTTP API requests
	priceLambdaReq   = 0.20         // $ per million Lambda requests
	priceLambdaGBs   = 0.0000133334 // $ per GB-second, arm64
	lambdaGB         = 0.25         // 256 MB
	lambdaBilledSecs = 0.020        // billed duration assumed per request (warm, one or two DynamoDB round trips)
	priceWRU         = 0.625        // $ per million write request units
	priceRRU         = 0.125        // $ per million read request units
)

// units are the capacity units one request consumed.
type units struct{ read, write float64 }

func (u units) dollarsPerMillion() float64 {
	return priceHTTPAPI + priceLambdaReq + priceLambdaGBs*lambdaGB*lambdaBilledSecs*1e6 + u.read*priceRRU + u.write*priceWRU
}

// av is an AttributeValue on the wire.
type av map[string]json.RawMessage

// itemSize is DynamoDB's size of an item: attribute names plus values.
func itemSize(item map[string]av) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v av) int {
	for typ, raw := range v {
		switch typ {
		case "S", "B":
			var s string
			_ = json.Unmarshal(raw, &s)
			if typ == "B" {
				return len(s) * 3 / 4
			}
			return len(s)
		case "N":
			var s string
			_ = json.Unmarshal(raw, &s)
			return (len(strings.TrimLeft(s, "-0."))+1)/2 + 1
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS":
			var ss []string
			_ = json.Unmarshal(raw, &ss)
			n := 0
			for _, s := range ss {
				n += len(s)
			}
			return n
		case "L":
			var l []av
			_ = json.Unmarshal(raw, &l)
			n := 3
			for _, e := range l {
				n += 1 + valueSize(e)
			}
			return n
		case "M":
			var m map[string]av
			_ = json.Unmarshal(raw, &m)
			return 3 + itemSize(m) + len(m)
		}
	}
	return 0
}

func ceilDiv(n, unit int) float64 { return math.Max(1, math.Ceil(float64(n)/float64(unit))) }

// readUnits of items read together (one GetItem, or a Query's page):
// 4 KB per unit, summed, halved unless strongly consistent.
func readUnits(items []map[string]av, consistent bool) float64 {
	n := 0
	for _, it := range items {
		n += itemSize(it)
	}
	u := ceilDiv(n, 4<<10)
	if !consistent {
		u /= 2
	}
	return u
}

// indexedBy counts the GSIs an item is in (it has the index's partition key).
func indexedBy(item map[string]av) int {
	n := 0
	for _, ix := range store.Indexes {
		if _, ok := item[ix.PartitionKey]; ok {
			n++
		}
	}
	return n
}

// costOf counts the capacity units of a request's DynamoDB calls, as
// DynamoDB bills on-demand tables: reads 4 KB per unit, half that when
// eventually consistent (every GSI query); writes 1 KB per unit, each
// index the written item is in one more (its projection is ALL); a
// condition check is a write of its item; inside a transaction every item
// counts twice. An updated item's size and indexes are read back after the
// request (its state after the write).
func costOf(t testing.TB, r result) units {
	t.Helper()
	var u units
	current := func(key map[string]av) map[string]av {
		item, err := fetchItem(key)
		if err != nil {
			t.Fatalf("read back %v: %v", key, err)
		}
		return item
	}
	write := func(item map[string]av, factor float64) {
		u.write += factor*ceilDiv(itemSize(item), 1<<10) + float64(indexedBy(item))
	}
	for _, c := range calls.wireOf(r) {
		if c.status != http.StatusOK && !(c.status == 400 && strings.Contains(string(c.resp), "ConditionalCheckFailed")) {
			continue // a call refused before any work (a transaction cancelled on a condition still costs)
		}
		switch c.op {
		case "GetItem":
			var in struct{ ConsistentRead bool }
			var out struct{ Item map[string]av }
			_ = json.Unmarshal(c.req, &in)
			_ = json.Unmarshal(c.resp, &out)
			u.read += readUnits([]map[string]av{out.Item}, in.ConsistentRead)
		case "Query", "Scan":
			var in struct {
				ConsistentRead bool
				IndexName      string
			}
			var out struct{ Items []map[string]av }
			_ = json.Unmarshal(c.req, &in)
			_ = json.Unmarshal(c.resp, &out)
			u.read += readUnits(out.Items, in.ConsistentRead && in.IndexName == "")
		case "BatchGetItem":
			var in struct {
				RequestItems map[string]struct{ ConsistentRead bool }
			}
			var out struct{ Responses map[string][]map[string]av }
			_ = json.Unmarshal(c.req, &in)
			_ = json.Unmarshal(c.resp, &out)
			for table, items := range out.Responses {
				for _, it := range items {
					u.read += readUnits([]map[string]av{it}, in.RequestItems[table].ConsistentRead)
				}
			}
		case "TransactGetItems":
			var out struct {
				Responses []struct{ Item map[string]av }
			}
			_ = json.Unmarshal(c.resp, &out)
			for _, it := range out.Responses {
				u.read += 2 * readUnits([]map[string]av{it.Item}, true)
			}
		case "PutItem":
			var in struct{ Item map[string]av }
			_ = json.Unmarshal(c.req, &in)
			write(in.Item, 1)
		case "UpdateItem":
			var in struct{ Key map[string]av }
			_ = json.Unmarshal(c.req, &in)
			write(current(in.Key), 1)
		case "DeleteItem":
			u.write++
		case "BatchWriteItem":
			var in struct {
				RequestItems map[string][]struct {
					PutRequest    *struct{ Item map[string]av }
					DeleteRequest *struct{ Key map[string]av }
				}
			}
			_ = json.Unmarshal(c.req, &in)
			for _, reqs := range in.RequestItems {
				for _, w := range reqs {
					if w.PutRequest != nil {
						write(w.PutRequest.Item, 1)
					} else {
						u.write++
					}
				}
			}
		case "TransactWriteItems":
			var in struct {
				TransactItems []struct {
					Put            *struct{ Item map[string]av }
					Update         *struct{ Key map[string]av }
					Delete         *struct{ Key map[string]av }
					ConditionCheck *struct{ Key map[string]av }
				}
			}
			_ = json.Unmarshal(c.req, &in)
			for _, ti := range in.TransactItems {
				switch {
				case ti.Put != nil:
					write(ti.Put.Item, 2)
				case ti.Update != nil:
					write(current(ti.Update.Key), 2)
				case ti.Delete != nil:
					u.write += 2
				case ti.ConditionCheck != nil:
					u.write += 2 * ceilDiv(itemSize(current(ti.ConditionCheck.Key)), 1<<10)
				}
			}
		default:
			t.Fatalf("no cost rule for %s", c.op)
		}
	}
	return u
}

// fetchItem reads an item's current state straight from the embedded
// DynamoDB (untraced), in its wire form.
func fetchItem(key map[string]av) (map[string]av, error) {
	k := map[string]types.AttributeValue{}
	for name, v := range key {
		var s string
		_ = json.Unmarshal(v["S"], &s)
		k[name] = &types.AttributeValueMemberS{Value: s}
	}
	out, err := stack.Dynamo.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: new(store.DefaultTableName), Key: k, ConsistentRead: new(true)})
	if err != nil || out.Item == nil {
		return map[string]av{}, err
	}
	return toWire(out.Item), nil
}

func toWire(item map[string]types.AttributeValue) map[string]av {
	m := map[string]av{}
	for k, v := range item {
		m[k] = wireValue(v)
	}
	return m
}

func wireValue(v types.AttributeValue) av {
	j := func(x any) json.RawMessage { b, _ := json.Marshal(x); return b }
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return av{"S": j(v.Value)}
	case *types.AttributeValueMemberN:
		return av{"N": j(v.Value)}
	case *types.AttributeValueMemberB:
		return av{"B": j(v.Value)}
	case *types.AttributeValueMemberBOOL:
		return av{"BOOL": j(v.Value)}
	case *types.AttributeValueMemberNULL:
		return av{"NULL": j(true)}
	case *types.AttributeValueMemberSS:
		return av{"SS": j(v.Value)}
	case *types.AttributeValueMemberNS:
		return av{"NS": j(v.Value)}
	case *types.AttributeValueMemberL:
		l := make([]av, len(v.Value))
		for i, e := range v.Value {
			l[i] = wireValue(e)
		}
		return av{"L": j(l)}
	case *types.AttributeValueMemberM:
		return av{"M": j(toWire(v.Value))}
	}
	return av{}
}

// mixRoute is one route of the 70/30 mix with its share of requests.
type mixRoute struct {
	name  string
	share float64 // percent of all requests
	write bool
	do    func() result
}

// TestCostPerRoute counts the DynamoDB capacity units of the mix's routes
// on the wire and prints what a million requests cost, per route and for
// the 70% reads / 30% writes mix, with the README's prices: HTTP API,
// Lambda (256 MB arm64, 20 ms billed) and DynamoDB on demand. Run it
// with -v to see the table.
func TestCostPerRoute(t *testing.T) {
	o := signup(t)
	o.t = t
	client := o.newClient("Cost Client")
	matter := o.newMatter(client)
	for i := range 30 {
		o.newClient(fmt.Sprintf("Page Client %02d", i))
	}
	for range 5 {
		o.must(201, "POST", "/v1/matters/"+matter+"/notes", map[string]any{"body": "A note of a typical length, a sentence or two about a call with the client."})
	}
	stop := keepWire()
	defer stop()
	n := 0
	mix := []mixRoute{
		{"GET /v1/clients/{clientId}", 20, false, func() result { return o.must(200, "GET", "/v1/clients/"+client, nil) }},
		{"GET /v1/clients?limit=25", 15, false, func() result { return o.must(200, "GET", "/v1/clients?limit=25", nil) }},
		{"GET /v1/matters/{matterId}", 15, false, func() result { return o.must(200, "GET", "/v1/matters/"+matter, nil) }},
		{"GET /v1/matters/{matterId}/notes", 10, false, func() result { return o.must(200, "GET", "/v1/matters/"+matter+"/notes", nil) }},
		{"GET /v1/me", 10, false, func() result { return o.must(200, "GET", "/v1/me", nil) }},
		{"POST /v1/clients/{clientId}/notes", 12, true, func() result {
			return o.must(201, "POST", "/v1/clients/"+client+"/notes", map[string]any{"body": "Called about the lease; sending the draft on Monday."})
		}},
		{"PATCH /v1/clients/{clientId}", 8, true, func() result {
			n++
			return o.must(200, "PATCH", "/v1/clients/"+client, map[string]any{"phone": fmt.Sprintf("+1202555%04d", n)})
		}},
		{"POST /v1/clients", 5, true, func() result {
			return o.must(201, "POST", "/v1/clients", map[string]any{"name": "New Client", "kind": "person", "email": "new@example.com"})
		}},
		{"POST /v1/matters", 5, true, func() result {
			return o.must(201, "POST", "/v1/matters", map[string]any{"clientId": client, "title": "New matter"})
		}},
	}
	var out strings.Builder
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\tshare %\tread units\twrite units\tDynamoDB calls\t$ per million\t")
	var mixCost, reads, writes float64
	for _, m := range mix {
		r := m.do()
		u := costOf(t, r)
		ops := calls.Of(r)
		names := make([]string, 0, len(ops))
		for op, k := range ops {
			names = append(names, fmt.Sprintf("%s×%d", op, k))
		}
		sort.Strings(names)
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.0f\t%s\t%.2f\t\n", m.name, m.share, u.read, u.write, strings.Join(names, " "), u.dollarsPerMillion())
		mixCost += m.share / 100 * u.dollarsPerMillion()
		if m.write {
			writes += m.share
		} else {
			reads += m.share
		}
	}
	fmt.Fprintf(tw, "mix (%.0f%% reads, %.0f%% writes)\t100\t\t\t\t%.2f\t\n", reads, writes, mixCost)
	_ = tw.Flush()
	t.Logf("cost per million requests (HTTP API $%.2f/M, Lambda $%.2f/M + 256 MB arm64 × %.0f ms, DynamoDB $%.3f/M WRU, $%.3f/M RRU):\n%s",
		priceHTTPAPI, priceLambdaReq, lambdaBilledSecs*1000, priceWRU, priceRRU, out.String())
	if os.Getenv("COST_REPORT") != "" {
		fmt.Print(out.String())
	}
	if reads != 70 || writes != 30 {
		t.Fatalf("mix is %v%% reads, %v%% writes; want 70/30", reads, writes)
	}
}
