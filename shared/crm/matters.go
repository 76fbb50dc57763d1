package crm

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// LoadMatter reads a matter of the org with a strongly consistent read; a
// missing one (or a malformed id) is a not-found error. Other capabilities
// that attach items to matters (documents) call it.
func LoadMatter(ctx context.Context, db *store.DB, orgID, id string) (Matter, error) {
	var m Matter
	return m, load(ctx, db, orgID, MatterSK(id), id, "matter", &m)
}

// MatterPatch holds matter fields to set; nil fields stay as they are and
// "" clears an optional one.
type MatterPatch struct {
	ClientID              *string   `json:"clientId"`
	Title                 *string   `json:"title"`
	PracticeArea          *string   `json:"practiceArea"`
	Status                *string   `json:"status"`
	ResponsibleAttorneyID *string   `json:"responsibleAttorneyId"`
	Team                  *[]string `json:"team"`
	Description           *string   `json:"description"`
	OpenedOn              *string   `json:"openedOn"`
	ClosedOn              *string   `json:"closedOn"`
	ClientUpdates         *string   `json:"clientUpdates"`
}

const maxTeam = 25

// isOpen reports whether a status counts toward a client's open matters.
func isOpen(status string) bool { return status != StatusClosed }

// apply sets the patch's fields on m and checks them; today is the date in
// the org's time zone, the default for opened and closed dates. Members
// referenced must be in roles (id → role of the org's members).
func (p MatterPatch) apply(m *Matter, today string, roles map[string]access.Role) error {
	var ck fault.Checker
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	wasStatus := m.Status
	if p.ClientID != nil && m.ClientID != "" && *p.ClientID != m.ClientID {
		ck.Add("clientId", "cannot change: a matter stays with its client")
	}
	set(&m.ClientID, p.ClientID)
	set(&m.Title, p.Title)
	set(&m.PracticeArea, p.PracticeArea)
	set(&m.Status, p.Status)
	set(&m.ResponsibleAttorneyID, p.ResponsibleAttorneyID)
	set(&m.Description, p.Description)
	set(&m.OpenedOn, p.OpenedOn)
	set(&m.ClosedOn, p.ClosedOn)
	set(&m.ClientUpdates, p.ClientUpdates)
	if m.ClientUpdates == "" {
		m.ClientUpdates = UpdatesNone
	}
	if m.Status == "" {
		m.Status = StatusOpen
	}
	if p.Team != nil {
		m.Team = dedupe(*p.Team)
	}
	if m.OpenedOn == "" {
		m.OpenedOn = today
	}
	switch {
	case m.Status == StatusClosed && m.ClosedOn == "":
		m.ClosedOn = today
	case m.Status != StatusClosed && wasStatus == StatusClosed && p.ClosedOn == nil:
		m.ClosedOn = "" // reopened
	}

	ck.Check(m.ClientID != "", "clientId", "is required")
	check.Text(&ck, "title", m.Title, true, 200)
	check.Text(&ck, "practiceArea", m.PracticeArea, false, 100)
	check.Text(&ck, "description", m.Description, false, 5000, true)
	ck.Check(m.Status == StatusOpen || m.Status == StatusPending || m.Status == StatusClosed, "status", `must be "open", "pending" or "closed"`)
	ck.Check(m.ClientUpdates == UpdatesNone || m.ClientUpdates == UpdatesSMS || m.ClientUpdates == UpdatesEmail, "clientUpdates", `must be "none", "sms" or "email"`)
	ck.Check(check.Date(m.OpenedOn), "openedOn", "must be a date, YYYY-MM-DD")
	if m.ClosedOn != "" {
		ck.Check(check.Date(m.ClosedOn), "closedOn", "must be a date, YYYY-MM-DD")
		ck.Check(m.Status == StatusClosed, "closedOn", "only a closed matter has a closing date")
		ck.Check(!check.Date(m.OpenedOn) || m.ClosedOn >= m.OpenedOn, "closedOn", "must not be before openedOn")
	}
	if id := m.ResponsibleAttorneyID; id != "" {
		ck.Check(slices.Contains(access.RolesWith(access.DeleteMatters), roles[id]), "responsibleAttorneyId",
			"must be a member of this org who is an owner, admin or attorney")
	}
	ck.Check(len(m.Team) <= maxTeam, "team", "at most "+strconv.Itoa(maxTeam)+" members")
	for i, id := range m.Team {
		_, ok := roles[id]
		ck.Check(ok, "team["+strconv.Itoa(i)+"]", "must be a member of this org")
	}
	return ck.Err()
}

// people lists the member ids a patch refers to, to be looked up.
func (p MatterPatch) people() []string {
	var ids []string
	if p.ResponsibleAttorneyID != nil {
		ids = append(ids, *p.ResponsibleAttorneyID)
	}
	if p.Team != nil {
		ids = append(ids, *p.Team...)
	}
	return ids
}

func dedupe(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// today is the date in loc.
func (s *Service) today(loc *time.Location) string { return s.Now().In(loc).Format(check.DateLayout) }

// openDelta is the transaction item that keeps the client's count of open
// matters: +1 or -1, and only while the client exists.
func (s *Service) openDelta(orgID, clientID string, delta int64, cond store.Cond) types.TransactWriteItem {
	return s.DB.Update(tenant.PK(orgID), ClientSK(clientID), "ADD #open :d", &cond,
		map[string]string{"#open": "openMatters"}, map[string]types.AttributeValue{":d": store.N(delta)})
}

// clientWritable is the transaction item that holds while the client
// exists and is not held after an erasure.
func (s *Service) clientWritable(orgID, clientID string) types.TransactWriteItem {
	return s.DB.Check(tenant.PK(orgID), ClientSK(clientID), writable())
}

// CreateMatter opens a matter for a client.
func (s *Service) CreateMatter(ctx context.Context, a caller.Caller, in MatterPatch) (Matter, error) {
	f, err := s.lookup(ctx, a.OrgID, want{org: true, members: in.people()})
	if err != nil {
		return Matter{}, err
	}
	now := s.Now().UTC()
	m := Matter{ID: s.NewID(), CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&m, s.today(f.loc), f.roles); err != nil {
		return Matter{}, err
	}
	if !check.ID(m.ClientID) {
		return Matter{}, fault.Fields(fault.FieldError{Field: "clientId", Message: "no such client"})
	}
	m.grantTeam(Matter{}, a.UserID)
	m.setKeys(a.OrgID)
	put, err := s.DB.Put(m, store.NotExists())
	if err != nil {
		return Matter{}, err
	}
	client := s.clientWritable(a.OrgID, m.ClientID)
	if isOpen(m.Status) {
		client = s.openDelta(a.OrgID, m.ClientID, 1, writable())
	}
	e := activity.Entry{Action: "matter.created", EntityType: "matter", EntityID: m.ID, ClientID: m.ClientID, MatterID: m.ID, Event: "matter.created"}
	err = s.commit(ctx, a, access.WriteMatters, e, put, client)
	if store.Failed(err, 1) {
		return Matter{}, refusal(ctx, s.DB, a.OrgID, m.ClientID, fault.Fields(fault.FieldError{Field: "clientId", Message: "no such client"}))
	}
	if err != nil {
		return Matter{}, err
	}
	return m, nil
}

// Matter reads one matter.
func (s *Service) Matter(ctx context.Context, orgID, id string) (Matter, error) {
	return LoadMatter(ctx, s.DB, orgID, id)
}

// UpdateMatter applies a partial update; closing or reopening a matter
// moves the client's open-matter count in the same transaction.
func (s *Service) UpdateMatter(ctx context.Context, a caller.Caller, id string, p MatterPatch) (Matter, error) {
	// The org's time zone dates a closing (or a cleared date); other edits
	// need no date.
	dates := p.Status != nil || p.OpenedOn != nil || p.ClosedOn != nil
	f, err := s.lookup(ctx, a.OrgID, want{org: dates, members: p.people()})
	if err != nil {
		return Matter{}, err
	}
	var m Matter
	err = s.updateAsRead(ctx, a, func() (edit, bool, error) {
		var err error
		if m, err = s.Matter(ctx, a.OrgID, id); err != nil {
			return edit{}, false, err
		}
		before := m
		if err := p.apply(&m, s.today(f.loc), withCurrent(f.roles, before)); err != nil {
			return edit{}, false, err
		}
		fields := changed(before, m)
		if len(fields) == 0 {
			return edit{}, false, nil
		}
		// A matter held after its client's erasure records nothing new: it
		// may only be closed (which its hold's period runs from), never
		// reopened, renamed or described anew.
		if before.Hold != nil && (isOpen(m.Status) && !isOpen(before.Status) ||
			slices.ContainsFunc(fields, func(f string) bool { return f != "status" && f != "closedOn" })) {
			return edit{}, false, before.Writable()
		}
		m.grantTeam(before, a.UserID)
		m.UpdatedAt = s.Now().UTC()
		m.setKeys(a.OrgID)
		w, err := s.DB.Replace(m, store.Unchanged(before.UpdatedAt), AttrDocumentCount, "createdAt", "createdBy")
		if err != nil {
			return edit{}, false, err
		}
		items := []types.TransactWriteItem{w}
		switch {
		case isOpen(before.Status) && !isOpen(m.Status):
			items = append(items, s.openDelta(a.OrgID, m.ClientID, -1, *store.Exists()))
		case !isOpen(before.Status) && isOpen(m.Status):
			items = append(items, s.openDelta(a.OrgID, m.ClientID, 1, *store.Exists()))
		}
		perm := access.WriteMatters
		if slices.Contains(fields, "team") || slices.Contains(fields, "responsibleAttorneyId") {
			if perm, err = s.mayStaff(a, before); err != nil {
				return edit{}, false, err
			}
		}
		e := activity.Entry{Action: "matter.updated", EntityType: "matter", EntityID: m.ID, ClientID: m.ClientID, MatterID: m.ID, Fields: fields}
		if before.Status != m.Status {
			e.Detail = before.Status + " → " + m.Status
		}
		switch {
		case m.Status == StatusClosed && before.Status != StatusClosed:
			e.Event = "matter.closed"
		case m.Status != before.Status:
			// Subscribers (client case updates) read the matter for the rest.
			e.Event = "matter.status_changed"
		}
		return edit{perm: perm, entry: e, items: items, refused: func(err error) error {
			if len(items) > 1 && store.Failed(err, 1) {
				return fault.E(fault.Conflict, "The matter's client no longer exists; a matter of a deleted client stays closed.")
			}
			return nil
		}}, true, nil
	})
	if err != nil {
		return Matter{}, err
	}
	return m, nil
}

// errNotTeamLead refuses a team change by someone who does not lead the
// matter.
var errNotTeamLead = fault.E(fault.Forbidden, "Only owners, admins and the matter's responsible attorney change its team or its responsible attorney.")

// mayStaff decides whether a may change who works on m (its team or its
// responsible attorney), and with which permission the write must commit.
// Being on a matter widens access (deleting it, reading its trust ledger),
// so nobody may grant it to themselves: only owners and admins, who have
// that access anyway, and the matter's responsible attorney staff it. An
// owner or admin commits with a permission only they hold (ManageOrg), so a
// demotion since their token was issued stops the write; the responsible
// attorney is held by the write's own condition on the matter as read.
func (s *Service) mayStaff(a caller.Caller, m Matter) (access.Permission, error) {
	switch r := access.Role(a.Role); {
	case r == access.Owner || r == access.Admin:
		return access.ManageOrg, nil
	case m.ResponsibleAttorneyID != "" && m.ResponsibleAttorneyID == a.UserID:
		return access.WriteMatters, nil
	}
	return "", errNotTeamLead
}

// withCurrent adds the members a matter already names to roles, so an
// update that leaves the team alone does not need them looked up again.
func withCurrent(roles map[string]access.Role, m Matter) map[string]access.Role {
	out := maps.Clone(roles)
	if _, ok := out[m.ResponsibleAttorneyID]; !ok && m.ResponsibleAttorneyID != "" {
		out[m.ResponsibleAttorneyID] = access.Attorney
	}
	for _, id := range m.Team {
		if _, ok := out[id]; !ok {
			out[id] = access.Staff
		}
	}
	return out
}

// DeleteMatter removes a matter that has no documents (documents are
// deleted one by one, deliberately). Lawyers may delete any matter; the
// rest of the case team only the matters they are on.
func (s *Service) DeleteMatter(ctx context.Context, a caller.Caller, id string) error {
	for range retryEdits {
		m, err := s.Matter(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		perm := access.DeleteMatters
		if !access.Can(access.Role(a.Role), perm) {
			perm = access.DeleteAssignedMatters
			if !access.Can(access.Role(a.Role), perm) || !m.OnMatter(a.UserID) {
				return fault.E(fault.Forbidden, "Your role (%s) may delete only the matters you are on.", a.Role)
			}
		}
		if m.DocumentCount > 0 {
			return fault.E(fault.Conflict, "This matter has %d documents; delete them before deleting the matter.", m.DocumentCount)
		}
		cond := noTrustRecords(store.Unchanged(m.UpdatedAt))
		cond.Expr += " AND (attribute_not_exists(#docs) OR #docs = :zero)"
		cond.Names["#docs"] = AttrDocumentCount
		items := []types.TransactWriteItem{s.DB.Delete(tenant.PK(a.OrgID), MatterSK(id), cond)}
		if isOpen(m.Status) {
			items = append(items, s.openDelta(a.OrgID, m.ClientID, -1, *store.Exists()))
		}
		e := activity.Entry{Action: "matter.deleted", EntityType: "matter", EntityID: id, ClientID: m.ClientID, MatterID: id}
		err = s.commit(ctx, a, perm, e, items...)
		if store.Failed(err, 0) {
			var held struct {
				TrustEntries int64 `dynamodbav:"trustEntries"`
			}
			if s.get(ctx, a.OrgID, MatterSK(id), id, "matter", &held) == nil && held.TrustEntries != 0 {
				return errTrustRecords("matter")
			}
			continue // edited, given a document or deleted meanwhile: read again
		}
		return err
	}
	return errEditRace
}

// MatterFilter narrows a list of matters.
type MatterFilter struct{ ClientID, Status string }

// ListMatters pages through matters: of one client (pending, open, then
// closed, newest first within each), of one status, or all, newest first.
func (s *Service) ListMatters(ctx context.Context, orgID string, f MatterFilter, limit int32, start store.StartKey) ([]Matter, store.StartKey, error) {
	q := store.Query{PK: tenant.PK(orgID), SKPrefix: matterPfx, Limit: limit, StartKey: start, Consistent: true}
	switch {
	case f.ClientID != "":
		q = store.Query{Index: store.IndexGSI1, PK: mattersOfClientPK(orgID, f.ClientID), Limit: limit, StartKey: start}
		if f.Status != "" {
			q.SKPrefix = f.Status + "#"
		}
	case f.Status != "":
		q = store.Query{Index: store.IndexGSI2, PK: mattersByStatusPK(orgID, f.Status), Limit: limit, StartKey: start}
	}
	var out []Matter
	next, err := s.DB.QueryPage(ctx, q, &out)
	return out, next, err
}
