package routes

// FnChat serves team chat: threads, messages, reactions, receipts,
// attachments, GIF search, WebSocket tickets and the compliance reads.
// The WebSocket API itself ($connect, $disconnect, $default) is served by
// functions/chatws and is not an HTTP API route.
const FnChat = "chat"

// FnChatWS is the WebSocket API's function (no HTTP route).
const FnChatWS = "chatws"

var chatRoutes = []Route{
	{Method: "GET", Path: "/v1/chat/threads", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads", Function: FnChat},
	{Method: "GET", Path: "/v1/chat/threads/{threadId}", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/members", Function: FnChat},
	{Method: "DELETE", Path: "/v1/chat/threads/{threadId}/members/{userId}", Function: FnChat},
	{Method: "GET", Path: "/v1/chat/threads/{threadId}/messages", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/messages", Function: FnChat},
	{Method: "PATCH", Path: "/v1/chat/threads/{threadId}/messages/{messageId}", Function: FnChat},
	{Method: "DELETE", Path: "/v1/chat/threads/{threadId}/messages/{messageId}", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/messages/{messageId}/reactions", Function: FnChat},
	{Method: "DELETE", Path: "/v1/chat/threads/{threadId}/messages/{messageId}/reactions", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/attachments", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/read", Function: FnChat},
	{Method: "PUT", Path: "/v1/chat/threads/{threadId}/mute", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/threads/{threadId}/leave", Function: FnChat},
	{Method: "GET", Path: "/v1/chat/gifs", Function: FnChat},
	{Method: "POST", Path: "/v1/chat/tickets", Function: FnChat},
	{Method: "GET", Path: "/v1/compliance/chat/threads", Function: FnChat},
	{Method: "GET", Path: "/v1/compliance/chat/threads/{threadId}/messages", Function: FnChat},
}
