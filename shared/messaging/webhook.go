package messaging

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/messaging/twiliosig"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// errNoTwilio answers webhooks while no auth token is set: never accept an
// unsigned call.
var errNoTwilio = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "The Twilio webhook is not configured: set TWILIO_AUTH_TOKEN (the Twilio secret in AWS)."}

// publicURL is the URL Twilio called: PUBLIC_BASE_URL (or, behind a
// function URL, the Host Twilio used) plus the path and query as sent.
func publicURL(base string, r *httpapi.Request) string {
	if base == "" {
		base = "https://" + r.Header("Host")
		if d := r.Event.RequestContext.DomainName; d != "" {
			base = "https://" + d
		}
	}
	u := strings.TrimRight(base, "/") + r.Event.RawPath
	if r.Event.RawPath == "" {
		u = strings.TrimRight(base, "/") + r.Event.RequestContext.HTTP.Path
	}
	if r.Event.RawQueryString != "" {
		u += "?" + r.Event.RawQueryString
	}
	return u
}

// verifiedForm reads a Twilio webhook's form after checking its signature:
// 403, with nothing stored, when it does not verify.
func verifiedForm(r *httpapi.Request, authToken, base string) (url.Values, error) {
	if authToken == "" {
		return nil, errNoTwilio
	}
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !twiliosig.ValidRequest(authToken, publicURL(base, r), form, r.Header("X-Twilio-Signature")) {
		return nil, fault.E(fault.Forbidden, "The X-Twilio-Signature header does not verify.")
	}
	return form, nil
}

// Inbound handles one verified inbound SMS: a keyword changes consent
// (effective for every later send), and every message is kept in the
// client's conversation. It returns the reply to send, "" for none.
//
// Twilio retries a webhook it got no answer to; the message's id is its
// MessageSid, so a retry stores nothing twice and logs no second change.
func (s *Service) Inbound(ctx context.Context, form url.Values, replyToKeywords bool) (string, error) {
	from, to, body, sid := form.Get("From"), form.Get("To"), form.Get("Body"), form.Get("MessageSid")
	if sid == "" || from == "" || to == "" {
		return "", fault.E(fault.Malformed, "From, To and MessageSid are required.")
	}
	// The org's own number, else the Messaging Service the number is in.
	orgID, err := identity.SMSNumberOwner(ctx, s.DB, to)
	if err == nil && orgID == "" && form.Get("MessagingServiceSid") != "" {
		orgID, err = identity.MessagingServiceOwner(ctx, s.DB, form.Get("MessagingServiceSid"))
	}
	if err != nil {
		return "", err
	}
	if orgID == "" {
		// Not a number of any org: acknowledged so Twilio stops retrying.
		s.Log.Warn("inbound SMS to a number no org uses", "messageSid", sid)
		return "", nil
	}
	clientID, err := s.clientByPhone(ctx, orgID, from)
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	m := Message{ID: sid, Channel: SMS, Direction: Inbound, ClientID: clientID, To: to, From: from,
		Body: truncate(body, 1600), Status: StatusReceived, ProviderID: sid, CreatedAt: now, UpdatedAt: now}
	m.setKeys(orgID)
	put, err := s.DB.Put(m, store.NotExists())
	if err != nil {
		return "", err
	}
	kind, keyword := KeywordOf(body)
	state := map[string]string{OptOut: ConsentOut, OptIn: ConsentIn}[kind]
	if state == "" {
		err = s.DB.Transact(ctx, put)
	} else {
		_, err = s.ChangeConsent(ctx, orgID, ConsentChange{Channel: SMS, Address: from, State: state, Method: MethodKeyword,
			Keyword: keyword, ClientID: clientID, MessageID: m.ID, ProviderID: sid}, put)
	}
	if isDuplicate(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !replyToKeywords {
		return "", nil
	}
	var o org
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &o); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	switch kind {
	case OptOut:
		return o.sender() + ": You are unsubscribed and will receive no more messages. Reply START to resubscribe.", nil
	case OptIn:
		return o.sender() + ": You are resubscribed to messages. Reply STOP to unsubscribe.", nil
	case Help:
		return o.sender() + ": Messages about your appointments and matters. Reply STOP to unsubscribe.", nil
	}
	return "", nil
}

// isDuplicate reports a transaction refused because the message's put
// (the last item) found it stored already.
func isDuplicate(err error) bool {
	var tce *store.TxCanceledError
	if !errors.As(err, &tce) {
		return false
	}
	return tce.Failed(len(tce.Reasons) - 1)
}

// clientByPhone is the org's client with this number, "" for none (or
// when several share it: the conversation then stays under the number).
func (s *Service) clientByPhone(ctx context.Context, orgID, phone string) (string, error) {
	ids, err := crm.ClientsWithContact(ctx, s.DB, orgID, crm.ContactPhone, phone, 5)
	if err != nil {
		return "", err
	}
	var match []string
	for _, id := range ids {
		var c crm.Client
		err := s.DB.Get(ctx, tenant.PK(orgID), crm.ClientSK(id), &c)
		if err == nil && c.Phone == phone { // an entry may trail an edit or a delete
			match = append(match, c.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	if len(match) != 1 {
		return "", nil
	}
	return match[0], nil
}

// statusRank orders delivery statuses, so a late callback never moves a
// message back (Twilio does not promise callbacks in order).
var statusRank = map[string]int{StatusQueued: 0, StatusSending: 1, StatusSent: 2, StatusFailed: 3, StatusDelivered: 3, StatusUndelivered: 3}

// twilioStatuses maps Twilio's MessageStatus to ours; the rest (accepted,
// scheduled, queued, sending, receiving, read) change nothing.
var twilioStatuses = map[string]string{"sent": StatusSent, "delivered": StatusDelivered, "undelivered": StatusUndelivered, "failed": StatusFailed}

// Status applies one verified delivery status callback.
func (s *Service) Status(ctx context.Context, orgID, messageID string, form url.Values) error {
	to, ok := twilioStatuses[form.Get("MessageStatus")]
	if !ok || !tenantID(orgID) || !tenantID(messageID) {
		return nil
	}
	for try := 0; try < maxConsentTries; try++ {
		var m Message
		if err := s.DB.Get(ctx, tenant.PK(orgID), messageSK(messageID), &m); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		// A message marked failed as delivery_unknown may still be
		// corrected by Twilio's word that it went out.
		unknown := m.Status == StatusFailed && m.ErrorCode == "delivery_unknown"
		if statusRank[to] <= statusRank[m.Status] && !unknown || m.Status == StatusBlocked || m.Direction != Outbound {
			return nil
		}
		prev := m.UpdatedAt
		m.Status, m.UpdatedAt = to, s.Now().UTC()
		if sid := form.Get("MessageSid"); sid != "" && m.ProviderID == "" {
			m.ProviderID = sid
		}
		m.ErrorCode, m.Error = form.Get("ErrorCode"), ""
		if m.ErrorCode != "" {
			m.Error = "Twilio error " + m.ErrorCode
		}
		m.setKeys(orgID)
		put, err := s.DB.Put(m, store.Unchanged(prev))
		if err != nil {
			return err
		}
		if m.ErrorCode == "21610" {
			// The opt-out Twilio holds lands with the status, or neither does.
			_, err = s.ChangeConsent(ctx, orgID, ConsentChange{Channel: SMS, Address: m.To, State: ConsentOut, Method: MethodProvider,
				ClientID: m.ClientID, MessageID: m.ID, ProviderID: m.ProviderID, Note: "Twilio reported the number unsubscribed (error 21610)."}, put)
		} else {
			err = s.DB.Transact(ctx, put)
		}
		if isDuplicate(err) {
			continue // the message changed meanwhile: read it again
		}
		return err
	}
	// Lost every race: Twilio retries a callback it got no 2xx for.
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second, Message: "The message was busy; send the status again."}
}

// tenantID reports an id fit for a key (our ids and Twilio's SIDs).
func tenantID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsAny(id, "#/ ") && !slices.Contains([]string{".", ".."}, id)
}
