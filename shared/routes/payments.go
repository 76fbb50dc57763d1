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
	{Method: "GET", Path: "/v1/payments", Function: FnPayments},
	{Method: "GET", Path: "/v1/billing/credits", Function: FnPayments},
	{Method: "POST", Path: "/v1/billing/credits/grants", Function: FnPayments},
	{Method: "POST", Path: "/v1/billing/credits/topup", Function: FnPayments},
}

// FnStripeWebhook receives Stripe's webhooks: it checks the signature and
// queues the event for the worker (functions/stripeworker).
const FnStripeWebhook = "stripewebhook"

var webhookRoutes = []Route{
	{Method: "POST", Path: "/webhooks/stripe", Function: FnStripeWebhook, Public: true, FunctionURL: true},
}
