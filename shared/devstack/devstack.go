// Package devstack runs the whole system on one machine: the same function
// routers behind a local router that builds the API Gateway events AWS would,
// with embedded DynamoDB and S3 servers, in-process SQS delivery and the
// EventBridge schedules. scripts/devserver (make dev) and the end-to-end
// tests both start it, so they exercise the same wiring.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/openapi"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/relay"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/summaries"
	"github.com/matterly/matterly/shared/wire/accountswire"
	"github.com/matterly/matterly/shared/wire/authwire"
	"github.com/matterly/matterly/shared/wire/calendarwire"
	"github.com/matterly/matterly/shared/wire/chatwire"
	"github.com/matterly/matterly/shared/wire/crmwire"
	"github.com/matterly/matterly/shared/wire/documentswire"
	"github.com/matterly/matterly/shared/wire/esignwire"
	"github.com/matterly/matterly/shared/wire/messagingapiwire"
	"github.com/matterly/matterly/shared/wire/messagingwire"
	"github.com/matterly/matterly/shared/wire/orgwire"
	"github.com/matterly/matterly/shared/wire/paymentswire"
	"github.com/matterly/matterly/shared/wire/privacywire"
	"github.com/matterly/matterly/shared/wire/senderswire"
	"github.com/matterly/matterly/shared/wire/stripewebhookwire"
	"github.com/matterly/matterly/shared/wire/summarieswire"
	"github.com/matterly/matterly/shared/wire/trustwire"
)

// Routers maps each function of the route table to its router constructor.
// A function missing here fails Start, so the route table and the wiring
// cannot drift apart.
var Routers = map[string]platform.RouterFunc{
	routes.FnAccounts:      accountswire.Router(nil), // Start gives it the outbox
	routes.FnAuth:          authwire.Router,
	routes.FnOrg:           orgwire.Router,
	routes.FnCRM:           crmwire.Router,
	routes.FnDocuments:     documentswire.Router,
	routes.FnTrust:         trustwire.Router,
	routes.FnPayments:      paymentswire.Router,
	routes.FnStripeWebhook: stripewebhookwire.Router,
	routes.FnMessaging:     messagingapiwire.Router,
	routes.FnTwilioWebhook: messagingwire.TwilioWebhookRouter,
	routes.FnAI:            summarieswire.AIRouter,

	// E-signatures: the API and Dropbox Sign's callback.
	routes.FnESign:              esignwire.Router,
	routes.FnDropboxSignWebhook: esignwire.WebhookRouter,

	// Team chat's HTTP routes; its WebSocket API is served by chatws.go.
	routes.FnChat: chatwire.Router,
	// Microsoft 365 calendars: the API and Graph's notifications.
	routes.FnCalendar:       calendarwire.Router,
	routes.FnMSGraphWebhook: calendarwire.WebhookRouter,
	// Privacy: exports, restriction, retention.
	routes.FnPrivacy: privacywire.Router,
}

// StreamFunc is a streaming function URL handler (RESPONSE_STREAM).
type StreamFunc func(context.Context, events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error)

// Streamers maps each streaming function of the route table to its handler.
var Streamers = map[string]func(*platform.Deps) StreamFunc{
	routes.FnSpeech: func(d *platform.Deps) StreamFunc { return summarieswire.SpeechHandler(d).Handle },
}

// ReminderSchedule is the notifier's schedule (messaging.RunSchedule).
const ReminderSchedule = "reminders"

// notifierQueue stands in for EventBridge's asynchronous invocation of
// the notifier.
const notifierQueue = "notifier-events"

// Consumer is a queue's consumer function (an SQS event source in AWS).
type Consumer struct {
	Build  func(*platform.Deps, *Stack) (localaws.SQSHandler, error)
	Config localaws.QueueConfig
}

// Consumers maps each queue to its consumer.
var Consumers = map[string]Consumer{
	payments.EventsQueue: {Build: func(d *platform.Deps, _ *Stack) (localaws.SQSHandler, error) {
		return paymentswire.Worker(d).Handle, nil
	}},
	// A signed file Dropbox Sign is still preparing (409) is tried again
	// after 5 s locally (6 minutes in AWS: the queue's visibility timeout).
	esign.FilesQueue: {Build: func(d *platform.Deps, _ *Stack) (localaws.SQSHandler, error) {
		return esignwire.Worker(d).Handle, nil
	}, Config: localaws.QueueConfig{VisibilityTimeout: 5 * time.Second}},
	calendar.Queue: {Build: func(d *platform.Deps, s *Stack) (localaws.SQSHandler, error) {
		return s.calendar(d).Handle, nil
	}},
	privacy.Queue: {Build: func(d *platform.Deps, _ *Stack) (localaws.SQSHandler, error) {
		return privacywire.Privacy(d).Handle, nil
	}},
	summaries.Queue: {Build: func(d *platform.Deps, _ *Stack) (localaws.SQSHandler, error) {
		return summarieswire.Summaries(d).Handle, nil
	}},
	messaging.Queue: {Build: func(d *platform.Deps, s *Stack) (localaws.SQSHandler, error) {
		sms, email, err := s.senders(d)
		if err != nil {
			return nil, err
		}
		w := messaging.NewWorker(messagingwire.Messaging(d), sms, email)
		if s.sleep != nil {
			w.Sleep = s.sleep
		}
		return w.Handle, nil
	}},
}

// calendar is the calendar worker, its waits (Retry-After, a refresh
// another request runs) the stack's.
func (s *Stack) calendar(d *platform.Deps) *calendar.Worker {
	svc := calendarwire.Calendar(d)
	if s.sleep != nil {
		svc.Graph, svc.Sleep = calendarwire.MSGraph(d, s.sleep), s.sleep
	}
	return calendar.NewWorker(svc)
}

// senders are the message providers: make dev's outbox for a channel with
// no credentials, the real provider otherwise.
func (s *Stack) senders(d *platform.Deps) (messaging.SMSSender, messaging.EmailSender, error) {
	sms, email, err := senders.Build(context.Background(), senderswire.Setup(d))
	if err != nil {
		return nil, nil, err
	}
	smsBox, emailBox := messaging.Sandboxed(d.Config.Local(), d.TwilioAccountSID, d.Config.SESEndpoint)
	if smsBox {
		sms = s.Outbox
	}
	if emailBox {
		email = s.Outbox
	}
	return sms, email, nil
}

// Options configure a stack.
type Options struct {
	Addr    string           // listen address; "127.0.0.1:0" picks a free port
	DataDir string           // keys, DynamoDB snapshot and S3 bolt file
	Getenv  config.Getenv    // the environment (os.Getenv for make dev)
	LogOut  io.Writer        // function logs
	Now     func() time.Time // the clock; time.Now when nil
	// SourceIPHeader, when set, names a request header whose value becomes
	// the caller's source address, as API Gateway would see it. Tests use it
	// to play many callers from one machine; make dev never sets it.
	SourceIPHeader string
	// WrapDynamo, when set, wraps the functions' DynamoDB client (tests and
	// benchmarks count calls with it).
	WrapDynamo func(store.API) store.API
	// WrapMembers, when set, wraps the routers' membership check (tests
	// play a member removed between that check and the write with it).
	WrapMembers func(httpapi.Members) httpapi.Members
	// Sleep, when set, replaces the workers' waits between provider
	// retries (tests keep them instant).
	Sleep func(context.Context, time.Duration) error
	// DrainQueues, when set, leaves queue delivery to the caller
	// (Broker.Drain), so tests see async work finish at a point they choose.
	DrainQueues bool
	// PasswordParams, when set, is the argon2id cost of new password
	// hashes (the tests' cheap one); nil is production's, as make dev has.
	PasswordParams *password.Params
}

// GCPercent is make dev's garbage collector setting (scripts/devserver sets
// it unless GOGC is): one process holds every function and the embedded
// stores, its live heap is tens of MB, and a less eager collector serves
// about 20% more requests per CPU second (BenchmarkListClientsThroughput).
const GCPercent = 400

// Stack is a running local system.
type Stack struct {
	URL       string
	Dynamo    *localaws.Dynamo
	S3        *localaws.S3
	Broker    *localaws.Broker
	Scheduler *localaws.Scheduler
	Bus       *localaws.Bus
	Deps      *platform.Deps
	// Outbox holds the SMS and email of sandboxed channels (GET /dev/outbox).
	Outbox    *messaging.Outbox
	routers   map[string]*httpapi.Router
	ws        *wsHub // the chat WebSocket API (chatws.go)
	streamers map[string]StreamFunc
	sleep     func(context.Context, time.Duration) error
	ipHeader  string
	srv       *http.Server
	cancel    context.CancelFunc
	dataDir   string
	lock      *localaws.DirLock
}

// Start brings the stack up and serves HTTP until Close.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.LogOut == nil {
		opts.LogOut = io.Discard
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Stack{routers: map[string]*httpapi.Router{}, streamers: map[string]StreamFunc{}, ipHeader: opts.SourceIPHeader, sleep: opts.Sleep}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	// One stack per data directory: two would interleave the DynamoDB
	// and queue journals. Taken before anything is read, held until Close.
	if s.lock, err = localaws.LockDir(opts.DataDir); err != nil {
		return nil, err
	}
	if s.Dynamo, err = localaws.StartDynamo(filepath.Join(opts.DataDir, "dynamodb.json")); err != nil {
		return nil, fmt.Errorf("embedded dynamodb: %w", err)
	}
	if s.S3, err = localaws.StartS3(filepath.Join(opts.DataDir, "s3.bolt")); err != nil {
		return nil, fmt.Errorf("embedded s3: %w", err)
	}
	// The listener comes first: the chat functions post frames to this
	// server's stand-in of the WebSocket Management API.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok && s.srv == nil {
			ln.Close()
		}
	}()
	s.URL = "http://" + ln.Addr().String()
	env := map[string]string{
		"CHAT_WS_ENDPOINT":         s.URL + wsManagementPath,
		"AWS_LAMBDA_FUNCTION_NAME": "devserver",
		"TABLE_NAME":               store.DefaultTableName,
		"DYNAMODB_ENDPOINT":        s.Dynamo.Endpoint(),
		"S3_ENDPOINT":              s.S3.Endpoint(),
		"BUCKET_NAME":              localaws.DefaultBucket,
		"DEV_DATA_DIR":             opts.DataDir,
		"CORS_ORIGINS":             "http://localhost:5173,http://127.0.0.1:5173",
	}
	cfg, err := config.Load(func(name string) string {
		if v := opts.Getenv(name); v != "" {
			return v
		}
		return env[name]
	})
	if err != nil {
		return nil, err
	}
	var dyn store.API = s.Dynamo.Client()
	if opts.WrapDynamo != nil {
		dyn = opts.WrapDynamo(dyn)
	}
	s.Bus = localaws.NewBus()
	publish := bus.PublisherFunc(func(ctx context.Context, detailType string, detail any) error {
		return s.Bus.Put(ctx, bus.Source, detailType, detail)
	})
	s.Broker = localaws.NewBroker(localaws.BrokerOptions{})
	if s.Deps, err = platform.New(ctx, cfg, platform.Options{Dynamo: dyn, Bus: publish, Queue: s.Broker, Now: opts.Now, LogOut: opts.LogOut, PasswordParams: opts.PasswordParams}); err != nil {
		return nil, err
	}
	if opts.WrapMembers != nil {
		s.Deps.Members = opts.WrapMembers(s.Deps.Members)
	}
	// Domain events and the audit log leave through the table's stream and
	// the relay, as in AWS.
	relayLog := logging.New(opts.LogOut, cfg.LogLevel, "relay")
	s.Dynamo.SetStream(relay.Handler{Bus: publish, Log: relayLog, DB: s.Deps.DB, Keys: audit.NewKeyring(s.Deps.AuditSealer)}.Handle, relayLog)
	s.Dynamo.SetStreamFilter(relay.Wanted)
	s.Outbox = messaging.NewOutbox(opts.LogOut, s.Deps.Now)
	for _, fn := range routes.Functions() {
		if stream, ok := Streamers[fn]; ok {
			s.streamers[fn] = stream(s.Deps)
			continue
		}
		build, found := Routers[fn]
		if fn == routes.FnAccounts {
			// Sign-up notices go out as messages do: sandboxed, to the outbox.
			build = accountswire.Router(s.Outbox)
		}
		if !found {
			return nil, fmt.Errorf("function %s has routes but no router in devstack.Routers", fn)
		}
		if s.routers[fn], err = build(s.Deps); err != nil {
			return nil, err
		}
	}
	for name, c := range Consumers {
		h, err := c.Build(s.Deps, s)
		if err != nil {
			return nil, err
		}
		s.Broker.Register(name, h, c.Config)
	}
	s.Scheduler = localaws.NewScheduler()
	// The notifier: the 5-minute schedule and the case-update events, as
	// EventBridge delivers them in AWS.
	notifier := messagingwire.Messaging(s.Deps)
	s.Scheduler.Add(ReminderSchedule, messaging.ScheduleEvery, notifier.RunSchedule)
	// The daily retention run (the privacyworker function in AWS).
	s.Scheduler.Add(privacy.RetentionSchedule, privacy.RetentionEvery, privacywire.Privacy(s.Deps).RunRetention)
	// EventBridge invokes its targets asynchronously; so does this: the
	// event waits on a local queue, and the notifier never runs inside the
	// write (and the stream delivery) that announced it.
	s.Broker.Register(notifierQueue, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			var e events.EventBridgeEvent
			if err := json.Unmarshal([]byte(m.Body), &e); err != nil || notifier.HandleEvent(ctx, e) != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}, localaws.QueueConfig{})
	// The calendar's schedules, and booking and member events queued for
	// its worker (an EventBridge rule targets the queue in AWS).
	cal := calendarwire.Calendar(s.Deps)
	s.Scheduler.Add(calendar.ScheduleRenew, calendar.RenewEvery, cal.RunRenewals)
	s.Scheduler.Add(calendar.ScheduleSync, calendar.SyncEvery, cal.RunSafetyNet)
	for _, dt := range calendar.Events {
		s.Bus.Subscribe(dt, func(ctx context.Context, e events.EventBridgeEvent) error {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			return s.Broker.Send(ctx, calendar.Queue, string(b), nil)
		})
	}
	// Queued messages wait on disk until handled, so a crash loses none.
	if err := s.Broker.Persist(filepath.Join(opts.DataDir, "queues.jsonl")); err != nil {
		return nil, err
	}
	for _, dt := range append(messaging.CaseUpdateEvents, messaging.FeedbackEvents...) {
		s.Bus.Subscribe(dt, func(ctx context.Context, e events.EventBridgeEvent) error {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			return s.Broker.Send(ctx, notifierQueue, string(b), nil)
		})
	}

	s.ws = newWSHub(chatwire.WSHandler(s.Deps).Handle, s.Deps.Log)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if !opts.DrainQueues {
		go s.Broker.Run(runCtx)
	}
	go s.Scheduler.Run(runCtx)
	go func() { _ = s.srv.Serve(ln) }()
	s.dataDir = opts.DataDir
	if err := s.writeEndpoints(opts.DataDir); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Close stops serving and saves the DynamoDB contents and the queued
// messages (both also journaled as they change, so a crash loses no
// acknowledged write), so dev data survives a restart.
func (s *Stack) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	var errs []error
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.srv.Shutdown(ctx))
		cancel()
	}
	if s.dataDir != "" {
		os.Remove(filepath.Join(s.dataDir, endpointsFile))
	}
	if s.Dynamo != nil {
		errs = append(errs, s.Dynamo.Close())
	}
	if s.S3 != nil {
		errs = append(errs, s.S3.Close())
	}
	if s.Broker != nil {
		errs = append(errs, s.Broker.Close())
	}
	errs = append(errs, s.lock.Release()) // last: the stores are saved
	return errors.Join(errs...)
}

// TraceHeader names a request for tests: its value rides in the context of
// everything the request's function does (TraceOf), so a test can count the
// DynamoDB calls of one request while schedules and other tests run.
const TraceHeader = "X-Devstack-Trace"

type traceKey struct{}

// TraceOf is the TraceHeader value of the request ctx serves ("" if none).
func TraceOf(ctx context.Context) string {
	v, _ := ctx.Value(traceKey{}).(string)
	return v
}

// ServeHTTP routes a request to its function the way API Gateway does.
func (s *Stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if trace := r.Header.Get(TraceHeader); trace != "" {
		r = r.WithContext(context.WithValue(r.Context(), traceKey{}, trace))
	}
	if !localaws.IsLoopbackHost(r.Host) {
		// A web page on another origin could point a DNS name at 127.0.0.1
		// (DNS rebinding); only loopback names may reach the dev stack.
		p, _ := httpapi.ProblemFor(fault.E(fault.Forbidden, "The dev server answers only to localhost and loopback addresses."), "")
		writeProblem(w, p)
		return
	}
	if r.URL.Path == wsPath || strings.HasPrefix(r.URL.Path, wsManagementPath+"/") {
		s.serveChatWS(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/dev/") {
		s.serveDev(w, r)
		return
	}
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	method := r.Method
	if method == http.MethodOptions {
		// Preflight: any route on the path can answer it.
		method = ""
	}
	route, params, known := routes.Match(method, r.URL.Path)
	if method == "" && known {
		route, params = firstRouteFor(r.URL.Path)
	}
	if route.Function == "" {
		kind, msg := fault.NotFound, "No such route."
		if known {
			kind, msg = fault.MethodNotAllowed, "This path does not accept "+r.Method+"."
		}
		p, _ := httpapi.ProblemFor(fault.E(kind, "%s", msg), "")
		writeProblem(w, p)
		return
	}
	body, err := httpapi.ReadBody(r, 1<<20)
	if err != nil {
		p, _ := httpapi.ProblemFor(fault.E(fault.Malformed, "The request body could not be read."), "")
		writeProblem(w, p)
		return
	}
	if route.Stream {
		s.serveStream(w, r, route, body)
		return
	}
	ev := httpapi.EventFromHTTP(r, route, params, body)
	if ip := r.Header.Get(s.ipHeader); s.ipHeader != "" && ip != "" {
		ev.RequestContext.HTTP.SourceIP = ip
	}
	resp, _ := s.routers[route.Function].Serve(r.Context(), ev)
	httpapi.WriteHTTP(w, resp)
}

// serveStream runs a streaming function as its function URL would: the
// request as a function URL event, the body written as it is read.
func (s *Stack) serveStream(w http.ResponseWriter, r *http.Request, route routes.Route, body []byte) {
	ev := httpapi.EventFromHTTP(r, route, nil, body)
	req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery, Headers: ev.Headers,
		Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded, RequestContext: events.LambdaFunctionURLRequestContext{
			RequestID: ev.RequestContext.RequestID, DomainName: r.Host, TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: ev.RequestContext.HTTP.SourceIP, UserAgent: r.UserAgent()}}}
	resp, err := s.streamers[route.Function](r.Context(), req)
	if err != nil {
		p, _ := httpapi.ProblemFor(err, req.RequestContext.RequestID)
		writeProblem(w, p)
		return
	}
	if c, ok := resp.Body.(io.Closer); ok {
		defer c.Close() // a listener who left must not hold the provider's stream
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 16<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			return
		}
	}
}

func firstRouteFor(path string) (routes.Route, map[string]string) {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if rt, params, _ := routes.Match(m, path); rt.Function != "" {
			return rt, params
		}
	}
	return routes.Route{}, nil
}

func writeProblem(w http.ResponseWriter, p httpapi.Problem) {
	httpapi.WriteHTTP(w, httpapi.ProblemResponse(p))
}

// serveDev answers the dev-only routes: the OpenAPI document, and the
// schedules, listed and run by hand.
func (s *Stack) serveDev(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/dev/openapi.json":
		httpapi.WriteHTTP(w, jsonResponse(http.StatusOK, json.RawMessage(openapi.Spec)))
	case r.Method == http.MethodGet && r.URL.Path == "/dev/outbox":
		httpapi.WriteHTTP(w, jsonResponse(http.StatusOK, map[string]any{"items": s.Outbox.Items(),
			"note": "SANDBOX: these messages were not sent; set TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN or SES_ENDPOINT/EMAIL_FROM to send for real."}))
	case r.Method == http.MethodGet && r.URL.Path == "/dev/schedules":
		names := s.Scheduler.Names()
		sort.Strings(names)
		httpapi.WriteHTTP(w, jsonResponse(http.StatusOK, map[string]any{"items": names}))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/dev/schedules/"):
		name := strings.TrimPrefix(r.URL.Path, "/dev/schedules/")
		if err := s.Scheduler.Trigger(r.Context(), name); err != nil {
			p, _ := httpapi.ProblemFor(fault.E(fault.NotFound, "Schedule %q: %v", name, err), "")
			writeProblem(w, p)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		p, _ := httpapi.ProblemFor(fault.E(fault.NotFound, "No such dev route."), "")
		writeProblem(w, p)
	}
}

func jsonResponse(status int, body any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(body)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

// endpointsFile records the running dev server's DynamoDB endpoint, so make
// invoke works on the same data instead of a stale snapshot.
const endpointsFile = "endpoints.json"

func (s *Stack) writeEndpoints(dataDir string) error {
	b, _ := json.Marshal(map[string]string{"dynamodb": s.Dynamo.Endpoint(), "s3": s.S3.Endpoint(), "api": s.URL})
	return os.WriteFile(filepath.Join(dataDir, endpointsFile), b, 0o600)
}

// RunningDynamo returns the DynamoDB endpoint of a dev server running on
// dataDir, or "" when none answers.
func RunningDynamo(dataDir string) string { return running(dataDir, "dynamodb") }

// RunningS3 returns the S3 endpoint of a dev server running on dataDir, or
// "" when none answers.
func RunningS3(dataDir string) string { return running(dataDir, "s3") }

func running(dataDir, name string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, endpointsFile))
	if err != nil {
		return ""
	}
	var ep map[string]string
	if json.Unmarshal(b, &ep) != nil || ep[name] == "" {
		return ""
	}
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(ep[name], "http://"), 200*time.Millisecond)
	if err != nil {
		return ""
	}
	c.Close()
	return ep[name]
}
