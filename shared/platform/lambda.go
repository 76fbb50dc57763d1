package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/httpapi"
)

// RouterFunc builds a function's router from the shared dependencies.
type RouterFunc func(*Deps) (*httpapi.Router, error)

// StartHTTP is the body of an HTTP function's main: configuration from the
// environment and clients built once at init, then lambda.Start. It returns
// only on a failed init. An HTTP function needs the table, the signing
// keys and a token key (config.HTTP).
func StartHTTP(build RouterFunc) error {
	return StartHandler(func(d *Deps) (any, error) {
		rt, err := build(d)
		if err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
		return rt.Serve, nil
	}, config.HTTP...)
}

// defaultNeeds are the needs of a StartHandler function that states none:
// the table and the signing keys, as the workers on the table have.
var defaultNeeds = []config.Need{config.Table, config.Signing}

// StartHandler is StartHTTP for functions on queues, streams and
// schedules: build returns the handler lambda.Start takes. needs are what
// the function cannot start without (defaultNeeds when none are given);
// a missing one stops the start with the variable to set.
func StartHandler(build func(*Deps) (any, error), needs ...config.Need) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if len(needs) == 0 {
		needs = defaultNeeds
	}
	if err := cfg.Require(needs...); err != nil {
		return err
	}
	deps, err := New(context.Background(), cfg, Options{LogOut: os.Stdout})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	h, err := build(deps)
	if err != nil {
		return fmt.Errorf("init handler: %w", err)
	}
	lambda.Start(h)
	return nil
}

// Main runs start and exits non-zero with a JSON log line if init fails.
func Main(start func() error) {
	if err := start(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", "err", err)
		os.Exit(1)
	}
}
