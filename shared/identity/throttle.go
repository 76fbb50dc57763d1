package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// ThrottlePolicy limits login attempts per account and per source IP, and
// sign-ups per source IP. Each limit is a token bucket: N attempts at once,
// then one more every window/N, so no span of time, wherever it falls,
// allows more than N plus what refilled in it (a fixed, clock-aligned
// window allowed 2N across its boundary). Buckets live in DynamoDB, so every
// Lambda instance shares them.
type ThrottlePolicy struct {
	Window     time.Duration
	PerAccount int // failed (or in-flight) logins per account per window
	PerIP      int // login attempts per source address per window

	SignupWindow time.Duration
	SignupsPerIP int // sign-up attempts per source address per signup window

	ResetWindow      time.Duration
	ResetsPerIP      int // password-reset requests per source address per reset window
	ResetsPerAddress int // reset emails per email address per reset window
}

// DefaultThrottle: 10 failed logins per account (then one per 90 s) and 300
// login attempts per IP (one per 3 s) in 15 minutes; 20 sign-ups per IP
// an hour (one per 3 minutes); 20 password-reset requests per IP and 3
// reset emails per address an hour.
var DefaultThrottle = ThrottlePolicy{Window: 15 * time.Minute, PerAccount: 10, PerIP: 300,
	SignupWindow: time.Hour, SignupsPerIP: 20, ResetWindow: time.Hour, ResetsPerIP: 20, ResetsPerAddress: 3}

// attempt is a login attempt's account token, to give back on success.
type attempt struct{ giveBack types.TransactWriteItem }

// takeAttempt takes one login attempt from the account's and the address's
// buckets before the password is checked. Failed attempts keep their
// tokens; a successful login gives its account token back (the address's
// bucket counts every attempt, which covers a whole office behind one
// address). An empty bucket answers 429 with Retry-After.
func (s *Service) takeAttempt(ctx context.Context, account, ip string, now time.Time) (attempt, error) {
	h := sha256.Sum256([]byte("account#" + account))
	acctPK := "THROTTLE#acct#" + hex.EncodeToString(h[:16]) // the table need not hold what strangers typed
	acct := bucket{pk: acctPK, size: s.Throttle.PerAccount, per: s.Throttle.Window}
	for _, b := range []bucket{
		// The address first: once it is empty, its requests must not go on
		// spending (and so locking) the accounts they name.
		{pk: "THROTTLE#ip#" + ip, size: s.Throttle.PerIP, per: s.Throttle.Window},
		acct,
	} {
		retry, err := s.take(ctx, b, now)
		if err != nil {
			return attempt{}, err
		}
		if retry > 0 {
			e := fault.E(fault.RateLimited, "Too many login attempts. Try again later.")
			e.RetryAfter = retry
			s.Log.Warn("security event", "event", "login_throttled")
			return attempt{}, e
		}
	}
	return attempt{giveBack: s.giveBack(acct)}, nil
}

// bucket is one token bucket: size tokens, refilled evenly over per.
//
// It is kept as GCRA keeps one, in a single number: tat, the time (Unix
// milliseconds) at which the bucket will be full again. Taking a token moves
// tat on by one interval (per/size); a token is there while tat is at most
// per minus one interval ahead of now. Both ways of taking are single
// conditional writes, so concurrent Lambdas can never take more than the
// bucket holds, and none needs a read first.
type bucket struct {
	pk   string
	size int
	per  time.Duration
}

const bucketSK = "BUCKET"

func (b bucket) interval() int64 { return b.per.Milliseconds() / int64(max(b.size, 1)) }

// take takes a token from b. It answers how long until one is there when the
// bucket is empty (and then takes nothing), 0 when it took one.
func (s *Service) take(ctx context.Context, b bucket, now time.Time) (time.Duration, error) {
	t, ms := b.interval(), now.UnixMilli()
	limit := ms + b.per.Milliseconds() - t // the furthest tat may be ahead for a token to be there
	exp := store.N(now.Add(b.per + time.Hour).Unix())
	for range 5 { // each round that loses a race lost it to a take or a give-back that succeeded
		// A full bucket (no tat, or tat passed): one token taken, tat = now + interval.
		err := s.DB.UpdateItem(ctx, s.DB.Update(b.pk, bucketSK, "SET tat = :next, expiresAt = :exp",
			&store.Cond{Expr: "attribute_not_exists(tat) OR tat <= :now"}, nil,
			map[string]types.AttributeValue{":next": store.N(ms + t), ":now": store.N(ms), ":exp": exp}), nil)
		if !errors.Is(err, store.ErrConditionFailed) {
			return 0, err
		}
		// A part-used bucket: tat moves on by one interval if a token is there.
		err = s.DB.UpdateItem(ctx, s.DB.Update(b.pk, bucketSK, "SET expiresAt = :exp ADD tat :t",
			&store.Cond{Expr: "tat > :now AND tat <= :limit"}, nil,
			map[string]types.AttributeValue{":t": store.N(t), ":now": store.N(ms), ":limit": store.N(limit), ":exp": exp}), nil)
		if !errors.Is(err, store.ErrConditionFailed) {
			return 0, err
		}
		// Neither held: the bucket is empty, or a give-back moved tat into the
		// past between the two writes. Read which.
		var row bucketRow
		if err := s.DB.Get(ctx, b.pk, bucketSK, &row); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		if row.TAT > limit {
			return time.Duration(row.TAT-limit) * time.Millisecond, nil
		}
	}
	return time.Duration(t) * time.Millisecond, nil // heavy contention: refuse rather than wait
}

// giveBack is the transaction item that returns one token to b.
func (s *Service) giveBack(b bucket) types.TransactWriteItem {
	return s.DB.Update(b.pk, bucketSK, "ADD tat :minus", nil, nil,
		map[string]types.AttributeValue{":minus": store.N(-b.interval())})
}

// bucketRow is a bucket as stored.
type bucketRow struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	TAT       int64  `dynamodbav:"tat"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// takeSignup takes one of the address's sign-up tokens. Every sign-up that
// gets past field validation takes one, whether it then succeeds or finds
// its email or username taken: refused sign-ups are what someone probing
// for registered addresses sends.
func (s *Service) takeSignup(ctx context.Context, ip string, now time.Time) error {
	retry, err := s.take(ctx, bucket{pk: "THROTTLE#signup#" + ip, size: s.Throttle.SignupsPerIP, per: s.Throttle.SignupWindow}, now)
	if err != nil || retry == 0 {
		return err
	}
	e := fault.E(fault.RateLimited, "Too many sign-ups from this address. Try again later.")
	e.RetryAfter = retry
	return e
}
