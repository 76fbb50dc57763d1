// Package chat is team chat between an org's members: direct and group
// threads, messages with GIFs and attachments, reactions, read receipts,
// typing, mute and leave, real-time delivery over a WebSocket API, and the
// compliance reads of owners and admins.
//
// Every item lives under the org's partition (ORG#<orgId>):
//
//	CHAT#T#<threadId>                 the thread: members, reads, muted, message count
//	CHAT#M#<userId>#<threadId>        a member's place in a thread (the caller's list is one query)
//	CHAT#PAIR#<userA>#<userB>         the one direct thread of a pair
//	CHAT#MSG#<threadId>#<messageId>   a message with its edit history (a page is one query)
//	CHAT#ATT#<threadId>#<attachId>    an attachment
//	CHAT#CONN#<userId>                a member's open WebSocket connections (one BatchGet per thread)
//	CHAT#TICKET#<sha256>              a WebSocket ticket (single use, 60 s)
//
// and, because API Gateway names a connection by its id alone,
// CHATCONN#<connectionId> holds which org and member a connection is.
package chat

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"strings"
	"time"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/filetype"
	"github.com/matterly/matterly/shared/store"
)

// Thread kinds.
const (
	Direct = "direct"
	Group  = "group"
)

// Limits.
const (
	MaxText       = 4000
	MaxGroupName  = 100
	MaxMembers    = 100
	MaxEmojiBytes = 32
	MaxReactions  = 50 // distinct emoji on one message
	// An edited message keeps at most MaxVersions earlier texts of at most
	// MaxVersionBytes together, so its item stays under DynamoDB's 400 KB.
	MaxVersions     = 20
	MaxVersionBytes = 200 << 10
	TicketTTL       = 60 * time.Second
	ConnectionTTL   = 2*time.Hour + 10*time.Minute // API Gateway closes a WebSocket after 2 h
	DownloadURLTTL  = 5 * time.Minute
	TypingInterval  = 2 * time.Second // a connection's typing frames pass at most once per interval (clients are told to send one every 3 s at most)
)

func threadSK(id string) string               { return "CHAT#T#" + id }
func memberSK(userID, threadID string) string { return "CHAT#M#" + userID + "#" + threadID }
func msgPrefix(threadID string) string        { return "CHAT#MSG#" + threadID + "#" }
func msgSK(threadID, id string) string        { return msgPrefix(threadID) + id }
func attSK(threadID, id string) string        { return "CHAT#ATT#" + threadID + "#" + id }
func connsSK(userID string) string            { return "CHAT#CONN#" + userID }
func ticketSK(hash string) string             { return "CHAT#TICKET#" + hash }
func connPK(connID string) string             { return "CHATCONN#" + connID }

const connSK = "CONN"

func pairSK(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "CHAT#PAIR#" + a + "#" + b
}

// threadRow is the thread item. Reads, read positions and mutes are maps
// keyed by user id so one member's change is one attribute's update.
type threadRow struct {
	store.Keys
	ID        string            `dynamodbav:"id"`
	Kind      string            `dynamodbav:"kind"`
	Name      string            `dynamodbav:"name,omitempty"`
	CreatedBy string            `dynamodbav:"createdBy"`
	CreatedAt time.Time         `dynamodbav:"createdAt"`
	Members   []string          `dynamodbav:"members"`
	Reads     map[string]string `dynamodbav:"reads"`   // userId → last read message id
	ReadSeq   map[string]int64  `dynamodbav:"readSeq"` // userId → that message's seq
	Muted     map[string]bool   `dynamodbav:"muted"`
	Seq       int64             `dynamodbav:"seq"`               // messages sent so far
	MVer      int64             `dynamodbav:"mver"`              // version of Members
	LastSeq   int64             `dynamodbav:"lastSeq,omitempty"` // the preview's message number
	LastAt    time.Time         `dynamodbav:"lastAt"`
	Last      *Preview          `dynamodbav:"last,omitempty"`
}

func (t threadRow) has(userID string) bool {
	for _, m := range t.Members {
		if m == userID {
			return true
		}
	}
	return false
}

// memberRow is one member's place in a thread.
type memberRow struct {
	store.Keys
	ThreadID string    `dynamodbav:"threadId"`
	UserID   string    `dynamodbav:"userId"`
	JoinedAt time.Time `dynamodbav:"joinedAt"`
	Hidden   bool      `dynamodbav:"hidden,omitempty"`
	// Since hides the messages before it (a ULID): a direct thread hidden
	// and brought back shows only what came after the hide.
	Since string `dynamodbav:"since,omitempty"`
}

type pairRow struct {
	store.Keys
	ThreadID string `dynamodbav:"threadId"`
}

// Version is one earlier text of an edited message (compliance keeps them all).
type Version struct {
	Text string    `dynamodbav:"text" json:"text"`
	At   time.Time `dynamodbav:"at" json:"at"`
}

// GIF is a Giphy GIF as Giphy described it.
type GIF struct {
	ID         string `dynamodbav:"id" json:"id"`
	Title      string `dynamodbav:"title" json:"title"`
	URL        string `dynamodbav:"url" json:"url"`
	Width      int    `dynamodbav:"width" json:"width"`
	Height     int    `dynamodbav:"height" json:"height"`
	PreviewURL string `dynamodbav:"previewUrl" json:"previewUrl"`
	// Rating is Giphy's content rating (g, pg, pg-13, r), checked when a
	// message names the GIF; neither stored nor shown.
	Rating string `dynamodbav:"-" json:"-"`
}

// Reaction is one emoji's reactions on a message.
type Reaction struct {
	Emoji   string   `dynamodbav:"emoji" json:"emoji"`
	Count   int      `dynamodbav:"-" json:"count"`
	UserIDs []string `dynamodbav:"userIds" json:"userIds"`
}

// Attachment is a file sent in a thread.
type Attachment struct {
	ID          string    `dynamodbav:"id" json:"id"`
	ThreadID    string    `dynamodbav:"threadId" json:"threadId"`
	FileName    string    `dynamodbav:"fileName" json:"fileName"`
	ContentType string    `dynamodbav:"contentType" json:"contentType"`
	Size        int64     `dynamodbav:"size" json:"size"`
	UploadedBy  string    `dynamodbav:"uploadedBy" json:"uploadedBy"`
	CreatedAt   time.Time `dynamodbav:"createdAt" json:"createdAt"`
	DownloadURL string    `dynamodbav:"-" json:"downloadUrl,omitempty"`
	ObjectKey   string    `dynamodbav:"objectKey" json:"-"`
	VersionID   string    `dynamodbav:"versionId,omitempty" json:"-"`
	MessageID   string    `dynamodbav:"messageId,omitempty" json:"-"`
}

type attRow struct {
	store.Keys
	Attachment
}

// Message is a chat message as members see it. Compliance readers also get
// Versions and the text of deleted messages.
type Message struct {
	ID         string      `dynamodbav:"id" json:"id"`
	ThreadID   string      `dynamodbav:"threadId" json:"threadId"`
	AuthorID   string      `dynamodbav:"authorId" json:"authorId"`
	Seq        int64       `dynamodbav:"seq" json:"-"`
	Text       string      `dynamodbav:"text,omitempty" json:"text,omitempty"`
	GIF        *GIF        `dynamodbav:"gif,omitempty" json:"gif,omitempty"`
	Attachment *Attachment `dynamodbav:"attachment,omitempty" json:"attachment,omitempty"`
	Reactions  []Reaction  `dynamodbav:"reactions" json:"reactions"`
	CreatedAt  time.Time   `dynamodbav:"createdAt" json:"createdAt"`
	EditedAt   *time.Time  `dynamodbav:"editedAt,omitempty" json:"editedAt,omitempty"`
	Deleted    bool        `dynamodbav:"deleted,omitempty" json:"deleted,omitempty"`
	DeletedAt  *time.Time  `dynamodbav:"deletedAt,omitempty" json:"deletedAt,omitempty"`
	Versions   []Version   `dynamodbav:"versions,omitempty" json:"versions,omitempty"`
	Rev        int64       `dynamodbav:"rev" json:"-"` // optimistic lock of edits and reactions
}

type msgRow struct {
	store.Keys
	Message
}

// forMember is the message as a thread member sees it: a deleted message
// has no text, GIF or attachment, and the edit history stays with
// compliance.
func (m Message) forMember() Message {
	m.Versions = nil
	if m.Deleted {
		m.Text, m.GIF, m.Attachment = "", nil, nil
		m.Reactions = nil
	}
	return m.counted()
}

func (m Message) counted() Message {
	rs := make([]Reaction, 0, len(m.Reactions))
	for _, r := range m.Reactions {
		if len(r.UserIDs) > 0 {
			r.Count = len(r.UserIDs)
			rs = append(rs, r)
		}
	}
	m.Reactions = rs
	return m
}

// Preview is a thread's last message in the list.
type Preview struct {
	MessageID string    `dynamodbav:"messageId" json:"messageId"`
	AuthorID  string    `dynamodbav:"authorId" json:"authorId"`
	Text      string    `dynamodbav:"text,omitempty" json:"text,omitempty"`
	Kind      string    `dynamodbav:"kind" json:"kind"` // text, gif, attachment
	At        time.Time `dynamodbav:"at" json:"at"`
}

const previewRunes = 140

func previewOf(m Message) *Preview {
	p := &Preview{MessageID: m.ID, AuthorID: m.AuthorID, At: m.CreatedAt, Kind: "text"}
	switch {
	case m.Text != "":
		p.Text = m.Text
		if utf8.RuneCountInString(p.Text) > previewRunes {
			p.Text = string([]rune(p.Text)[:previewRunes]) + "…"
		}
	case m.GIF != nil:
		p.Kind = "gif"
	case m.Attachment != nil:
		p.Kind = "attachment"
	}
	return p
}

// Member is one member of a thread as its members see it.
type Member struct {
	UserID            string `json:"userId"`
	LastReadMessageID string `json:"lastReadMessageId,omitempty"`
}

// Thread is a thread as one of its members sees it.
type Thread struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name,omitempty"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	Members     []Member  `json:"members"`
	LastMessage *Preview  `json:"lastMessage,omitempty"`
	LastAt      time.Time `json:"lastActivityAt"`
	UnreadCount int64     `json:"unreadCount"`
	Muted       bool      `json:"muted"`
}

func (t threadRow) view(userID string) Thread {
	out := Thread{ID: t.ID, Kind: t.Kind, Name: t.Name, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		LastMessage: t.Last, LastAt: t.LastAt, Muted: t.Muted[userID], Members: make([]Member, len(t.Members))}
	for i, m := range t.Members {
		out.Members[i] = Member{UserID: m, LastReadMessageID: t.Reads[m]}
	}
	if n := t.Seq - t.ReadSeq[userID]; n > 0 {
		out.UnreadCount = n
	}
	return out
}

// checkText applies the message text rule: 1 to 4,000 characters of any
// Unicode (emoji, right-to-left scripts, combining marks), never blank,
// never invalid UTF-8, NUL or another control character than line breaks
// and tabs.
func checkText(ck *fault.Checker, field, text string) {
	n := utf8.RuneCountInString(text)
	switch {
	case !utf8.ValidString(text):
		ck.Add(field, "must be valid UTF-8 text")
	case strings.TrimSpace(text) == "":
		ck.Add(field, "must not be blank")
	case n > MaxText:
		ck.Add(field, "is too long (at most 4000 characters)")
	case strings.IndexFunc(text, func(r rune) bool {
		return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0)
	}) >= 0:
		ck.Add(field, "must not contain NUL or other control characters")
	}
}

// checkAttachmentFile applies the documents' file-type and size rules.
func checkAttachmentFile(ck *fault.Checker, fileName, contentType string, size int64) (string, filetype.Type) {
	return filetype.Check(ck, fileName, contentType, size)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func unmarshal(item map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalMap(item, out)
}
