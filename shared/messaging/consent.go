package messaging

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// ConsentOf returns the consent state of an address; an address never
// recorded is reported opted in by default (State "" in the item, shown as
// "none").
func (s *Service) ConsentOf(ctx context.Context, orgID, channel, address string) (Consent, error) {
	c := Consent{Channel: channel, Address: address}
	err := s.DB.Get(ctx, tenant.PK(orgID), consentSK(channel, address), &c)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Consent{}, err
	}
	return c, nil
}

// consentWrites are the transaction items that record change: the new
// state (conditional on the version read, so two changes never interleave)
// and its log entry, which is never rewritten.
func (s *Service) consentWrites(orgID string, cur Consent, change *ConsentChange) ([]types.TransactWriteItem, error) {
	change.At = s.Now().UTC()
	change.Keys = store.Keys{PK: tenant.PK(orgID), SK: consentLogPrefix(change.Channel, change.Address) + change.ID, Type: "consentChange"}
	next := Consent{Keys: store.Keys{PK: tenant.PK(orgID), SK: consentSK(change.Channel, change.Address), Type: "consent"},
		Channel: change.Channel, Address: change.Address, State: change.State, Method: change.Method, Version: cur.Version + 1, UpdatedAt: change.At}
	cond := store.NotExists()
	if cur.Version > 0 {
		cond = &store.Cond{Expr: "#v = :v", Names: map[string]string{"#v": "version"}, Values: map[string]types.AttributeValue{":v": store.N(cur.Version)}}
	}
	put, err := s.DB.Put(next, cond)
	if err != nil {
		return nil, err
	}
	logPut, err := s.DB.Put(*change, store.NotExists())
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{put, logPut}, nil
}

// maxConsentTries bounds the retries of a consent change that raced another.
const maxConsentTries = 5

// ChangeConsent records one opt-in or opt-out: the state flips and the log
// gains an entry in one transaction, retried when another change won the
// race. extra items join the transaction (an inbound message, say), and
// the change lands only with them.
func (s *Service) ChangeConsent(ctx context.Context, orgID string, change ConsentChange, extra ...types.TransactWriteItem) (ConsentChange, error) {
	return s.changeConsent(ctx, orgID, change, nil, extra...)
}

// changeConsent is ChangeConsent with allowed, which judges the change
// against the state it would replace (nil allows any): the state is
// written on condition of the version allowed saw, so a rule is never
// judged on a state that has changed since.
func (s *Service) changeConsent(ctx context.Context, orgID string, change ConsentChange, allowed func(Consent) error, extra ...types.TransactWriteItem) (ConsentChange, error) {
	// One id for every try: the log entry's key, and the request token
	// that keeps a commit whose answer was lost from landing twice.
	change.ID = s.NewID()
	for try := 0; ; try++ {
		cur, err := s.ConsentOf(ctx, orgID, change.Channel, change.Address)
		if err != nil {
			return ConsentChange{}, err
		}
		if allowed != nil {
			if err := allowed(cur); err != nil {
				return ConsentChange{}, err
			}
		}
		c := change
		writes, err := s.consentWrites(orgID, cur, &c)
		if err != nil {
			return ConsentChange{}, err
		}
		err = s.DB.Transact(store.WithRequestToken(ctx, change.ID+"-"+strconv.Itoa(try)), append(writes, extra...)...)
		if err == nil {
			return c, nil
		}
		if !store.Failed(err, 0) || try == maxConsentTries {
			return ConsentChange{}, err
		}
	}
}

// ClientOptedOut reports an opt-out the address's owner made themselves: a
// keyword (STOP), an unsubscribe link, or what a provider holds for them
// (Twilio's 21610, an SES spam complaint). Only the client undoes it (START
// by text, or confirming a double opt-in request), or an owner or admin
// with a reason and written evidence (staff_override). An opt-out stored
// before states kept their method counts as the client's: the safe reading.
func ClientOptedOut(c Consent) bool {
	return c.State == ConsentOut && !slices.Contains([]string{MethodStaff, MethodWebForm, MethodImport}, c.Method)
}

// ruleClientOptedOut is the rule an ordinary staff opt-in of such an
// address breaks.
const ruleClientOptedOut = "consent.client-opted-out"

var errClientOptedOut = fault.Refused(ruleClientOptedOut, "The client opted out themselves (a STOP, an unsubscribe or a spam complaint), "+
	"so only they can opt back in: by texting START, or by confirming a request sent with POST /v1/consent/confirmations. "+
	"An owner or admin holding their written consent may record method staff_override with a reason and the evidence.")

// maxOverrideText bounds an override's reason and evidence.
const maxOverrideText = 1000

// ConsentInput is a consent change a member records.
type ConsentInput struct {
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	State    string `json:"state"`  // opted_in or opted_out
	Method   string `json:"method"` // staff, web_form, import or staff_override
	ClientID string `json:"clientId"`
	Note     string `json:"note"`
	// Reason and Evidence are required with staff_override, and only there.
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
}

// consentPermission is what recording in needs: anyone may record an
// opt-out, the case team an opt-in, owners and admins an override.
func consentPermission(in ConsentInput) access.Permission {
	switch {
	case in.Method == MethodStaffOverride:
		return access.OverrideConsent
	case in.State == ConsentIn:
		return access.OptInConsent
	}
	return access.RecordConsent
}

// RecordConsent records a change a member makes on a client's behalf. The
// caller's role (checked again inside the transaction: a token outlives a
// demotion) decides what they may record; an opt-in undoes the client's
// own opt-out only as a staff_override.
func (s *Service) RecordConsent(ctx context.Context, a caller.Caller, in ConsentInput) (ConsentChange, error) {
	perm := consentPermission(in)
	if !access.Can(access.Role(a.Role), perm) {
		return ConsentChange{}, fault.E(fault.Forbidden, "Your role cannot record this consent change (%s).", perm)
	}
	in.Phone, in.Note = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Note)
	in.Reason, in.Evidence = strings.TrimSpace(in.Reason), strings.TrimSpace(in.Evidence)
	email, emailOK := check.Email(in.Email)
	in.Email = normalEmail(email)
	override := in.Method == MethodStaffOverride
	var ck fault.Checker
	ck.Check((in.Phone == "") != (in.Email == ""), "phone", "give exactly one of phone and email")
	ck.Check(in.Phone == "" || check.Phone(in.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	ck.Check(in.Email == "" || emailOK, "email", "must be an email address")
	ck.Check(in.State == ConsentIn || in.State == ConsentOut, "state", "must be opted_in or opted_out")
	ck.Check(slices.Contains(ConsentMethods, in.Method), "method", "must be one of "+strings.Join(ConsentMethods, ", "))
	ck.Check(!override || in.State == ConsentIn, "state", "staff_override only opts in")
	check.Text(&ck, "note", in.Note, false, 500)
	check.Text(&ck, "reason", in.Reason, override, maxOverrideText, true)
	check.Text(&ck, "evidence", in.Evidence, override, maxOverrideText, true)
	ck.Check(override || in.Reason == "" && in.Evidence == "", "reason", "reason and evidence go only with method staff_override")
	if err := ck.Err(); err != nil {
		return ConsentChange{}, err
	}
	if in.ClientID != "" {
		if _, err := crm.LoadClient(ctx, s.DB, a.OrgID, in.ClientID); err != nil {
			return ConsentChange{}, err
		}
	}
	channel, addr := SMS, in.Phone
	if in.Email != "" {
		channel, addr = Email, in.Email
	}
	allowed := func(cur Consent) error {
		if in.State == ConsentIn && !override && ClientOptedOut(cur) {
			return errClientOptedOut
		}
		return nil
	}
	member := tenant.MemberWith(s.DB, a.OrgID, a.UserID, perm)
	c, err := s.changeConsent(ctx, a.OrgID, ConsentChange{Channel: channel, Address: addr, State: in.State, Method: in.Method,
		ActorID: a.UserID, ClientID: in.ClientID, Note: in.Note, Reason: in.Reason, Evidence: in.Evidence}, allowed, member)
	if store.Failed(err, 2) { // the item after the state and its log entry
		return ConsentChange{}, tenant.ErrRoleChanged
	}
	return c, err
}

// ConsentLog pages through an address's consent log, newest first.
func (s *Service) ConsentLog(ctx context.Context, orgID, channel, address string, limit int32, start store.StartKey) ([]ConsentChange, store.StartKey, error) {
	var out []ConsentChange
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: consentLogPrefix(channel, address), Limit: limit, StartKey: start}, &out)
	return out, next, err
}
