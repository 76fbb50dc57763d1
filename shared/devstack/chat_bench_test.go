package devstack

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// chatGroup is a group of n members (the owner included), each connected
// with conns WebSockets.
type chatGroup struct {
	owner   *account
	members []*account
	sockets []*wsClient
	thread  string
}

func newChatGroup(tb testing.TB, n, conns int) chatGroup {
	g := chatGroup{owner: signup(tb)}
	for range n - 1 {
		g.members = append(g.members, g.owner.member("staff"))
	}
	g.thread = group(g.owner, "Everyone", g.members...)
	for i, m := range append([]*account{g.owner}, g.members...) {
		for k := range conns {
			g.sockets = append(g.sockets, connect(tb, m, fmt.Sprintf("member %d/%d", i, k)))
		}
	}
	return g
}

// BenchmarkChatFanout50: a message to a 50-member group with two
// connections each (100 sockets), from the POST to the last frame read by
// the last socket, through the dev stack (the chat function, the
// Management API stand-in, real WebSockets). Reports p50/p99 and the
// DynamoDB calls of one send.
func BenchmarkChatFanout50(b *testing.B) {
	g := newChatGroup(b, 50, 2)
	lat := make([]time.Duration, 0, b.N)
	var sendCalls map[string]int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r := g.owner.do("POST", "/v1/chat/threads/"+g.thread+"/messages", map[string]any{"text": fmt.Sprintf("message %d", i)})
		if r.Status != 201 {
			b.Fatalf("send = %d %s", r.Status, r.Raw)
		}
		var wg sync.WaitGroup
		for _, s := range g.sockets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.expect("message", g.thread)
			}()
		}
		wg.Wait()
		lat = append(lat, time.Since(t0))
		sendCalls = calls.Of(r)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	total := 0
	for _, n := range sendCalls {
		total += n
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(total), "dynamo-calls/send")
	b.Logf("calls of one send: %v", sendCalls)
}

// BenchmarkChatSendsOneThread: how many sends per second one thread
// sustains, with 8 members sending at once (each send takes the next
// message number, so concurrent sends to one thread retry).
func BenchmarkChatSendsOneThread(b *testing.B) {
	g := newChatGroup(b, 8, 0)
	senders := append([]*account{g.owner}, g.members...)
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for w, a := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += len(senders) {
				if r := a.do("POST", "/v1/chat/threads/"+g.thread+"/messages", map[string]any{"text": "load"}); r.Status != 201 {
					b.Errorf("send = %d %s", r.Status, r.Raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "sends/s")
}

// TestChatCallsPerRequest: a send's DynamoDB calls do not grow with the
// thread's history or its members' connections (one BatchGet for all of
// them); the thread list and a message page are one query each.
func TestChatCallsPerRequest(t *testing.T) {
	g := newChatGroup(t, 5, 2)
	send := func() map[string]int {
		r := g.owner.must(201, "POST", "/v1/chat/threads/"+g.thread+"/messages", map[string]any{"text": "count me"})
		for _, s := range g.sockets {
			s.expect("message", g.thread)
		}
		return calls.Of(r)
	}
	first := send()
	for range 30 {
		send()
	}
	later := send()
	if fmt.Sprint(first) != fmt.Sprint(later) {
		t.Errorf("a send's calls grew with the history: %v, then %v", first, later)
	}
	// The router's member read, the thread and the author's row (one
	// BatchGet), the message number (one UpdateItem), the transaction, the
	// connections (one BatchGet).
	if want := map[string]int{"GetItem": 1, "BatchGetItem": 2, "UpdateItem": 1, "TransactWriteItems": 1}; fmt.Sprint(later) != fmt.Sprint(want) {
		t.Errorf("calls of a send = %v, want %v", later, want)
	}
	list := g.owner.must(200, "GET", "/v1/chat/threads", nil)
	if c := calls.Of(list); c["Query"] != 1 {
		t.Errorf("thread list calls %v, want one query", c)
	}
	page := g.owner.must(200, "GET", "/v1/chat/threads/"+g.thread+"/messages?limit=20", nil)
	if c := calls.Of(page); c["Query"] != 1 || len(page.Body["items"].([]any)) != 20 {
		t.Errorf("message page calls %v, want one query", c)
	}
}

// TestChatConcurrentSends: members sending to one thread at once all
// land, each with its own place in the thread's count.
func TestChatConcurrentSends(t *testing.T) {
	t.Parallel()
	g := newChatGroup(t, 6, 0)
	senders := append([]*account{g.owner}, g.members...)
	var wg sync.WaitGroup
	for _, a := range senders {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := a.do("POST", "/v1/chat/threads/"+g.thread+"/messages", map[string]any{"text": "at once"}); r.Status != 201 {
					t.Errorf("send = %d %s", r.Status, r.Raw)
				}
			}()
		}
	}
	wg.Wait()
	page := g.owner.must(200, "GET", "/v1/chat/threads/"+g.thread+"/messages?limit=100", nil)
	if n := len(page.Body["items"].([]any)); n != 18 {
		t.Errorf("%d messages, want 18", n)
	}
	// Each took its own number.
	found := false
	for _, it := range g.owner.must(200, "GET", "/v1/compliance/chat/threads?limit=100", nil).Body["items"].([]any) {
		if th := it.(map[string]any); str(th, "id") == g.thread {
			found = true
			if num(th, "messageCount") != 18 {
				t.Errorf("message count %v, want 18", th["messageCount"])
			}
		}
	}
	if !found {
		t.Error("thread not in the compliance list")
	}
	// Concurrent reactions on one message: each member's lands.
	mid := str(page.Body["items"].([]any)[0].(map[string]any), "id")
	for _, a := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := a.do("POST", "/v1/chat/threads/"+g.thread+"/messages/"+mid+"/reactions", map[string]any{"emoji": "🎉"}); r.Status != 201 {
				t.Errorf("react = %d %s", r.Status, r.Raw)
			}
		}()
	}
	wg.Wait()
	msgs := g.owner.must(200, "GET", "/v1/chat/threads/"+g.thread+"/messages?limit=1", nil)
	if n := num(msgs.Body["items"].([]any)[0].(map[string]any)["reactions"].([]any)[0].(map[string]any), "count"); n != 6 {
		t.Errorf("reactions = %v, want 6", n)
	}
}
