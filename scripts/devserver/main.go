// Command devserver runs Matterly on localhost (make dev): every function
// behind a local API Gateway, with embedded DynamoDB and S3, in-process SQS
// and the EventBridge schedules. No AWS account, no keys, no network.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/matterly/matterly/shared/devstack"
	"github.com/matterly/matterly/shared/localaws"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("devserver failed", "err", err)
		os.Exit(1)
	}
}

func run() error {
	start := time.Now()
	if err := loadDotEnv(".env"); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" { // GOGC in .env is the runtime's to read: too late, so applied here
		debug.SetGCPercent(devstack.GCPercent)
	} else if pct, err := strconv.Atoi(os.Getenv("GOGC")); err == nil {
		debug.SetGCPercent(pct)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The lazier collector's ceiling: argon2id sign-ins (19 MiB each)
		// at once must not grow a laptop's dev server without bound.
		debug.SetMemoryLimit(1 << 30)
	}
	port := envOr("PORT", "8080")
	dataDir := envOr("DEV_DATA_DIR", ".dev")
	// SIGHUP too (the terminal closed): every signal that ends the server
	// ends it cleanly, with the snapshot written and the children stopped.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	stripeNote, stopStripe, err := stripeSandbox(ctx)
	if err != nil {
		return err
	}
	defer stopStripe()
	twilioNote := twilioSandbox(port)
	stack, err := devstack.Start(ctx, devstack.Options{
		Addr: "127.0.0.1:" + port, DataDir: dataDir, Getenv: os.Getenv, LogOut: os.Stdout,
		// DEV_HOLD_QUEUES=1 keeps queued messages waiting (on disk) instead
		// of delivering them: to look at them, or to see them delivered by
		// the next start (the crash test does).
		DrainQueues: os.Getenv("DEV_HOLD_QUEUES") != "",
	})
	if err != nil {
		return err
	}
	banner(browserURL(stack.URL), dataDir, time.Since(start))
	fmt.Println(stripeNote)
	fmt.Println(twilioNote)
	fmt.Println(esignNote())
	fmt.Println(chatNote(browserURL(stack.URL)))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nshutting down; saving dev data to", dataDir)
	return stack.Close()
}

// browserURL names the server localhost rather than 127.0.0.1: the dev
// CORS origins are http://localhost:5173 and a browser app there calling
// 127.0.0.1 is cross-site, so the browser would withhold the SameSite=Strict
// refresh cookie. (localhost resolves to the loopback the server listens on.)
func browserURL(u string) string {
	return strings.Replace(u, "://127.0.0.1:", "://localhost:", 1)
}

// stripeSandbox points payments at stripe-mock, started here, unless a
// Stripe key is configured: make dev needs no keys, and stripe-mock is
// Stripe's own stand-in (stateless: it answers every call with fixtures).
// The returned func stops stripe-mock.
func stripeSandbox(ctx context.Context) (string, func(), error) {
	if os.Getenv("STRIPE_SECRET_KEY") != "" {
		return "Stripe: " + envOr("STRIPE_API_BASE_URL", "https://api.stripe.com") + " with STRIPE_SECRET_KEY", func() {}, nil
	}
	mock, err := localaws.StartStripeMock(ctx, ".")
	if err != nil {
		return "", nil, fmt.Errorf("stripe-mock (set STRIPE_SECRET_KEY to use Stripe instead): %w", err)
	}
	os.Setenv("STRIPE_SECRET_KEY", "sk_test_devsandbox")
	os.Setenv("STRIPE_API_BASE_URL", mock.URL)
	if os.Getenv("STRIPE_WEBHOOK_SECRET") == "" {
		os.Setenv("STRIPE_WEBHOOK_SECRET", devWebhookSecret)
	}
	return "Stripe: SANDBOX, stripe-mock at " + mock.URL + " (fixtures, no real money; set STRIPE_SECRET_KEY for a Stripe test account);\n" +
		"        webhooks at /webhooks/stripe, signed with " + secretNote("STRIPE_WEBHOOK_SECRET", devWebhookSecret), func() { mock.Close() }, nil
}

// secretNote names the secret in env and prints its value only when it is
// the built-in sandbox value: a secret someone configured stays off the
// terminal (and out of screen shares and pasted logs).
func secretNote(env, sandbox string) string {
	if v := os.Getenv(env); v != sandbox {
		return env + " (yours, from the environment)"
	}
	return env + "=" + sandbox
}

// twilioSandbox sends SMS and email to the dev outbox unless Twilio
// credentials are set, and signs sandbox Twilio webhooks with a fixed token,
// so the README's signed STOP works with no account.
func twilioSandbox(port string) string {
	if os.Getenv("PUBLIC_BASE_URL") == "" {
		os.Setenv("PUBLIC_BASE_URL", "http://localhost:"+port)
	}
	if os.Getenv("TWILIO_ACCOUNT_SID") != "" {
		return "Twilio: " + envOr("TWILIO_API_BASE_URL", "https://api.twilio.com") + " with TWILIO_ACCOUNT_SID; webhooks must reach " + os.Getenv("PUBLIC_BASE_URL")
	}
	if os.Getenv("TWILIO_AUTH_TOKEN") == "" {
		os.Setenv("TWILIO_AUTH_TOKEN", devTwilioToken)
	}
	return "SMS and email: SANDBOX, nothing leaves this machine; see GET " + os.Getenv("PUBLIC_BASE_URL") + "/dev/outbox\n" +
		"        Twilio webhooks at /webhooks/twilio/sms and /status, signed with " + secretNote("TWILIO_AUTH_TOKEN", devTwilioToken)
}

// esignNote says where e-signatures go: Dropbox Sign (or the stand-in the
// base URL names) with a key, otherwise nowhere (the routes answer 503).
func esignNote() string {
	if os.Getenv("DROPBOX_SIGN_API_KEY") == "" {
		return "E-signatures: not configured, the signature routes answer 503; run go run ./scripts/dropboxsignfake for a local stand-in"
	}
	return "E-signatures: Dropbox Sign at " + envOr("DROPBOX_SIGN_API_BASE_URL", "https://api.hellosign.com") +
		" with DROPBOX_SIGN_API_KEY (yours); callbacks at /webhooks/dropbox-sign"
}

// chatNote says where the chat WebSocket is and whether GIFs work.
func chatNote(url string) string {
	gifs := "GIFs not configured (503); run go run ./scripts/giphyfake for a local stand-in"
	if os.Getenv("GIPHY_API_KEY") != "" {
		gifs = "GIFs from Giphy at " + envOr("GIPHY_API_BASE_URL", "https://api.giphy.com")
	}
	return "Team chat: WebSocket at " + strings.Replace(url, "http", "ws", 1) + "/v1/chat/ws?ticket= (POST /v1/chat/tickets; go run ./scripts/chatclient -token $TOKEN); " + gifs
}

// devTwilioToken signs the sandbox's Twilio webhooks (README shows how).
const devTwilioToken = "dev_twilio_auth_token"

// devWebhookSecret signs the sandbox's test webhooks (README shows how).
const devWebhookSecret = "whsec_dev_sandbox"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// loadDotEnv sets KEY=VALUE lines of an optional .env file that are not
// already set in the environment.
func loadDotEnv(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, strings.Trim(strings.TrimSpace(v), `"'`))
		}
	}
	return sc.Err()
}

func banner(url, dataDir string, took time.Duration) {
	fmt.Fprintf(os.Stderr, `
  Matterly dev server ready on %[1]s in %[3]dms
  Data (DynamoDB snapshot and journal, S3 objects, queued messages, signing key): %[2]s/
    (every acknowledged write is on disk: nothing is lost to a crash; delete it to start over)
  Embedded stand-ins: DynamoDB (minidyn), S3 (gofakes3), SQS and EventBridge in-process.
  Providers without credentials run in a sandbox.

  Quick start:
    curl -si %[1]s/v1/auth/signup -H 'content-type: application/json' \
      -d '{"orgName":"Acme Law","name":"Ada Lovelace","email":"ada@example.com","username":"ada","password":"correct horse battery staple"}'
    TOKEN=$(curl -s %[1]s/v1/auth/login -H 'content-type: application/json' \
      -d '{"login":"ada","password":"correct horse battery staple"}' -c .dev/cookies | sed 's/.*"accessToken":"\([^"]*\)".*/\1/')
    curl -s %[1]s/v1/me -H "authorization: Bearer $TOKEN"
    curl -s -X POST %[1]s/v1/auth/refresh -b .dev/cookies -c .dev/cookies
    curl -s -X POST %[1]s/v1/auth/logout -H "authorization: Bearer $TOKEN" -b .dev/cookies

  API description (OpenAPI 3.1): %[1]s/dev/openapi.json
  Schedules: GET %[1]s/dev/schedules, run one now with POST %[1]s/dev/schedules/<name>
  Sandboxed SMS and email: GET %[1]s/dev/outbox
  Clients, matters, notes, bookings and documents (upload and download): README, "Try it with curl".

`, url, dataDir, took.Milliseconds())
}
