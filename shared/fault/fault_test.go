package fault_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/fault"
)

// Example shows the three ways domain code answers a caller: a field it
// cannot accept (422, every field at once), a business rule that refuses
// the request (409 naming the rule), and a plain coded error. Anything
// else is an internal failure that the HTTP layer logs and hides.
func Example() {
	var ck fault.Checker
	ck.Check(len("Jane") > 0, "name", "is required")
	ck.Check(false, "amount", "must be a whole number from 1 to 100")
	ck.Add("date", "must be a date, YYYY-MM-DD")
	err := ck.Err()
	fmt.Println(fault.Is(err, fault.Invalid), fault.As(err).Fields)

	refused := fault.Refused("trust.no-negative-balance", "Refused: the ledger holds %d, less than %d.", 5, 10)
	fmt.Println(refused.Kind, refused.Rule, refused.Message)

	wrapped := fmt.Errorf("post entry: %w", fault.E(fault.NotFound, "No such entry."))
	fmt.Println(fault.Is(wrapped, fault.NotFound), fault.As(errors.New("disk on fire")) == nil)
	// Output:
	// true [{amount must be a whole number from 1 to 100} {date must be a date, YYYY-MM-DD}]
	// conflict trust.no-negative-balance Refused: the ledger holds 5, less than 10.
	// true true
}

func TestError(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	tests := []struct {
		name    string
		err     *fault.Error
		kind    fault.Kind
		text    string
		unwraps error
	}{
		{"plain", fault.E(fault.NotFound, "No such %s.", "client"), fault.NotFound, "not_found: No such client.", nil},
		{"with a cause", &fault.Error{Kind: fault.Unavailable, Message: "Try later.", RetryAfter: time.Second, Err: cause}, fault.Unavailable, "unavailable: Try later.: unexpected EOF", cause},
		{"refusal", fault.Refused("r", "no %d", 1), fault.Conflict, "conflict: no 1", nil},
		{"fields", fault.Fields(fault.FieldError{Field: "f", Message: "m"}), fault.Invalid, "invalid: The request has invalid fields.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Kind != tt.kind || tt.err.Error() != tt.text {
				t.Fatalf("got %s %q, want %s %q", tt.err.Kind, tt.err.Error(), tt.kind, tt.text)
			}
			if !errors.Is(tt.err, cause) != (tt.unwraps == nil) {
				t.Fatalf("errors.Is(cause) = %v", errors.Is(tt.err, cause))
			}
			wrapped := fmt.Errorf("context: %w", tt.err)
			if fault.As(wrapped) != tt.err || !fault.Is(wrapped, tt.kind) || fault.Is(wrapped, fault.Malformed) {
				t.Fatal("the coded error is lost when wrapped")
			}
		})
	}
	if fault.As(nil) != nil || fault.Is(nil, fault.Invalid) || fault.Is(errors.New("x"), fault.Invalid) {
		t.Fatal("a nil or uncoded error has a kind")
	}
}

func TestCheckerAllPassed(t *testing.T) {
	var ck fault.Checker
	ck.Check(true, "a", "never")
	if err := ck.Err(); err != nil {
		t.Fatalf("got %v, want nil (a nil *Error in an error would not be nil)", err)
	}
}
