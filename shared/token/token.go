// Package token issues and verifies Matterly's access tokens: EdDSA
// (Ed25519) JWTs, 15 minutes long, with the algorithm pinned and issuer,
// audience and expiry always checked.
package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/caller"
)

// TTL is the lifetime of an access token.
const TTL = 15 * time.Minute

// claims are the JWT claims of an access token.
type claims struct {
	jwt.RegisteredClaims
	Org  string `json:"org"`
	Role string `json:"role"`
	// Scope is caller.Scope: absent for a full token.
	Scope string `json:"scope,omitempty"`
	Sid   string `json:"sid,omitempty"` // the login session, when the token names one
}

// Issuer signs access tokens.
type Issuer struct {
	key      func() ed25519.PrivateKey
	issuer   string
	audience string
	now      func() time.Time
}

// NewIssuer returns an Issuer signing with key.
func NewIssuer(key ed25519.PrivateKey, issuer, audience string, now func() time.Time) *Issuer {
	return NewIssuerFunc(func() ed25519.PrivateKey { return key }, issuer, audience, now)
}

// NewIssuerFunc is NewIssuer with the key from key, called for every token
// issued: a key derived on first use (sync.OnceValue) costs a function
// that issues none nothing.
func NewIssuerFunc(key func() ed25519.PrivateKey, issuer, audience string, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{key: key, issuer: issuer, audience: audience, now: now}
}

// Issue signs a token for p; it returns the token and its expiry.
func (i *Issuer) Issue(p caller.Caller) (string, time.Time, error) {
	now := i.now().UTC().Truncate(time.Second)
	exp := now.Add(TTL)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   p.UserID,
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        ulid.Make().String(),
		},
		Org:   p.OrgID,
		Role:  string(p.Role),
		Scope: p.Scope,
		Sid:   p.SessionID,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(i.key())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// Verifier checks access tokens; it implements httpapi.Verifier.
type Verifier struct {
	key    func() ed25519.PublicKey
	parser *jwt.Parser
	now    func() time.Time
	cache  *verifiedCache
}

// NewVerifier returns a Verifier for tokens signed by key's private half.
func NewVerifier(key ed25519.PublicKey, issuer, audience string, now func() time.Time) *Verifier {
	return NewVerifierFunc(func() ed25519.PublicKey { return key }, issuer, audience, now)
}

// NewVerifierFunc is NewVerifier with the key from key, called for every
// signature checked (a token the cache does not answer): a key derived on
// first use costs a function's init nothing.
func NewVerifierFunc(key func() ed25519.PublicKey, issuer, audience string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{key: key, now: now, cache: newVerifiedCache(CacheSize), parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), // alg pinned: no "none", no HS256 confusion
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(now),
	)}
}

// ErrInvalid is returned for any token that does not verify.
var ErrInvalid = errors.New("invalid access token")

// Verify parses and checks tok. A token that verified before and has not
// expired is answered from the cache by its SHA-256, without the signature
// check; its claims are still checked below.
func (v *Verifier) Verify(tok string) (caller.Caller, error) {
	key := sha256.Sum256([]byte(tok))
	if c, ok := v.cache.get(key, v.now()); ok {
		return principal(c)
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return v.key(), nil }); err != nil {
		return caller.Caller{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p, err := principal(c)
	if err != nil {
		return caller.Caller{}, err
	}
	// WithExpirationRequired: a token that parsed has an exp.
	v.cache.put(key, c, c.ExpiresAt.Time)
	return p, nil
}

// principal is the caller the verified claims c name.
func principal(c claims) (caller.Caller, error) {
	role := access.Role(c.Role)
	if c.Subject == "" || c.Org == "" || !role.Valid() {
		return caller.Caller{}, fmt.Errorf("%w: missing subject, org or role", ErrInvalid)
	}
	if c.Scope != "" && c.Scope != caller.ScopeMFASetup {
		return caller.Caller{}, fmt.Errorf("%w: unknown scope", ErrInvalid)
	}
	return caller.Caller{UserID: c.Subject, OrgID: c.Org, Role: role, Scope: c.Scope, SessionID: c.Sid}, nil
}
