package chat

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Service implements team chat.
type Service struct {
	DB      *store.DB
	Storage *documents.Storage // attachments; nil answers 503
	GIFs    GIFProvider        // nil until a Giphy key is set (503 saying so)
	Push    Pusher             // real-time delivery; nil sends no frames
	Log     *slog.Logger
	Now     func() time.Time
	NewID   func() string
	gifs    *gifCache
}

// NewService returns a Service with ULID ids.
func NewService(db *store.DB, storage *documents.Storage, gifs GIFProvider, push Pusher, log *slog.Logger, now func() time.Time) *Service {
	return &Service{DB: db, Storage: storage, GIFs: gifs, Push: push, Log: log, Now: now,
		NewID: func() string { return ulid.Make().String() }, gifs: newGIFCache(gifCacheTTL)}
}

var (
	errNoThread  = fault.E(fault.NotFound, "No such thread.")
	errNoMessage = fault.E(fault.NotFound, "No such message.")
)

// maxAttempts bounds the retries of a write that lost an optimistic
// check to a concurrent one (two sends to one thread at once).
const maxAttempts = 10

// errBusy answers a write that lost to concurrent ones maxAttempts times.
var errBusy = &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Second, Message: "The thread is busy; try again shortly."}

// retry waits a short jittered, growing delay before attempt+1 of a write
// that lost an optimistic check, or gives up with errBusy.
func (s *Service) retry(ctx context.Context, attempt int) error {
	if attempt+1 >= maxAttempts {
		return errBusy
	}
	d := time.Duration(1<<min(attempt, 5)) * time.Millisecond
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// place is a thread read with the caller's membership: one BatchGet.
type place struct {
	thread threadRow
	member memberRow
}

// load reads a thread and userID's place in it; a thread userID is not a
// member of is not found (its existence is no business of theirs).
func (s *Service) load(ctx context.Context, orgID, userID, threadID string, more ...*store.KeyOut) (place, error) {
	if !check.ID(threadID) {
		return place{}, errNoThread
	}
	var p place
	reqs := append([]*store.KeyOut{{PK: tenant.PK(orgID), SK: threadSK(threadID), Out: &p.thread},
		{PK: tenant.PK(orgID), SK: memberSK(userID, threadID), Out: &p.member}}, more...)
	if err := s.DB.BatchGet(ctx, reqs...); err != nil {
		return place{}, err
	}
	if !reqs[0].Found || !reqs[1].Found || !p.thread.has(userID) {
		return place{}, errNoThread
	}
	return p, nil
}

// memberExists is the transaction check that userID is (still) in the thread.
func (s *Service) memberExists(orgID, userID, threadID string) types.TransactWriteItem {
	return s.DB.Check(tenant.PK(orgID), memberSK(userID, threadID), *store.Exists())
}

// commit writes items with the check that a still holds perm, without an
// activity entry: a chat message is its own record (compliance reads it).
func (s *Service) commit(ctx context.Context, a caller.Caller, items ...types.TransactWriteItem) error {
	all := append(slices.Clip(items), tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.UseChat))
	err := s.DB.Transact(ctx, all...)
	if store.Failed(err, len(all)-1) {
		return tenant.ErrRoleChanged
	}
	return err
}

// ---- Threads ----

// CreateInput is POST /v1/chat/threads.
type CreateInput struct {
	Kind      string   `json:"kind"`
	MemberIDs []string `json:"memberIds"`
	Name      string   `json:"name"`
}

// activeMembers checks that every id is an active member of org.
func (s *Service) activeMembers(ctx context.Context, orgID, field string, ids []string) error {
	for start := 0; start < len(ids); start += 100 {
		chunk := ids[start:min(start+100, len(ids))]
		items := make([]map[string]any, len(chunk))
		reqs := make([]*store.KeyOut, len(chunk))
		for i, id := range chunk {
			reqs[i] = &store.KeyOut{PK: tenant.PK(orgID), SK: tenant.MemberSK(id), Out: &items[i]}
		}
		if err := s.DB.BatchGet(ctx, reqs...); err != nil {
			return err
		}
		for i, r := range reqs {
			role, _ := items[i]["role"].(string)
			status, _ := items[i]["status"].(string)
			if !r.Found || !access.Role(role).Valid() || status == tenant.Invited {
				return fault.Fields(fault.FieldError{Field: field, Message: "must all be active members of your org"})
			}
		}
	}
	return nil
}

// memberList is ids with the caller, each once, in order, checked.
func memberList(ck *fault.Checker, field, self string, ids []string) []string {
	out := []string{self}
	for i, id := range ids {
		if !check.ID(id) {
			ck.Add(field+"["+strconv.Itoa(i)+"]", "must be a user id")
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// CreateThread starts a thread. A direct thread exists once per pair: a
// second create answers the first (created false), shown again to a
// caller who had hidden it.
func (s *Service) CreateThread(ctx context.Context, a caller.Caller, in CreateInput) (Thread, bool, error) {
	var ck fault.Checker
	in.Name = strings.TrimSpace(in.Name)
	members := memberList(&ck, "memberIds", a.UserID, in.MemberIDs)
	switch in.Kind {
	case Direct:
		ck.Check(len(members) == 2, "memberIds", "a direct thread has exactly one other member")
		ck.Check(in.Name == "", "name", "only a group has a name")
	case Group:
		check.Text(&ck, "name", in.Name, true, MaxGroupName)
		ck.Check(len(members) >= 2 && len(members) <= MaxMembers, "memberIds", "a group has 2 to 100 members, you included")
	default:
		ck.Add("kind", `must be "direct" or "group"`)
	}
	if err := ck.Err(); err != nil {
		return Thread{}, false, err
	}
	if err := s.activeMembers(ctx, a.OrgID, "memberIds", members[1:]); err != nil {
		return Thread{}, false, err
	}
	if in.Kind == Direct {
		if t, found, err := s.existingDirect(ctx, a, members[1]); err != nil || found {
			return t, false, err
		}
	}
	now := s.Now().UTC()
	t := threadRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: "", Type: "chatThread"}, ID: s.NewID(), Kind: in.Kind, Name: in.Name,
		CreatedBy: a.UserID, CreatedAt: now, LastAt: now, Members: members,
		Reads: map[string]string{}, ReadSeq: map[string]int64{}, Muted: map[string]bool{}}
	t.SK = threadSK(t.ID)
	put, err := s.DB.Put(t, store.NotExists())
	if err != nil {
		return Thread{}, false, err
	}
	items := []types.TransactWriteItem{put}
	if in.Kind == Direct {
		pair, err := s.DB.Put(pairRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: pairSK(members[0], members[1]), Type: "chatPair"}, ThreadID: t.ID}, store.NotExists())
		if err != nil {
			return Thread{}, false, err
		}
		items = append(items, pair)
	}
	rows, err := s.memberPuts(ctx, a.OrgID, t.ID, members, now)
	if err != nil {
		return Thread{}, false, err
	}
	items = append(items, rows...)
	e := activity.Entry{Action: "chat.thread.created", EntityType: "chatThread", EntityID: t.ID, Detail: in.Kind + ", " + strconv.Itoa(len(members)) + " members"}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.UseChat, e, items...)
	if in.Kind == Direct && store.Failed(err, 1) { // the pair's thread was created meanwhile
		t, _, err := s.existingDirect(ctx, a, members[1])
		return t, false, err
	}
	if err != nil {
		return Thread{}, false, err
	}
	view := t.view(a.UserID)
	s.fanout(ctx, a.OrgID, t, "", frame{Type: "member.added", ThreadID: t.ID, UserIDs: members[1:], Thread: &view})
	return view, true, nil
}

// memberPuts are the member rows of a thread's new members. Those that
// would not fit in the transaction's 100 items are written first, on
// their own: a row whose thread never came is invisible (the list skips
// it), so the thread and its members still appear together.
func (s *Service) memberPuts(ctx context.Context, orgID, threadID string, users []string, now time.Time) ([]types.TransactWriteItem, error) {
	const inTx = 90
	var items []types.TransactWriteItem
	for _, u := range users {
		w, err := s.DB.Put(memberRow{Keys: store.Keys{PK: tenant.PK(orgID), SK: memberSK(u, threadID), Type: "chatMember"},
			ThreadID: threadID, UserID: u, JoinedAt: now}, nil)
		if err != nil {
			return nil, err
		}
		items = append(items, w)
	}
	if len(items) > inTx {
		if err := s.DB.Transact(ctx, items[inTx:]...); err != nil {
			return nil, err
		}
		items = items[:inTx]
	}
	return items, nil
}

// existingDirect finds the direct thread of the caller and other, and
// shows it again if the caller had hidden it.
func (s *Service) existingDirect(ctx context.Context, a caller.Caller, other string) (Thread, bool, error) {
	var pair pairRow
	err := s.DB.Get(ctx, tenant.PK(a.OrgID), pairSK(a.UserID, other), &pair)
	if errors.Is(err, store.ErrNotFound) {
		return Thread{}, false, nil
	}
	if err != nil {
		return Thread{}, false, err
	}
	p, err := s.load(ctx, a.OrgID, a.UserID, pair.ThreadID)
	if err != nil {
		return Thread{}, false, err
	}
	if p.member.Hidden {
		upd := s.DB.Update(tenant.PK(a.OrgID), memberSK(a.UserID, pair.ThreadID), "SET #h = :f", store.Exists(), map[string]string{"#h": "hidden"}, map[string]types.AttributeValue{":f": store.Bool(false)})
		if err := s.commit(ctx, a, upd); err != nil {
			return Thread{}, false, err
		}
	}
	return p.thread.view(a.UserID), true, nil
}

// GetThread is one thread of the caller's.
func (s *Service) GetThread(ctx context.Context, a caller.Caller, threadID string) (Thread, error) {
	p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
	if err != nil {
		return Thread{}, err
	}
	return p.thread.view(a.UserID), nil
}

// maxListed bounds the caller's thread list.
const maxListed = 500

// ListThreads is the caller's threads, hidden ones left out, newest
// activity first: one query of the caller's member rows, then the threads
// in one BatchGet per 100.
func (s *Service) ListThreads(ctx context.Context, a caller.Caller) ([]Thread, error) {
	var rows []memberRow
	var start store.StartKey
	for {
		var page []memberRow
		next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(a.OrgID), SKPrefix: "CHAT#M#" + a.UserID + "#", Limit: maxListed, StartKey: start, Consistent: true}, &page)
		if err != nil {
			return nil, err
		}
		rows = append(rows, page...)
		if next == nil || len(rows) >= maxListed {
			break
		}
		start = next
	}
	out := []Thread{}
	for i := 0; i < len(rows); i += 100 {
		chunk := rows[i:min(i+100, len(rows))]
		threads := make([]threadRow, len(chunk))
		var reqs []*store.KeyOut
		for j, r := range chunk {
			if !r.Hidden {
				reqs = append(reqs, &store.KeyOut{PK: tenant.PK(a.OrgID), SK: threadSK(r.ThreadID), Out: &threads[j]})
			}
		}
		if len(reqs) == 0 {
			continue
		}
		if err := s.DB.BatchGet(ctx, reqs...); err != nil {
			return nil, err
		}
		for _, r := range reqs {
			t := *r.Out.(*threadRow)
			if r.Found && t.has(a.UserID) {
				out = append(out, t.view(a.UserID))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastAt.After(out[j].LastAt) })
	return out, nil
}

// MembersInput is POST /v1/chat/threads/{threadId}/members.
type MembersInput struct {
	UserIDs []string `json:"userIds"`
}

// manages reports whether a may add and remove t's members: its creator,
// owners and admins.
func manages(a caller.Caller, t threadRow) bool {
	return t.CreatedBy == a.UserID || a.Role == access.Owner || a.Role == access.Admin
}

// AddMembers adds members to a group.
func (s *Service) AddMembers(ctx context.Context, a caller.Caller, threadID string, in MembersInput) (Thread, error) {
	var ck fault.Checker
	ck.Check(len(in.UserIDs) >= 1 && len(in.UserIDs) <= MaxMembers, "userIds", "must name 1 to 100 members")
	ids := memberList(&ck, "userIds", a.UserID, in.UserIDs)[1:]
	if err := ck.Err(); err != nil {
		return Thread{}, err
	}
	for attempt := 0; ; attempt++ {
		p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
		if err != nil {
			return Thread{}, err
		}
		t := p.thread
		if t.Kind != Group {
			return Thread{}, fault.Refused("chat-direct-members", "A direct thread's members do not change; start a group.")
		}
		if !manages(a, t) {
			return Thread{}, fault.E(fault.Forbidden, "Only the group's creator, owners and admins add members.")
		}
		var added []string
		for _, id := range ids {
			if !t.has(id) {
				added = append(added, id)
			}
		}
		if len(added) == 0 {
			return t.view(a.UserID), nil
		}
		if len(t.Members)+len(added) > MaxMembers {
			return Thread{}, fault.Fields(fault.FieldError{Field: "userIds", Message: "a group has at most 100 members"})
		}
		if err := s.activeMembers(ctx, a.OrgID, "userIds", added); err != nil {
			return Thread{}, err
		}
		now := s.Now().UTC()
		members := append(slices.Clip(t.Members), added...)
		upd, err := s.membersUpdate(a.OrgID, t, members)
		if err != nil {
			return Thread{}, err
		}
		rows, err := s.memberPuts(ctx, a.OrgID, t.ID, added, now)
		if err != nil {
			return Thread{}, err
		}
		e := activity.Entry{Action: "chat.members.added", EntityType: "chatThread", EntityID: t.ID, Detail: strconv.Itoa(len(added)) + " members"}
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.UseChat, e, append([]types.TransactWriteItem{upd}, rows...)...)
		if store.Failed(err, 0) { // the members changed meanwhile: decide again
			if err := s.retry(ctx, attempt); err != nil {
				return Thread{}, err
			}
			continue
		}
		if err != nil {
			return Thread{}, err
		}
		t.Members = members
		view := t.view(a.UserID)
		s.fanout(ctx, a.OrgID, t, "", frame{Type: "member.added", ThreadID: t.ID, UserIDs: added, Thread: &view})
		return view, nil
	}
}

// membersUpdate sets a thread's members if they are still those read
// (their version has not moved).
func (s *Service) membersUpdate(orgID string, t threadRow, members []string) (types.TransactWriteItem, error) {
	list, err := store.Marshal(struct {
		M []string `dynamodbav:"m"`
	}{members})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.DB.Update(tenant.PK(orgID), threadSK(t.ID), "SET #m = :m, #v = :next", &store.Cond{Expr: "#v = :v"},
		map[string]string{"#m": "members", "#v": "mver"},
		map[string]types.AttributeValue{":m": list["m"], ":v": store.N(t.MVer), ":next": store.N(t.MVer + 1)}), nil
}

// RemoveMember takes a member out of a group: they no longer see it or
// get its frames; everything they wrote stays for the others.
func (s *Service) RemoveMember(ctx context.Context, a caller.Caller, threadID, userID string) error {
	return s.removeMember(ctx, a, threadID, userID, "chat.member.removed")
}

func (s *Service) removeMember(ctx context.Context, a caller.Caller, threadID, userID, action string) error {
	for attempt := 0; ; attempt++ {
		p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
		if err != nil {
			return err
		}
		t := p.thread
		if t.Kind != Group {
			return fault.Refused("chat-direct-members", "A direct thread's members do not change; leave it to hide it.")
		}
		if userID != a.UserID && !manages(a, t) {
			return fault.E(fault.Forbidden, "Only the group's creator, owners and admins remove members.")
		}
		if !t.has(userID) {
			return fault.E(fault.NotFound, "No such member of this thread.")
		}
		members := slices.DeleteFunc(slices.Clone(t.Members), func(m string) bool { return m == userID })
		upd, err := s.membersUpdate(a.OrgID, t, members)
		if err != nil {
			return err
		}
		del := s.DB.Delete(tenant.PK(a.OrgID), memberSK(userID, t.ID), nil)
		e := activity.Entry{Action: action, EntityType: "chatThread", EntityID: t.ID, Detail: userID}
		err = activity.Commit(ctx, s.DB, activity.MainLog, a, s.Now(), access.UseChat, e, upd, del)
		if store.Failed(err, 0) {
			if err := s.retry(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		t.Members = members
		s.fanout(ctx, a.OrgID, t, "", frame{Type: "member.removed", ThreadID: t.ID, UserID: userID})
		return nil
	}
}

// Leave: in a group the caller leaves; a direct thread is hidden for the
// caller only, and comes back (with only what follows) when the other
// member writes again.
func (s *Service) Leave(ctx context.Context, a caller.Caller, threadID string) error {
	p, err := s.load(ctx, a.OrgID, a.UserID, threadID)
	if err != nil {
		return err
	}
	if p.thread.Kind == Group {
		return s.removeMember(ctx, a, threadID, a.UserID, "chat.thread.left")
	}
	upd := s.DB.Update(tenant.PK(a.OrgID), memberSK(a.UserID, threadID), "SET #h = :t, #s = :s", store.Exists(),
		map[string]string{"#h": "hidden", "#s": "since"}, map[string]types.AttributeValue{":t": store.Bool(true), ":s": store.S(s.NewID())})
	err = s.commit(ctx, a, upd)
	if store.Failed(err, 0) {
		return errNoThread
	}
	return err
}

// MuteInput is PUT /v1/chat/threads/{threadId}/mute.
type MuteInput struct {
	Muted *bool `json:"muted"`
}

// MuteState is the answer of a mute.
type MuteState struct {
	ThreadID string `json:"threadId"`
	Muted    bool   `json:"muted"`
}

// Mute sets whether the caller's frames of a thread say muted.
func (s *Service) Mute(ctx context.Context, a caller.Caller, threadID string, in MuteInput) (MuteState, error) {
	if in.Muted == nil {
		return MuteState{}, fault.Fields(fault.FieldError{Field: "muted", Message: "is required (true or false)"})
	}
	if !check.ID(threadID) {
		return MuteState{}, errNoThread
	}
	upd := s.DB.Update(tenant.PK(a.OrgID), threadSK(threadID), "SET #mu.#u = :b", store.Exists(),
		map[string]string{"#mu": "muted", "#u": a.UserID}, map[string]types.AttributeValue{":b": store.Bool(*in.Muted)})
	err := s.commit(ctx, a, s.memberExists(a.OrgID, a.UserID, threadID), upd)
	if store.Failed(err, 0) || store.Failed(err, 1) {
		return MuteState{}, errNoThread
	}
	if err != nil {
		return MuteState{}, err
	}
	return MuteState{ThreadID: threadID, Muted: *in.Muted}, nil
}

// ---- Tickets ----

// Ticket is POST /v1/chat/tickets's answer.
type Ticket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}
