package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/matterly/matterly/shared/docx"
)

// openAIKey is the key the stack sends to the OpenAI-compatible server.
const openAIKey = "sk-test-matterly"

// fakeOpenAI speaks OpenAI's chat completions (JSON schema) and speech
// wire format. It records every request body, cites the pages marked in a
// summary's input, and can be told to fail.
type fakeOpenAI struct {
	mu       sync.Mutex
	bodies   []string
	speeches int
	failing  bool
}

var openAIFake = &fakeOpenAI{}

var pageMarker = regexp.MustCompile(`\[Page (\d+)\]`)

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(body))
	failing := f.failing
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+openAIKey {
		http.Error(w, `{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
		return
	}
	if failing {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, `{"error":{"message":"upstream","type":"server_error"}}`)
		return
	}
	switch r.URL.Path {
	case "/v1/chat/completions":
		var req struct {
			Messages []struct{ Role, Content string }
		}
		_ = json.Unmarshal(body, &req)
		input := req.Messages[len(req.Messages)-1].Content
		var pages []int
		for _, m := range pageMarker.FindAllStringSubmatch(input, -1) {
			n, _ := strconv.Atoi(m[1])
			pages = append(pages, n)
		}
		if len(pages) == 0 { // a reduce over partial summaries, or a draft
			pages = []int{1, 2}
		}
		obj, _ := json.Marshal(map[string]any{"title": "Lease dispute engagement", "summary": "The firm will represent the client.",
			"keyPoints": []map[string]any{{"text": "Scope of the representation", "pages": []int{pages[0]}},
				{"text": "Fees and retainer", "pages": []int{pages[len(pages)-1], 999}}, {"text": "No source", "pages": []int{}}}})
		content, _ := json.Marshal(string(obj))
		if !strings.Contains(string(body), "json_schema") {
			content, _ = json.Marshal("Dear client,\n\nThis is the draft letter.\n\nSincerely,\n[ATTORNEY]")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"test-model","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, content)
	case "/v1/audio/speech":
		f.mu.Lock()
		f.speeches++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "audio/mpeg")
		for i := range 3 {
			fmt.Fprintf(w, "ID3-chunk-%d;", i)
			w.(http.Flusher).Flush()
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOpenAI) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

func (f *fakeOpenAI) fail(on bool) {
	f.mu.Lock()
	f.failing = on
	f.mu.Unlock()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../extract/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func creditsOf(t testing.TB, a *account) (balance, month float64, usage []any) {
	t.Helper()
	r := a.must(200, "GET", "/v1/billing/credits", nil)
	usage, _ = r.Body["usage"].([]any)
	return r.Body["balance"].(float64), r.Body["monthToDate"].(float64), usage
}

// TestSummaryFlow is the "done when": a PDF summarized through an
// OpenAI-compatible server, seen in the matter's summaries with page
// citations, read aloud (streamed), and the credits dashboard showing the
// summary's credit and one for the first playback only. Only the
// document's text reaches the provider.
func TestSummaryFlow(t *testing.T) {
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 10, "reason": "trial"})
	client := str(a.must(201, "POST", "/v1/clients", map[string]any{"name": "Quentin Secretclient", "kind": "person"}).Body, "id")
	matter := a.newMatter(client, "title", "Secret Matter Title")
	doc := readyDocument(t, a, matter, "privileged-file-name.pdf", fixture(t, "contract.pdf")).docID
	before := len(openAIFake.sent())

	r := a.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil)
	id := str(r.Body, "id")
	if str(r.Body, "status") != "ready" || str(r.Body, "title") == "" || r.Body["credits"] != float64(1) {
		t.Fatalf("summary %s", r.Raw)
	}
	points, _ := r.Body["keyPoints"].([]any)
	if len(points) != 2 {
		t.Fatalf("key points %v (the one without a real page must be dropped)", points)
	}
	for _, p := range points {
		pages := p.(map[string]any)["pages"].([]any)
		for _, pg := range pages {
			if n := pg.(float64); n < 1 || n > 4 {
				t.Errorf("key point cites page %v of a 4-page document", n)
			}
		}
	}

	sent := openAIFake.sent()[before:]
	if len(sent) != 1 {
		t.Fatalf("%d provider calls, want 1", len(sent))
	}
	for _, secret := range []string{"privileged-file-name", "Quentin", "Secretclient", "Secret Matter Title", matter, client, doc, a.orgID} {
		if strings.Contains(sent[0], secret) {
			t.Errorf("the provider was sent %q", secret)
		}
	}
	var req map[string]any
	_ = json.Unmarshal([]byte(sent[0]), &req)
	if req["store"] != false || !strings.Contains(sent[0], "[Page 1]") || !strings.Contains(sent[0], "[Page 4]") || !strings.Contains(sent[0], "Harbor") {
		t.Errorf("request: store=%v, body %.300s", req["store"], sent[0])
	}

	list := a.must(200, "GET", "/v1/matters/"+matter+"/summaries", nil)
	if items, _ := list.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("matter summaries %s", list.Raw)
	}

	for i := range 2 {
		resp := a.do("GET", "/v1/summaries/"+id+"/speech", nil)
		if resp.Status != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" || resp.Raw != "ID3-chunk-0;ID3-chunk-1;ID3-chunk-2;" {
			t.Fatalf("playback %d: %d %q %q", i, resp.Status, resp.Header.Get("Content-Type"), resp.Raw)
		}
	}
	bal, month, usage := creditsOf(t, a)
	if bal != 8 || month != 2 {
		t.Errorf("balance %v, month to date %v; want 8 and 2 (summary 1, first playback 1)", bal, month)
	}
	kinds := []string{}
	for _, u := range usage {
		kinds = append(kinds, fmt.Sprint(u.(map[string]any)["kind"]))
	}
	if strings.Join(kinds, ",") != "speech,summary,topup" {
		t.Errorf("usage kinds %v", kinds)
	}

	a.must(204, "DELETE", "/v1/summaries/"+id, nil)
	a.must(404, "GET", "/v1/summaries/"+id, nil)
}

// TestSpeechReplayFreeAtZero: a replay is free even when the balance is
// empty; a first playback then is 402.
func TestSpeechReplayFreeAtZero(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 3, "reason": "trial"})
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "contract.pdf", fixture(t, "contract.pdf")).docID
	first := str(a.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil).Body, "id")
	second := str(a.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil).Body, "id")
	a.must(200, "GET", "/v1/summaries/"+first+"/speech", nil)
	if bal, _, _ := creditsOf(t, a); bal != 0 {
		t.Fatalf("balance %v, want 0", bal)
	}
	a.must(200, "GET", "/v1/summaries/"+first+"/speech", nil)
	if r := a.do("GET", "/v1/summaries/"+second+"/speech", nil); r.Status != 402 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("first playback on no credits: %d %s", r.Status, r.Raw)
	}
}

// TestSummaryLongDocumentAsync: a long document answers 202 and the worker
// summarizes it map-reduce style, 3 credits.
func TestSummaryLongDocumentAsync(t *testing.T) {
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "trial"})
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "long.pdf", fixture(t, "long.pdf")).docID
	before := len(openAIFake.sent())
	r := a.must(202, "POST", "/v1/documents/"+doc+"/summaries", nil)
	id := str(r.Body, "id")
	if str(r.Body, "status") != "pending" {
		t.Fatalf("summary %s", r.Raw)
	}
	drain(t)
	got := a.must(200, "GET", "/v1/summaries/"+id, nil)
	if str(got.Body, "status") != "ready" || got.Body["pages"] != float64(20) {
		t.Fatalf("after the worker: %s", got.Raw)
	}
	calls := len(openAIFake.sent()) - before
	if calls < 3 {
		t.Errorf("%d provider calls, want a map over 2+ chunks and a reduce", calls)
	}
	if bal, _, _ := creditsOf(t, a); bal != 5-got.Body["credits"].(float64) || got.Body["credits"] != float64(2) && got.Body["credits"] != float64(3) {
		t.Errorf("balance %v after a %v-credit summary", bal, got.Body["credits"])
	}
}

// TestSummaryRefusals: a scanned PDF is 422 and costs nothing; a provider
// failure marks the summary failed and gives the credits back; short
// credits answer 402.
func TestSummaryRefusals(t *testing.T) {
	a := signup(t)
	_, matter := clientAndMatter(a)
	scanned := readyDocument(t, a, matter, "scan.pdf", fixture(t, "scanned.pdf")).docID
	contract := readyDocument(t, a, matter, "contract.pdf", fixture(t, "contract.pdf")).docID
	if r := a.must(402, "POST", "/v1/documents/"+contract+"/summaries", nil); !strings.Contains(r.Raw, "credit") {
		t.Errorf("402 %s", r.Raw)
	}
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 3, "reason": "trial"})
	if r := a.must(422, "POST", "/v1/documents/"+scanned+"/summaries", nil); !strings.Contains(r.Raw, "text layer") {
		t.Errorf("scanned: %s", r.Raw)
	}
	openAIFake.fail(true)
	r := a.do("POST", "/v1/documents/"+contract+"/summaries", nil)
	openAIFake.fail(false)
	if r.Status != 503 {
		t.Fatalf("provider down: %d %s", r.Status, r.Raw)
	}
	list := a.must(200, "GET", "/v1/matters/"+matter+"/summaries", nil)
	items, _ := list.Body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "failed" || items[0].(map[string]any)["error"] == "" {
		t.Fatalf("failed summary %s", list.Raw)
	}
	if bal, month, _ := creditsOf(t, a); bal != 3 || month != 0 {
		t.Errorf("balance %v, month %v after a refunded failure; want 3 and 0", bal, month)
	}
	staff := a.member("billing")
	staff.must(403, "POST", "/v1/documents/"+contract+"/summaries", nil)
}

// TestSummaryCreditsNeverOverdraw: 50 summaries at once on 10 credits
// charge exactly 10; the rest answer 402.
func TestSummaryCreditsNeverOverdraw(t *testing.T) {
	t.Parallel()
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 10, "reason": "trial"})
	_, matter := clientAndMatter(a)
	doc := readyDocument(t, a, matter, "notice.pdf", fixture(t, "notice.pdf")).docID
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := a.do("POST", "/v1/documents/"+doc+"/summaries", nil).Status
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != 10 || statuses[402] != 40 {
		t.Errorf("statuses %v, want 10×201 and 40×402", statuses)
	}
	if bal, month, _ := creditsOf(t, a); bal != 0 || month != 10 {
		t.Errorf("balance %v, month %v; want 0 and 10", bal, month)
	}
}

// TestDraft: a draft sends only the chosen matter details, costs credits
// by length and is saved as a document of the matter.
func TestDraft(t *testing.T) {
	a := signup(t)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "trial"})
	client := str(a.must(201, "POST", "/v1/clients", map[string]any{"name": "Dora Draftclient", "kind": "person"}).Body, "id")
	matter := a.newMatter(client, "title", "Unsent Matter Title", "practiceArea", "Landlord-tenant")
	before := len(openAIFake.sent())
	r := a.must(201, "POST", "/v1/drafts", map[string]any{"matterId": matter, "kind": "demand", "length": "long",
		"instructions": "Demand the deposit back within 14 days.", "matterDetails": []string{"practiceArea", "clientName"}})
	if !strings.Contains(str(r.Body, "text"), "draft letter") || r.Body["credits"] != float64(3) || str(r.Body, "documentId") == "" {
		t.Fatalf("draft %s", r.Raw)
	}
	sent := openAIFake.sent()[before:]
	if len(sent) != 1 || !strings.Contains(sent[0], "Landlord-tenant") || !strings.Contains(sent[0], "Dora Draftclient") ||
		strings.Contains(sent[0], "Unsent Matter Title") || !strings.Contains(sent[0], `"store":false`) {
		t.Errorf("provider request %s", sent)
	}
	doc := a.must(200, "GET", "/v1/documents/"+str(r.Body, "documentId"), nil)
	if str(doc.Body, "status") != "ready" || str(doc.Body, "contentType") != docx.ContentType || !strings.HasSuffix(str(doc.Body, "fileName"), ".docx") || str(doc.Body, "matterId") != matter {
		t.Errorf("saved draft %s", doc.Raw)
	}
	if bal, _, _ := creditsOf(t, a); bal != 2 {
		t.Errorf("balance %v, want 2", bal)
	}
	a.must(402, "POST", "/v1/drafts", map[string]any{"kind": "letter", "length": "long", "instructions": "Too long for what is left."})
}

// BenchmarkSpeechFirstByte: a replayed summary, from the request to the
// first audio bytes at the browser.
func BenchmarkSpeechFirstByte(b *testing.B) {
	a := signup(b)
	a.must(200, "POST", "/v1/billing/credits/grants", map[string]any{"credits": 5, "reason": "bench"})
	_, matter := clientAndMatter(a)
	doc := readyDocument(b, a, matter, "contract.pdf", fixture(b, "contract.pdf")).docID
	id := str(a.must(201, "POST", "/v1/documents/"+doc+"/summaries", nil).Body, "id")
	measure(b, func() int {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", stack.URL+"/v1/summaries/"+id+"/speech", nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1)
		_, _ = resp.Body.Read(buf)
		resp.Body.Close()
		return resp.StatusCode
	}, 200)
}
