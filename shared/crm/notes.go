package crm

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// NoteInput is the body of a note.
type NoteInput struct {
	Body *string `json:"body"`
}

const maxNoteLen = 20000

func (in NoteInput) apply(n *Note) error {
	var ck fault.Checker
	if in.Body != nil {
		n.Body = strings.TrimSpace(*in.Body)
	}
	check.Text(&ck, "body", n.Body, true, maxNoteLen, true)
	return ck.Err()
}

// Parent is what a note is on: a client or a matter.
type Parent struct {
	Kind string // "client" or "matter"
	ID   string
}

// parent reads the note's parent: its client (and matter) ids, and the
// transaction item that holds while it exists.
func (s *Service) parent(ctx context.Context, orgID string, p Parent) (clientID, matterID string, exists types.TransactWriteItem, err error) {
	if p.Kind == "matter" {
		m, err := s.Matter(ctx, orgID, p.ID)
		if err != nil {
			return "", "", exists, err
		}
		if err := m.Writable(); err != nil {
			return "", "", exists, err
		}
		return m.ClientID, m.ID, s.DB.Check(tenant.PK(orgID), MatterSK(m.ID), writable()), nil
	}
	if !check.ID(p.ID) {
		return "", "", exists, notFound("client")
	}
	return p.ID, "", s.clientWritable(orgID, p.ID), nil
}

// CreateNote adds a note to a client or matter. A client note takes one
// transaction (the client's existence is one of its conditions); a matter
// note first reads the matter for its client.
func (s *Service) CreateNote(ctx context.Context, a caller.Caller, p Parent, in NoteInput) (Note, error) {
	now := s.Now().UTC()
	n := Note{ID: s.NewID(), AuthorID: a.UserID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&n); err != nil {
		return Note{}, err
	}
	var exists types.TransactWriteItem
	var err error
	if n.ClientID, n.MatterID, exists, err = s.parent(ctx, a.OrgID, p); err != nil {
		return Note{}, err
	}
	n.setKeys(a.OrgID)
	put, err := s.DB.Put(n, store.NotExists())
	if err != nil {
		return Note{}, err
	}
	e := activity.Entry{Action: "note.created", EntityType: "note", EntityID: n.ID, ClientID: n.ClientID, MatterID: n.MatterID}
	err = s.commit(ctx, a, access.WriteNotes, e, put, exists)
	if store.Failed(err, 1) {
		return Note{}, refusal(ctx, s.DB, a.OrgID, n.ClientID, notFound(p.Kind))
	}
	return n, err
}

// ListNotes pages through the notes of a client or matter, newest first.
func (s *Service) ListNotes(ctx context.Context, orgID string, p Parent, limit int32, start store.StartKey) ([]Note, store.StartKey, error) {
	var err error
	if p.Kind == "matter" {
		_, err = s.Matter(ctx, orgID, p.ID)
	} else {
		_, err = s.Client(ctx, orgID, p.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	var out []Note
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: notesPK(orgID, strings.ToUpper(p.Kind), p.ID),
		Limit: limit, StartKey: start}, &out)
	return out, next, err
}

// Note reads one note.
func (s *Service) Note(ctx context.Context, orgID, id string) (Note, error) {
	var n Note
	err := s.get(ctx, orgID, notePfx+id, id, "note", &n)
	return n, err
}

// notePerm is what it takes to change note n: one's own note needs
// WriteNotes, anyone else's ManageNotes.
func notePerm(a caller.Caller, n Note) (access.Permission, error) {
	perm := access.WriteNotes
	if n.AuthorID != a.UserID {
		perm = access.ManageNotes
	}
	if !access.Can(access.Role(a.Role), perm) {
		return "", fault.E(fault.Forbidden, "Your role (%s) may change only your own notes.", a.Role)
	}
	return perm, nil
}

// UpdateNote replaces a note's body.
func (s *Service) UpdateNote(ctx context.Context, a caller.Caller, id string, in NoteInput) (Note, error) {
	var n Note
	err := s.updateAsRead(ctx, a, func() (edit, bool, error) {
		var err error
		if n, err = s.Note(ctx, a.OrgID, id); err != nil {
			return edit{}, false, err
		}
		perm, err := notePerm(a, n)
		if err != nil {
			return edit{}, false, err
		}
		before := n
		if err := in.apply(&n); err != nil || n.Body == before.Body {
			return edit{}, false, err
		}
		n.UpdatedAt = s.Now().UTC()
		w, err := s.DB.Replace(n, store.Unchanged(before.UpdatedAt), "createdAt", "authorId")
		e := activity.Entry{Action: "note.updated", EntityType: "note", EntityID: n.ID, ClientID: n.ClientID, MatterID: n.MatterID, Fields: []string{"body"}}
		return edit{perm: perm, entry: e, items: []types.TransactWriteItem{w}}, err == nil, err
	})
	if err != nil {
		return Note{}, err
	}
	return n, nil
}

// DeleteNote removes a note.
func (s *Service) DeleteNote(ctx context.Context, a caller.Caller, id string) error {
	return s.deleteAsRead(ctx, a, notePfx+id, func() (time.Time, access.Permission, activity.Entry, error) {
		n, err := s.Note(ctx, a.OrgID, id)
		if err != nil {
			return time.Time{}, "", activity.Entry{}, err
		}
		perm, err := notePerm(a, n)
		e := activity.Entry{Action: "note.deleted", EntityType: "note", EntityID: id, ClientID: n.ClientID, MatterID: n.MatterID}
		return n.UpdatedAt, perm, e, err
	})
}
