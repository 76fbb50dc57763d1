package devstack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/matterly/matterly/shared/providers/giphy/giphytest"
	"github.com/matterly/matterly/shared/wire/chatwire"
)

// giphyKey is the tests' Giphy API key.
const giphyKey = "giphy_test_matterly_key"

// giphyFake stands in for Giphy (see giphytest): Giphy's wire format, the
// key checked, every request logged.
var giphyFake = giphytest.New(giphyKey)

// wsClient is one browser tab's chat WebSocket.
type wsClient struct {
	t      testing.TB
	name   string
	conn   *websocket.Conn
	frames chan map[string]any
}

// wsURL is the dev server's WebSocket address with a ticket.
func wsURL(ticket string) string {
	return "ws" + strings.TrimPrefix(stack.URL, "http") + "/v1/chat/ws?ticket=" + url.QueryEscape(ticket)
}

// ticket gets a WebSocket ticket for a.
func ticket(a *account) string {
	a.t.Helper()
	r := a.must(201, "POST", "/v1/chat/tickets", nil)
	if str(r.Body, "ticket") == "" || str(r.Body, "expiresAt") == "" {
		a.t.Fatalf("ticket = %s", r.Raw)
	}
	return str(r.Body, "ticket")
}

// connect opens a's WebSocket with a fresh ticket; frames are read into a
// channel until the test ends.
func connect(t testing.TB, a *account, name string) *wsClient {
	t.Helper()
	return connectWith(t, a, name, nil)
}

// connectWith opens a's WebSocket with the handshake's extra headers
// (TraceHeader: calls.Of counts the DynamoDB calls of every event of the
// socket, frames included).
func connectWith(t testing.TB, a *account, name string, header http.Header) *wsClient {
	t.Helper()
	c, resp, err := websocket.Dial(context.Background(), wsURL(ticket(a)), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: dial: %v (%d)", name, err, status)
	}
	ws := &wsClient{t: t, name: name, conn: c, frames: make(chan map[string]any, 256)}
	go func() {
		defer close(ws.frames)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil {
				ws.frames <- f
			}
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return ws
}

// next is the next frame (failing after 10 s: a frame that never comes).
func (w *wsClient) next() map[string]any {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("%s: socket closed", w.name)
		}
		return f
	case <-time.After(10 * time.Second):
		w.t.Fatalf("%s: no frame", w.name)
	}
	return nil
}

// expect asserts the next frame's type and thread.
func (w *wsClient) expect(typ, threadID string) map[string]any {
	w.t.Helper()
	f := w.next()
	if str(f, "type") != typ || str(f, "threadId") != threadID {
		w.t.Fatalf("%s: frame %v, want %s of thread %s", w.name, f, typ, threadID)
	}
	return f
}

// send writes a client frame.
func (w *wsClient) send(frame map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(frame)
	if err := w.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

// probe proves w received nothing since its last frame: fan-out is
// done before a request answers, so when a probe message sent by partner
// in their own thread arrives next, nothing else was delivered first.
func (w *wsClient) probe(partner *account, threadID string) {
	w.t.Helper()
	partner.must(201, "POST", "/v1/chat/threads/"+threadID+"/messages", map[string]any{"text": "probe"})
	f := w.expect("message", threadID)
	if str(f, "message", "text") != "probe" {
		w.t.Fatalf("%s: frame %v, want the probe", w.name, f)
	}
}

// chatIDs lists the ids of a JSON list's items.
func chatIDs(r result) []string {
	var out []string
	items, _ := r.Body["items"].([]any)
	for _, it := range items {
		out = append(out, str(it.(map[string]any), "id"))
	}
	return out
}

func group(a *account, name string, members ...*account) string {
	a.t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.userID)
	}
	return str(a.must(201, "POST", "/v1/chat/threads", map[string]any{"kind": "group", "name": name, "memberIds": ids}).Body, "id")
}

func direct(a, other *account) string {
	a.t.Helper()
	return str(a.must(201, "POST", "/v1/chat/threads", map[string]any{"kind": "direct", "memberIds": []string{other.userID}}).Body, "id")
}

// TestChatRealTime is the WebSocket flow: two members and an
// outsider connected; a message, typing, a read and a reaction reach
// exactly the thread's members; a removed member stops receiving; a muted
// member's frames say so.
func TestChatRealTime(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b, c, d := a.member("attorney"), a.member("staff"), a.member("staff")
	o := signup(t)
	o2 := o.member("staff")
	// Probe threads, made before anyone connects (so they send no frames).
	probeC := direct(d, c)
	probeO := direct(o2, o)

	wa, wb, wc, wo := connect(t, a, "owner"), connect(t, b, "member"), connect(t, c, "member to remove"), connect(t, o, "outsider")
	th := group(a, "Case team", b, c)
	for _, w := range []*wsClient{wa, wb, wc} {
		f := w.expect("member.added", th)
		if str(f, "thread", "name") != "Case team" {
			t.Errorf("%s: member.added %v", w.name, f)
		}
	}

	msg := a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "Hearing moved to 10:00 👩‍⚖️ — שלום"})
	mid := str(msg.Body, "id")
	for _, w := range []*wsClient{wa, wb, wc} {
		f := w.expect("message", th)
		if str(f, "message", "id") != mid || str(f, "message", "text") != "Hearing moved to 10:00 👩‍⚖️ — שלום" || f["muted"] != nil {
			t.Errorf("%s: message frame %v", w.name, f)
		}
	}

	wb.send(map[string]any{"action": "typing", "threadId": th})
	for _, w := range []*wsClient{wa, wc} {
		if f := w.expect("typing", th); str(f, "userId") != b.userID {
			t.Errorf("%s: typing %v", w.name, f)
		}
	}

	wc.send(map[string]any{"action": "read", "threadId": th, "messageId": mid})
	for _, w := range []*wsClient{wa, wb, wc} {
		if f := w.expect("read", th); str(f, "userId") != c.userID || str(f, "messageId") != mid {
			t.Errorf("%s: read %v", w.name, f)
		}
	}
	if r := c.must(200, "GET", "/v1/chat/threads/"+th, nil); num(r.Body, "unreadCount") != 0 {
		t.Errorf("after the read: %s", r.Raw)
	}
	if r := b.must(200, "GET", "/v1/chat/threads/"+th, nil); num(r.Body, "unreadCount") != 1 {
		t.Errorf("b has not read: %s", r.Raw)
	}

	b.must(201, "POST", "/v1/chat/threads/"+th+"/messages/"+mid+"/reactions", map[string]any{"emoji": "👍🏽"})
	for _, w := range []*wsClient{wa, wb, wc} {
		f := w.expect("reaction", th)
		rs, _ := f["reactions"].([]any)
		if str(f, "messageId") != mid || len(rs) != 1 || str(rs[0].(map[string]any), "emoji") != "👍🏽" {
			t.Errorf("%s: reaction %v", w.name, f)
		}
	}
	// The same reaction again is a no-op: 200, no frame (the next frames
	// below are the removal's).
	b.must(200, "POST", "/v1/chat/threads/"+th+"/messages/"+mid+"/reactions", map[string]any{"emoji": "👍🏽"})

	a.must(204, "DELETE", "/v1/chat/threads/"+th+"/members/"+c.userID, nil)
	for _, w := range []*wsClient{wa, wb} {
		if f := w.expect("member.removed", th); str(f, "userId") != c.userID {
			t.Errorf("%s: member.removed %v", w.name, f)
		}
	}
	b.must(200, "PUT", "/v1/chat/threads/"+th+"/mute", map[string]any{"muted": true})
	a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "After the removal"})
	if f := wa.expect("message", th); f["muted"] != nil {
		t.Errorf("owner's frame says muted: %v", f)
	}
	if f := wb.expect("message", th); f["muted"] != true {
		t.Errorf("the muted member's frame does not say muted: %v", f)
	}
	// The removed member and the outsider received none of it.
	wc.probe(d, probeC)
	wo.probe(o2, probeO)
	c.must(404, "GET", "/v1/chat/threads/"+th, nil)
	c.must(404, "GET", "/v1/chat/threads/"+th+"/messages", nil)
	o.must(404, "GET", "/v1/chat/threads/"+th, nil)
	if ids := chatIDs(c.must(200, "GET", "/v1/chat/threads", nil)); slices.Contains(ids, th) {
		t.Errorf("the removed member still lists the group: %v", ids)
	}
	// A frame about another org's thread is refused and reaches no one.
	wo.send(map[string]any{"action": "typing", "threadId": th})
	if f := wo.next(); str(f, "type") != "error" || num(f, "problem", "status") != 404 {
		t.Errorf("outsider's typing = %v", f)
	}
	wa.send(map[string]any{"action": "shout", "threadId": th})
	if f := wa.next(); str(f, "type") != "error" || num(f, "problem", "status") != 422 {
		t.Errorf("unknown action = %v", f)
	}
}

// TestChatTickets: a connect needs a fresh ticket of an active member:
// none, a forged, a used or an expired one is refused at the handshake.
func TestChatTickets(t *testing.T) {
	a := signup(t)
	dial := func(tk string) int {
		c, resp, err := websocket.Dial(context.Background(), wsURL(tk), nil)
		if err == nil {
			c.CloseNow()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}
	good := ticket(a)
	forged := good[:len(good)-4] + "AAAA"
	for _, tc := range []struct {
		name, ticket string
		want         int
	}{
		{"none", "", 401},
		{"garbage", "garbage", 401},
		{"forged", forged, 401},
		{"another user's id", a.orgID + "." + strings.Repeat("0", 26) + good[strings.LastIndex(good, "."):], 401},
		{"good", good, 101},
		{"reused", good, 401},
	} {
		if got := dial(tc.ticket); got != tc.want {
			t.Errorf("%s: handshake %d, want %d", tc.name, got, tc.want)
		}
	}
	late := ticket(a)
	clock.Advance(61 * time.Second)
	if got := dial(late); got != 401 {
		t.Errorf("expired ticket: handshake %d, want 401", got)
	}
	removed := a.member("staff")
	tk := ticket(removed)
	a.must(204, "DELETE", "/v1/users/"+removed.userID, nil)
	if got := dial(tk); got != 403 {
		t.Errorf("removed member's ticket: handshake %d, want 403", got)
	}
}

// TestChatThreadsAndCompliance: direct threads are one per pair; a
// deleted message shows deleted to members and whole to compliance with
// its edit history; hiding a direct thread and getting it back; only
// owners and admins read the log, and each read is recorded.
func TestChatThreadsAndCompliance(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b, c := a.member("staff"), a.member("attorney")
	th := direct(b, c)
	if r := c.must(200, "POST", "/v1/chat/threads", map[string]any{"kind": "direct", "memberIds": []string{b.userID}}); str(r.Body, "id") != th {
		t.Errorf("second direct create = %s, want thread %s", r.Raw, th)
	}
	m := str(b.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "first draft"}).Body, "id")
	edited := b.must(200, "PATCH", "/v1/chat/threads/"+th+"/messages/"+m, map[string]any{"text": "second draft"})
	if str(edited.Body, "editedAt") == "" || edited.Body["versions"] != nil {
		t.Errorf("edited = %s", edited.Raw)
	}
	c.must(403, "PATCH", "/v1/chat/threads/"+th+"/messages/"+m, map[string]any{"text": "not mine"})
	b.must(204, "DELETE", "/v1/chat/threads/"+th+"/messages/"+m, nil)
	page := c.must(200, "GET", "/v1/chat/threads/"+th+"/messages", nil)
	if strings.Contains(page.Raw, "draft") || !strings.Contains(page.Raw, `"deleted":true`) {
		t.Errorf("a member sees the deleted message: %s", page.Raw)
	}
	if r := c.must(200, "GET", "/v1/chat/threads", nil); strings.Contains(r.Raw, "draft") {
		t.Errorf("the list's preview shows the deleted text: %s", r.Raw)
	}

	// Hide, then the other member writes: back, with only what followed.
	c.must(204, "POST", "/v1/chat/threads/"+th+"/leave", nil)
	if ids := chatIDs(c.must(200, "GET", "/v1/chat/threads", nil)); slices.Contains(ids, th) {
		t.Errorf("hidden thread still listed: %v", ids)
	}
	if ids := chatIDs(b.must(200, "GET", "/v1/chat/threads", nil)); !slices.Contains(ids, th) {
		t.Errorf("the other member lost the thread: %v", ids)
	}
	later := str(b.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "are you there?"}).Body, "id")
	if ids := chatIDs(c.must(200, "GET", "/v1/chat/threads", nil)); !slices.Contains(ids, th) {
		t.Errorf("the thread did not come back: %v", ids)
	}
	if ids := chatIDs(c.must(200, "GET", "/v1/chat/threads/"+th+"/messages", nil)); !slices.Equal(ids, []string{later}) {
		t.Errorf("after the hide c sees %v, want only %s", ids, later)
	}
	if ids := chatIDs(b.must(200, "GET", "/v1/chat/threads/"+th+"/messages", nil)); !slices.Equal(ids, []string{later, m}) {
		t.Errorf("b sees %v, want both", ids)
	}

	// Compliance: owners and admins only, every read recorded.
	b.must(403, "GET", "/v1/compliance/chat/threads", nil)
	c.must(403, "GET", "/v1/compliance/chat/threads/"+th+"/messages", nil)
	if ids := chatIDs(a.must(200, "GET", "/v1/compliance/chat/threads", nil)); !slices.Contains(ids, th) {
		t.Errorf("compliance list %v lacks %s", ids, th)
	}
	log := a.must(200, "GET", "/v1/compliance/chat/threads/"+th+"/messages", nil)
	var body struct {
		Items []struct {
			ID       string `json:"id"`
			Text     string `json:"text"`
			Deleted  bool   `json:"deleted"`
			Versions []struct {
				Text string `json:"text"`
			} `json:"versions"`
		} `json:"items"`
	}
	_ = json.Unmarshal([]byte(log.Raw), &body)
	if len(body.Items) != 2 || body.Items[1].ID != m || !body.Items[1].Deleted || body.Items[1].Text != "second draft" ||
		len(body.Items[1].Versions) != 1 || body.Items[1].Versions[0].Text != "first draft" {
		t.Errorf("compliance log = %s", log.Raw)
	}
	act := a.must(200, "GET", "/v1/activity", nil)
	if !strings.Contains(act.Raw, `"action":"chat.compliance.messages.read"`) || !strings.Contains(act.Raw, `"entityId":"`+th+`"`) ||
		!strings.Contains(act.Raw, `"action":"chat.compliance.threads.read"`) {
		t.Errorf("compliance reads not in the activity log: %s", act.Raw)
	}

	// Validation.
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"kind": "direct", "memberIds": []string{}}, "memberIds"},
		{map[string]any{"kind": "group", "memberIds": []string{c.userID}}, "name"},
		{map[string]any{"kind": "group", "name": strings.Repeat("n", 101), "memberIds": []string{c.userID}}, "name"},
		{map[string]any{"kind": "group", "name": "Solo", "memberIds": []string{}}, "memberIds"},
		{map[string]any{"kind": "channel", "memberIds": []string{c.userID}}, "kind"},
		{map[string]any{"kind": "group", "name": "Strangers", "memberIds": []string{"01J00000000000000000000000"}}, "memberIds"},
	} {
		r := b.do("POST", "/v1/chat/threads", tc.body)
		if r.Status != 422 || !strings.Contains(r.Raw, `"field":"`+tc.field) {
			t.Errorf("create %v = %d %s, want 422 on %s", tc.body, r.Status, r.Raw, tc.field)
		}
	}
	for _, tc := range []struct {
		body   any
		status int
	}{
		{map[string]any{"text": "a\u0000b"}, 422},
		{map[string]any{"text": strings.Repeat("x", 4001)}, 422},
		{map[string]any{"text": "   "}, 422},
		{map[string]any{}, 422},
		// Text that is not UTF-8, raw or as a lone surrogate: 422, as NUL.
		{`{"text": "\ud800"}`, 422},
		{"{\"text\": \"a\xffb\"}", 422},
		{map[string]any{"text": strings.Repeat("ß", 4000)}, 201},
	} {
		if r := b.do("POST", "/v1/chat/threads/"+th+"/messages", tc.body); r.Status != tc.status {
			t.Errorf("send %.40v = %d %s, want %d", tc.body, r.Status, r.Raw, tc.status)
		}
	}
	for _, emoji := range []string{"ab", "👍👍", ""} {
		if r := b.do("POST", "/v1/chat/threads/"+th+"/messages/"+later+"/reactions", map[string]any{"emoji": emoji}); r.Status != 422 {
			t.Errorf("reaction %q = %d", emoji, r.Status)
		}
	}
	// A read receipt never moves back; a message before c's hide is not
	// c's to read.
	c.must(404, "POST", "/v1/chat/threads/"+th+"/read", map[string]any{"messageId": m})
	b.must(200, "POST", "/v1/chat/threads/"+th+"/read", map[string]any{"messageId": later})
	if r := b.must(200, "POST", "/v1/chat/threads/"+th+"/read", map[string]any{"messageId": m}); str(r.Body, "lastReadMessageId") < later {
		t.Errorf("read moved back: %s", r.Raw)
	}
}

// TestChatGIFs: the search goes to Giphy with the key, pg-13 and the
// limit, once a minute for the same query; a GIF message is what Giphy
// says the id is; Giphy down is 503 with Retry-After.
func TestChatGIFs(t *testing.T) {
	a := signup(t)
	b := a.member("staff")
	th := direct(a, b)
	before := len(giphyFake.Requests())
	r := a.must(200, "GET", "/v1/chat/gifs?q=happy+cat&limit=2", nil)
	if ids := chatIDs(r); len(ids) != 2 || strings.Contains(r.Raw, giphyKey) {
		t.Errorf("search = %s", r.Raw)
	}
	b.must(200, "GET", "/v1/chat/gifs?q=happy+cat&limit=2", nil) // cached
	reqs := giphyFake.Requests()[before:]
	if len(reqs) != 1 {
		t.Fatalf("Giphy got %d searches, want 1 (the second from the cache)", len(reqs))
	}
	q := reqs[0].Query()
	if reqs[0].Path != "/v1/gifs/search" || q.Get("api_key") != giphyKey || q.Get("q") != "happy cat" || q.Get("limit") != "2" || q.Get("rating") != "pg-13" {
		t.Errorf("search request = %s", reqs[0].String())
	}
	m := a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"gif": map[string]any{"id": "gifparty"}})
	if str(m.Body, "gif", "url") != "https://media.giphy.example/media/gifparty/giphy.gif" || num(m.Body, "gif", "width") != 480 {
		t.Errorf("gif message = %s", m.Raw)
	}
	if r := a.do("POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"gif": map[string]any{"id": "unknown1"}}); r.Status != 422 {
		t.Errorf("unknown gif = %d %s", r.Status, r.Raw)
	}
	a.must(422, "GET", "/v1/chat/gifs?q=", nil)
	a.must(422, "GET", "/v1/chat/gifs?q=x&limit=51", nil)
	giphyFake.SetDown(true)
	defer giphyFake.SetDown(false)
	r = a.do("GET", "/v1/chat/gifs?q=sad+cat", nil)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("Giphy down = %d %s (Retry-After %q)", r.Status, r.Raw, r.Header.Get("Retry-After"))
	}
}

// TestChatAttachments: a file uploaded to the presigned URL, sent in a
// message, downloadable by the thread's members only.
func TestChatAttachments(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b, c := a.member("staff"), a.member("staff")
	th := direct(a, b)
	pdf := samplePDF("chat attachment")
	r := a.must(201, "POST", "/v1/chat/threads/"+th+"/attachments", map[string]any{"fileName": "brief.pdf", "contentType": "application/pdf", "size": len(pdf)})
	var body struct {
		Attachment struct {
			ID string `json:"id"`
		} `json:"attachment"`
		Upload struct {
			URL     string            `json:"url"`
			Method  string            `json:"method"`
			Headers map[string]string `json:"headers"`
		} `json:"upload"`
	}
	_ = json.Unmarshal([]byte(r.Raw), &body)
	if body.Upload.Headers["X-Amz-Server-Side-Encryption"] != "aws:kms" {
		t.Errorf("upload not SSE-KMS: %s", r.Raw)
	}
	id := body.Attachment.ID
	// Not uploaded yet: refused.
	a.must(409, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"attachmentId": id})
	up := upload{url: body.Upload.URL, method: body.Upload.Method, headers: body.Upload.Headers}
	if st := up.send(t, pdf); st != 200 {
		t.Fatalf("upload = %d", st)
	}
	b.must(422, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"attachmentId": id}) // not b's
	m := a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "the brief", "attachmentId": id})
	a.must(409, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"attachmentId": id}) // once
	page := b.must(200, "GET", "/v1/chat/threads/"+th+"/messages", nil)
	items := page.Body["items"].([]any)
	dl := str(items[0].(map[string]any), "attachment", "downloadUrl")
	if str(m.Body, "attachment", "id") != id || dl == "" {
		t.Fatalf("attachment message = %s", page.Raw)
	}
	resp, got := fetch(t, dl)
	if resp.StatusCode != 200 || string(got) != string(pdf) {
		t.Errorf("download = %d, %d bytes", resp.StatusCode, len(got))
	}
	c.must(404, "GET", "/v1/chat/threads/"+th+"/messages", nil)
	c.must(404, "POST", "/v1/chat/threads/"+th+"/attachments", map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": 10})
	a.must(422, "POST", "/v1/chat/threads/"+th+"/attachments", map[string]any{"fileName": "x.exe", "contentType": "application/x-msdownload", "size": 10})
}

// TestChatExportAndErase: an org's chat is listed whole for the privacy
// export (edit history, deleted messages and attachments included) and
// erased whole (every item and file).
func TestChatExportAndErase(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := a.member("staff")
	th := group(a, "Export", b)
	m := str(a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "v1"}).Body, "id")
	a.must(200, "PATCH", "/v1/chat/threads/"+th+"/messages/"+m, map[string]any{"text": "v2"})
	b.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "gone soon"})
	pdf := samplePDF("export me")
	r := a.must(201, "POST", "/v1/chat/threads/"+th+"/attachments", map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": len(pdf)})
	var up struct {
		Upload struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		} `json:"upload"`
	}
	_ = json.Unmarshal([]byte(r.Raw), &up)
	if st := (upload{url: up.Upload.URL, method: "PUT", headers: up.Upload.Headers}).send(t, pdf); st != 200 {
		t.Fatalf("upload = %d", st)
	}
	svc := chatwire.Chat(stack.Deps)
	data, err := svc.ExportOrg(context.Background(), a.orgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(data.Threads) != 1 || data.Threads[0].ID != th || len(data.Messages) != 2 || len(data.Attachments) != 1 {
		t.Fatalf("export = %+v", data)
	}
	for _, msg := range data.Messages {
		if msg.ID == m && (msg.Text != "v2" || len(msg.Versions) != 1 || msg.Versions[0].Text != "v1") {
			t.Errorf("exported message %+v", msg)
		}
	}
	if err := svc.DeleteOrg(context.Background(), a.orgID); err != nil {
		t.Fatal(err)
	}
	if n := countItems(t, a.orgID, "CHAT#"); n != 0 {
		t.Errorf("%d chat items left", n)
	}
	if left := objectsUnder(t, "chat/"+a.orgID+"/"); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
	if ids := chatIDs(b.must(200, "GET", "/v1/chat/threads", nil)); len(ids) != 0 {
		t.Errorf("threads after erasure: %v", ids)
	}
}

// TestChatOrgRemovalStopsFrames: a member removed from the org while a
// socket is open gets no more frames of the threads they were in.
func TestChatOrgRemovalStopsFrames(t *testing.T) {
	t.Parallel()
	a := signup(t)
	b := a.member("staff")
	th := group(a, "Before and after", b)
	wb := connect(t, b, "member")
	a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "before"})
	wb.expect("message", th)
	a.must(204, "DELETE", "/v1/users/"+b.userID, nil)
	a.must(201, "POST", "/v1/chat/threads/"+th+"/messages", map[string]any{"text": "after"})
	// The socket's next frame is the answer to a frame of its own: the
	// message (fanned out before the POST answered) never came.
	wb.send(map[string]any{"action": "shout", "threadId": th})
	if f := wb.next(); str(f, "type") != "error" {
		t.Errorf("a member removed from the org got %v", f)
	}
}
