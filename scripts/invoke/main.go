// Command invoke runs one function's handler on a sample event and prints
// the response (make invoke FN=accounts EVENT=events/apigw-signup.json). It uses
// the dev data: the running dev server's DynamoDB when make dev is up,
// otherwise the snapshot under DEV_DATA_DIR, loaded and saved back.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/devstack"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/store"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Error("invoke failed", "err", err)
		os.Exit(1)
	}
}

func run() (err error) {
	fn := flag.String("fn", "", "function name (a directory under functions/)")
	eventPath := flag.String("event", "", "API Gateway HTTP API v2 event JSON file")
	flag.Parse()
	build, ok := devstack.Routers[*fn]
	if !ok {
		return fmt.Errorf("unknown function %q", *fn)
	}
	raw, err := os.ReadFile(*eventPath)
	if err != nil {
		return err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("event %s: %w", *eventPath, err)
	}

	dataDir := os.Getenv("DEV_DATA_DIR")
	if dataDir == "" {
		dataDir = ".dev"
	}
	// Opening the data folder's files directly takes its lock, as a dev
	// server does: a server started meanwhile would interleave journals.
	var lock *localaws.DirLock
	defer func() { _ = lock.Release() }() // after the stores below are saved
	lockDir := func() (err error) {
		if lock == nil {
			lock, err = localaws.LockDir(dataDir)
		}
		return err
	}
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		endpoint = devstack.RunningDynamo(dataDir)
	}
	if endpoint == "" {
		// No dev server: work on the snapshot directly and save it back.
		if err := lockDir(); err != nil {
			return err
		}
		dyn, startErr := localaws.StartDynamo(filepath.Join(dataDir, "dynamodb.json"))
		if startErr != nil {
			return startErr
		}
		// Saving the snapshot back can fail; that failure is the command's.
		defer func() { err = errors.Join(err, dyn.Close()) }()
		endpoint = dyn.Endpoint()
	}
	s3Endpoint := os.Getenv("S3_ENDPOINT")
	if s3Endpoint == "" {
		s3Endpoint = devstack.RunningS3(dataDir)
	}
	if s3Endpoint == "" {
		// The documents bucket, from the dev server's bolt file.
		if err := lockDir(); err != nil {
			return err
		}
		objects, startErr := localaws.StartS3(filepath.Join(dataDir, "s3.bolt"))
		if startErr != nil {
			return startErr
		}
		defer func() { err = errors.Join(err, objects.Close()) }()
		s3Endpoint = objects.Endpoint()
	}
	cfg, err := config.Load(func(name string) string {
		switch name {
		case "TABLE_NAME":
			return store.DefaultTableName
		case "DYNAMODB_ENDPOINT":
			return endpoint
		case "S3_ENDPOINT":
			return s3Endpoint
		case "BUCKET_NAME":
			return localaws.DefaultBucket
		case "DEV_DATA_DIR":
			return dataDir
		case "AWS_LAMBDA_FUNCTION_NAME":
			return *fn
		}
		return os.Getenv(name)
	})
	if err != nil {
		return err
	}
	deps, err := platform.New(context.Background(), cfg, platform.Options{LogOut: os.Stderr})
	if err != nil {
		return err
	}
	rt, err := build(deps)
	if err != nil {
		return err
	}
	resp, err := rt.Serve(context.Background(), ev)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Println(string(out))
	return nil
}
