package messaging

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/identity"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// An org's own senders. The platform's SES and Twilio accounts are shared,
// and both providers accept any identity verified or bought in them, so
// what an org may send as is decided here:
//
//   - email from an address on a domain the org proved it controls: SES
//     has verified the domain's DKIM records (SES's proof that someone
//     controls the domain) and the org published its own token at
//     _matterly.<domain> (the proof that it is this org: SES identities
//     are per account, so two orgs asking for one domain see the same
//     DKIM records). One org per domain is verified, first to prove it;
//     anything else goes from the platform's address with the org's name
//     and its replyToEmail;
//   - SMS from numbers and Messaging Services the platform bought or
//     created for the org (identity's assignments).

// Domain statuses.
const (
	DomainPending  = "pending"
	DomainVerified = "verified"
	DomainFailed   = "failed" // SES gave up on the DKIM records; delete and add again
)

// maxDomains bounds an org's email domains: each costs an SES identity and
// a lookup on every listing.
const maxDomains = 10

// ownershipPrefix starts the TXT record that proves an org owns a domain.
const ownershipPrefix = "matterly-verification="

// EmailDomain is one sending domain of an org.
type EmailDomain struct {
	store.Keys `json:"-"`
	Domain     string `dynamodbav:"domain" json:"domain"`
	Status     string `dynamodbav:"status" json:"status"`
	// Problem says what is missing while the domain is not verified.
	Problem    string      `dynamodbav:"problem,omitempty" json:"problem,omitempty"`
	DKIMStatus string      `dynamodbav:"dkimStatus,omitempty" json:"dkimStatus,omitempty"`
	DKIMTokens []string    `dynamodbav:"dkimTokens,omitempty" json:"-"`
	Token      string      `dynamodbav:"token" json:"-"`
	DNSRecords []DNSRecord `dynamodbav:"-" json:"dnsRecords"`
	// Sandbox marks make dev's domains: nothing was created in SES, and
	// they verify without DNS records.
	Sandbox    bool      `dynamodbav:"-" json:"sandbox,omitempty"`
	CreatedAt  time.Time `dynamodbav:"createdAt" json:"createdAt"`
	CheckedAt  time.Time `dynamodbav:"checkedAt,omitempty" json:"checkedAt,omitzero"`
	VerifiedAt time.Time `dynamodbav:"verifiedAt,omitempty" json:"verifiedAt,omitzero"`
}

// DNSRecord is one record the firm publishes in its domain's DNS.
type DNSRecord struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// records are the TXT ownership record and SES's three DKIM CNAMEs.
func (d *EmailDomain) records() {
	d.DNSRecords = []DNSRecord{{Type: "TXT", Name: ownershipName(d.Domain), Value: ownershipPrefix + d.Token}}
	for _, t := range d.DKIMTokens {
		d.DNSRecords = append(d.DNSRecords, DNSRecord{Type: "CNAME", Name: t + "._domainkey." + d.Domain, Value: t + ".dkim.amazonses.com"})
	}
}

func ownershipName(domain string) string { return "_matterly." + domain }

// Key layout: the org's domain under its partition; under the domain's
// own (global) partition, one claim per org that added it (SES's identity
// is deleted with the last) and the one org verified for it.
func domainSK(domain string) string     { return "EMAILDOMAIN#" + domain }
func domainPK(domain string) string     { return "EMAILDOMAIN#" + domain }
func domainClaimSK(orgID string) string { return "CLAIM#" + orgID }
func (d *EmailDomain) setKeys(org string) {
	d.Keys = store.Keys{PK: tenant.PK(org), SK: domainSK(d.Domain), Type: "emailDomain"}
}

const domainVerifiedSK = "VERIFIED"

type domainOwner struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	OrgID string `dynamodbav:"orgId"`
}

// validDomain reports a DNS name SES can verify: letters, digits and
// hyphens, at least two labels, an alphabetic (or IDNA) top-level one.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.HasPrefix(tld, "xn--") || strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") == ""
}

// address checks a settings address: a plain address on a valid domain
// (mail.ParseAddress alone takes a@b). It returns the address lowercased
// and its domain.
func address(s string) (addr, domain string, ok bool) {
	addr, ok = check.Email(s)
	if !ok {
		return addr, "", false
	}
	domain = addr[strings.LastIndexByte(addr, '@')+1:]
	return addr, domain, validDomain(domain)
}

// DomainInput is POST /v1/messaging/email-domains.
type DomainInput struct {
	Domain string `json:"domain"`
}

// AddDomain creates the domain's SES identity (or finds the one another
// org created) and records it for the org as pending, with the records to
// publish.
func (s *Service) AddDomain(ctx context.Context, a caller.Caller, in DomainInput) (EmailDomain, error) {
	domain := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in.Domain)), ".")
	if !validDomain(domain) {
		return EmailDomain{}, fault.Fields(fault.FieldError{Field: "domain", Message: "must be a domain name such as smithlaw.com"})
	}
	if s.Domains == nil {
		return EmailDomain{}, errNoEmail
	}
	var have []EmailDomain
	if _, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(a.OrgID), SKPrefix: domainSK(""), Limit: maxDomains}, &have); err != nil {
		return EmailDomain{}, err
	}
	if slices.ContainsFunc(have, func(d EmailDomain) bool { return d.Domain == domain }) {
		return EmailDomain{}, fault.E(fault.Conflict, "This domain is added already; GET /v1/messaging/email-domains shows its status.")
	}
	if len(have) >= maxDomains {
		return EmailDomain{}, fault.Fields(fault.FieldError{Field: "domain", Message: "an org may have at most 10 email domains; delete one first"})
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.ManageMessaging); err != nil {
		return EmailDomain{}, err
	}
	st, err := s.Domains.CreateDomain(ctx, domain)
	if err != nil {
		s.Log.Warn("SES identity not created", "err", err)
		return EmailDomain{}, errEmailProvider
	}
	now := s.Now().UTC()
	d := EmailDomain{Domain: domain, Status: DomainPending, DKIMStatus: st.DKIMStatus, DKIMTokens: st.DKIMTokens,
		Token: randomToken(), CreatedAt: now, Problem: "Publish the DNS records, then list the domains again."}
	d.setKeys(a.OrgID)
	put, err := s.DB.Put(d, store.NotExists())
	if err != nil {
		return EmailDomain{}, err
	}
	claim, err := s.DB.Put(domainOwner{PK: domainPK(domain), SK: domainClaimSK(a.OrgID), OrgID: a.OrgID}, nil)
	if err != nil {
		return EmailDomain{}, err
	}
	e := activity.Entry{Action: "messaging.email_domain.added", EntityType: "org", EntityID: a.OrgID, Detail: domain}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManageMessaging, e, put, claim); store.Failed(err, 0) {
		return EmailDomain{}, fault.E(fault.Conflict, "This domain is added already; GET /v1/messaging/email-domains shows its status.")
	} else if err != nil {
		return EmailDomain{}, err
	}
	d.records()
	d.Sandbox = s.SandboxDomains
	return d, nil
}

var errEmailProvider = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "Amazon SES did not answer as expected; try again in a minute."}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ListDomains lists the org's email domains, each checked again: SES's DKIM
// status and sending status, the org's TXT record, and whether another
// org verified the domain first.
func (s *Service) ListDomains(ctx context.Context, a caller.Caller) ([]EmailDomain, error) {
	orgID := a.OrgID
	var ds []EmailDomain
	if _, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: domainSK(""), Forward: true, Limit: maxDomains}, &ds); err != nil {
		return nil, err
	}
	for i := range ds {
		if err := s.refresh(ctx, a, &ds[i]); err != nil {
			return nil, err
		}
		ds[i].records()
		ds[i].Sandbox = s.SandboxDomains
	}
	return ds, nil
}

// refresh checks one domain again and saves what changed.
func (s *Service) refresh(ctx context.Context, a caller.Caller, d *EmailDomain) error {
	orgID := a.OrgID
	if s.Domains == nil {
		return errNoEmail
	}
	prev := *d
	st, err := s.Domains.DomainState(ctx, d.Domain)
	if err == nil && !st.Exists {
		// Deleted by another org's DELETE racing our POST: made again
		// (with new DKIM tokens to publish).
		st, err = s.Domains.CreateDomain(ctx, d.Domain)
	}
	if err != nil {
		s.Log.Warn("SES identity not read", "err", err)
		return errEmailProvider
	}
	d.DKIMStatus, d.DKIMTokens = st.DKIMStatus, st.DKIMTokens
	dkim := st.DKIMStatus == "SUCCESS" && st.VerifiedForSending
	switch {
	case d.Status == DomainVerified && dkim:
		// Proved once: the TXT record may go, the domain stays the org's.
		d.Problem = ""
	case st.DKIMStatus == "FAILED":
		d.Status, d.Problem = DomainFailed, "SES could not find the DKIM records within 72 hours; delete the domain, add it again and publish the new records."
	case !dkim:
		d.Status, d.Problem = DomainPending, "SES has not found the DKIM (CNAME) records yet; DNS changes can take up to 72 hours."
	case !s.ownsDomain(ctx, d):
		d.Status, d.Problem = DomainPending, "The TXT record "+ownershipName(d.Domain)+" with this org's value is not published yet."
	default:
		ok, err := s.claimVerified(ctx, a, d.Domain)
		if err != nil {
			return err
		}
		if !ok {
			d.Status, d.Problem = DomainPending, "Another org has verified this domain."
			break
		}
		if d.Status != DomainVerified {
			d.VerifiedAt = s.Now().UTC()
		}
		d.Status, d.Problem = DomainVerified, ""
	}
	if d.Status == prev.Status && d.Problem == prev.Problem && d.DKIMStatus == prev.DKIMStatus && slices.Equal(d.DKIMTokens, prev.DKIMTokens) {
		return nil
	}
	d.CheckedAt = s.Now().UTC()
	d.setKeys(orgID)
	// A domain deleted meanwhile stays deleted; what a listing learns is
	// saved only while its caller still manages messaging.
	put, err := s.DB.Put(*d, store.Exists())
	if err != nil {
		return err
	}
	switch err := s.DB.Transact(ctx, put, tenant.MemberWith(s.DB, orgID, a.UserID, access.ManageMessaging)); {
	case store.Failed(err, 0):
		return nil
	case store.Failed(err, 1):
		return tenant.ErrRoleChanged
	default:
		return err
	}
}

// ownsDomain looks for the org's token at _matterly.<domain>.
func (s *Service) ownsDomain(ctx context.Context, d *EmailDomain) bool {
	if s.SandboxDomains {
		return true
	}
	txts, err := s.resolver().LookupTXT(ctx, ownershipName(d.Domain))
	if err != nil {
		return false // NXDOMAIN, or DNS trouble: pending until the next listing
	}
	return slices.Contains(txts, ownershipPrefix+d.Token)
}

func (s *Service) resolver() TXTResolver {
	if s.Resolver != nil {
		return s.Resolver
	}
	return net.DefaultResolver
}

// claimVerified makes orgID the domain's one verified org, unless another
// org is.
func (s *Service) claimVerified(ctx context.Context, a caller.Caller, domain string) (bool, error) {
	cond := &store.Cond{Expr: "attribute_not_exists(PK) OR #org = :org", Names: map[string]string{"#org": "orgId"},
		Values: map[string]types.AttributeValue{":org": store.S(a.OrgID)}}
	put, err := s.DB.Put(domainOwner{PK: domainPK(domain), SK: domainVerifiedSK, OrgID: a.OrgID}, cond)
	if err != nil {
		return false, err
	}
	switch err := s.DB.Transact(ctx, put, tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.ManageMessaging)); {
	case store.Failed(err, 0):
		return false, nil
	case store.Failed(err, 1):
		return false, tenant.ErrRoleChanged
	default:
		return err == nil, err
	}
}

// domainVerifiedFor reports whether domain is verified for orgID.
func (s *Service) domainVerifiedFor(ctx context.Context, orgID, domain string) (bool, error) {
	var o domainOwner
	err := s.DB.Get(ctx, domainPK(domain), domainVerifiedSK, &o)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && o.OrgID == orgID, err
}

// DeleteDomain removes the org's domain (and its verification); SES's
// identity goes with the last org that added it.
func (s *Service) DeleteDomain(ctx context.Context, a caller.Caller, domain string) error {
	domain = strings.ToLower(domain)
	var d EmailDomain
	owner := domainOwner{}
	reqs := []*store.KeyOut{{PK: tenant.PK(a.OrgID), SK: domainSK(domain), Out: &d}, {PK: domainPK(domain), SK: domainVerifiedSK, Out: &owner}}
	if !validDomain(domain) {
		return fault.E(fault.NotFound, "No such email domain.")
	}
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return err
	}
	if !reqs[0].Found {
		return fault.E(fault.NotFound, "No such email domain.")
	}
	writes := []types.TransactWriteItem{s.DB.Delete(tenant.PK(a.OrgID), domainSK(domain), store.Exists()), s.DB.Delete(domainPK(domain), domainClaimSK(a.OrgID), nil)}
	if owner.OrgID == a.OrgID {
		writes = append(writes, s.DB.Delete(domainPK(domain), domainVerifiedSK, &store.Cond{Expr: "#org = :org",
			Names: map[string]string{"#org": "orgId"}, Values: map[string]types.AttributeValue{":org": store.S(a.OrgID)}}))
	}
	e := activity.Entry{Action: "messaging.email_domain.deleted", EntityType: "org", EntityID: a.OrgID, Detail: domain}
	err := activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now().UTC(), access.ManageMessaging, e, writes...)
	if store.Failed(err, 0) {
		return fault.E(fault.NotFound, "No such email domain.")
	} else if err != nil {
		return err
	}
	var others []domainOwner
	if _, err := s.DB.QueryPage(ctx, store.Query{PK: domainPK(domain), SKPrefix: domainClaimSK(""), Limit: 1, Consistent: true}, &others); err != nil {
		return err
	}
	if len(others) == 0 && s.Domains != nil {
		if err := s.Domains.DeleteDomain(ctx, domain); err != nil {
			// The org's domain is gone; the identity left behind costs
			// nothing and is reused if anyone adds the domain again.
			s.Log.Warn("SES identity not deleted", "err", err)
		}
	}
	return nil
}

// emailSender is who an org's email goes from, checked at send time: its
// fromEmail while that address's domain is verified for the org, the
// platform's address with the org's replyToEmail otherwise.
func (s *Service) emailSender(ctx context.Context, orgID string, st Settings) (from, replyTo string, err error) {
	if st.FromEmail != "" {
		_, domain, ok := address(st.FromEmail)
		if ok {
			verified, err := s.domainVerifiedFor(ctx, orgID, domain)
			if err != nil {
				return "", "", err
			}
			if verified {
				return st.FromEmail, st.ReplyToEmail, nil
			}
		}
	}
	// A fromEmail set before domains were verified (or whose domain was
	// deleted) still gets the replies.
	return s.EmailFrom, cmp.Or(st.ReplyToEmail, st.FromEmail), nil
}

// smsSenderAssigned reports whether the org's SMS number and Messaging
// Service (those set) are assigned to it by the platform: values set
// before assignments existed are not used until they are.
func (s *Service) smsSenderAssigned(ctx context.Context, orgID string, o org) (bool, error) {
	if o.SMSFromNumber != "" {
		who, err := identity.SMSNumberAssignee(ctx, s.DB, o.SMSFromNumber)
		if err != nil || who != orgID {
			return false, err
		}
	}
	if o.TwilioMessagingServiceSID != "" {
		who, err := identity.MessagingServiceAssignee(ctx, s.DB, o.TwilioMessagingServiceSID)
		if err != nil || who != orgID {
			return false, err
		}
	}
	return true, nil
}

// NumberInput is POST /v1/messaging/sms-numbers.
type NumberInput struct {
	AreaCode int `json:"areaCode"`
}

// SMSSenderOut is the answer of the SMS sender routes.
type SMSSenderOut struct {
	SMSFromNumber             string `json:"smsFromNumber,omitempty"`
	TwilioMessagingServiceSID string `json:"twilioMessagingServiceSid,omitempty"`
	Sandbox                   bool   `json:"sandbox,omitempty"`
}

// BuyNumber buys a number in the platform's Twilio account, assigns it to
// the org and makes it the org's smsFromNumber. One request per org buys at
// a time (claimPurchase): every purchase costs the platform money, and
// "the org has no number yet" cannot be checked in the transaction that
// follows Twilio's answer.
func (s *Service) BuyNumber(ctx context.Context, a caller.Caller, in NumberInput) (SMSSenderOut, error) {
	if in.AreaCode != 0 && (in.AreaCode < 200 || in.AreaCode > 999) {
		return SMSSenderOut{}, fault.Fields(fault.FieldError{Field: "areaCode", Message: "must be a three-digit US area code"})
	}
	if s.Numbers == nil {
		return SMSSenderOut{}, errNoSMS
	}
	c, err := s.claimPurchase(ctx, a)
	if err != nil {
		return SMSSenderOut{}, err
	}
	defer func() { s.releasePurchase(ctx, c) }()
	// Read after the claim: a purchase finished before it has set the
	// org's number by now.
	o, err := s.orgOf(ctx, a.OrgID)
	if err != nil {
		return SMSSenderOut{}, err
	}
	if o.SMSFromNumber != "" {
		if who, err := identity.SMSNumberAssignee(ctx, s.DB, o.SMSFromNumber); err != nil {
			return SMSSenderOut{}, err
		} else if who == a.OrgID {
			return SMSSenderOut{}, fault.E(fault.Conflict, "This org has its number already: %s.", o.SMSFromNumber)
		}
	}
	n := c.Number // bought and assigned by a request that stopped before setting it
	if n != "" {
		if who, err := identity.SMSNumberAssignee(ctx, s.DB, n); err != nil {
			return SMSSenderOut{}, err
		} else if who != a.OrgID {
			n, c.Number = "", ""
		}
	}
	if n == "" {
		n, err = s.Numbers.BuyNumber(ctx, in.AreaCode, s.inboundURL())
		if err != nil {
			s.Log.Warn("number not bought", "err", err)
			if errors.Is(err, ErrNoNumbers) {
				return SMSSenderOut{}, fault.Fields(fault.FieldError{Field: "areaCode", Message: "has no SMS-capable number available; try another"})
			}
			return SMSSenderOut{}, errTwilio
		}
		w, err := identity.SMSNumberAssignment(s.DB, a.OrgID, n)
		if err != nil {
			return SMSSenderOut{}, err
		}
		// The claim records the number with its assignment, for a
		// request taking it over should this one stop before the org's
		// smsFromNumber is set.
		held := c
		held.Number = n
		cw, err := s.DB.Put(held, c.ours())
		if err != nil {
			return SMSSenderOut{}, err
		}
		if err := s.assign(ctx, a, "messaging.sms_number.assigned", n, w, cw); store.Failed(err, 1) {
			// Only after purchaseLease: a request that slow lost its claim.
			s.Log.Error("number bought after the purchase claim was taken over; not assigned", "number", n)
			return SMSSenderOut{}, errPurchasing
		} else if err != nil {
			return SMSSenderOut{}, err
		}
		c = held
	}
	org, err := s.identity().UpdateOrg(ctx, principal(a), identity.OrgPatch{SMSFromNumber: &n})
	if err != nil {
		return SMSSenderOut{}, err
	}
	c.Number = "" // set: the claim may go
	return SMSSenderOut{SMSFromNumber: org.SMSFromNumber, TwilioMessagingServiceSID: org.TwilioMessagingServiceSID, Sandbox: s.SandboxSMS}, nil
}

// purchaseClaim is the org's number purchase in progress, taken before
// Twilio is called. A claim whose Until has passed is a stopped request's
// (Lambda's timeout is far shorter than purchaseLease) and is taken over;
// Number is what that request bought and assigned, if it got that far,
// and is set instead of buying another.
type purchaseClaim struct {
	store.Keys
	Request string `dynamodbav:"requestId"`
	Until   int64  `dynamodbav:"until"` // Unix seconds
	Number  string `dynamodbav:"number,omitempty"`
}

const (
	purchaseSK    = "SMSNUMBER#PURCHASE"
	purchaseLease = 5 * time.Minute
)

var errPurchasing = &fault.Error{Kind: fault.Conflict, RetryAfter: time.Minute,
	Message: "A number is being bought for this org already; GET /v1/org shows it once bought."}

// ours is the condition that the claim is still this request's.
func (c purchaseClaim) ours() *store.Cond {
	return &store.Cond{Expr: "#rid = :rid", Names: map[string]string{"#rid": "requestId"},
		Values: map[string]types.AttributeValue{":rid": store.S(c.Request)}}
}

// claimPurchase takes the org's purchase claim, or answers 409 while
// another request holds it. Taking over an expired claim is conditional on
// its request id, so two requests cannot both take over one claim.
func (s *Service) claimPurchase(ctx context.Context, a caller.Caller) (purchaseClaim, error) {
	orgID := a.OrgID
	now := s.Now()
	c := purchaseClaim{Keys: store.Keys{PK: tenant.PK(orgID), SK: purchaseSK, Type: "smsPurchase"},
		Request: randomToken(), Until: now.Add(purchaseLease).Unix()}
	var old purchaseClaim
	cond := store.NotExists()
	switch err := s.DB.Get(ctx, c.PK, c.SK, &old); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return c, err
	case now.Unix() < old.Until:
		return c, errPurchasing
	default:
		cond, c.Number = old.ours(), old.Number
	}
	// The claim holds only while the caller may still buy: a member
	// removed meanwhile never reaches Twilio.
	put, err := s.DB.Put(c, cond)
	if err != nil {
		return c, err
	}
	switch err := s.DB.Transact(ctx, put, tenant.MemberWith(s.DB, orgID, a.UserID, access.ManageMessaging)); {
	case store.Failed(err, 0):
		return c, errPurchasing
	case store.Failed(err, 1):
		return c, tenant.ErrRoleChanged
	case err != nil:
		return c, err
	}
	return c, nil
}

// releasePurchase deletes the claim, or, when a number is assigned but
// not yet the org's smsFromNumber, leaves it for the next request to take
// over at once and set. A failure only delays the next purchase until the
// lease ends.
func (s *Service) releasePurchase(ctx context.Context, c purchaseClaim) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if c.Number == "" {
		err = s.DB.Transact(ctx, s.DB.Delete(c.PK, c.SK, c.ours()))
	} else {
		left := c
		left.Until = 0
		err = s.DB.PutItem(ctx, left, c.ours())
	}
	if err != nil && !store.Failed(err, 0) && !errors.Is(err, store.ErrConditionFailed) {
		s.Log.Warn("sms number purchase claim not released", "err", err)
	}
}

// CreateService creates a Messaging Service in the platform's Twilio
// account, assigns it to the org and makes it the org's
// twilioMessagingServiceSid. Its number pool is the platform's to fill.
func (s *Service) CreateService(ctx context.Context, a caller.Caller) (SMSSenderOut, error) {
	if s.Numbers == nil {
		return SMSSenderOut{}, errNoSMS
	}
	o, err := s.orgOf(ctx, a.OrgID)
	if err != nil {
		return SMSSenderOut{}, err
	}
	if o.TwilioMessagingServiceSID != "" {
		if who, err := identity.MessagingServiceAssignee(ctx, s.DB, o.TwilioMessagingServiceSID); err != nil {
			return SMSSenderOut{}, err
		} else if who == a.OrgID {
			return SMSSenderOut{}, fault.E(fault.Conflict, "This org has its Messaging Service already: %s.", o.TwilioMessagingServiceSID)
		}
	}
	if err := tenant.Confirm(ctx, s.DB, a.OrgID, a.UserID, access.ManageMessaging); err != nil {
		return SMSSenderOut{}, err
	}
	sid, err := s.Numbers.CreateMessagingService(ctx, "Matterly "+a.OrgID, s.inboundURL())
	if err != nil {
		s.Log.Warn("messaging service not created", "err", err)
		return SMSSenderOut{}, errTwilio
	}
	w, err := identity.MessagingServiceAssignment(s.DB, a.OrgID, sid)
	if err != nil {
		return SMSSenderOut{}, err
	}
	if err := s.assign(ctx, a, "messaging.sms_service.assigned", sid, w); err != nil {
		return SMSSenderOut{}, err
	}
	org, err := s.identity().UpdateOrg(ctx, principal(a), identity.OrgPatch{TwilioMessagingServiceSID: &sid})
	if err != nil {
		return SMSSenderOut{}, err
	}
	return SMSSenderOut{SMSFromNumber: org.SMSFromNumber, TwilioMessagingServiceSID: org.TwilioMessagingServiceSID, Sandbox: s.SandboxSMS}, nil
}

var errTwilio = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute,
	Message: "Twilio did not answer as expected; try again in a minute."}

// assign commits the assignment w (with writes that go with it) and its
// activity entry.
func (s *Service) assign(ctx context.Context, a caller.Caller, action, what string, w types.TransactWriteItem, with ...types.TransactWriteItem) error {
	e := activity.Entry{Action: action, EntityType: "org", EntityID: a.OrgID, Detail: what}
	err := activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now().UTC(), access.ManageMessaging, e, append([]types.TransactWriteItem{w}, with...)...)
	if store.Failed(err, 0) {
		// Twilio gave the platform something another org holds: never
		// handed over.
		s.Log.Error("twilio returned a number or service assigned to another org", "sid", what)
		return fault.E(fault.Conflict, "That number or service is assigned to another org.")
	}
	return err
}

func (s *Service) orgOf(ctx context.Context, orgID string) (org, error) {
	var o org
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &o); errors.Is(err, store.ErrNotFound) {
		return o, fault.E(fault.NotFound, "No such org.")
	} else if err != nil {
		return o, err
	}
	return o, nil
}

// inboundURL is where Twilio posts texts to the platform's numbers.
func (s *Service) inboundURL() string {
	return strings.TrimRight(cmp.Or(s.WebhookURL, s.PublicURL), "/") + "/webhooks/twilio/sms"
}

func (s *Service) identity() *identity.Service {
	return &identity.Service{DB: s.DB, Log: s.Log, Now: s.Now, NewID: s.NewID}
}

func principal(a caller.Caller) caller.Caller {
	return caller.Caller{UserID: a.UserID, OrgID: a.OrgID, Role: access.Role(a.Role)}
}
