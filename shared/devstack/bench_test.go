package devstack

import (
	"sort"
	"testing"
	"time"
)

// measure runs op b.N times, reporting p50/p99 latency and DynamoDB calls
// per request alongside Go's ns/op.
func measure(b *testing.B, op func() int, want int) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	startCalls := calls.total.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if got := op(); got != want {
			b.Fatalf("status %d, want %d", got, want)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(calls.total.Load()-startCalls)/float64(b.N), "dynamo-calls/op")
}

// BenchmarkLogin: a password login (argon2id at OWASP cost dominates).
func BenchmarkLogin(b *testing.B) {
	a := signup(b)
	c := &client{t: b}
	body := map[string]any{"login": a.username, "password": a.password}
	measure(b, func() int { return c.do("POST", "/v1/auth/login", body).Status }, 200)
}

// BenchmarkMe: an authenticated read of the caller and their org.
func BenchmarkMe(b *testing.B) {
	a := signup(b)
	measure(b, func() int { return a.do("GET", "/v1/me", nil).Status }, 200)
}

// BenchmarkListUsers: an authenticated page of 25 members.
func BenchmarkListUsers(b *testing.B) {
	a := signup(b)
	for i := 0; i < 30; i++ {
		a.member("staff")
	}
	measure(b, func() int { return a.do("GET", "/v1/users?limit=25", nil).Status }, 200)
}

// BenchmarkRefresh: rotating a refresh token.
func BenchmarkRefresh(b *testing.B) {
	a := signup(b)
	measure(b, func() int { return a.do("POST", "/v1/auth/refresh", nil).Status }, 200)
}
