package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/routes"
)

// anchorsArn is how the template spells the ARN of the audit anchors.
func anchorsArn(bucketID string) obj {
	return obj{"Fn::Join": []any{"", []any{getAtt(bucketID), "/audit-anchors/*"}}}
}

// TestAuditKeyAndAnchors: the audit chain key is used by the relay (makes
// and opens chain keys) and the org function (opens them, to verify) and
// by no other function, though every table writer may use the data key;
// the org function reads the anchors and nothing else of the bucket; only
// the privacy worker puts anchors, which the bucket's policy enforces,
// and no one deletes them.
func TestAuditKeyAndAnchors(t *testing.T) {
	key := getAtt(onlyIDWith(t, "AWS::KMS::Key", "AuditChainKey"))
	bucket := bucketID(t)
	anchors := anchorsArn(bucket)
	relay := roleStatements(t, fnRelay)
	org := roleStatements(t, routes.FnOrg)
	worker := roleStatementsOf(t, functionID(t, fnPrivacyWorker))
	if !grants(relay, "kms:GenerateDataKey", key) || !grants(relay, "kms:Decrypt", key) {
		t.Error("the relay must make and open chain keys")
	}
	if !grants(org, "kms:Decrypt", key) || grants(org, "kms:GenerateDataKey", key) {
		t.Error("the org function must open chain keys, never make them")
	}
	for _, name := range codeFunctions() {
		if name == fnRelay || name == routes.FnOrg || name == fnTokenKey {
			continue
		}
		for _, st := range roleStatementsOf(t, functionID(t, name)) {
			if strings.Contains(fmt.Sprint(st["Resource"]), fmt.Sprint(key)) {
				t.Errorf("%s may use the audit key: %v", name, st)
			}
		}
	}
	for _, name := range []string{fnRelay, routes.FnOrg} {
		vars, _ := dig(props(resources[functionID(t, name)].(obj)), "Environment", "Variables").(obj)
		if fmt.Sprint(vars[config.EnvAuditKeyID]) != fmt.Sprint(key) {
			t.Errorf("%s: %s = %v, want the audit key", name, config.EnvAuditKeyID, vars[config.EnvAuditKeyID])
		}
	}

	if !grants(org, "s3:GetObject", anchors) || grants(org, "s3:GetObject", objectsArn(bucket)) || grants(org, "s3:PutObject", anchors) {
		t.Error("the org function must read the anchors only")
	}
	for _, st := range org {
		if slices.Contains(stringsOf(st["Action"]), "s3:ListBucket") &&
			fmt.Sprint(dig(st, "Condition", "StringLike", "s3:prefix")) != "audit-anchors/*" {
			t.Errorf("the org function lists more than the anchors: %v", st)
		}
	}
	if !grants(worker, "s3:PutObject", anchors) {
		t.Error("the privacy worker must put anchors")
	}
	for _, tt := range []obj{
		{"Sid": "AnchorsPutByRetentionOnly", "Effect": "Deny", "Action": "s3:PutObject", "Principal": obj{"AWS": "*"}, "Resource": anchors},
		{"Sid": "AnchorsNeverDeleted", "Effect": "Deny", "Action": []any{"s3:DeleteObject", "s3:DeleteObjectVersion"}, "Principal": obj{"AWS": "*"}, "Resource": anchors},
	} {
		check(t, func() {
			template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj{
				"PolicyDocument": obj{"Statement": arrayWith(objectLike(tt))},
			})
		})
	}
}
