package privacy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Export statuses.
const (
	Pending = "pending"
	Running = "running"
	Ready   = "ready"
	Failed  = "failed"
)

// Export scopes.
const (
	ScopeWorkspace = "workspace"
	ScopeClient    = "client"
)

// Export is an export as the API shows it.
type Export struct {
	ID          string     `dynamodbav:"id" json:"id"`
	Scope       string     `dynamodbav:"scope" json:"scope"`
	ClientID    string     `dynamodbav:"clientId,omitempty" json:"clientId,omitempty"`
	Status      string     `dynamodbav:"status" json:"status"`
	Progress    int        `dynamodbav:"progress" json:"progress"`
	DownloadURL string     `dynamodbav:"-" json:"downloadUrl,omitempty"`
	URLExpires  *time.Time `dynamodbav:"-" json:"downloadUrlExpiresAt,omitempty"`
	ExpiresAt   *time.Time `dynamodbav:"zipExpiresAt,omitempty" json:"expiresAt,omitempty"`
	Manifest    *Summary   `dynamodbav:"manifest,omitempty" json:"manifest,omitempty"`
	Error       string     `dynamodbav:"error,omitempty" json:"error,omitempty"`
	CreatedBy   string     `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt   time.Time  `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt   time.Time  `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Summary is the manifest as the API shows it: the counts per entity type,
// the number of files and the zip's own size and SHA-256 (the full list of
// files with their hashes is manifest.json, in the zip).
type Summary struct {
	Entities map[string]int `dynamodbav:"entities" json:"entities"`
	Files    int            `dynamodbav:"files" json:"files"`
	Size     int64          `dynamodbav:"size" json:"size"`
	SHA256   string         `dynamodbav:"sha256" json:"sha256"`
}

type exportRow struct {
	store.Keys
	Export
	ObjectKey string `dynamodbav:"objectKey,omitempty"`
}

const exportPfx = "PRIVACY#EXPORT#"

func exportSK(id string) string { return exportPfx + id }

// ObjectKey of an export's zip: ids only.
func exportObjectKey(orgID, id string) string { return ExportPrefix + orgID + "/" + id + ".zip" }

// ExportInput is POST /v1/privacy/exports.
type ExportInput struct {
	Scope    string `json:"scope"`
	ClientID string `json:"clientId"`
}

// exportJob is a Queue message.
type exportJob struct {
	OrgID string `json:"orgId"`
	ID    string `json:"exportId,omitempty"`
	Kind  string `json:"kind,omitempty"` // "" for an export; jobDeleteOrg
}

// CreateExport records a pending export with its activity entry, then
// queues its job.
func (s *Service) CreateExport(ctx context.Context, a caller.Caller, in ExportInput) (Export, error) {
	var ck fault.Checker
	ck.Check(in.Scope == ScopeWorkspace || in.Scope == ScopeClient, "scope", `must be "workspace" or "client"`)
	if in.Scope == ScopeClient {
		ck.Check(check.ID(in.ClientID), "clientId", "must be a client id")
	} else {
		ck.Check(in.ClientID == "", "clientId", `is only for scope "client"`)
	}
	if err := ck.Err(); err != nil {
		return Export{}, err
	}
	if err := s.storage(); err != nil {
		return Export{}, err
	}
	if s.Queue == nil {
		return Export{}, &fault.Error{Kind: fault.Unavailable, RetryAfter: time.Minute, Message: "The export queue is not configured."}
	}
	now := s.Now().UTC()
	e := Export{ID: ulid.Make().String(), Scope: in.Scope, ClientID: in.ClientID, Status: Pending, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	put, err := s.DB.Put(exportRow{Keys: store.Keys{PK: tenant.PK(a.OrgID), SK: exportSK(e.ID), Type: "privacyExport"}, Export: e}, store.NotExists())
	if err != nil {
		return Export{}, err
	}
	items := []types.TransactWriteItem{put}
	if in.Scope == ScopeClient { // the client must be the org's
		items = append(items, s.DB.Check(tenant.PK(a.OrgID), "CLIENT#"+in.ClientID, *store.Exists()))
	}
	act := activity.Entry{Action: "privacy.export_created", EntityType: "privacyExport", EntityID: e.ID, ClientID: in.ClientID, Detail: in.Scope}
	err = activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePrivacy, act, items...)
	if store.Failed(err, 1) {
		return Export{}, fault.E(fault.NotFound, "No such client.")
	}
	if err != nil {
		return Export{}, err
	}
	job, _ := json.Marshal(exportJob{OrgID: a.OrgID, ID: e.ID})
	if err := s.Queue.Send(ctx, Queue, string(job), map[string]string{"exportId": e.ID}); err != nil {
		_ = s.setStatus(context.WithoutCancel(ctx), a.OrgID, e.ID, Failed, 0, "the job could not be queued")
		return Export{}, &fault.Error{Kind: fault.Unavailable, RetryAfter: 10 * time.Second, Message: "The export could not be queued; try again.", Err: err}
	}
	return e, nil
}

func (s *Service) loadExport(ctx context.Context, orgID, id string) (exportRow, error) {
	var r exportRow
	if !check.ID(id) {
		return r, fault.E(fault.NotFound, "No such export.")
	}
	err := s.DB.Get(ctx, tenant.PK(orgID), exportSK(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, fault.E(fault.NotFound, "No such export.")
	}
	return r, err
}

// GetExport reads an export; a ready one comes with a download link valid
// for DownloadTTL, and handing it out is recorded as a download.
func (s *Service) GetExport(ctx context.Context, a caller.Caller, id string) (Export, error) {
	r, err := s.loadExport(ctx, a.OrgID, id)
	if err != nil {
		return Export{}, err
	}
	e := r.Export
	now := s.Now().UTC()
	if e.Status != Ready || e.ExpiresAt == nil || !now.Before(*e.ExpiresAt) {
		if e.Status == Ready { // past its 7 days: the zip is gone or going
			e.Status, e.Manifest = "expired", nil
		}
		return e, nil
	}
	if err := s.storage(); err != nil {
		return Export{}, err
	}
	act := activity.Entry{Action: "privacy.export_downloaded", EntityType: "privacyExport", EntityID: e.ID, ClientID: e.ClientID, Detail: e.Scope}
	if err := activity.Commit(ctx, s.DB, activity.MainLog, a, now, access.ManagePrivacy, act); err != nil {
		return Export{}, err
	}
	signed, err := s.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(r.ObjectKey),
		ResponseContentDisposition: aws.String(`attachment; filename="matterly-export-` + e.ID + `.zip"`)},
		s3.WithPresignExpires(DownloadTTL))
	if err != nil {
		return Export{}, unavailable("presign", err)
	}
	exp := now.Add(DownloadTTL)
	e.DownloadURL, e.URLExpires = signed.URL, &exp
	return e, nil
}

// ListExports pages through the org's exports, newest first.
func (s *Service) ListExports(ctx context.Context, orgID string, limit int32, start store.StartKey) ([]Export, store.StartKey, error) {
	var rows []exportRow
	next, err := s.DB.QueryPage(ctx, store.Query{PK: tenant.PK(orgID), SKPrefix: exportPfx, Limit: limit, StartKey: start, Consistent: true}, &rows)
	if err != nil {
		return nil, nil, err
	}
	now := s.Now().UTC()
	out := make([]Export, len(rows))
	for i, r := range rows {
		out[i] = r.Export
		if r.Status == Ready && r.ExpiresAt != nil && !now.Before(*r.ExpiresAt) {
			out[i].Status, out[i].Manifest = "expired", nil
		}
	}
	return out, next, nil
}

func (s *Service) setStatus(ctx context.Context, orgID, id, status string, progress int, why string) error {
	return s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), exportSK(id), "SET #st = :st, progress = :p, #err = :e, updatedAt = :u",
		&store.Cond{Expr: "attribute_exists(PK) AND #st <> :ready", Values: map[string]types.AttributeValue{":ready": store.S(Ready)}},
		map[string]string{"#st": "status", "#err": "error"},
		map[string]types.AttributeValue{":st": store.S(status), ":p": store.N(int64(progress)), ":e": store.S(why), ":u": store.S(s.Now().UTC().Format(time.RFC3339Nano))}), nil)
}

// maxReceives is the queue's maxReceiveCount: the last delivery of a job
// that keeps failing marks its export failed before the DLQ takes it.
const maxReceives = 5

// Handle builds the export of each job (the privacyworker function).
func (s *Service) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range batch.Records {
		var job exportJob
		if err := json.Unmarshal([]byte(m.Body), &job); err != nil || job.OrgID == "" || (job.ID == "" && job.Kind != jobDeleteOrg) {
			s.Log.Error("unreadable export job", "messageId", m.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		start := time.Now()
		if job.Kind == jobDeleteOrg {
			if err := s.EraseOrg(ctx, job.OrgID); err != nil {
				s.Log.Error("workspace deletion failed", "orgId", job.OrgID, "err", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
			continue
		}
		if err := s.Build(ctx, job.OrgID, job.ID); err != nil {
			s.Log.Error("export failed", "exportId", job.ID, "orgId", job.OrgID, "err", err)
			if n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); n >= maxReceives {
				_ = s.setStatus(ctx, job.OrgID, job.ID, Failed, 0, "the export could not be built; create a new one")
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		s.Log.Info("export ready", "exportId", job.ID, "orgId", job.OrgID, "ms", time.Since(start).Milliseconds())
	}
	return resp, nil
}

// Build writes the zip of one export into S3 and marks it ready. A job
// delivered again after it finished does nothing.
func (s *Service) Build(ctx context.Context, orgID, id string) error {
	r, err := s.loadExport(ctx, orgID, id)
	if err != nil {
		return err
	}
	if r.Status == Ready || r.Status == Failed {
		return nil
	}
	if err := s.storage(); err != nil {
		return err
	}
	if err := s.setStatus(ctx, orgID, id, Running, 0, ""); err != nil {
		return err
	}
	var subject *Subject
	if r.Scope == ScopeClient {
		sub, err := s.subject(ctx, orgID, r.ClientID)
		if err != nil {
			return err
		}
		subject = &sub
	}
	key := exportObjectKey(orgID, id)
	sum, err := s.upload(ctx, key, func(w io.Writer) (Summary, error) {
		return s.WriteZip(ctx, w, orgID, r.Export, subject, func(pct int) {
			_ = s.setStatus(ctx, orgID, id, Running, pct, "")
		})
	})
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	exp := now.AddDate(0, 0, ExportDays)
	ms, err := store.Marshal(sum)
	if err != nil {
		return err
	}
	expAV, err := store.Marshal(struct {
		T time.Time `dynamodbav:"t"`
	}{exp})
	if err != nil {
		return err
	}
	// Ready only if no erasure voided it meanwhile (voidExports): what it
	// read before the erasure's deletions must not be handed out.
	err = s.DB.UpdateItem(ctx, s.DB.Update(tenant.PK(orgID), exportSK(id),
		"SET #st = :st, progress = :p, manifest = :m, zipExpiresAt = :x, objectKey = :k, updatedAt = :u, expiresAt = :ttl",
		&store.Cond{Expr: "attribute_exists(PK) AND attribute_not_exists(#v)"}, map[string]string{"#st": "status", "#v": attrVoided},
		map[string]types.AttributeValue{
			":st": store.S(Ready), ":p": store.N(100), ":m": &types.AttributeValueMemberM{Value: ms}, ":x": expAV["t"],
			":k": store.S(key), ":u": store.S(now.Format(time.RFC3339Nano)), ":ttl": store.N(exp.AddDate(0, 0, 30).Unix()),
		}), nil)
	if !errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	if err := s.DeleteObjects(ctx, key); err != nil {
		return err
	}
	return s.setStatus(ctx, orgID, id, Failed, 0, "A client was erased while this export was built: request a new export.")
}

// subject reads what identifies a client's rows: the client's own record
// and its matters.
func (s *Service) subject(ctx context.Context, orgID, clientID string) (Subject, error) {
	var c struct {
		ID    string `dynamodbav:"id"`
		Email string `dynamodbav:"email"`
		Phone string `dynamodbav:"phone"`
	}
	if err := s.DB.Get(ctx, tenant.PK(orgID), "CLIENT#"+clientID, &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Subject{}, fault.E(fault.NotFound, "No such client.")
		}
		return Subject{}, err
	}
	sub := Subject{ClientID: c.ID, Email: strings.ToLower(c.Email), Phone: c.Phone, Matters: map[string]bool{}, Closed: map[string]string{}}
	err := s.scan(ctx, orgID, "MATTER#", func(item map[string]types.AttributeValue) error {
		var m struct {
			ID       string `dynamodbav:"id"`
			ClientID string `dynamodbav:"clientId"`
			ClosedOn string `dynamodbav:"closedOn"`
		}
		if itemType(item) != "matter" {
			return nil
		}
		if err := attributevalue.UnmarshalMap(item, &m); err != nil {
			return err
		}
		if m.ClientID == clientID {
			sub.Matters[m.ID] = true
			if m.ClosedOn != "" {
				sub.Closed[m.ID] = m.ClosedOn
			}
		}
		return nil
	})
	return sub, err
}

// upload streams what write produces into a multipart upload at key
// (SSE-KMS): the zip is written into a pipe and read off it one part at a
// time, so the memory held is one part, whatever the export's size. Any
// failure aborts the upload, leaving no object behind.
func (s *Service) upload(ctx context.Context, key string, write func(io.Writer) (Summary, error)) (Summary, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), ContentType: aws.String("application/zip")}
	if s.KMSKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled = s3types.ServerSideEncryptionAwsKms, aws.String(s.KMSKeyID), aws.Bool(true)
	}
	mp, err := s.S3.CreateMultipartUpload(ctx, in)
	if err != nil {
		return Summary{}, unavailable("create multipart upload", err)
	}
	abort := func(err error) (Summary, error) {
		_, _ = s.S3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), UploadId: mp.UploadId})
		return Summary{}, err
	}
	pr, pw := io.Pipe()
	hash := sha256.New()
	var sum Summary
	done := make(chan error, 1)
	go func() {
		var err error
		sum, err = write(io.MultiWriter(pw, hash))
		pw.CloseWithError(err)
		done <- err
	}()
	size := s.PartSize
	if size < 5<<20 {
		size = 5 << 20
	}
	buf := make([]byte, size)
	var parts []s3types.CompletedPart
	var total int64
	for n := int32(1); ; n++ {
		got, rerr := io.ReadFull(pr, buf)
		if got > 0 || n == 1 {
			out, err := s.S3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), UploadId: mp.UploadId,
				PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:got]), ContentLength: aws.Int64(int64(got))})
			if err != nil {
				pr.CloseWithError(err)
				<-done
				return abort(unavailable("upload part", err))
			}
			parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
			total += int64(got)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			<-done
			return abort(rerr)
		}
	}
	if err := <-done; err != nil {
		return abort(err)
	}
	if _, err := s.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), UploadId: mp.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return abort(unavailable("complete multipart upload", err))
	}
	sum.Size, sum.SHA256 = total, hex.EncodeToString(hash.Sum(nil))
	return sum, nil
}

// ManifestFile is one file of an export, as manifest.json lists it.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Manifest is manifest.json.
type Manifest struct {
	ExportID  string         `json:"exportId"`
	Scope     string         `json:"scope"`
	ClientID  string         `json:"clientId,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	Entities  map[string]int `json:"entities"`
	Files     []ManifestFile `json:"files"`
}

// zipWriter adds files to a zip, hashing each as it is written.
type zipWriter struct {
	zw    *zip.Writer
	files []ManifestFile
}

func (z *zipWriter) file(path string, write func(io.Writer) error) error {
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: time.Now().UTC()})
	if err != nil {
		return err
	}
	h := sha256.New()
	cw := &counter{w: io.MultiWriter(w, h)}
	if err := write(cw); err != nil {
		return err
	}
	z.files = append(z.files, ManifestFile{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n})
	return nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteZip writes the export's zip to w: one JSON array per entity type
// (and a CSV copy where the type has columns), every ready document's
// current bytes under documents/, and manifest.json last. subject, when
// set, keeps only what concerns that client. Rows are read and written one
// page at a time, bytes streamed object by object.
func (s *Service) WriteZip(ctx context.Context, w io.Writer, orgID string, e Export, subject *Subject, progress func(int)) (Summary, error) {
	z := &zipWriter{zw: zip.NewWriter(w)}
	m := Manifest{ExportID: e.ID, Scope: e.Scope, ClientID: e.ClientID, CreatedAt: e.CreatedAt, Entities: map[string]int{}}
	ts := Types()
	// each calls fn with the type's rows the export holds.
	each := func(t Type, fn func(item map[string]types.AttributeValue, r Row) error) error {
		return s.rows(ctx, orgID, t, func(item map[string]types.AttributeValue, r Row) error {
			if subject != nil {
				if !t.concerns(r, *subject) {
					return nil
				}
				r = t.forClient(r)
			}
			return fn(item, r)
		})
	}
	for i, t := range ts {
		if t.NoExport || (subject != nil && t.OrgOnly) {
			continue
		}
		count := 0
		err := z.file(t.Name+".json", func(out io.Writer) error {
			enc := json.NewEncoder(out)
			if _, err := io.WriteString(out, "["); err != nil {
				return err
			}
			err := each(t, func(_ map[string]types.AttributeValue, r Row) error {
				sep := ","
				if count == 0 {
					sep = "\n"
				}
				count++
				if _, err := io.WriteString(out, sep); err != nil {
					return err
				}
				return enc.Encode(r)
			})
			if err != nil {
				return err
			}
			_, err = io.WriteString(out, "]\n")
			return err
		})
		if err != nil {
			return Summary{}, err
		}
		m.Entities[t.Name] = count
		// The CSV copy and the files are further passes over the rows, so
		// that nothing of a type is held while it is written.
		if t.CSV != nil {
			if err := z.file(t.Name+".csv", func(out io.Writer) error {
				cw := csv.NewWriter(out)
				if err := cw.Write(t.CSV); err != nil {
					return err
				}
				if err := each(t, func(_ map[string]types.AttributeValue, r Row) error { return cw.Write(csvRow(t.CSV, r)) }); err != nil {
					return err
				}
				cw.Flush()
				return cw.Error()
			}); err != nil {
				return Summary{}, err
			}
		}
		if t.File != nil {
			err := each(t, func(item map[string]types.AttributeValue, _ Row) error {
				// The exported row lacks the omitted attributes (the
				// object's key); the raw item has them.
				full, err := Type{Name: t.Name}.decode(item)
				if err != nil {
					return err
				}
				path, key, version, ok := t.File(full)
				if !ok {
					return nil
				}
				return z.file(path, func(out io.Writer) error {
					body, err := s.readObject(ctx, key, version)
					if err != nil {
						return fmt.Errorf("read %s: %w", path, err)
					}
					defer body.Close()
					_, err = io.Copy(out, body)
					return err
				})
			})
			if err != nil {
				return Summary{}, err
			}
		}
		if progress != nil {
			progress((i + 1) * 99 / len(ts))
		}
	}
	sort.Slice(z.files, func(i, j int) bool { return z.files[i].Path < z.files[j].Path })
	m.Files = z.files
	mw, err := z.zw.Create("manifest.json")
	if err != nil {
		return Summary{}, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return Summary{}, err
	}
	if err := z.zw.Close(); err != nil {
		return Summary{}, err
	}
	return Summary{Entities: m.Entities, Files: len(m.Files)}, nil
}

// csvRow is r's values for columns, as text.
func csvRow(columns []string, r Row) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		switch v := r[c].(type) {
		case nil:
		case string:
			out[i] = v
		case json.Number:
			out[i] = v.String()
		case bool:
			out[i] = strconv.FormatBool(v)
		default:
			b, _ := json.Marshal(v)
			out[i] = string(b)
		}
	}
	return out
}
