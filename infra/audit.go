// The audit log's tamper evidence: the KMS key that seals the orgs' chain
// keys, and the anchors of the chains' heads in the bucket.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/config"
)

// newAuditKey is the KMS key the orgs' audit chain keys are sealed under
// (shared/audit key.go). Unlike the data key, which every function that
// writes the table may use, only the relay (which appends: it makes and
// opens chain keys) and the org function (which verifies: it opens them)
// are granted it, so a table writer can neither read a chain key nor
// rehash a chain it rewrote.
func newAuditKey(stack awscdk.Stack) awskms.Key {
	return awskms.NewKey(stack, jsii.String("AuditChainKey"), &awskms.KeyProps{
		Description:       jsii.String("Matterly: data keys of the sealed audit chain keys (HMAC of the audit log)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
}

// grantAuditKey lets fn open chain keys (kms:Decrypt) and, with seal,
// make them (kms:GenerateDataKey); AUDIT_KEY_ID names the key for it.
func (d *dataPlane) grantAuditKey(fn awslambda.Function, seal bool) {
	actions := []*string{jsii.String("kms:Decrypt")}
	if seal {
		actions = append(actions, jsii.String("kms:GenerateDataKey"))
	}
	d.auditKey.Grant(fn, actions...)
	fn.AddEnvironment(jsii.String(config.EnvAuditKeyID), d.auditKey.KeyArn(), nil)
}

// anchorObjects is the ARN of every audit anchor object.
func (d *dataPlane) anchorObjects() *string {
	return d.bucket.ArnForObjects(jsii.String(audit.AnchorPrefix + "*"))
}

// grantAnchorReads lets fn (the org function's verify) list and read the
// anchors, and nothing else of the bucket; BUCKET_NAME names it.
func (d *dataPlane) grantAnchorReads(fn awslambda.Function) {
	fn.AddEnvironment(jsii.String(config.EnvBucketName), d.bucket.BucketName(), nil)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{d.anchorObjects()},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{d.bucket.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": audit.AnchorPrefix + "*"}},
	}))
	d.key.Grant(fn, jsii.String("kms:Decrypt")) // the anchors are SSE-KMS
}

// grantAnchorWrites lets writer (the privacy worker's daily retention run)
// put anchors, and the bucket's policy refuses anchor puts by anyone else
// and anchor deletes by anyone: the functions that may put documents
// (bucket/*) cannot forge or remove the evidence a rewritten chain is
// checked against.
func (d *dataPlane) grantAnchorWrites(writer awslambda.Function) {
	writer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{d.anchorObjects()},
	}))
	d.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AnchorsPutByRetentionOnly"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{d.anchorObjects()},
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": writer.Role().RoleArn()}},
	}))
	d.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AnchorsNeverDeleted"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:DeleteObject", "s3:DeleteObjectVersion"),
		Resources:  &[]*string{d.anchorObjects()},
	}))
}
