package messaging

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Setup is what a function's messaging Service is built from: its
// configuration, the table, and the platform's Twilio credentials and link
// key.
type Setup struct {
	Config           config.Config
	DB               *store.DB
	Log              *slog.Logger
	Now              func() time.Time
	Queue            queue.Sender // the send queue; nil in functions that only read
	LinkKey          []byte       // signs unsubscribe and confirmation links
	TwilioAccountSID string
	TwilioAuthToken  string
}

// Build builds the service for a function.
func Build(d Setup) *Service {
	cfg := d.Config
	smsBox, emailBox := Sandboxed(cfg.Local(), d.TwilioAccountSID, cfg.SESEndpoint)
	from := cfg.EmailFrom
	if emailBox && from == "" {
		from = sandboxFrom
	}
	// The providers' own (providers/senders.Provision) are set by the
	// functions that need them; make dev's sandboxes are set here.
	var domains EmailDomains
	var numbers Numbers
	if emailBox {
		domains = SandboxDomains{}
	}
	if smsBox {
		numbers = SandboxNumbers{}
	}
	return &Service{Domains: domains, Numbers: numbers, DB: d.DB, Log: d.Log, Now: d.Now, NewID: newID, Queue: d.Queue,
		SMSReady:   smsBox || d.TwilioAccountSID != "" && d.TwilioAuthToken != "",
		EmailReady: emailBox || cfg.EmailFrom != "" || !cfg.Local(),
		SandboxSMS: smsBox, SandboxDomains: emailBox, MaxSegments: cfg.SMSMaxSegments, PublicURL: cfg.PublicBaseURL, WebhookURL: cfg.WebhookBaseURL, LinkKey: d.LinkKey, EmailFrom: from}
}

// sandboxFrom is the sender of make dev's sandboxed email.
const sandboxFrom = "no-reply@sandbox.matterly.invalid"

// Sandboxed says which channels go to make dev's outbox: a local run
// without Twilio credentials (SMS) or without an SES endpoint (email).
// In AWS nothing is ever sandboxed.
func Sandboxed(local bool, twilioSID, sesEndpoint string) (sms, email bool) {
	return local && twilioSID == "", local && sesEndpoint == ""
}

// NewRouter serves the messaging API and the unsubscribe link.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnMessaging, rc.Options)
	rt.Handle("POST /v1/messages/sms", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.SendMessages, func(in SMSInput) (any, error) {
			return svc.SendSMS(ctx, r.Principal, in)
		}, http.StatusAccepted)
	})
	rt.Handle("POST /v1/messages/email", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.SendMessages, func(in EmailInput) (any, error) {
			return svc.SendEmail(ctx, r.Principal, in)
		}, http.StatusAccepted)
	})
	rt.Handle("GET /v1/messages", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadMessages); err != nil {
			return nil, err
		}
		pk, err := conversationOf(ctx, svc, r)
		if err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, rc.Cursors, "messages|"+pk, func(limit int32, start store.StartKey) ([]Message, store.StartKey, error) {
			var out []Message
			next, err := svc.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: pk, Limit: limit, StartKey: start}, &out)
			return out, next, err
		})
	})
	rt.Handle("GET /v1/consent", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadConsent); err != nil {
			return nil, err
		}
		channel, addr, err := addressOf(r)
		if err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, rc.Cursors, "consent|"+channel+"|"+addr, func(limit int32, start store.StartKey) ([]ConsentChange, store.StartKey, error) {
			return svc.ConsentLog(ctx, r.Principal.OrgID, channel, addr, limit, start)
		})
	})
	rt.Handle("GET /v1/consent/state", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadConsent); err != nil {
			return nil, err
		}
		channel, addr, err := addressOf(r)
		if err != nil {
			return nil, err
		}
		c, err := svc.ConsentOf(ctx, r.Principal.OrgID, channel, addr)
		if c.State == "" {
			c.State = "none"
		}
		return httpapi.JSON(http.StatusOK, c), err
	})
	rt.Handle("POST /v1/consent", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.RecordConsent, func(in ConsentInput) (any, error) {
			return svc.RecordConsent(ctx, r.Principal, in)
		}, http.StatusCreated)
	})
	rt.Handle("GET /v1/messaging/settings", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadMessages); err != nil {
			return nil, err
		}
		st, err := svc.settings(ctx, r.Principal.OrgID)
		return httpapi.JSON(http.StatusOK, st), err
	})
	rt.Handle("PATCH /v1/messaging/settings", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManageMessaging, func(in SettingsPatch) (any, error) {
			return svc.UpdateSettings(ctx, r.Principal, in)
		}, http.StatusOK)
	})
	rt.Handle("POST /v1/messaging/email-domains", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManageMessaging, func(in DomainInput) (any, error) {
			return svc.AddDomain(ctx, r.Principal, in)
		}, http.StatusCreated)
	})
	rt.Handle("GET /v1/messaging/email-domains", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageMessaging); err != nil {
			return nil, err
		}
		ds, err := svc.ListDomains(ctx, r.Principal)
		return httpapi.JSON(http.StatusOK, map[string]any{"items": ds}), err
	})
	rt.Handle("DELETE /v1/messaging/email-domains/{domain}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageMessaging); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), svc.DeleteDomain(ctx, r.Principal, r.Param("domain"))
	})
	rt.Handle("POST /v1/messaging/sms-numbers", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.ManageMessaging, func(in NumberInput) (any, error) {
			return svc.BuyNumber(ctx, r.Principal, in)
		}, http.StatusCreated)
	})
	rt.Handle("POST /v1/messaging/sms-services", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ManageMessaging); err != nil {
			return nil, err
		}
		out, err := svc.CreateService(ctx, r.Principal)
		return httpapi.JSON(http.StatusCreated, out), err
	})
	handlePages(rt, svc) // pages.go: unsubscribe, double opt-in
	return rt, rt.Check()
}

// conversationOf is the conversation ?clientId= (or ?phone= / ?email=,
// for senders no client matches) names.
func conversationOf(ctx context.Context, svc *Service, r *httpapi.Request) (string, error) {
	org := r.Principal.OrgID
	if id := r.Query("clientId"); id != "" {
		if !check.ID(id) {
			return "", fault.Fields(fault.FieldError{Field: "clientId", Message: "is not an id"})
		}
		if _, err := crm.LoadClient(ctx, svc.DB, org, id); err != nil {
			return "", err
		}
		return conversationPK(org, id, ""), nil
	}
	_, addr, err := addressOf(r)
	if err != nil {
		return "", fault.Fields(fault.FieldError{Field: "clientId", Message: "give clientId, phone or email"})
	}
	return conversationPK(org, "", addr), nil
}

// addressOf reads ?phone= or ?email=.
func addressOf(r *httpapi.Request) (channel, address string, err error) {
	phone, email := strings.TrimSpace(r.Query("phone")), r.Query("email")
	switch {
	case phone != "" && email == "":
		if !check.Phone(phone) {
			return "", "", fault.Fields(fault.FieldError{Field: "phone", Message: check.PhoneMessage})
		}
		return SMS, phone, nil
	case email != "" && phone == "":
		e, ok := check.Email(email)
		if !ok {
			return "", "", fault.Fields(fault.FieldError{Field: "email", Message: "must be an email address"})
		}
		return Email, e, nil
	}
	return "", "", fault.Fields(fault.FieldError{Field: "phone", Message: "give exactly one of phone and email"})
}

// Unsubscribe records the opt-out a signed link names and returns the
// org's name for the confirmation page. Opening it twice logs once.
func (s *Service) Unsubscribe(ctx context.Context, token string) (string, error) {
	orgID, addr, name, err := s.unsubscribeTarget(ctx, token)
	if err != nil {
		return "", err
	}
	// The link and a mail client's one-click POST may arrive together: the
	// marker (one per address and unsubscribed state version) lets one log it.
	for {
		cur, err := s.ConsentOf(ctx, orgID, Email, addr)
		if err != nil || cur.State == ConsentOut {
			return name, err
		}
		once, err := s.DB.Put(store.Keys{PK: tenant.PK(orgID), SK: consentSK(Email, addr) + "#UNSUB#" + strconv.FormatInt(cur.Version, 10), Type: "unsubscribeMarker"}, store.NotExists())
		if err != nil {
			return "", err
		}
		_, err = s.ChangeConsent(ctx, orgID, ConsentChange{Channel: Email, Address: addr, State: ConsentOut, Method: MethodUnsubscribe}, once)
		if isDuplicate(err) {
			continue // the other request logged it: read the state again
		}
		return name, err
	}
}

// SettingsPatch changes some settings.
type SettingsPatch struct {
	ReminderLeadMinutes *int    `json:"reminderLeadMinutes"`
	QuietStart          *string `json:"quietHoursStart"`
	QuietEnd            *string `json:"quietHoursEnd"`
	PaymentReminders    *bool   `json:"paymentReminders"`
	FromEmail           *string `json:"fromEmail"`
	ReplyToEmail        *string `json:"replyToEmail"`
}

// UpdateSettings saves the org's messaging settings.
func (s *Service) UpdateSettings(ctx context.Context, a caller.Caller, p SettingsPatch) (Settings, error) {
	st, err := s.settings(ctx, a.OrgID)
	if err != nil {
		return Settings{}, err
	}
	prev := st.UpdatedAt
	if p.ReminderLeadMinutes != nil {
		st.ReminderLeadMinutes = *p.ReminderLeadMinutes
	}
	if p.QuietStart != nil {
		st.QuietStart = *p.QuietStart
	}
	if p.QuietEnd != nil {
		st.QuietEnd = *p.QuietEnd
	}
	if p.PaymentReminders != nil {
		st.PaymentReminders = *p.PaymentReminders
	}
	var ck fault.Checker
	ck.Check(st.ReminderLeadMinutes >= 15 && st.ReminderLeadMinutes <= MaxLeadMinutes, "reminderLeadMinutes", "must be from 15 to 10080 (7 days)")
	ck.Check(check.ClockTime(st.QuietStart), "quietHoursStart", "must be HH:MM")
	ck.Check(check.ClockTime(st.QuietEnd), "quietHoursEnd", "must be HH:MM")
	var fromDomain string
	if p.FromEmail != nil {
		// Checked only when set: a fromEmail saved before domains were
		// verified does not block other settings (the worker sends from
		// the platform's address until its domain is verified).
		st.FromEmail = ""
		if v := strings.TrimSpace(*p.FromEmail); v != "" {
			e, domain, ok := address(v)
			ck.Check(ok, "fromEmail", "must be an email address")
			st.FromEmail, fromDomain = e, domain
		}
	}
	if p.ReplyToEmail != nil {
		st.ReplyToEmail = ""
		if v := strings.TrimSpace(*p.ReplyToEmail); v != "" {
			e, _, ok := address(v)
			ck.Check(ok, "replyToEmail", "must be an email address")
			st.ReplyToEmail = e
		}
	}
	if err := ck.Err(); err != nil {
		return Settings{}, err
	}
	if fromDomain != "" {
		ok, err := s.domainVerifiedFor(ctx, a.OrgID, fromDomain)
		if err != nil {
			return Settings{}, err
		}
		if !ok {
			return Settings{}, fault.Fields(fault.FieldError{Field: "fromEmail",
				Message: "must be on a domain verified for this org: add " + fromDomain + " with POST /v1/messaging/email-domains and publish its DNS records"})
		}
	}
	st.UpdatedAt = s.Now().UTC()
	st.Keys = store.Keys{PK: tenant.PK(a.OrgID), SK: settingsSK, Type: "messagingSettings"}
	cond := store.NotExists()
	if !prev.IsZero() {
		cond = store.Unchanged(prev)
	}
	put, err := s.DB.Put(st, cond)
	if err != nil {
		return Settings{}, err
	}
	e := activity.Entry{Action: "messaging.settings.updated", EntityType: "org", EntityID: a.OrgID}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, st.UpdatedAt, access.ManageMessaging, e, put); store.Failed(err, 0) {
		return Settings{}, fault.E(fault.Conflict, "The settings changed while you edited them; reload and try again.")
	} else if err != nil {
		return Settings{}, err
	}
	return st, nil
}

// Webhook is what Twilio's webhooks need: the platform's auth token (every
// request's signature is checked with it), the public base URL Twilio
// signed, and whether Twilio answers STOP/START/HELP itself.
type Webhook struct {
	AuthToken         string
	PublicBaseURL     string
	RepliesToKeywords bool
}

// NewWebhookRouter serves Twilio's webhooks (a function URL in AWS): each
// signature is checked before anything else.
func NewWebhookRouter(svc *Service, wh Webhook, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnTwilioWebhook, httpapi.Options{Verifier: rc.Verifier, Logger: rc.Logger, MaxBody: 64 << 10})
	rt.Handle("POST /webhooks/twilio/sms", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		form, err := verifiedForm(r, wh.AuthToken, wh.PublicBaseURL)
		if err != nil {
			return nil, err
		}
		reply, err := svc.Inbound(ctx, form, !wh.RepliesToKeywords)
		if err != nil {
			return nil, err
		}
		return twiml(reply), nil
	})
	rt.Handle("POST /webhooks/twilio/status", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		form, err := verifiedForm(r, wh.AuthToken, wh.PublicBaseURL)
		if err != nil {
			return nil, err
		}
		if err := svc.Status(ctx, r.Query("org"), r.Query("msg"), form); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	return rt, rt.Check()
}

// twiml is Twilio's answer: an empty <Response/>, or one message.
func twiml(reply string) *httpapi.Response {
	body := `<?xml version="1.0" encoding="UTF-8"?><Response/>`
	if reply != "" {
		body = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>` + html.EscapeString(reply) + `</Message></Response>`
	}
	return httpapi.Text(http.StatusOK, "text/xml", body)
}
