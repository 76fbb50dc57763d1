// Package twilio sends the messaging capability's SMS through Twilio's
// Programmable Messaging API (github.com/twilio/twilio-go, Api v2010) and
// checks the signatures on Twilio's webhooks.
//
// twilio-go's base URL is fixed (https://api.twilio.com) and its requests
// carry no context, so each send wraps the library's HTTP client: one
// wrapper moves the request to TWILIO_API_BASE_URL when that is set (a
// sandbox, a test server), the other carries the caller's context and keeps
// the status and Retry-After of Twilio's answer, which twilio-go drops.
package twilio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/providers/delivery"
	"github.com/matterly/matterly/shared/providers/retryafter"
)

// callTimeout bounds one send, response included. It is well inside the
// SMS worker's Lambda timeout, so a hung Twilio costs one attempt, not the
// batch.
const callTimeout = 10 * time.Second

// Client is a Twilio account's messaging client. It is safe for
// concurrent use; build it once per process.
type Client struct {
	accountSID string
	authToken  string
	base       *url.URL // nil: Twilio itself
	baseErr    error    // a TWILIO_API_BASE_URL that is not a URL
	transport  http.RoundTripper
	now        func() time.Time // for Retry-After dates; tests set it
}

var _ messaging.SMSSender = (*Client)(nil)

// New returns a client for the account. apiBaseURL, when set, is where
// requests go instead of https://api.twilio.com (scheme, host and any path
// prefix; the API path is kept); "" is Twilio itself.
func New(accountSID, authToken, apiBaseURL string) *Client {
	c := &Client{
		accountSID: accountSID,
		authToken:  authToken,
		transport:  http.DefaultTransport.(*http.Transport).Clone(),
		now:        time.Now,
	}
	if apiBaseURL != "" {
		u, err := url.Parse(apiBaseURL)
		if err == nil && (u.Scheme == "" || u.Host == "") {
			err = errors.New("scheme or host missing")
		}
		if err != nil {
			c.baseErr = fmt.Errorf("twilio: TWILIO_API_BASE_URL %q: %w", apiBaseURL, err)
		}
		c.base = u
	}
	return c
}

// SendSMS creates one outbound message and returns its SID ("SM...").
// Errors from Twilio are *SendError: Permanent for a refusal of this
// message (an unsubscribed or invalid number; any 4xx except 429 and a
// full sender queue), otherwise retryable, with RetryAfter when Twilio
// says how long to wait. The message body never appears in an error.
//
// It makes exactly one attempt: twilio-go does not retry (Api v2010 sends
// no X-Twilio-ApiVersion, the only case in which it sends twice) and
// net/http does not replay a POST, which matters because a message is not
// idempotent; the SQS worker decides whether and when to try again.
func (c *Client) SendSMS(ctx context.Context, m messaging.OutboundSMS) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	h, x := c.handler(ctx)
	svc := api.NewApiService(h)

	p := &api.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Body)
	if m.MessagingServiceSID != "" {
		// Twilio picks the sender from the service's pool; a From as well
		// would pin it to one number.
		p.SetMessagingServiceSid(m.MessagingServiceSID)
	} else {
		p.SetFrom(m.From)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	msg, err := svc.CreateMessage(p)
	if err != nil {
		return "", c.sendError(err, x)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		// Accepted, but we cannot tell which message it became.
		return "", &SendError{Status: x.status, Message: "answer without a message sid"}
	}
	return *msg.Sid, nil
}

// handler is one call's twilio-go request handler, bound to ctx, and the
// exchange that records Twilio's answer.
func (c *Client) handler(ctx context.Context) (*client.RequestHandler, *exchange) {
	x := &exchange{ctx: ctx, next: c.transport}
	inner := &client.Client{
		Credentials: client.NewCredentials(c.accountSID, c.authToken),
		// No Timeout here: the context bounds the call, and an
		// http.Client timeout would be lost when exchange swaps the context.
		HTTPClient: &http.Client{Transport: x, CheckRedirect: noRedirect},
	}
	inner.SetAccountSid(c.accountSID)
	var base client.BaseClient = inner
	if c.base != nil {
		base = rebased{BaseClient: inner, base: c.base}
	}
	// A RequestHandler without Edge and Region: routing comes from our
	// config, not from the TWILIO_EDGE and TWILIO_REGION that
	// client.NewRequestHandler would read from the environment.
	return &client.RequestHandler{Client: base}, x
}

// noRedirect returns a redirect as it is, as twilio-go's own client does.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// rebased sends twilio-go's requests to another base URL, keeping the API
// path (and prepending the base's own path, if any).
type rebased struct {
	client.BaseClient
	base *url.URL
}

func (r rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = r.base.Scheme, r.base.Host
	if prefix := strings.TrimSuffix(r.base.Path, "/"); prefix != "" {
		u.Path, u.RawPath = prefix+u.Path, ""
	}
	return r.BaseClient.SendRequest(method, u.String(), data, headers, body...)
}

// exchange is one send's transport: it gives the request the caller's
// context (twilio-go builds requests on context.Background) and remembers
// the answer's status and Retry-After, which twilio-go's errors leave out.
type exchange struct {
	ctx        context.Context
	next       http.RoundTripper
	status     int
	retryAfter string
}

func (x *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := x.next.RoundTrip(req.WithContext(x.ctx))
	if err == nil {
		x.status, x.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	return resp, err
}

// sendError turns what twilio-go returned into a *SendError.
func (c *Client) sendError(err error, x *exchange) error {
	wait := retryafter.Parse(x.retryAfter, c.now())
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		status := te.Status
		if status == 0 {
			status = x.status
		}
		// Only the fields we keep: Details could echo request parameters.
		return &SendError{Status: status, Code: te.Code, Message: te.Message, retryAfter: wait}
	}
	if x.status >= 400 {
		// An error answer that is not Twilio's JSON (a proxy's 502 page).
		return &SendError{Status: x.status, Message: http.StatusText(x.status), retryAfter: wait, err: err}
	}
	// The network, the deadline, or a success answer we could not read.
	return &SendError{Status: x.status, Message: "no usable answer from Twilio", err: err}
}

// SendError is Twilio's refusal of a message, or the failure to reach it.
type SendError struct {
	Op      string // what was asked: "" (sending an SMS), "buy number", ...
	Status  int    // HTTP status; 0 when Twilio did not answer
	Code    int    // Twilio error code (https://www.twilio.com/docs/api/errors), 0 if none
	Message string // Twilio's message, which names numbers but never the body

	retryAfter time.Duration
	err        error // the transport's error, when there was no answer
}

// recipientCodes are Twilio's send-time refusals of this recipient or
// route: sending the same message again cannot succeed until someone acts.
// They arrive as 400s, which are permanent anyway; naming them keeps the
// decision independent of the status.
var recipientCodes = map[int]bool{
	21211: true, // invalid To number (also To equal to From, a short code or an alphanumeric ID)
	21266: true, // To and From are the same number
	21408: true, // destination region not enabled in Messaging Geo Permissions
	21606: true, // From number cannot send SMS to this destination
	21608: true, // trial account: To number not verified
	21610: true, // recipient replied STOP; blocked until they reply START
	21612: true, // To not reachable from this From (unroutable pair)
	21614: true, // To is not a mobile number
	21635: true, // To is a landline in a country Twilio will not try
}

// laterCodes are 4xx answers that clear by themselves.
var laterCodes = map[int]bool{
	20429: true, // too many requests (comes with 429)
	21611: true, // the From number's queue is full; it drains at the sender's rate
}

// Permanent reports whether sending this message again cannot succeed: a
// recipient refusal, or any other 4xx except 429 and a full queue. 5xx,
// 429 and no answer at all are worth another try.
func (e *SendError) Permanent() bool {
	switch {
	case recipientCodes[e.Code]:
		return true
	case laterCodes[e.Code], e.Status == http.StatusTooManyRequests:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// RetryAfter is how long Twilio asked us to wait (its Retry-After header),
// or 0 when it did not say.
func (e *SendError) RetryAfter() time.Duration { return e.retryAfter }

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("twilio: " + cmp.Or(e.Op, "send sms"))
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.err != nil {
		b.WriteString(": " + e.err.Error())
	}
	return b.String()
}

// Unwrap gives the transport's error (context.DeadlineExceeded, for one).
func (e *SendError) Unwrap() error { return e.err }

// Ambiguous reports a send Twilio may have accepted (see delivery): the
// worker does not send it again.
func (e *SendError) Ambiguous() bool { return delivery.Ambiguous(e.Status, e.err) }

// ProviderCode is Twilio's error code as text ("21610"), "" if none: what
// the message records as its errorCode.
func (e *SendError) ProviderCode() string {
	if e.Code == 0 {
		return ""
	}
	return strconv.Itoa(e.Code)
}
