package main

import "github.com/matterly/matterly/shared/routes"

// perms says which shared resources a function may touch. Access is granted
// only through the constructs' Grant* methods, so each function's role holds
// exactly the actions (and KMS key use) its resources need, nothing wider.
type perms struct {
	Table  bool // read/write on the DynamoDB table
	Bucket bool // read/write on the documents bucket
	Secret bool // read the signing secret (cursor and link HMAC keys)
	// TokenSigner reads the token secret to issue access tokens; everyone
	// else verifies with the published public key.
	TokenSigner bool
	// Events publishes to the event bus directly. No API function does: they
	// write activity entries that the relay (newRelay) publishes from the
	// table's stream.
	Events bool
	// Stripe reads the Stripe secret key (STRIPE_SECRET_ARN).
	Stripe bool
	// StripeWebhook reads the webhook signing secret and sends to the
	// stripe-events queue.
	StripeWebhook bool
	// Twilio reads the Twilio secret (TWILIO_SECRET_ARN).
	Twilio bool
	// Messages sends to the messages queue (the message worker's).
	Messages bool
	// OpenAI reads the AI provider's key (OPENAI_SECRET_ARN).
	OpenAI bool
	// Summaries sends to the summaries queue (the AI worker's).
	Summaries bool
	// AccountEmail sends the platform's own account notices (someone tried
	// to sign up with your address) from EMAIL_FROM through SES: only from
	// that address's identities.
	AccountEmail bool
	// ESign reads the Dropbox Sign API key (DROPBOX_SIGN_SECRET_ARN).
	ESign bool
	// ESignFiles sends to the signed-file queue (the e-signature worker's).
	ESignFiles bool
	// Seal encrypts and opens secrets kept at rest (shared/envelope: TOTP
	// secrets): KMS_KEY_ID names the data key, and the role may ask it for
	// data keys (kms:GenerateDataKey) and open them (kms:Decrypt).
	Seal bool
	// Giphy reads the Giphy API key (GIPHY_SECRET_ARN).
	Giphy bool
	// Calendar reads the Microsoft client secret and seals and opens OAuth
	// tokens (GenerateDataKey and Decrypt on the calendar token key).
	Calendar bool
	// CalendarQueue sends to the calendar sync queue (the calendar worker's).
	CalendarQueue bool
	// PrivacyExports sends to the export queue and reads export zips (the
	// presigned download acts with the function's role).
	PrivacyExports bool
	// Erasure lists and deletes every object version: a client's erasure
	// (the crm function's DELETE ?erase=true) and the privacy worker only.
	Erasure bool
	// ReadDocuments reads the documents bucket's objects (no writes, no
	// presigned URLs): a capability that sends a document elsewhere.
	ReadDocuments bool
	// AuditVerify opens the audit chains' keys (kms:Decrypt on the audit
	// key) and reads the chains' anchors: the audit log's verify route.
	AuditVerify bool
	// MemoryMB overrides the 256 MB default (PDFium in WebAssembly wants
	// room, and Lambda's CPU grows with memory).
	MemoryMB float64
	// TimeoutSeconds overrides the 10-second default, for functions that
	// wait on a provider.
	TimeoutSeconds float64
}

// defaultPerms applies to functions not listed in functionPerms. Every app
// API function verifies access tokens (signing secret) and works on tenant
// items (table); the bucket holds documents, so it must be asked for.
var defaultPerms = perms{Table: true, Secret: true}

// functionPerms lists the functions whose needs differ from defaultPerms, or
// that are worth spelling out. Keys are routes.Function names.
var functionPerms = map[string]perms{
	routes.FnAccounts: {Table: true, Secret: true, TokenSigner: true, AccountEmail: true},
	// Auth also seals and opens the members' TOTP secrets (two-factor).
	routes.FnAuth: {Table: true, Secret: true, TokenSigner: true, Seal: true},
	// Org serves the audit log, whose verify opens the chain keys and
	// reads the anchors (never writes either).
	routes.FnOrg: {Table: true, Secret: true, AuditVerify: true},
	// The crm function erases clients (?erase=true): their documents'
	// every S3 object version goes, so it lists and deletes versions.
	routes.FnCRM: {Table: true, Secret: true, Erasure: true, TimeoutSeconds: 30},
	// The only app API function that touches the bucket: it presigns the
	// browser's PUT/GET URLs, which act with this function's role.
	routes.FnDocuments: {Table: true, Secret: true, Bucket: true},
	// Trust records live in the table only; the function never sees a
	// document or moves money.
	routes.FnTrust: {Table: true, Secret: true},
	// The only function that talks to Stripe, so the only one with its key.
	// Sending an invoice may take several Stripe calls of up to 8 s each.
	routes.FnPayments: {Table: true, Secret: true, Stripe: true, TimeoutSeconds: 30},
	// The webhook checks signatures and queues: no table, no Stripe key.
	routes.FnStripeWebhook: {Secret: true, StripeWebhook: true},
	// Messaging stores and queues messages (the worker sends them); it
	// calls Twilio only to buy numbers and create Messaging Services for
	// orgs (two calls of up to 10 s), and SES's identity calls for their
	// email domains (equipSenders).
	routes.FnMessaging: {Table: true, Secret: true, Twilio: true, Messages: true, TimeoutSeconds: 30},
	// The Twilio webhook checks signatures with the auth token, then
	// records consent changes and inbound messages.
	routes.FnTwilioWebhook: {Table: true, Secret: true, Twilio: true},
	// AI reads documents (extraction happens here, never at the provider)
	// and writes drafts as documents; short summaries run in the request.
	routes.FnAI: {Table: true, Secret: true, Bucket: true, OpenAI: true, Summaries: true, MemoryMB: 1024, TimeoutSeconds: 90},
	// Speech streams audio from the provider: no documents, no bucket.
	routes.FnSpeech: {Table: true, Secret: true, OpenAI: true, TimeoutSeconds: 120},
	// E-signatures read the document sent (never write: the worker stores
	// signed copies) and call Dropbox Sign, a send carrying the file.
	routes.FnESign: {Table: true, Secret: true, ReadDocuments: true, ESign: true, MemoryMB: 512, TimeoutSeconds: 60},
	// The callback checks event hashes with the API key, applies events to
	// requests and queues signed-file downloads.
	routes.FnDropboxSignWebhook: {Table: true, Secret: true, ESign: true, ESignFiles: true},
	// Chat presigns attachments' PUT and GET URLs (the bucket), calls
	// Giphy, and posts frames to the WebSocket API (newChatWebSocket).
	routes.FnChat: {Table: true, Secret: true, Bucket: true, Giphy: true},
	// The calendar function connects (a code exchange, /me and the
	// calendars: three Microsoft calls), reads events and queues syncs.
	routes.FnCalendar: {Table: true, Secret: true, Calendar: true, CalendarQueue: true, TimeoutSeconds: 30},
	// Graph's notifications: the clientState check reads the subscription
	// map; work is queued. No tokens, no Microsoft secret.
	routes.FnMSGraphWebhook: {Table: true, Secret: true, CalendarQueue: true},
	// Privacy queues exports and hands out their download links.
	routes.FnPrivacy: {Table: true, Secret: true, PrivacyExports: true},
}

// permsFor returns the permissions of one function.
func permsFor(name string) perms {
	if p, ok := functionPerms[name]; ok {
		return p
	}
	return defaultPerms
}
