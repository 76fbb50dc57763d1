package platform_test

import (
	"context"
	"io"
	"testing"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/password"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awseventbridge"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/platform/awss3"
	"github.com/matterly/matterly/shared/platform/awssqs"
)

// TestNewBuildsWhatIsConfigured: in AWS, New builds only what the
// configuration names, and the clients of awss3, awssqs, awseventbridge
// and awskms only for a configuration that names theirs. The relay's
// configuration (a bus, no table, no secrets) must not send New to
// Secrets Manager or give it a table.
func TestNewBuildsWhatIsConfigured(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_CA_BUNDLE", "") // the machine's, if any, is not this test's business
	tests := []struct {
		name                                string
		cfg                                 config.Config
		wantBus, wantSealer, wantS3, wantSQ bool
	}{
		{name: "relay", cfg: config.Config{Region: "us-east-1", EventBusName: "events"}, wantBus: true},
		{name: "nothing", cfg: config.Config{Region: "us-east-1"}},
		{name: "sealer", cfg: config.Config{Region: "us-east-1", KMSKeyID: "arn:aws:kms:us-east-1:1:key/k"}, wantSealer: true},
		{name: "bucket", cfg: config.Config{Region: "us-east-1", BucketName: "docs"}, wantS3: true},
		{name: "queues", cfg: config.Config{Region: "us-east-1", QueueURLs: map[string]string{"q": "https://sqs/q"}}, wantSQ: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := platform.New(context.Background(), tt.cfg, platform.Options{LogOut: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if d.DB != nil || d.Verifier != nil || d.Cursors != nil || d.Queue != nil || d.Bus != nil || d.Sealer != nil {
				t.Errorf("built what was not configured: %+v", d)
			}
			if got := awseventbridge.Publisher(d); (got != nil) != tt.wantBus {
				t.Errorf("Publisher = %T, want one %v", got, tt.wantBus)
			} else if _, ok := got.(*awseventbridge.EventBridge); tt.wantBus && !ok {
				t.Errorf("Publisher = %T, want EventBridge", got)
			}
			if got := awskms.Sealer(d); (got != nil) != tt.wantSealer {
				t.Errorf("Sealer built = %v, want %v", got != nil, tt.wantSealer)
			}
			if got := awss3.Client(d); (got != nil) != tt.wantS3 {
				t.Errorf("S3 built = %v, want %v", got != nil, tt.wantS3)
			} else if got != nil && awss3.Client(d) != got {
				t.Error("S3 client built twice for one Deps")
			}
			if got := awssqs.Sender(d); (got != nil) != tt.wantSQ {
				t.Errorf("Queue built = %v, want %v", got != nil, tt.wantSQ)
			}
		})
	}
}

// TestLocalStandIns: locally, the stand-ins Deps holds are what the client
// packages return, and S3 is the embedded one's when S3_ENDPOINT is set.
func TestLocalStandIns(t *testing.T) {
	cfg := config.Config{DynamoEndpoint: "http://127.0.0.1:1", DevDataDir: t.TempDir(), BucketName: "docs"}
	d, err := platform.New(context.Background(), cfg, platform.Options{LogOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if awseventbridge.Publisher(d) == nil || awskms.Sealer(d) != d.Sealer || d.Sealer == nil {
		t.Errorf("local bus %v, sealer %v", awseventbridge.Publisher(d), awskms.Sealer(d))
	}
	if awss3.Client(d) != nil || awssqs.Sender(d) != nil {
		t.Error("S3 without S3_ENDPOINT, or a queue without a broker")
	}
	cfg.S3Endpoint = "http://127.0.0.1:1"
	if d, err = platform.New(context.Background(), cfg, platform.Options{LogOut: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if awss3.Client(d) == nil {
		t.Error("no S3 client with S3_ENDPOINT")
	}
}

// TestPasswordCostOnlyLocally: a cheaper argon2id cost is refused outside
// the local stack, so no deployed function can hash with the tests' cost.
func TestPasswordCostOnlyLocally(t *testing.T) {
	cheap := &password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	if _, err := platform.New(context.Background(), config.Config{Region: "us-east-1"}, platform.Options{LogOut: io.Discard, PasswordParams: cheap}); err == nil {
		t.Error("a cheap password cost was accepted in AWS")
	}
	d, err := platform.New(context.Background(), config.Config{DynamoEndpoint: "http://127.0.0.1:1", DevDataDir: t.TempDir()}, platform.Options{LogOut: io.Discard, PasswordParams: cheap})
	if err != nil || d.PasswordParams != cheap {
		t.Errorf("locally: %v, %v", d, err)
	}
}
