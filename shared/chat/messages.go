package chat

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/filetype"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// GIFRef names a Giphy GIF by id; the server resolves it.
type GIFRef struct {
	ID string `json:"id"`
}

// SendInput is POST /v1/chat/threads/{threadId}/messages.
type SendInput struct {
	Text         *string `json:"text"`
	GIF          *GIFRef `json:"gif"`
	AttachmentID string  `json:"attachmentId"`
}

func (in SendInput) check() error {
	var ck fault.Checker
	ck.Check(in.Text != nil || in.GIF != nil || in.AttachmentID != "", "text", "a message has text, a gif or an attachmentId")
	if in.Text != nil {
		checkText(&ck, "text", *in.Text)
	}
	if in.GIF != nil {
		ck.Check(ValidGIFID(in.GIF.ID), "gif.id", "must be a Giphy GIF id (8 to 40 letters and digits)")
	}
	if in.AttachmentID != "" {
		ck.Check(check.ID(in.AttachmentID), "attachmentId", "must be an attachment id")
	}
	return ck.Err()
}

// Send posts a message: its number from the thread's counter (one atomic
// update, with the author's read position), then the message, the list's
// preview and (in a direct thread) both members' rows shown again in one
// transaction; then the frame goes to every member's connections. Its cost
// does not grow with the thread's history or its members' devices.
func (s *Service) Send(ctx context.Context, a caller.Caller, threadID string, in SendInput) (Message, error) {
	if err := in.check(); err != nil {
		return Message{}, err
	}
	p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
	if err != nil {
		return Message{}, err
	}
	m := Message{ThreadID: threadID, AuthorID: a.UserID, Reactions: []Reaction{}}
	if in.Text != nil {
		m.Text = *in.Text
	}
	if in.GIF != nil {
		g, err := s.resolveGIF(ctx, in.GIF.ID)
		if err != nil {
			return Message{}, err
		}
		m.GIF = &g
	}
	var att *attRow
	if in.AttachmentID != "" {
		if att, err = s.uploaded(ctx, a, threadID, in.AttachmentID); err != nil {
			return Message{}, err
		}
		m.Attachment = &att.Attachment
	}
	// The message's number comes from the thread's counter, one atomic
	// update that also moves the author's read position to it: concurrent
	// sends to one thread never fail each other's checks.
	t := p.thread
	now := s.Now().UTC()
	m.ID, m.CreatedAt = s.NewID(), now
	var counted threadRow
	reserve := s.DB.Update(tenant.PK(a.OrgID), threadSK(threadID), "SET #seq = #seq + :one, #readSeq.#u = #seq + :one, #reads.#u = :id", store.Exists(),
		map[string]string{"#seq": "seq", "#readSeq": "readSeq", "#reads": "reads", "#u": a.UserID},
		map[string]types.AttributeValue{":one": store.N(1), ":id": store.S(m.ID)})
	if err := s.DB.UpdateItem(ctx, reserve, &counted); errors.Is(err, store.ErrConditionFailed) {
		return Message{}, errNoThread
	} else if err != nil {
		return Message{}, err
	}
	m.Seq = counted.Seq
	put, err := s.DB.Put(msgRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: msgSK(threadID, m.ID), Type: "chatMessage"}, Message: m}, store.NotExists())
	if err != nil {
		return Message{}, err
	}
	last, err := store.Marshal(struct {
		P *Preview `dynamodbav:"p"`
	}{previewOf(m)})
	if err != nil {
		return Message{}, err
	}
	// The list's preview moves only forward: a send that commits after a
	// later-numbered one leaves that one's preview.
	preview := s.DB.Update(tenant.PK(a.OrgID), threadSK(threadID), "SET #lastSeq = :seq, #lastAt = :at, #last = :last",
		&store.Cond{Expr: "attribute_not_exists(#lastSeq) OR #lastSeq < :seq"},
		map[string]string{"#lastSeq": "lastSeq", "#lastAt": "lastAt", "#last": "last"},
		map[string]types.AttributeValue{":seq": store.N(m.Seq), ":at": store.S(now.Format(time.RFC3339Nano)), ":last": last["p"]})
	items := []types.TransactWriteItem{put, preview, s.showAgain(a.OrgID, a.UserID, threadID)}
	if t.Kind == Direct {
		for _, other := range t.Members {
			if other != a.UserID {
				items = append(items, s.showAgain(a.OrgID, other, threadID))
			}
		}
	}
	if att != nil {
		items = append(items, s.DB.Update(tenant.PK(a.OrgID), attSK(threadID, att.ID), "SET #mid = :id",
			&store.Cond{Expr: "attribute_exists(PK) AND attribute_not_exists(#mid) AND #by = :u"},
			map[string]string{"#mid": "messageId", "#by": "uploadedBy"}, map[string]types.AttributeValue{":id": store.S(m.ID), ":u": store.S(a.UserID)}))
	}
	err = s.commit(ctx, a, items...)
	if store.Failed(err, 1) {
		// A later message's preview is already there: commit without it.
		items[1] = s.DB.Check(tenant.PK(a.OrgID), threadSK(threadID), *store.Exists())
		err = s.commit(ctx, a, items...)
	}
	switch {
	case store.Failed(err, 1), store.Failed(err, 2), store.Failed(err, 3) && t.Kind == Direct:
		return Message{}, errNoThread
	case att != nil && store.Failed(err, len(items)-1):
		return Message{}, fault.Refused("chat-attachment-used", "This attachment was already sent in a message.")
	case err != nil:
		return Message{}, err
	}
	// The members as of the counter's update, not as read before the GIF
	// lookup: one removed meanwhile gets no frame (and fanout checks each
	// member's item again).
	t.Members, t.Muted = counted.Members, counted.Muted
	t.Seq, t.LastAt = m.Seq, now
	out := s.withDownloads(ctx, m.forMember())
	s.fanout(ctx, a.OrgID, t, "", frame{Type: "message", ThreadID: threadID, Message: &out})
	return out, nil
}

// showAgain is the update that shows a hidden thread to userID again (and
// holds only while they are a member).
func (s *Service) showAgain(orgID, userID, threadID string) types.TransactWriteItem {
	return s.DB.Update(tenant.PK(orgID), memberSK(userID, threadID), "SET #h = :f", store.Exists(), map[string]string{"#h": "hidden"}, map[string]types.AttributeValue{":f": store.Bool(false)})
}

// uploaded is the caller's attachment of the thread, checked in storage:
// the file is there with the declared size and type.
func (s *Service) uploaded(ctx context.Context, a caller.Caller, threadID, id string) (*attRow, error) {
	if s.Storage == nil {
		return nil, errNoStorage
	}
	var row attRow
	err := s.DB.Get(ctx, tenant.PK(a.OrgID), attSK(threadID, id), &row)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.UploadedBy != a.UserID) {
		return nil, fault.Fields(fault.FieldError{Field: "attachmentId", Message: "is not an attachment you created in this thread"})
	}
	if err != nil {
		return nil, err
	}
	if row.MessageID != "" {
		return nil, fault.Refused("chat-attachment-used", "This attachment was already sent in a message.")
	}
	obj, found, err := s.Storage.Head(ctx, row.ObjectKey)
	if err != nil {
		return nil, err
	}
	if !found || obj.Size != row.Size {
		return nil, fault.Refused("chat-attachment-not-uploaded", "The attachment's file has not been uploaded (PUT it to the upload URL first).")
	}
	row.VersionID = obj.VersionID
	return &row, nil
}

// withDownloads gives the message's attachment a short-lived download URL.
func (s *Service) withDownloads(ctx context.Context, m Message) Message {
	if m.Attachment == nil || s.Storage == nil {
		return m
	}
	att := *m.Attachment
	t, _ := filetype.Lookup(att.ContentType)
	url, _, err := s.Storage.PresignDownload(ctx, att.ObjectKey, att.VersionID, att.ContentType, filetype.ContentDisposition(t, "attachment", att.FileName))
	if err == nil {
		att.DownloadURL = url
	}
	m.Attachment = &att
	return m
}

// ListMessages is a page of a thread, newest first: one query. before
// (a message id) starts the page below it; a thread the caller hid and got
// back shows only what followed the hide.
func (s *Service) ListMessages(ctx context.Context, a caller.Caller, threadID, before string, limit int32, start store.StartKey) ([]Message, store.StartKey, error) {
	p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
	if err != nil {
		return nil, nil, err
	}
	if before != "" && !check.ID(before) {
		return nil, nil, fault.Fields(fault.FieldError{Field: "before", Message: "must be a message id"})
	}
	rows, next, err := s.messagePage(ctx, a.OrgID, threadID, p.member.Since, before, limit, start)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = s.withDownloads(ctx, r.Message.forMember())
	}
	return out, next, nil
}

func (s *Service) messagePage(ctx context.Context, orgID, threadID, since, before string, limit int32, start store.StartKey) ([]msgRow, store.StartKey, error) {
	if since != "" && before != "" && before <= since {
		// Nothing the member may see is older than since; and BETWEEN with
		// its bounds inverted is a ValidationException in DynamoDB.
		return []msgRow{}, nil, nil
	}
	q := store.Query{PK: tenant.PK(orgID), SKPrefix: msgPrefix(threadID), Limit: limit, StartKey: start, Consistent: true}
	if since != "" || before != "" {
		q.SKPrefix = ""
		q.SKFrom, q.SKTo = msgPrefix(threadID)+since, msgPrefix(threadID)+"~"
		if before != "" {
			q.SKTo = msgPrefix(threadID) + before
		}
	}
	var rows []msgRow
	next, err := s.DB.QueryPage(ctx, q, &rows)
	if err != nil {
		return nil, nil, err
	}
	rows = slices.DeleteFunc(rows, func(r msgRow) bool { return r.ID == before }) // BETWEEN includes its bound
	return rows, next, nil
}

// message reads a message of a thread the caller is in.
func (s *Service) message(ctx context.Context, a caller.Caller, threadID, messageID string) (place, msgRow, error) {
	if !check.ID(messageID) {
		return place{}, msgRow{}, errNoMessage
	}
	var m msgRow
	ko := &store.KeyOut{PK: tenant.PK(a.OrgID), SK: msgSK(threadID, messageID), Out: &m}
	p, err := s.load(ctx, a.OrgID, a.UserID, threadID, ko)
	if err != nil {
		return place{}, msgRow{}, err
	}
	if !ko.Found || (p.member.Since != "" && m.ID < p.member.Since) {
		return place{}, msgRow{}, errNoMessage
	}
	return p, m, nil
}

// EditInput is PATCH .../messages/{messageId}.
type EditInput struct {
	Text string `json:"text"`
}

// Edit changes the text of one's own message; the text it had is kept
// for compliance.
func (s *Service) Edit(ctx context.Context, a caller.Caller, threadID, messageID string, in EditInput) (Message, error) {
	var ck fault.Checker
	checkText(&ck, "text", in.Text)
	if err := ck.Err(); err != nil {
		return Message{}, err
	}
	return s.change(ctx, a, threadID, messageID, "message.updated", func(m *Message, now time.Time) error {
		if m.Deleted {
			return fault.Refused("chat-message-deleted", "A deleted message cannot be edited.")
		}
		if err := roomForVersion(m.Versions, m.Text); err != nil {
			return err
		}
		at := m.CreatedAt
		if m.EditedAt != nil {
			at = *m.EditedAt
		}
		m.Versions = append(m.Versions, Version{Text: m.Text, At: at})
		m.Text, m.EditedAt = in.Text, &now
		return nil
	})
}

// roomForVersion refuses an edit whose kept text would pass MaxVersions
// or MaxVersionBytes: the history lives in the message's item, which
// DynamoDB caps at 400 KB.
func roomForVersion(versions []Version, text string) error {
	n := len(text)
	for _, v := range versions {
		n += len(v.Text)
	}
	if len(versions) >= MaxVersions || n > MaxVersionBytes {
		return fault.Fields(fault.FieldError{Field: "text", Message: "this message was edited the most times it can be: send a new message"})
	}
	return nil
}

// Delete marks one's own message deleted: members see it as deleted with
// no content; compliance keeps everything.
func (s *Service) Delete(ctx context.Context, a caller.Caller, threadID, messageID string) error {
	_, err := s.change(ctx, a, threadID, messageID, "message.deleted", func(m *Message, now time.Time) error {
		if m.Deleted {
			return errUnchanged
		}
		m.Deleted, m.DeletedAt = true, &now
		return nil
	})
	return err
}

var errUnchanged = errors.New("unchanged")

// change is the author's read-modify-write of a message, checked on its
// revision, with the thread's preview kept in step.
func (s *Service) change(ctx context.Context, a caller.Caller, threadID, messageID, frameType string, edit func(*Message, time.Time) error) (Message, error) {
	for attempt := 0; ; attempt++ {
		p, row, err := s.message(ctx, a, threadID, messageID)
		if err != nil {
			return Message{}, err
		}
		if row.AuthorID != a.UserID {
			return Message{}, fault.E(fault.Forbidden, "Only its author changes a message.")
		}
		now := s.Now().UTC()
		if err := edit(&row.Message, now); errors.Is(err, errUnchanged) {
			return s.withDownloads(ctx, row.Message.forMember()), nil
		} else if err != nil {
			return Message{}, err
		}
		items, err := s.messageWrite(a.OrgID, p, row)
		if err != nil {
			return Message{}, err
		}
		err = s.commit(ctx, a, items...)
		if store.Failed(err, 0) {
			if err := s.retry(ctx, attempt); err != nil {
				return Message{}, err
			}
			continue
		}
		if store.Failed(err, 1) {
			return Message{}, errNoThread
		}
		if err != nil {
			return Message{}, err
		}
		out := s.withDownloads(ctx, row.Message.forMember())
		f := frame{Type: frameType, ThreadID: threadID, Message: &out}
		if frameType == "message.deleted" {
			f = frame{Type: frameType, ThreadID: threadID, MessageID: messageID}
		}
		s.fanout(ctx, a.OrgID, p.thread, "", f)
		return out, nil
	}
}

// messageWrite puts a changed message (if its revision has not moved),
// checks the caller is still in the thread and, for the thread's last
// message, updates the list's preview.
func (s *Service) messageWrite(orgID string, p place, row msgRow) ([]types.TransactWriteItem, error) {
	old := row.Rev
	row.Rev++
	put, err := s.DB.Put(row, &store.Cond{Expr: "#rev = :rev", Names: map[string]string{"#rev": "rev"}, Values: map[string]types.AttributeValue{":rev": store.N(old)}})
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{put, s.memberExists(orgID, p.member.UserID, row.ThreadID)}
	if p.thread.Last != nil && p.thread.Last.MessageID == row.ID {
		pv := previewOf(row.Message)
		if row.Deleted {
			pv.Text, pv.Kind = "", "deleted"
		}
		last, err := store.Marshal(struct {
			P *Preview `dynamodbav:"p"`
		}{pv})
		if err != nil {
			return nil, err
		}
		items = append(items, s.DB.Update(orgKey(orgID), threadSK(row.ThreadID), "SET #last = :last", nil,
			map[string]string{"#last": "last"}, map[string]types.AttributeValue{":last": last["p"]}))
	}
	return items, nil
}

func orgKey(orgID string) string { return tenant.PK(orgID) }

// ReactionInput is POST .../reactions.
type ReactionInput struct {
	Emoji string `json:"emoji"`
}

// React adds the caller's emoji to a message; the same emoji again
// changes nothing (added false).
func (s *Service) React(ctx context.Context, a caller.Caller, threadID, messageID string, in ReactionInput) (Message, bool, error) {
	if !ValidEmoji(in.Emoji) {
		return Message{}, false, fault.Fields(fault.FieldError{Field: "emoji", Message: "must be one emoji (one grapheme cluster of at most 32 bytes)"})
	}
	return s.react(ctx, a, threadID, messageID, in.Emoji, true)
}

// Unreact takes the caller's emoji off a message.
func (s *Service) Unreact(ctx context.Context, a caller.Caller, threadID, messageID, emoji string) error {
	if !ValidEmoji(emoji) {
		return fault.Fields(fault.FieldError{Field: "emoji", Message: "must be one emoji (one grapheme cluster of at most 32 bytes)"})
	}
	_, _, err := s.react(ctx, a, threadID, messageID, emoji, false)
	return err
}

func (s *Service) react(ctx context.Context, a caller.Caller, threadID, messageID, emoji string, add bool) (Message, bool, error) {
	for attempt := 0; ; attempt++ {
		p, row, err := s.message(ctx, a, threadID, messageID)
		if err != nil {
			return Message{}, false, err
		}
		if row.Deleted {
			return Message{}, false, fault.Refused("chat-message-deleted", "A deleted message takes no reactions.")
		}
		i := slices.IndexFunc(row.Reactions, func(r Reaction) bool { return r.Emoji == emoji })
		has := i >= 0 && slices.Contains(row.Reactions[i].UserIDs, a.UserID)
		if has == add {
			return s.withDownloads(ctx, row.Message.forMember()), false, nil
		}
		switch {
		case add && i < 0:
			if len(row.Reactions) >= MaxReactions {
				return Message{}, false, fault.Refused("chat-reactions-limit", "A message takes at most %d different emoji.", MaxReactions)
			}
			row.Reactions = append(row.Reactions, Reaction{Emoji: emoji, UserIDs: []string{a.UserID}})
		case add:
			row.Reactions[i].UserIDs = append(row.Reactions[i].UserIDs, a.UserID)
		default:
			row.Reactions[i].UserIDs = slices.DeleteFunc(row.Reactions[i].UserIDs, func(u string) bool { return u == a.UserID })
			if len(row.Reactions[i].UserIDs) == 0 {
				row.Reactions = slices.Delete(row.Reactions, i, i+1)
			}
		}
		items, err := s.messageWrite(a.OrgID, p, row)
		if err != nil {
			return Message{}, false, err
		}
		err = s.commit(ctx, a, items[:2]...)
		if store.Failed(err, 0) {
			if err := s.retry(ctx, attempt); err != nil {
				return Message{}, false, err
			}
			continue
		}
		if store.Failed(err, 1) {
			return Message{}, false, errNoThread
		}
		if err != nil {
			return Message{}, false, err
		}
		out := s.withDownloads(ctx, row.Message.forMember())
		s.fanout(ctx, a.OrgID, p.thread, "", frame{Type: "reaction", ThreadID: threadID, MessageID: messageID, Reactions: out.Reactions})
		return out, true, nil
	}
}

// ReadInput is POST /v1/chat/threads/{threadId}/read.
type ReadInput struct {
	MessageID string `json:"messageId"`
}

// ReadState is a member's read position.
type ReadState struct {
	ThreadID          string `json:"threadId"`
	UserID            string `json:"userId"`
	LastReadMessageID string `json:"lastReadMessageId"`
}

// Read moves the caller's read receipt up to a message; it never moves
// back (an older message leaves it where it is).
func (s *Service) Read(ctx context.Context, a caller.Caller, threadID string, in ReadInput) (ReadState, error) {
	if in.MessageID == "" {
		return ReadState{}, fault.Fields(fault.FieldError{Field: "messageId", Message: "is required"})
	}
	if !check.ID(in.MessageID) {
		return ReadState{}, fault.Fields(fault.FieldError{Field: "messageId", Message: "must be a message id"})
	}
	p, m, err := s.message(ctx, a, threadID, in.MessageID)
	if err != nil {
		return ReadState{}, err
	}
	state := ReadState{ThreadID: threadID, UserID: a.UserID, LastReadMessageID: p.thread.Reads[a.UserID]}
	if state.LastReadMessageID >= m.ID {
		return state, nil
	}
	upd := s.DB.Update(tenant.PK(a.OrgID), threadSK(threadID), "SET #r.#u = :m, #rs.#u = :s",
		&store.Cond{Expr: "attribute_not_exists(#r.#u) OR #r.#u < :m"},
		map[string]string{"#r": "reads", "#rs": "readSeq", "#u": a.UserID}, map[string]types.AttributeValue{":m": store.S(m.ID), ":s": store.N(m.Seq)})
	err = s.commit(ctx, a, upd, s.memberExists(a.OrgID, a.UserID, threadID))
	switch {
	case store.Failed(err, 0):
		return state, nil // a later receipt landed meanwhile
	case store.Failed(err, 1):
		return ReadState{}, errNoThread
	case err != nil:
		return ReadState{}, err
	}
	state.LastReadMessageID = m.ID
	s.fanout(ctx, a.OrgID, p.thread, "", frame{Type: "read", ThreadID: threadID, UserID: a.UserID, MessageID: m.ID})
	return state, nil
}
