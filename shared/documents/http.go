package documents

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// uploadRequest declares a file to upload (a new document or a new version).
type uploadRequest struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// UploadJSON answers the start of an upload: the document and where to PUT
// the file.
type UploadJSON struct {
	Document Document  `json:"document"`
	Upload   UploadURL `json:"upload"`
}

// DocumentJSON is a document with, when it is ready, a short-lived link to
// download (or view) one version.
type DocumentJSON struct {
	Document
	DownloadURL          string     `json:"downloadUrl,omitempty"`
	DownloadURLExpiresAt *time.Time `json:"downloadUrlExpiresAt,omitempty"`
	DownloadVersion      int        `json:"downloadVersion,omitempty"`
	DownloadDisposition  string     `json:"downloadDisposition,omitempty"`
}

var errNoBucket = errors.New("the documents function needs the documents bucket: BUCKET_NAME is required")

// NewRouter serves the documents function from svc, which must have its
// bucket (StorageFor gives none without one).
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	if svc.Storage == nil || svc.Storage.Bucket == "" {
		return nil, errNoBucket
	}
	rt := httpapi.NewRouter(routes.FnDocuments, rc.Options)

	rt.Handle("POST /v1/matters/{matterId}/documents", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.WriteDocuments); err != nil {
			return nil, err
		}
		var in uploadRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		doc, up, err := svc.Create(ctx, r.Principal, r.Param("matterId"), Declared(in))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusCreated, UploadJSON{Document: doc, Upload: up}), nil
	})
	rt.Handle("POST /v1/documents/{documentId}/complete", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.WriteDocuments); err != nil {
			return nil, err
		}
		doc, err := svc.Complete(ctx, r.Principal, r.Param("documentId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, doc), nil
	})
	rt.Handle("GET /v1/matters/{matterId}/documents", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadDocuments); err != nil {
			return nil, err
		}
		list := "matters/" + r.Param("matterId") + "/documents"
		return httpapi.ListPage(r, rc.Cursors, list, func(limit int32, start store.StartKey) ([]Document, store.StartKey, error) {
			return svc.List(ctx, r.Principal.OrgID, r.Param("matterId"), limit, start)
		})
	})
	rt.Handle("GET /v1/documents/{documentId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadDocuments); err != nil {
			return nil, err
		}
		version, inline, err := downloadParams(r)
		if err != nil {
			return nil, err
		}
		doc, err := svc.Get(ctx, r.Principal.OrgID, r.Param("documentId"))
		if err != nil {
			return nil, err
		}
		out := DocumentJSON{Document: doc}
		if doc.Status != StatusReady {
			if version != 0 {
				return nil, errVersionNotFound
			}
			return httpapi.JSON(http.StatusOK, out), nil // nothing to download yet
		}
		dl, err := svc.Download(ctx, r.Principal, doc, version, inline)
		if err != nil {
			return nil, err
		}
		out.DownloadURL, out.DownloadURLExpiresAt, out.DownloadVersion, out.DownloadDisposition = dl.URL, &dl.ExpiresAt, dl.Version, dl.Disposition
		return httpapi.JSON(http.StatusOK, out), nil
	})
	rt.Handle("POST /v1/documents/{documentId}/versions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.WriteDocuments); err != nil {
			return nil, err
		}
		var in uploadRequest
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		doc, up, err := svc.NewVersion(ctx, r.Principal, r.Param("documentId"), Declared(in))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusCreated, UploadJSON{Document: doc, Upload: up}), nil
	})
	rt.Handle("GET /v1/documents/{documentId}/versions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadDocuments); err != nil {
			return nil, err
		}
		list := "documents/" + r.Param("documentId") + "/versions"
		return httpapi.ListPage(r, rc.Cursors, list, func(limit int32, start store.StartKey) ([]Version, store.StartKey, error) {
			return svc.Versions(ctx, r.Principal.OrgID, r.Param("documentId"), limit, start)
		})
	})
	rt.Handle("DELETE /v1/documents/{documentId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.DeleteDocuments); err != nil {
			return nil, err
		}
		if err := svc.Delete(ctx, r.Principal, r.Param("documentId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	return rt, rt.Check()
}

// downloadParams reads ?version= (a version number; absent for the
// current one) and ?disposition= (attachment, the default, or inline).
func downloadParams(r *httpapi.Request) (version int, inline bool, err error) {
	var c fault.Checker
	if v := r.Query("version"); v != "" {
		n, perr := strconv.Atoi(v)
		c.Check(perr == nil && n >= 1, "version", "must be a version number (1 or more)")
		version = n
	}
	switch r.Query("disposition") {
	case "", "attachment":
	case "inline":
		inline = true
	default:
		c.Add("disposition", `must be "attachment" or "inline"`)
	}
	return version, inline, c.Err()
}
