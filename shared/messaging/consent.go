package messaging

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
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
		Channel: change.Channel, Address: change.Address, State: change.State, Version: cur.Version + 1, UpdatedAt: change.At}
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
	// One id for every try: the log entry's key, and the request token
	// that keeps a commit whose answer was lost from landing twice.
	change.ID = s.NewID()
	for try := 0; ; try++ {
		cur, err := s.ConsentOf(ctx, orgID, change.Channel, change.Address)
		if err != nil {
			return ConsentChange{}, err
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

// ConsentInput is a consent change a member records.
type ConsentInput struct {
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	State    string `json:"state"`  // opted_in or opted_out
	Method   string `json:"method"` // staff, web_form or import
	ClientID string `json:"clientId"`
	Note     string `json:"note"`
}

// RecordConsent records a change a member makes on a client's behalf.
func (s *Service) RecordConsent(ctx context.Context, orgID, actorID string, in ConsentInput) (ConsentChange, error) {
	in.Phone, in.Note = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Note)
	email, emailOK := check.Email(in.Email)
	in.Email = normalEmail(email)
	var ck fault.Checker
	ck.Check((in.Phone == "") != (in.Email == ""), "phone", "give exactly one of phone and email")
	ck.Check(in.Phone == "" || check.Phone(in.Phone), "phone", "must be in E.164 format, e.g. +14155550123")
	ck.Check(in.Email == "" || emailOK, "email", "must be an email address")
	ck.Check(in.State == ConsentIn || in.State == ConsentOut, "state", "must be opted_in or opted_out")
	ck.Check(slices.Contains(ConsentMethods, in.Method), "method", "must be one of "+strings.Join(ConsentMethods, ", "))
	check.Text(&ck, "note", in.Note, false, 500)
	if err := ck.Err(); err != nil {
		return ConsentChange{}, err
	}
	if in.ClientID != "" {
		if _, err := crm.LoadClient(ctx, s.DB, orgID, in.ClientID); err != nil {
			return ConsentChange{}, err
		}
	}
	channel, addr := SMS, in.Phone
	if in.Email != "" {
		channel, addr = Email, in.Email
	}
	// The change holds only while the member may still record consent.
	c, err := s.ChangeConsent(ctx, orgID, ConsentChange{Channel: channel, Address: addr, State: in.State, Method: in.Method,
		ActorID: actorID, ClientID: in.ClientID, Note: in.Note}, tenant.MemberWith(s.DB, orgID, actorID, access.RecordConsent))
	if tenant.RoleLost(err) {
		return ConsentChange{}, tenant.ErrRoleChanged
	}
	return c, err
}

// ConsentLog pages through an address's consent log, newest first.
func (s *Service) ConsentLog(ctx context.Context, orgID, channel, address string, limit int32, start map[string]types.AttributeValue) ([]ConsentChange, map[string]types.AttributeValue, error) {
	var out []ConsentChange
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: consentLogPrefix(channel, address), Limit: limit, StartKey: start}, &out)
	return out, next, err
}
