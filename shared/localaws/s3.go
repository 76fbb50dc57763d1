package localaws

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"

	"github.com/matterly/matterly/shared/config"
)

// DefaultBucket is the bucket StartS3 creates unless WithBucket says otherwise.
const DefaultBucket = "matterly-local"

// boltLockTimeout is how long StartS3 waits for another process to let go
// of the bolt file (a variable so the test of it is quick).
var boltLockTimeout = 2 * time.Second

// S3 is an embedded S3-compatible server (gofakes3) on a real 127.0.0.1
// listener, with its bucket created.
//
// Like a private bucket, it refuses unsigned requests (403 AccessDenied)
// and answers CORS only for the configured origins, as the bucket's CORS
// rule in infra does (see s3Guard).
//
// Known differences from S3: signatures, of requests and presigned URLs,
// are required but not checked, nor is expiry (a test cannot catch a
// badly signed or expired URL); SSE-KMS headers are stored and echoed but nothing is encrypted and
// no key policy is checked; bucket policies, Block Public Access and
// lifecycle rules do not exist; the bbolt backend keeps no versions.
type S3 struct {
	endpoint string
	bucket   string
	srv      *localServer
	db       *bolt.DB // nil for the in-memory backend
	client   *s3.Client
	origins  []string // browser origins CORS is answered for

	closeOnce sync.Once
	closeErr  error
}

// S3Option configures StartS3.
type S3Option func(*S3)

// WithBucket creates and uses bucket name instead of DefaultBucket.
func WithBucket(name string) S3Option {
	return func(s *S3) { s.bucket = name }
}

// WithCORSOrigins answers CORS for these browser origins instead of
// DevOrigins.
func WithCORSOrigins(origins ...string) S3Option {
	return func(s *S3) { s.origins = origins }
}

// StartS3 starts the embedded server storing objects in the bbolt file at
// boltPath (created if missing, so objects survive a restart), or in memory
// when boltPath is "", and creates the bucket.
func StartS3(boltPath string, opts ...S3Option) (*S3, error) {
	s := &S3{bucket: DefaultBucket, origins: DevOrigins}
	for _, o := range opts {
		o(s)
	}
	var backend gofakes3.Backend
	if boltPath == "" {
		backend = s3mem.New()
	} else {
		if err := os.MkdirAll(filepath.Dir(boltPath), 0o700); err != nil {
			return nil, err
		}
		// Opened here rather than with s3bolt.NewFile, which cannot be
		// closed and waits forever when another process holds the file.
		db, err := bolt.Open(boltPath, 0o600, &bolt.Options{Timeout: boltLockTimeout})
		if err != nil {
			return nil, fmt.Errorf("open %s (is another dev server running?): %w", boltPath, err)
		}
		s.db = db
		backend = boltBackend{s3bolt.New(db)}
	}
	exists, err := backend.BucketExists(s.bucket)
	if err == nil && !exists {
		err = backend.CreateBucket(s.bucket)
	}
	if err != nil {
		s.closeDB()
		return nil, fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	srv, err := startLocalServer(s3Guard{next: gofakes3.New(backend).Server(), origins: s.origins})
	if err != nil {
		s.closeDB()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.srv, s.endpoint = srv, srv.url
	s.client = NewS3Client(s.endpoint)
	return s, nil
}

// NewS3Client returns an S3 client for a local endpoint such as
// S3.Endpoint(): path-style addressing (the local server has no DNS names
// per bucket), static credentials and us-east-1. The platform builds the
// same client itself, so that functions do not link the stand-ins.
func NewS3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(config.LocalAWS(endpoint), func(o *s3.Options) { o.UsePathStyle = true })
}

// Endpoint is the server's base URL, http://127.0.0.1:<port>.
func (s *S3) Endpoint() string { return s.endpoint }

// Bucket is the name of the bucket StartS3 created.
func (s *S3) Bucket() string { return s.bucket }

// Client returns a client for this server (see NewS3Client).
func (s *S3) Client() *s3.Client { return s.client }

// Close stops the server and closes the bolt file. Later calls return the
// first call's result.
func (s *S3) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.srv.close(), s.closeDB())
	})
	return s.closeErr
}

func (s *S3) closeDB() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// boltBackend is the bbolt backend with a CopyObject that does not crash.
// The backend's objects hold slices of bolt's memory map, valid only until
// a write grows the file and remaps it; gofakes3's CopyObject reads the
// source's hash after writing the copy, so a copy that grew the file read
// unmapped memory (SIGSEGV). This copy takes the source into memory first.
type boltBackend struct{ gofakes3.Backend }

func (b boltBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	src, err := b.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer src.Contents.Close()
	body, err := io.ReadAll(src.Contents)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	etag := gofakes3.FormatETag(src.Hash)
	if _, err := b.PutObject(dstBucket, dstKey, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: etag, LastModified: gofakes3.NewContentTime(time.Now())}, nil
}
