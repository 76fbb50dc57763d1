// Package tokenkey is the deploy-time step that publishes the access-token
// public key: a CloudFormation custom resource reads the token secret,
// derives the Ed25519 key and returns its public half, which the stack hands
// to every function as TOKEN_PUBLIC_KEY. So only the functions that issue
// tokens ever read the token secret; the others can verify, never sign.
package tokenkey

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/matterly/matterly/shared/keys"
)

// PhysicalID names the resource; it never changes, so CloudFormation never
// replaces (and so never deletes) it.
const PhysicalID = "matterly-token-public-key"

// readAttempts and readPause bound the wait for the function's own read
// grant: on a first deploy its IAM policy may take seconds to apply.
const (
	readAttempts = 6
	readPause    = 5 * time.Second
)

// Handler answers the custom resource's Create, Update and Delete requests.
// The resource property SecretArn names the token secret. pause waits
// between read attempts (time.Sleep in Lambda).
func Handler(sm keys.SecretGetter, pause func(time.Duration)) cfn.CustomResourceFunction {
	return func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		if ev.RequestType == cfn.RequestDelete {
			return PhysicalID, nil, nil // nothing was created outside the secret
		}
		arn, _ := ev.ResourceProperties["SecretArn"].(string)
		if arn == "" {
			return PhysicalID, nil, fmt.Errorf("resource property SecretArn is required")
		}
		var root []byte
		var err error
		for attempt := 1; ; attempt++ {
			if root, err = keys.ReadSecret(ctx, sm, arn); err == nil || attempt == readAttempts {
				break
			}
			pause(readPause)
		}
		if err != nil {
			return PhysicalID, nil, err
		}
		priv, err := keys.TokenKey(root)
		if err != nil {
			return PhysicalID, nil, err
		}
		return PhysicalID, map[string]any{"PublicKey": keys.EncodePublicKey(priv.Public().(ed25519.PublicKey))}, nil
	}
}
