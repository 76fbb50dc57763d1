package routes

// FnPayments serves Stripe Connect onboarding and invoices.
const FnPayments = "payments"

var paymentRoutes = []Route{
	{Method: "POST", Path: "/v1/payments/connect", Function: FnPayments},
	{Method: "GET", Path: "/v1/payments/account", Function: FnPayments},
	{Method: "GET", Path: "/v1/invoices", Function: FnPayments},
	{Method: "POST", Path: "/v1/invoices", Function: FnPayments},
	{Method: "GET", Path: "/v1/invoices/{invoiceId}", Function: FnPayments},
	{Method: "POST", Path: "/v1/invoices/{invoiceId}/send", Function: FnPayments},
	{Method: "POST", Path: "/v1/invoices/{invoiceId}/void", Function: FnPayments},
}
