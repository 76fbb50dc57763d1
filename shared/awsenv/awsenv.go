// Package awsenv builds the AWS SDK configuration of a function running in
// Lambda from what Lambda puts in its environment: the region and the
// execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, valid for the execution environment's life).
//
// It stands in for config.LoadDefaultConfig, whose credential chain (shared
// files, SSO, STS web identity, container and instance metadata) a Lambda
// function never walks: linking that chain links the STS, SSO, SSO OIDC and
// Sign-In clients, about 460 KB and 1.1 ms of package init in every cold
// start. The SDK reads Lambda's credentials from the same variables, once,
// as static credentials, so nothing changes at run time.
package awsenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// Config is the SDK configuration for region (AWS_REGION when ""), signed
// with the environment's credentials. The clients built from it keep the
// SDK's defaults: the standard retryer, the default HTTP client, trusting
// AWS_CA_BUNDLE's certificates instead of the system's when it names a
// file, as LoadDefaultConfig does. The other variables LoadDefaultConfig
// would have applied (FIPS or dual-stack endpoints, endpoint URLs, retry
// settings: Lambda sets none of them) are refused by name rather than
// silently ignored.
func Config(region string) (aws.Config, error) {
	for _, kv := range os.Environ() {
		name, v, _ := strings.Cut(kv, "=")
		if v != "" && (unapplied[name] || strings.HasPrefix(name, "AWS_ENDPOINT_URL_")) {
			return aws.Config{}, fmt.Errorf("awsenv: %s is set, and this configuration does not apply it: unset it, or configure the setting in code", name)
		}
	}
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case region == "":
		return aws.Config{}, errors.New("awsenv: no region: AWS_REGION is not set (Lambda sets it)")
	case id == "" || secret == "":
		return aws.Config{}, errors.New("awsenv: no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
		// LoadDefaultConfig's logger: the SDK's rare warnings go to stderr,
		// which Lambda sends to the function's log group.
		Logger: logging.NewStandardLogger(os.Stderr),
	}
	if path := os.Getenv("AWS_CA_BUNDLE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return aws.Config{}, fmt.Errorf("awsenv: AWS_CA_BUNDLE: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return aws.Config{}, fmt.Errorf("awsenv: AWS_CA_BUNDLE %s holds no PEM certificate", path)
		}
		cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = roots
		})
	}
	return cfg, nil
}

// unapplied are the SDK's environment settings Config does not apply.
var unapplied = map[string]bool{
	"AWS_USE_FIPS_ENDPOINT": true, "AWS_USE_DUALSTACK_ENDPOINT": true, "AWS_ENDPOINT_URL": true,
	"AWS_MAX_ATTEMPTS": true, "AWS_RETRY_MODE": true, "AWS_DEFAULTS_MODE": true,
	"AWS_ACCOUNT_ID_ENDPOINT_MODE": true, "AWS_ENABLE_ENDPOINT_DISCOVERY": true, "AWS_SDK_UA_APP_ID": true,
}
