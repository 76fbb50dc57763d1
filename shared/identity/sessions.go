package identity

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
)

// A member's sessions are their live token families: one per sign-in (or
// sign-up, accepted invitation, password change), each kept going by its
// refresh token. The access token names its session (sid), so the list can
// mark the caller's own, and signing one out revokes its family: its
// refresh token stops working at once, and access tokens already out live
// out their few minutes.

// inSession is u as the principal of an access token of session familyID.
func inSession(u User, familyID string) caller.Caller {
	p := principalOf(u)
	p.SessionID = familyID
	return p
}

// sessionUsed is the refresh transaction's item on the session: it must
// not be revoked, and it notes when and from where it was used.
func (s *Service) sessionUsed(ctx context.Context, orgID, famSK string, now time.Time) types.TransactWriteItem {
	from := fromOf(ctx)
	return s.DB.Update(orgPK(orgID), famSK, "SET lastUsedAt = :now, ip = :ip, userAgent = :ua",
		&store.Cond{Expr: "revoked = :f"}, nil, map[string]types.AttributeValue{":f": store.Bool(false),
			":now": store.S(formatTime(now)), ":ip": store.S(from.IP), ":ua": store.S(from.UserAgent)})
}

// SessionInfo is one of a member's sessions as their list shows it.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	IP         string    `json:"ip"`
	Browser    string    `json:"browser"`
	OS         string    `json:"os"`
	Device     string    `json:"device"`
	Current    bool      `json:"current"`
}

// ListSessions returns the caller's live sessions, most recently used
// first.
func (s *Service) ListSessions(ctx context.Context, p caller.Caller) ([]SessionInfo, error) {
	out := []SessionInfo{}
	err := s.eachSession(ctx, p.OrgID, p.UserID, func(f familyRow) error {
		id := f.SK[len(familySK("")):]
		agent := ParseUserAgent(f.UserAgent)
		last := parseTime(f.LastUsedAt)
		if last.IsZero() {
			last = parseTime(f.CreatedAt)
		}
		out = append(out, SessionInfo{ID: id, CreatedAt: parseTime(f.CreatedAt), LastUsedAt: last, ExpiresAt: time.Unix(f.ExpiresAt, 0).UTC(),
			IP: f.IP, Browser: agent.Browser, OS: agent.OS, Device: agent.Device, Current: id == p.SessionID})
		return nil
	})
	slices.SortStableFunc(out, func(a, b SessionInfo) int { return b.LastUsedAt.Compare(a.LastUsedAt) })
	return out, err
}

// eachSession calls fn with every live session of member userID.
func (s *Service) eachSession(ctx context.Context, orgID, userID string, fn func(familyRow) error) error {
	var start store.StartKey
	for {
		var rows []familyRow
		next, err := s.DB.QueryPage(ctx, store.Query{PK: orgPK(orgID), SKPrefix: familySK(""), Forward: true, Limit: 100,
			StartKey: start, Consistent: true}, &rows)
		if err != nil {
			return err
		}
		now := s.Now().Unix()
		for _, f := range rows {
			if f.UserID == userID && !f.Revoked && now < f.ExpiresAt {
				if err := fn(f); err != nil {
					return err
				}
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}

var errNoSession = fault.E(fault.NotFound, "No such session.")

// EndSession signs out one of the caller's sessions (their current one
// too, if they name it). Another member's session, or one already ended,
// is not found.
func (s *Service) EndSession(ctx context.Context, p caller.Caller, sessionID string) error {
	if !validID(sessionID) {
		return errNoSession
	}
	var f familyRow
	if err := s.DB.Get(ctx, orgPK(p.OrgID), familySK(sessionID), &f); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNoSession
		}
		return err
	}
	if f.UserID != p.UserID || f.Revoked || s.Now().Unix() >= f.ExpiresAt {
		return errNoSession
	}
	return s.endFamily(ctx, p, p.OrgID, p.UserID, sessionID, actSessionEnded)
}

// registerSessions adds the session list routes to the auth function's
// router.
func registerSessions(rt *httpapi.Router, svc *Service) {
	rt.Handle("GET /v1/me/sessions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		list, err := svc.ListSessions(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, map[string]any{"items": list}), nil
	})
	rt.Handle("DELETE /v1/me/sessions/{sessionId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := svc.EndSession(ctx, r.Principal, r.Param("sessionId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
}
