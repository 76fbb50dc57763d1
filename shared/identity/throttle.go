package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
)

// ThrottlePolicy limits failed logins per account and per source IP in fixed
// windows. Counters live in DynamoDB, so every Lambda instance shares them.
type ThrottlePolicy struct {
	Window     time.Duration
	PerAccount int // failed logins per login name per window
	PerIP      int // failed logins per source address per window

	SignupWindow time.Duration
	SignupsPerIP int // new orgs per source address per signup window
}

// DefaultThrottle: 10 failed logins per account and 100 per IP in 15
// minutes; 20 sign-ups per IP an hour.
var DefaultThrottle = ThrottlePolicy{Window: 15 * time.Minute, PerAccount: 10, PerIP: 100,
	SignupWindow: time.Hour, SignupsPerIP: 20}

type throttleRow struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Count     int    `dynamodbav:"n"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// throttleKeys returns the counter keys of the current window. The login name
// is hashed: the table need not hold what strangers typed.
func (s *Service) throttleKeys(login, ip string, now time.Time) (acct, addr, window string, end time.Time) {
	start := now.Truncate(s.Throttle.Window)
	h := sha256.Sum256([]byte(login))
	return "THROTTLE#acct#" + hex.EncodeToString(h[:16]), "THROTTLE#ip#" + ip,
		"W#" + strconv.FormatInt(start.Unix(), 10), start.Add(s.Throttle.Window)
}

// checkThrottle answers 429 with Retry-After when either counter is spent.
func (s *Service) checkThrottle(ctx context.Context, login, ip string, now time.Time) error {
	acctPK, ipPK, window, end := s.throttleKeys(login, ip, now)
	var acct, addr throttleRow
	acctReq := &store.KeyOut{PK: acctPK, SK: window, Out: &acct}
	ipReq := &store.KeyOut{PK: ipPK, SK: window, Out: &addr}
	if err := s.DB.BatchGet(ctx, acctReq, ipReq); err != nil {
		return err
	}
	if acct.Count >= s.Throttle.PerAccount || addr.Count >= s.Throttle.PerIP {
		e := fault.E(fault.RateLimited, "Too many failed logins. Try again later.")
		e.RetryAfter = end.Sub(now)
		s.Log.Warn("security event", "event", "login_throttled")
		return e
	}
	return nil
}

// recordFailure counts one failed login against the account and the IP, in
// one transaction of atomic ADDs, so concurrent failures are all counted.
func (s *Service) recordFailure(ctx context.Context, login, ip string, now time.Time) error {
	acctPK, ipPK, window, end := s.throttleKeys(login, ip, now)
	values := map[string]types.AttributeValue{
		":one": &types.AttributeValueMemberN{Value: "1"},
		":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(end.Add(time.Hour).Unix(), 10)},
	}
	expr := "ADD n :one SET expiresAt = :exp"
	return s.DB.Transact(ctx,
		s.DB.Update(acctPK, window, expr, nil, nil, values),
		s.DB.Update(ipPK, window, expr, nil, nil, values),
	)
}

// signupSlot is the transaction item that takes one of the address's sign-up
// slots for this window. Its condition enforces the limit atomically, so
// parallel sign-ups cannot exceed it, and a refused sign-up takes no slot.
func (s *Service) signupSlot(ip string, now time.Time) (types.TransactWriteItem, time.Duration) {
	start := now.Truncate(s.Throttle.SignupWindow)
	end := start.Add(s.Throttle.SignupWindow)
	w := s.DB.Update("THROTTLE#signup#"+ip, "W#"+strconv.FormatInt(start.Unix(), 10), "ADD n :one SET expiresAt = :exp",
		&store.Cond{Expr: "attribute_not_exists(n) OR n < :limit"}, nil,
		map[string]types.AttributeValue{
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(s.Throttle.SignupsPerIP)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(end.Add(time.Hour).Unix(), 10)},
		})
	return w, end.Sub(now)
}
