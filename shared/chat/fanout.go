package chat

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Pusher sends one frame to one WebSocket connection: the API Gateway
// Management API's PostToConnection in AWS, the dev server's own sockets
// in make dev. A connection that is gone answers ErrGone.
type Pusher interface {
	Post(ctx context.Context, connectionID string, frame []byte) error
}

// ErrGone is a connection that no longer exists (API Gateway's 410
// GoneException): its item is deleted.
var ErrGone = errors.New("chat: connection gone")

// frame is what the server sends on a WebSocket.
type frame struct {
	Type      string     `json:"type"`
	ThreadID  string     `json:"threadId"`
	Message   *Message   `json:"message,omitempty"`
	MessageID string     `json:"messageId,omitempty"`
	UserID    string     `json:"userId,omitempty"`
	UserIDs   []string   `json:"userIds,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	Thread    *Thread    `json:"thread,omitempty"`
	Muted     bool       `json:"muted,omitempty"`
}

// connsRow is a member's open connections: connection id → expiry
// (epoch seconds). One item per member, so a thread's connections are one
// BatchGet whatever its members' devices.
type connsRow struct {
	store.Keys
	Conns map[string]int64 `dynamodbav:"conns"`
}

// connRow names the org and member of a connection, for $default and
// $disconnect, which API Gateway gives only the connection id.
type connRow struct {
	store.Keys
	OrgID     string `dynamodbav:"orgId"`
	UserID    string `dynamodbav:"userId"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// fanoutWorkers bounds the concurrent posts of one frame.
const fanoutWorkers = 16

// fanout sends f to the live connections of t's members but skip who are
// still in it when it runs (after the commit). A member
// who muted the thread gets it with "muted": true. Delivery is best
// effort: a failed post is logged (a gone connection is forgotten), never
// the request's failure, which has already committed.
func (s *Service) fanout(ctx context.Context, orgID string, t threadRow, skip string, f frame) {
	s.fanoutTo(ctx, orgID, t, skip, f, true)
}

// fanoutTo is fanout; without places, t's members are taken as they are
// (t was read just now, not before a wait) and their place rows are not
// read again.
func (s *Service) fanoutTo(ctx context.Context, orgID string, t threadRow, skip string, f frame, places bool) {
	if s.Push == nil {
		return
	}
	targets, err := s.connections(ctx, orgID, t.ID, t.Members, skip, places)
	if err != nil {
		s.Log.Warn("chat fan-out: connections unreadable", "threadId", t.ID, "err", err)
		return
	}
	if len(targets) == 0 {
		return
	}
	plain, _ := json.Marshal(f)
	f.Muted = true
	muted, _ := json.Marshal(f)
	jobs := make(chan target)
	var wg sync.WaitGroup
	for range min(fanoutWorkers, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tg := range jobs {
				body := plain
				if t.Muted[tg.userID] {
					body = muted
				}
				err := s.Push.Post(ctx, tg.connID, body)
				switch {
				case errors.Is(err, ErrGone):
					s.forget(context.WithoutCancel(ctx), orgID, tg.userID, tg.connID)
				case err != nil:
					s.Log.Warn("chat fan-out: post failed", "threadId", t.ID, "err", err)
				}
			}
		}()
	}
	for _, tg := range targets {
		jobs <- tg
	}
	close(jobs)
	wg.Wait()
}

type target struct{ userID, connID string }

// connUsers is how many users' items one BatchGet reads (three each,
// under its 100 keys).
const connUsers = 33

// connections are the live connections of users but skip who are still
// active members of the org and still in the thread: a member removed from
// either while a send was in flight or a socket was open gets nothing
// more. Each user's connections item, org member item and (with places)
// thread member item are read together, one BatchGet per 33 users.
func (s *Service) connections(ctx context.Context, orgID, threadID string, users []string, skip string, places bool) ([]target, error) {
	now := s.Now().Unix()
	var out []target
	for i := 0; i < len(users); i += connUsers {
		chunk := users[i:min(i+connUsers, len(users))]
		rows := make([]connsRow, len(chunk))
		members := make([]map[string]any, len(chunk))
		inThread := make([]memberRow, len(chunk))
		var reqs []*store.KeyOut
		index := map[int]int{} // chunk index → its connections' request
		for j, u := range chunk {
			if u == skip {
				continue
			}
			index[j] = len(reqs)
			reqs = append(reqs, &store.KeyOut{PK: tenant.PK(orgID), SK: connsSK(u), Out: &rows[j]},
				&store.KeyOut{PK: tenant.PK(orgID), SK: tenant.MemberSK(u), Out: &members[j]})
			if places {
				reqs = append(reqs, &store.KeyOut{PK: tenant.PK(orgID), SK: memberSK(u, threadID), Out: &inThread[j]})
			}
		}
		if len(reqs) == 0 {
			continue
		}
		if err := s.DB.BatchGet(ctx, reqs...); err != nil {
			return nil, err
		}
		for j, u := range chunk {
			k, ok := index[j]
			if !ok || !reqs[k].Found || !reqs[k+1].Found || (places && !reqs[k+2].Found) || !activeMember(members[j]) {
				continue
			}
			for id, exp := range rows[j].Conns {
				if exp > now {
					out = append(out, target{userID: u, connID: id})
				}
			}
		}
	}
	return out, nil
}

// activeMember reports whether a member item is an active member's with a
// role that chats.
func activeMember(item map[string]any) bool {
	role, _ := item["role"].(string)
	status, _ := item["status"].(string)
	return access.Can(access.Role(role), access.UseChat) && status != tenant.Invited
}

// forget deletes a connection that is gone: its entry in the member's
// connections and its own item (two single-item writes, each idempotent).
func (s *Service) forget(ctx context.Context, orgID, userID, connID string) {
	err := s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), connsSK(userID), "REMOVE #c.#id", store.Exists(),
		map[string]string{"#c": "conns", "#id": connID}, nil), nil)
	if err == nil || errors.Is(err, store.ErrConditionFailed) {
		_, err = s.DB.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.DB.Table, Key: store.Key(connPK(connID), connSK)})
	}
	if err != nil {
		s.Log.Warn("chat: gone connection not forgotten", "err", err)
	}
}

// connsInit makes sure a member's connections item exists (a ticket's
// transaction writes it), so a connect sets one map entry.
func (s *Service) connsInit(orgID, userID string) types.TransactWriteItem {
	return s.DB.Update(tenant.PK(orgID), connsSK(userID), "SET #c = if_not_exists(#c, :empty), #t = :type", nil,
		map[string]string{"#c": "conns", "#t": "type"},
		map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, ":type": store.S("chatConns")})
}

// connExpiry is when a connection made at now is forgotten.
func connExpiry(now time.Time) int64 { return now.Add(ConnectionTTL).Unix() }
