package crm

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// NewRouter serves the crm function: clients, matters, notes, bookings and
// the activity log, all from svc (its table holds the activity log too).
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnCRM, rc.Options)
	h := handlers{svc: svc, cursors: rc.Cursors}

	rt.Handle("POST /v1/clients", create(access.WriteClients, svc.CreateClient))
	rt.Handle("GET /v1/clients/{clientId}", get(access.ReadClients, "clientId", svc.Client))
	rt.Handle("PATCH /v1/clients/{clientId}", update(access.WriteClients, "clientId", svc.UpdateClient))
	rt.Handle("DELETE /v1/clients/{clientId}", h.deleteClient)
	rt.Handle("GET /v1/clients", h.listClients)

	rt.Handle("POST /v1/matters", create(access.WriteMatters, svc.CreateMatter))
	rt.Handle("GET /v1/matters/{matterId}", get(access.ReadMatters, "matterId", svc.Matter))
	rt.Handle("PATCH /v1/matters/{matterId}", update(access.WriteMatters, "matterId", svc.UpdateMatter))
	// Who may delete which matter depends on the matter: the service decides.
	rt.Handle("DELETE /v1/matters/{matterId}", remove(access.DeleteAssignedMatters, "matterId", svc.DeleteMatter))
	rt.Handle("GET /v1/matters", h.listMatters)

	for _, kind := range []string{"client", "matter"} {
		param := kind + "Id"
		rt.Handle("POST /v1/"+kind+"s/{"+param+"}/notes", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			return httpapi.DecodeAnd(r, access.WriteNotes, func(in NoteInput) (any, error) {
				return svc.CreateNote(ctx, r.Principal, Parent{Kind: kind, ID: r.Param(param)}, in)
			}, http.StatusCreated)
		})
		rt.Handle("GET /v1/"+kind+"s/{"+param+"}/notes", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			p := Parent{Kind: kind, ID: r.Param(param)}
			return page(r, rc.Cursors, access.ReadNotes, "notes?"+kind+"="+p.ID, func(limit int32, start store.StartKey) ([]Note, store.StartKey, error) {
				return svc.ListNotes(ctx, r.Principal.OrgID, p, limit, start)
			})
		})
	}
	rt.Handle("GET /v1/notes/{noteId}", get(access.ReadNotes, "noteId", svc.Note))
	rt.Handle("PATCH /v1/notes/{noteId}", update(access.WriteNotes, "noteId", svc.UpdateNote))
	rt.Handle("DELETE /v1/notes/{noteId}", remove(access.WriteNotes, "noteId", svc.DeleteNote))

	rt.Handle("POST /v1/bookings", create(access.WriteBookings, svc.CreateBooking))
	rt.Handle("GET /v1/bookings/{bookingId}", get(access.ReadBookings, "bookingId", svc.Booking))
	rt.Handle("PATCH /v1/bookings/{bookingId}", update(access.WriteBookings, "bookingId", svc.UpdateBooking))
	rt.Handle("DELETE /v1/bookings/{bookingId}", remove(access.WriteBookings, "bookingId", svc.DeleteBooking))
	rt.Handle("GET /v1/bookings", h.listBookings)

	rt.Handle("GET /v1/activity", h.listActivity)
	return rt, rt.Check()
}

type handlers struct {
	svc     *Service
	cursors *cursor.Sealer
}

func create[In, Out any](perm access.Permission, do func(context.Context, caller.Caller, In) (Out, error)) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, perm, func(in In) (any, error) { return do(ctx, r.Principal, in) }, http.StatusCreated)
	}
}

func get[Out any](perm access.Permission, param string, do func(ctx context.Context, orgID, id string) (Out, error)) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(perm); err != nil {
			return nil, err
		}
		out, err := do(ctx, r.Principal.OrgID, r.Param(param))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	}
}

func update[In, Out any](perm access.Permission, param string, do func(context.Context, caller.Caller, string, In) (Out, error)) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, perm, func(in In) (any, error) { return do(ctx, r.Principal, r.Param(param), in) }, http.StatusOK)
	}
}

func remove(perm access.Permission, param string, do func(context.Context, caller.Caller, string) error) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(perm); err != nil {
			return nil, err
		}
		if err := do(ctx, r.Principal, r.Param(param)); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	}
}

// page answers one page of a list after checking perm; list names the list
// and its filters, so a cursor only continues the query that made it.
func page[T any](r *httpapi.Request, cursors *cursor.Sealer, perm access.Permission, list string, query httpapi.PageQuery[T]) (*httpapi.Response, error) {
	if err := r.Require(perm); err != nil {
		return nil, err
	}
	return httpapi.ListPage(r, cursors, list, query)
}

// filterID reads an optional id filter; a malformed one is a field error.
func filterID(ck *fault.Checker, r *httpapi.Request, name string) string {
	v := r.Query(name)
	ck.Check(v == "" || check.ID(v), name, "must be an id")
	return v
}

// listName is a list's cursor scope: its name and the filters that shape it.
func listName(name string, filters ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			v.Set(filters[i], filters[i+1])
		}
	}
	return name + "?" + v.Encode()
}

// deleteClient deletes a client, or with ?erase=true erases them (GDPR
// art. 17) through the privacy capability, owners and admins only.
func (h handlers) deleteClient(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	switch r.Query("erase") {
	case "", "false":
		return remove(access.DeleteClients, "clientId", h.svc.DeleteClient)(ctx, r)
	case "true":
	default:
		return nil, fault.Fields(fault.FieldError{Field: "erase", Message: `must be "true" or "false"`})
	}
	if err := r.Require(access.ManagePrivacy); err != nil {
		return nil, err
	}
	if h.svc.Erase == nil {
		return nil, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "Erasure is not configured on this function."}
	}
	out, err := h.svc.Erase(ctx, r.Principal, r.Param("clientId"))
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h handlers) listClients(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	q := strings.TrimSpace(r.Query("q"))
	var ck fault.Checker
	check.Text(&ck, "q", q, false, 100)
	if err := ck.Err(); err != nil {
		return nil, err
	}
	return page(r, h.cursors, access.ReadClients, listName("clients", "q", fold(q)), func(limit int32, start store.StartKey) ([]Client, store.StartKey, error) {
		return h.svc.ListClients(ctx, r.Principal.OrgID, q, limit, start)
	})
}

func (h handlers) listMatters(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var ck fault.Checker
	f := MatterFilter{ClientID: filterID(&ck, r, "clientId"), Status: r.Query("status")}
	ck.Check(f.Status == "" || f.Status == StatusOpen || f.Status == StatusPending || f.Status == StatusClosed,
		"status", `must be "open", "pending" or "closed"`)
	if err := ck.Err(); err != nil {
		return nil, err
	}
	return page(r, h.cursors, access.ReadMatters, listName("matters", "clientId", f.ClientID, "status", f.Status), func(limit int32, start store.StartKey) ([]Matter, store.StartKey, error) {
		return h.svc.ListMatters(ctx, r.Principal.OrgID, f, limit, start)
	})
}

func (h handlers) listBookings(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var ck fault.Checker
	f := BookingFilter{ClientID: filterID(&ck, r, "clientId")}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := r.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			ck.Check(err == nil, name, "must be an RFC 3339 time, e.g. 2026-03-01T00:00:00Z")
			*dst = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() {
		ck.Check(f.To.After(f.From), "to", "must be after from")
	}
	if err := ck.Err(); err != nil {
		return nil, err
	}
	name := listName("bookings", "clientId", f.ClientID, "from", r.Query("from"), "to", r.Query("to"))
	return page(r, h.cursors, access.ReadBookings, name, func(limit int32, start store.StartKey) ([]Booking, store.StartKey, error) {
		return h.svc.ListBookings(ctx, r.Principal.OrgID, f, limit, start)
	})
}

func (h handlers) listActivity(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var ck fault.Checker
	f := activity.Filter{ClientID: filterID(&ck, r, "clientId"), MatterID: filterID(&ck, r, "matterId")}
	ck.Check(f.ClientID == "" || f.MatterID == "", "matterId", "give clientId or matterId, not both")
	if err := ck.Err(); err != nil {
		return nil, err
	}
	name := listName("activity", "clientId", f.ClientID, "matterId", f.MatterID)
	return page(r, h.cursors, access.ReadActivity, name, func(limit int32, start store.StartKey) ([]activity.Entry, store.StartKey, error) {
		entries, next, err := activity.List(ctx, h.svc.DB, r.Principal.OrgID, f, limit, start)
		if err == nil && !access.Can(r.Principal.Role, access.ReadAudit) {
			entries = slices.DeleteFunc(entries, accountEvent)
		}
		return entries, next, err
	})
}

// accountEvent reports whether e is about accounts and sessions (sign-ins
// with their IP and browser, role changes, org settings) rather than
// clients and matters: the audit log's readers see those, the case team
// does not. A page may come back shorter than its limit; its cursor still
// goes on from where the read stopped.
func accountEvent(e activity.Entry) bool {
	switch e.EntityType {
	case "user", "session", "org":
		return true
	}
	return false
}
