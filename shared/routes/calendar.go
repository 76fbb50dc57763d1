package routes

// FnCalendar serves Microsoft 365 calendar sync: connect (and its OAuth
// callback, a browser redirect with no token: the signed state is the
// proof), calendars chosen, events, availability and working hours.
const FnCalendar = "calendar"

// FnMSGraphWebhook receives Microsoft Graph's change and lifecycle
// notifications (validation handshake, clientState check, sync jobs
// queued for functions/calendarworker).
const FnMSGraphWebhook = "msgraphwebhook"

var calendarRoutes = []Route{
	{Method: "GET", Path: "/v1/calendar/microsoft/connect", Function: FnCalendar},
	{Method: "GET", Path: "/v1/calendar/microsoft/callback", Function: FnCalendar, Public: true},
	{Method: "GET", Path: "/v1/calendar/microsoft", Function: FnCalendar},
	{Method: "DELETE", Path: "/v1/calendar/microsoft", Function: FnCalendar},
	{Method: "PATCH", Path: "/v1/calendar/microsoft/calendars/{calendarId}", Function: FnCalendar},
	{Method: "POST", Path: "/v1/calendar/sync", Function: FnCalendar},
	{Method: "GET", Path: "/v1/calendar/events", Function: FnCalendar},
	{Method: "GET", Path: "/v1/calendar/availability", Function: FnCalendar},
	{Method: "GET", Path: "/v1/calendar/working-hours", Function: FnCalendar},
	{Method: "PUT", Path: "/v1/calendar/working-hours", Function: FnCalendar},
	{Method: "POST", Path: "/webhooks/microsoft-graph", Function: FnMSGraphWebhook, Public: true, FunctionURL: true},
}
