package routes

// FnESign serves e-signatures through Dropbox Sign: sending a document,
// tracking, cancelling and reminding.
const FnESign = "esign"

// FnDropboxSignWebhook receives Dropbox Sign's callbacks (checks the event
// hash, applies the event, queues signed-file downloads for
// functions/esignworker).
const FnDropboxSignWebhook = "dropboxsignwebhook"

var esignRoutes = []Route{
	{Method: "POST", Path: "/v1/documents/{documentId}/signature-requests", Function: FnESign},
	{Method: "GET", Path: "/v1/signature-requests/{requestId}", Function: FnESign},
	{Method: "GET", Path: "/v1/matters/{matterId}/signature-requests", Function: FnESign},
	{Method: "POST", Path: "/v1/signature-requests/{requestId}/cancel", Function: FnESign},
	{Method: "POST", Path: "/v1/signature-requests/{requestId}/remind", Function: FnESign},
	{Method: "POST", Path: "/webhooks/dropbox-sign", Function: FnDropboxSignWebhook, Public: true, FunctionURL: true},
}
