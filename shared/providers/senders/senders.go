// Package senders builds the message providers a function's configuration
// names: Twilio for SMS when its credentials are set, Amazon SES for email
// (in AWS always; locally when SES_ENDPOINT points at a stand-in).
package senders

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/matterly/matterly/shared/awsenv"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/providers/ses"
	"github.com/matterly/matterly/shared/providers/twilio"
)

// Setup is what the providers are built from: the function's
// configuration and the platform's Twilio credentials.
type Setup struct {
	Config           config.Config
	TwilioAccountSID string
	TwilioAuthToken  string
}

// Build returns the SMS and email senders; either is nil when its channel
// is not configured (the worker then fails those messages, saying so).
func Build(ctx context.Context, d Setup) (messaging.SMSSender, messaging.EmailSender, error) {
	var sms messaging.SMSSender
	if d.TwilioAccountSID != "" && d.TwilioAuthToken != "" {
		sms = twilio.New(d.TwilioAccountSID, d.TwilioAuthToken, d.Config.TwilioAPIBaseURL)
	}
	var email messaging.EmailSender
	if !d.Config.Local() || d.Config.SESEndpoint != "" {
		cfg, err := sesConfig(d.Config)
		if err != nil {
			return nil, nil, err
		}
		email = ses.NewFromConfig(cfg, d.Config.SESEndpoint, d.Config.SESConfigurationSet)
	}
	return sms, email, nil
}

// Provision gives svc the platform's Twilio account (to buy numbers and
// create Messaging Services) and SES identities (orgs' email domains) on
// the same conditions as Build; a sandboxed channel keeps messaging.Build's
// sandbox.
func Provision(ctx context.Context, d Setup, svc *messaging.Service) error {
	if d.TwilioAccountSID != "" && d.TwilioAuthToken != "" {
		svc.Numbers = twilio.New(d.TwilioAccountSID, d.TwilioAuthToken, d.Config.TwilioAPIBaseURL)
	}
	if !d.Config.Local() || d.Config.SESEndpoint != "" {
		cfg, err := sesConfig(d.Config)
		if err != nil {
			return err
		}
		svc.Domains, svc.SandboxDomains = ses.NewFromConfig(cfg, d.Config.SESEndpoint, ""), false
	}
	return nil
}

// sesConfig is the SDK configuration SES is called with: Lambda's own in
// AWS; locally (SES_ENDPOINT set), the developer's exported credentials
// when there are some (to send for real from make dev), else static local
// ones for a stand-in.
func sesConfig(cfg config.Config) (aws.Config, error) {
	if cfg.Local() {
		if c, err := awsenv.Config(cfg.Region); err == nil {
			return c, nil
		}
		return config.LocalAWS(""), nil
	}
	return awsenv.Config(cfg.Region)
}
