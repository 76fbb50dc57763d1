// Package chatwire builds the team chat service, and the chat and chatws
// functions on it.
package chatwire

import (
	"github.com/matterly/matterly/shared/chat"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/giphy"
	"github.com/matterly/matterly/shared/providers/wsapi"
	"github.com/matterly/matterly/shared/wire/documentswire"
)

// Giphy is the GIF provider the configuration names (GIPHY_API_KEY or the
// Giphy secret, GIPHY_API_BASE_URL); nil without a key.
func Giphy(d *platform.Deps) chat.GIFProvider {
	c := giphy.New(giphy.Config{APIKey: d.GiphyKey, BaseURL: d.Config.GiphyAPIBaseURL})
	if c == nil {
		return nil // a nil *Client in the interface would not read as unset
	}
	return c
}

// Pusher posts frames through the WebSocket API's Management API
// (CHAT_WS_ENDPOINT); nil without an endpoint.
func Pusher(d *platform.Deps) chat.Pusher {
	c := wsapi.New(d.AWS, d.Config.ChatWSEndpoint)
	if c == nil {
		return nil
	}
	return c
}

// Chat is the team chat service.
func Chat(d *platform.Deps) *chat.Service {
	return chat.NewService(d.DB, documentswire.Storage(d), Giphy(d), Pusher(d), d.Log, d.Now)
}

// Router builds the chat function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return chat.NewRouter(Chat(d), d.RouterConfig())
}

// WSHandler builds the chatws function: the WebSocket API's routes.
func WSHandler(d *platform.Deps) chat.WSHandler {
	return chat.WSHandler{Svc: Chat(d)}
}
