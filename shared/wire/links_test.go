package wire_test

import (
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// sdk is the import path prefix of the AWS SDK's service clients.
const sdk = "github.com/aws/aws-sdk-go-v2/service/"

// onlyIn names, for the AWS services only some functions use, the
// functions that may link each (every package of a linked service runs its
// init at every cold start: the endpoint and schema tables allocate
// hundreds of KB). DynamoDB is platform's, in every function. No function
// links Secrets Manager's client (platform.Secrets makes its one call) or
// the credential chain's services, which config.LoadDefaultConfig brings
// (awsenv reads Lambda's credentials instead).
var onlyIn = map[string][]string{
	"secretsmanager": nil, "sts": nil, "sso": nil, "ssooidc": nil, "signin": nil,
	"eventbridge": {"relay"},
	"sqs": {"ai", "aiworker", "speech", "stripewebhook", "messaging", "twiliowebhook", "notifier", "messageworker",
		"esign", "dropboxsignwebhook", "esignworker", "calendar", "msgraphwebhook", "calendarworker", "privacy", "privacyworker"},
	// relay and org: the audit chains' keys (AUDIT_KEY_ID).
	"kms":                     {"auth", "calendar", "msgraphwebhook", "calendarworker", "privacy", "privacyworker", "relay", "org"},
	"sesv2":                   {"accounts", "messaging", "messageworker"},
	"apigatewaymanagementapi": {"chat", "chatws", "privacy", "privacyworker"},
	// The calendar's domain package imports privacy's, which holds S3; org
	// reads the audit chains' anchors.
	"s3": {"org", "crm", "documents", "ai", "aiworker", "speech", "esign", "dropboxsignwebhook", "esignworker",
		"chat", "chatws", "privacy", "privacyworker", "calendar", "msgraphwebhook", "calendarworker"},
}

// TestFunctionsLinkOnlyTheirClients: each function links its own wiring
// and the AWS clients that wiring uses, not every function's.
func TestFunctionsLinkOnlyTheirClients(t *testing.T) {
	// One go list for every function: each one's package, then its
	// dependencies, a line per function.
	out, err := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}} {{join .Deps \" \"}}", "../../functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "main" {
			continue
		}
		n++
		fn := f[1][strings.LastIndexByte(f[1], '/')+1:]
		linked := map[string]bool{}
		for _, dep := range f[2:] {
			if dep == "github.com/matterly/matterly/shared/wire" {
				t.Errorf("%s imports shared/wire, which holds only tests", fn)
			}
			if svc, ok := strings.CutPrefix(dep, sdk); ok {
				linked[strings.SplitN(svc, "/", 2)[0]] = true
			}
		}
		var wrong []string
		for svc, fns := range onlyIn {
			if linked[svc] && !slices.Contains(fns, fn) {
				wrong = append(wrong, svc)
			}
		}
		sort.Strings(wrong)
		if len(wrong) > 0 {
			t.Errorf("%s links %v, which it does not use", fn, wrong)
		}
	}
	if n < 20 {
		t.Errorf("go list listed %d functions", n)
	}
}
