package main

import (
	"go/parser"
	"go/token"
	"testing"
)

// TestConcurrent: what puts a package under the race detector.
func TestConcurrent(t *testing.T) {
	tests := []struct {
		name, src string
		want      bool
	}{
		{"plain", `package p; func F() int { return 1 }`, false},
		{"go statement", `package p; func F() { go func() {}() }`, true},
		{"go call of a function", `package p; func g() {}; func F() { go g() }`, true},
		{"WaitGroup.Go", `package p; func F(wg interface{ Go(func()) }) { wg.Go(func() {}) }`, true},
		{"t.Parallel", `package p; import "testing"; func TestF(t *testing.T) { t.Parallel() }`, true},
		{"RunParallel", `package p; import "testing"; func BenchmarkF(b *testing.B) { b.RunParallel(nil) }`, true},
		{"sync", `package p; import "sync"; var mu sync.Mutex`, true},
		{"atomic", `package p; import "sync/atomic"; var n atomic.Int64`, true},
		{"synctest", `package p; import "testing/synctest"; var _ = synctest.Test`, true},
		{"errgroup", `package p; import "golang.org/x/sync/errgroup"; var _ errgroup.Group`, true},
		{"channel type alone", `package p; var c chan int`, false},
		{"go in a string", `package p; const s = "go func() {}()"`, false},
	}
	for _, tt := range tests {
		f, err := parser.ParseFile(token.NewFileSet(), "p.go", tt.src, 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := Concurrent(f); got != tt.want {
			t.Errorf("%s: Concurrent = %v, want %v", tt.name, got, tt.want)
		}
	}
}
