package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/localaws"
)

// TestInvokeLocksDataDir: with no dev server, invoke opens the data
// folder's files itself, so it refuses a folder another process holds
// (a dev server starting up, another invoke) instead of interleaving
// their journals.
func TestInvokeLocksDataDir(t *testing.T) {
	dir := t.TempDir()
	held, err := localaws.LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	t.Setenv("DEV_DATA_DIR", dir)
	t.Setenv("DYNAMODB_ENDPOINT", "")
	t.Setenv("S3_ENDPOINT", "")
	args := os.Args
	defer func() { os.Args = args }()
	os.Args = []string{"invoke", "-fn", "accounts", "-event", "../../events/apigw-signup.json"}
	err = run()
	if !errors.Is(err, localaws.ErrDirLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("invoke on a locked data folder: %v", err)
	}
	if _, err := os.Stat(dir + "/dynamodb.json"); !os.IsNotExist(err) {
		t.Errorf("invoke wrote the snapshot of a locked folder: %v", err)
	}
}
