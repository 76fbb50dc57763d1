// Package platform builds the clients and keys every function shares, once
// per process: in AWS from the environment and Secrets Manager, locally
// against the embedded stand-ins. Functions, the dev server and tests all
// call New, so they run the same wiring.
package platform

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/matterly/matterly/shared/blob"
	"github.com/matterly/matterly/shared/bus"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/cursor"
	"github.com/matterly/matterly/shared/keys"
	"github.com/matterly/matterly/shared/logging"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/token"
)

// Deps are the shared dependencies of a function.
type Deps struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *store.DB
	Keys     keys.Set
	Tokens   *token.Issuer
	Verifier *token.Verifier
	Cursors  *cursor.Sealer
	Now      func() time.Time
	S3       *s3.Client    // nil unless BUCKET_NAME is set
	Bus      bus.Publisher // domain events
}

// Options override parts of the wiring (tests and the dev server).
type Options struct {
	Dynamo store.API        // a ready DynamoDB client; built from Config when nil
	Bus    bus.Publisher    // the local event bus (make dev); EventBridge in AWS
	Now    func() time.Time // the clock; time.Now when nil
	LogOut io.Writer        // where logs go; required
}

// New builds the dependencies for cfg.
func New(ctx context.Context, cfg config.Config, opts Options) (*Deps, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	d := &Deps{Config: cfg, Now: now, Log: logging.New(opts.LogOut, cfg.LogLevel, cfg.Function)}

	dyn := opts.Dynamo
	var err error
	if cfg.Local() {
		if dyn == nil {
			dyn = store.NewLocalClient(cfg.DynamoEndpoint)
		}
		d.Keys, err = keys.FromDevFile(cfg.DevDataDir)
		if cfg.S3Endpoint != "" && cfg.BucketName != "" {
			d.S3 = blob.NewLocalClient(cfg.S3Endpoint)
		}
		d.Bus = opts.Bus
		if d.Bus == nil {
			// make invoke runs one function alone: events have no subscriber.
			d.Bus = bus.PublisherFunc(func(_ context.Context, detailType string, _ any) error {
				d.Log.Info("event not delivered: no local bus", "detailType", detailType)
				return nil
			})
		}
	} else {
		awsCfg, lerr := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
		if lerr != nil {
			return nil, fmt.Errorf("aws config: %w", lerr)
		}
		if dyn == nil {
			dyn = dynamodb.NewFromConfig(awsCfg)
		}
		d.Keys, err = keys.FromSecret(ctx, secretsManager{secretsmanager.NewFromConfig(awsCfg)}, cfg.SigningSecret)
		if cfg.BucketName != "" {
			d.S3 = s3.NewFromConfig(awsCfg)
		}
		d.Bus = &bus.EventBridge{API: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName}
	}
	if err != nil {
		return nil, err
	}
	d.DB = store.New(dyn, cfg.TableName)
	d.Tokens = token.NewIssuer(d.Keys.TokenKey, cfg.TokenIssuer, cfg.TokenAudience, now)
	d.Verifier = token.NewVerifier(d.Keys.TokenKey.Public().(ed25519.PublicKey), cfg.TokenIssuer, cfg.TokenAudience, now)
	if d.Cursors, err = cursor.New(d.Keys.CursorKey); err != nil {
		return nil, err
	}
	return d, nil
}

// secretsManager adapts the Secrets Manager client to keys.SecretGetter.
type secretsManager struct{ c *secretsmanager.Client }

func (s secretsManager) SecretString(ctx context.Context, id string) (string, error) {
	out, err := s.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return "", err
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no string value", id)
	}
	return *out.SecretString, nil
}
