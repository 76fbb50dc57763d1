package routes

// FnCRM serves clients, matters, notes, bookings and the activity log.
const FnCRM = "crm"

var crmRoutes = []Route{
	{Method: "GET", Path: "/v1/clients", Function: FnCRM},
	{Method: "POST", Path: "/v1/clients", Function: FnCRM},
	{Method: "GET", Path: "/v1/clients/{clientId}", Function: FnCRM},
	{Method: "PATCH", Path: "/v1/clients/{clientId}", Function: FnCRM},
	{Method: "DELETE", Path: "/v1/clients/{clientId}", Function: FnCRM},

	{Method: "GET", Path: "/v1/matters", Function: FnCRM},
	{Method: "POST", Path: "/v1/matters", Function: FnCRM},
	{Method: "GET", Path: "/v1/matters/{matterId}", Function: FnCRM},
	{Method: "PATCH", Path: "/v1/matters/{matterId}", Function: FnCRM},
	{Method: "DELETE", Path: "/v1/matters/{matterId}", Function: FnCRM},

	{Method: "GET", Path: "/v1/clients/{clientId}/notes", Function: FnCRM},
	{Method: "POST", Path: "/v1/clients/{clientId}/notes", Function: FnCRM},
	{Method: "GET", Path: "/v1/matters/{matterId}/notes", Function: FnCRM},
	{Method: "POST", Path: "/v1/matters/{matterId}/notes", Function: FnCRM},
	{Method: "GET", Path: "/v1/notes/{noteId}", Function: FnCRM},
	{Method: "PATCH", Path: "/v1/notes/{noteId}", Function: FnCRM},
	{Method: "DELETE", Path: "/v1/notes/{noteId}", Function: FnCRM},

	{Method: "GET", Path: "/v1/bookings", Function: FnCRM},
	{Method: "POST", Path: "/v1/bookings", Function: FnCRM},
	{Method: "GET", Path: "/v1/bookings/{bookingId}", Function: FnCRM},
	{Method: "PATCH", Path: "/v1/bookings/{bookingId}", Function: FnCRM},
	{Method: "DELETE", Path: "/v1/bookings/{bookingId}", Function: FnCRM},

	{Method: "GET", Path: "/v1/activity", Function: FnCRM},
}
