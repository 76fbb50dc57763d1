package routes

// The audit log is read by the org function: it lives in the org's
// partition next to the members and settings that function already reads.
// There is no route that writes it; the stream relay appends to it.
var auditRoutes = []Route{
	{Method: "GET", Path: "/v1/audit", Function: FnOrg},
	{Method: "GET", Path: "/v1/audit/verify", Function: FnOrg},
}
