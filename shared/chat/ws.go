package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// ticketRow is a WebSocket ticket, stored by its hash: the ticket itself
// is a bearer secret and never rests in the table.
type ticketRow struct {
	store.Keys
	UserID    string `dynamodbav:"userId"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

func ticketHash(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(sum[:])
}

// NewTicket issues the caller a WebSocket ticket: single use, 60 s, bound
// to the caller. Browsers cannot send an Authorization header on a
// WebSocket, and an access token must never travel in a URL; a ticket
// that leaks through a log is dead within a minute and after one use.
func (s *Service) NewTicket(ctx context.Context, a caller.Caller) (Ticket, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Ticket{}, err
	}
	ticket := a.OrgID + "." + a.UserID + "." + base64.RawURLEncoding.EncodeToString(secret)
	now := s.Now().UTC()
	exp := now.Add(TicketTTL)
	put, err := s.DB.Put(ticketRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: ticketSK(ticketHash(ticket)), Type: "chatTicket"},
		UserID: a.UserID, ExpiresAt: exp.Unix()}, store.NotExists())
	if err != nil {
		return Ticket{}, err
	}
	if err := s.commit(ctx, a, put, s.connsInit(a.OrgID, a.UserID)); err != nil {
		return Ticket{}, err
	}
	return Ticket{Ticket: ticket, ExpiresAt: exp}, nil
}

// errBadTicket refuses a connect: no ticket, a forged, expired or used one.
var errBadTicket = fault.E(fault.Unauthorized, "The WebSocket ticket is missing, expired or already used: get a new one (POST /v1/chat/tickets).")

// Connect redeems a ticket for a connection: the ticket is deleted (so it
// works once), the connection recorded under its member, in one
// transaction that also checks the member is still active.
func (s *Service) Connect(ctx context.Context, connID, ticket string) error {
	parts := strings.Split(ticket, ".")
	if connID == "" || len(parts) != 3 || !check.ID(parts[0]) || !check.ID(parts[1]) || len(parts[2]) != 43 {
		return errBadTicket
	}
	orgID, userID := parts[0], parts[1]
	now := s.Now()
	del := s.DB.Delete(tenant.PK(orgID), ticketSK(ticketHash(ticket)), &store.Cond{Expr: "attribute_exists(PK) AND #u = :u AND #exp > :now",
		Names: map[string]string{"#u": "userId", "#exp": "expiresAt"}, Values: map[string]types.AttributeValue{":u": store.S(userID), ":now": store.N(now.Unix())}})
	exp := connExpiry(now)
	put, err := s.DB.Put(connRow{Keys: store.Keys{PK: connPK(connID), SK: connSK, Type: "chatConnection"}, OrgID: orgID, UserID: userID, ExpiresAt: exp}, nil)
	if err != nil {
		return err
	}
	reg := s.DB.Update(tenant.PK(orgID), connsSK(userID), "SET #c.#id = :exp", store.Exists(),
		map[string]string{"#c": "conns", "#id": connID}, map[string]types.AttributeValue{":exp": store.N(exp)})
	err = s.DB.Transact(ctx, del, put, reg, tenant.MemberWith(s.DB, orgID, userID, access.UseChat))
	switch {
	case store.Failed(err, 0), store.Failed(err, 2):
		return errBadTicket
	case store.Failed(err, 3):
		return fault.E(fault.Forbidden, "You are no longer a member of this org.")
	}
	return err
}

// Disconnect forgets a connection.
func (s *Service) Disconnect(ctx context.Context, connID string) error {
	var c connRow
	if err := s.DB.Get(ctx, connPK(connID), connSK, &c); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	s.forget(ctx, c.OrgID, c.UserID, connID)
	return nil
}

// ClientFrame is what a client sends on the WebSocket.
type ClientFrame struct {
	Action    string `json:"action"`
	ThreadID  string `json:"threadId"`
	MessageID string `json:"messageId"`
}

// Signal handles a client frame: typing goes to the thread's other
// connected members and is never stored; read is a read receipt.
func (s *Service) Signal(ctx context.Context, connID string, body []byte) error {
	var in ClientFrame
	if err := httpapi.DecodeJSON(body, &in); err != nil {
		return err
	}
	switch in.Action {
	case "typing":
		return s.typing(ctx, connID, in.ThreadID)
	case "read":
		var c connRow
		if err := s.DB.Get(ctx, connPK(connID), connSK, &c); errors.Is(err, store.ErrNotFound) || (err == nil && c.ExpiresAt <= s.Now().Unix()) {
			return errBadTicket
		} else if err != nil {
			return err
		}
		_, err := s.Read(ctx, caller.Caller{OrgID: c.OrgID, UserID: c.UserID}, in.ThreadID, ReadInput{MessageID: in.MessageID})
		return err
	}
	return fault.Fields(fault.FieldError{Field: "action", Message: `must be "typing" or "read"`})
}

// typing fans a typing frame out to the thread's other members'
// connections. It runs for every frame a typing member sends (one Lambda
// run each in AWS), so it reads only what it must: the connection's item
// comes back from the update that takes its typing slot (a dropped frame
// costs that one call), then one BatchGet reads the thread (its members)
// and the typist's member item (still an active member who chats), then
// one BatchGet per 33 members reads their connections and member items.
// The thread item just read is the membership: a place row would say
// nothing more (a member's place and the thread's list change in one
// transaction).
func (s *Service) typing(ctx context.Context, connID, threadID string) error {
	if !check.ID(threadID) {
		return errNoThread
	}
	c, ok, err := s.typingSlot(ctx, connID)
	if err != nil || !ok {
		return err // a frame within TypingInterval of the last is dropped, silently
	}
	if c.ExpiresAt <= s.Now().Unix() {
		return errBadTicket
	}
	var t threadRow
	var user map[string]any
	reqs := []*store.KeyOut{{PK: tenant.PK(c.OrgID), SK: threadSK(threadID), Out: &t},
		{PK: tenant.PK(c.OrgID), SK: tenant.MemberSK(c.UserID), Out: &user}}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return err
	}
	if !reqs[0].Found || !t.has(c.UserID) {
		return errNoThread
	}
	if !reqs[1].Found || !activeMember(user) {
		return tenant.ErrRoleChanged
	}
	s.fanoutTo(ctx, c.OrgID, t, c.UserID, frame{Type: "typing", ThreadID: threadID, UserID: c.UserID}, false)
	return nil
}

// typingSlot takes the connection's typing slot: one conditional update
// of its item that holds only when its last accepted typing frame is
// TypingInterval old, and returns the item. A client that types on every
// keystroke (or a hostile one) then costs its partners one frame per
// interval and the stage's shared throttle one fan-out, not one per frame.
// A refused condition is a dropped frame: a frame too soon, or a
// connection whose item is gone (disconnected or swept after its
// expiry), which no frame reaches anyway.
func (s *Service) typingSlot(ctx context.Context, connID string) (connRow, bool, error) {
	now := s.Now().UnixMilli()
	var c connRow
	err := s.DB.UpdateItem(ctx, s.DB.Update(connPK(connID), connSK, "SET #lt = :now",
		&store.Cond{Expr: "attribute_exists(PK) AND (attribute_not_exists(#lt) OR #lt <= :cutoff)"},
		map[string]string{"#lt": "lastTypingAt"},
		map[string]types.AttributeValue{":now": store.N(now), ":cutoff": store.N(now - TypingInterval.Milliseconds())}), &c)
	if errors.Is(err, store.ErrConditionFailed) {
		return connRow{}, false, nil
	}
	return c, err == nil, err
}

// WSHandler serves the WebSocket API's routes ($connect, $disconnect,
// $default and the typing and read routes API Gateway selects on
// $request.body.action): functions/chatws in AWS, the dev server's
// sockets in make dev.
type WSHandler struct{ Svc *Service }

// maxFrame bounds a client frame.
const maxFrame = 4 << 10

// Handle answers one WebSocket API event. A refused $connect answers its
// status, which API Gateway turns into the handshake's answer; a refused
// frame is answered on the socket with an error frame.
func (h WSHandler) Handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	switch rc.EventType {
	case "CONNECT":
		if err := h.Svc.Connect(ctx, rc.ConnectionID, ev.QueryStringParameters["ticket"]); err != nil {
			return problem(err), nil
		}
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
	case "DISCONNECT":
		if err := h.Svc.Disconnect(ctx, rc.ConnectionID); err != nil {
			h.Svc.Log.Warn("chat: disconnect", "err", err)
		}
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
	}
	var err error
	if len(ev.Body) > maxFrame {
		err = fault.E(fault.TooLarge, "A frame holds at most 4 KB.")
	} else {
		err = h.Svc.Signal(ctx, rc.ConnectionID, []byte(ev.Body))
	}
	if err != nil {
		resp := problem(err)
		if h.Svc.Push != nil {
			_ = h.Svc.Push.Post(ctx, rc.ConnectionID, []byte(`{"type":"error","problem":`+resp.Body+`}`))
		}
		return resp, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

func problem(err error) events.APIGatewayProxyResponse {
	p, _ := httpapi.ProblemFor(err, "")
	b, _ := json.Marshal(p)
	return events.APIGatewayProxyResponse{StatusCode: p.Status, Body: string(b), Headers: map[string]string{"Content-Type": "application/problem+json"}}
}
