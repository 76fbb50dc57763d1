package devstack

import (
	"strings"
	"testing"
)

// TestChatEditHistoryBounded edits one message of the longest text again
// and again: the history stops at its cap with a 422, never a 500 from an
// item over DynamoDB's 400 KB.
func TestChatEditHistoryBounded(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := a.member("staff")
	th := direct(a, b)
	long := strings.Repeat("😀", 4000) // 16,000 bytes
	m := str(a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": long}).Body, "id")
	edits := 0
	for i := range 30 {
		r := a.do("PATCH", "/v1/chat/threads/"+th+"/messages/"+m, map[string]any{"text": long[:len(long)-4*(i%2)]})
		if r.Status == 422 {
			break
		}
		if r.Status != 200 {
			t.Fatalf("edit %d = %d %s", i+1, r.Status, r.Raw)
		}
		edits++
	}
	if edits == 0 || edits == 30 {
		t.Fatalf("%d edits accepted, want a 422 before 30", edits)
	}
	// The message still reads, edits and all.
	a.must(200, "GET", "/v1/chat/threads/"+th+"/messages", nil)
}

// TestChatRemovedDuringSendGetsNoFrame removes a member while a GIF send
// is waiting on Giphy: the message fans out to the members as of its
// commit, so the removed member's socket never gets it.
func TestChatRemovedDuringSendGetsNoFrame(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b, c := a.member("staff"), a.member("staff")
	th := group(a, "In flight", b)
	probe := direct(c, b)
	wb := connect(t, b, "removed")
	arrived, release := giphyFake.Hold("gifinflight")
	defer release()
	sent := make(chan result, 1)
	go func() {
		sent <- a.do("POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"gif": map[string]any{"id": "gifinflight"}})
	}()
	<-arrived
	a.must(204, "DELETE", "/v1/chat/threads/"+th+"/members/"+b.userID, nil)
	release()
	if r := <-sent; r.Status != 201 {
		t.Fatalf("send = %d %s", r.Status, r.Raw)
	}
	wb.probe(c, probe)
}

// TestChatTypingRateLimited sends 20 typing frames at once: the partner
// gets one, the rest are dropped without an error frame.
func TestChatTypingRateLimited(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b, c := a.member("staff"), a.member("staff")
	th := direct(a, b)
	probe := direct(c, a)
	wa, wb := connect(t, a, "partner"), connect(t, b, "typist")
	for range 20 {
		wb.send(map[string]any{"action": "typing", "threadId": th})
	}
	// A socket's frames are handled in order: the answer to this one
	// comes after all twenty were.
	wb.send(map[string]any{"action": "shout", "threadId": th})
	if f := wb.next(); str(f, "type") != "error" {
		t.Fatalf("typist got %v, want only the answer to its bad frame", f)
	}
	c.must(201, "POST", "/v1/chat/threads/"+probe+"/messages", map[string]any{"text": "probe"})
	typing := 0
	for f := wa.next(); str(f, "message", "text") != "probe"; f = wa.next() {
		if str(f, "type") != "typing" {
			t.Fatalf("partner got %v", f)
		}
		typing++
	}
	if typing != 1 {
		t.Errorf("partner got %d typing frames for 20 sent in a burst, want 1", typing)
	}
}
