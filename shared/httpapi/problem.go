package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/matterly/matterly/shared/fault"
)

// ProblemTypeBase prefixes every problem "type" URI.
const ProblemTypeBase = "https://matterly.dev/problems/"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string             `json:"type"`
	Title    string             `json:"title"`
	Status   int                `json:"status"`
	Detail   string             `json:"detail,omitempty"`
	Instance string             `json:"instance,omitempty"`
	Errors   []fault.FieldError `json:"errors,omitempty"`
	// Rule names the business rule a 409 refused (an RFC 9457 extension member).
	Rule string `json:"rule,omitempty"`
}

// statusOf maps an error kind to its one HTTP status.
var statusOf = map[fault.Kind]int{
	fault.Malformed:        http.StatusBadRequest,
	fault.Unauthorized:     http.StatusUnauthorized,
	fault.PaymentRequired:  http.StatusPaymentRequired,
	fault.Forbidden:        http.StatusForbidden,
	fault.NotFound:         http.StatusNotFound,
	fault.MethodNotAllowed: http.StatusMethodNotAllowed,
	fault.Conflict:         http.StatusConflict,
	fault.TooLarge:         http.StatusRequestEntityTooLarge,
	fault.Invalid:          http.StatusUnprocessableEntity,
	fault.RateLimited:      http.StatusTooManyRequests,
	fault.Unavailable:      http.StatusServiceUnavailable,
}

// ProblemFor builds the problem body and extra headers for err. Uncoded
// errors become a generic 500: their detail belongs in the log only.
func ProblemFor(err error, requestID string) (Problem, map[string]string) {
	e := fault.As(err)
	if e == nil {
		return Problem{
			Type:     ProblemTypeBase + "internal",
			Title:    "Internal Server Error",
			Status:   http.StatusInternalServerError,
			Detail:   "Something went wrong on our side. Quote request id " + requestID + " if it persists.",
			Instance: requestID,
		}, nil
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type:     ProblemTypeBase + string(e.Kind),
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   e.Message,
		Instance: requestID,
		Errors:   e.Fields,
		Rule:     e.Rule,
	}
	headers := map[string]string{}
	if e.RetryAfter > 0 && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		secs := int(e.RetryAfter.Seconds() + 0.999)
		headers["Retry-After"] = strconv.Itoa(max(secs, 1))
	}
	return p, headers
}

// problemResponse renders err as an application/problem+json response.
func problemResponse(err error, requestID string) events.APIGatewayV2HTTPResponse {
	p, extra := ProblemFor(err, requestID)
	resp := ProblemResponse(p)
	for k, v := range extra {
		resp.Headers[k] = v
	}
	return resp
}

// ProblemResponse renders p as an application/problem+json response.
func ProblemResponse(p Problem) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(p) // a Problem always marshals
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status,
		Headers: map[string]string{"Content-Type": "application/problem+json"}, Body: string(body)}
}
