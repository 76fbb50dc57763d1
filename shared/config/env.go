package config

// The environment variables a function is configured with, named once:
// Load reads them and the CDK stack (infra) sets them, so the two cannot
// drift apart.
const (
	EnvFunction   = "AWS_LAMBDA_FUNCTION_NAME" // set by Lambda
	EnvRegion     = "AWS_REGION"               // set by Lambda
	EnvTableName  = "TABLE_NAME"
	EnvBucketName = "BUCKET_NAME"
	EnvKMSKeyID   = "KMS_KEY_ID"
	// EnvAuditKeyID names the KMS key the audit chains' keys are sealed
	// under: only the relay and the org function (verify) get it.
	EnvAuditKeyID = "AUDIT_KEY_ID"
	EnvEventBus   = "EVENT_BUS_NAME"

	EnvSigningSecretARN = "SIGNING_SECRET_ARN"
	EnvTokenSecretARN   = "TOKEN_SECRET_ARN"
	EnvTokenPublicKey   = "TOKEN_PUBLIC_KEY"
	EnvTokenIssuer      = "TOKEN_ISSUER"
	EnvTokenAudience    = "TOKEN_AUDIENCE"

	EnvCORSOrigins    = "CORS_ORIGINS"
	EnvLogLevel       = "LOG_LEVEL"
	EnvPublicBaseURL  = "PUBLIC_BASE_URL"
	EnvAppBaseURL     = "APP_BASE_URL"
	EnvWebhookBaseURL = "WEBHOOK_BASE_URL"
	EnvQueueURLs      = "QUEUE_URLS"

	EnvStripeSecretKey        = "STRIPE_SECRET_KEY"
	EnvStripeSecretARN        = "STRIPE_SECRET_ARN"
	EnvStripeAPIBaseURL       = "STRIPE_API_BASE_URL"
	EnvStripeWebhookSecret    = "STRIPE_WEBHOOK_SECRET"
	EnvStripeWebhookSecretARN = "STRIPE_WEBHOOK_SECRET_ARN"

	EnvTwilioAccountSID          = "TWILIO_ACCOUNT_SID"
	EnvTwilioAuthToken           = "TWILIO_AUTH_TOKEN"
	EnvTwilioSecretARN           = "TWILIO_SECRET_ARN"
	EnvTwilioMessagingServiceSID = "TWILIO_MESSAGING_SERVICE_SID"
	EnvTwilioAPIBaseURL          = "TWILIO_API_BASE_URL"
	EnvTwilioRepliesToKeywords   = "TWILIO_REPLIES_TO_KEYWORDS"
	EnvSMSMaxSegments            = "SMS_MAX_SEGMENTS"

	EnvEmailFrom           = "EMAIL_FROM"
	EnvSESEndpoint         = "SES_ENDPOINT"
	EnvSESConfigurationSet = "SES_CONFIGURATION_SET"

	EnvDropboxSignAPIKey     = "DROPBOX_SIGN_API_KEY"
	EnvDropboxSignSecretARN  = "DROPBOX_SIGN_SECRET_ARN"
	EnvDropboxSignAPIBaseURL = "DROPBOX_SIGN_API_BASE_URL"
	EnvDropboxSignClientID   = "DROPBOX_SIGN_CLIENT_ID"
	EnvDropboxSignTestMode   = "DROPBOX_SIGN_TEST_MODE"

	// Team chat: Giphy (GIPHY_API_KEY locally, the secret GIPHY_SECRET_ARN
	// names in AWS, "unset" until set) and the WebSocket API's Management
	// API endpoint that fan-out posts frames to.
	EnvGiphyAPIKey     = "GIPHY_API_KEY"
	EnvGiphySecretARN  = "GIPHY_SECRET_ARN"
	EnvGiphyAPIBaseURL = "GIPHY_API_BASE_URL"
	EnvChatWSEndpoint  = "CHAT_WS_ENDPOINT"

	EnvOpenAIKey       = "OPENAI_API_KEY"
	EnvOpenAISecretARN = "OPENAI_SECRET_ARN"
	EnvOpenAIBaseURL   = "OPENAI_BASE_URL"
	EnvOpenAIModel     = "OPENAI_MODEL"
	EnvOpenAITTSModel  = "OPENAI_TTS_MODEL"

	// Microsoft 365 calendars: the app registration; the client secret is
	// MS_CLIENT_SECRET locally and the secret MS_CLIENT_SECRET_ARN names in
	// AWS ("unset" until set).
	EnvMSLoginBaseURL         = "MS_LOGIN_BASE_URL"
	EnvMSGraphBaseURL         = "MS_GRAPH_BASE_URL"
	EnvMSTenantID             = "MS_TENANT_ID"
	EnvMSClientID             = "MS_CLIENT_ID"
	EnvMSClientSecret         = "MS_CLIENT_SECRET"
	EnvMSClientSecretARN      = "MS_CLIENT_SECRET_ARN"
	EnvMSGraphNotificationURL = "MS_GRAPH_NOTIFICATION_URL"

	// Local stand-ins: set by make dev and make invoke, never in AWS.
	EnvDevDataDir     = "DEV_DATA_DIR"
	EnvDynamoEndpoint = "DYNAMODB_ENDPOINT"
	EnvS3Endpoint     = "S3_ENDPOINT"
)

// Defaults of the values Load falls back to.
const (
	DefaultTokenIssuer   = "matterly"
	DefaultTokenAudience = "matterly-app"
	DefaultLogLevel      = "info"
)
