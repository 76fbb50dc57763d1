package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/matterly/matterly/shared/routes"
)

// The cdk-nag AwsSolutions findings this stack keeps, each with its reason,
// on the resources it applies to. The infra tests run the whole pack and
// fail on any finding not suppressed here.

// suppress records why rule does not apply to c (and its children); with
// appliesTo, only those findings of the rule ("Action::kms:ReEncrypt*").
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...any) {
	s := &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-" + rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		s.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

const (
	reasonKMS = "The data key's grant (key.GrantEncryptDecrypt): DynamoDB and SQS with a customer-managed key " +
		"call GenerateDataKey*/ReEncrypt* on the caller's behalf; the resource is the one data key, never *."
	reasonXRay = "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have no resource-level " +
		"permissions: IAM accepts only *."
	reasonListStreams = "dynamodb:ListStreams (part of the stream read the relay's event source needs) has no " +
		"resource-level permissions, and X-Ray's actions neither: IAM accepts only *. It lists stream ARNs, no data."
	reasonObjects = "Document keys are made per org and document at run time (ORG#<orgId> prefixes); the " +
		"functions check the tenant before every key they sign or touch. The grant is on this bucket's objects only."
)

// suppressNag adds the reasons to the stack's resources: fns are every
// function of the stack but the relay.
func suppressNag(stack awscdk.Stack, d *dataPlane, api awsapigatewayv2.HttpApi, fns []function, r *relay) {
	suppress(api, "APIG4", "Every app route's function verifies the Ed25519 access token itself "+
		"(httpapi.Authenticate, public key published at deploy); the public routes (signup, login, refresh, "+
		"unsubscribe links, provider webhooks) take no token by design and check what they take instead.")

	for _, f := range fns {
		role := f.fn.Role()
		suppress(role, "IAM5", reasonKMS, "Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*")
		suppress(role, "IAM5", reasonXRay, "Resource::*")
		suppress(role, "IAM5", reasonObjects, &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Bucket[0-9A-F]{8}\.Arn>\/\*$/`)})
		if f.name == routes.FnPrivacy || f.name == fnPrivacyWorker {
			suppress(role, "IAM5", "Export zips are objects named by org and export id under exports/, created at run "+
				"time: the grant covers that prefix only (the privacy function reads them for presigned links; the "+
				"worker writes them).", &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Bucket[0-9A-F]{8}\.Arn>\/exports\/\*$/`)})
		}
		if f.name == routes.FnOrg || f.name == fnPrivacyWorker {
			suppress(role, "IAM5", "Audit anchors are objects named by org and day under audit-anchors/, created at run "+
				"time: the grant covers that prefix only (the org function's verify reads them; the worker's daily run "+
				"writes them).", &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Bucket[0-9A-F]{8}\.Arn>\/audit-anchors\/\*$/`)})
		}
		if f.name == fnMessageWorker {
			suppress(role, "IAM5", "SES authorizes a send against the sending identity, which each org "+
				"chooses (its verified address or domain) at run time, and the configuration set; both "+
				"stay in this account and region.",
				"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*",
				"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/*")
		}
		if f.name == routes.FnMessaging {
			suppress(role, "IAM5", "Each org proves its own sending domain: the messaging function creates, reads "+
				"and deletes the SES domain identity the org names at run time (ses:CreateEmailIdentity, "+
				"GetEmailIdentity, DeleteEmailIdentity only), in this account and region.",
				"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*")
		}
	}
	suppress(r.fn.Role(), "IAM5", reasonKMS, "Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*")
	suppress(r.fn.Role(), "IAM5", reasonListStreams, "Resource::*")

	// Seeds: rotating the signing seed would break every cursor and signed
	// link in flight; the token seed rotates by a procedure (put a new
	// value, deploy with -c tokenKeyVersion=N) that republishes the key.
	suppress(d.signing, "SMG4", "HMAC seed of cursors and signed links: a rotation would invalidate those "+
		"in flight, so it is rotated by hand, never on a schedule.")
	suppress(d.tokenSecret, "SMG4", "Access-token signing seed: rotated by hand with a deploy "+
		"(-c tokenKeyVersion=N) that republishes the public key every function verifies with.")
	for _, s := range []awscdk.Resource{d.stripe, d.webhook, d.messaging.twilio, d.ai.openai, d.esign.secret, d.calendar.secret} {
		suppress(s, "SMG4", "A provider's credential (Stripe, Twilio, OpenAI, Dropbox Sign, Microsoft): it is issued and "+
			"rotated at the provider's dashboard, then put here by the operator; no rotation Lambda can mint one.")
	}
	suppress(stack.Node().FindChild(jsii.String("NotifierFailures")), "SQS3", "This queue is itself a "+
		"dead-letter queue: of the notifier's EventBridge targets (an alarm on the function's errors watches it).")
	suppress(stack.Node().FindChild(jsii.String("RetentionFailures")), "SQS3", "This queue is itself a "+
		"dead-letter queue: of the retention schedule's EventBridge target (an alarm on the function's errors watches it).")
	suppress(r.dlq, "SQS3", "This queue is itself a dead-letter destination: the relay's event source "+
		"sends the positions of stream batches it gave up on here (an alarm watches it).")
}
