package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSecretNote(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"built-in sandbox value", devTwilioToken, "TWILIO_AUTH_TOKEN=" + devTwilioToken},
		{"configured by the user", "a-real-token-0123", "TWILIO_AUTH_TOKEN (yours, from the environment)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TWILIO_AUTH_TOKEN", tt.value)
			got := secretNote("TWILIO_AUTH_TOKEN", devTwilioToken)
			if got != tt.want {
				t.Errorf("secretNote = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBrowserURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080": "http://localhost:8080",
		"http://127.0.0.1:0":    "http://localhost:0",
		"http://localhost:9000": "http://localhost:9000",
	} {
		if got := browserURL(in); got != want {
			t.Errorf("browserURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// devProc is a dev server run as a child process, as make dev runs it.
type devProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	exited chan error
}

var devBin string // built once per test binary

func buildDevserver(t *testing.T) string {
	t.Helper()
	if devBin != "" {
		return devBin
	}
	bin := filepath.Join(t.TempDir(), "devserver")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	devBin = bin
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var readyLine = regexp.MustCompile(`ready on (http://\S+)`)

// devCmd is the dev server on dataDir, in a sandboxed environment.
func devCmd(t *testing.T, dataDir string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(buildDevserver(t))
	cmd.Dir = "../.." // the module root: stripe-mock is a go tool of it
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "STRIPE_") || strings.HasPrefix(name, "TWILIO_") || strings.HasPrefix(name, "SES_") ||
			strings.HasPrefix(name, "OPENAI_") || strings.HasPrefix(name, "DEV_") || name == "PORT" || name == "PUBLIC_BASE_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	// Set empty so a .env file in the checkout cannot fill them in.
	for _, name := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "SES_ENDPOINT", "OPENAI_API_KEY"} {
		cmd.Env = append(cmd.Env, name+"=")
	}
	cmd.Env = append(cmd.Env, "PORT="+freePort(t), "DEV_DATA_DIR="+dataDir)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// startDev starts the server on dataDir and returns once its banner says
// it is ready (polled with a deadline, no sleeps).
func startDev(t *testing.T, dataDir string, env ...string) *devProc {
	t.Helper()
	cmd := devCmd(t, dataDir, env...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{t: t, cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.stderr.WriteString(sc.Text() + "\n")
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case p.url = <-ready:
	case err := <-p.exited:
		t.Fatalf("dev server exited before it was ready: %v\n%s", err, p.stderr)
	case <-time.After(3 * time.Minute): // a cold build cache builds stripe-mock
		t.Fatalf("dev server not ready\n%s", p.stderr)
	}
	return p
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (p *devProc) do(method, path, token string, body any, header ...string) reply {
	p.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (p *devProc) must(want int, method, path, token string, body any, header ...string) reply {
	p.t.Helper()
	r := p.do(method, path, token, body, header...)
	if r.status != want {
		p.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// twilio posts a webhook signed as Twilio signs (URL, then the sorted
// parameters, HMAC-SHA1 with the sandbox token).
func (p *devProc) twilio(path string, form url.Values) reply {
	p.t.Helper()
	s := p.url + path
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(devTwilioToken))
	mac.Write([]byte(s))
	return p.do("POST", path, "", form, "X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func (p *devProc) login() string {
	p.t.Helper()
	r := p.must(200, "POST", "/v1/auth/login", "", map[string]any{"login": "ada", "password": "correct horse battery staple"})
	return r.body["accessToken"].(string)
}

// poll checks cond every few milliseconds until it holds or the time is
// up (a deadline, not a guess at how long to sleep).
func poll(within time.Duration, cond func() bool) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// children are the pids whose parent is pid (Linux /proc).
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at its ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// alive reports whether pid is a live process (a zombie waiting for its
// new parent to reap it is dead).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// TestKillNineLosesNothing is the crash test: acknowledged writes
// of every kind, a trust deposit with an Idempotency-Key, an opt-out and a
// queued text, then kill -9. After a restart every write is there, the
// deposit's retry answers the first entry (no second one), the opt-out
// still refuses texts, the queued text is delivered, and stripe-mock died
// with the server. A SIGHUP then stops the server cleanly.
func TestKillNineLosesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("child processes die with the server on Linux only (Pdeathsig)")
	}
	if testing.Short() {
		t.Skip("builds and runs the dev server")
	}
	dataDir := t.TempDir()
	p := startDev(t, dataDir, "DEV_HOLD_QUEUES=1")
	p.must(201, "POST", "/v1/auth/signup", "", map[string]any{"orgName": "Acme Law", "name": "Ada Lovelace",
		"email": "ada@example.com", "username": "ada", "password": "correct horse battery staple"})
	tok := p.login()
	const texted, stopped = "+14155550123", "+14155550124"
	var clients []string
	for i, phone := range []string{texted, stopped, ""} {
		body := map[string]any{"name": fmt.Sprintf("Client %d", i), "kind": "person"}
		if phone != "" {
			body["phone"] = phone
		}
		clients = append(clients, p.must(201, "POST", "/v1/clients", tok, body).body["id"].(string))
	}
	acct := p.must(201, "POST", "/v1/trust/accounts", tok, map[string]any{"name": "IOLTA Trust", "bankName": "First Bank",
		"accountLast4": "4821", "currency": "USD"}).body["id"].(string)
	deposit := map[string]any{"accountId": acct, "clientId": clients[0], "type": "deposit", "amount": 250000, "date": "2026-11-02",
		"description": "Retainer", "counterparty": "Pat Client", "method": map[string]any{"kind": "wire", "reference": "FW-1"}}
	entryID := p.must(201, "POST", "/v1/trust/entries", tok, deposit, "Idempotency-Key", "crash-1").body["id"].(string)
	// Only a number the platform bought for the org may send (the sandbox's).
	from := p.must(201, "POST", "/v1/messaging/sms-numbers", tok, map[string]any{}).body["smsFromNumber"].(string)
	p.must(200, "PATCH", "/v1/messaging/settings", tok, map[string]any{"quietHoursStart": "00:00", "quietHoursEnd": "00:00"})
	if r := p.twilio("/webhooks/twilio/sms", url.Values{"Body": {"STOP"}, "From": {stopped}, "To": {from},
		"MessageSid": {"SM00000000000000000000000000000001"}}); r.status != 200 {
		t.Fatalf("STOP = %d: %s", r.status, r.raw)
	}
	p.must(202, "POST", "/v1/messages/sms", tok, map[string]any{"clientId": clients[0], "body": "Your will is ready to sign.", "kind": "general"})

	// A second server on the same folder stops, naming it and the first.
	out, err := devCmd(t, dataDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), dataDir) || !strings.Contains(string(out), fmt.Sprintf("process %d", p.cmd.Process.Pid)) {
		t.Errorf("a second server on the data folder: %v\n%s", err, out)
	}

	kids := children(t, p.cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatal("no stripe-mock child found")
	}
	t.Cleanup(func() { // when the test fails because they outlived the server
		for _, pid := range kids {
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	for _, pid := range kids {
		if !poll(10*time.Second, func() bool { return !alive(pid) }) {
			t.Fatalf("child %d outlived the killed server", pid)
		}
	}

	p = startDev(t, dataDir)
	tok = p.login()
	list := p.must(200, "GET", "/v1/clients", tok, nil)
	var got []string
	for _, it := range list.body["items"].([]any) {
		got = append(got, it.(map[string]any)["id"].(string))
	}
	for _, id := range clients {
		if !slices.Contains(got, id) {
			t.Errorf("client %s lost: %v", id, got)
		}
	}
	again := p.must(201, "POST", "/v1/trust/entries", tok, deposit, "Idempotency-Key", "crash-1")
	if again.body["id"] != entryID || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("deposit retry after the crash = %s, want a replay of %s", again.raw, entryID)
	}
	entries := p.must(200, "GET", "/v1/trust/entries?accountId="+acct, tok, nil).body["items"].([]any)
	if len(entries) != 1 {
		t.Errorf("%d trust entries after the retry, want 1", len(entries))
	}
	if r := p.must(409, "POST", "/v1/messages/sms", tok, map[string]any{"clientId": clients[1], "body": "Still there?", "kind": "general"}); r.body["rule"] != "messaging.opted-out" {
		t.Errorf("text to the opted-out number: %s", r.raw)
	}
	// The text queued before the crash is delivered now (to the outbox).
	if !poll(20*time.Second, func() bool {
		return strings.Contains(p.must(200, "GET", "/dev/outbox", "", nil).raw, "Your will is ready to sign.")
	}) {
		t.Fatal("the text queued before the crash was never delivered")
	}

	// SIGHUP stops it cleanly: the journal is folded into the snapshot.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := <-p.exited; err != nil {
		t.Fatalf("exit after SIGHUP: %v\n%s", err, p.stderr)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "dynamodb.json.wal")); err != nil || fi.Size() != 0 {
		t.Errorf("journal after a clean stop: %v %v", fi, err)
	}
}
