// Command chatclient is a terminal WebSocket client for team chat: it
// gets a ticket with the access token, connects, prints every frame the
// server sends, and sends each line typed as a client frame.
//
//	go run ./scripts/chatclient -token "$TOKEN"
//	{"action":"typing","threadId":"01J..."}
//	{"action":"read","threadId":"01J...","messageId":"01J..."}
//
// -url is the API (http://localhost:8080 for make dev); -ws the WebSocket
// URL when it is elsewhere (the ChatWebSocketUrl stack output in AWS).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/coder/websocket"
)

func main() {
	api := flag.String("url", "http://localhost:8080", "the API's base URL")
	wsURL := flag.String("ws", "", "the WebSocket URL (default: the API's /v1/chat/ws)")
	token := flag.String("token", os.Getenv("TOKEN"), "an access token (default $TOKEN)")
	flag.Parse()
	if err := run(*api, *wsURL, *token); err != nil {
		log.Fatal(err)
	}
}

func run(api, wsURL, token string) error {
	if token == "" {
		return errors.New("no access token: pass -token or set TOKEN")
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(api, "/")+"/v1/chat/tickets", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var t struct {
		Ticket string `json:"ticket"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &t) != nil {
		return fmt.Errorf("ticket: %d %s", resp.StatusCode, body)
	}
	if wsURL == "" {
		wsURL = "ws" + strings.TrimPrefix(strings.TrimRight(api, "/"), "http") + "/v1/chat/ws"
	}
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, wsURL+"?ticket="+url.QueryEscape(t.Ticket), nil)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.CloseNow()
	fmt.Fprintln(os.Stderr, "connected; type client frames, one JSON object a line")
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if line := strings.TrimSpace(in.Text()); line != "" {
				if err := c.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
					log.Print(err)
					return
				}
			}
		}
		c.Close(websocket.StatusNormalClosure, "bye")
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return err
		}
		fmt.Println(string(data))
	}
}
