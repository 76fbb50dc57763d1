// Package calendarwire builds the Microsoft 365 calendar service, and the
// calendar, msgraphwebhook and calendarworker functions on it.
package calendarwire

import (
	"context"
	"time"

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/platform/awssqs"
	"github.com/matterly/matterly/shared/providers/msgraph"
)

// MSGraph is Microsoft's login and Graph as the configuration names them
// (MS_LOGIN_BASE_URL, MS_GRAPH_BASE_URL, MS_TENANT_ID, MS_CLIENT_ID and
// the client secret); nil until the client id and secret are set. sleep,
// when set, replaces the waits of Retry-After (tests).
func MSGraph(d *platform.Deps, sleep func(context.Context, time.Duration) error) calendar.Graph {
	c := msgraph.New(msgraph.Config{LoginBaseURL: d.Config.MSLoginBaseURL, GraphBaseURL: d.Config.MSGraphBaseURL, TenantID: d.Config.MSTenantID,
		ClientID: d.Config.MSClientID, ClientSecret: d.MSClientSecret, Sleep: sleep})
	if c == nil {
		return nil // a nil *Client in the interface would not read as unset
	}
	return c
}

// Calendar is the Microsoft 365 calendar service.
func Calendar(d *platform.Deps) *calendar.Service {
	return calendar.NewService(d.DB, MSGraph(d, nil), awskms.Sealer(d), awssqs.Sender(d), crm.NewService(d.DB, d.Log, d.Now), d.Log, d.Now, calendar.Settings{
		StateKey: d.Keys.LinkKey, PublicBaseURL: d.Config.PublicBaseURL, AppBaseURL: d.Config.AppBaseURL, NotificationURL: d.Config.MSGraphNotificationURL})
}

// Router builds the calendar function.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	return calendar.NewRouter(Calendar(d), d.RouterConfig())
}

// WebhookRouter builds the msgraphwebhook function.
func WebhookRouter(d *platform.Deps) (*httpapi.Router, error) {
	return calendar.NewWebhookRouter(Calendar(d), d.RouterConfig())
}

// Worker builds the worker of calendar.Queue (syncs, subscriptions,
// write-backs; booking events arrive on the same queue).
func Worker(d *platform.Deps) *calendar.Worker {
	return calendar.NewWorker(Calendar(d))
}
