package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/matterly/matterly/shared/httpapi"
)

// The chat WebSocket API in make dev: ws://127.0.0.1:8080/v1/chat/ws?ticket=
// speaks the protocol API Gateway's WebSocket API does in AWS. Each socket
// event becomes the APIGatewayWebsocketProxyRequest API Gateway would send
// ($connect with the query string, a frame routed on its "action",
// $disconnect) for the same chatws handler, and the server answers the
// Management API (POST and DELETE /@connections/{id}) the functions post
// frames to, so the fan-out runs the AWS SDK path unchanged.
const (
	wsPath           = "/v1/chat/ws"
	wsManagementPath = "/dev/wsapi"
	wsStage          = "dev"
)

// wsRoutes are the WebSocket API's routes selected on $request.body.action.
var wsRoutes = map[string]bool{"typing": true, "read": true}

// WSHandlerFunc is the chatws function's handler.
type WSHandlerFunc func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)

type wsHub struct {
	handle WSHandlerFunc
	log    *slog.Logger
	mu     sync.Mutex
	conns  map[string]*websocket.Conn
}

func newWSHub(h WSHandlerFunc, log *slog.Logger) *wsHub {
	return &wsHub{handle: h, log: log, conns: map[string]*websocket.Conn{}}
}

func (h *wsHub) get(id string) *websocket.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[id]
}

// Connections counts the open sockets (tests and benchmarks).
func (s *Stack) Connections() int {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return len(s.ws.conns)
}

func (s *Stack) serveChatWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == wsPath {
		s.ws.serveSocket(w, r)
		return
	}
	s.ws.serveManagement(w, r)
}

func newConnectionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (h *wsHub) event(r *http.Request, eventType, routeKey, connID, body string) events.APIGatewayWebsocketProxyRequest {
	ev := events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
		EventType: eventType, RouteKey: routeKey, ConnectionID: connID, Stage: wsStage, DomainName: r.Host,
		RequestID: newConnectionID(), RequestTimeEpoch: time.Now().UnixMilli(), MessageDirection: "IN"}}
	if eventType == "CONNECT" {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range r.URL.Query() {
			ev.QueryStringParameters[k] = v[0]
		}
		ev.Headers = map[string]string{"User-Agent": r.UserAgent()}
	}
	return ev
}

// serveSocket runs one socket: $connect decides before the upgrade (a
// refused ticket is the handshake's HTTP answer), frames go to the handler
// one at a time, and the close is $disconnect.
func (h *wsHub) serveSocket(w http.ResponseWriter, r *http.Request) {
	connID := newConnectionID()
	resp, err := h.handle(r.Context(), h.event(r, "CONNECT", "$connect", connID, ""))
	if err != nil || resp.StatusCode != http.StatusOK {
		if err != nil || resp.StatusCode == 0 {
			resp = events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError}
		}
		httpapi.WriteHTTP(w, events.APIGatewayV2HTTPResponse{StatusCode: resp.StatusCode, Headers: resp.Headers, Body: resp.Body})
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"localhost:5173", "127.0.0.1:5173"}})
	if err != nil {
		_, _ = h.handle(context.WithoutCancel(r.Context()), h.event(r, "DISCONNECT", "$disconnect", connID, ""))
		return
	}
	c.SetReadLimit(64 << 10)
	h.mu.Lock()
	h.conns[connID] = c
	h.mu.Unlock()
	ctx := context.WithoutCancel(r.Context())
	defer func() {
		h.mu.Lock()
		delete(h.conns, connID)
		h.mu.Unlock()
		_, _ = h.handle(ctx, h.event(r, "DISCONNECT", "$disconnect", connID, ""))
		c.CloseNow()
	}()
	for {
		_, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		var sel struct {
			Action string `json:"action"`
		}
		route := "$default"
		if json.Unmarshal(data, &sel) == nil && wsRoutes[sel.Action] {
			route = sel.Action
		}
		if _, err := h.handle(ctx, h.event(r, "MESSAGE", route, connID, string(data))); err != nil {
			h.log.Warn("chatws handler failed", "err", err)
		}
	}
}

// serveManagement answers the Management API: POST /@connections/{id}
// sends the body as a text frame, DELETE closes the socket; a connection
// that is not open is 410 GoneException, as in AWS.
func (h *wsHub) serveManagement(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, wsManagementPath+"/@connections/")
	c := h.get(id)
	if !ok || c == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write([]byte(`{"message":null}`))
		return
	}
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 128<<10))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := c.Write(ctx, websocket.MessageText, body); err != nil {
			w.Header().Set("X-Amzn-Errortype", "GoneException")
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		c.Close(websocket.StatusNormalClosure, "closed by the server")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}
}
