// Package auditwire builds what the audit chain needs beyond the table:
// its keys (sealed under the audit KMS key) and its anchors in the bucket.
// Only the functions that verify or anchor a chain (org, privacyworker)
// and the relay link it.
package auditwire

import (
	"github.com/matterly/matterly/shared/audit"
	"github.com/matterly/matterly/shared/audit/s3anchors"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awskms"
	"github.com/matterly/matterly/shared/platform/awss3"
)

// Keyring opens (and, in the relay, makes) the orgs' chain keys; without
// an audit sealer it keys nothing and verify reports the chain unkeyed.
func Keyring(d *platform.Deps) *audit.Keyring {
	return audit.NewKeyring(awskms.AuditSealer(d))
}

// Anchors is where the audit chains' heads are anchored: the bucket,
// under audit.AnchorPrefix; nil without a bucket.
func Anchors(d *platform.Deps) *audit.Anchors {
	s3 := awss3.Client(d)
	if s3 == nil {
		return nil
	}
	return &audit.Anchors{Store: s3anchors.Store{S3: s3, Bucket: d.Config.BucketName, KMSKeyID: d.Config.KMSKeyID}}
}
