// Package platform builds the clients and keys every function shares, once
// per process: in AWS from the environment and Secrets Manager, locally
// against the embedded stand-ins. Functions, the dev server and tests all
// call New, so they run the same wiring.
//
// platform links the DynamoDB client, which every function in AWS uses,
// and no other AWS service client: the secrets are read with one signed
// call (Secrets), the SDK configuration comes from Lambda's environment
// (awsenv), and the clients only some functions use are built by their
// own packages (awss3, awssqs, awseventbridge, awskms), once per Deps
// (Shared), and only the functions whose wiring imports them link them.
package platform

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/matterly/matterly/shared/awsenv"
	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/keys"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/queue"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
	"github.com/matterly/matterly/shared/token"
)

// Deps are the shared dependencies of a function. New builds only what the
// configuration names (a function states what it cannot start without
// with config.Need), so the relay gets a bus and no table, and a worker no
// token keys.
type Deps struct {
	Config config.Config
	Log    *slog.Logger
	DB     *store.DB // nil unless TABLE_NAME is set
	Keys   keys.Set  // zero unless SIGNING_SECRET_ARN is set (or a local run)
	// TokenKey is the key tokens are signed with, derived on the first call
	// (a scalar multiplication, about 2 ms the first time in a process,
	// which a function that never issues or checks a token does not pay);
	// nil unless this function issues tokens.
	TokenKey func() ed25519.PrivateKey
	Tokens   *token.Issuer   // nil unless this function issues tokens
	Verifier *token.Verifier // nil unless a token key is configured
	Cursors  *cursor.Sealer  // nil without the signing keys
	// Members is the routers' membership check: the caller's member item,
	// read once per authenticated request (tenant.Members; nil without a table).
	Members httpapi.Members
	Now     func() time.Time
	// Bus is the local stand-in of the event bus (make dev's, or one that
	// logs); nil in AWS, where awseventbridge.Publisher builds EventBridge.
	Bus bus.Publisher
	// StripeKey is the platform's Stripe secret key; "" when Stripe is not
	// configured (the payment routes then answer 503 saying what to set).
	StripeKey string
	// StripeWebhookSecret verifies Stripe's webhook signatures; "" when not
	// configured (the webhook then answers 503, never accepts unsigned calls).
	StripeWebhookSecret string
	// Queue is the local broker (make dev, tests); nil in AWS, where
	// awssqs.Sender builds SQS. S3 has no field: awss3.Client builds it.
	Queue queue.Sender
	// Twilio's account SID and auth token; "" when SMS is not configured.
	TwilioAccountSID, TwilioAuthToken string
	// OpenAIKey is the AI provider's key; "" when none is set (a local
	// OpenAI-compatible server may need none).
	OpenAIKey string
	// DropboxSignKey is the Dropbox Sign API key; "" until set (the
	// e-signature routes and the callback then answer 503).
	DropboxSignKey string
	// MSClientSecret is the Microsoft app registration's client secret; ""
	// until set (the calendar routes then answer 503).
	MSClientSecret string
	// Sealer encrypts secrets kept at rest (two-factor secrets, OAuth
	// tokens) locally, under a key derived from the dev root; nil in AWS,
	// where awskms.Sealer builds it on KMS data keys of KMS_KEY_ID.
	Sealer *envelope.Sealer
	// AuditSealer seals and opens the audit chains' keys locally (the
	// dev root's key); nil in AWS, where awskms.AuditSealer builds it on
	// data keys of AUDIT_KEY_ID (a key the table's writers may not use).
	AuditSealer *envelope.Sealer
	// GiphyKey is the Giphy API key; "" until set (chat's GIFs answer 503).
	GiphyKey string
	// PasswordParams, when set, replaces argon2id's production cost
	// (password.OWASP) for new password hashes: set only by the
	// end-to-end suite (Options.PasswordParams), never by configuration.
	PasswordParams *password.Params
	// AWS is the SDK configuration other AWS clients are built from (the
	// WebSocket API's Management API): the Lambda's own in AWS, static
	// local credentials in make dev.
	AWS aws.Config

	mu     sync.Mutex
	shared map[string]*lazy // Shared's clients
}

// Shared returns the value build makes for key, built on the first call
// for d and returned by every later one: the clients of the packages that
// platform does not import (awss3, ...), which the devstack's functions,
// all on one Deps, share as one function's wiring does. build runs outside
// d's lock, so it may call Shared for another key (the KMS sealers share
// one client).
func Shared[T any](d *Deps, key string, build func() T) T {
	d.mu.Lock()
	l, ok := d.shared[key]
	if !ok {
		if d.shared == nil {
			d.shared = map[string]*lazy{}
		}
		l = &lazy{}
		d.shared[key] = l
	}
	d.mu.Unlock()
	l.once.Do(func() { l.v = build() })
	return l.v.(T)
}

// lazy is one of Shared's values, built once.
type lazy struct {
	once sync.Once
	v    any
}

// InAWS is Shared for an AWS client that a function has only in AWS and
// only when its configuration names the resource (configured): the zero
// value locally (where Deps holds the stand-in) or when it is not named.
func InAWS[T any](d *Deps, key string, configured bool, build func() T) T {
	if d.Config.Local() || !configured {
		var zero T
		return zero
	}
	return Shared(d, key, build)
}

// UnsetSecret is a provider secret's value until the operator sets it.
const UnsetSecret = config.UnsetSecret

// twilioSecret is the JSON the Twilio secret holds in AWS.
type twilioSecret struct {
	AccountSID string `json:"accountSid"`
	AuthToken  string `json:"authToken"`
}

// Options override parts of the wiring (tests and the dev server).
type Options struct {
	Dynamo store.API        // a ready DynamoDB client; built from Config when nil
	Bus    bus.Publisher    // the local event bus (make dev); EventBridge in AWS
	Queue  queue.Sender     // the local broker (make dev); SQS in AWS
	Now    func() time.Time // the clock; time.Now when nil
	LogOut io.Writer        // where logs go; required
	// PasswordParams is a cheaper argon2id cost for the end-to-end tests,
	// which sign up hundreds of members (at OWASP's cost, 19 MiB and two
	// passes each, that was half the suite's CPU); nil is OWASP.
	PasswordParams *password.Params
}

// New builds the dependencies for cfg.
func New(ctx context.Context, cfg config.Config, opts Options) (*Deps, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.PasswordParams != nil && !cfg.Local() {
		return nil, fmt.Errorf("a password cost other than OWASP's is for the local test stack only")
	}
	d := &Deps{Config: cfg, Now: now, Log: logging.New(opts.LogOut, cfg.LogLevel, cfg.Function), PasswordParams: opts.PasswordParams}

	dyn := opts.Dynamo
	var signingRoot, tokenRoot []byte
	var err error
	if cfg.Local() {
		if dyn == nil {
			dyn = store.NewLocalClient(cfg.DynamoEndpoint)
		}
		signingRoot, err = keys.DevRoot(cfg.DevDataDir)
		d.AWS = config.LocalAWS("")
		tokenRoot = signingRoot
		d.Bus = opts.Bus
		if d.Bus == nil {
			// make invoke runs one function alone: events have no subscriber.
			d.Bus = bus.PublisherFunc(func(_ context.Context, detailType string, _ any) error {
				d.Log.Info("event not delivered: no local bus", "detailType", detailType)
				return nil
			})
		}
	} else {
		awsCfg, lerr := awsenv.Config(cfg.Region)
		if lerr != nil {
			return nil, fmt.Errorf("aws config: %w", lerr)
		}
		d.AWS = awsCfg
		if dyn == nil && cfg.TableName != "" {
			dyn = store.NewClient(awsCfg)
		}
		sm := Secrets{AWS: awsCfg}
		ids := []string{cfg.SigningSecret, cfg.TokenSecret, cfg.StripeSecretARN, cfg.StripeWebhookSecretARN,
			cfg.TwilioSecretARN, cfg.OpenAISecretARN, cfg.DropboxSignSecretARN, cfg.GiphySecretARN, cfg.MSClientSecretARN}
		var raw [][]byte
		if raw, err = readSecrets(ctx, sm, ids); err == nil {
			signingRoot, tokenRoot = raw[0], raw[1]
			d.StripeKey, d.StripeWebhookSecret = string(raw[2]), string(raw[3])
			if tw := raw[4]; ids[4] != "" && string(tw) != UnsetSecret {
				var s twilioSecret
				if jerr := json.Unmarshal(tw, &s); jerr != nil {
					err = fmt.Errorf("twilio secret: want {\"accountSid\",\"authToken\"}: %w", jerr)
				}
				d.TwilioAccountSID, d.TwilioAuthToken = s.AccountSID, s.AuthToken
			}
			d.OpenAIKey, d.DropboxSignKey, d.GiphyKey, d.MSClientSecret = set(raw[5]), set(raw[6]), set(raw[7]), set(raw[8])
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.Local() {
		d.StripeKey, d.StripeWebhookSecret, d.Queue = cfg.StripeSecretKey, cfg.StripeWebhookSecret, opts.Queue
		d.TwilioAccountSID, d.TwilioAuthToken, d.OpenAIKey = cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.OpenAIKey
		d.DropboxSignKey = cfg.DropboxSignAPIKey
		d.GiphyKey = cfg.GiphyAPIKey
		d.MSClientSecret = cfg.MSClientSecret
	}
	if cfg.TableName != "" {
		d.DB = store.New(dyn, cfg.TableName)
		d.Members = tenant.Members{DB: d.DB}
	}
	if signingRoot != nil {
		if d.Keys, err = keys.Derive(signingRoot); err != nil {
			return nil, err
		}
		if d.Cursors, err = cursor.New(d.Keys.CursorKey); err != nil {
			return nil, err
		}
		if cfg.Local() {
			if d.Sealer, err = envelope.NewLocal(keys.SealKey(signingRoot)); err != nil {
				return nil, err
			}
			d.AuditSealer = d.Sealer
		}
	}
	if err := d.tokenKeys(tokenRoot); err != nil {
		return nil, err
	}
	return d, nil
}

// readSecrets reads the secrets ids name ("" is none, read as nil) side by
// side: each is a round trip to Secrets Manager, which a function's init
// used to wait for one after another. The error is the first in ids'
// order.
func readSecrets(ctx context.Context, sm keys.SecretGetter, ids []string) ([][]byte, error) {
	raw, errs := make([][]byte, len(ids)), make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		if id != "" {
			wg.Go(func() { raw[i], errs[i] = keys.ReadSecret(ctx, sm, id) })
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// set is a provider secret's value, "" until the operator sets it.
func set(raw []byte) string {
	if string(raw) == UnsetSecret {
		return ""
	}
	return string(raw)
}

// tokenKeys sets up token verification for the functions given a token
// key and token issuing for those given the token secret. The public key
// comes from TOKEN_PUBLIC_KEY (published at deploy time) or from the
// private key. Without either there is no verifier: config.Tokens is how a
// function says it cannot start so.
func (d *Deps) tokenKeys(tokenRoot []byte) error {
	cfg := d.Config
	var pub func() ed25519.PublicKey
	if tokenRoot != nil {
		seed, err := keys.TokenSeed(tokenRoot)
		if err != nil {
			return err
		}
		d.TokenKey = sync.OnceValue(func() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) })
		d.Tokens = token.NewIssuerFunc(d.TokenKey, cfg.TokenIssuer, cfg.TokenAudience, d.Now)
		pub = sync.OnceValue(func() ed25519.PublicKey { return d.TokenKey().Public().(ed25519.PublicKey) })
	}
	if cfg.TokenPublicKey != "" {
		configured, err := keys.ParsePublicKey(cfg.TokenPublicKey)
		if err != nil {
			return err
		}
		// A mismatch stops the start, so an issuer given both derives its
		// key here.
		if pub != nil && !pub().Equal(configured) {
			return fmt.Errorf("TOKEN_PUBLIC_KEY does not match the token secret's key")
		}
		pub = func() ed25519.PublicKey { return configured }
	}
	if pub == nil {
		return nil
	}
	d.Verifier = token.NewVerifierFunc(pub, cfg.TokenIssuer, cfg.TokenAudience, d.Now)
	return nil
}

// RouterOptions are the options of every API function's router: token
// verification, the caller's membership read on every authenticated
// request (a removed member's token stops working at once, a demoted one
// acts with its new role), CORS and the logger.
func (d *Deps) RouterOptions() httpapi.Options {
	members := d.Members
	if members == nil {
		members = tenant.Members{DB: d.DB} // Deps built by hand (tests)
	}
	return httpapi.Options{Verifier: d.Verifier, Members: members, AllowedOrigins: d.Config.CORSOrigins, Logger: d.Log}
}

// RouterConfig is RouterOptions with the list cursors' sealer: what every
// domain package's NewRouter takes besides its services.
func (d *Deps) RouterConfig() httpapi.RouterConfig {
	return httpapi.RouterConfig{Options: d.RouterOptions(), Cursors: d.Cursors}
}
