package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// ComplianceThread is a thread as a compliance reader sees it: every
// member, hidden or not, and its message count.
type ComplianceThread struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Name         string    `json:"name,omitempty"`
	CreatedBy    string    `json:"createdBy"`
	CreatedAt    time.Time `json:"createdAt"`
	Members      []Member  `json:"members"`
	MessageCount int64     `json:"messageCount"`
	LastAt       time.Time `json:"lastActivityAt"`
}

func (t threadRow) compliance() ComplianceThread {
	v := t.view("")
	return ComplianceThread{ID: t.ID, Kind: t.Kind, Name: t.Name, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, Members: v.Members,
		MessageCount: t.Seq, LastAt: t.LastAt}
}

// recordRead logs a compliance read in the activity log (who read what),
// with the check that the reader still holds the permission, before
// anything is read.
func (s *Service) recordRead(ctx context.Context, a caller.Caller, action, entityID, detail string) error {
	e := activity.Entry{Action: action, EntityType: "chatThread", EntityID: entityID, Detail: detail}
	return activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.ReadChatCompliance, e)
}

// ComplianceThreads lists every thread of the org, one page (one query).
func (s *Service) ComplianceThreads(ctx context.Context, a caller.Caller, limit int32, start store.StartKey) ([]ComplianceThread, store.StartKey, error) {
	if err := s.recordRead(ctx, a, "chat.compliance.threads.read", "all", ""); err != nil {
		return nil, nil, err
	}
	var rows []threadRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(a.OrgID), SKPrefix: "CHAT#T#", Limit: limit, StartKey: start, Consistent: true}, &rows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]ComplianceThread, len(rows))
	for i, r := range rows {
		out[i] = r.compliance()
	}
	return out, next, nil
}

// ComplianceMessages is one page of a thread's full log, newest first:
// deleted messages with their text, every earlier version of edited ones.
func (s *Service) ComplianceMessages(ctx context.Context, a caller.Caller, threadID string, limit int32, start store.StartKey) ([]Message, store.StartKey, error) {
	if !check.ID(threadID) {
		return nil, nil, errNoThread
	}
	var t threadRow
	if err := s.DB.Get(ctx, tenant.PK(a.OrgID), threadSK(threadID), &t); errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNoThread
	} else if err != nil {
		return nil, nil, err
	}
	if err := s.recordRead(ctx, a, "chat.compliance.messages.read", threadID, ""); err != nil {
		return nil, nil, err
	}
	rows, next, err := s.messagePage(ctx, a.OrgID, threadID, "", "", limit, start)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = s.withDownloads(ctx, r.Message.counted())
	}
	return out, next, nil
}

// ---- Privacy: export and erasure of an org's chat ----

// OrgData is everything an org's chat holds, for a workspace export.
type OrgData struct {
	Threads     []ComplianceThread `json:"threads"`
	Messages    []Message          `json:"messages"` // every thread's, with edit history and deleted ones
	Attachments []Attachment       `json:"attachments"`
}

// orgItems walks every chat item of an org: one query, paged, read raw
// (the items are of several kinds).
func (s *Service) orgItems(ctx context.Context, orgID string, each func(sk string, item map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{TableName: &s.DB.Table, KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": store.AttrPK, "#sk": store.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": store.S(tenant.PK(orgID)), ":sk": store.S("CHAT#")},
		ConsistentRead:            aws.Bool(true)}
	for {
		out, err := s.DB.API.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("chat items: %w", err)
		}
		for _, it := range out.Items {
			if sk, ok := it[store.AttrSK].(*types.AttributeValueMemberS); ok {
				if err := each(sk.Value, it); err != nil {
					return err
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ExportOrg lists an org's threads, messages (edit history and deleted
// ones included) and attachments, for the privacy export.
func (s *Service) ExportOrg(ctx context.Context, orgID string) (OrgData, error) {
	out := OrgData{Threads: []ComplianceThread{}, Messages: []Message{}, Attachments: []Attachment{}}
	err := s.orgItems(ctx, orgID, func(sk string, item map[string]types.AttributeValue) error {
		switch {
		case hasPrefix(sk, "CHAT#T#"):
			var t threadRow
			if err := unmarshal(item, &t); err != nil {
				return err
			}
			out.Threads = append(out.Threads, t.compliance())
		case hasPrefix(sk, "CHAT#MSG#"):
			var m msgRow
			if err := unmarshal(item, &m); err != nil {
				return err
			}
			out.Messages = append(out.Messages, m.Message.counted())
		case hasPrefix(sk, "CHAT#ATT#"):
			var at attRow
			if err := unmarshal(item, &at); err != nil {
				return err
			}
			out.Attachments = append(out.Attachments, at.Attachment)
		}
		return nil
	})
	return out, err
}

// DeleteOrg erases an org's chat: every chat item and attachment file
// (privacy erasure and retention; no member action deletes messages).
func (s *Service) DeleteOrg(ctx context.Context, orgID string) error {
	var keys []string
	var conns []string
	err := s.orgItems(ctx, orgID, func(sk string, item map[string]types.AttributeValue) error {
		keys = append(keys, sk)
		if hasPrefix(sk, "CHAT#CONN#") {
			var c connsRow
			if err := unmarshal(item, &c); err == nil {
				for id := range c.Conns {
					conns = append(conns, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var batch []types.TransactWriteItem
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.DB.Transact(ctx, batch...)
		batch = batch[:0]
		return err
	}
	for _, sk := range keys {
		batch = append(batch, s.DB.Delete(tenant.PK(orgID), sk, nil))
		if len(batch) == 100 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for _, id := range conns {
		batch = append(batch, s.DB.Delete(connPK(id), connSK, nil))
		if len(batch) == 100 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if s.Storage != nil {
		return s.Storage.RemoveAll(ctx, ObjectPrefix(orgID), nil)
	}
	return nil
}
