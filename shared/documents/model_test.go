package documents

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store/storetest"
)

// TestRows pins the split of the API types from their items: an item
// holds the same attributes as before the split (items already stored are
// read as they are), converting there and back loses nothing, and the JSON
// shows no key, S3 object key, S3 version id or upload id.
func TestRows(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	full := Document{ID: testDoc, MatterID: testMatter, ClientID: "01JDDDDDDDDDDDDDDDDDDDDDDD", FileName: "a.pdf", ContentType: "application/pdf",
		Size: 10, Status: StatusReady, Version: 2, VersionCount: 1, ObjectKey: "orgs/o/v1", S3VersionID: "s3v",
		Pending: &Upload{ID: "01JEEEEEEEEEEEEEEEEEEEEEEE", Version: 2, FileName: "b.pdf", ContentType: "application/pdf", Size: 11,
			ObjectKey: "orgs/o/v2", StagingKey: "staging/o/2/u", StartedBy: "u", StartedAt: at, ExpiresAt: at.Add(time.Hour)},
		CreatedBy: "u", CreatedAt: at, UpdatedAt: at}
	version := Version{DocumentID: testDoc, Version: 1, FileName: "a.pdf", ContentType: "application/pdf", Size: 10,
		ObjectKey: "orgs/o/v1", S3VersionID: "s3v", UploadedBy: "u", UploadedAt: at}
	tests := []struct {
		name      string
		row       any
		back      func(item map[string]types.AttributeValue) (any, error)
		api       any
		attrs     []string // of the item
		jsonNames []string // of the API form
	}{
		{"document", toDocumentRow(testOrg, full), storetest.Back(documentRow.toDocument), full,
			[]string{"GSI1PK", "GSI1SK", "PK", "SK", "clientId", "contentType", "createdAt", "createdBy", "fileName", "id", "matterId", "objectKey",
				"pending", "s3VersionId", "size", "status", "type", "updatedAt", "version", "versionCount"},
			[]string{"clientId", "contentType", "createdAt", "createdBy", "fileName", "id", "matterId", "pendingUpload", "size", "status", "updatedAt",
				"version", "versionCount"}},
		{"version", toVersionRow(testOrg, version), storetest.Back(versionRow.toVersion), version,
			[]string{"PK", "SK", "contentType", "documentId", "fileName", "objectKey", "s3VersionId", "size", "type", "uploadedAt", "uploadedBy", "version"},
			[]string{"contentType", "documentId", "fileName", "size", "uploadedAt", "uploadedBy", "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.CheckRow(t, tt.row, tt.back, tt.api, tt.attrs, tt.jsonNames)
		})
	}
	if pending := toDocumentRow(testOrg, full).Pending; pending == nil || pending.ID != full.Pending.ID || pending.StagingKey == "" {
		t.Errorf("stored upload = %+v, want its id and staging key", pending)
	}
}
