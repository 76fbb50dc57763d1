// Package wire builds each function's services and routers from
// platform.Deps, what a function was configured with and given. The domain
// packages take only what they use (their constructors say so); this is
// the glue between the two, shared by the mains (functions/*/main.go) and
// the devstack so both build a function the same way. Nothing imports it
// but those.
package wire

import (
	"context"
	"time"

	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/chat"
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/password/strength"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/platform/awss3"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/providers/dropboxsign"
	"github.com/matterly/matterly/shared/providers/giphy"
	"github.com/matterly/matterly/shared/providers/msgraph"
	"github.com/matterly/matterly/shared/providers/openai"
	"github.com/matterly/matterly/shared/providers/senders"
	"github.com/matterly/matterly/shared/providers/stripe"
	"github.com/matterly/matterly/shared/providers/wsapi"
	"github.com/matterly/matterly/shared/summaries"
	"github.com/matterly/matterly/shared/trust"
)

// Model is the language model the configuration names (OPENAI_API_KEY or
// the OpenAI secret, OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_TTS_MODEL); with
// neither key nor base URL every call answers 503 saying what to set.
func Model(d *platform.Deps) ai.Model {
	return openai.New(openai.Config{APIKey: d.OpenAIKey, BaseURL: d.Config.OpenAIBaseURL, Model: d.Config.OpenAIModel, TTSModel: d.Config.OpenAITTSModel})
}

// Stripe is the platform's Stripe client, nil when its key is not set.
func Stripe(d *platform.Deps) payments.Stripe {
	return stripe.Configured(d.StripeKey, d.Config.StripeAPIBaseURL)
}

// Senders is what the message providers are built from.
func Senders(d *platform.Deps) senders.Setup {
	return senders.Setup{Config: d.Config, TwilioAccountSID: d.TwilioAccountSID, TwilioAuthToken: d.TwilioAuthToken}
}

// Identity is the identity service; it issues tokens only in the functions
// given the token secret.
func Identity(d *platform.Deps) *identity.Service {
	return identity.NewService(d.DB, d.Tokens, d.Log, d.Now)
}

// AuthRouter builds the auth function.
func AuthRouter(d *platform.Deps) (*httpapi.Router, error) {
	svc := Identity(d)
	svc.Sealer = awskms.Sealer(d) // TOTP secrets, sealed at rest
	return identity.NewAuthRouter(svc, d.RouterConfig())
}

// OrgRouter builds the org function.
func OrgRouter(d *platform.Deps) (*httpapi.Router, error) {
	return identity.NewOrgRouter(Identity(d), d.RouterConfig())
}

// AccountsRouter returns the builder of the accounts function: the
// password policy, and sign-up notices sent as messages are (box is make
// dev's outbox for sandboxed email; nil in AWS).
func AccountsRouter(box messaging.EmailSender) platform.RouterFunc {
	return func(d *platform.Deps) (*httpapi.Router, error) {
		svc := Identity(d)
		svc.Strength = strength.Problem
		m, err := senders.AccountMailer(Senders(d), box)
		if err != nil {
			return nil, err
		}
		svc.Mailer = m
		svc.AppBaseURL = d.Config.AppBaseURL
		return identity.NewAccountsRouter(svc, d.RouterConfig())
	}
}

// CRMRouter builds the crm function.
func CRMRouter(d *platform.Deps) (*httpapi.Router, error) {
	svc := crm.NewService(d.DB, d.Log, d.Now)
	svc.Erase = func(ctx context.Context, a caller.Caller, clientID string) (any, error) {
		return Privacy(d).EraseClient(ctx, a, clientID)
	}
	return crm.NewRouter(svc, d.RouterConfig())
}

// TrustRouter builds the trust function.
func TrustRouter(d *platform.Deps) (*httpapi.Router, error) {
	return trust.NewRouter(trust.NewService(d.DB, d.Log, d.Now), d.RouterConfig())
}

// Documents is the documents service, nil without the documents bucket
// (summaries and drafts then cannot read documents).
func Documents(d *platform.Deps) *documents.Service {
	st := documents.StorageFor(awss3.Client(d), d.Config.BucketName, d.Config.KMSKeyID)
	if st == nil {
		return nil
	}
	return documents.NewService(d.DB, st, d.Log, d.Now)
}

// DocumentsRouter builds the documents function; it refuses to start
// without the bucket.
func DocumentsRouter(d *platform.Deps) (*httpapi.Router, error) {
	svc := Documents(d)
	if svc == nil {
		svc = documents.NewService(d.DB, nil, d.Log, d.Now)
	}
	return documents.NewRouter(svc, d.RouterConfig())
}

// Summaries is the summaries service over the configured model (nil-safe:
// the AI routes then answer 503 saying what to set).
func Summaries(d *platform.Deps) *summaries.Service {
	return summaries.New(d.DB, d.Log, d.Now, Model(d), Documents(d), awssqs.Sender(d))
}

// AIRouter builds the ai function: summaries and drafts.
func AIRouter(d *platform.Deps) (*httpapi.Router, error) {
	return summaries.NewRouter(Summaries(d), d.RouterConfig())
}

// SpeechHandler builds the speech function's streaming handler.
func SpeechHandler(d *platform.Deps) summaries.SpeechHandler {
	return summaries.NewSpeechHandler(Summaries(d), d.RouterOptions())
}

// Payments is the payments service over the configured Stripe client.
func Payments(d *platform.Deps) *payments.Service {
	return payments.NewService(d.DB, d.Log, d.Now, Stripe(d), payments.AppURL(d.Config.CORSOrigins))
}

// PaymentsRouter builds the payments function: payments and AI credits.
func PaymentsRouter(d *platform.Deps) (*httpapi.Router, error) {
	return payments.NewRouter(Payments(d), credits.NewService(d.DB, d.Log, d.Now), d.RouterConfig())
}

// StripeWebhookRouter builds the stripewebhook function.
func StripeWebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	return payments.NewWebhookRouter(payments.Webhook{Secret: d.StripeWebhookSecret, Queue: awssqs.Sender(d)}, d.RouterConfig())
}

// StripeWorker builds the worker of payments.EventsQueue.
func StripeWorker(d *platform.Deps) *payments.Worker {
	return payments.NewWorker(payments.NewService(d.DB, d.Log, d.Now, Stripe(d), ""), trust.NewService(d.DB, d.Log, d.Now))
}

// Messaging is the messaging service, with make dev's sandboxes where a
// channel has no provider (see ProvisionedMessaging for the providers).
func Messaging(d *platform.Deps) *messaging.Service {
	return messaging.Build(messaging.Setup{Config: d.Config, DB: d.DB, Log: d.Log, Now: d.Now, Queue: awssqs.Sender(d),
		LinkKey: d.Keys.LinkKey, TwilioAccountSID: d.TwilioAccountSID, TwilioAuthToken: d.TwilioAuthToken})
}

// MessagingRouter builds the messaging function, with the platform's
// Twilio account and SES to provision orgs' senders.
func MessagingRouter(d *platform.Deps) (*httpapi.Router, error) {
	svc := Messaging(d)
	if err := senders.Provision(context.Background(), Senders(d), svc); err != nil {
		return nil, err
	}
	return messaging.NewRouter(svc, d.RouterConfig())
}

// TwilioWebhookRouter builds the twiliowebhook function.
func TwilioWebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	wh := messaging.Webhook{AuthToken: d.TwilioAuthToken, PublicBaseURL: d.Config.PublicBaseURL, RepliesToKeywords: d.Config.TwilioRepliesToKeywords}
	return messaging.NewWebhookRouter(Messaging(d), wh, d.RouterConfig())
}

// DropboxSign is the e-signature provider the configuration names
// (DROPBOX_SIGN_API_KEY or the Dropbox Sign secret, DROPBOX_SIGN_API_BASE_URL,
// DROPBOX_SIGN_CLIENT_ID, DROPBOX_SIGN_TEST_MODE); nil without a key.
func DropboxSign(d *platform.Deps) esign.Provider {
	c := dropboxsign.New(dropboxsign.Config{APIKey: d.DropboxSignKey, BaseURL: d.Config.DropboxSignAPIBaseURL,
		ClientID: d.Config.DropboxSignClientID, TestMode: d.Config.DropboxSignTestMode})
	if c == nil {
		return nil // a nil *Client in the interface would not read as unset
	}
	return c
}

// ESign is the e-signature service.
func ESign(d *platform.Deps) *esign.Service {
	return esign.NewService(d.DB, Documents(d), DropboxSign(d), d.Log, d.Now)
}

// ESignRouter builds the esign function.
func ESignRouter(d *platform.Deps) (*httpapi.Router, error) {
	return esign.NewRouter(ESign(d), d.RouterConfig())
}

// DropboxSignWebhookRouter builds the dropboxsignwebhook function.
func DropboxSignWebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	return esign.NewWebhookRouter(ESign(d), esign.Webhook{APIKey: d.DropboxSignKey, Queue: awssqs.Sender(d)}, d.RouterConfig())
}

// ESignWorker builds the worker of esign.FilesQueue.
func ESignWorker(d *platform.Deps) *esign.Worker {
	return esign.NewWorker(ESign(d))
}

// Giphy is the GIF provider the configuration names (GIPHY_API_KEY or the
// Giphy secret, GIPHY_API_BASE_URL); nil without a key.
func Giphy(d *platform.Deps) chat.GIFProvider {
	c := giphy.New(giphy.Config{APIKey: d.GiphyKey, BaseURL: d.Config.GiphyAPIBaseURL})
	if c == nil {
		return nil // a nil *Client in the interface would not read as unset
	}
	return c
}

// MSGraph is Microsoft's login and Graph as the configuration names them
// (MS_LOGIN_BASE_URL, MS_GRAPH_BASE_URL, MS_TENANT_ID, MS_CLIENT_ID and
// the client secret); nil until the client id and secret are set. sleep,
// when set, replaces the waits of Retry-After (tests).
func MSGraph(d *platform.Deps, sleep func(context.Context, time.Duration) error) calendar.Graph {
	c := msgraph.New(msgraph.Config{LoginBaseURL: d.Config.MSLoginBaseURL, GraphBaseURL: d.Config.MSGraphBaseURL, TenantID: d.Config.MSTenantID,
		ClientID: d.Config.MSClientID, ClientSecret: d.MSClientSecret, Sleep: sleep})
	if c == nil {
		return nil // a nil *Client in the interface would not read as unset
	}
	return c
}

// ChatPusher posts frames through the WebSocket API's Management API
// (CHAT_WS_ENDPOINT); nil without an endpoint.
func ChatPusher(d *platform.Deps) chat.Pusher {
	c := wsapi.New(d.AWS, d.Config.ChatWSEndpoint)
	if c == nil {
		return nil
	}
	return c
}

// Chat is the team chat service.
func Chat(d *platform.Deps) *chat.Service {
	var st *documents.Storage
	if docs := Documents(d); docs != nil {
		st = docs.Storage
	}
	return chat.NewService(d.DB, st, Giphy(d), ChatPusher(d), d.Log, d.Now)
}

// ChatRouter builds the chat function.
func ChatRouter(d *platform.Deps) (*httpapi.Router, error) {
	return chat.NewRouter(Chat(d), d.RouterConfig())
}

// ChatWSHandler builds the chatws function: the WebSocket API's routes.
func ChatWSHandler(d *platform.Deps) chat.WSHandler {
	return chat.WSHandler{Svc: Chat(d)}
}

// Calendar is the Microsoft 365 calendar service.
func Calendar(d *platform.Deps) *calendar.Service {
	return calendar.NewService(d.DB, MSGraph(d, nil), awskms.Sealer(d), awssqs.Sender(d), crm.NewService(d.DB, d.Log, d.Now), d.Log, d.Now, calendar.Settings{
		StateKey: d.Keys.LinkKey, PublicBaseURL: d.Config.PublicBaseURL, AppBaseURL: d.Config.AppBaseURL, NotificationURL: d.Config.MSGraphNotificationURL})
}

// CalendarRouter builds the calendar function.
func CalendarRouter(d *platform.Deps) (*httpapi.Router, error) {
	return calendar.NewRouter(Calendar(d), d.RouterConfig())
}

// MSGraphWebhookRouter builds the msgraphwebhook function.
func MSGraphWebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	return calendar.NewWebhookRouter(Calendar(d), d.RouterConfig())
}

// CalendarWorker builds the worker of calendar.Queue (syncs, subscriptions,
// write-backs; booking events arrive on the same queue).
func CalendarWorker(d *platform.Deps) *calendar.Worker {
	return calendar.NewWorker(Calendar(d))
}

// Privacy is the privacy service: exports, erasure, restriction, retention.
func Privacy(d *platform.Deps) *privacy.Service {
	s := privacy.NewService(d.DB, awss3.Client(d), d.Config.BucketName, d.Config.KMSKeyID, awssqs.Sender(d), d.Log, d.Now)
	s.OrgErasers = []func(context.Context, string) error{
		Chat(d).DeleteOrg,
		func(ctx context.Context, orgID string) error {
			// The workspace's deletion is the actor of the calendar's entries.
			return Calendar(d).DeleteOrg(ctx, caller.Caller{OrgID: orgID, UserID: "system:workspace-deletion", Role: "system"}, orgID)
		},
	}
	return s
}

// PrivacyRouter builds the privacy function.
func PrivacyRouter(d *platform.Deps) (*httpapi.Router, error) {
	return privacy.NewRouter(Privacy(d), d.RouterConfig())
}
