package messaging

import (
	"context"
	"regexp"
	"testing"

	"github.com/matterly/matterly/shared/config"
)

func TestAddressAndDomain(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		domain string
	}{
		{"Office@SmithLaw.com", true, "smithlaw.com"},
		{"a@b.co.uk", true, "b.co.uk"},
		{"x@xn--bcher-kva.example", true, "xn--bcher-kva.example"},
		{"a@b", false, ""},                       // mail.ParseAddress takes it; SES could never verify it
		{"a@localhost", false, ""},               // one label
		{"a@b.123", false, ""},                   // numeric top-level label
		{"a@-b.example", false, ""},              // label starts with a hyphen
		{"a@b_c.example", false, ""},             // underscore
		{"a@[192.0.2.1]", false, ""},             // address literal
		{"Ann <a@b.example>", false, ""},         // display name
		{"a@b.example\r\nBcc: c@d.e", false, ""}, // header injection
	} {
		addr, domain, ok := address(tc.in)
		if ok != tc.ok || ok && domain != tc.domain {
			t.Errorf("address(%q) = %q, %q, %v; want ok %v, domain %q", tc.in, addr, domain, ok, tc.ok, tc.domain)
		}
	}
}

// TestSandboxSenders: make dev without SES or Twilio credentials still
// gives orgs domains and numbers, labelled sandbox; with credentials
// Build leaves the providers to providers/senders.Provision.
func TestSandboxSenders(t *testing.T) {
	local := config.Config{DynamoEndpoint: "http://127.0.0.1:8000"}
	svc := Build(Setup{Config: local})
	if _, ok := svc.Domains.(SandboxDomains); !ok || !svc.SandboxDomains {
		t.Errorf("local without SES: Domains %T, sandbox %v", svc.Domains, svc.SandboxDomains)
	}
	if _, ok := svc.Numbers.(SandboxNumbers); !ok || !svc.SandboxSMS {
		t.Errorf("local without Twilio: Numbers %T", svc.Numbers)
	}
	withCreds := local
	withCreds.SESEndpoint = "http://127.0.0.1:9000"
	svc = Build(Setup{Config: withCreds, TwilioAccountSID: "AC1", TwilioAuthToken: "t"})
	if svc.Domains != nil || svc.Numbers != nil || svc.SandboxDomains {
		t.Errorf("configured providers replaced by sandboxes: %T %T", svc.Domains, svc.Numbers)
	}
	if svc = Build(Setup{}); svc.Domains != nil || svc.Numbers != nil || svc.SandboxDomains {
		t.Errorf("AWS got sandboxes: %T %T", svc.Domains, svc.Numbers)
	}

	n, err := SandboxNumbers{}.BuyNumber(context.Background(), 415, "")
	if err != nil || !regexp.MustCompile(`^\+141555501[0-9]{2}$`).MatchString(n) {
		t.Errorf("sandbox number %q, %v", n, err)
	}
	sid, err := SandboxNumbers{}.CreateMessagingService(context.Background(), "x", "")
	if err != nil || !regexp.MustCompile(`^MG[0-9a-f]{32}$`).MatchString(sid) {
		t.Errorf("sandbox service %q, %v", sid, err)
	}
	st, err := SandboxDomains{}.CreateDomain(context.Background(), "smithlaw.com")
	if err != nil || st.DKIMStatus != "SUCCESS" || !st.VerifiedForSending || len(st.DKIMTokens) != 3 {
		t.Errorf("sandbox domain %+v, %v", st, err)
	}
}
