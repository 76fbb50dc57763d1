package esign

import (
	"context"
	"errors"
	"fmt"
)

// Provider is the e-signature service (Dropbox Sign in
// shared/providers/dropboxsign; an httptest stand-in in the tests). It is
// owned here so the domain says what it needs and nothing more.
type Provider interface {
	// Send creates a signature request for one file and emails the signers.
	Send(ctx context.Context, req SendRequest) (Sent, error)
	// Cancel cancels an incomplete request.
	Cancel(ctx context.Context, requestID string) error
	// Remind emails a signer who has not signed yet.
	Remind(ctx context.Context, requestID, email string) error
	// SignedPDF downloads the signed file; ErrNotReady (with a 409 from
	// Dropbox Sign) while it is still being prepared.
	SignedPDF(ctx context.Context, requestID string) ([]byte, error)
}

// SendRequest is one file sent for signature.
type SendRequest struct {
	FileName    string
	ContentType string
	File        []byte
	Title       string
	Subject     string
	Message     string
	Signers     []SendSigner
	Ordered     bool              // signers sign in their order
	Metadata    map[string]string // matterlyRequestId, orgId
}

// Sent is what the provider answered a send with.
type Sent struct {
	RequestID string       // Dropbox Sign's signature_request_id
	Signers   []SentSigner // in the order sent
}

// SentSigner is one signer of a sent request.
type SentSigner struct {
	SignatureID string
	Email       string
	Status      string // Dropbox Sign's status_code, e.g. awaiting_signature
}

// ErrNotReady is the provider's answer while a signed file is still being
// prepared: the worker retries it through the queue.
var ErrNotReady = errors.New("esign: the signed file is not ready yet")

// ProviderError is a refusal or failure of the provider. Retryable is true
// for 429 and 5xx answers and transport failures; the provider's message
// (never document text) is kept for the log.
type ProviderError struct {
	Op        string
	Status    int // 0: no answer
	Retryable bool
	Message   string
	Err       error
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("dropbox sign %s: status %d: %s", e.Op, e.Status, e.Message)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// SignerInput is one signer asked for: name, email and, for an ordered
// request, the position (0 first).
type SignerInput struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Order *int   `json:"order,omitempty"`
}

// SendSigner is a signer as sent: Order counts only for ordered requests.
type SendSigner struct {
	Name  string
	Email string
	Order int
}
