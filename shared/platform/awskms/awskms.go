// Package awskms is the envelope sealer of a function in AWS: data keys of
// the KMS key KMS_KEY_ID names. It is its own package so that only the
// functions that seal secrets link the KMS client.
package awskms

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/matterly/matterly/shared/envelope"
	"github.com/matterly/matterly/shared/platform"
)

// Sealer is the function's sealer: Deps' own when it has one (locally, the
// dev root's key), data keys of KMS_KEY_ID in AWS (built once per Deps),
// nil otherwise.
func Sealer(d *platform.Deps) *envelope.Sealer {
	if d.Sealer != nil {
		return d.Sealer
	}
	return platform.InAWS(d, "awskms", d.Config.KMSKeyID != "", func() *envelope.Sealer {
		return envelope.NewKMS(client(d), d.Config.KMSKeyID)
	})
}

// AuditSealer seals the audit chains' keys: Deps' own locally, data keys
// of AUDIT_KEY_ID in AWS (a key the table's other writers may not use),
// nil without one.
func AuditSealer(d *platform.Deps) *envelope.Sealer {
	if d.AuditSealer != nil {
		return d.AuditSealer
	}
	return platform.InAWS(d, "awskms-audit", d.Config.AuditKeyID != "", func() *envelope.Sealer {
		return envelope.NewKMS(client(d), d.Config.AuditKeyID)
	})
}

// client is the function's one KMS client, whichever keys it seals under.
func client(d *platform.Deps) Keys {
	return platform.Shared(d, "awskms-client", func() Keys { return Keys{kms.NewFromConfig(d.AWS)} })
}

// API is the part of the KMS client Keys uses.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Keys adapts the KMS client to envelope.KMS: the purpose is the
// encryption context, so a data key unwraps only for the purpose it was
// made for.
type Keys struct{ API API }

// GenerateDataKey implements envelope.KMS.
func (k Keys) GenerateDataKey(ctx context.Context, keyID, purpose string) ([]byte, []byte, error) {
	out, err := k.API.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: map[string]string{"purpose": purpose},
	})
	if err != nil {
		return nil, nil, err
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// Decrypt implements envelope.KMS: KMS's InvalidCiphertextException (a
// data key of another purpose, or not one of this key's) is
// envelope.ErrOpen.
func (k Keys) Decrypt(ctx context.Context, keyID, purpose string, wrapped []byte) ([]byte, error) {
	out, err := k.API.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		KeyId:             aws.String(keyID),
		EncryptionContext: map[string]string{"purpose": purpose},
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		if errors.As(err, &invalid) {
			return nil, envelope.ErrOpen
		}
		return nil, err
	}
	return out.Plaintext, nil
}
