package crm

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// ClientPatch holds client fields to set; nil fields stay as they are and
// "" clears an optional one. An address with every field empty clears it.
type ClientPatch struct {
	Kind    *string   `json:"kind"`
	Name    *string   `json:"name"`
	Email   *string   `json:"email"`
	Phone   *string   `json:"phone"`
	Address *Address  `json:"address"`
	Tags    *[]string `json:"tags"`
}

const (
	maxTags   = 20
	maxTagLen = 40
)

// apply sets the patch's fields on c and validates the result.
func (p ClientPatch) apply(c *Client) error {
	var ck fault.Checker
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&c.Kind, p.Kind)
	set(&c.Name, p.Name)
	set(&c.Email, p.Email)
	set(&c.Phone, p.Phone)
	if p.Address != nil {
		c.Address = cleanAddress(*p.Address)
	}
	if p.Tags != nil {
		c.Tags = cleanTags(&ck, *p.Tags)
	}
	ck.Check(c.Kind == Person || c.Kind == Company, "kind", `must be "person" or "company"`)
	check.Text(&ck, "name", c.Name, true, 200)
	if c.Email != "" {
		email, ok := check.Email(c.Email)
		ck.Check(ok, "email", "must be a valid email address")
		c.Email = email
	}
	ck.Check(c.Phone == "" || check.Phone(c.Phone), "phone", check.PhoneMessage)
	if a := c.Address; a != nil && a.Text != "" {
		check.Text(&ck, "address", a.Text, true, 500)
	} else if a != nil {
		check.Text(&ck, "address.line1", a.Line1, true, 200)
		check.Text(&ck, "address.line2", a.Line2, false, 200)
		check.Text(&ck, "address.city", a.City, true, 100)
		check.Text(&ck, "address.region", a.Region, false, 100)
		check.Text(&ck, "address.postalCode", a.PostalCode, false, 20)
		ck.Check(check.Bytes(a.Country, 2, 2, check.Upper), "address.country", "must be an ISO 3166-1 alpha-2 country code, e.g. US")
	}
	return ck.Err()
}

func cleanAddress(a Address) *Address {
	t := strings.TrimSpace
	a = Address{Line1: t(a.Line1), Line2: t(a.Line2), City: t(a.City), Region: t(a.Region), PostalCode: t(a.PostalCode),
		Country: strings.ToUpper(t(a.Country)), Text: t(a.Text)}
	if a == (Address{}) {
		return nil
	}
	return &a
}

// cleanTags trims tags and drops duplicates that differ only in case.
func cleanTags(ck *fault.Checker, tags []string) []string {
	ck.Check(len(tags) <= maxTags, "tags", "at most "+strconv.Itoa(maxTags)+" tags")
	out := []string{}
	seen := map[string]bool{}
	for i, tag := range tags {
		tag = strings.TrimSpace(tag)
		check.Text(ck, "tags["+strconv.Itoa(i)+"]", tag, true, maxTagLen)
		if k := fold(tag); !seen[k] {
			seen[k] = true
			out = append(out, tag)
		}
	}
	return out
}

// CreateClient adds a client.
func (s *Service) CreateClient(ctx context.Context, a caller.Caller, in ClientPatch) (Client, error) {
	now := s.Now().UTC()
	c := Client{ID: s.NewID(), CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&c); err != nil {
		return Client{}, err
	}
	c.setKeys(a.OrgID)
	put, err := s.DB.Put(c, store.NotExists())
	if err != nil {
		return Client{}, err
	}
	names, err := s.nameIndex(a.OrgID, nil, c)
	if err != nil {
		return Client{}, err
	}
	contacts, err := s.contactWrites(a.OrgID, nil, &c)
	if err != nil {
		return Client{}, err
	}
	names = append(names, contacts...)
	e := activity.Entry{Action: "client.created", EntityType: "client", EntityID: c.ID, ClientID: c.ID, Event: "client.created"}
	if err := s.commit(ctx, a, access.WriteClients, e, append([]types.TransactWriteItem{put}, names...)...); err != nil {
		return Client{}, err
	}
	return c, nil
}

// Client reads one client.
func (s *Service) Client(ctx context.Context, orgID, id string) (Client, error) {
	return LoadClient(ctx, s.DB, orgID, id)
}

// LoadClient reads a client of the org; a missing one (or a malformed id)
// is a not-found error. Other capabilities that act for a client
// (messaging) call it.
func LoadClient(ctx context.Context, db *store.DB, orgID, id string) (Client, error) {
	var c Client
	return c, load(ctx, db, orgID, ClientSK(id), id, "client", &c)
}

// UpdateClient applies a partial update. Counters kept by other writes
// (open matters) are never overwritten with what this read.
func (s *Service) UpdateClient(ctx context.Context, a caller.Caller, id string, p ClientPatch) (Client, error) {
	var c Client
	err := s.updateAsRead(ctx, a, func() (edit, bool, error) {
		var err error
		if c, err = s.Client(ctx, a.OrgID, id); err != nil {
			return edit{}, false, err
		}
		if err := c.Writable(); err != nil {
			return edit{}, false, err
		}
		before := c
		if err := p.apply(&c); err != nil {
			return edit{}, false, err
		}
		fields := changed(before, c)
		if len(fields) == 0 {
			return edit{}, false, nil
		}
		c.UpdatedAt = s.Now().UTC()
		c.setKeys(a.OrgID)
		w, err := s.DB.Replace(c, store.Unchanged(before.UpdatedAt), "openMatters", "createdAt", "createdBy", "restriction", "privacyHold")
		if err != nil {
			return edit{}, false, err
		}
		names, err := s.nameIndex(a.OrgID, &before, c)
		if err != nil {
			return edit{}, false, err
		}
		contacts, err := s.contactWrites(a.OrgID, &before, &c)
		if err != nil {
			return edit{}, false, err
		}
		e := activity.Entry{Action: "client.updated", EntityType: "client", EntityID: c.ID, ClientID: c.ID, Fields: fields}
		return edit{perm: access.WriteClients, entry: e, items: append(append([]types.TransactWriteItem{w}, names...), contacts...)}, true, nil
	})
	if err != nil {
		return Client{}, err
	}
	return c, nil
}

// DeleteClient removes a client that has no open matters. Its closed
// matters, notes and activity are kept: a practice's records outlive the
// client relationship (erasure is its own process).
func (s *Service) DeleteClient(ctx context.Context, a caller.Caller, id string) error {
	if !check.ID(id) {
		return notFound("client")
	}
	del := s.DB.Delete(tenant.PK(a.OrgID), ClientSK(id), noTrustRecords(&store.Cond{
		Expr:   "attribute_exists(PK) AND #open = :zero",
		Names:  map[string]string{"#open": "openMatters"},
		Values: map[string]types.AttributeValue{},
	}))
	items := []types.TransactWriteItem{del}
	for i := range maxNameWords { // whichever entries the name has
		items = append(items, s.DB.Delete(tenant.PK(a.OrgID), nameEntrySK(id, i), nil))
	}
	// The contact entries of the client as read now; one left behind by an
	// edit racing this delete names a client that no longer exists, which
	// readers check.
	if c, err := s.Client(ctx, a.OrgID, id); err == nil {
		gone, err := s.contactWrites(a.OrgID, &c, nil)
		if err != nil {
			return err
		}
		items = append(items, gone...)
	}
	e := activity.Entry{Action: "client.deleted", EntityType: "client", EntityID: id, ClientID: id}
	err := s.commit(ctx, a, access.DeleteClients, e, items...)
	if !store.Failed(err, 0) {
		return err
	}
	var c struct {
		OpenMatters  int   `dynamodbav:"openMatters"`
		TrustEntries int64 `dynamodbav:"trustEntries"`
	}
	if err := s.get(ctx, a.OrgID, ClientSK(id), id, "client", &c); err != nil {
		return err
	}
	if c.OpenMatters == 0 && c.TrustEntries != 0 {
		return errTrustRecords("client")
	}
	return fault.E(fault.Conflict, "This client has %d open or pending matters; close them before deleting the client.", c.OpenMatters)
}

// nameIndex returns the writes that keep client c's search entries in step
// with its name: all of them for a new client (before nil), the changed ones
// and the removal of those the new name no longer has after an edit.
func (s *Service) nameIndex(orgID string, before *Client, c Client) ([]types.TransactWriteItem, error) {
	var old []nameEntry
	if before != nil {
		if fold(before.Name) == fold(c.Name) {
			return nil, nil
		}
		old = nameEntries(orgID, *before)
	}
	entries := nameEntries(orgID, c)
	var out []types.TransactWriteItem
	for _, e := range entries {
		w, err := s.DB.Put(e, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	for i := len(entries); i < len(old); i++ {
		out = append(out, s.DB.Delete(tenant.PK(orgID), nameEntrySK(c.ID, i), nil))
	}
	return out, nil
}

// ListClients pages through the org's clients: newest first or, with a
// query, those with a word of their name starting with it (case and accents
// ignored), in name order: one index query, then one batch read.
func (s *Service) ListClients(ctx context.Context, orgID, q string, limit int32, start store.StartKey) ([]Client, store.StartKey, error) {
	if q == "" {
		var out []Client
		next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: clientPfx, Limit: limit, StartKey: start, Consistent: true}, &out)
		return out, next, err
	}
	q = fold(q)
	var entries []nameEntry
	next, err := s.DB.QueryPage(ctx, store.Query{Index: store.IndexGSI1, PK: clientsByNamePK(orgID), SKPrefix: q, Forward: true,
		Limit: limit, StartKey: start}, &entries)
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, e := range entries {
		at, _, _ := strings.Cut(e.GSI1SK, nameSep) // the entry's text
		if firstMatch(e.Folded, at, q) {
			ids = append(ids, e.ClientID)
		}
	}
	clients := make([]Client, len(ids))
	reqs := make([]*store.KeyOut, len(ids))
	for i, id := range ids {
		reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: ClientSK(id), Out: &clients[i]}
	}
	if len(reqs) > 0 {
		if err := s.DB.BatchGet(ctx, reqs...); err != nil {
			return nil, nil, err
		}
	}
	out := clients[:0]
	for i, r := range reqs {
		if r.Found { // deleted since the index was read: left out
			out = append(out, clients[i])
		}
	}
	return out, next, nil
}
