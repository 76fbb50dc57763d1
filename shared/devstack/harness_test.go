package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/extract"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/openapi"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// The end-to-end tests share one stack per test binary, as a browser and
// providers would: real HTTP into the local API Gateway, the function
// routers, and the embedded DynamoDB over HTTP.
//
// A test that only touches its own org calls t.Parallel, so both cores
// work. A test stays sequential (Go runs those first, all of them before
// any parallel one) when it moves the clock, counts DynamoDB calls or
// table items, drains the queues, reads a provider fake's log (Stripe,
// Twilio, OpenAI, SES, DNS), the outbox or the bus, or looks at the data
// directory: another test's work in between would change what it sees.
var (
	stack *Stack
	clock = &testClock{}
	calls = &countingClient{}
	stale = &staleMembers{}
)

// staleMembers plays members removed between the router's membership read
// and their request's write: for the users it names, the router sees the
// role they had, whatever the table holds now.
type staleMembers struct {
	next httpapi.Members
	mu   sync.Mutex
	as   map[string]access.Role // userID → the role the router still sees
}

func (s *staleMembers) wrap(next httpapi.Members) httpapi.Members { s.next = next; return s }

// Pretend makes the router see userID as still holding role.
func (s *staleMembers) Pretend(userID string, role access.Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.as == nil {
		s.as = map[string]access.Role{}
	}
	s.as[userID] = role
}

func (s *staleMembers) Member(ctx context.Context, orgID, userID string) (caller.Member, bool, error) {
	s.mu.Lock()
	role, ok := s.as[userID]
	s.mu.Unlock()
	if ok {
		return caller.Member{Role: role}, true, nil
	}
	return s.next.Member(ctx, orgID, userID)
}

// testClock is the stack's clock; tests move it forward instead of sleeping.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// StartOfWindow moves the clock to just after the start of the next window
// of length w, so a throttle test never straddles a window boundary.
func (c *testClock) StartOfWindow(w time.Duration) {
	now := c.Now()
	c.Advance(now.Truncate(w).Add(w + time.Second).Sub(now))
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// countingClient counts DynamoDB calls on the wire by operation (the
// X-Amz-Target header), for "same work" checks and the calls-per-request
// benchmark figures.
type countingClient struct {
	next  dynamodb.HTTPClient
	mu    sync.Mutex
	total atomic.Int64
	// byTrace counts the calls of each traced request (TraceHeader): a
	// request's own calls, whatever schedules or other tests do meanwhile.
	byTrace map[string]map[string]int
	// landed counts each traced request's write calls that DynamoDB
	// carried out (200): a write refused by its condition is sent but
	// changes nothing.
	landed map[string]int
	// wire keeps each traced request's calls whole while a test asks for
	// them (keepWire; the cost test counts capacity units from them).
	wire map[string][]wireCall
}

// Do counts the call, then sends it.
func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	c.total.Add(1)
	c.mu.Lock()
	if trace := TraceOf(r.Context()); trace != "" {
		if c.byTrace == nil {
			c.byTrace = map[string]map[string]int{}
		}
		if c.byTrace[trace] == nil {
			c.byTrace[trace] = map[string]int{}
		}
		c.byTrace[trace][op]++
	}
	keep := c.wire != nil && TraceOf(r.Context()) != ""
	c.mu.Unlock()
	if keep {
		r = c.keep(r, op)
	}
	resp, err := c.next.Do(r)
	if keep && err == nil {
		resp = c.kept(r, resp)
	}
	if trace := TraceOf(r.Context()); trace != "" && err == nil && resp.StatusCode == http.StatusOK && isWrite(op) {
		c.mu.Lock()
		if c.landed == nil {
			c.landed = map[string]int{}
		}
		c.landed[trace]++
		c.mu.Unlock()
	}
	return resp, err
}

func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
		return true
	}
	return false
}

// LandedWritesOf counts the writes DynamoDB carried out for the request
// whose result is r.
func (c *countingClient) LandedWritesOf(r result) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.landed[r.trace]
}

// Of returns the per-operation calls made on behalf of the request whose
// result is r.
func (c *countingClient) Of(r result) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.byTrace[r.trace])
	if out == nil {
		out = map[string]int{}
	}
	return out
}

// WritesOf counts the write calls made on behalf of the request whose
// result is r.
func (c *countingClient) WritesOf(r result) int {
	n := 0
	for op, k := range c.Of(r) {
		if isWrite(op) {
			n += k
		}
	}
	return n
}

// counted rebuilds the stack's DynamoDB client to send through calls.
func counted(api store.API) store.API {
	opts := api.(*dynamodb.Client).Options()
	calls.next = opts.HTTPClient
	opts.HTTPClient = calls
	return dynamodb.New(opts)
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "matterly-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// PDFium's compiled code is kept between runs, as the extract tests
	// keep it: compiling it took seconds of CPU in every run of this
	// package, many more under -race.
	if cacheDir, err := extract.CompilationCacheDir(filepath.Join("..", "..", "go.mod")); err == nil {
		_ = extract.UseCompilationCache(cacheDir)
	}
	var logs io.Writer // function logs: MATTERLY_TEST_LOGS=1 shows them
	if os.Getenv("MATTERLY_TEST_LOGS") != "" {
		logs = os.Stderr
	}
	mock, err := localaws.StartStripeMock(context.Background(), ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer mock.Close()
	proxy := httptest.NewServer(stripeCalls.forward(mock.URL))
	defer proxy.Close()
	twilio := httptest.NewServer(twilioFake)
	defer twilio.Close()
	openAI := httptest.NewServer(openAIFake)
	defer openAI.Close()
	dropboxSign := httptest.NewServer(dropboxSignFake)
	defer dropboxSign.Close()
	giphy := httptest.NewServer(giphyFake)
	defer giphy.Close()
	msgraph := httptest.NewServer(msgraphFake)
	defer msgraph.Close()
	msgraphFake.Base = msgraph.URL
	env := map[string]string{"STRIPE_SECRET_KEY": "sk_test_matterly", "STRIPE_API_BASE_URL": proxy.URL, "STRIPE_WEBHOOK_SECRET": webhookSecret,
		"TWILIO_ACCOUNT_SID": twilioSID, "TWILIO_AUTH_TOKEN": twilioToken, "TWILIO_API_BASE_URL": twilio.URL, "PUBLIC_BASE_URL": publicURL,
		"OPENAI_API_KEY": openAIKey, "OPENAI_BASE_URL": openAI.URL + "/v1", "OPENAI_MODEL": "test-model",
		"DROPBOX_SIGN_API_KEY": dropboxSignKey, "DROPBOX_SIGN_API_BASE_URL": dropboxSign.URL,
		"GIPHY_API_KEY": giphyKey, "GIPHY_API_BASE_URL": giphy.URL,
		"MS_LOGIN_BASE_URL": msgraph.URL, "MS_GRAPH_BASE_URL": msgraph.URL, "MS_TENANT_ID": "matterly-test", "MS_CLIENT_ID": msClientID, "MS_CLIENT_SECRET": msClientSecret}
	stack, err = Start(context.Background(), Options{Addr: "127.0.0.1:0", DataDir: dir, Now: clock.Now, LogOut: logs,
		SourceIPHeader: sourceIPHeader, Getenv: func(name string) string { return env[name] },
		WrapDynamo: counted, WrapMembers: stale.wrap, DrainQueues: true, Sleep: func(context.Context, time.Duration) error { return nil },
		// argon2id at a test cost: the suite signs up hundreds of members,
		// and at OWASP's (19 MiB, two passes) hashing was half its CPU.
		// Production's cost is identitywire's default (TestIdentityPasswordCost).
		PasswordParams: &password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start stack:", err)
		return 1
	}
	defer stack.Close()
	return m.Run()
}

// client is one browser: an access token and a cookie jar for the refresh
// cookie, calling from its own source address (so per-address limits see
// different callers, as they would in production).
type client struct {
	t       testing.TB
	token   string
	refresh string
	ip      string // source address as API Gateway sees it; "" for the real one (127.0.0.1)
}

// apiClient calls the stack as a browser's fetch would see the answer: a
// redirect (the OAuth callback's) is returned, not followed.
var apiClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// sourceIPHeader carries a test client's source address (see Options.SourceIPHeader).
const sourceIPHeader = "X-Test-Source-Ip"

// nextIP hands out a fresh documentation-range address (RFC 5737).
func nextIP() string {
	n := seq.Add(1)
	return fmt.Sprintf("198.51.%d.%d", (n/250)%250, n%250+1)
}

type result struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
	trace  string // the request's TraceHeader: calls.Of(r) are its DynamoDB calls
}

// do sends one request; body may be a string (sent raw) or a value (sent as JSON).
func (c *client) do(method, path string, body any, headers ...string) result {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, stack.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.refresh != "" {
		req.AddCookie(&http.Cookie{Name: "matterly_refresh", Value: c.refresh})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // net/http takes the Host from here, not from the header map
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	if c.ip != "" {
		req.Header.Set(sourceIPHeader, c.ip)
	}
	trace := fmt.Sprintf("t%d", traces.Add(1))
	req.Header.Set(TraceHeader, trace)
	resp, err := apiClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw), trace: trace}
	_ = json.Unmarshal(raw, &r.Body)
	checkSpec(c.t, method, path, r)
	for _, ck := range resp.Cookies() {
		if ck.Name == "matterly_refresh" {
			c.refresh = ck.Value
		}
	}
	return r
}

// checkSpec validates a 2xx JSON body against the schema openapi.json
// declares for its route and status, so the spec and the wire never drift
// apart: a property the spec does not declare, a wrong type, or a 2xx body
// of a status with no declared schema fails the test. (Errorf, not Fatal:
// a drift is reported without stopping the flow that found it.)
func checkSpec(t testing.TB, method, path string, r result) {
	t.Helper()
	media := r.Header.Get("Content-Type")
	if r.Status < 200 || r.Status > 299 || r.Raw == "" || !strings.Contains(media, "json") {
		return
	}
	v, err := openapi.SharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := strings.Cut(path, "?")
	if strings.HasPrefix(p, "/dev/") {
		return // the dev server's own endpoints (outbox, schedules, the spec) are no part of the API
	}
	route, _, _ := routes.Match(method, p)
	if route.Path == "" {
		t.Errorf("openapi: %s %s answered %d with a JSON body but matches no route", method, p, r.Status)
		return
	}
	if err := v.ValidateResponse(route.Key(), r.Status, media, r.Raw); err != nil {
		t.Errorf("openapi: %s %s: %v\nbody: %.2000s", method, path, err, r.Raw)
	}
}

// must asserts the status and returns the result.
func (c *client) must(want int, method, path string, body any) result {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r
}

var seq atomic.Int64

// traces numbers the requests tests send (TraceHeader).
var traces atomic.Int64

// account is a signed-up org with its owner logged in.
type account struct {
	*client
	orgID, userID, email, username, password string
}

// signup creates a fresh org; names are unique per call.
func signup(t testing.TB) *account {
	t.Helper()
	n := seq.Add(1)
	a := &account{client: &client{t: t, ip: nextIP()}, email: fmt.Sprintf("owner%d-%d@example.com", n, time.Now().UnixNano()),
		username: fmt.Sprintf("owner%d_%d", n, time.Now().UnixNano()%1e6), password: "correct horse battery staple"}
	r := a.must(201, "POST", "/v1/auth/signup", map[string]any{"orgName": fmt.Sprintf("Firm %d", n), "name": "Olive Owner",
		"email": a.email, "username": a.username, "password": a.password, "timezone": "America/New_York"})
	a.token = str(r.Body, "accessToken")
	a.orgID = str(r.Body, "org", "id")
	a.userID = str(r.Body, "user", "id")
	return a
}

// member adds a member with role to a's org and logs them in.
func (a *account) member(role string) *account {
	a.t.Helper()
	n := seq.Add(1)
	m := &account{client: &client{t: a.t}, email: fmt.Sprintf("m%d-%d@example.com", n, time.Now().UnixNano()),
		username: fmt.Sprintf("m%d_%d", n, time.Now().UnixNano()%1e6), password: "violet tractor umbrella mosaic", orgID: a.orgID}
	r := a.must(201, "POST", "/v1/users", map[string]any{"name": "Mia Member", "email": m.email, "username": m.username,
		"role": role, "password": m.password})
	m.userID = str(r.Body, "id")
	m.login()
	return m
}

func (a *account) login() {
	a.t.Helper()
	r := a.must(200, "POST", "/v1/auth/login", map[string]any{"login": a.username, "password": a.password})
	a.token = str(r.Body, "accessToken")
}

// str digs a string out of a decoded JSON object.
func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = obj[p]
	}
	s, _ := cur.(string)
	return s
}

// itemCount counts every item in the table: the bad-input tests prove a
// refused request wrote nothing.
//
// It asks DescribeTable, whose ItemCount the embedded DynamoDB keeps exact
// (TestDynamoItemCountIsExact; AWS refreshes it every few hours only):
// a Scan walked the whole table for each count, several seconds of the
// suite once it had filled the table.
func itemCount(t testing.TB) int {
	t.Helper()
	out, err := stack.Dynamo.Client().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: ptr(store.DefaultTableName)})
	if err != nil {
		t.Fatal(err)
	}
	return int(*out.Table.ItemCount)
}

func ptr[T any](v T) *T { return &v }

// stripeCall is one request the functions sent to Stripe (stripe-mock),
// with the headers that make it safe: who it acts for and its
// idempotency key.
type stripeCall struct {
	Method, Path, Account, IdempotencyKey, Auth string
}

// stripeLog records every call on its way to stripe-mock.
type stripeLog struct {
	mu    sync.Mutex
	calls []stripeCall
}

var stripeCalls = &stripeLog{}

func (l *stripeLog) forward(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.calls = append(l.calls, stripeCall{Method: r.Method, Path: r.URL.Path, Account: r.Header.Get("Stripe-Account"),
			IdempotencyKey: r.Header.Get("Idempotency-Key"), Auth: r.Header.Get("Authorization")})
		l.mu.Unlock()
		rp.ServeHTTP(w, r)
	})
}

// since returns the calls made after the first n.
func (l *stripeLog) since(n int) []stripeCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls[n:])
}

func (l *stripeLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}
