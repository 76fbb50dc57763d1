// The deploy step that publishes the access-token public key.

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// fnTokenKey is the deploy-time function (functions/tokenkey) that
// publishes the access-token public key; it serves no route.
const fnTokenKey = "tokenkey"

// newTokenPublicKey runs functions/tokenkey as a custom resource: it reads
// the token secret and returns the public key, which every function gets as
// TOKEN_PUBLIC_KEY. The public key is not a secret.
func newTokenPublicKey(stack awscdk.Stack, d *dataPlane, props *MatterlyStackProps) *string {
	fn := newGoFunction(stack, "TokenKey", &awslambda.FunctionProps{
		Description: jsii.String("Matterly deploy step: publishes the access-token public key"),
		Code:        awslambda.Code_FromAsset(jsii.String(codePath(props.CodeDir, fnTokenKey)), nil),
		MemorySize:  jsii.Number(128),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)),
	})
	d.tokenSecret.GrantRead(fn, nil)
	cr := awscdk.NewCustomResource(stack, jsii.String("TokenPublicKey"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		// A function that dies at init never answers; fail the deploy in
		// minutes rather than CloudFormation's default hour.
		ServiceTimeout: awscdk.Duration_Minutes(jsii.Number(5)),
		// KeyVersion changes make the resource run again: bump it (context
		// tokenKeyVersion) after rotating the token secret.
		Properties: &map[string]any{"SecretArn": d.tokenSecret.SecretArn(), "KeyVersion": props.TokenKeyVersion},
	})
	return cr.GetAttString(jsii.String("PublicKey"))
}
