// Package esign is electronic signature through Dropbox Sign: a ready PDF
// or DOCX of a matter is sent to signers, tracked through Dropbox Sign's
// verified callbacks, and the signed PDF, once Dropbox Sign has it ready,
// is stored as a new document of the matter. Document bytes go to the
// provider and to S3 only, never to a log or an item.
package esign

import (
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Request statuses. A request only moves forward: from awaiting_signature
// to one of the others, which are final.
const (
	StatusAwaiting = "awaiting_signature"
	StatusSigned   = "signed"
	StatusDeclined = "declined"
	StatusCanceled = "canceled"
	StatusError    = "error"
)

// Signer statuses beyond the request's: a signer is awaiting_signature,
// viewed, then signed or declined; email_bounced when Dropbox Sign could
// not deliver the request to them.
const (
	SignerViewed  = "viewed"
	SignerBounced = "email_bounced"
)

// rank orders statuses so an older event never moves anything back: an
// event may only raise a rank. Final statuses share the top rank, so the
// first one to arrive stays.
func rank(status string) int {
	switch status {
	case StatusAwaiting:
		return 0
	case SignerBounced:
		return 1
	case SignerViewed:
		return 2
	default: // signed, declined, canceled, error
		return 3
	}
}

// Request is a signature request as the API shows it.
type Request struct {
	ID               string    `json:"id"`
	DocumentID       string    `json:"documentId"`
	MatterID         string    `json:"matterId"`
	Status           string    `json:"status"`
	Signers          []Signer  `json:"signers"`
	SignedDocumentID string    `json:"signedDocumentId,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Signer is one signer of a request.
type Signer struct {
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Status        string     `json:"status"`
	SignedAt      *time.Time `json:"signedAt,omitempty"`
	DeclineReason string     `json:"declineReason,omitempty"`
}

// requestRow is the item of a Request, with what the API never shows:
// Dropbox Sign's ids and the id reserved for the signed copy.
type requestRow struct {
	store.Keys
	ID          string      `dynamodbav:"id"`
	DocumentID  string      `dynamodbav:"documentId"`
	MatterID    string      `dynamodbav:"matterId"`
	ClientID    string      `dynamodbav:"clientId"`
	FileName    string      `dynamodbav:"fileName"`
	Status      string      `dynamodbav:"status"`
	Signers     []signerRow `dynamodbav:"signers"`
	ProviderID  string      `dynamodbav:"providerId,omitempty"` // signature_request_id
	SignedDocID string      `dynamodbav:"signedDocId"`          // reserved at send
	// SignedDocumentID is set once the signed copy is stored.
	SignedDocumentID string    `dynamodbav:"signedDocumentId,omitempty"`
	CreatedBy        string    `dynamodbav:"createdBy"`
	CreatedAt        time.Time `dynamodbav:"createdAt"`
	UpdatedAt        time.Time `dynamodbav:"updatedAt"`
}

type signerRow struct {
	Name          string     `dynamodbav:"name"`
	Email         string     `dynamodbav:"email"`
	Order         int        `dynamodbav:"order"`
	SignatureID   string     `dynamodbav:"signatureId,omitempty"`
	Status        string     `dynamodbav:"status"`
	SignedAt      *time.Time `dynamodbav:"signedAt,omitempty"`
	DeclineReason string     `dynamodbav:"declineReason,omitempty"`
}

func (r requestRow) toRequest() Request {
	out := Request{ID: r.ID, DocumentID: r.DocumentID, MatterID: r.MatterID, Status: r.Status, SignedDocumentID: r.SignedDocumentID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Signers: make([]Signer, len(r.Signers))}
	for i, s := range r.Signers {
		out.Signers[i] = Signer{Name: s.Name, Email: s.Email, Status: s.Status, SignedAt: s.SignedAt, DeclineReason: s.DeclineReason}
	}
	return out
}

// Keys. A request lives in its org's partition at ESIGN#<id> and is listed
// per matter from GSI1. The provider map is the one item outside any
// org's partition: a callback names only Dropbox Sign's request id, and
// the map finds the org and request from it (never from the callback's
// metadata, which the sender of a request controls).
const (
	requestPf = "ESIGN#"
	eventPf   = "ESIGNEVT#"
	mapSK     = "DBXSIGN"
)

func requestSK(id string) string { return requestPf + id }

func matterRequestsPK(orgID, matterID string) string {
	return tenant.PK(orgID) + "#MATTER#" + matterID + "#ESIGN"
}

func mapPK(providerID string) string { return "DBXSIGN#" + providerID }

func toRow(orgID string, r requestRow) requestRow {
	r.Keys = store.Keys{PK: tenant.PK(orgID), SK: requestSK(r.ID), Type: "signatureRequest",
		GSI1PK: matterRequestsPK(orgID, r.MatterID), GSI1SK: r.ID}
	return r
}

// providerMap is the map item of a sent request.
type providerMap struct {
	store.Keys
	OrgID     string `dynamodbav:"orgId"`
	RequestID string `dynamodbav:"requestId"`
}
