package devstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/chat"
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

// TestChatCallsPerTypingFrame: a typing frame is one Lambda run in AWS,
// sent every few seconds by every member typing, so its DynamoDB calls
// are counted like a request's (the typist's socket is traced, frames
// included). An accepted frame is one conditional update of the
// connection's item that also returns it, then one BatchGet of the thread
// and the typist's member item, then one BatchGet of the other members'
// connections and member items; a dropped frame (within TypingInterval)
// is the update alone. Neither grows with the thread's members.
func TestChatCallsPerTypingFrame(t *testing.T) {
	a := signup(t)
	others := []*account{a.member("staff"), a.member("staff"), a.member("staff"), a.member("staff")}
	dm := direct(a, others[0])
	grp := group(a, "Typing", others...)
	trace := fmt.Sprintf("typing-%d", time.Now().UnixNano())
	wa := connectWith(t, a, "typist", http.Header{TraceHeader: {trace}})
	var ws []*wsClient
	for i, o := range others {
		ws = append(ws, connect(t, o, fmt.Sprintf("member %d", i+1)))
	}
	stop := keepWire()
	defer stop()
	keysRead := 0 // items the last cost's BatchGets asked for
	// cost is the calls of what send makes the typist's socket do, once
	// done has seen its effect (frames are handled in order).
	cost := func(send, done func()) map[string]int {
		before, sent := calls.Of(result{trace: trace}), len(calls.wireOf(result{trace: trace}))
		send()
		done()
		after := calls.Of(result{trace: trace})
		keysRead = 0
		for _, c := range calls.wireOf(result{trace: trace})[sent:] {
			var in struct {
				RequestItems map[string]struct{ Keys []any }
			}
			if c.op == "BatchGetItem" && json.Unmarshal(c.req, &in) == nil {
				for _, tb := range in.RequestItems {
					keysRead += len(tb.Keys)
				}
			}
		}
		for op, n := range before {
			if after[op] -= n; after[op] == 0 {
				delete(after, op)
			}
		}
		return after
	}
	typing := func(th string) func() {
		return func() { wa.send(map[string]any{"action": "typing", "threadId": th}) }
	}
	shout := func() { wa.send(map[string]any{"action": "shout"}) }
	refused := func() {
		if f := wa.next(); str(f, "type") != "error" {
			t.Fatalf("typist got %v, want the answer to its bad frame", f)
		}
	}
	badFrame := cost(shout, refused)

	want := map[string]int{"UpdateItem": 1, "BatchGetItem": 2}
	inDirect := cost(typing(dm), func() { ws[0].expect("typing", dm) })
	t.Logf("calls of a typing frame (direct thread): %v, %d items read", inDirect, keysRead)
	if fmt.Sprint(inDirect) != fmt.Sprint(want) {
		t.Errorf("calls of a typing frame = %v, want %v", inDirect, want)
	}
	// The thread and the typist's member item; the partner's connections
	// and member item.
	if keysRead != 4 {
		t.Errorf("a typing frame read %d items, want 4", keysRead)
	}

	dropped := cost(func() { typing(dm)(); shout() }, refused)
	for op, n := range badFrame {
		if dropped[op] -= n; dropped[op] == 0 {
			delete(dropped, op)
		}
	}
	t.Logf("calls of a dropped typing frame: %v", dropped)
	if want := map[string]int{"UpdateItem": 1}; fmt.Sprint(dropped) != fmt.Sprint(want) {
		t.Errorf("calls of a dropped typing frame = %v, want %v", dropped, want)
	}

	clock.Advance(chat.TypingInterval + time.Second)
	inGroup := cost(typing(grp), func() {
		for _, w := range ws {
			w.expect("typing", grp) // and not the dropped frame first
		}
	})
	t.Logf("calls of a typing frame (5 members): %v, %d items read", inGroup, keysRead)
	if fmt.Sprint(inGroup) != fmt.Sprint(want) {
		t.Errorf("calls of a typing frame to 5 members = %v, want %v", inGroup, want)
	}
	if keysRead != 2+2*4 {
		t.Errorf("a typing frame to 5 members read %d items, want 10", keysRead)
	}
}
