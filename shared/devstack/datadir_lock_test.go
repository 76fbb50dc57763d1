package devstack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/localaws"
)

// TestDataDirLocked: a second stack on the running stack's data directory
// fails at once, naming the directory and the process holding it, and
// leaves the running stack's files alone.
func TestDataDirLocked(t *testing.T) {
	files := func() map[string]string {
		des, err := os.ReadDir(stack.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, de := range des {
			if fi, err := de.Info(); err == nil {
				m[de.Name()] = fmt.Sprint(fi.Size(), fi.ModTime())
			}
		}
		return m
	}
	before := files()
	second, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", DataDir: stack.dataDir})
	if err == nil {
		second.Close()
		t.Fatal("a second stack started on the same data directory")
	}
	if !errors.Is(err, localaws.ErrDirLocked) || !strings.Contains(err.Error(), stack.dataDir) ||
		!strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second start: %v, want the directory and pid %d named", err, os.Getpid())
	}
	if after := files(); !maps.Equal(before, after) {
		t.Errorf("the running stack's files changed: %v, then %v", before, after)
	}
	a := signup(t) // the first stack still serves
	a.must(200, "GET", "/v1/org", nil)
}
