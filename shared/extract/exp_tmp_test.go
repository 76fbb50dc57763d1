package extract

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExpTmp(t *testing.T) {
	t0 := time.Now()
	if err := Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("warm %v", time.Since(t0))
	for _, name := range []string{"contract", "long", "notice", "scanned", "locked"} {
		b, _ := os.ReadFile("testdata/" + name + ".pdf")
		t0 := time.Now()
		d, err := Extract(context.Background(), "application/pdf", bytes.NewReader(b), int64(len(b)))
		t.Logf("%s: %v pages=%d words=%d err=%v", name, time.Since(t0), len(d.Pages), d.Words(), err)
		if name == "contract" || name == "notice" {
			for i, p := range d.Pages {
				t.Logf("--- page %d\n%q", i+1, p)
			}
		}
		_ = strings.Fields
	}
}
