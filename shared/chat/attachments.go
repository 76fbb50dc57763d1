package chat

import (
	"context"
	"time"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

var errNoStorage = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "Attachments are not configured: the documents bucket is not set."}

// AttachmentInput is POST /v1/chat/threads/{threadId}/attachments.
type AttachmentInput struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// NewAttachment is the created attachment and where to upload its file.
type NewAttachment struct {
	Attachment Attachment          `json:"attachment"`
	Upload     documents.UploadURL `json:"upload"`
}

// ObjectPrefix holds every chat attachment of an org. Keys are built from
// ids only: a file name is the user's content.
func ObjectPrefix(orgID string) string { return "chat/" + orgID + "/" }

// CreateAttachment records an attachment of the thread and presigns its
// upload (SSE-KMS, the documents' file types and size limit); a message
// then names it. Only the thread's members and compliance readers can
// download it.
func (s *Service) CreateAttachment(ctx context.Context, a caller.Caller, threadID string, in AttachmentInput) (NewAttachment, error) {
	var ck fault.Checker
	name, t := checkAttachmentFile(&ck, in.FileName, in.ContentType, in.Size)
	if err := ck.Err(); err != nil {
		return NewAttachment{}, err
	}
	if s.Storage == nil {
		return NewAttachment{}, errNoStorage
	}
	if _, err := s.load(ctx, a.OrgID, a.UserID, threadID); err != nil {
		return NewAttachment{}, err
	}
	id := s.NewID()
	att := Attachment{ID: id, ThreadID: threadID, FileName: name, ContentType: t.ContentType, Size: in.Size, UploadedBy: a.UserID,
		CreatedAt: s.Now().UTC(), ObjectKey: ObjectPrefix(a.OrgID) + threadID + "/" + id}
	put, err := s.DB.Put(attRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: attSK(threadID, id), Type: "chatAttachment"}, Attachment: att}, store.NotExists())
	if err != nil {
		return NewAttachment{}, err
	}
	if err := s.commit(ctx, a, s.memberExists(a.OrgID, a.UserID, threadID), put); err != nil {
		if store.Failed(err, 0) {
			return NewAttachment{}, errNoThread
		}
		return NewAttachment{}, err
	}
	up, err := s.Storage.PresignUpload(ctx, att.ObjectKey, att.ContentType, att.Size)
	if err != nil {
		return NewAttachment{}, err
	}
	return NewAttachment{Attachment: att, Upload: up}, nil
}
