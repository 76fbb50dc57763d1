package twilio

import (
	"context"
	"errors"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	msgapi "github.com/twilio/twilio-go/rest/messaging/v1"

	"github.com/matterly/matterly/shared/messaging"
)

var _ messaging.Numbers = (*Client)(nil)

// ErrNoNumbers is BuyNumber's answer when Twilio has no SMS-capable local
// number to sell (in the area code asked for).
var ErrNoNumbers = messaging.ErrNoNumbers

// BuyNumber buys the first SMS-capable US local number Twilio offers (in
// areaCode when not 0) into the platform's account, with inbound SMS
// posted to smsURL, and returns it in E.164. The number is the platform's:
// an org can only be given it, never claim one of its own.
func (c *Client) BuyNumber(ctx context.Context, areaCode int, smsURL string) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	ctx, cancel := context.WithTimeout(ctx, 2*callTimeout)
	defer cancel()
	h, x := c.handler(ctx)
	svc := api.NewApiService(h)

	q := &api.ListAvailablePhoneNumberLocalParams{}
	q.SetSmsEnabled(true).SetPageSize(1)
	if areaCode != 0 {
		q.SetAreaCode(areaCode)
	}
	page, err := svc.PageAvailablePhoneNumberLocal("US", q, "", "")
	if err != nil {
		return "", c.opError("find number", err, x)
	}
	if len(page.AvailablePhoneNumbers) == 0 || page.AvailablePhoneNumbers[0].PhoneNumber == nil {
		return "", ErrNoNumbers
	}
	p := &api.CreateIncomingPhoneNumberParams{}
	p.SetPhoneNumber(*page.AvailablePhoneNumbers[0].PhoneNumber).SetSmsUrl(smsURL).SetSmsMethod("POST")
	n, err := svc.CreateIncomingPhoneNumber(p)
	if err != nil {
		return "", c.opError("buy number", err, x)
	}
	if n.PhoneNumber == nil || *n.PhoneNumber == "" {
		return "", &SendError{Op: "buy number", Status: x.status, Message: "answer without a phone number"}
	}
	return *n.PhoneNumber, nil
}

// CreateMessagingService creates a Messaging Service in the platform's
// account whose inbound texts are posted to inboundURL (for every number
// in its pool), and returns its SID.
func (c *Client) CreateMessagingService(ctx context.Context, name, inboundURL string) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	h, x := c.handler(ctx)
	p := &msgapi.CreateServiceParams{}
	p.SetFriendlyName(name).SetInboundRequestUrl(inboundURL).SetInboundMethod("POST").SetUseInboundWebhookOnNumber(false)
	svc, err := msgapi.NewApiService(h).CreateService(p)
	if err != nil {
		return "", c.opError("create messaging service", err, x)
	}
	if svc.Sid == nil || *svc.Sid == "" {
		return "", &SendError{Op: "create messaging service", Status: x.status, Message: "answer without a sid"}
	}
	return *svc.Sid, nil
}

func (c *Client) opError(op string, err error, x *exchange) error {
	e := c.sendError(err, x)
	var se *SendError
	if errors.As(e, &se) {
		se.Op = op
	}
	return e
}
