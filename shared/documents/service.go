package documents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/filetype"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Service implements the documents use cases.
type Service struct {
	DB      *store.DB
	Storage *Storage
	Log     *slog.Logger
	Now     func() time.Time
	NewID   func() string
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, st *Storage, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Storage: st, Log: log, Now: now, NewID: func() string { return ulid.Make().String() }}
}

// Declared is what an uploader says about a file before sending it.
type Declared struct {
	FileName    string
	ContentType string
	Size        int64
}

// check validates a declaration, returning the cleaned name and the type.
func (in Declared) check() (string, filetype.Type, error) {
	var c fault.Checker
	name, t := filetype.Check(&c, in.FileName, in.ContentType, in.Size)
	return name, t, c.Err()
}

var (
	errNotFound        = fault.E(fault.NotFound, "No such document.")
	errVersionNotFound = fault.E(fault.NotFound, "No such version of this document.")
	errEditRace        = fault.E(fault.Conflict, "This document is being changed by someone else; try again.")
)

// retryEdits is how often a write is redone when the document changed
// between its read and its write.
const retryEdits = 3

// Create starts a new document on a matter: the document item, pending
// until its first upload is completed, and a presigned PUT for that upload.
// The matter's document count goes up in the same transaction, so a matter
// with documents can never be deleted.
func (s *Service) Create(ctx context.Context, a caller.Caller, matterID string, in Declared) (Document, UploadURL, error) {
	name, t, err := in.check()
	if err != nil {
		return Document{}, UploadURL{}, err
	}
	m, err := crm.LoadMatter(ctx, s.DB, a.OrgID, matterID)
	if err != nil {
		return Document{}, UploadURL{}, err
	}
	if err := m.Writable(); err != nil {
		return Document{}, UploadURL{}, err
	}
	now := s.Now().UTC()
	d := Document{ID: s.NewID(), MatterID: m.ID, ClientID: m.ClientID, FileName: name, ContentType: t.ContentType, Size: in.Size,
		Status: StatusPending, Version: 1, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	up, err := s.startUpload(ctx, a, &d, 1, name, t, in.Size, now)
	if err != nil {
		return Document{}, UploadURL{}, err
	}
	put, err := s.DB.Put(toDocumentRow(a.OrgID, d), store.NotExists())
	if err != nil {
		return Document{}, UploadURL{}, err
	}
	count := crm.AddDocument(s.DB, a.OrgID, m.ID)
	e := activity.Entry{Action: "document.created", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID, Detail: "version 1"}
	err = crm.Commit(ctx, s.DB, a, now, access.WriteDocuments, e, put, count)
	switch {
	case store.Failed(err, 1): // deleted, or kept after an erasure, meanwhile
		return Document{}, UploadURL{}, crm.Refusal(ctx, s.DB, a.OrgID, m.ClientID, fault.E(fault.NotFound, "No such matter."))
	case err != nil:
		return Document{}, UploadURL{}, err
	}
	return d, up, nil
}

// Store saves a document Matterly made itself (an AI draft) on a matter:
// the object is written here, and the document is ready at once, in one
// transaction with its version, the matter's document count and the
// activity entry. A failed transaction leaves the object to be removed.
func (s *Service) Store(ctx context.Context, a caller.Caller, matterID, fileName, contentType string, body []byte) (Document, error) {
	m, err := crm.LoadMatter(ctx, s.DB, a.OrgID, matterID)
	if err != nil {
		return Document{}, err
	}
	if err := m.Writable(); err != nil {
		return Document{}, err
	}
	now := s.Now().UTC()
	d := Document{ID: s.NewID(), MatterID: m.ID, ClientID: m.ClientID, FileName: fileName, ContentType: contentType, Size: int64(len(body)),
		Status: StatusReady, Version: 1, VersionCount: 1, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	d.ObjectKey = ObjectKey(a.OrgID, m.ID, d.ID, 1)
	if d.S3VersionID, err = s.Storage.Put(ctx, d.ObjectKey, contentType, body); err != nil {
		return Document{}, err
	}
	v := Version{DocumentID: d.ID, Version: 1, FileName: fileName, ContentType: contentType, Size: d.Size,
		ObjectKey: d.ObjectKey, S3VersionID: d.S3VersionID, UploadedBy: a.UserID, UploadedAt: now}
	put, err := s.DB.Put(toDocumentRow(a.OrgID, d), store.NotExists())
	if err != nil {
		return Document{}, err
	}
	putVersion, err := s.DB.Put(toVersionRow(a.OrgID, v), store.NotExists())
	if err != nil {
		return Document{}, err
	}
	count := crm.AddDocument(s.DB, a.OrgID, m.ID)
	e := activity.Entry{Action: "document.created", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
		Detail: "AI draft, version 1", Event: "document.ready"}
	err = crm.Commit(ctx, s.DB, a, now, access.WriteDocuments, e, put, putVersion, count)
	if err != nil {
		if rerr := s.Storage.RemoveKey(ctx, d.ObjectKey); rerr != nil {
			s.Log.Error("orphan draft object", "documentId", d.ID, "err", rerr)
		}
		if store.Failed(err, 2) {
			return Document{}, crm.Refusal(ctx, s.DB, a.OrgID, m.ClientID, fault.E(fault.NotFound, "No such matter."))
		}
		return Document{}, err
	}
	return d, nil
}

// Signed is a signed copy of a document, made by an e-signature provider.
type Signed struct {
	ID                 string // chosen by the caller, so a retried store finds the first one
	FileName           string
	ContentType        string
	Body               []byte
	SignatureRequestID string
	SignedFrom         string // the document sent for signature
	// Items join the document's transaction (the request's link to it).
	Items []types.TransactWriteItem
}

// ErrStoredBefore is a StoreSigned whose document exists already: a
// retried or duplicated store, which changed nothing.
var ErrStoredBefore = errors.New("documents: the signed document is stored already")

// StoreSigned saves a signed copy on a matter, ready at once, like Store;
// it is a system write (no member's role is checked: the provider, not a
// person, made it), logged as done by a. The document, its version, the
// matter's count, in.Items and the entry land in one transaction; a second
// store under the same ID answers ErrStoredBefore and leaves the first
// document and its object as they were.
func (s *Service) StoreSigned(ctx context.Context, a caller.Caller, matterID string, in Signed) (Document, error) {
	m, err := crm.LoadMatter(ctx, s.DB, a.OrgID, matterID)
	if err != nil {
		return Document{}, err
	}
	now := s.Now().UTC()
	d := Document{ID: in.ID, MatterID: m.ID, ClientID: m.ClientID, FileName: in.FileName, ContentType: in.ContentType, Size: int64(len(in.Body)),
		Status: StatusReady, Version: 1, VersionCount: 1, SignatureRequestID: in.SignatureRequestID, SignedFrom: in.SignedFrom,
		CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	d.ObjectKey = ObjectKey(a.OrgID, m.ID, d.ID, 1)
	if d.S3VersionID, err = s.Storage.Put(ctx, d.ObjectKey, in.ContentType, in.Body); err != nil {
		return Document{}, err
	}
	v := Version{DocumentID: d.ID, Version: 1, FileName: in.FileName, ContentType: in.ContentType, Size: d.Size,
		ObjectKey: d.ObjectKey, S3VersionID: d.S3VersionID, UploadedBy: a.UserID, UploadedAt: now}
	put, err := s.DB.Put(toDocumentRow(a.OrgID, d), store.NotExists())
	if err != nil {
		return Document{}, err
	}
	putVersion, err := s.DB.Put(toVersionRow(a.OrgID, v), store.NotExists())
	if err != nil {
		return Document{}, err
	}
	e := activity.Entry{Action: "document.created", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
		Detail: "signed copy, version 1", Event: "document.ready"}
	rec, err := activity.Record(s.DB, a, now, e)
	if err != nil {
		return Document{}, err
	}
	items := append([]types.TransactWriteItem{put, putVersion, crm.CountDocuments(s.DB, a.OrgID, m.ID, 1)}, in.Items...)
	err = s.DB.Transact(ctx, append(items, rec)...)
	if err == nil {
		return d, nil
	}
	// Only the object version written here is removed: in a bucket without
	// versions the key is the first store's, which must stay.
	if d.S3VersionID != "" {
		if rerr := s.Storage.Remove(ctx, d.ObjectKey, d.S3VersionID); rerr != nil {
			s.Log.Error("orphan signed object", "documentId", d.ID, "err", rerr)
		}
	}
	switch {
	case store.Failed(err, 0):
		return Document{}, ErrStoredBefore
	case store.Failed(err, 2):
		return Document{}, fault.E(fault.NotFound, "No such matter.")
	}
	return Document{}, err
}

// startUpload signs the PUT of version n to a staging key of its own and
// sets it as d's pending upload.
func (s *Service) startUpload(ctx context.Context, a caller.Caller, d *Document, n int, name string, t filetype.Type, size int64, now time.Time) (UploadURL, error) {
	id := s.NewID()
	staging := StagingKey(a.OrgID, d.ID, n, id)
	up, err := s.Storage.PresignUpload(ctx, staging, t.ContentType, size)
	if err != nil {
		return UploadURL{}, err
	}
	d.Pending = &Upload{ID: id, Version: n, FileName: name, ContentType: t.ContentType, Size: size,
		ObjectKey: ObjectKey(a.OrgID, d.MatterID, d.ID, n), StagingKey: staging,
		StartedBy: a.UserID, StartedAt: now, ExpiresAt: up.ExpiresAt}
	d.UpdatedAt = now
	return up, nil
}

// Get reads one document of the org.
func (s *Service) Get(ctx context.Context, orgID, id string) (Document, error) {
	if !check.ID(id) {
		return Document{}, errNotFound
	}
	var r documentRow
	err := s.DB.Get(ctx, tenant.PK(orgID), docSK(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return Document{}, errNotFound
	}
	return r.toDocument(), err
}

// Complete checks that the pending upload landed as declared and makes it
// the document's current version. The staged object must exist, have the
// declared size and type, be encrypted with SSE-KMS, and start like a file
// of its type; an object that fails a check is deleted, so that a refused
// file is never kept. The checked object is then copied to the version's
// own key, the only one downloads read, and the staged one deleted: the
// upload URL, still valid for a while, can never replace a version.
func (s *Service) Complete(ctx context.Context, a caller.Caller, id string) (Document, error) {
	d, err := s.Get(ctx, a.OrgID, id)
	if err != nil {
		return Document{}, err
	}
	p := d.Pending
	if p == nil {
		return Document{}, fault.E(fault.Conflict, "This document has no upload in progress: its latest upload is already complete.")
	}
	staged := p.staged()
	obj, found, err := s.Storage.Head(ctx, staged)
	if err != nil {
		return Document{}, err
	}
	if !found {
		return Document{}, errNoUpload
	}
	t, _ := filetype.Lookup(p.ContentType)
	if err := s.verify(ctx, a.OrgID, d, obj, t); err != nil {
		return Document{}, err
	}
	if staged != p.ObjectKey {
		if obj.VersionID, err = s.Storage.Promote(ctx, staged, obj, p.ObjectKey, p.ContentType); err != nil {
			return Document{}, err
		}
	}

	now := s.Now().UTC()
	v := Version{DocumentID: d.ID, Version: p.Version, FileName: p.FileName, ContentType: p.ContentType, Size: p.Size,
		ObjectKey: p.ObjectKey, S3VersionID: obj.VersionID, UploadedBy: a.UserID, UploadedAt: now}
	putVersion, err := s.DB.Put(toVersionRow(a.OrgID, v), store.NotExists())
	if err != nil {
		return Document{}, err
	}
	d.Status, d.Version, d.VersionCount = StatusReady, p.Version, p.Version
	d.FileName, d.ContentType, d.Size = p.FileName, p.ContentType, p.Size
	d.ObjectKey, d.S3VersionID = p.ObjectKey, obj.VersionID
	d.Pending, d.UpdatedAt = nil, now
	// Only the upload that was checked completes: not one that replaced it
	// meanwhile, nor the same one twice.
	update, err := s.DB.Replace(toDocumentRow(a.OrgID, d), pendingIs(p.ID), "createdAt", "createdBy")
	if err != nil {
		return Document{}, err
	}
	e := activity.Entry{Action: "document.ready", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
		Detail: "version " + strconv.Itoa(v.Version), Event: "document.ready"}
	err = crm.Commit(ctx, s.DB, a, now, access.WriteDocuments, e, putVersion, update)
	if err != nil && staged != p.ObjectKey && v.S3VersionID != "" {
		// Take back exactly this copy; a version the table records is
		// another S3 version. (Without versions there is no telling them
		// apart: the key stays as the next complete or delete leaves it.)
		if rerr := s.Storage.Remove(ctx, p.ObjectKey, v.S3VersionID); rerr != nil {
			s.Log.Error("uncommitted copy not deleted", "orgId", a.OrgID, "documentId", d.ID, "version", p.Version, "err", rerr)
		}
	}
	switch {
	case store.Failed(err, 0) || store.Failed(err, 1):
		return Document{}, fault.E(fault.Conflict, "This upload was completed or replaced meanwhile; reload the document.")
	case err != nil:
		return Document{}, err
	}
	if staged != p.ObjectKey {
		// Every S3 version of it: a URL used twice leaves more than one.
		// Left behind, the lifecycle rule removes it; nothing reads it.
		if rerr := s.Storage.RemoveKey(ctx, staged); rerr != nil {
			s.Log.Error("staged upload not deleted", "orgId", a.OrgID, "documentId", d.ID, "version", p.Version, "err", rerr)
		}
	}
	return d, nil
}

var errNoUpload = fault.E(fault.Conflict, "Upload not found: PUT the file to the upload URL first.")

// verify checks the uploaded object against the pending declaration and
// deletes it when it does not match.
func (s *Service) verify(ctx context.Context, orgID string, d Document, obj Object, t filetype.Type) error {
	p := d.Pending
	var c fault.Checker
	c.Check(obj.Size == p.Size, "size", fmt.Sprintf("the uploaded file has %d bytes, but %d were declared", obj.Size, p.Size))
	got, ok := filetype.Lookup(obj.ContentType)
	c.Check(ok && got.ContentType == p.ContentType, "contentType",
		"the file was uploaded with another Content-Type than declared; send exactly the upload headers you were given")
	c.Check(obj.SSE == sseKMS, "encryption",
		"the file was not uploaded with SSE-KMS; send exactly the upload headers you were given")
	c.Check(s.Storage.KMSKeyID == "" || obj.KMSKeyID == "" || obj.KMSKeyID == s.Storage.KMSKeyID, "encryption",
		"the file was encrypted with another key than the documents key")
	err := c.Err()
	if err == nil {
		head, found, herr := s.Storage.ReadHead(ctx, p.staged(), obj.VersionID)
		switch {
		case herr != nil:
			return herr
		case !found:
			return errNoUpload
		case !filetype.Sniff(t, head):
			err = &fault.Error{Kind: fault.Invalid, Message: "The file is not a " + t.Name + ".",
				Fields: []fault.FieldError{{Field: "file", Message: "is not a " + t.Name + " (its content does not match " + t.ContentType + ")"}}}
		}
	}
	if err != nil {
		if rerr := s.Storage.Remove(ctx, p.staged(), obj.VersionID); rerr != nil {
			// The refusal stands; the object is checked again on the next
			// attempt and deleted with the document.
			s.Log.Error("refused upload not deleted", "orgId", orgID, "documentId", d.ID, "version", p.Version, "err", rerr)
		}
		s.Log.Info("upload refused", "orgId", orgID, "documentId", d.ID, "version", p.Version, "problems", fieldNames(err))
	}
	return err
}

// fieldNames lists the fields of a validation error (names only).
func fieldNames(err error) string {
	var names []string
	if fe := fault.As(err); fe != nil {
		for _, f := range fe.Fields {
			names = append(names, f.Field)
		}
	}
	return strings.Join(names, ",")
}

// pendingIs is the condition that the pending upload is still upload id.
func pendingIs(id string) *store.Cond {
	return &store.Cond{Expr: "#pend.#upid = :upid", Names: map[string]string{"#pend": "pending", "#upid": "id"},
		Values: map[string]types.AttributeValue{":upid": store.S(id)}}
}

// NewVersion starts the upload of a new version of a document. The current
// version stays readable until the new one completes. A new version started
// while another is pending replaces that upload; on a document whose first
// upload never completed, it restarts that upload with a fresh URL.
func (s *Service) NewVersion(ctx context.Context, a caller.Caller, id string, in Declared) (Document, UploadURL, error) {
	name, t, err := in.check()
	if err != nil {
		return Document{}, UploadURL{}, err
	}
	for range retryEdits {
		d, err := s.Get(ctx, a.OrgID, id)
		if err != nil {
			return Document{}, UploadURL{}, err
		}
		n := d.VersionCount + 1
		if d.Status == StatusPending {
			// The first upload never completed (its URL may have expired):
			// this starts it again, as version 1, with what is declared now.
			d.FileName, d.ContentType, d.Size = name, t.ContentType, in.Size
		}
		if n > MaxVersions {
			return Document{}, UploadURL{}, fault.E(fault.Conflict, "This document has %d versions, the most a document may have; upload the file as a new document.", MaxVersions)
		}
		before := d
		if before.Pending != nil {
			// The replaced upload's object, if its client sent one, goes.
			// (Staged, it could not be completed as this upload, whose key
			// is another; an upload from before staging used the version's
			// key, the same as this one's would be.)
			if err := s.Storage.RemoveKey(ctx, before.Pending.staged()); err != nil {
				return Document{}, UploadURL{}, err
			}
		}
		now := s.Now().UTC()
		up, err := s.startUpload(ctx, a, &d, n, name, t, in.Size, now)
		if err != nil {
			return Document{}, UploadURL{}, err
		}
		update, err := s.DB.Replace(toDocumentRow(a.OrgID, d), store.Unchanged(before.UpdatedAt), "createdAt", "createdBy")
		if err != nil {
			return Document{}, UploadURL{}, err
		}
		e := activity.Entry{Action: "document.version_started", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
			Detail: "version " + strconv.Itoa(n)}
		err = crm.Commit(ctx, s.DB, a, now, access.WriteDocuments, e, update)
		switch {
		case store.Failed(err, 0):
			continue // completed, replaced or deleted meanwhile: read again
		case err != nil:
			return Document{}, UploadURL{}, err
		}
		return d, up, nil
	}
	return Document{}, UploadURL{}, errEditRace
}

// List pages through a matter's documents, newest first, pending ones
// included.
func (s *Service) List(ctx context.Context, orgID, matterID string, limit int32, start store.StartKey) ([]Document, store.StartKey, error) {
	if _, err := crm.LoadMatter(ctx, s.DB, orgID, matterID); err != nil {
		return nil, nil, err
	}
	var rows []documentRow
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: matterDocsPK(orgID, matterID), Limit: limit, StartKey: start}, &rows)
	out := make([]Document, len(rows))
	for i, r := range rows {
		out[i] = r.toDocument()
	}
	return out, next, err
}

// Versions pages through a document's completed versions, newest first,
// in one query. Only an empty first page needs the document read, to tell
// a pending document (no versions yet) from a missing one.
func (s *Service) Versions(ctx context.Context, orgID, id string, limit int32, start store.StartKey) ([]Version, store.StartKey, error) {
	if !check.ID(id) {
		return nil, nil, errNotFound
	}
	var rows []versionRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: versionsPrefix(id), Limit: limit, StartKey: start, Consistent: true}, &rows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = r.toVersion()
	}
	if len(out) == 0 {
		if _, err := s.Get(ctx, orgID, id); err != nil {
			return nil, nil, err
		}
	}
	return out, next, nil
}

// Download is a short-lived link to one version of a document.
type Download struct {
	URL         string
	ExpiresAt   time.Time
	Version     int
	Disposition string // "attachment" or "inline"
}

// Download signs a GET of version n of document d (0: the current one),
// shown inline when asked and the type allows it, and records the download
// (or view) in the activity log first: a link is handed out only when its
// record is written.
func (s *Service) Download(ctx context.Context, a caller.Caller, d Document, n int, inline bool) (Download, error) {
	if d.Status != StatusReady {
		return Download{}, errVersionNotFound
	}
	src := Version{Version: d.Version, FileName: d.FileName, ContentType: d.ContentType, ObjectKey: d.ObjectKey, S3VersionID: d.S3VersionID}
	if n != 0 && n != d.Version {
		if n < 1 || n > d.VersionCount {
			return Download{}, errVersionNotFound
		}
		var r versionRow
		err := s.DB.Get(ctx, tenant.PK(a.OrgID), versionSK(d.ID, n), &r)
		if errors.Is(err, store.ErrNotFound) {
			return Download{}, errVersionNotFound
		}
		if err != nil {
			return Download{}, err
		}
		src = r.toVersion()
	}
	t, _ := filetype.Lookup(src.ContentType)
	want := "attachment"
	if inline {
		want = "inline"
	}
	disposition := filetype.ContentDisposition(t, want, src.FileName)
	url, expires, err := s.Storage.PresignDownload(ctx, src.ObjectKey, src.S3VersionID, src.ContentType, disposition)
	if err != nil {
		return Download{}, err
	}
	dl := Download{URL: url, ExpiresAt: expires, Version: src.Version, Disposition: "attachment"}
	action := "document.downloaded"
	if strings.HasPrefix(disposition, "inline") {
		dl.Disposition, action = "inline", "document.viewed"
	}
	e := activity.Entry{Action: action, EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
		Detail: "version " + strconv.Itoa(src.Version)}
	if err := crm.Commit(ctx, s.DB, a, s.Now(), access.ReadDocuments, e); err != nil {
		return Download{}, err
	}
	return dl, nil
}

// Delete removes a document for good: first every stored object of it
// (each version, every staged upload, and in a versioned bucket every S3
// version of them), then in one transaction the document, its versions and
// one from the matter's document count. Objects go first, so a delete that
// fails halfway leaves a document that a retried delete finishes, never a
// document-less file.
func (s *Service) Delete(ctx context.Context, a caller.Caller, id string) error {
	for range retryEdits {
		d, err := s.Get(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		var versions []versionRow
		q := store.Query{PK: tenant.PK(a.OrgID), SKPrefix: versionsPrefix(d.ID), Forward: true, Consistent: true}
		if _, err := s.DB.QueryPage(ctx, q, &versions); err != nil {
			return err
		}
		known := make([]ObjectRef, 0, len(versions)+1)
		for _, v := range versions {
			known = append(known, ObjectRef{Key: v.ObjectKey, VersionID: v.S3VersionID})
		}
		var staged []ObjectRef
		if d.Pending != nil {
			staged = append(staged, ObjectRef{Key: d.Pending.staged()})
		}
		// An upload URL used after the delete writes to staging only, which
		// nothing reads and the lifecycle rule empties.
		if err := s.Storage.RemoveAll(ctx, StagingPrefix(a.OrgID, d.ID), staged); err != nil {
			return err
		}
		if err := s.Storage.RemoveAll(ctx, objectPrefix(a.OrgID, d.MatterID, d.ID), known); err != nil {
			return err
		}
		cond := store.Unchanged(d.UpdatedAt)
		items := []types.TransactWriteItem{s.DB.Delete(tenant.PK(a.OrgID), docSK(d.ID), cond)}
		for _, v := range versions {
			items = append(items, s.DB.Delete(tenant.PK(a.OrgID), v.SK, nil))
		}
		matter := len(items)
		items = append(items, crm.CountDocuments(s.DB, a.OrgID, d.MatterID, -1))
		e := activity.Entry{Action: "document.deleted", EntityType: "document", EntityID: d.ID, ClientID: d.ClientID, MatterID: d.MatterID,
			Detail: strconv.Itoa(len(versions)) + " versions", Event: "document.deleted"}
		err = crm.Commit(ctx, s.DB, a, s.Now(), access.DeleteDocuments, e, items...)
		switch {
		case store.Failed(err, 0):
			continue // changed (a version completed, say) or deleted meanwhile: read again
		case store.Failed(err, matter):
			return fault.E(fault.Conflict, "The document's matter no longer exists.")
		case err != nil:
			return err
		}
		return nil
	}
	return errEditRace
}
