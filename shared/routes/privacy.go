package routes

// FnPrivacy serves the data subject's rights: exports, restriction of a
// client and the retention policy (a client's erasure is the crm
// function's DELETE /v1/clients/{clientId}?erase=true).
const FnPrivacy = "privacy"

// FnPrivacyWorker builds exports from the privacy-exports queue and runs
// the daily retention schedule; it serves no route.
const FnPrivacyWorker = "privacyworker"

var privacyRoutes = []Route{
	{Method: "POST", Path: "/v1/privacy/exports", Function: FnPrivacy},
	{Method: "GET", Path: "/v1/privacy/exports", Function: FnPrivacy},
	{Method: "GET", Path: "/v1/privacy/exports/{exportId}", Function: FnPrivacy},
	{Method: "PUT", Path: "/v1/clients/{clientId}/restriction", Function: FnPrivacy},
	{Method: "DELETE", Path: "/v1/org", Function: FnPrivacy},
	{Method: "GET", Path: "/v1/privacy/retention", Function: FnPrivacy},
	{Method: "PATCH", Path: "/v1/privacy/retention", Function: FnPrivacy},
}
