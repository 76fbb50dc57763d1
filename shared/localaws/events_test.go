package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func quietScheduler(t *testing.T) *Scheduler {
	t.Helper()
	return NewScheduler(WithSchedulerLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
}

func TestSchedulerTrigger(t *testing.T) {
	s := quietScheduler(t)
	runs := map[string]int{}
	s.Add("calendar-sync", 15*time.Minute, func(context.Context) error { runs["calendar-sync"]++; return nil })
	s.Add("reminders", time.Hour, func(context.Context) error { runs["reminders"]++; return errors.New("provider down") })
	s.Add("retention", 24*time.Hour, func(context.Context) error { panic("boom") })

	if got, want := s.Names(), []string{"calendar-sync", "reminders", "retention"}; !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
	tests := []struct {
		name    string
		wantErr string
		wantIs  error
	}{
		{name: "calendar-sync"},
		{name: "reminders", wantErr: "provider down"},
		{name: "retention", wantErr: "panic: boom"},
		{name: "nope", wantIs: ErrUnknownSchedule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Trigger(context.Background(), tt.name)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("got %v, want %v", err, tt.wantIs)
				}
			case tt.wantErr == "":
				if err != nil {
					t.Errorf("got %v", err)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	if runs["calendar-sync"] != 1 || runs["reminders"] != 1 {
		t.Errorf("runs = %v", runs)
	}
}

func TestSchedulerAddTwicePanics(t *testing.T) {
	s := quietScheduler(t)
	s.Add("x", time.Minute, func(context.Context) error { return nil })
	defer func() {
		if recover() == nil {
			t.Error("second Add did not panic")
		}
	}()
	s.Add("x", time.Minute, func(context.Context) error { return nil })
}

// Run ticks each schedule, including one added while it runs, and stops
// with its context. The intervals are tiny and the test waits on channels.
func TestSchedulerRun(t *testing.T) {
	s := quietScheduler(t)
	ticks := make(chan string, 100)
	tick := func(name string) func(context.Context) error {
		return func(context.Context) error {
			select {
			case ticks <- name:
			default:
			}
			return errors.New("failures are logged, not fatal")
		}
	}
	s.Add("early", time.Millisecond, tick("early"))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	s.Add("late", time.Millisecond, tick("late"))

	seen := map[string]int{}
	deadline := time.After(10 * time.Second) // a hang guard, not a timing assumption
	for seen["early"] < 2 || seen["late"] < 2 {
		select {
		case name := <-ticks:
			seen[name]++
		case <-deadline:
			t.Fatalf("ticks seen: %v", seen)
		}
	}
	cancel()
	<-stopped
}

func TestBusPut(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 30, 15, 500, time.UTC)
	bus := &Bus{Now: func() time.Time { return now }}
	var got []events.EventBridgeEvent
	record := func(_ context.Context, ev events.EventBridgeEvent) error { got = append(got, ev); return nil }
	bus.Subscribe("invoice.paid", record)
	bus.Subscribe("invoice.paid", func(context.Context, events.EventBridgeEvent) error { return errors.New("ledger busy") })
	bus.Subscribe("invoice.paid", record) // still runs after the failure
	bus.Subscribe("sms.opted_out", func(context.Context, events.EventBridgeEvent) error {
		t.Error("sms.opted_out target got an invoice.paid event")
		return nil
	})

	err := bus.Put(context.Background(), "matterly.billing", "invoice.paid", map[string]any{"invoiceId": "inv_1", "amount": 12500})
	if err == nil || !strings.Contains(err.Error(), "ledger busy") {
		t.Errorf("Put = %v, want the target's error", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d deliveries to the recording targets, want 2", len(got))
	}
	ev := got[0]
	var detail map[string]any
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || detail["invoiceId"] != "inv_1" {
		t.Errorf("detail %s: %v", ev.Detail, err)
	}
	checks := []struct{ name, got, want string }{
		{"source", ev.Source, "matterly.billing"},
		{"detail-type", ev.DetailType, "invoice.paid"},
		{"account", ev.AccountID, "000000000000"},
		{"version", ev.Version, "0"},
		{"time", ev.Time.Format(time.RFC3339Nano), "2025-03-01T09:30:15Z"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if ev.ID == "" || ev.ID != got[1].ID {
		t.Errorf("event ids %q and %q: want one id per event", ev.ID, got[1].ID)
	}
}

func TestBusPutRejects(t *testing.T) {
	var bus Bus // the zero value works
	tests := []struct {
		name, source, detailType string
		detail                   any
		want                     string
	}{
		{name: "no source", detailType: "x", detail: map[string]any{}, want: "source"},
		{name: "no detail type", source: "s", detail: map[string]any{}, want: "detail type"},
		{name: "detail not an object", source: "s", detailType: "x", detail: []int{1}, want: "JSON object"},
		{name: "detail not JSON", source: "s", detailType: "x", detail: func() {}, want: "detail"},
		{name: "too big", source: "s", detailType: "x", detail: map[string]string{"x": strings.Repeat("a", 256*1024)}, want: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := bus.Put(context.Background(), tt.source, tt.detailType, tt.detail); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	// No target: accepted and dropped, like an event no rule matches.
	if err := bus.Put(context.Background(), "s", "nobody.listens", json.RawMessage(`{"a":1}`)); err != nil {
		t.Errorf("Put without targets: %v", err)
	}
}
