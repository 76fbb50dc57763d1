// Package documents is a matter's files: uploads straight from the browser
// to S3 through presigned URLs, checked before they count (size, type,
// encryption and the file's first bytes), numbered versions, short-lived
// download links and deletion that really removes the bytes. Privileged
// content never passes through the API and never reaches a log: items,
// events and log lines carry ids only.
//
// Each type is both the DynamoDB item (dynamodbav) and its API form (json);
// key attributes, S3 object keys and S3 version ids never leave the server.
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

// Document is a file of a matter. FileName, ContentType, Size and Version
// describe the current version; while the first upload is pending they
// describe that upload (Version 1, VersionCount 0).
type Document struct {
	store.Keys
	ID           string `dynamodbav:"id" json:"id"`
	MatterID     string `dynamodbav:"matterId" json:"matterId"`
	ClientID     string `dynamodbav:"clientId" json:"clientId"`
	FileName     string `dynamodbav:"fileName" json:"fileName"`
	ContentType  string `dynamodbav:"contentType" json:"contentType"`
	Size         int64  `dynamodbav:"size" json:"size"`
	Status       string `dynamodbav:"status" json:"status"`
	Version      int    `dynamodbav:"version" json:"version"`           // the current version's number
	VersionCount int    `dynamodbav:"versionCount" json:"versionCount"` // completed versions
	// The current version's object; empty while the first upload is pending.
	ObjectKey   string    `dynamodbav:"objectKey,omitempty" json:"-"`
	S3VersionID string    `dynamodbav:"s3VersionId,omitempty" json:"-"`
	Pending     *Upload   `dynamodbav:"pending,omitempty" json:"pendingUpload,omitempty"` // an upload in progress
	CreatedBy   string    `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt   time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Upload is a version being uploaded: what the uploader declared, which
// the uploaded object must match before the version counts.
type Upload struct {
	ID          string `dynamodbav:"id" json:"-"` // tells a replaced upload from its replacement
	Version     int    `dynamodbav:"version" json:"version"`
	FileName    string `dynamodbav:"fileName" json:"fileName"`
	ContentType string `dynamodbav:"contentType" json:"contentType"`
	Size        int64  `dynamodbav:"size" json:"size"`
	ObjectKey   string `dynamodbav:"objectKey" json:"-"` // where the version goes once complete
	// StagingKey is where the upload URL puts the file (see StagingKey);
	// empty on uploads started before staging, which went to ObjectKey.
	StagingKey string    `dynamodbav:"stagingKey,omitempty" json:"-"`
	StartedBy  string    `dynamodbav:"startedBy" json:"startedBy"`
	StartedAt  time.Time `dynamodbav:"startedAt" json:"startedAt"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt" json:"expiresAt"` // when the upload URL stops working
}

// Version is one completed upload of a document. Versions are kept until
// the document is deleted, each in an object of its own.
type Version struct {
	store.Keys
	DocumentID  string    `dynamodbav:"documentId" json:"documentId"`
	Version     int       `dynamodbav:"version" json:"version"`
	FileName    string    `dynamodbav:"fileName" json:"fileName"`
	ContentType string    `dynamodbav:"contentType" json:"contentType"`
	Size        int64     `dynamodbav:"size" json:"size"`
	ObjectKey   string    `dynamodbav:"objectKey" json:"-"`
	S3VersionID string    `dynamodbav:"s3VersionId,omitempty" json:"-"`
	UploadedBy  string    `dynamodbav:"uploadedBy" json:"uploadedBy"`
	UploadedAt  time.Time `dynamodbav:"uploadedAt" json:"uploadedAt"`
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

func (d *Document) setKeys(orgID string) {
	d.Keys = store.Keys{PK: tenant.PK(orgID), SK: docSK(d.ID), Type: "document",
		GSI1PK: matterDocsPK(orgID, d.MatterID), GSI1SK: d.ID}
}

func (v *Version) setKeys(orgID string) {
	v.Keys = store.Keys{PK: tenant.PK(orgID), SK: versionSK(v.DocumentID, v.Version), Type: "documentVersion"}
}
