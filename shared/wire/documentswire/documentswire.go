// Package documentswire builds the documents service, and the documents
// function on it.
package documentswire

import (
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/platform/awss3"
)

// Storage is the documents bucket, nil without one (or without an S3
// client locally).
func Storage(d *platform.Deps) *documents.Storage {
	return documents.StorageFor(awss3.Client(d), d.Config.BucketName, d.Config.KMSKeyID)
}

// Documents is the documents service, nil without the documents bucket
// (summaries and drafts then cannot read documents).
func Documents(d *platform.Deps) *documents.Service {
	st := Storage(d)
	if st == nil {
		return nil
	}
	return documents.NewService(d.DB, st, d.Log, d.Now)
}

// Router builds the documents function; it refuses to start without the
// bucket.
func Router(d *platform.Deps) (*httpapi.Router, error) {
	svc := Documents(d)
	if svc == nil {
		svc = documents.NewService(d.DB, nil, d.Log, d.Now)
	}
	return documents.NewRouter(svc, d.RouterConfig())
}
