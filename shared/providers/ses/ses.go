// Package ses sends the messaging capability's email through Amazon SES
// (API v2, SendEmail with simple content): plain UTF-8 text, the org's name
// as the sender, and RFC 8058 one-click unsubscribe headers.
package ses

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/providers/delivery"
	"github.com/matterly/matterly/shared/providers/retryafter"
)

// callTimeout bounds one send, like the SMS provider's: a hung SES costs
// one attempt, not the worker's batch.
const callTimeout = 10 * time.Second

// Client sends email from the org's verified address. It is safe for
// concurrent use; build it once per process.
type Client struct {
	api              *sesv2.Client
	configurationSet string
}

var _ messaging.EmailSender = (*Client)(nil)

// New returns a client sending through api. configurationSet, when set,
// names the SES configuration set every message goes out with (its event
// destination reports bounces and complaints).
func New(api *sesv2.Client, configurationSet string) *Client {
	return &Client{api: api, configurationSet: configurationSet}
}

// NewFromConfig builds the SES client from cfg: endpoint, when set,
// replaces SES's (a local stand-in or a test server), and the client makes
// a single attempt per send. SendEmail has no idempotency token, so an SDK
// retry after a timeout could deliver the email twice; the SQS worker
// decides whether and when to try again.
func NewFromConfig(cfg aws.Config, endpoint, configurationSet string) *Client {
	api := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = aws.NopRetryer{}
	})
	return New(api, configurationSet)
}

// SendEmail sends one plain-text email and returns SES's message id.
// Errors from SES are *SendError: Permanent for a refusal of this message
// or sender (MessageRejected, an unverified MAIL FROM domain, a suspended
// or paused account, any other 4xx but throttling), otherwise retryable.
// The subject and body never appear in an error.
func (c *Client) SendEmail(ctx context.Context, m messaging.OutboundEmail) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()

	msg := &types.Message{
		// SES takes a 7-bit subject, with anything else as RFC 2047
		// encoded words (API reference, Message.Subject). An ASCII subject
		// is left as it is; with no charset SES has nothing to re-encode.
		Subject: &types.Content{Data: aws.String(mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))},
		Body:    &types.Body{Text: &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")}},
	}
	if m.UnsubscribeURL != "" {
		// RFC 8058: the URL in angle brackets, and the Post header that
		// tells mailbox providers a one-click POST unsubscribes.
		msg.Headers = []types.MessageHeader{
			{Name: aws.String("List-Unsubscribe"), Value: aws.String("<" + m.UnsubscribeURL + ">")},
			{Name: aws.String("List-Unsubscribe-Post"), Value: aws.String("List-Unsubscribe=One-Click")},
		}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(FromHeader(m.FromName, m.FromAddress)),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content:          &types.EmailContent{Simple: msg},
	}
	if m.ReplyTo != "" {
		in.ReplyToAddresses = []string{m.ReplyTo}
	}
	if c.configurationSet != "" {
		in.ConfigurationSetName = aws.String(c.configurationSet)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(k), Value: aws.String(m.Tags[k])})
	}
	out, err := c.api.SendEmail(ctx, in)
	if err != nil {
		return "", sendError(err)
	}
	if out.MessageId == nil || *out.MessageId == "" {
		// Accepted, but we cannot tell which message it became.
		return "", &SendError{Status: 200, Message: "answer without a message id"}
	}
	return *out.MessageId, nil
}

// FromHeader is the From address with name as its display name, quoted,
// or as an RFC 2047 encoded word when it is not printable ASCII (what SES
// requires of a non-ASCII sender name): `"Smith, Jones & Co" <a@b.c>`.
// Line breaks and other control characters in name become spaces, so a
// name can never add a header.
func FromHeader(name, address string) string {
	name = strings.TrimSpace(oneLine(name))
	if name == "" {
		return address
	}
	return (&mail.Address{Name: name, Address: address}).String()
}

// oneLine replaces control characters (CR and LF among them) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// sendError turns what the SDK returned into a *SendError.
func sendError(err error) error {
	se := &SendError{}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		se.Status, se.RequestID = re.HTTPStatusCode(), re.ServiceRequestID()
		if re.Response != nil {
			se.retryAfter = retryafter.Parse(re.Response.Header.Get("Retry-After"), time.Now())
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		se.Code, se.Message = ae.ErrorCode(), ae.ErrorMessage()
		return se
	}
	// No answer (the network, the deadline) or one the SDK could not read.
	se.err = err
	return se
}

// SendError is SES's refusal of an email, or the failure to reach it.
type SendError struct {
	Op        string // what was asked: "" (sending an email), "get identity", ...
	Status    int    // HTTP status; 0 when SES did not answer
	Code      string // SES error code ("MessageRejected"), "" if none
	Message   string // SES's message, which names addresses but never the content
	RequestID string // SES's request id, for AWS support

	retryAfter time.Duration
	err        error // the SDK's error, when there was no usable answer
}

// refusals are SendEmail's documented errors that sending the same email
// again cannot cure without someone acting: the content or a recipient
// refused, the sender not verified, the account suspended or its sending
// paused (by SES or by us), a missing configuration set, a bad request.
var refusals = map[string]bool{
	"MessageRejected":                    true,
	"MailFromDomainNotVerifiedException": true,
	"AccountSuspendedException":          true,
	"SendingPausedException":             true,
	"NotFoundException":                  true,
	"BadRequestException":                true,
}

// Permanent reports whether sending this email again cannot succeed: one of
// SES's refusals, or any other 4xx that the SDK does not itself treat as
// throttling or a timeout (TooManyRequestsException, LimitExceededException,
// RequestTimeout and the like). 5xx and no answer are worth another try.
func (e *SendError) Permanent() bool {
	if refusals[e.Code] {
		return true
	}
	if _, ok := retry.DefaultThrottleErrorCodes[e.Code]; ok {
		return false
	}
	if _, ok := retry.DefaultRetryableErrorCodes[e.Code]; ok {
		return false
	}
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// RetryAfter is how long SES asked us to wait (a Retry-After header), or 0
// when it did not say, which is usual.
func (e *SendError) RetryAfter() time.Duration { return e.retryAfter }

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("ses: " + cmp.Or(e.Op, "send email"))
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(", " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	if e.err != nil {
		b.WriteString(": " + e.err.Error())
	}
	return b.String()
}

// Unwrap gives the SDK's error when SES did not answer
// (context.DeadlineExceeded, for one).
func (e *SendError) Unwrap() error { return e.err }

// Ambiguous reports a send SES may have accepted (see delivery): the
// worker does not send it again.
func (e *SendError) Ambiguous() bool { return delivery.Ambiguous(e.Status, e.err) }

// ProviderCode is SES's error code ("MessageRejected"), "" if none.
func (e *SendError) ProviderCode() string { return e.Code }
