package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// ThrottlePolicy limits login attempts per account and per source IP, and
// sign-ups per source IP, in fixed windows. Counters live in DynamoDB, so
// every Lambda instance shares them.
type ThrottlePolicy struct {
	Window     time.Duration
	PerAccount int // failed (or in-flight) logins per account per window
	PerIP      int // login attempts per source address per window

	SignupWindow time.Duration
	SignupsPerIP int // new orgs per source address per signup window
}

// DefaultThrottle: 10 failed logins per account and 300 login attempts per
// IP in 15 minutes; 20 sign-ups per IP an hour.
var DefaultThrottle = ThrottlePolicy{Window: 15 * time.Minute, PerAccount: 10, PerIP: 300,
	SignupWindow: time.Hour, SignupsPerIP: 20}

// attempt is a login attempt's account slot, to give back on success.
type attempt struct{ giveBack types.TransactWriteItem }

// takeAttempt takes one login attempt from the account's and the address's
// budgets before the password is checked. Each take is a conditional atomic
// increment, so parallel guesses cannot slip past the limit. Failed
// attempts keep their slots; a successful login gives its account slot back
// (the address's budget counts every attempt, which covers a whole office
// behind one address). Over either limit answers 429 with Retry-After.
func (s *Service) takeAttempt(ctx context.Context, account, ip string, now time.Time) (attempt, error) {
	w := windowAt(now, s.Throttle.Window)
	h := sha256.Sum256([]byte("account#" + account))
	acctPK := "THROTTLE#acct#" + hex.EncodeToString(h[:16]) // the table need not hold what strangers typed
	for _, c := range []struct {
		pk    string
		limit int
	}{
		// The address first: once it is over its limit, its requests must not
		// go on spending (and so locking) the accounts they name.
		{"THROTTLE#ip#" + ip, s.Throttle.PerIP},
		{acctPK, s.Throttle.PerAccount},
	} {
		err := s.DB.UpdateItem(ctx, s.take(c.pk, w, c.limit), nil)
		if errors.Is(err, store.ErrConditionFailed) {
			e := fault.E(fault.RateLimited, "Too many login attempts. Try again later.")
			e.RetryAfter = w.end.Sub(now)
			s.Log.Warn("security event", "event", "login_throttled")
			return attempt{}, e
		}
		if err != nil {
			return attempt{}, err
		}
	}
	giveBack := s.DB.Update(acctPK, w.sk, "ADD n :minus", nil, nil, map[string]types.AttributeValue{":minus": store.N(-1)})
	return attempt{giveBack: giveBack}, nil
}

// window is one fixed throttle window: its counter sort key and its end.
type window struct {
	sk  string
	end time.Time
}

func windowAt(now time.Time, length time.Duration) window {
	start := now.Truncate(length)
	return window{sk: "W#" + strconv.FormatInt(start.Unix(), 10), end: start.Add(length)}
}

// take is the conditional atomic increment of counter pk in window w, which
// fails once the counter has reached limit. Counters expire an hour after
// their window.
func (s *Service) take(pk string, w window, limit int) types.TransactWriteItem {
	return s.DB.Update(pk, w.sk, "ADD n :one SET expiresAt = :exp",
		&store.Cond{Expr: "attribute_not_exists(n) OR n < :limit"}, nil,
		map[string]types.AttributeValue{":one": store.N(1), ":limit": store.N(int64(limit)), ":exp": store.N(w.end.Add(time.Hour).Unix())})
}

// throttleRow is a counter of one window.
type throttleRow struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Count     int    `dynamodbav:"n"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// signupBudgetLeft answers 429 early, before any password hashing, when the
// address has no sign-ups left this window. The slot itself is taken in the
// sign-up transaction (signupSlot), which is what enforces the limit exactly.
func (s *Service) signupBudgetLeft(ctx context.Context, ip string, now time.Time) error {
	w := windowAt(now, s.Throttle.SignupWindow)
	var row throttleRow
	err := s.DB.Get(ctx, signupPK(ip), w.sk, &row)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if row.Count >= s.Throttle.SignupsPerIP {
		return signupLimited(w.end.Sub(now))
	}
	return nil
}

func signupPK(ip string) string { return "THROTTLE#signup#" + ip }

func signupLimited(retry time.Duration) error {
	e := fault.E(fault.RateLimited, "Too many sign-ups from this address. Try again later.")
	e.RetryAfter = retry
	return e
}

// signupSlot is the transaction item that takes one of the address's sign-up
// slots for this window. Its condition enforces the limit atomically, so
// parallel sign-ups cannot exceed it, and a refused sign-up takes no slot.
func (s *Service) signupSlot(ip string, now time.Time) (types.TransactWriteItem, time.Duration) {
	w := windowAt(now, s.Throttle.SignupWindow)
	return s.take(signupPK(ip), w, s.Throttle.SignupsPerIP), w.end.Sub(now)
}
