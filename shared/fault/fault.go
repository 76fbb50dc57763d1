// Package fault is Matterly's small error model. Domain code returns coded
// errors; the HTTP layer maps each Kind to a status and an RFC 9457 problem.
// Anything that is not a *Error is an internal failure: its detail goes to the
// log only, never to the client.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the caller.
type Kind string

// The kinds, each with one HTTP status (see httpapi).
const (
	Malformed        Kind = "malformed"          // 400: unreadable request
	Unauthorized     Kind = "unauthorized"       // 401: no valid credentials
	PaymentRequired  Kind = "payment_required"   // 402: out of AI credits
	Forbidden        Kind = "forbidden"          // 403: role does not allow it
	NotFound         Kind = "not_found"          // 404: missing, or another org's
	MethodNotAllowed Kind = "method_not_allowed" // 405
	Conflict         Kind = "conflict"           // 409: conflict or business rule
	TooLarge         Kind = "too_large"          // 413: body over the limit
	Invalid          Kind = "invalid"            // 422: failed validation
	RateLimited      Kind = "rate_limited"       // 429: with RetryAfter
	Unavailable      Kind = "unavailable"        // 503: a dependency is down, with RetryAfter
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a coded, client-safe error.
type Error struct {
	Kind       Kind
	Message    string        // safe to show to the client
	Fields     []FieldError  // for Invalid
	RetryAfter time.Duration // for RateLimited and Unavailable
	Rule       string        // the business rule a Conflict refused, e.g. "trust.no-negative-balance"
	Err        error         // cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return string(e.Kind) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds a coded error with a client-safe message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Refused builds a Conflict that names the business rule it hit, so a
// client (and an auditor reading the response) can tell refusals apart.
func Refused(rule, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// Fields builds an Invalid error listing the failed fields.
func Fields(fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Message: "The request has invalid fields.", Fields: fields}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool {
	e := As(err)
	return e != nil && e.Kind == kind
}

// Checker collects field errors while validating a request.
type Checker struct{ fields []FieldError }

// Check records message for field when ok is false.
func (c *Checker) Check(ok bool, field, message string) {
	if !ok {
		c.fields = append(c.fields, FieldError{Field: field, Message: message})
	}
}

// Add records a field error.
func (c *Checker) Add(field, message string) { c.Check(false, field, message) }

// Err returns the Invalid error, or nil when every check passed.
func (c *Checker) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return Fields(c.fields...)
}
