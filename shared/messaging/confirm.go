package messaging

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Double opt-in. After the client's own opt-out no member may make the
// address sendable (but an owner's or admin's staff_override); the client
// may, by confirming a request a member sends them. The request never goes
// to the address that opted out: after a STOP the law lets us text only
// the START reply, and after an unsubscribe or a spam complaint an email
// asking them back is exactly what they refused. So it goes by the
// client's other channel, through the ordinary consent-checked send path:
// a phone's request by email, an email's by text. A client with no other
// open channel can only text START (phone) or give written consent an
// owner records as an override (email).
//
// The link names a stored request (address, client, expiry), signed, used
// once; the member who sent it never sees it, so staff cannot confirm in
// the client's stead.

// confirmLife is how long a confirmation link works.
const confirmLife = 7 * 24 * time.Hour

// ConfirmationInput asks a client to confirm an opt-in of phone or email.
type ConfirmationInput struct {
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	ClientID string `json:"clientId"`
}

// Confirmation is a stored double opt-in request.
type Confirmation struct {
	store.Keys `json:"-"`
	ID         string    `dynamodbav:"id" json:"id"`
	Channel    string    `dynamodbav:"channel" json:"channel"` // what is confirmed
	Address    string    `dynamodbav:"address" json:"address"`
	ClientID   string    `dynamodbav:"clientId" json:"clientId"`
	SentBy     string    `dynamodbav:"sentBy" json:"sentBy"`
	MessageID  string    `dynamodbav:"-" json:"messageId"`   // the email or text carrying the link
	SentTo     string    `dynamodbav:"sentTo" json:"sentTo"` // its channel
	CreatedAt  time.Time `dynamodbav:"createdAt" json:"createdAt"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt" json:"expiresAt"`
	UsedAt     time.Time `dynamodbav:"usedAt,omitempty" json:"usedAt,omitzero"`
	Used       bool      `dynamodbav:"used" json:"-"` // the condition of the one use
	TTL        int64     `dynamodbav:"ttl,omitempty" json:"-"`
}

func confirmationSK(id string) string { return "CONSENTCONFIRM#" + id }

// RequestConfirmation sends the client a link to confirm they want
// messages at an address they opted out of themselves.
func (s *Service) RequestConfirmation(ctx context.Context, a caller.Caller, in ConfirmationInput) (Confirmation, error) {
	if !access.Can(access.Role(a.Role), access.OptInConsent) {
		return Confirmation{}, fault.E(fault.Forbidden, "Your role cannot ask clients to opt back in.")
	}
	email, emailOK := check.Email(in.Email)
	var ck fault.Checker
	ck.Check((in.Phone == "") != (in.Email == ""), "phone", "give exactly one of phone and email")
	ck.Check(in.Phone == "" || check.Phone(in.Phone), "phone", check.PhoneMessage)
	ck.Check(in.Email == "" || emailOK, "email", "must be an email address")
	ck.Check(check.ID(in.ClientID), "clientId", "is required")
	if err := ck.Err(); err != nil {
		return Confirmation{}, err
	}
	client, o, err := s.recipient(ctx, a.OrgID, in.ClientID, "")
	if err != nil {
		return Confirmation{}, err
	}
	c := Confirmation{ID: s.NewID(), Channel: SMS, Address: in.Phone, ClientID: client.ID, SentBy: a.UserID}
	if in.Email != "" {
		c.Channel, c.Address = Email, normalEmail(email)
	}
	if c.Channel == SMS && c.Address != client.Phone || c.Channel == Email && c.Address != normalEmail(client.Email) {
		return Confirmation{}, fault.Fields(fault.FieldError{Field: "clientId", Message: "the address is not this client's"})
	}
	cur, err := s.ConsentOf(ctx, a.OrgID, c.Channel, c.Address)
	if err != nil {
		return Confirmation{}, err
	}
	if !ClientOptedOut(cur) {
		return Confirmation{}, fault.Refused("consent.not-opted-out", "The client has not opted out of this address themselves; record their opt-in with POST /v1/consent.")
	}
	now := s.Now().UTC()
	c.CreatedAt, c.ExpiresAt = now, now.Add(confirmLife)
	c.TTL = c.ExpiresAt.Add(30 * 24 * time.Hour).Unix()
	link := s.ConfirmURL(a.OrgID, c.ID)
	var m Message
	if c.Channel == SMS {
		if client.Email == "" {
			return Confirmation{}, fault.Fields(fault.FieldError{Field: "phone",
				Message: "the client has no email address to send the request to; after a STOP only the client can opt back in, by texting START"})
		}
		if !s.EmailReady {
			return Confirmation{}, errNoEmail
		}
		m = Message{Channel: Email, To: normalEmail(client.Email), Subject: "Confirm you want text messages from " + o.Name,
			Body: "You asked " + o.Name + " to stop texting you at " + c.Address + ". If you want their texts again, open this link and confirm:\n\n" +
				link + "\n\nIf you did not ask for this, ignore this email: nothing changes. The link works for 7 days."}
	} else {
		if client.Phone == "" || !s.SMSReady {
			return Confirmation{}, fault.Fields(fault.FieldError{Field: "email",
				Message: "the client has no phone number to send the request to; an owner or admin holding their written consent may record a staff_override"})
		}
		m, err = s.newSMS(o, client.Phone, "To get our emails at "+c.Address+" again, open "+link+" and confirm. Ignore this text to change nothing.")
		if err != nil {
			return Confirmation{}, err
		}
	}
	m.Direction, m.Kind, m.ClientID, m.SentBy = Outbound, KindGeneral, client.ID, a.UserID
	// The request and the message carrying it land in one transaction (with
	// store's check of the sender's membership: a transaction holds one
	// condition per item, so the role the handler checked is re-checked
	// there as SendMessages): no link goes out that cannot be confirmed.
	c.SentTo = m.Channel
	c.Keys = store.Keys{PK: tenant.PK(a.OrgID), SK: confirmationSK(c.ID), Type: "consentConfirmation"}
	put, err := s.DB.Put(c, store.NotExists())
	if err != nil {
		return Confirmation{}, err
	}
	if err := s.store(ctx, &a, a.OrgID, &m, put); err != nil {
		return Confirmation{}, err
	}
	c.MessageID = m.ID
	return c, nil
}

// confirmation reads the request a confirmation token names.
func (s *Service) confirmation(ctx context.Context, token string) (Confirmation, org, string, error) {
	orgID, id, ok := s.openConfirm(token)
	if !ok {
		return Confirmation{}, org{}, "", fault.E(fault.Malformed, "This confirmation link is not valid; copy the whole link from the message.")
	}
	var c Confirmation
	var o org
	pk := tenant.PK(orgID)
	reqs := []*store.KeyOut{{PK: pk, SK: confirmationSK(id), Out: &c}, {PK: pk, SK: tenant.OrgSK, Out: &o}}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return Confirmation{}, org{}, "", err
	}
	if !reqs[0].Found || !reqs[1].Found {
		return Confirmation{}, org{}, "", fault.E(fault.NotFound, "This confirmation link is no longer valid.")
	}
	if c.Used || !s.Now().Before(c.ExpiresAt) {
		return Confirmation{}, org{}, "", errLinkUsed
	}
	return c, o, orgID, nil
}

var errLinkUsed = fault.Refused("consent.link-used", "This confirmation link was used already or has expired; ask for a new one.")

// Confirm records the client's opt-in a request named, once: the request
// is marked used in the transaction that changes the consent.
func (s *Service) Confirm(ctx context.Context, token string) (string, error) {
	c, o, orgID, err := s.confirmation(ctx, token)
	if err != nil {
		return "", err
	}
	used := c
	used.UsedAt, used.Used = s.Now().UTC(), true
	put, err := s.DB.Put(used, &store.Cond{Expr: "attribute_exists(PK) AND #used = :no", Names: map[string]string{"#used": "used"},
		Values: map[string]types.AttributeValue{":no": &types.AttributeValueMemberBOOL{Value: false}}})
	if err != nil {
		return "", err
	}
	_, err = s.ChangeConsent(ctx, orgID, ConsentChange{Channel: c.Channel, Address: c.Address, State: ConsentIn, Method: MethodDoubleOptIn,
		ClientID: c.ClientID, Note: "Confirmed by the client on the link sent by " + c.SentTo + " (request " + c.ID + ")."}, put)
	if isDuplicate(err) {
		return "", errLinkUsed
	}
	if err != nil {
		return "", err
	}
	return o.Name, nil
}
