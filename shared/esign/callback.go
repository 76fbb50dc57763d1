package esign

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// CallbackAnswer is the exact body Dropbox Sign expects; anything else
// counts as a failed delivery and is retried.
const CallbackAnswer = "Hello API Event Received"

// Event is a Dropbox Sign callback event.
type Event struct {
	Event struct {
		Time     json.RawMessage `json:"event_time"` // a string of Unix seconds (a number accepted)
		Type     string          `json:"event_type"`
		Hash     string          `json:"event_hash"`
		Metadata struct {
			RelatedSignatureID string `json:"related_signature_id"`
		} `json:"event_metadata"`
	} `json:"event"`
	SignatureRequest *struct {
		ID         string `json:"signature_request_id"`
		IsComplete bool   `json:"is_complete"`
		Signatures []struct {
			SignatureID   string `json:"signature_id"`
			Email         string `json:"signer_email_address"`
			StatusCode    string `json:"status_code"`
			SignedAt      *int64 `json:"signed_at"`
			DeclineReason string `json:"decline_reason"`
		} `json:"signatures"`
	} `json:"signature_request"`
}

// EventTime is the event's event_time as written (the hash covers it so).
func (e Event) EventTime() string {
	var s string
	if json.Unmarshal(e.Event.Time, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(e.Event.Time))
}

// EventHash is Dropbox Sign's event_hash: hex HMAC-SHA256 keyed with the
// API key over event_time followed by event_type.
func EventHash(apiKey, eventTime, eventType string) string {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(eventTime + eventType))
	return hex.EncodeToString(m.Sum(nil))
}

// Verified reports, in constant time, whether the event's hash is the
// one apiKey makes.
func (e Event) Verified(apiKey string) bool {
	want := EventHash(apiKey, e.EventTime(), e.Event.Type)
	return apiKey != "" && hmac.Equal([]byte(want), []byte(strings.ToLower(e.Event.Hash)))
}

var errUnreadable = errors.New("esign: not a Dropbox Sign event")

// ParseCallback reads a callback body: multipart/form-data (or a URL
// encoded form) with the event JSON in the field "json", as Dropbox Sign
// posts it, or the JSON itself.
func ParseCallback(contentType string, body []byte) (Event, error) {
	raw := body
	mt, params, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return Event{}, errUnreadable
		}
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(int64(len(body)) + 1)
		if err != nil {
			return Event{}, errUnreadable
		}
		defer func() { _ = form.RemoveAll() }()
		if len(form.Value["json"]) == 1 {
			raw = []byte(form.Value["json"][0])
		} else if fh := form.File["json"]; len(fh) == 1 {
			f, err := fh[0].Open()
			if err != nil {
				return Event{}, errUnreadable
			}
			raw, err = io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return Event{}, errUnreadable
			}
		} else {
			return Event{}, errUnreadable
		}
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil || len(v["json"]) != 1 {
			return Event{}, errUnreadable
		}
		raw = []byte(v.Get("json"))
	}
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Event.Type == "" || ev.EventTime() == "" || ev.Event.Hash == "" {
		return Event{}, errUnreadable
	}
	return ev, nil
}

// handledEvents are the events applied to a request (any other is
// acknowledged and ignored).
var handledEvents = map[string]bool{
	"signature_request_viewed": true, "signature_request_signed": true, "signature_request_declined": true,
	"signature_request_all_signed": true, "signature_request_downloadable": true, "signature_request_canceled": true,
	"signature_request_invalid": true, "file_error": true, "signature_request_email_bounce": true,
}

// dropboxSignActor is who the activity log names for what Dropbox Sign
// reports.
func dropboxSignActor(orgID string) caller.Caller {
	return caller.Caller{OrgID: orgID, UserID: "dropbox-sign", Role: "system", UserAgent: "Dropbox Sign callback"}
}

// Applied says what a callback did: Download when the signed file is
// ready to be fetched (the webhook queues it for the worker).
type Applied struct {
	OrgID, RequestID string
	Download         bool
}

// Apply applies one verified event exactly once. The request is found by
// Dropbox Sign's request id through the map written at send; the event's
// claim (request, type, time and signature) is written in the same
// transaction as its effect, so a redelivery changes nothing. Statuses only
// move forward (rank), so events in any order end in the same state.
func (s *Service) Apply(ctx context.Context, ev Event) (Applied, error) {
	if !handledEvents[ev.Event.Type] || ev.SignatureRequest == nil || ev.SignatureRequest.ID == "" {
		return Applied{}, nil
	}
	var m providerMap
	err := s.DB.Get(ctx, mapPK(ev.SignatureRequest.ID), mapSK, &m)
	if errors.Is(err, store.ErrNotFound) {
		s.Log.Warn("dropbox sign event for a request Matterly does not know", "type", ev.Event.Type, "providerId", ev.SignatureRequest.ID)
		return Applied{}, nil
	}
	if err != nil {
		return Applied{}, err
	}
	out := Applied{OrgID: m.OrgID, RequestID: m.RequestID}
	claimSK := eventPf + m.RequestID + "#" + ev.Event.Type + "#" + ev.EventTime() + "#" + ev.Event.Metadata.RelatedSignatureID
	for range 5 {
		r, err := s.load(ctx, m.OrgID, m.RequestID)
		if err != nil {
			return Applied{}, err
		}
		if r.ProviderID != ev.SignatureRequest.ID {
			return Applied{}, nil // the map and the request disagree: not this request's event
		}
		var seen struct{}
		if err := s.DB.Get(ctx, tenant.PK(m.OrgID), claimSK, &seen); err == nil {
			// Applied before. A redelivered downloadable event queues the
			// download again: its first queueing may have failed (that
			// answer was a 503), and the worker stores the file only once.
			out.Download = ev.Event.Type == "signature_request_downloadable" && r.SignedDocumentID == ""
			return out, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return Applied{}, err
		}
		before := r.UpdatedAt
		action := s.change(&r, ev)
		out.Download = ev.Event.Type == "signature_request_downloadable" && r.SignedDocumentID == ""
		claim, err := s.DB.Put(struct {
			store.Keys
			Type      string `dynamodbav:"eventType"`
			ExpiresAt int64  `dynamodbav:"expiresAt"`
		}{store.Keys{PK: tenant.PK(m.OrgID), SK: claimSK, Type: "dropboxSignEvent"}, ev.Event.Type, s.Now().Add(90 * 24 * time.Hour).Unix()}, store.NotExists())
		if err != nil {
			return Applied{}, err
		}
		r.UpdatedAt = s.Now().UTC()
		upd, err := s.DB.Put(toRow(m.OrgID, r), store.Unchanged(before))
		if err != nil {
			return Applied{}, err
		}
		rec, err := activity.Record(s.DB, dropboxSignActor(m.OrgID), s.Now(), activity.Entry{Action: action, EntityType: "signatureRequest",
			EntityID: r.ID, ClientID: r.ClientID, MatterID: r.MatterID})
		if err != nil {
			return Applied{}, err
		}
		err = s.DB.Transact(ctx, claim, upd, rec)
		switch {
		case store.Failed(err, 0):
			return out, nil // a redelivery applied at the same moment (it queues the download)
		case store.Failed(err, 1):
			continue // another event changed the request: read it again
		}
		return out, err
	}
	return Applied{}, errors.New("esign: request kept changing while an event was applied")
}

// change applies ev to r, only ever forward, and returns the activity
// action naming it.
func (s *Service) change(r *requestRow, ev Event) string {
	sigID := ev.Event.Metadata.RelatedSignatureID
	at := s.Now().UTC()
	if sec, err := strconv.ParseInt(ev.EventTime(), 10, 64); err == nil {
		at = time.Unix(sec, 0).UTC()
	}
	setSigner := func(id, status, reason string, signedAt *time.Time) {
		for i := range r.Signers {
			sg := &r.Signers[i]
			if id == "" || sg.SignatureID != id || rank(status) <= rank(sg.Status) {
				continue
			}
			sg.Status = status
			if status == StatusSigned {
				sg.SignedAt = signedAt
			}
			if status == StatusDeclined {
				sg.DeclineReason = reason
			}
		}
	}
	setRequest := func(status string) {
		if rank(status) > rank(r.Status) {
			r.Status = status
		}
	}
	// The signatures' own states, as Dropbox Sign reports them with the
	// event, bring every signer up to date (a lost or late event included).
	if sr := ev.SignatureRequest; sr != nil {
		for _, sig := range sr.Signatures {
			switch sig.StatusCode {
			case "signed":
				t := at
				if sig.SignedAt != nil {
					t = time.Unix(*sig.SignedAt, 0).UTC()
				}
				setSigner(sig.SignatureID, StatusSigned, "", &t)
			case "declined":
				setSigner(sig.SignatureID, StatusDeclined, sig.DeclineReason, nil)
			}
		}
	}
	reason := func() string {
		if sr := ev.SignatureRequest; sr != nil {
			for _, sig := range sr.Signatures {
				if sig.SignatureID == sigID {
					return sig.DeclineReason
				}
			}
		}
		return ""
	}
	switch ev.Event.Type {
	case "signature_request_viewed":
		setSigner(sigID, SignerViewed, "", nil)
		return "signature.viewed"
	case "signature_request_signed":
		setSigner(sigID, StatusSigned, "", &at)
		return "signature.signed"
	case "signature_request_declined":
		setSigner(sigID, StatusDeclined, reason(), nil)
		setRequest(StatusDeclined)
		return "signature.declined"
	case "signature_request_email_bounce":
		setSigner(sigID, SignerBounced, "", nil)
		return "signature.email_bounced"
	case "signature_request_all_signed", "signature_request_downloadable":
		for i := range r.Signers {
			if r.Signers[i].Status != StatusSigned && r.Signers[i].Status != StatusDeclined {
				t := at
				r.Signers[i].Status, r.Signers[i].SignedAt = StatusSigned, &t
			}
		}
		setRequest(StatusSigned)
		if ev.Event.Type == "signature_request_downloadable" {
			return "signature.downloadable"
		}
		return "signature.completed"
	case "signature_request_canceled":
		setRequest(StatusCanceled)
		return "signature.canceled"
	default: // signature_request_invalid, file_error
		setRequest(StatusError)
		return "signature.error"
	}
}
