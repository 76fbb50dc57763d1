package privacy

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// RestrictionInput is PUT /v1/clients/{clientId}/restriction.
type RestrictionInput struct {
	Restricted *bool  `json:"restricted"`
	Reason     string `json:"reason"`
}

// Restrict sets or lifts a client's restriction of processing (GDPR art.
// 18) on the client's own item, which every capability that sends a
// client's data to a processor already reads (crm.Client.Processable).
func (s *Service) Restrict(ctx context.Context, a caller.Caller, clientID string, in RestrictionInput) (crm.Client, error) {
	var ck fault.Checker
	ck.Check(in.Restricted != nil, "restricted", "is required (true or false)")
	check.Text(&ck, "reason", in.Reason, false, 500)
	if err := ck.Err(); err != nil {
		return crm.Client{}, err
	}
	if !check.ID(clientID) {
		return crm.Client{}, fault.E(fault.NotFound, "No such client.")
	}
	now := s.Now().UTC()
	r, err := store.Marshal(crm.Restriction{Restricted: *in.Restricted, Reason: in.Reason, By: a.UserID, At: now})
	if err != nil {
		return crm.Client{}, err
	}
	upd := s.DB.Update(tenant.PK(a.OrgID), crm.ClientSK(clientID), "SET restriction = :r, updatedAt = :u", store.Exists(), nil,
		map[string]types.AttributeValue{":r": &types.AttributeValueMemberM{Value: r}, ":u": store.S(now.Format(time.RFC3339Nano))})
	detail := "lifted"
	if *in.Restricted {
		detail = "restricted"
	}
	e := activity.Entry{Action: "client.restriction_changed", EntityType: "client", EntityID: clientID, ClientID: clientID, Fields: []string{"restriction"}, Detail: detail}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePrivacy, e, upd)
	if store.Failed(err, 0) {
		return crm.Client{}, fault.E(fault.NotFound, "No such client.")
	}
	if err != nil {
		return crm.Client{}, err
	}
	var c crm.Client
	if err := s.DB.Get(ctx, tenant.PK(a.OrgID), crm.ClientSK(clientID), &c); err != nil {
		return crm.Client{}, err
	}
	return c, nil
}
