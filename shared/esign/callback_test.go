package esign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/url"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// TestEventHashPublishedVector is Dropbox Sign's published example.
func TestEventHashPublishedVector(t *testing.T) {
	const key = "324e3b0840f065eb51f3fd63231d0d33daa35d4ed10d27718839e81737065782"
	const want = "ff8b03439122f9160500c3fb855bdee5a9ccba5fff27d3b258745d8f3074832f"
	if got := EventHash(key, "1669926463", "account_confirmed"); got != want {
		t.Fatalf("EventHash = %s, want %s", got, want)
	}
	ev := event(t, key, "account_confirmed", 1669926463, "", nil)
	for _, tc := range []struct {
		name, key, hash string
		want            bool
	}{
		{"right key", key, want, true},
		{"upper-case hex", key, "FF8B03439122F9160500C3FB855BDEE5A9CCBA5FFF27D3B258745D8F3074832F", true},
		{"wrong key", "another-key", want, false},
		{"altered hash", key, "0" + want[1:], false},
		{"empty key", "", EventHash("", "1669926463", "account_confirmed"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ev
			e.Event.Hash = tc.hash
			if got := e.Verified(tc.key); got != tc.want {
				t.Errorf("Verified = %v, want %v", got, tc.want)
			}
		})
	}
}

// event builds a callback event for the provider request "sr1", hashed
// with key.
func event(t *testing.T, key, typ string, at int64, sigID string, sigs []map[string]any) Event {
	t.Helper()
	raw := map[string]any{"event": map[string]any{"event_time": fmt.Sprint(at), "event_type": typ, "event_hash": EventHash(key, fmt.Sprint(at), typ),
		"event_metadata": map[string]any{"related_signature_id": sigID}},
		"signature_request": map[string]any{"signature_request_id": "sr1", "signatures": sigs}}
	b, _ := json.Marshal(raw)
	ev, err := ParseCallback("application/json", b)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestParseCallbackForms(t *testing.T) {
	js := `{"event":{"event_time":"1669926463","event_type":"callback_test","event_hash":"abc"}}`
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("json", js)
	_ = w.Close()
	for _, tc := range []struct {
		name, ct string
		body     []byte
		ok       bool
	}{
		{"multipart json field", w.FormDataContentType(), mp.Bytes(), true},
		{"url-encoded json field", "application/x-www-form-urlencoded", []byte("json=" + url.QueryEscape(js)), true},
		{"json body", "application/json", []byte(js), true},
		{"multipart without json", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n1\r\n--x--\r\n"), false},
		{"multipart without boundary", "multipart/form-data", mp.Bytes(), false},
		{"no hash", "application/json", []byte(`{"event":{"event_time":"1","event_type":"x"}}`), false},
		{"not json", "application/json", []byte("hello"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseCallback(tc.ct, tc.body)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && (ev.EventTime() != "1669926463" || ev.Event.Type != "callback_test") {
				t.Errorf("parsed %+v", ev.Event)
			}
		})
	}
}

// TestSignatureCallbacksOnceAndForward: events applied in any order, some
// twice, end in the state their latest facts say, each logged once, and an
// older event never moves a signer or the request back.
func TestSignatureCallbacksOnceAndForward(t *testing.T) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	db := store.New(dyn.Client(), store.DefaultTableName)
	ctx := context.Background()
	const key = "k"
	svc := NewService(db, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	seed := func(t *testing.T, org string) {
		t.Helper()
		now := time.Now().UTC()
		row := requestRow{ID: "01J9Z3P4C6D8E0F2G4H6J8K0M2", DocumentID: "01J9Z3P4C6D8E0F2G4H6J8K0M3", MatterID: "01J9Z3P4C6D8E0F2G4H6J8K0M4", FileName: "a.pdf",
			Status: StatusAwaiting, ProviderID: "sr1", SignedDocID: "01J9Z3P4C6D8E0F2G4H6J8K0M5", CreatedAt: now, UpdatedAt: now,
			Signers: []signerRow{{Name: "Ann", Email: "ann@example.com", SignatureID: "s1", Status: StatusAwaiting},
				{Name: "Bob", Email: "bob@example.com", Order: 1, SignatureID: "s2", Status: StatusAwaiting}}}
		if err := db.PutItem(ctx, toRow(org, row), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.PutItem(ctx, providerMap{Keys: store.Keys{PK: mapPK("sr1"), SK: mapSK}, OrgID: org, RequestID: row.ID}, nil); err != nil {
			t.Fatal(err)
		}
	}
	signed := func(id string, at int64) map[string]any {
		return map[string]any{"signature_id": id, "status_code": "signed", "signed_at": at}
	}
	waiting := func(id string) map[string]any {
		return map[string]any{"signature_id": id, "status_code": "awaiting_signature"}
	}
	viewedS1 := event(t, key, "signature_request_viewed", 100, "s1", []map[string]any{waiting("s1"), waiting("s2")})
	signedS1 := event(t, key, "signature_request_signed", 200, "s1", []map[string]any{signed("s1", 200), waiting("s2")})
	signedS2 := event(t, key, "signature_request_signed", 300, "s2", []map[string]any{signed("s1", 200), signed("s2", 300)})
	allSigned := event(t, key, "signature_request_all_signed", 301, "", []map[string]any{signed("s1", 200), signed("s2", 300)})
	download := event(t, key, "signature_request_downloadable", 302, "", []map[string]any{signed("s1", 200), signed("s2", 300)})
	declinedS2 := event(t, key, "signature_request_declined", 250, "s2", []map[string]any{signed("s1", 200), {"signature_id": "s2", "status_code": "declined", "decline_reason": "wrong name"}})
	canceled := event(t, key, "signature_request_canceled", 400, "", nil)
	for _, tc := range []struct {
		name       string
		events     []Event
		status     string
		s1, s2     string
		entries    int
		downloads  int
		s2SignedAt int64
	}{
		{"in order", []Event{viewedS1, signedS1, signedS2, allSigned, download}, StatusSigned, StatusSigned, StatusSigned, 5, 1, 300},
		{"one twice, one out of order", []Event{signedS2, signedS1, signedS1, viewedS1, download, allSigned, download}, StatusSigned, StatusSigned, StatusSigned, 5, 2, 300},
		{"declined", []Event{signedS1, declinedS2, declinedS2, viewedS1}, StatusDeclined, StatusSigned, StatusDeclined, 3, 0, 0},
		{"canceled after signed stays signed", []Event{allSigned, canceled}, StatusSigned, StatusSigned, StatusSigned, 2, 0, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := fmt.Sprintf("org%d", time.Now().UnixNano())
			seed(t, org)
			downloads := 0
			for _, ev := range tc.events {
				a, err := svc.Apply(ctx, ev)
				if err != nil {
					t.Fatal(err)
				}
				if a.Download {
					downloads++
				}
			}
			r, err := svc.Get(ctx, org, "01J9Z3P4C6D8E0F2G4H6J8K0M2")
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status || r.Signers[0].Status != tc.s1 || r.Signers[1].Status != tc.s2 {
				t.Errorf("status %s, signers %s %s; want %s, %s %s", r.Status, r.Signers[0].Status, r.Signers[1].Status, tc.status, tc.s1, tc.s2)
			}
			if tc.s2SignedAt != 0 && (r.Signers[1].SignedAt == nil || r.Signers[1].SignedAt.Unix() != tc.s2SignedAt) {
				t.Errorf("s2 signedAt %v, want %d", r.Signers[1].SignedAt, tc.s2SignedAt)
			}
			if r.Signers[0].SignedAt == nil || r.Signers[0].SignedAt.Unix() != 200 {
				t.Errorf("s1 signedAt %v, want 200", r.Signers[0].SignedAt)
			}
			if tc.s2 == StatusDeclined && r.Signers[1].DeclineReason != "wrong name" {
				t.Errorf("decline reason %q", r.Signers[1].DeclineReason)
			}
			entries, _, err := activity.List(ctx, db, org, activity.Filter{}, 50, nil)
			if err != nil || len(entries) != tc.entries {
				t.Errorf("%d activity entries (%v), want %d", len(entries), err, tc.entries)
			}
			if downloads != tc.downloads {
				t.Errorf("%d downloads queued, want %d", downloads, tc.downloads)
			}
			var rows []struct{}
			if _, err := db.QueryPage(ctx, store.Query{PK: tenant.PK(org), SKPrefix: eventPf, Consistent: true}, &rows); err != nil || len(rows) != tc.entries {
				t.Errorf("%d event claims (%v), want %d", len(rows), err, tc.entries)
			}
		})
	}
	t.Run("a request Matterly did not send is acknowledged", func(t *testing.T) {
		ev := signedS1
		sr := *ev.SignatureRequest
		sr.ID = "sr-other"
		ev.SignatureRequest = &sr
		if a, err := svc.Apply(ctx, ev); err != nil || a != (Applied{}) {
			t.Fatalf("Apply = %+v, %v", a, err)
		}
	})
}
