package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// One synth per test binary: starting jsii and synthesizing takes seconds,
// and every test only reads the template.
var (
	template    assertions.Template
	resources   map[string]any // Resources of template.ToJSON()
	outputs     map[string]any
	corsOrigins []string // what the stack was given, from ../cdk.json
	// nagFindings are cdk-nag's unsuppressed AwsSolutions findings.
	nagFindings []*cxapi.SynthesisMessage
)

func TestMain(m *testing.M) { os.Exit(synth(m)) }

func synth(m *testing.M) int {
	defer jsii.Close()

	dir, err := os.MkdirTemp("", "matterly-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	codeDir := filepath.Join(dir, "build")
	if err := writePlaceholderCode(codeDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The same context as `cdk synth` (feature flags, origins), so the
	// tests check the template that would be deployed.
	ctx, err := loadCDKContext("../cdk.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx,
		Outdir:  jsii.String(filepath.Join(dir, "cdk.out")),
	})
	corsOrigins, err = stringList(app.Node().TryGetContext(jsii.String(ContextCorsOrigins)))
	if err != nil || len(corsOrigins) == 0 {
		fmt.Fprintf(os.Stderr, "cdk.json %s: %v %v\n", ContextCorsOrigins, corsOrigins, err)
		return 1
	}
	stack := NewMatterlyStack(app, "Matterly", &MatterlyStackProps{
		CodeDir:     codeDir,
		CorsOrigins: corsOrigins,
		EmailFrom:   testEmailFrom,
	})
	// cdk-nag's AwsSolutions pack runs as an aspect at synth; findings the
	// stack suppresses (nag.go) come out as nothing, the rest as
	// annotations that TestNag reports.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	template = assertions.Template_FromStack(stack, nil)
	notes := assertions.Annotations_FromStack(stack)
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
	nagFindings = append(*notes.FindError(jsii.String("*"), nag), *notes.FindWarning(jsii.String("*"), nag)...)
	doc := *template.ToJSON()
	resources, _ = doc["Resources"].(map[string]any)
	outputs, _ = doc["Outputs"].(map[string]any)
	return m.Run()
}

// check runs a CDK assertion, turning its panic (a jsii error) into a test
// failure so one broken expectation does not abort the whole binary.
func check(t *testing.T, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Error(r)
		}
	}()
	assert()
}

type obj = map[string]any

// testEmailFrom is the platform's sending address the test stack is given
// (-c emailFrom=...).
const testEmailFrom = "notices@matterly.example"

// TestAccountEmail: the accounts function sends its notices (a sign-up
// with a registered address) from the platform address, and may send
// from that address's identities only.
func TestAccountEmail(t *testing.T) {
	env, _ := dig(props(resources[functionID(t, routes.FnAccounts)].(obj)), "Environment", "Variables").(map[string]any)
	if env["EMAIL_FROM"] != testEmailFrom {
		t.Errorf("accounts EMAIL_FROM = %v, want %s", env["EMAIL_FROM"], testEmailFrom)
	}
	if env["APP_BASE_URL"] != corsOrigins[0] {
		t.Errorf("accounts APP_BASE_URL = %v, want the app's origin %s (invitation and reset links)", env["APP_BASE_URL"], corsOrigins[0])
	}
	var sends []string
	for _, st := range roleStatements(t, routes.FnAccounts) {
		if strings.Contains(fmt.Sprint(st["Action"]), "ses:") {
			sends = append(sends, fmt.Sprint(st["Action"]), fmt.Sprint(st["Resource"]))
		}
	}
	got := strings.Join(sends, " ")
	if !strings.HasPrefix(got, "ses:SendEmail ") || !strings.Contains(got, "identity/"+testEmailFrom) ||
		!strings.Contains(got, "identity/matterly.example") || strings.Contains(got, "*") || len(sends) != 2 {
		t.Errorf("accounts SES grants = %s, want ses:SendEmail on the platform address's identities only", got)
	}
}

func arrayWith(items ...any) assertions.Matcher { return assertions.Match_ArrayWith(&items) }
func objectLike(m obj) assertions.Matcher       { return assertions.Match_ObjectLike(&m) }

// ofType returns the logical ids and bodies of every resource of one type.
func ofType(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range resources {
		if r, ok := r.(obj); ok && r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func props(r obj) obj { p, _ := r["Properties"].(obj); return p }

// dig walks nested objects by key, yielding nil where a step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// functionID finds the logical id of the Lambda function built for name.
func functionID(t *testing.T, name string) string {
	t.Helper()
	var ids []string
	for id := range ofType("AWS::Lambda::Function") {
		if strings.HasPrefix(id, pascal(name)+"Function") {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("function %s: want one AWS::Lambda::Function, got %v", name, ids)
	}
	return ids[0]
}

func ref(id string) obj    { return obj{"Ref": id} }
func getAtt(id string) obj { return obj{"Fn::GetAtt": []any{id, "Arn"}} }

// strings of a policy field that may be a string or a list.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func statements(doc any) []obj {
	d, _ := doc.(obj)
	var out []obj
	switch s := d["Statement"].(type) {
	case []any:
		for _, e := range s {
			if st, ok := e.(obj); ok {
				out = append(out, st)
			}
		}
	case obj:
		out = append(out, s)
	}
	return out
}

func TestKMSKey(t *testing.T) {
	// The data key, the calendar's token key (infra/calendar.go) and the
	// audit chain key (infra/audit.go).
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(3)) })
	check(t, func() {
		template.HasResource(jsii.String("AWS::KMS::Key"), obj{
			"Properties":     obj{"EnableKeyRotation": true},
			"DeletionPolicy": "Retain",
		})
	})
}

// onlyID is the logical id of the stack's one resource of type typ.
func onlyID(t *testing.T, typ string) string {
	t.Helper()
	for id := range ofType(typ) {
		return id
	}
	t.Fatal("no " + typ)
	return ""
}

// onlyIDWith is the logical id of the resource of type typ whose id starts
// with prefix.
func onlyIDWith(t *testing.T, typ, prefix string) string {
	t.Helper()
	for id := range ofType(typ) {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	t.Fatal("no " + typ + " " + prefix)
	return ""
}

// keyID is the data key's logical id (the other key seals calendar tokens).
func keyID(t *testing.T) string { return onlyIDWith(t, "AWS::KMS::Key", "DataKey") }

// bucketID is the documents bucket's logical id (the other bucket holds its
// access logs).
func bucketID(t *testing.T) string { return onlyIDWith(t, "AWS::S3::Bucket", "Bucket") }

// objectsArn is how the template spells the ARN of every object of a bucket.
func objectsArn(bucketID string) obj {
	return obj{"Fn::Join": []any{"", []any{getAtt(bucketID), "/*"}}}
}

func TestTable(t *testing.T) {
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	check(t, func() {
		template.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{
			"DeletionPolicy": "Retain",
			"Properties": obj{
				"KeySchema": []any{
					obj{"AttributeName": store.AttrPK, "KeyType": "HASH"},
					obj{"AttributeName": store.AttrSK, "KeyType": "RANGE"},
				},
				"BillingMode":                      "PAY_PER_REQUEST",
				"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
				"DeletionProtectionEnabled":        true,
				"SSESpecification": obj{
					"SSEEnabled":     true,
					"SSEType":        "KMS",
					"KMSMasterKeyId": getAtt(keyID(t)),
				},
				"TimeToLiveSpecification": obj{"AttributeName": store.AttrTTL, "Enabled": true},
				// The relay reads new activity entries from the stream.
				"StreamSpecification": obj{"StreamViewType": "NEW_IMAGE"},
			},
		})
	})

	var gsiCount int
	for _, r := range ofType("AWS::DynamoDB::Table") {
		g, _ := props(r)["GlobalSecondaryIndexes"].([]any)
		gsiCount += len(g)
	}
	if gsiCount != len(store.Indexes) {
		t.Errorf("GSIs: got %d, want %d (store.Indexes)", gsiCount, len(store.Indexes))
	}
	for _, ix := range store.Indexes {
		t.Run(ix.Name, func(t *testing.T) {
			check(t, func() {
				template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj{
					"GlobalSecondaryIndexes": arrayWith(obj{
						"IndexName": ix.Name,
						"KeySchema": []any{
							obj{"AttributeName": ix.PartitionKey, "KeyType": "HASH"},
							obj{"AttributeName": ix.SortKey, "KeyType": "RANGE"},
						},
						"Projection": obj{"ProjectionType": "ALL"},
					}),
					"AttributeDefinitions": arrayWith(
						obj{"AttributeName": ix.PartitionKey, "AttributeType": "S"},
						obj{"AttributeName": ix.SortKey, "AttributeType": "S"},
					),
				})
			})
		})
	}
}

func TestBucket(t *testing.T) {
	// The documents bucket and the one receiving its access logs.
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2)) })
	check(t, func() {
		template.HasResource(jsii.String("AWS::S3::Bucket"), obj{
			"DeletionPolicy": "Retain",
			"Properties": obj{
				"BucketEncryption": obj{
					"ServerSideEncryptionConfiguration": []any{obj{
						"BucketKeyEnabled": true,
						"ServerSideEncryptionByDefault": obj{
							"SSEAlgorithm":   "aws:kms",
							"KMSMasterKeyID": getAtt(keyID(t)),
						},
					}},
				},
				"PublicAccessBlockConfiguration": obj{
					"BlockPublicAcls":       true,
					"BlockPublicPolicy":     true,
					"IgnorePublicAcls":      true,
					"RestrictPublicBuckets": true,
				},
				"VersioningConfiguration": obj{"Status": "Enabled"},
				"LoggingConfiguration": obj{
					"DestinationBucketName": ref(onlyIDWith(t, "AWS::S3::Bucket", "AccessLogs")),
					"LogFilePrefix":         "documents/",
				},
				"LifecycleConfiguration": obj{
					"Rules": arrayWith(
						// Uploads land under staging/ until complete copies them.
						objectLike(obj{"Prefix": "staging/", "ExpirationInDays": 1, "Status": "Enabled",
							"AbortIncompleteMultipartUpload": obj{"DaysAfterInitiation": 1}}),
						objectLike(obj{"Prefix": "exports/", "ExpirationInDays": 7, "Status": "Enabled"}),
						objectLike(obj{"NoncurrentVersionExpiration": obj{"NoncurrentDays": 90}, "Status": "Enabled"}),
					),
				},
			},
		})
	})
}

// TestBucketCORS: browsers PUT and GET documents straight to S3 with
// presigned URLs, from the app's origins only, sending only the headers
// signed into the URL.
func TestBucketCORS(t *testing.T) {
	want := obj{"CorsRules": []any{obj{
		"AllowedOrigins": anys(corsOrigins),
		"AllowedMethods": []any{"PUT", "GET", "HEAD"},
		"AllowedHeaders": []any{
			"content-type",
			"x-amz-server-side-encryption",
			"x-amz-server-side-encryption-aws-kms-key-id",
		},
		"ExposedHeaders": []any{"ETag"},
		"MaxAge":         float64(600),
	}}}
	got := props(resources[bucketID(t)].(obj))["CorsConfiguration"]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CorsConfiguration =\n%v\nwant\n%v", got, want)
	}
}

func TestBucketPolicy(t *testing.T) {
	tests := []struct {
		name string
		stmt obj
	}{
		{"deny non-TLS", obj{
			"Effect":    "Deny",
			"Action":    "s3:*",
			"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
		}},
		{"deny puts without SSE-KMS", obj{
			"Sid":       "DenyNonKmsPuts",
			"Effect":    "Deny",
			"Action":    "s3:PutObject",
			"Principal": obj{"AWS": "*"},
			"Resource":  objectsArn(bucketID(t)),
			"Condition": obj{"StringNotEquals": obj{"s3:x-amz-server-side-encryption": "aws:kms"}},
		}},
		{"deny puts under another KMS key", obj{
			"Sid":       "DenyOtherKmsKeys",
			"Effect":    "Deny",
			"Action":    "s3:PutObject",
			"Principal": obj{"AWS": "*"},
			"Resource":  objectsArn(bucketID(t)),
			"Condition": obj{"StringNotEqualsIfExists": obj{
				"s3:x-amz-server-side-encryption-aws-kms-key-id": getAtt(keyID(t)),
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func() {
				template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj{
					"PolicyDocument": obj{"Statement": arrayWith(objectLike(tt.stmt))},
				})
			})
		})
	}
}

func TestSigningSecret(t *testing.T) {
	// The HMAC seed every function reads, the token seed only issuers read,
	// the Stripe key and webhook secret, the Twilio credentials, the AI key,
	// the Dropbox Sign key, the Giphy key and the Microsoft client secret.
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(9)) })
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), obj{
			"GenerateSecretString": obj{"PasswordLength": 64, "ExcludePunctuation": true},
			"KmsKeyId":             getAtt(keyID(t)),
		})
	})
}

func TestFunctions(t *testing.T) {
	fns := routes.Functions()
	check(t, func() {
		// One per routed function, plus the deploy-time token key publisher,
		// the event relay, the Stripe worker, the message worker, the notifier,
		// the AI worker, the e-signature worker, the chat WebSocket API's, the calendar worker and the privacy worker.
		template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(fns)+10)))
	})
	logGroups := ofType("AWS::Logs::LogGroup")
	for _, name := range fns {
		t.Run(name, func(t *testing.T) {
			p := props(resources[functionID(t, name)].(obj))
			want := obj{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    float64(cmp.Or(permsFor(name).MemoryMB, 256)),
				"Timeout":       float64(cmp.Or(permsFor(name).TimeoutSeconds, 10)),
				"TracingConfig": obj{"Mode": "Active"},
			}
			for k, v := range want {
				if fmt.Sprint(p[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, p[k], v)
				}
			}

			env, _ := dig(p, "Environment", "Variables").(obj)
			wantEnv := map[string]string{
				"TOKEN_ISSUER":   "matterly",
				"TOKEN_AUDIENCE": "matterly-app",
				"LOG_LEVEL":      "info",
				"CORS_ORIGINS":   strings.Join(corsOrigins, ","),
			}
			for k, v := range wantEnv {
				if env[k] != v {
					t.Errorf("env %s = %v, want %q", k, env[k], v)
				}
			}
			// Resource-derived values are tokens; check they point at the right resource.
			for _, k := range []string{"TABLE_NAME", "SIGNING_SECRET_ARN", "KMS_KEY_ID", "EVENT_BUS_NAME"} {
				if env[k] == nil {
					t.Errorf("env %s missing", k)
				}
			}
			// Only functions that may use the bucket are told its name.
			if p := permsFor(name); (env["BUCKET_NAME"] != nil) != (p.Bucket || p.ReadDocuments || p.PrivacyExports || p.Erasure || p.AuditVerify) {
				t.Errorf("BUCKET_NAME set = %v, bucket permission = %v", env["BUCKET_NAME"] != nil, p.Bucket || p.ReadDocuments || p.PrivacyExports || p.Erasure || p.AuditVerify)
			}
			// The calendar function seals tokens under its own key (TestCalendarPipeline).
			if fmt.Sprint(env["KMS_KEY_ID"]) != fmt.Sprint(getAtt(keyID(t))) && !permsFor(name).Calendar {
				t.Errorf("KMS_KEY_ID = %v, want the key ARN", env["KMS_KEY_ID"])
			}

			lg := dig(p, "LoggingConfig", "LogGroup")
			lgID, _ := dig(lg, "Ref").(string)
			group, ok := logGroups[lgID]
			if !ok {
				t.Fatalf("LoggingConfig.LogGroup = %v, want a Ref to a log group of this stack", lg)
			}
			if days := props(group)["RetentionInDays"]; days != float64(30) {
				t.Errorf("log group RetentionInDays = %v, want 30", days)
			}
		})
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	groups := ofType("AWS::Logs::LogGroup")
	if len(groups) < len(routes.Functions()) {
		t.Errorf("%d log groups for %d functions", len(groups), len(routes.Functions()))
	}
	for id, g := range groups {
		if props(g)["RetentionInDays"] == nil {
			t.Errorf("log group %s has no RetentionInDays", id)
		}
	}
}

func TestCORS(t *testing.T) {
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), obj{
			"ProtocolType": "HTTP",
			"CorsConfiguration": obj{
				"AllowOrigins":     anys(corsOrigins),
				"AllowMethods":     []any{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
				"AllowHeaders":     []any{"Authorization", "Content-Type", "Idempotency-Key"},
				"AllowCredentials": true,
				"MaxAge":           600,
			},
		})
	})
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": obj{
				"ThrottlingRateLimit":  assertions.Match_AnyValue(),
				"ThrottlingBurstLimit": assertions.Match_AnyValue(),
			},
		})
	})
	if _, ok := outputs["ApiUrl"]; !ok {
		t.Errorf("no ApiUrl output; outputs: %v", outputs)
	}
}

func TestRoutes(t *testing.T) {
	routeRes := httpAPIOnly(t, ofType("AWS::ApiGatewayV2::Route"))
	integrations := httpAPIOnly(t, ofType("AWS::ApiGatewayV2::Integration"))
	var apiRoutes []routes.Route
	apiFns := map[string]bool{}
	for _, r := range routes.Table {
		if !r.FunctionURL {
			apiRoutes = append(apiRoutes, r)
			apiFns[r.Function] = true
		}
	}
	if len(routeRes) != len(apiRoutes) {
		t.Errorf("%d routes in template, %d in routes.Table outside function URLs", len(routeRes), len(apiRoutes))
	}
	// One integration per function the API serves, reused by all of its routes.
	if len(integrations) != len(apiFns) {
		t.Errorf("%d integrations, want one per API function (%d)", len(integrations), len(apiFns))
	}
	for id, in := range integrations {
		p := props(in)
		if p["IntegrationType"] != "AWS_PROXY" || p["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: type %v, payload %v; want AWS_PROXY, 2.0", id, p["IntegrationType"], p["PayloadFormatVersion"])
		}
	}

	byKey := map[string]obj{}
	for _, r := range routeRes {
		if k, ok := props(r)["RouteKey"].(string); ok {
			byKey[k] = props(r)
		}
	}
	for _, r := range apiRoutes {
		t.Run(r.Key(), func(t *testing.T) {
			route, ok := byKey[r.Key()]
			if !ok {
				t.Fatalf("no AWS::ApiGatewayV2::Route with RouteKey %q", r.Key())
			}
			// Target is {"Fn::Join": ["", ["integrations/", {"Ref": <integration>}]]}.
			join, _ := dig(route, "Target", "Fn::Join").([]any)
			var integID string
			if len(join) == 2 {
				if parts, _ := join[1].([]any); len(parts) == 2 && parts[0] == "integrations/" {
					integID, _ = dig(parts[1], "Ref").(string)
				}
			}
			integ, ok := integrations[integID]
			if !ok {
				t.Fatalf("Target %v does not reference an integration", route["Target"])
			}
			got := fmt.Sprint(props(integ)["IntegrationUri"])
			if want := fmt.Sprint(getAtt(functionID(t, r.Function))); got != want {
				t.Errorf("IntegrationUri = %s, want %s (function %s)", got, want, r.Function)
			}
		})
	}
}

// allowStatements yields every Allow statement of every IAM policy document
// in the template (standalone policies and roles' inline policies), with the
// policy's logical id.
func allowStatements() map[string][]obj {
	out := map[string][]obj{}
	for id, p := range ofType("AWS::IAM::Policy") {
		for _, st := range statements(props(p)["PolicyDocument"]) {
			if st["Effect"] == "Allow" {
				out[id] = append(out[id], st)
			}
		}
	}
	for id, r := range ofType("AWS::IAM::Role") {
		pols, _ := props(r)["Policies"].([]any)
		for _, p := range pols {
			doc := dig(p, "PolicyDocument")
			for _, st := range statements(doc) {
				if st["Effect"] == "Allow" {
					out[id] = append(out[id], st)
				}
			}
		}
	}
	return out
}

func TestNoWildcardPermissions(t *testing.T) {
	// X-Ray and dynamodb:ListStreams (granted with the relay's stream read;
	// it lists stream ARNs, no data) have no resource-level permissions;
	// everything else names its resource.
	onAnyResource := []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			actions := stringsOf(st["Action"])
			onAnything := slices.Contains(stringsOf(st["Resource"]), "*")
			for _, a := range actions {
				if a == "*" || (onAnything && !slices.Contains(onAnyResource, a)) {
					t.Errorf("%s allows %q on %v", id, a, st["Resource"])
				}
				// Lists are queries by design; no function may scan the table.
				if a == "dynamodb:Scan" || a == "dynamodb:*" {
					t.Errorf("%s allows %q", id, a)
				}
			}
		}
	}
	for id, r := range ofType("AWS::IAM::Role") {
		arns, _ := props(r)["ManagedPolicyArns"].([]any)
		for _, arn := range arns {
			if s := fmt.Sprint(arn); strings.Contains(s, "FullAccess") || strings.Contains(s, "AdministratorAccess") {
				t.Errorf("role %s has managed policy %s", id, s)
			}
		}
	}
}

// roleStatements returns the Allow statements of the policies attached to
// the role of the function built for name.
func roleStatements(t *testing.T, name string) []obj {
	t.Helper()
	return roleStatementsOf(t, functionID(t, name))
}

// roleStatementsOf is roleStatements for the function of logical id fnID.
func roleStatementsOf(t *testing.T, fnID string) []obj {
	t.Helper()
	fn := props(resources[fnID].(obj))
	roleArn, _ := dig(fn, "Role", "Fn::GetAtt").([]any)
	if len(roleArn) != 2 {
		t.Fatalf("Role = %v, want a GetAtt of a role of this stack", fn["Role"])
	}
	roleID, _ := roleArn[0].(string)

	allow := allowStatements()
	var out []obj
	for id, p := range ofType("AWS::IAM::Policy") {
		roles, _ := props(p)["Roles"].([]any)
		for _, r := range roles {
			if fmt.Sprint(r) == fmt.Sprint(ref(roleID)) {
				out = append(out, allow[id]...)
			}
		}
	}
	return out
}

// grants reports whether any statement allows action on resource, reading
// IAM wildcards in actions ("s3:DeleteObject*") the way IAM does.
func grants(sts []obj, action string, resource any) bool {
	for _, st := range sts {
		res, ok := st["Resource"].([]any)
		if !ok {
			res = []any{st["Resource"]}
		}
		if !slices.ContainsFunc(res, func(r any) bool { return fmt.Sprint(r) == fmt.Sprint(resource) }) {
			continue
		}
		for _, a := range stringsOf(st["Action"]) {
			if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
				return true
			}
		}
	}
	return false
}

// TestBucketAccess: the documents function holds what presigned PUT/GET
// URLs, HeadObject, ranged and versioned GetObject, DeleteObject(s) and
// deletes by VersionId need on an SSE-KMS bucket, on its objects and key;
// crm (which erases clients) may only delete object versions
// (TestPrivacyPipeline), never read or write them.
func TestBucketAccess(t *testing.T) {
	bucket := bucketID(t)
	objects := objectsArn(bucket)
	key := getAtt(keyID(t))
	tests := []struct {
		fn      string
		objects []string // actions wanted on the bucket's objects
		key     []string // actions wanted on the KMS key
	}{
		{
			fn:      routes.FnDocuments,
			objects: []string{"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"},
			// SSE-KMS: puts need a data key, gets decrypt it.
			key: []string{"kms:GenerateDataKey", "kms:Decrypt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			sts := roleStatements(t, tt.fn)
			for _, a := range tt.objects {
				if !grants(sts, a, objects) {
					t.Errorf("%s not allowed on the bucket's objects", a)
				}
			}
			for _, a := range tt.key {
				if !grants(sts, a, key) {
					t.Errorf("%s not allowed on the data key", a)
				}
			}
			if tt.objects != nil {
				return
			}
			for _, st := range sts {
				for _, a := range stringsOf(st["Action"]) {
					if strings.HasPrefix(strings.ToLower(a), "s3:") {
						t.Errorf("allows %s on %v", a, st["Resource"])
					}
				}
				if strings.Contains(fmt.Sprint(st["Resource"]), bucket) {
					t.Errorf("statement on the bucket: %v", st)
				}
			}
		})
	}
}

// TestFunctionPermissions checks each function's role against its entry in
// the permissions table: granted resources appear, others do not.
func TestFunctionPermissions(t *testing.T) {
	for _, name := range routes.Functions() {
		t.Run(name, func(t *testing.T) {
			var actions []string
			for _, st := range roleStatements(t, name) {
				actions = append(actions, stringsOf(st["Action"])...)
			}
			has := func(prefix string) bool {
				return slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, prefix) })
			}
			p := permsFor(name)
			for _, c := range []struct {
				what   string
				want   bool
				action string
			}{
				{"table", p.Table, "dynamodb:PutItem"},
				{"secret", p.Secret, "secretsmanager:GetSecretValue"},
				{"bucket", p.Bucket || p.ReadDocuments || p.PrivacyExports || p.Erasure || p.AuditVerify, "s3:"},
				{"object versions listed", p.Bucket || p.Erasure, "s3:ListBucketVersions"},
				{"bucket writes", p.Bucket, "s3:PutObject"},
				{"events", p.Events, "events:PutEvents"},
			} {
				if got := has(c.action); got != c.want {
					t.Errorf("%s access (%s): got %v, want %v; actions %v", c.what, c.action, got, c.want, actions)
				}
			}
		})
	}
}

func TestAlarms(t *testing.T) {
	for _, name := range append(routes.Functions(), fnRelay) {
		for _, metric := range []string{"Errors", "Throttles"} {
			t.Run(name+"/"+metric, func(t *testing.T) {
				check(t, func() {
					template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
						"Namespace":          "AWS/Lambda",
						"MetricName":         metric,
						"Dimensions":         []any{obj{"Name": "FunctionName", "Value": ref(functionID(t, name))}},
						"Statistic":          "Sum",
						"Period":             300,
						"Threshold":          1,
						"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					})
				})
			})
		}
	}
	t.Run("api 5xx", func(t *testing.T) {
		check(t, func() {
			template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
				"Namespace":  "AWS/ApiGateway",
				"MetricName": "5xx",
				"Threshold":  1,
			})
		})
	})
	for _, tt := range []struct {
		name  string
		alarm obj
	}{
		{"relay iterator age", obj{
			"Namespace":          "AWS/Lambda",
			"MetricName":         "IteratorAge",
			"Dimensions":         []any{obj{"Name": "FunctionName", "Value": ref(functionID(t, fnRelay))}},
			"Statistic":          "Maximum",
			"Period":             300,
			"Threshold":          60000,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		}},
		{"relay failures queue", obj{
			"Namespace":          "AWS/SQS",
			"MetricName":         "ApproximateNumberOfMessagesVisible",
			"Dimensions":         []any{obj{"Name": "QueueName", "Value": obj{"Fn::GetAtt": []any{relayQueueID(t), "QueueName"}}}},
			"Statistic":          "Maximum",
			"Period":             300,
			"Threshold":          1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func() { template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), tt.alarm) })
		})
	}
	// Its metric is gone: events are published by the relay, not after commits.
	for id, a := range ofType("AWS::CloudWatch::Alarm") {
		if props(a)["MetricName"] == "EventPublishFailures" {
			t.Errorf("alarm %s still watches EventPublishFailures", id)
		}
	}
}

func TestPermsFor(t *testing.T) {
	tests := []struct {
		name string
		want perms
	}{
		{routes.FnAccounts, perms{Table: true, Secret: true, TokenSigner: true, AccountEmail: true}},
		{routes.FnAuth, perms{Table: true, Secret: true, TokenSigner: true, Seal: true}},
		{routes.FnOrg, perms{Table: true, Secret: true, AuditVerify: true}},
		// They write activity entries; the relay publishes the events.
		// It erases clients: their documents' object versions go.
		{routes.FnCRM, perms{Table: true, Secret: true, Erasure: true, TimeoutSeconds: 30}},
		{routes.FnDocuments, perms{Table: true, Secret: true, Bucket: true}},
		{"not-a-function", defaultPerms},
	}
	for _, tt := range tests {
		if got := permsFor(tt.name); got != tt.want {
			t.Errorf("permsFor(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// TOTP secrets are opened by the auth function alone.
	for _, name := range routes.Functions() {
		if permsFor(name).Seal != (name == routes.FnAuth) {
			t.Errorf("permsFor(%q).Seal = %v: only auth seals secrets", name, permsFor(name).Seal)
		}
	}
	// The bucket holds documents: only the documents function, the AI
	// function (which extracts their text, and saves drafts) and chat (its
	// attachments) may touch it.
	for _, name := range routes.Functions() {
		if p := permsFor(name); p.Table == (name == routes.FnStripeWebhook) || !p.Secret || p.Bucket != (name == routes.FnDocuments || name == routes.FnAI || name == routes.FnChat) {
			t.Errorf("%s: %+v, want table (but the webhook) and secret, bucket only for %s, %s and %s", name, p, routes.FnDocuments, routes.FnAI, routes.FnChat)
		}
	}
}

func TestStringList(t *testing.T) {
	tests := []struct {
		in      any
		want    []string
		wantErr bool
	}{
		{nil, nil, false},
		{[]any{"http://a", " http://b "}, []string{"http://a", "http://b"}, false},
		{"http://a,http://b", []string{"http://a", "http://b"}, false},
		{`["http://a","http://b"]`, []string{"http://a", "http://b"}, false},
		{[]any{"http://a", 3}, nil, true},
		{42, nil, true},
	}
	for _, tt := range tests {
		got, err := stringList(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("stringList(%#v) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestValidateOrigins(t *testing.T) {
	for _, tt := range []struct {
		in []string
		ok bool
	}{
		{nil, false},
		{[]string{"*"}, false},
		{[]string{"https://app.example.com"}, true},
	} {
		if err := validateOrigins(tt.in); (err == nil) != tt.ok {
			t.Errorf("validateOrigins(%v) = %v", tt.in, err)
		}
	}
}

func TestPascal(t *testing.T) {
	for in, want := range map[string]string{"auth": "Auth", "trust-ledger": "TrustLedger", "sms_out": "SmsOut"} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadCDKContextMissingFile(t *testing.T) {
	ctx, err := loadCDKContext(filepath.Join(t.TempDir(), "cdk.json"))
	if err != nil || len(ctx) != 0 {
		t.Errorf("got %v, %v; want empty context", ctx, err)
	}
}

// TestEventBus checks the domain event bus exists and every function knows
// its name, while only the relay and functions allowed to publish may call
// PutEvents, and only on this bus.
func TestEventBus(t *testing.T) {
	if n := len(ofType("AWS::Events::EventBus")); n != 1 {
		t.Fatalf("%d event buses, want 1", n)
	}
	for _, name := range append(routes.Functions(), fnRelay) {
		id := functionID(t, name)
		vars, _ := dig(props(resources[id].(obj)), "Environment", "Variables").(map[string]any)
		if vars["EVENT_BUS_NAME"] == nil {
			t.Errorf("function %s has no EVENT_BUS_NAME", id)
		}
	}
	var bus string
	for id := range ofType("AWS::Events::EventBus") {
		bus = id
	}
	publishers := 1 // the relay
	if !grants(roleStatements(t, fnRelay), "events:PutEvents", getAtt(bus)) {
		t.Errorf("%s may not publish to the bus", fnRelay)
	}
	for _, name := range routes.Functions() {
		if permsFor(name).Events {
			publishers++
			if !grants(roleStatements(t, name), "events:PutEvents", getAtt(bus)) {
				t.Errorf("%s may not publish to the bus", name)
			}
		}
	}
	// crm and documents write activity entries instead of publishing.
	for _, name := range []string{routes.FnCRM, routes.FnDocuments} {
		if grants(roleStatements(t, name), "events:PutEvents", getAtt(bus)) {
			t.Errorf("%s may still publish to the bus", name)
		}
	}
	// No other role (the token key publisher) may publish.
	granted := 0
	for _, sts := range allowStatements() {
		for _, st := range sts {
			if slices.Contains(stringsOf(st["Action"]), "events:PutEvents") {
				granted++
			}
		}
	}
	if granted != publishers {
		t.Errorf("%d statements allow events:PutEvents, want %d (the relay and functions with Events)", granted, publishers)
	}
}

// TestTokenKeySplit: only token issuers can read the token secret; every
// function verifies with the public key the deploy-time custom resource
// publishes from it.
func TestTokenKeySplit(t *testing.T) {
	crs := ofType("AWS::CloudFormation::CustomResource")
	if len(crs) != 1 {
		t.Fatalf("%d custom resources, want 1 (the token public key)", len(crs))
	}
	var crID string
	for id, cr := range crs {
		crID = id
		p := props(cr)
		if fmt.Sprint(p["ServiceTimeout"]) != "300" || p["KeyVersion"] != "1" {
			t.Errorf("custom resource ServiceTimeout %v, KeyVersion %v; want 300 and \"1\"", p["ServiceTimeout"], p["KeyVersion"])
		}
	}
	secretID := ""
	for id, r := range ofType("AWS::SecretsManager::Secret") {
		if strings.Contains(fmt.Sprint(props(r)["Description"]), "access-token") {
			secretID = id
		}
	}
	if secretID == "" {
		t.Fatal("no token secret")
	}
	for _, name := range routes.Functions() {
		env, _ := dig(props(resources[functionID(t, name)].(obj)), "Environment", "Variables").(map[string]any)
		if got := fmt.Sprint(env["TOKEN_PUBLIC_KEY"]); !strings.Contains(got, crID) || !strings.Contains(got, "PublicKey") {
			t.Errorf("%s: TOKEN_PUBLIC_KEY = %s, want the custom resource's PublicKey", name, got)
		}
		if (env["TOKEN_SECRET_ARN"] != nil) != permsFor(name).TokenSigner {
			t.Errorf("%s: TOKEN_SECRET_ARN set = %v, token signer = %v", name, env["TOKEN_SECRET_ARN"] != nil, permsFor(name).TokenSigner)
		}
	}
	// Roles whose policies name the token secret: the signers and the key publisher, nobody else.
	readers := 0
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if strings.Contains(fmt.Sprint(st["Resource"]), secretID) {
				readers++
				if !strings.Contains(id, "Accounts") && !strings.Contains(id, "Auth") && !strings.Contains(id, "TokenKey") {
					t.Errorf("%s may read the token secret", id)
				}
			}
		}
	}
	if readers != 3 {
		t.Errorf("%d policies read the token secret, want 3 (accounts, auth, tokenkey)", readers)
	}
}

func tableID(t *testing.T) string { return onlyID(t, "AWS::DynamoDB::Table") }

// relayQueueID is the logical id of the relay's DLQ.
func relayQueueID(t *testing.T) string {
	t.Helper()
	for id := range ofType("AWS::SQS::Queue") {
		if strings.HasPrefix(id, "RelayFailures") {
			return id
		}
	}
	t.Fatal("no RelayFailures queue")
	return ""
}

func streamArn(t *testing.T) obj {
	return obj{"Fn::GetAtt": []any{tableID(t), "StreamArn"}}
}

// relayFilterPattern is what the relay's event source lets through: new
// activity entries (every one goes to the audit log; some announce events).
const relayFilterPattern = `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["activity"]}}}}`

// TestRelayFunction: the relay runs like the API functions, with only the
// bus name, the table (for the audit log) and log level in its environment
// (no secrets).
func TestRelayFunction(t *testing.T) {
	p := props(resources[functionID(t, fnRelay)].(obj))
	for _, tt := range []struct {
		key  string
		want any
	}{
		{"Runtime", "provided.al2023"},
		{"Architectures", []any{"arm64"}},
		{"Handler", "bootstrap"},
		{"MemorySize", float64(256)},
		{"Timeout", float64(30)},
		{"TracingConfig", obj{"Mode": "Active"}},
		{"Environment", obj{"Variables": obj{
			"EVENT_BUS_NAME": ref(busID(t)),
			"TABLE_NAME":     ref(tableID(t)),
			"LOG_LEVEL":      "info",
			"AUDIT_KEY_ID":   getAtt(onlyIDWith(t, "AWS::KMS::Key", "AuditChainKey")),
		}}},
	} {
		if !reflect.DeepEqual(p[tt.key], tt.want) {
			t.Errorf("%s = %v, want %v", tt.key, p[tt.key], tt.want)
		}
	}
	lgID, _ := dig(p, "LoggingConfig", "LogGroup", "Ref").(string)
	group, ok := ofType("AWS::Logs::LogGroup")[lgID]
	if !ok {
		t.Fatalf("LoggingConfig.LogGroup = %v, want a Ref to a log group of this stack", dig(p, "LoggingConfig"))
	}
	if days := props(group)["RetentionInDays"]; days != float64(30) {
		t.Errorf("log group RetentionInDays = %v, want 30", days)
	}
}

func busID(t *testing.T) string {
	t.Helper()
	for id := range ofType("AWS::Events::EventBus") {
		return id
	}
	t.Fatal("no event bus")
	return ""
}

// TestRelayEventSource: the relay reads the table's stream from its oldest
// record, in order per shard, only for new entries announcing an event,
// reports partial failures and parks what it gives up on in its DLQ.
func TestRelayEventSource(t *testing.T) {
	var m obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Relay") {
			if m != nil {
				t.Fatal("two event source mappings for the relay")
			}
			m = props(r)
		}
	}
	if m == nil {
		t.Fatal("no event source mapping for the relay")
	}
	for _, tt := range []struct {
		key  string
		want any
	}{
		{"FunctionName", ref(functionID(t, fnRelay))},
		{"EventSourceArn", streamArn(t)},
		{"StartingPosition", "TRIM_HORIZON"},
		{"BatchSize", float64(25)},
		{"MaximumBatchingWindowInSeconds", float64(1)},
		{"BisectBatchOnFunctionError", true},
		{"MaximumRetryAttempts", float64(10)},
		{"MaximumRecordAgeInSeconds", float64(24 * 60 * 60)},
		{"ParallelizationFactor", float64(1)},
		{"FunctionResponseTypes", []any{"ReportBatchItemFailures"}},
		{"DestinationConfig", obj{"OnFailure": obj{"Destination": getAtt(relayQueueID(t))}}},
	} {
		if !reflect.DeepEqual(m[tt.key], tt.want) {
			t.Errorf("%s = %v, want %v", tt.key, m[tt.key], tt.want)
		}
	}

	// One filter; compared as JSON, since key order carries no meaning
	// (jsii writes Go maps with sorted keys).
	filters, _ := dig(m, "FilterCriteria", "Filters").([]any)
	if len(filters) != 1 {
		t.Fatalf("FilterCriteria = %v, want one filter", m["FilterCriteria"])
	}
	pattern, _ := dig(filters[0], "Pattern").(string)
	var got, want any
	if err := json.Unmarshal([]byte(pattern), &got); err != nil {
		t.Fatalf("filter pattern %q: %v", pattern, err)
	}
	if err := json.Unmarshal([]byte(relayFilterPattern), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filter pattern = %s, want %s", pattern, relayFilterPattern)
	}
}

// TestRelayQueue: the relay's DLQ is encrypted with our key, keeps messages
// for 14 days and refuses non-TLS requests.
func TestRelayQueue(t *testing.T) {
	queue := relayQueueID(t)
	p := props(resources[queue].(obj))
	for _, tt := range []struct {
		key  string
		want any
	}{
		{"KmsMasterKeyId", getAtt(keyID(t))},
		{"MessageRetentionPeriod", float64(14 * 24 * 60 * 60)},
	} {
		if !reflect.DeepEqual(p[tt.key], tt.want) {
			t.Errorf("%s = %v, want %v", tt.key, p[tt.key], tt.want)
		}
	}
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{
			"Queues": []any{ref(queue)},
			"PolicyDocument": obj{"Statement": arrayWith(objectLike(obj{
				"Effect":    "Deny",
				"Action":    "sqs:*",
				"Resource":  getAtt(queue),
				"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}))},
		})
	})
}

// TestRelayPermissions: the relay may read the stream (decrypting it with
// the data key), publish to the bus, send to its DLQ, and batch-read and
// put the table's items (the audit chain), and nothing else: no queries,
// updates, deletes or scans, no index, no secrets, no bucket.
func TestRelayPermissions(t *testing.T) {
	sts := roleStatements(t, fnRelay)
	stream, key := streamArn(t), getAtt(keyID(t))
	for _, tt := range []struct {
		action   string
		resource any
	}{
		{"dynamodb:DescribeStream", stream},
		{"dynamodb:GetRecords", stream},
		{"dynamodb:GetShardIterator", stream},
		// IAM has no resource-level permission for ListStreams.
		{"dynamodb:ListStreams", "*"},
		{"kms:Decrypt", key},
		{"events:PutEvents", getAtt(busID(t))},
		{"sqs:SendMessage", getAtt(relayQueueID(t))},
		{"kms:GenerateDataKey", key}, // sending to the KMS-encrypted queue
		{"dynamodb:BatchGetItem", getAtt(tableID(t))},
		{"dynamodb:PutItem", getAtt(tableID(t))},
	} {
		if !grants(sts, tt.action, tt.resource) {
			t.Errorf("%s not allowed on %v", tt.action, tt.resource)
		}
	}

	// Stream reads only on this table's stream.
	for _, st := range sts {
		for _, a := range stringsOf(st["Action"]) {
			if slices.Contains([]string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, a) &&
				fmt.Sprint(st["Resource"]) != fmt.Sprint(stream) {
				t.Errorf("allows %s on %v, want the table's stream only", a, st["Resource"])
			}
		}
	}

	denied := []string{
		"dynamodb:Scan", "dynamodb:DescribeTable",
		"secretsmanager:GetSecretValue", "s3:GetObject", "s3:PutObject",
	}
	for _, a := range *tableActions {
		if *a != "dynamodb:BatchGetItem" && *a != "dynamodb:PutItem" {
			denied = append(denied, *a)
		}
	}
	table := getAtt(tableID(t))
	for _, a := range denied {
		for _, res := range []any{table, "*", stream} {
			if grants(sts, a, res) {
				t.Errorf("allows %s on %v", a, res)
			}
		}
	}
	for _, st := range sts {
		for _, a := range stringsOf(st["Action"]) {
			for _, prefix := range []string{"secretsmanager:", "s3:", "dynamodb:Get", "dynamodb:Put", "dynamodb:Query",
				"dynamodb:Update", "dynamodb:Delete", "dynamodb:Batch", "dynamodb:ConditionCheck"} {
				if strings.HasPrefix(a, prefix) && a != "dynamodb:GetRecords" && a != "dynamodb:GetShardIterator" &&
					a != "dynamodb:BatchGetItem" && a != "dynamodb:PutItem" {
					t.Errorf("allows %s on %v", a, st["Resource"])
				}
			}
		}
		// The audit chain's reads and puts on the table itself only; nothing
		// on its indexes, the bucket or the secrets.
		res := fmt.Sprint(st["Resource"])
		if strings.Contains(res, "/index/") || strings.Contains(res, bucketID(t)) {
			t.Errorf("statement on an index or the bucket: %v", st)
		}
		if strings.Contains(res, fmt.Sprint(table)) && !slices.Equal(stringsOf(st["Action"]), []string{"dynamodb:BatchGetItem", "dynamodb:PutItem"}) &&
			!strings.HasPrefix(stringsOf(st["Action"])[0], "dynamodb:DescribeStream") && !strings.Contains(fmt.Sprint(st["Action"]), "GetRecords") {
			t.Errorf("statement on the table: %v", st)
		}
		for id := range ofType("AWS::SecretsManager::Secret") {
			if strings.Contains(res, id) {
				t.Errorf("statement on secret %s: %v", id, st)
			}
		}
	}
}

// TestStripeSecret: the Stripe key is a retained, KMS-encrypted secret
// holding a placeholder until the operator sets it; only the payments
// function learns its ARN and may read it.
func TestStripeSecret(t *testing.T) {
	secretID := ""
	for id, r := range ofType("AWS::SecretsManager::Secret") {
		if strings.HasPrefix(fmt.Sprint(props(r)["Description"]), "Stripe secret key") {
			secretID = id
			if props(r)["SecretString"] != "unset" || r["DeletionPolicy"] != "Retain" || props(r)["KmsKeyId"] == nil {
				t.Errorf("stripe secret %v", r)
			}
		}
	}
	if secretID == "" {
		t.Fatal("no Stripe secret")
	}
	for _, name := range routes.Functions() {
		env, _ := dig(props(resources[functionID(t, name)].(obj)), "Environment", "Variables").(map[string]any)
		if (env["STRIPE_SECRET_ARN"] != nil) != (name == routes.FnPayments) {
			t.Errorf("%s: STRIPE_SECRET_ARN set = %v", name, env["STRIPE_SECRET_ARN"] != nil)
		}
	}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if strings.Contains(fmt.Sprint(st["Resource"]), secretID) && !strings.Contains(id, "Payments") && !strings.Contains(id, "Stripeworker") {
				t.Errorf("%s may read the Stripe secret", id)
			}
		}
	}
}

// TestStripeEventPipeline: the webhook may only check signatures and queue
// (no table); the worker reads the queue with partial batch failures, has
// the table and the Stripe key but no signing secrets; an event failing
// five times lands in a KMS-encrypted DLQ that alarms.
func TestStripeEventPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "StripeEvents")
	q := props(resources[queueID].(obj))
	if fmt.Sprint(dig(q, "RedrivePolicy", "maxReceiveCount")) != "5" || q["KmsMasterKeyId"] == nil || fmt.Sprint(q["VisibilityTimeout"]) != "180" {
		t.Errorf("queue %v", q)
	}
	hook := props(resources[functionID(t, routes.FnStripeWebhook)].(obj))
	env, _ := dig(hook, "Environment", "Variables").(map[string]any)
	if env["STRIPE_WEBHOOK_SECRET_ARN"] == nil || !strings.Contains(fmt.Sprint(env["QUEUE_URLS"]), "stripe-events=") || env["STRIPE_SECRET_ARN"] != nil {
		t.Errorf("webhook environment %v", env)
	}
	hookSts := roleStatements(t, routes.FnStripeWebhook)
	if !grants(hookSts, "sqs:SendMessage", getAtt(queueID)) {
		t.Error("the webhook may not send to the queue")
	}
	for _, st := range hookSts {
		if strings.Contains(fmt.Sprint(st["Action"]), "dynamodb:") {
			t.Errorf("the webhook may use the table: %v", st)
		}
	}
	var mapping obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Stripeworker") {
			mapping = props(r)
		}
	}
	if mapping == nil || fmt.Sprint(mapping["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || !strings.Contains(fmt.Sprint(mapping["EventSourceArn"]), queueID) {
		t.Errorf("worker mapping %v", mapping)
	}
	wenv, _ := dig(props(resources[functionID(t, fnStripeWorker)].(obj)), "Environment", "Variables").(map[string]any)
	if wenv["SIGNING_SECRET_ARN"] != nil || wenv["TOKEN_SECRET_ARN"] != nil || wenv["STRIPE_SECRET_ARN"] == nil || wenv["TABLE_NAME"] == nil {
		t.Errorf("worker environment %v", wenv)
	}

}

// TestWebhookFunctionURL: the Stripe and Twilio webhooks have their own
// function URLs without IAM auth (the providers sign with their own
// secrets, checked in the handler), and are not HTTP API routes; the
// speech function's URL streams (RESPONSE_STREAM) to the app's origins.
func TestWebhookFunctionURL(t *testing.T) {
	urls := ofType("AWS::Lambda::Url")
	if len(urls) != 5 {
		t.Fatalf("%d function URLs, want 5 (the Stripe, Twilio, Dropbox Sign and Microsoft Graph webhooks, speech)", len(urls))
	}
	for _, u := range urls {
		p := props(u)
		target := fmt.Sprint(p["TargetFunctionArn"])
		speech := strings.Contains(target, functionID(t, routes.FnSpeech))
		switch {
		case p["AuthType"] != "NONE":
			t.Errorf("function URL %v", p)
		case speech && (p["InvokeMode"] != "RESPONSE_STREAM" || fmt.Sprint(dig(p, "Cors", "AllowOrigins")) != fmt.Sprint(corsOrigins)):
			t.Errorf("speech URL %v", p)
		case !speech && !strings.Contains(target, functionID(t, routes.FnStripeWebhook)) && !strings.Contains(target, functionID(t, routes.FnTwilioWebhook)) &&
			!strings.Contains(target, functionID(t, routes.FnDropboxSignWebhook)) && !strings.Contains(target, functionID(t, routes.FnMSGraphWebhook)):
			t.Errorf("function URL %v", p)
		}
	}
	for _, r := range ofType("AWS::ApiGatewayV2::Route") {
		if strings.Contains(fmt.Sprint(props(r)["RouteKey"]), "/webhooks/") {
			t.Errorf("webhook served by the HTTP API: %v", props(r)["RouteKey"])
		}
	}
}

// TestMessagingPipeline: the messages queue (KMS, DLQ with an alarm), the
// worker on it with partial batch failures, SES sends only on identities,
// the Twilio secret read only by the messaging functions, and the
// notifier on a 5-minute schedule and on matter status changes.
func TestMessagingPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "Messages")
	q := props(resources[queueID].(obj))
	if fmt.Sprint(dig(q, "RedrivePolicy", "maxReceiveCount")) != "6" || q["KmsMasterKeyId"] == nil {
		t.Errorf("queue %v", q)
	}
	var mapping obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Messageworker") {
			mapping = props(r)
		}
	}
	if mapping == nil || fmt.Sprint(mapping["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || !strings.Contains(fmt.Sprint(mapping["EventSourceArn"]), queueID) {
		t.Errorf("worker mapping %v", mapping)
	}

	// The worker leaves a message to the queue unless it has MinTimeLeft:
	// a timeout at or under it would never send anything.
	wp := props(resources[functionID(t, fnMessageWorker)].(obj))
	if timeout, _ := wp["Timeout"].(float64); time.Duration(timeout)*time.Second < 2*messaging.MinTimeLeft {
		t.Errorf("message worker timeout %vs, want at least twice %v", wp["Timeout"], messaging.MinTimeLeft)
	}
	worker := roleStatements(t, fnMessageWorker)
	ses := false
	for _, st := range worker {
		if fmt.Sprint(st["Action"]) == "ses:SendEmail" {
			ses = true
			if r := fmt.Sprint(st["Resource"]); !strings.Contains(r, "identity/*") || strings.Contains(r, " *") || strings.HasPrefix(r, "*") || strings.Contains(r, "[*") {
				t.Errorf("SES grant wider than identities: %v", r)
			}
		}
	}
	if !ses {
		t.Error("the worker may not send email")
	}
	// The messaging function manages SES identities (orgs' email domains)
	// and only those; it never sends.
	identities := false
	for _, st := range roleStatements(t, routes.FnMessaging) {
		a := fmt.Sprint(st["Action"])
		if strings.Contains(a, "ses:SendEmail") {
			t.Errorf("the messaging function may send email: %v", st)
		}
		if a == "[ses:CreateEmailIdentity ses:DeleteEmailIdentity ses:GetEmailIdentity]" {
			identities = true
			if r := fmt.Sprint(st["Resource"]); !strings.Contains(r, "identity/*") || strings.Contains(r, "configuration-set") || strings.Contains(r, "[*") {
				t.Errorf("SES identity grant wider than identities: %v", r)
			}
		}
	}
	if !identities {
		t.Error("the messaging function may not manage SES identities")
	}
	if env, _ := dig(props(resources[functionID(t, routes.FnMessaging)].(obj)), "Environment", "Variables").(map[string]any); env["WEBHOOK_BASE_URL"] == nil {
		t.Error("the messaging function does not know the Twilio webhook's URL")
	}
	for _, fn := range []string{routes.FnCRM, routes.FnPayments, routes.FnDocuments, fnNotifier} {
		for _, st := range roleStatements(t, fn) {
			if strings.Contains(fmt.Sprint(st["Resource"]), "TwilioSecret") || strings.Contains(fmt.Sprint(st["Action"]), "ses:") {
				t.Errorf("%s may read the Twilio secret or send email: %v", fn, st)
			}
		}
	}
	for _, fn := range []string{routes.FnMessaging, routes.FnTwilioWebhook, fnMessageWorker} {
		env, _ := dig(props(resources[functionID(t, fn)].(obj)), "Environment", "Variables").(map[string]any)
		if env["TWILIO_SECRET_ARN"] == nil {
			t.Errorf("%s has no TWILIO_SECRET_ARN", fn)
		}
	}
	if !grants(roleStatements(t, routes.FnMessaging), "sqs:SendMessage", getAtt(queueID)) {
		t.Error("the messaging function may not queue messages")
	}

	var schedule, events, feedback bool
	notifier := functionID(t, fnNotifier)
	for _, r := range ofType("AWS::Events::Rule") {
		p := props(r)
		if !strings.Contains(fmt.Sprint(p["Targets"]), notifier) {
			continue
		}
		switch {
		case p["ScheduleExpression"] == "rate(5 minutes)":
			schedule = true
		case strings.Contains(fmt.Sprint(dig(p, "EventPattern", "detail-type")), "matter.status_changed"):
			events = p["EventBusName"] != nil
		case strings.Contains(fmt.Sprint(dig(p, "EventPattern", "detail-type")), "Email Complaint Received"):
			feedback = fmt.Sprint(dig(p, "EventPattern", "source")) == "[aws.ses]" && p["EventBusName"] == nil
		}
	}
	if !schedule || !events || !feedback {
		t.Errorf("notifier rules: schedule %v, case updates on our bus %v, SES feedback on the default bus %v", schedule, events, feedback)
	}
	dest := false
	for _, r := range ofType("AWS::SES::ConfigurationSetEventDestination") {
		p := fmt.Sprint(dig(props(r), "EventDestination"))
		dest = dest || strings.Contains(p, "EventBridgeDestination") && strings.Contains(p, "event-bus/default") && strings.Contains(p, "[bounce complaint]")
	}
	wenv, _ := dig(props(resources[functionID(t, fnMessageWorker)].(obj)), "Environment", "Variables").(map[string]any)
	if !dest || wenv["SES_CONFIGURATION_SET"] == nil {
		t.Errorf("SES bounces and complaints are not published (destination %v, worker env %v)", dest, wenv["SES_CONFIGURATION_SET"])
	}
}

// workQueue finds a worker's queue and its DLQ by construct id, and checks
// the DLQ has its alarm.
func workQueue(t *testing.T, id string) (queueID, dlqID string) {
	t.Helper()
	for qid := range ofType("AWS::SQS::Queue") {
		switch {
		case strings.HasPrefix(qid, id+"Failures"):
			dlqID = qid
		case strings.HasPrefix(qid, id):
			queueID = qid
		}
	}
	if queueID == "" || dlqID == "" {
		t.Fatalf("no %s queue or DLQ", id)
	}
	for _, a := range ofType("AWS::CloudWatch::Alarm") {
		if strings.Contains(fmt.Sprint(dig(props(a), "Dimensions")), dlqID) {
			return queueID, dlqID
		}
	}
	t.Errorf("no alarm on the %s DLQ", id)
	return queueID, dlqID
}

// TestAIPipeline: the summaries queue has room for the worker's timeout,
// the worker reads (never writes) the bucket, and only the AI functions
// read the AI provider's key.
func TestAIPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "Summaries")
	if q := props(resources[queueID].(obj)); fmt.Sprint(q["VisibilityTimeout"]) != "5400" {
		t.Errorf("summaries queue %v", q)
	}
	worker := roleStatements(t, fnAIWorker)
	for _, st := range worker {
		if strings.Contains(fmt.Sprint(st["Action"]), "s3:PutObject") || strings.Contains(fmt.Sprint(st["Action"]), "s3:DeleteObject") {
			t.Errorf("the AI worker may write the bucket: %v", st)
		}
	}
	for _, fn := range append(routes.Functions(), fnMessageWorker, fnNotifier, fnStripeWorker) {
		reads := false
		for _, st := range roleStatements(t, fn) {
			reads = reads || strings.Contains(fmt.Sprint(st["Resource"]), "OpenAISecret")
		}
		if want := fn == routes.FnAI || fn == routes.FnSpeech; reads != want {
			t.Errorf("%s reads the AI key: %v, want %v", fn, reads, want)
		}
	}
}

// TestStackSize keeps headroom under CloudFormation's 500 resources per
// stack (synth fails past it): a capability that needs more splits the
// stack rather than creeping up to the limit. One invoke permission per
// function, not per route, is what keeps the API small (TestAPIInvokePermissions).
func TestStackSize(t *testing.T) {
	if n := len(resources); n > 460 {
		t.Errorf("%d resources in the stack; keep it at 460 or fewer (CloudFormation refuses 500)", n)
	}
}

// TestAPIInvokePermissions: API Gateway may invoke each function the HTTP
// API serves, through one permission naming this API.
func TestAPIInvokePermissions(t *testing.T) {
	perms := ofType("AWS::Lambda::Permission")
	for _, name := range routes.Functions() {
		var apiRoutes bool
		for _, r := range routes.ForFunction(name) {
			apiRoutes = apiRoutes || !r.FunctionURL
		}
		var n int
		for _, p := range perms {
			pp := props(p)
			if pp["Principal"] == "apigateway.amazonaws.com" && fmt.Sprint(pp["FunctionName"]) == fmt.Sprint(getAtt(functionID(t, name))) {
				n++
				if arn := fmt.Sprint(pp["SourceArn"]); !strings.Contains(arn, "execute-api") || !strings.Contains(arn, apiID(t)) {
					t.Errorf("%s: SourceArn %s does not name the HTTP API", name, arn)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[apiRoutes]; n != want {
			t.Errorf("%s: %d API Gateway invoke permissions, want %d", name, n, want)
		}
	}
}

// apiID is the HTTP API's logical id.
func apiID(t *testing.T) string {
	t.Helper()
	for id, r := range ofType("AWS::ApiGatewayV2::Api") {
		if props(r)["ProtocolType"] == "HTTP" {
			return id
		}
	}
	t.Fatal("no HTTP API")
	return ""
}
