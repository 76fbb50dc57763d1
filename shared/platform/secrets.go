package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Secrets reads secret strings with Secrets Manager's GetSecretValue, the
// one call a function makes to it, once per cold start. It speaks the
// service's JSON protocol itself, SigV4-signed with the SDK's signer,
// rather than through the SDK's Secrets Manager client: that client's
// endpoint rules and schemas cost every function about 0.5 ms of package
// init and 230 KB for this single call. It retries on throttling, 5xx and
// transport errors, three attempts in all as the SDK's standard retryer
// makes, with full jitter over a shorter cap (at most 0.2 s, then 0.4 s:
// this runs in a cold start).
type Secrets struct {
	AWS      aws.Config // region, credentials and HTTP client
	Endpoint string     // "" is the region's public endpoint
	// sleep waits between attempts (tests record the waits instead).
	sleep func(time.Duration)
}

const secretsAttempts = 3

// SecretString reads a secret's string value (keys.SecretGetter).
func (s Secrets) SecretString(ctx context.Context, id string) (string, error) {
	body, err := json.Marshal(struct{ SecretId string }{id})
	if err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		out, retry, err := s.getSecretValue(ctx, body)
		if err == nil {
			if out.SecretString == nil {
				return "", fmt.Errorf("secret %s has no string value", id)
			}
			return *out.SecretString, nil
		}
		if !retry || attempt == secretsAttempts || ctx.Err() != nil {
			return "", fmt.Errorf("secretsmanager GetSecretValue %s: %w", id, err)
		}
		// Full jitter over an exponential cap, as the SDK's standard retryer.
		wait := rand.N(100 * time.Millisecond << attempt)
		if s.sleep != nil {
			s.sleep(wait)
		} else {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return "", fmt.Errorf("secretsmanager GetSecretValue %s: %w", id, err)
			}
		}
	}
}

type secretValue struct {
	SecretString *string
}

// getSecretValue makes one signed call; retry says whether another attempt
// may succeed.
func (s Secrets) getSecretValue(ctx context.Context, body []byte) (secretValue, bool, error) {
	var out secretValue
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = "https://secretsmanager." + s.AWS.Region + "." + dnsSuffix(s.AWS.Region)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return out, false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if s.AWS.Credentials == nil {
		return out, false, errors.New("no credentials")
	}
	creds, err := s.AWS.Credentials.Retrieve(ctx)
	if err != nil {
		return out, false, err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", s.AWS.Region, time.Now()); err != nil {
		return out, false, err
	}
	var client aws.HTTPClient = secretsHTTP
	if s.AWS.HTTPClient != nil {
		client = s.AWS.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return out, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, true, err
	}
	if resp.StatusCode != http.StatusOK {
		typ, msg := errorType(resp.Header.Get("X-Amzn-Errortype"), raw)
		if typ == "" {
			typ = resp.Status
		}
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests ||
			strings.Contains(typ, "Throttling") || typ == "RequestLimitExceeded"
		return out, retry, fmt.Errorf("%s (HTTP %d): %s", typ, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, false, fmt.Errorf("decode answer: %w", err)
	}
	return out, false, nil
}

// secretsHTTP is the client when the configuration has none: the secrets
// are read at init, which must not hang on a dead connection.
var secretsHTTP = &http.Client{Timeout: 10 * time.Second}

// errorType is an error's type from the JSON protocol's header or body
// ("ResourceNotFoundException", without a namespace prefix) and its message.
func errorType(header string, raw []byte) (typ, msg string) {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &e)
	typ = e.Type
	if header != "" {
		typ = header
	}
	typ, _, _ = strings.Cut(typ, ":")
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	return typ, e.Message + e.MessageU
}

// partitions are the domains of the AWS partitions other than the
// commercial one and GovCloud (amazonaws.com), by region prefix, as the
// SDK's partitions.json has them; the longer prefix first.
var partitions = []struct{ prefix, domain string }{
	{"cn-", "amazonaws.com.cn"},
	{"us-isob-", "sc2s.sgov.gov"},
	{"us-isof-", "csp.hci.ic.gov"},
	{"us-iso-", "c2s.ic.gov"},
	{"eu-isoe-", "cloud.adc-e.uk"},
	{"eusc-", "amazonaws.eu"},
}

// dnsSuffix is the partition's domain of a region.
func dnsSuffix(region string) string {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.prefix) {
			return p.domain
		}
	}
	return "amazonaws.com"
}
