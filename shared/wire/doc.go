// Package wire holds the glue between platform.Deps and the domain
// packages, a package per capability (its service, and the functions
// served by it), so that each function links only its own wiring and the
// AWS clients that wiring asks for (shared/platform/aws*):
//
//	identitywire      Identity, the org function
//	authwire          auth (seals TOTP secrets: KMS)
//	accountswire      accounts (the password policy, sign-up mail)
//	crmwire           crm (client erasure: privacysvcwire)
//	trustwire         trust
//	documentswire     the documents bucket and service, the documents function
//	summarieswire     ai, speech, aiworker
//	paymentswire      payments, stripeworker
//	stripewebhookwire stripewebhook (checks signatures, queues)
//	messagingwire     the messaging service, twiliowebhook, notifier, messageworker
//	senderswire       the message providers' setup (accounts, messageworker)
//	messagingapiwire  the messaging function (provisions senders)
//	esignwire         esign, dropboxsignwebhook, esignworker
//	chatwire          chat, chatws
//	calendarwire      calendar, msgraphwebhook, calendarworker
//	privacysvcwire    the privacy service without the workspace erasers
//	privacywire       privacy, privacyworker
//
// The domain packages take only what they use (their constructors say so).
// The mains (functions/*/main.go) and the devstack both build a function
// through these packages, so they build it the same way. Nothing else
// imports them; this package itself holds only their tests.
package wire
