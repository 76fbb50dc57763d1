package devstack

import (
	"net/url"
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

// TestChatGIFLookup: a GIF message's id goes to Giphy as exactly
// GET /v1/gifs/{id}?api_key=… and nothing else; "random" (which Giphy
// answers with some GIF) and other non-ids are 422 before anything reaches
// Giphy; a GIF Giphy rates above pg-13 is a 422 naming its rating, and no
// message. Sequential: it reads the Giphy fake's log.
func TestChatGIFLookup(t *testing.T) {
	a := signup(t)
	b := a.member("staff")
	th := direct(a, b)
	path := "/v1/chat/threads/" + th + "/messages"
	send := func(id string) result {
		return a.do("POST", path, map[string]any{"gif": map[string]any{"id": id}})
	}
	lookup := func(id string) {
		t.Helper()
		want := url.URL{Path: "/v1/gifs/" + id, RawQuery: "api_key=" + giphyKey}
		if got := giphyFake.Requests(); len(got) == 0 || got[len(got)-1] != want {
			t.Errorf("Giphy's last request = %v, want exactly %s", got[max(len(got)-1, 0):], want.String())
		}
	}

	before := len(giphyFake.Requests())
	m := a.must(201, "POST", path, map[string]any{"gif": map[string]any{"id": "gifwire01"}})
	if str(m.Body, "gif", "id") != "gifwire01" || strings.Contains(m.Raw, "rating") {
		t.Errorf("gif message = %s", m.Raw)
	}
	if n := len(giphyFake.Requests()) - before; n != 1 {
		t.Errorf("one GIF message made %d Giphy requests, want 1", n)
	}
	lookup("gifwire01")

	before = len(giphyFake.Requests())
	for _, id := range []string{"random", "Random", "trending", "translate", "categories", "search", "gif01", "gif-wire-01", "gifwire01?rating=r", strings.Repeat("gif", 14)} {
		r := send(id)
		if r.Status != 422 || !strings.Contains(r.Raw, `"gif.id"`) {
			t.Errorf("gif %q = %d %s, want 422 on gif.id", id, r.Status, r.Raw)
		}
	}
	if got := giphyFake.Requests()[before:]; len(got) != 0 {
		t.Errorf("non-ids reached Giphy: %v", got)
	}

	giphyFake.SetRating("gifspicy01", "r")
	r := send("gifspicy01")
	if r.Status != 422 || !strings.Contains(str(r.Body, "detail"), `rated "r"`) || !strings.Contains(r.Raw, `"gif.id"`) {
		t.Errorf("gif rated r = %d %s, want 422 saying it is rated r", r.Status, r.Raw)
	}
	lookup("gifspicy01")
	for _, rating := range []string{"g", "pg", "pg-13"} {
		id := "gifmild" + strings.ReplaceAll(rating, "-", "")
		giphyFake.SetRating(id, rating)
		a.must(201, "POST", path, map[string]any{"gif": map[string]any{"id": id}})
		lookup(id)
	}
	if n := len(chatIDs(a.must(200, "GET", path, nil))); n != 4 {
		t.Errorf("%d messages, want 4 (the r-rated GIF is none)", n)
	}
}
