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

// BenchmarkGetClient: reading one client (one strongly consistent GetItem).
func BenchmarkGetClient(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	measure(b, func() int { return a.do("GET", "/v1/clients/"+c, nil).Status }, 200)
}

// BenchmarkListMatters: a page of 25 matters out of 60 (one query).
func BenchmarkListMatters(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	for range 60 {
		a.newMatter(c)
	}
	measure(b, func() int { return a.do("GET", "/v1/matters?limit=25", nil).Status }, 200)
}

// BenchmarkCreateNote: a note on a client with its activity record and the
// author's membership check (one transaction).
func BenchmarkCreateNote(b *testing.B) {
	a := signup(b)
	c := a.newClient("Bench Client")
	body := map[string]any{"body": "Client called to confirm the hearing date."}
	measure(b, func() int { return a.do("POST", "/v1/clients/"+c+"/notes", body).Status }, 201)
}

// BenchmarkCreateMatterNote: a note on a matter, which first reads the
// matter for its client (one GetItem, one transaction).
func BenchmarkCreateMatterNote(b *testing.B) {
	a := signup(b)
	m := a.newMatter(a.newClient("Bench Client"))
	body := map[string]any{"body": "Filed the motion to compel."}
	measure(b, func() int { return a.do("POST", "/v1/matters/"+m+"/notes", body).Status }, 201)
}

// BenchmarkPasswordReset: a reset request for a member's address (a token
// write, an activity entry, an email) against one for an unknown address
// (neither); the handler's floor makes their times match (ASVS 6.3.8).
// Each request comes from a new source address, and the clock moves on by
// the address's refill interval, so no throttle changes the work.
func BenchmarkPasswordReset(b *testing.B) {
	a := signup(b)
	for name, email := range map[string]string{"known": a.email, "unknown": "nobody-bench@example.com"} {
		b.Run(name, func(b *testing.B) {
			measure(b, func() int {
				clock.Advance(20 * time.Minute)
				c := &client{t: b, ip: nextIP()}
				return c.do("POST", "/v1/auth/password-reset", map[string]any{"email": email}).Status
			}, 202)
		})
	}
}
