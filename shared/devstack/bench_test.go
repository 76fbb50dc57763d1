package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
)

// measure runs op b.N times, reporting p50/p99 latency and DynamoDB calls
// per request alongside Go's ns/op.
func measure(b *testing.B, op func() int, want int) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	startCalls := calls.total.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if got := op(); got != want {
			b.Fatalf("status %d, want %d", got, want)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(calls.total.Load()-startCalls)/float64(b.N), "dynamo-calls/op")
}

// BenchmarkLogin: a password login (argon2id at the suite's test cost, not OWASP's).
func BenchmarkLogin(b *testing.B) {
	a := signup(b)
	c := &client{t: b}
	body := map[string]any{"login": a.username, "password": a.password}
	measure(b, func() int { return c.do("POST", "/v1/auth/login", body).Status }, 200)
}

// BenchmarkMe: an authenticated read of the caller and their org.
func BenchmarkMe(b *testing.B) {
	a := signup(b)
	measure(b, func() int { return a.do("GET", "/v1/me", nil).Status }, 200)
}

// BenchmarkListUsers: an authenticated page of 25 members.
func BenchmarkListUsers(b *testing.B) {
	a := signup(b)
	for i := 0; i < 30; i++ {
		a.member("staff")
	}
	measure(b, func() int { return a.do("GET", "/v1/users?limit=25", nil).Status }, 200)
}

// BenchmarkRefresh: rotating a refresh token.
func BenchmarkRefresh(b *testing.B) {
	a := signup(b)
	measure(b, func() int { return a.do("POST", "/v1/auth/refresh", nil).Status }, 200)
}

// BenchmarkGetClient: reading one client (one strongly consistent GetItem).
func BenchmarkGetClient(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	measure(b, func() int { return a.do("GET", "/v1/clients/"+c, nil).Status }, 200)
}

// BenchmarkListMatters: a page of 25 matters out of 60 (one query).
func BenchmarkListMatters(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	for range 60 {
		a.newMatter(c)
	}
	measure(b, func() int { return a.do("GET", "/v1/matters?limit=25", nil).Status }, 200)
}

// BenchmarkCreateNote: a note on a client with its activity record and the
// author's membership check (one transaction).
func BenchmarkCreateNote(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	body := map[string]any{"body": "Client called to confirm the hearing date."}
	measure(b, func() int { return a.do("POST", "/v1/clients/"+c+"/notes", body).Status }, 201)
}

// BenchmarkCreateMatterNote: a note on a matter, which first reads the
// matter for its client (one GetItem, one transaction).
func BenchmarkCreateMatterNote(b *testing.B) {
	a := signup(b)
	m := a.newMatter(a.newClient("Bench Client"))
	body := map[string]any{"body": "Filed the motion to compel."}
	measure(b, func() int { return a.do("POST", "/v1/matters/"+m+"/notes", body).Status }, 201)
}

// BenchmarkPasswordReset: a reset request for a member's address (a token
// write, an activity entry, an email) against one for an unknown address
// (neither); the handler's floor makes their times match (ASVS 6.3.8).
// Each request comes from a new source address, and the clock moves on by
// the address's refill interval, so no throttle changes the work.
func BenchmarkPasswordReset(b *testing.B) {
	a := signup(b)
	for name, email := range map[string]string{"known": a.email, "unknown": "nobody-bench@example.com"} {
		b.Run(name, func(b *testing.B) {
			measure(b, func() int {
				clock.Advance(20 * time.Minute)
				c := &client{t: b, ip: nextIP()}
				return c.do("POST", "/v1/auth/password-reset", map[string]any{"email": email}).Status
			}, 202)
		})
	}
}

// fillOtherTenants writes n clients of another org, so the benchmarks below run against a table
// much larger than the page they read: the embedded DynamoDB must answer
// in proportion to the page, not the table.
func fillOtherTenants(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	db := stack.Dynamo.Client()
	org := fmt.Sprintf("ORG#bench-other-%d", seq.Add(1))
	for start := 0; start < n; start += 25 {
		var reqs []types.WriteRequest
		for i := start; i < min(start+25, n); i++ {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				store.AttrPK: &types.AttributeValueMemberS{Value: org},
				store.AttrSK: &types.AttributeValueMemberS{Value: fmt.Sprintf("CLIENT#%08d", i)},
				"name":       &types.AttributeValueMemberS{Value: fmt.Sprintf("Other Client %d", i)},
			}}})
		}
		if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{stack.Dynamo.TableName(): reqs}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListClientsLargeTable: a page of 25 clients out of 60, with
// 3,000 items of another org in the table.
func BenchmarkListClientsLargeTable(b *testing.B) {
	a := signup(b)
	for i := range 60 {
		a.newClient(fmt.Sprintf("Bench Client %d", i))
	}
	fillOtherTenants(b, 3000)
	measure(b, func() int { return a.do("GET", "/v1/clients?limit=25", nil).Status }, 200)
}

// BenchmarkCreateNoteLargeTable: BenchmarkCreateNote with 3,000 items of
// another org in the table.
func BenchmarkCreateNoteLargeTable(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	fillOtherTenants(b, 3000)
	body := map[string]any{"body": "Client called to confirm the hearing date."}
	measure(b, func() int { return a.do("POST", "/v1/clients/"+c+"/notes", body).Status }, 201)
}

// throughput sends b.N requests from 4 goroutines per core at once, as a
// load generator against make dev would, and reports requests per second
// and the process's CPU time per request (user and system), which varies
// less than req/s on a machine others are using.
func throughput(b *testing.B, op func() int, want int) {
	b.Helper()
	b.SetParallelism(4)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if got := op(); got != want {
				b.Errorf("status %d, want %d", got, want)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hit sends one request as a load generator would: the caller's token
// and the body, reading the answer but only its status. The end-to-end
// client (do) also decodes every answer and checks it against the OpenAPI
// schema, which cost about a fifth of the throughput benchmarks' CPU
// (the server's work is the same either way).
func (c *client) hit(method, path string, body []byte) int {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, stack.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := apiClient.Do(req)
	if err != nil {
		c.t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// BenchmarkListClientsThroughput: pages of 25 clients out of 60, many at
// once, with 3,000 items of another org in the table.
func BenchmarkListClientsThroughput(b *testing.B) {
	asMakeDev(b)
	a := signup(b)
	for i := range 60 {
		a.newClient(fmt.Sprintf("Bench Client %d", i))
	}
	fillOtherTenants(b, 3000)
	if r := a.do("GET", "/v1/clients?limit=25", nil); r.Status != 200 { // once through the checked client
		b.Fatalf("status %d", r.Status)
	}
	throughput(b, func() int { return a.hit("GET", "/v1/clients?limit=25", nil) }, 200)
}

// BenchmarkCreateNoteThroughput: notes on a client, many at once, with
// 3,000 items of another org in the table.
func BenchmarkCreateNoteThroughput(b *testing.B) {
	asMakeDev(b)
	a := signup(b)
	c := a.newClient("Bench Client")
	fillOtherTenants(b, 3000)
	body := map[string]any{"body": "Client called to confirm the hearing date."}
	if r := a.do("POST", "/v1/clients/"+c+"/notes", body); r.Status != 201 { // once through the checked client
		b.Fatalf("status %d", r.Status)
	}
	raw, _ := json.Marshal(body)
	throughput(b, func() int { return a.hit("POST", "/v1/clients/"+c+"/notes", raw) }, 201)
}

// asMakeDev runs the benchmark with make dev's garbage collector setting
// (GCPercent), as the server it measures runs.
func asMakeDev(b *testing.B) {
	old := debug.SetGCPercent(GCPercent)
	b.Cleanup(func() { debug.SetGCPercent(old) })
}
