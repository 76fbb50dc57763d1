package relay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/store/storetest"
)

// record builds a stream record of an item given as DynamoDB JSON.
func record(t *testing.T, seq, eventName, item string) events.DynamoDBEventRecord {
	t.Helper()
	var img map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal([]byte(item), &img); err != nil {
		t.Fatal(err)
	}
	return events.DynamoDBEventRecord{EventName: eventName, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, NewImage: img}}
}

const closed = `{"PK":{"S":"ORG#01ORG"},"SK":{"S":"ACT#01ACT"},"type":{"S":"activity"},"id":{"S":"01ACT"},"event":{"S":"matter.closed"},
	"actorId":{"S":"01USER"},"entityType":{"S":"matter"},"entityId":{"S":"01MAT"},"clientId":{"S":"01CLI"},"matterId":{"S":"01MAT"},
	"at":{"S":"2026-11-23T10:00:00Z"},"detail":{"S":"open → closed"},"ip":{"S":"192.0.2.1"}}`

func TestHandlePublishesAnnouncedEvents(t *testing.T) {
	var got []string
	var details []Event
	h := Handler{DB: storetest.DB(t), Keys: testKeys(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: pub(func(dt string, d any) error {
		got = append(got, dt)
		details = append(details, d.(Event))
		return nil
	})}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record(t, "1", "INSERT", closed),
		record(t, "2", "INSERT", `{"PK":{"S":"ORG#01ORG"},"type":{"S":"activity"},"id":{"S":"01X"}}`),             // no event
		record(t, "3", "INSERT", `{"PK":{"S":"ORG#01ORG"},"type":{"S":"client"},"event":{"S":"client.created"}}`), // not an entry
		record(t, "4", "MODIFY", closed),
		record(t, "5", "INSERT", `{"PK":{"S":"ORG#01ORG"},"type":{"S":"activity"},"id":{"S":"01DOC"},"event":{"S":"document.ready"},"entityType":{"S":"document"},"entityId":{"S":"01D"}}`),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if want := []string{"matter.closed", "document.ready"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	d := details[0]
	if d.ID != "01ACT" || d.OrgID != "01ORG" || d.ActorID != "01USER" || d.ClientID != "01CLI" || d.MatterID != "01MAT" ||
		d.EntityType != "matter" || d.At.IsZero() {
		t.Errorf("detail = %+v", d)
	}
	b, _ := json.Marshal(d)
	if contains(b, "192.0.2.1") || contains(b, "open → closed") {
		t.Errorf("detail carries more than ids: %s", b)
	}
	if details[1].DocumentID != "01D" {
		t.Errorf("document event = %+v", details[1])
	}
}

// TestHandleStopsAtFirstFailure: the failed record is reported and nothing
// after it is published, since Lambda sends the batch again from there.
func TestHandleStopsAtFirstFailure(t *testing.T) {
	var got []string
	h := Handler{DB: storetest.DB(t), Keys: testKeys(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: pub(func(dt string, d any) error {
		if d.(Event).ID == "02" {
			return errors.New("bus down")
		}
		got = append(got, d.(Event).ID)
		return nil
	})}
	entry := func(id string) string {
		return `{"PK":{"S":"ORG#o"},"type":{"S":"activity"},"id":{"S":"` + id + `"},"event":{"S":"client.created"}}`
	}
	resp, _ := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record(t, "10", "INSERT", entry("01")), record(t, "11", "INSERT", entry("02")), record(t, "12", "INSERT", entry("03")),
	}})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "11" || !slices.Equal(got, []string{"01"}) {
		t.Errorf("failures %+v, published %v", resp.BatchItemFailures, got)
	}
}

type pub func(detailType string, detail any) error

func (p pub) Publish(_ context.Context, detailType string, detail any) error {
	return p(detailType, detail)
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestHandleAppendsAudit: every new activity entry, with or without an
// event, is appended to its org's audit chain once, however often the
// stream sends it; other items are not.
func TestHandleAppendsAudit(t *testing.T) {
	db := storetest.DB(t)
	org := storetest.ID()
	h := Handler{DB: db, Keys: testKeys(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: pub(func(string, any) error { return nil })}
	entry := func(sk, id string) string {
		return `{"PK":{"S":"ORG#` + org + `"},"SK":{"S":"` + sk + id + `"},"type":{"S":"activity"},"id":{"S":"` + id + `"},` +
			`"action":{"S":"user.login"},"ip":{"S":"192.0.2.1"},"userAgent":{"S":"UA"},"at":{"S":"2026-12-01T09:00:00Z"}}`
	}
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record(t, "1", "INSERT", entry("ACT#", "01A")),
		record(t, "2", "INSERT", entry("TRUSTACT#", "01B")),
		record(t, "3", "INSERT", `{"PK":{"S":"ORG#`+org+`"},"SK":{"S":"CLIENT#01C"},"type":{"S":"client"},"id":{"S":"01C"}}`),
	}}
	for range 2 { // the second is a redelivery
		if resp, err := h.Handle(context.Background(), batch); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v, err %v", resp, err)
		}
	}
	got, _, err := audit.List(context.Background(), db, org, audit.Filter{}, 10, nil)
	if err != nil || len(got) != 2 || got[0].ID != "01B" || got[0].Log != "trust" || got[1].ID != "01A" || got[1].IP != "192.0.2.1" {
		t.Fatalf("audit log %+v, %v", got, err)
	}
	if v, err := (audit.Chain{DB: db, Keys: testKeys(t)}).Verify(context.Background(), org); err != nil || !v.Valid || v.Entries != 2 {
		t.Fatalf("verify %+v, %v", v, err)
	}
}

// testKeys stands in for the audit KMS key.
func testKeys(t *testing.T) *audit.Keyring {
	t.Helper()
	s, err := envelope.NewLocal([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return audit.NewKeyring(s)
}
