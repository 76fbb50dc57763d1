package routes

// FnTrust serves the trust accounting records: accounts, the journal,
// client and matter ledgers, reconciliation and the trust audit trail.
const FnTrust = "trust"

var trustRoutes = []Route{
	{Method: "GET", Path: "/v1/trust/accounts", Function: FnTrust},
	{Method: "POST", Path: "/v1/trust/accounts", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/accounts/{accountId}", Function: FnTrust},

	{Method: "GET", Path: "/v1/trust/entries", Function: FnTrust},
	{Method: "POST", Path: "/v1/trust/entries", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/entries/{entryId}", Function: FnTrust},
	{Method: "POST", Path: "/v1/trust/entries/{entryId}/reverse", Function: FnTrust},
	{Method: "POST", Path: "/v1/trust/entries/{entryId}/clear", Function: FnTrust},

	{Method: "GET", Path: "/v1/trust/ledgers", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/reconciliation", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/reconciliations", Function: FnTrust},
	{Method: "POST", Path: "/v1/trust/reconciliations", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/export", Function: FnTrust},
	{Method: "GET", Path: "/v1/trust/activity", Function: FnTrust},
}
