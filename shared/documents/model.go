// Package documents is a matter's files: uploads straight from the browser
// to S3 through presigned URLs, checked before they count (size, type,
// encryption and the file's first bytes), numbered versions, short-lived
// download links and deletion that really removes the bytes. Privileged
// content never passes through the API and never reaches a log: items,
// events and log lines carry ids only.
//
// The API types (json) and the items that store them (the *Row types, with
// their keys) are kept apart, with named converters; key attributes, S3
// object keys and S3 version ids never leave the server.
package documents

import (
	"fmt"
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Document statuses. A document is pending until its first upload is
// completed, then ready for good: later versions are uploaded beside the
// current one, which stays readable until the new one completes.
const (
	StatusPending = "pending"
	StatusReady   = "ready"
)

// MaxVersions is how many versions a document may have.
const MaxVersions = 50

// Document is a file of a matter, in the form the API shows it (json); the
// fields the API leaves out (json:"-") are the server's own: where its
// current version is stored, for the capabilities that read it (AI
// summaries). The item that stores it is documentRow. FileName,
// ContentType, Size and Version describe the current version; while the
// first upload is pending they describe that upload (Version 1,
// VersionCount 0).
type Document struct {
	ID           string `json:"id"`
	MatterID     string `json:"matterId"`
	ClientID     string `json:"clientId"`
	FileName     string `json:"fileName"`
	ContentType  string `json:"contentType"`
	Size         int64  `json:"size"`
	Status       string `json:"status"`
	Version      int    `json:"version"`      // the current version's number
	VersionCount int    `json:"versionCount"` // completed versions
	// The current version's object; empty while the first upload is pending.
	ObjectKey   string  `json:"-"`
	S3VersionID string  `json:"-"`
	Pending     *Upload `json:"pendingUpload,omitempty"` // an upload in progress
	// A signed copy stored from an e-signature request: the request, and
	// the document that was sent for signature.
	SignatureRequestID string    `json:"signatureRequestId,omitempty"`
	SignedFrom         string    `json:"signedFrom,omitempty"`
	CreatedBy          string    `json:"createdBy"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// Upload is a version being uploaded: what the uploader declared, which
// the uploaded object must match before the version counts.
type Upload struct {
	ID          string `json:"-"` // tells a replaced upload from its replacement
	Version     int    `json:"version"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	ObjectKey   string `json:"-"` // where the version goes once complete
	// StagingKey is where the upload URL puts the file (see StagingKey);
	// empty on uploads started before staging, which went to ObjectKey.
	StagingKey string    `json:"-"`
	StartedBy  string    `json:"startedBy"`
	StartedAt  time.Time `json:"startedAt"`
	ExpiresAt  time.Time `json:"expiresAt"` // when the upload URL stops working
}

// Version is one completed upload of a document. Versions are kept until
// the document is deleted, each in an object of its own (versionRow stores
// it).
type Version struct {
	DocumentID  string    `json:"documentId"`
	Version     int       `json:"version"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	ObjectKey   string    `json:"-"`
	S3VersionID string    `json:"-"`
	UploadedBy  string    `json:"uploadedBy"`
	UploadedAt  time.Time `json:"uploadedAt"`
}

// documentRow is the item of a Document: its keys and the attributes the
// API never shows.
type documentRow struct {
	store.Keys
	ID                 string     `dynamodbav:"id"`
	MatterID           string     `dynamodbav:"matterId"`
	ClientID           string     `dynamodbav:"clientId"`
	FileName           string     `dynamodbav:"fileName"`
	ContentType        string     `dynamodbav:"contentType"`
	Size               int64      `dynamodbav:"size"`
	Status             string     `dynamodbav:"status"`
	Version            int        `dynamodbav:"version"`
	VersionCount       int        `dynamodbav:"versionCount"`
	ObjectKey          string     `dynamodbav:"objectKey,omitempty"`
	S3VersionID        string     `dynamodbav:"s3VersionId,omitempty"`
	Pending            *uploadRow `dynamodbav:"pending,omitempty"`
	SignatureRequestID string     `dynamodbav:"signatureRequestId,omitempty"`
	SignedFrom         string     `dynamodbav:"signedFrom,omitempty"`
	CreatedBy          string     `dynamodbav:"createdBy"`
	CreatedAt          time.Time  `dynamodbav:"createdAt"`
	UpdatedAt          time.Time  `dynamodbav:"updatedAt"`
}

// uploadRow is an Upload as its document's item keeps it (attribute
// "pending"; pendingIs names its id).
type uploadRow struct {
	ID          string    `dynamodbav:"id"`
	Version     int       `dynamodbav:"version"`
	FileName    string    `dynamodbav:"fileName"`
	ContentType string    `dynamodbav:"contentType"`
	Size        int64     `dynamodbav:"size"`
	ObjectKey   string    `dynamodbav:"objectKey"`
	StagingKey  string    `dynamodbav:"stagingKey,omitempty"`
	StartedBy   string    `dynamodbav:"startedBy"`
	StartedAt   time.Time `dynamodbav:"startedAt"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt"`
}

// versionRow is the item of a Version.
type versionRow struct {
	store.Keys
	DocumentID  string    `dynamodbav:"documentId"`
	Version     int       `dynamodbav:"version"`
	FileName    string    `dynamodbav:"fileName"`
	ContentType string    `dynamodbav:"contentType"`
	Size        int64     `dynamodbav:"size"`
	ObjectKey   string    `dynamodbav:"objectKey"`
	S3VersionID string    `dynamodbav:"s3VersionId,omitempty"`
	UploadedBy  string    `dynamodbav:"uploadedBy"`
	UploadedAt  time.Time `dynamodbav:"uploadedAt"`
}

func toDocumentRow(orgID string, d Document) documentRow {
	r := documentRow{
		Keys: store.Keys{PK: tenant.PK(orgID), SK: docSK(d.ID), Type: "document", GSI1PK: matterDocsPK(orgID, d.MatterID), GSI1SK: d.ID},
		ID:   d.ID, MatterID: d.MatterID, ClientID: d.ClientID, FileName: d.FileName, ContentType: d.ContentType, Size: d.Size,
		Status: d.Status, Version: d.Version, VersionCount: d.VersionCount, ObjectKey: d.ObjectKey, S3VersionID: d.S3VersionID,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, SignatureRequestID: d.SignatureRequestID, SignedFrom: d.SignedFrom,
	}
	if u := d.Pending; u != nil {
		r.Pending = &uploadRow{ID: u.ID, Version: u.Version, FileName: u.FileName, ContentType: u.ContentType, Size: u.Size,
			ObjectKey: u.ObjectKey, StagingKey: u.StagingKey, StartedBy: u.StartedBy, StartedAt: u.StartedAt, ExpiresAt: u.ExpiresAt}
	}
	return r
}

func (r documentRow) toDocument() Document {
	d := Document{
		ID: r.ID, MatterID: r.MatterID, ClientID: r.ClientID, FileName: r.FileName, ContentType: r.ContentType, Size: r.Size,
		Status: r.Status, Version: r.Version, VersionCount: r.VersionCount, ObjectKey: r.ObjectKey, S3VersionID: r.S3VersionID,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, SignatureRequestID: r.SignatureRequestID, SignedFrom: r.SignedFrom,
	}
	if u := r.Pending; u != nil {
		d.Pending = &Upload{ID: u.ID, Version: u.Version, FileName: u.FileName, ContentType: u.ContentType, Size: u.Size,
			ObjectKey: u.ObjectKey, StagingKey: u.StagingKey, StartedBy: u.StartedBy, StartedAt: u.StartedAt, ExpiresAt: u.ExpiresAt}
	}
	return d
}

func toVersionRow(orgID string, v Version) versionRow {
	return versionRow{
		Keys:       store.Keys{PK: tenant.PK(orgID), SK: versionSK(v.DocumentID, v.Version), Type: "documentVersion"},
		DocumentID: v.DocumentID, Version: v.Version, FileName: v.FileName, ContentType: v.ContentType, Size: v.Size,
		ObjectKey: v.ObjectKey, S3VersionID: v.S3VersionID, UploadedBy: v.UploadedBy, UploadedAt: v.UploadedAt,
	}
}

func (r versionRow) toVersion() Version {
	return Version{
		DocumentID: r.DocumentID, Version: r.Version, FileName: r.FileName, ContentType: r.ContentType, Size: r.Size,
		ObjectKey: r.ObjectKey, S3VersionID: r.S3VersionID, UploadedBy: r.UploadedBy, UploadedAt: r.UploadedAt,
	}
}

// Key layout. A document and its versions share the org's partition: the
// document at DOC#<id>, its versions after it at DOC#<id>#V#<nnnn>, so one
// query reads the versions in order. A matter's documents are listed from
// GSI1, newest first (document ids are ULIDs). Versions have no index keys.
const docPfx = "DOC#"

func docSK(id string) string { return docPfx + id }

// SK is the sort key of a document, for capabilities that check or read one
// in their own transactions (AI summaries).
func SK(id string) string { return docSK(id) }

func versionsPrefix(docID string) string { return docPfx + docID + "#V#" }

// versionSK zero-pads the number so that sort keys sort as numbers.
func versionSK(docID string, n int) string { return fmt.Sprintf("%s%04d", versionsPrefix(docID), n) }

func matterDocsPK(orgID, matterID string) string {
	return tenant.PK(orgID) + "#MATTER#" + matterID + "#DOCS"
}

// ObjectKey is where version n of a document is stored. It is built from
// ids only: a file name is the user's content (and may be privileged), so
// it never becomes part of a key, a URL path or an access log.
func ObjectKey(orgID, matterID, docID string, n int) string {
	return fmt.Sprintf("%sv%d", objectPrefix(orgID, matterID, docID), n)
}

// StagingKey is where the upload URL of one upload (version n, upload id
// uploadID) puts the file. complete checks it there and copies it to the
// version's ObjectKey; downloads read only object keys. So a URL used again
// after complete, or after the document was deleted, only writes to staging,
// which nothing reads and the bucket's lifecycle rule empties after a day
// (the rule's prefix is exactly "staging/"). The upload id makes the key of
// a replaced upload differ from its replacement's.
func StagingKey(orgID, docID string, n int, uploadID string) string {
	return fmt.Sprintf("%s%d/%s", StagingPrefix(orgID, docID), n, uploadID)
}

// StagingPrefix holds every staged upload of one document.
func StagingPrefix(orgID, docID string) string {
	return "staging/" + orgID + "/" + docID + "/"
}

// staged is where the upload's file lands.
func (u *Upload) staged() string {
	if u.StagingKey == "" {
		return u.ObjectKey
	}
	return u.StagingKey
}

// objectPrefix holds every object of one document.
func objectPrefix(orgID, matterID, docID string) string {
	return "orgs/" + orgID + "/matters/" + matterID + "/documents/" + docID + "/"
}
