// Package esignwire builds the e-signature service, and the esign,
// dropboxsignwebhook and esignworker functions on it.
package esignwire

import (
	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/providers/dropboxsign"
	"github.com/matterly/matterly/shared/wire/documentswire"
)

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
	return esign.NewService(d.DB, documentswire.Documents(d), DropboxSign(d), d.Log, d.Now)
}

// Router builds the esign function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return esign.NewRouter(ESign(d), d.RouterConfig())
}

// WebhookRouter builds the dropboxsignwebhook function.
func WebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	return esign.NewWebhookRouter(ESign(d), esign.Webhook{APIKey: d.DropboxSignKey, Queue: awssqs.Sender(d)}, d.RouterConfig())
}

// Worker builds the worker of esign.FilesQueue.
func Worker(d *platform.Deps) *esign.Worker {
	return esign.NewWorker(ESign(d))
}
