package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// chatWSAPIID is the logical id of the chat WebSocket API.
func chatWSAPIID(t *testing.T) string {
	t.Helper()
	for id, r := range ofType("AWS::ApiGatewayV2::Api") {
		if props(r)["ProtocolType"] == "WEBSOCKET" {
			return id
		}
	}
	t.Fatal("no WebSocket API")
	return ""
}

// httpAPIOnly drops the WebSocket API's routes and integrations.
func httpAPIOnly(t *testing.T, rs map[string]obj) map[string]obj {
	ws := fmt.Sprint(ref(chatWSAPIID(t)))
	out := map[string]obj{}
	for id, r := range rs {
		if fmt.Sprint(props(r)["ApiId"]) != ws {
			out[id] = r
		}
	}
	return out
}

// TestChatWebSocketAPI: the WebSocket API selects routes on the body's
// action; $connect, $disconnect, $default, typing and read all reach
// chatws; its stage logs (without the ticket's query string) and
// throttles; only chat and chatws may post to its connections, and only to
// this API's; the Giphy key is read by chat alone.
func TestChatWebSocketAPI(t *testing.T) {
	apiID := chatWSAPIID(t)
	api := props(resources[apiID].(obj))
	if api["RouteSelectionExpression"] != "$request.body.action" {
		t.Errorf("WebSocket API %v", api)
	}
	wsFn := functionID(t, fnChatWS)
	integ := map[string]bool{}
	for id, r := range ofType("AWS::ApiGatewayV2::Integration") {
		p := props(r)
		if fmt.Sprint(p["ApiId"]) == fmt.Sprint(ref(apiID)) {
			if p["IntegrationType"] != "AWS_PROXY" || !strings.Contains(fmt.Sprint(p["IntegrationUri"]), wsFn) {
				t.Errorf("integration %s: %v", id, p)
			}
			integ[id] = true
		}
	}
	var keys []string
	for _, r := range ofType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		if fmt.Sprint(p["ApiId"]) != fmt.Sprint(ref(apiID)) {
			continue
		}
		keys = append(keys, fmt.Sprint(p["RouteKey"]))
		target := fmt.Sprint(p["Target"])
		if !slices.ContainsFunc(slices.Collect(func(yield func(string) bool) {
			for id := range integ {
				if !yield(id) {
					return
				}
			}
		}), func(id string) bool { return strings.Contains(target, id) }) {
			t.Errorf("route %v targets %v", p["RouteKey"], p["Target"])
		}
	}
	slices.Sort(keys)
	if want := []string{"$connect", "$default", "$disconnect", "read", "typing"}; !slices.Equal(keys, want) {
		t.Errorf("WebSocket routes %v, want %v", keys, want)
	}
	for id, st := range ofType("AWS::ApiGatewayV2::Stage") {
		p := props(st)
		if fmt.Sprint(p["ApiId"]) != fmt.Sprint(ref(apiID)) {
			continue
		}
		format := fmt.Sprint(dig(p, "AccessLogSettings", "Format"))
		if p["StageName"] != chatWSStage || p["AutoDeploy"] != true || dig(p, "DefaultRouteSettings", "ThrottlingRateLimit") == nil ||
			!strings.Contains(format, "$context.connectionId") || strings.Contains(format, "querystring") {
			t.Errorf("stage %s: %v", id, p)
		}
		// Typing has its own, lower throttle.
		rate, _ := dig(p, "RouteSettings", "typing", "ThrottlingRateLimit").(float64)
		burst, _ := dig(p, "RouteSettings", "typing", "ThrottlingBurstLimit").(float64)
		stageRate, _ := dig(p, "DefaultRouteSettings", "ThrottlingRateLimit").(float64)
		if rate <= 0 || burst < rate || rate >= stageRate {
			t.Errorf("stage %s: typing route settings %v, want a throttle below the stage's", id, dig(p, "RouteSettings"))
		}
	}
	if _, ok := outputs["ChatWebSocketUrl"]; !ok {
		t.Error("no ChatWebSocketUrl output")
	}

	// ManageConnections: exactly chat and chatws, on this API only.
	chatID := functionID(t, routes.FnChat)
	for fnID, name := range map[string]string{chatID: routes.FnChat, wsFn: fnChatWS} {
		env, _ := dig(props(resources[fnID].(obj)), "Environment", "Variables").(obj)
		if env["CHAT_WS_ENDPOINT"] == nil {
			t.Errorf("%s: no CHAT_WS_ENDPOINT", name)
		}
		found := false
		for _, st := range roleStatementsOf(t, fnID) {
			if slices.Contains(stringsOf(st["Action"]), "execute-api:ManageConnections") {
				found = true
				res := fmt.Sprint(st["Resource"])
				if !strings.Contains(res, apiID) || !strings.Contains(res, "@connections") {
					t.Errorf("%s may manage connections of %v", name, st["Resource"])
				}
			}
		}
		if !found {
			t.Errorf("%s may not post to connections", name)
		}
	}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if slices.Contains(stringsOf(st["Action"]), "execute-api:ManageConnections") && !strings.Contains(id, "Chat") {
				t.Errorf("%s may manage WebSocket connections", id)
			}
		}
	}

	// The Giphy key: "unset" until set, kept, read by chat alone.
	secretID := ""
	for id, r := range ofType("AWS::SecretsManager::Secret") {
		if strings.HasPrefix(fmt.Sprint(props(r)["Description"]), "Giphy API key") {
			secretID = id
			if props(r)["SecretString"] != "unset" || r["DeletionPolicy"] != "Retain" {
				t.Errorf("Giphy secret %v", r)
			}
		}
	}
	if secretID == "" {
		t.Fatal("no Giphy secret")
	}
	env, _ := dig(props(resources[chatID].(obj)), "Environment", "Variables").(obj)
	if env["GIPHY_SECRET_ARN"] == nil || env["BUCKET_NAME"] == nil {
		t.Errorf("chat environment %v", env)
	}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if strings.Contains(fmt.Sprint(st["Resource"]), secretID) && !strings.HasPrefix(id, "ChatRole") {
				t.Errorf("%s may read the Giphy secret", id)
			}
		}
	}
}
