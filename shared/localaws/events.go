package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ErrUnknownSchedule is returned by Trigger for a name that was never added.
var ErrUnknownSchedule = errors.New("unknown schedule")

// Scheduler is an in-process stand-in for EventBridge schedules: each
// schedule runs every interval while Run runs, and on demand via Trigger
// (the dev server's POST /dev/schedules/<name> and tests, which must not
// wait for a tick).
type Scheduler struct {
	log *slog.Logger

	mu   sync.Mutex
	jobs map[string]*schedule
	wake chan struct{} // tells Run about a schedule added while it runs
}

type schedule struct {
	every   time.Duration
	fn      func(context.Context) error
	next    time.Time // zero until Run first sees it
	running bool      // a ticked run has not finished; the next tick skips
}

// SchedulerOption configures NewScheduler.
type SchedulerOption func(*Scheduler)

// WithSchedulerLogger sends failed scheduled runs to l instead of slog.Default.
func WithSchedulerLogger(l *slog.Logger) SchedulerOption {
	return func(s *Scheduler) { s.log = l }
}

// NewScheduler returns a scheduler with no schedules.
func NewScheduler(opts ...SchedulerOption) *Scheduler {
	s := &Scheduler{log: slog.Default(), jobs: map[string]*schedule{}, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Add registers a schedule running fn every interval (the rate of the
// EventBridge schedule in infra). It panics on a duplicate name or a
// non-positive interval: both are wiring mistakes.
func (s *Scheduler) Add(name string, every time.Duration, fn func(context.Context) error) {
	if every <= 0 || fn == nil {
		panic("localaws: schedule " + name + " needs a positive interval and a function")
	}
	s.mu.Lock()
	if _, dup := s.jobs[name]; dup {
		s.mu.Unlock()
		panic("localaws: schedule " + name + " added twice")
	}
	s.jobs[name] = &schedule{every: every, fn: fn}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Names lists the schedules, sorted.
func (s *Scheduler) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Trigger runs schedule name now, synchronously, and returns its error
// (ErrUnknownSchedule, wrapped, for a name never added).
func (s *Scheduler) Trigger(ctx context.Context, name string) error {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSchedule, name)
	}
	return runJob(ctx, j.fn)
}

// Run runs each schedule every interval, in real time, until ctx ends,
// then waits for runs in progress. The first run of a schedule comes one
// interval after Run sees it. A run still going when its next tick comes
// makes that tick skip, so a slow job never piles up on a laptop.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, wait := s.due()
		for name, j := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runJob(ctx, j.fn); err != nil {
					s.log.Error("schedule failed", "schedule", name, "err", err)
				}
				s.mu.Lock()
				j.running = false
				s.mu.Unlock()
			}()
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// due marks and returns the schedules whose time has come, and how long
// until the next one.
func (s *Scheduler) due() (map[string]*schedule, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	due := map[string]*schedule{}
	wait := time.Hour
	for name, j := range s.jobs {
		if j.next.IsZero() {
			j.next = now.Add(j.every)
		}
		if !j.next.After(now) {
			if !j.running {
				j.running = true
				due[name] = j
			}
			// Missed ticks (a sleeping laptop) are dropped, not replayed.
			j.next = now.Add(j.every)
		}
		wait = min(wait, j.next.Sub(now))
	}
	return due, wait
}

func runJob(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx)
}

// EventHandler is a Lambda handler for EventBridge events.
type EventHandler func(context.Context, events.EventBridgeEvent) error

// maxEventBytes is EventBridge's PutEvents entry size limit.
const maxEventBytes = 256 * 1024

// Bus is an in-process stand-in for the EventBridge event bus: Put hands
// the event to every handler subscribed to its detail type, synchronously,
// in subscription order. The zero value is ready to use.
type Bus struct {
	// Now stamps events (time.Now when nil).
	Now func() time.Time

	mu   sync.RWMutex
	subs map[string][]EventHandler
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Subscribe adds fn as a target of events of detailType (a rule matching
// on detail-type, as the rules in infra do).
func (b *Bus) Subscribe(detailType string, fn EventHandler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[string][]EventHandler{}
	}
	b.subs[detailType] = append(b.subs[detailType], fn)
}

// Put publishes an event with detail marshalled by encoding/json (a
// json.RawMessage is used as is). Like PutEvents it rejects an empty
// source or detail type, a detail that is not a JSON object and an entry
// over 256 KiB. Every subscriber runs even when one fails; their errors
// are joined. An event nobody subscribed to is accepted and dropped, as
// EventBridge drops events no rule matches.
func (b *Bus) Put(ctx context.Context, source, detailType string, detail any) error {
	if source == "" || detailType == "" {
		return errors.New("localaws: event needs a source and a detail type")
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("localaws: event detail: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return fmt.Errorf("localaws: event detail of %s must be a JSON object", detailType)
	}
	if n := len(raw) + len(source) + len(detailType); n > maxEventBytes {
		return fmt.Errorf("localaws: event %s is %d bytes, at most %d allowed", detailType, n, maxEventBytes)
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	ev := events.EventBridgeEvent{
		Version:    "0",
		ID:         newID(),
		DetailType: detailType,
		Source:     source,
		AccountID:  "000000000000",
		Time:       now().UTC().Truncate(time.Second), // EventBridge times have whole seconds
		Region:     "local",
		Resources:  []string{},
	}
	b.mu.RLock()
	subs := slices.Clone(b.subs[detailType])
	b.mu.RUnlock()
	var errs []error
	for i, fn := range subs {
		e := ev
		e.Detail = slices.Clone(json.RawMessage(raw)) // each target gets its own copy
		if err := runEventHandler(ctx, fn, e); err != nil {
			errs = append(errs, fmt.Errorf("%s target %d: %w", detailType, i, err))
		}
	}
	return errors.Join(errs...)
}

func runEventHandler(ctx context.Context, fn EventHandler, ev events.EventBridgeEvent) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, ev)
}
