package ses

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/matterly/matterly/shared/messaging"
)

var _ messaging.EmailDomains = (*Client)(nil)

// CreateDomain creates domain's identity with Easy DKIM (SES generates the
// key; the firm publishes three CNAMEs), or reads it back when the account
// has it already: SES identities are per account, and another org may
// have asked first.
func (c *Client) CreateDomain(ctx context.Context, domain string) (messaging.DomainState, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := c.api.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)})
	var exists *types.AlreadyExistsException
	if errors.As(err, &exists) {
		return c.DomainState(ctx, domain)
	}
	if err != nil {
		return messaging.DomainState{}, identityError("create identity", err)
	}
	return stateOf(out.DkimAttributes, out.VerifiedForSendingStatus), nil
}

// DomainState reads domain's identity: its DKIM tokens and status, and
// whether SES lets the account send from it.
func (c *Client) DomainState(ctx context.Context, domain string) (messaging.DomainState, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := c.api.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(domain)})
	var missing *types.NotFoundException
	if errors.As(err, &missing) {
		return messaging.DomainState{}, nil
	}
	if err != nil {
		return messaging.DomainState{}, identityError("get identity", err)
	}
	return stateOf(out.DkimAttributes, out.VerifiedForSendingStatus), nil
}

// DeleteDomain deletes domain's identity; one already gone is not an error.
func (c *Client) DeleteDomain(ctx context.Context, domain string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := c.api.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(domain)})
	var missing *types.NotFoundException
	if err != nil && !errors.As(err, &missing) {
		return identityError("delete identity", err)
	}
	return nil
}

func stateOf(dkim *types.DkimAttributes, verified bool) messaging.DomainState {
	st := messaging.DomainState{Exists: true, VerifiedForSending: verified}
	if dkim != nil {
		st.DKIMTokens, st.DKIMStatus = dkim.Tokens, string(dkim.Status)
	}
	return st
}

// identityError is sendError for the identity calls, naming the call.
func identityError(op string, err error) error {
	e := sendError(err)
	var se *SendError
	if errors.As(e, &se) {
		se.Op = op
	}
	return e
}
