// Package config reads a function's configuration from the environment,
// once, at init. Secrets are never environment values: only the ids of the
// Secrets Manager secrets that hold them.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Config is everything a function or the dev server is configured with.
type Config struct {
	Function      string // AWS_LAMBDA_FUNCTION_NAME, or the dev server's name for it
	Region        string // AWS_REGION
	TableName     string // TABLE_NAME
	BucketName    string // BUCKET_NAME
	KMSKeyID      string // KMS_KEY_ID: the key documents are encrypted with
	AuditKeyID    string // AUDIT_KEY_ID: the KMS key of the audit chains' keys
	EventBusName  string // EVENT_BUS_NAME: where domain events go
	SigningSecret string // SIGNING_SECRET_ARN: Secrets Manager id of the root of the HMAC keys (cursors, links)
	TokenSecret   string // TOKEN_SECRET_ARN: Secrets Manager id of the token signing root; only token issuers get it
	// TokenPublicKey (TOKEN_PUBLIC_KEY) verifies access tokens; it is public,
	// published at deploy time from the token secret.
	TokenPublicKey string
	TokenIssuer    string   // TOKEN_ISSUER
	TokenAudience  string   // TOKEN_AUDIENCE
	CORSOrigins    []string // CORS_ORIGINS, comma-separated
	LogLevel       string   // LOG_LEVEL: debug, info, warn, error
	PublicBaseURL  string   // PUBLIC_BASE_URL: the URL providers call
	// WebhookBaseURL (WEBHOOK_BASE_URL) is where Twilio's callbacks go (a
	// function URL in AWS); PUBLIC_BASE_URL when unset.
	WebhookBaseURL string
	// AppBaseURL (APP_BASE_URL) is the web app's origin, where the links
	// in account emails (invitations) lead; PUBLIC_BASE_URL when unset.
	AppBaseURL string
	// Stripe: the secret key comes from STRIPE_SECRET_KEY locally and from
	// the Secrets Manager secret STRIPE_SECRET_ARN names in AWS.
	StripeSecretKey  string
	StripeSecretARN  string
	StripeAPIBaseURL string // STRIPE_API_BASE_URL: stripe-mock or another stand-in; "" for Stripe
	// The webhook signing secret: STRIPE_WEBHOOK_SECRET locally, the
	// secret STRIPE_WEBHOOK_SECRET_ARN names in AWS.
	StripeWebhookSecret    string
	StripeWebhookSecretARN string
	// Twilio: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN locally; in AWS
	// the secret TWILIO_SECRET_ARN names holds {"accountSid","authToken"}.
	TwilioAccountSID          string
	TwilioAuthToken           string
	TwilioSecretARN           string
	TwilioMessagingServiceSID string // TWILIO_MESSAGING_SERVICE_SID: the default for orgs that set none
	TwilioAPIBaseURL          string // TWILIO_API_BASE_URL: a stand-in; "" for Twilio
	// TwilioRepliesToKeywords (TWILIO_REPLIES_TO_KEYWORDS, default true) says
	// Twilio answers STOP/START/HELP itself (its default opt-out handling or
	// Advanced Opt-Out); "false" makes the inbound webhook confirm them.
	TwilioRepliesToKeywords bool
	SMSMaxSegments          int // SMS_MAX_SEGMENTS: the longest SMS accepted (default 10)
	// EmailFrom (EMAIL_FROM) is the verified SES address email goes from
	// when an org sets none; SESEndpoint (SES_ENDPOINT) a stand-in.
	EmailFrom   string
	SESEndpoint string
	// SESConfigurationSet (SES_CONFIGURATION_SET) is the configuration set
	// emails go out with, whose events report bounces and complaints.
	SESConfigurationSet string
	// Dropbox Sign: DROPBOX_SIGN_API_KEY locally, the secret
	// DROPBOX_SIGN_SECRET_ARN names in AWS ("unset" until set). Requests are
	// sent in test mode unless DROPBOX_SIGN_TEST_MODE is "0".
	DropboxSignAPIKey     string
	DropboxSignSecretARN  string
	DropboxSignAPIBaseURL string // DROPBOX_SIGN_API_BASE_URL: a stand-in; "" for Dropbox Sign
	DropboxSignClientID   string // DROPBOX_SIGN_CLIENT_ID: the API app, when callbacks go to it
	DropboxSignTestMode   bool
	// Giphy for chat GIFs: GIPHY_API_KEY locally, the secret
	// GIPHY_SECRET_ARN names in AWS; GIPHY_API_BASE_URL for a stand-in.
	GiphyAPIKey     string
	GiphySecretARN  string
	GiphyAPIBaseURL string
	// ChatWSEndpoint (CHAT_WS_ENDPOINT) is the WebSocket API's Management
	// API endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage});
	// "" sends no real-time frames (make dev sets its own).
	ChatWSEndpoint string
	// OpenAI or any OpenAI-compatible server: OPENAI_API_KEY locally, the
	// secret OPENAI_SECRET_ARN names in AWS.
	OpenAIKey       string
	OpenAISecretARN string
	OpenAIBaseURL   string // OPENAI_BASE_URL
	OpenAIModel     string // OPENAI_MODEL
	OpenAITTSModel  string // OPENAI_TTS_MODEL
	// Microsoft 365 calendars (shared/calendar): MS_LOGIN_BASE_URL and
	// MS_GRAPH_BASE_URL ("" for Microsoft; a stand-in locally), MS_TENANT_ID
	// ("" is "common"), MS_CLIENT_ID, the client secret (MS_CLIENT_SECRET
	// locally, the secret MS_CLIENT_SECRET_ARN names in AWS), and
	// MS_GRAPH_NOTIFICATION_URL, where Graph posts change notifications
	// (the webhook's function URL in AWS; PUBLIC_BASE_URL's
	// /webhooks/microsoft-graph when unset).
	MSLoginBaseURL         string
	MSGraphBaseURL         string
	MSTenantID             string
	MSClientID             string
	MSClientSecret         string
	MSClientSecretARN      string
	MSGraphNotificationURL string
	// QueueURLs maps logical queue names to SQS URLs (QUEUE_URLS,
	// "name=url,name=url"), set by CDK for the functions that send.
	QueueURLs  map[string]string
	DevDataDir string // DEV_DATA_DIR: local keys and data (make dev)
	// Local stand-ins: set by make dev and make invoke, never in AWS.
	DynamoEndpoint string // DYNAMODB_ENDPOINT
	S3Endpoint     string // S3_ENDPOINT
}

// UnsetSecret is a provider secret's value until the operator sets it:
// the capability then answers 503 saying what to set.
const UnsetSecret = "unset"

// Getenv looks a name up; os.Getenv in production, a map in tests.
type Getenv func(string) string

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv and checks it.
func Load(getenv Getenv) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Function:       get(EnvFunction, "local"),
		Region:         get(EnvRegion, "us-east-1"),
		TableName:      get(EnvTableName, ""),
		BucketName:     get(EnvBucketName, ""),
		KMSKeyID:       get(EnvKMSKeyID, ""),
		AuditKeyID:     get(EnvAuditKeyID, ""),
		EventBusName:   get(EnvEventBus, ""),
		SigningSecret:  get(EnvSigningSecretARN, ""),
		TokenSecret:    get(EnvTokenSecretARN, ""),
		TokenPublicKey: get(EnvTokenPublicKey, ""),
		TokenIssuer:    get(EnvTokenIssuer, DefaultTokenIssuer),
		TokenAudience:  get(EnvTokenAudience, DefaultTokenAudience),
		LogLevel:       get(EnvLogLevel, DefaultLogLevel),
		PublicBaseURL:  get(EnvPublicBaseURL, ""),
		WebhookBaseURL: get(EnvWebhookBaseURL, getenv(EnvPublicBaseURL)),
		AppBaseURL:     get(EnvAppBaseURL, getenv(EnvPublicBaseURL)),
		DevDataDir:     get(EnvDevDataDir, ".dev"),
		DynamoEndpoint: get(EnvDynamoEndpoint, ""),
		S3Endpoint:     get(EnvS3Endpoint, ""),

		StripeSecretKey:  get(EnvStripeSecretKey, ""),
		StripeSecretARN:  get(EnvStripeSecretARN, ""),
		StripeAPIBaseURL: get(EnvStripeAPIBaseURL, ""),

		StripeWebhookSecret:    get(EnvStripeWebhookSecret, ""),
		StripeWebhookSecretARN: get(EnvStripeWebhookSecretARN, ""),
		QueueURLs:              map[string]string{},

		TwilioAccountSID:          get(EnvTwilioAccountSID, ""),
		TwilioAuthToken:           get(EnvTwilioAuthToken, ""),
		TwilioSecretARN:           get(EnvTwilioSecretARN, ""),
		TwilioMessagingServiceSID: get(EnvTwilioMessagingServiceSID, ""),
		TwilioAPIBaseURL:          get(EnvTwilioAPIBaseURL, ""),
		TwilioRepliesToKeywords:   get(EnvTwilioRepliesToKeywords, "true") != "false",
		EmailFrom:                 get(EnvEmailFrom, ""),
		SESEndpoint:               get(EnvSESEndpoint, ""),
		SESConfigurationSet:       get(EnvSESConfigurationSet, ""),

		DropboxSignAPIKey:     get(EnvDropboxSignAPIKey, ""),
		DropboxSignSecretARN:  get(EnvDropboxSignSecretARN, ""),
		DropboxSignAPIBaseURL: get(EnvDropboxSignAPIBaseURL, ""),
		DropboxSignClientID:   get(EnvDropboxSignClientID, ""),
		DropboxSignTestMode:   get(EnvDropboxSignTestMode, "1") != "0",

		GiphyAPIKey:     get(EnvGiphyAPIKey, ""),
		GiphySecretARN:  get(EnvGiphySecretARN, ""),
		GiphyAPIBaseURL: get(EnvGiphyAPIBaseURL, ""),
		ChatWSEndpoint:  get(EnvChatWSEndpoint, ""),

		OpenAIKey:       get(EnvOpenAIKey, ""),
		OpenAISecretARN: get(EnvOpenAISecretARN, ""),
		OpenAIBaseURL:   get(EnvOpenAIBaseURL, ""),
		OpenAIModel:     get(EnvOpenAIModel, ""),
		OpenAITTSModel:  get(EnvOpenAITTSModel, ""),

		MSLoginBaseURL:         get(EnvMSLoginBaseURL, ""),
		MSGraphBaseURL:         get(EnvMSGraphBaseURL, ""),
		MSTenantID:             get(EnvMSTenantID, ""),
		MSClientID:             get(EnvMSClientID, ""),
		MSClientSecret:         get(EnvMSClientSecret, ""),
		MSClientSecretARN:      get(EnvMSClientSecretARN, ""),
		MSGraphNotificationURL: get(EnvMSGraphNotificationURL, ""),
	}
	if n, err := strconv.Atoi(get(EnvSMSMaxSegments, "10")); err == nil && n > 0 && n <= 50 {
		c.SMSMaxSegments = n
	} else {
		return c, fmt.Errorf("config: SMS_MAX_SEGMENTS must be a whole number from 1 to 50")
	}
	for _, pair := range strings.Split(getenv(EnvQueueURLs), ",") {
		if name, url, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && name != "" && url != "" {
			c.QueueURLs[name] = url
		}
	}
	for _, o := range strings.Split(getenv(EnvCORSOrigins), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	return c, nil
}

// Need is a part of the wiring a function cannot start without. Load
// checks only what every run needs; each function states its needs, and
// platform builds only what the configuration names.
type Need int

const (
	// Table is TABLE_NAME: the function reads or writes items.
	Table Need = iota
	// Signing is SIGNING_SECRET_ARN (outside local runs): cursor and link
	// HMAC keys.
	Signing
	// Tokens is TOKEN_PUBLIC_KEY or TOKEN_SECRET_ARN (outside local runs):
	// the function verifies access tokens.
	Tokens
	// Events is EVENT_BUS_NAME (outside local runs): the function publishes
	// domain events.
	Events
)

// HTTP is what every function of the HTTP API (and its function URLs) needs.
var HTTP = []Need{Table, Signing, Tokens}

// Require reports the first need the configuration does not meet, naming
// the variable to set.
func (c Config) Require(needs ...Need) error {
	for _, n := range needs {
		switch {
		case n == Table && c.TableName == "":
			return fmt.Errorf("config: %s is required", EnvTableName)
		case c.Local():
			// The dev root stands in for every secret, the local bus for EventBridge.
		case n == Signing && c.SigningSecret == "":
			return fmt.Errorf("config: %s is required outside local runs (set %s for a local run)", EnvSigningSecretARN, EnvDynamoEndpoint)
		case n == Tokens && c.TokenPublicKey == "" && c.TokenSecret == "":
			return fmt.Errorf("config: %s (or %s) is required to verify access tokens", EnvTokenPublicKey, EnvTokenSecretARN)
		case n == Events && c.EventBusName == "":
			return fmt.Errorf("config: %s is required to publish events", EnvEventBus)
		}
	}
	return nil
}

// Local reports whether this run uses the local stand-ins.
func (c Config) Local() bool { return c.DynamoEndpoint != "" }
