package routes

// FnMessaging serves SMS and email to clients, the consent log and the
// client's unsubscribe and double opt-in pages; functions/messageworker
// sends what it queues.
const FnMessaging = "messaging"

var messagingRoutes = []Route{
	{Method: "POST", Path: "/v1/messages/sms", Function: FnMessaging},
	{Method: "POST", Path: "/v1/messages/email", Function: FnMessaging},
	{Method: "GET", Path: "/v1/messages", Function: FnMessaging},
	{Method: "GET", Path: "/v1/consent", Function: FnMessaging},
	{Method: "GET", Path: "/v1/consent/state", Function: FnMessaging},
	{Method: "POST", Path: "/v1/consent", Function: FnMessaging},
	{Method: "POST", Path: "/v1/consent/confirmations", Function: FnMessaging},
	{Method: "GET", Path: "/v1/messaging/settings", Function: FnMessaging},
	{Method: "PATCH", Path: "/v1/messaging/settings", Function: FnMessaging},
	{Method: "POST", Path: "/v1/messaging/email-domains", Function: FnMessaging},
	{Method: "GET", Path: "/v1/messaging/email-domains", Function: FnMessaging},
	{Method: "DELETE", Path: "/v1/messaging/email-domains/{domain}", Function: FnMessaging},
	{Method: "POST", Path: "/v1/messaging/sms-numbers", Function: FnMessaging},
	{Method: "POST", Path: "/v1/messaging/sms-services", Function: FnMessaging},
	{Method: "GET", Path: "/unsubscribe", Function: FnMessaging, Public: true},
	{Method: "POST", Path: "/unsubscribe", Function: FnMessaging, Public: true},
	{Method: "GET", Path: "/consent/confirm", Function: FnMessaging, Public: true},
	{Method: "POST", Path: "/consent/confirm", Function: FnMessaging, Public: true},
}

// FnTwilioWebhook receives Twilio's inbound SMS and delivery statuses on its
// own function URL; the signature is checked before anything else.
const FnTwilioWebhook = "twiliowebhook"

var twilioRoutes = []Route{
	{Method: "POST", Path: "/webhooks/twilio/sms", Function: FnTwilioWebhook, Public: true, FunctionURL: true},
	{Method: "POST", Path: "/webhooks/twilio/status", Function: FnTwilioWebhook, Public: true, FunctionURL: true},
}
