package token

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// CacheSize bounds the verified-token cache of a Verifier. An entry is a
// few hundred bytes; a warm function sees far fewer live tokens than this
// (one per signed-in session, each living 15 minutes).
const CacheSize = 4096

// verifiedCache remembers the claims of tokens that verified, keyed by the
// token's SHA-256, so a session's next requests skip the Ed25519 check
// (the largest single cost of an authenticated request). An entry lives
// until its token's exp and never past it; what the claims grant is still
// checked on every hit, and the router's membership read still runs on
// every request, so a removed member is refused as before. The cache holds
// the claims struct whole, whatever claims it comes to carry.
type verifiedCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front: most recently used
	entries map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key [sha256.Size]byte
	c   claims
	exp time.Time
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, order: list.New(), entries: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the claims verified for key if they are not expired at now;
// an expired entry is dropped.
func (vc *verifiedCache) get(key [sha256.Size]byte, now time.Time) (claims, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	el, ok := vc.entries[key]
	if !ok {
		return claims{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.exp) {
		vc.order.Remove(el)
		delete(vc.entries, key)
		return claims{}, false
	}
	vc.order.MoveToFront(el)
	return e.c, true
}

// put remembers c for key until exp, evicting the least recently used
// entry when full.
func (vc *verifiedCache) put(key [sha256.Size]byte, c claims, exp time.Time) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if el, ok := vc.entries[key]; ok {
		el.Value = &cacheEntry{key: key, c: c, exp: exp}
		vc.order.MoveToFront(el)
		return
	}
	if vc.order.Len() >= vc.max {
		oldest := vc.order.Back()
		vc.order.Remove(oldest)
		delete(vc.entries, oldest.Value.(*cacheEntry).key)
	}
	vc.entries[key] = vc.order.PushFront(&cacheEntry{key: key, c: c, exp: exp})
}

// len is the number of cached tokens (tests).
func (vc *verifiedCache) len() int {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.order.Len()
}
