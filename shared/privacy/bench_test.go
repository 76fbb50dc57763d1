package privacy

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// seedOrg writes clients (each with a note) and documents (each with
// size bytes in S3) into one org, straight through the embedded servers.
func seedOrg(b *testing.B, db *store.DB, s3c *s3.Client, bucket, orgID string, clients, docs, size int) {
	b.Helper()
	ctx := context.Background()
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			n := min(len(batch), 25)
			out, err := db.API.(*dynamodb.Client).BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{db.Table: batch[:n]}})
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch[n:], out.UnprocessedItems[db.Table]...)
		}
	}
	put := func(row any) {
		item, err := store.Marshal(row)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) >= 25 {
			flush()
		}
	}
	type row struct {
		store.Keys
		ID       string `dynamodbav:"id"`
		ClientID string `dynamodbav:"clientId,omitempty"`
		MatterID string `dynamodbav:"matterId,omitempty"`
		Name     string `dynamodbav:"name,omitempty"`
		Email    string `dynamodbav:"email,omitempty"`
		Body     string `dynamodbav:"body,omitempty"`
		Status   string `dynamodbav:"status,omitempty"`
		File     string `dynamodbav:"fileName,omitempty"`
		Key      string `dynamodbav:"objectKey,omitempty"`
	}
	pk := tenant.PK(orgID)
	for i := range clients {
		id := fmt.Sprintf("C%07d", i)
		put(row{Keys: store.Keys{PK: pk, SK: "CLIENT#" + id, Type: "client"}, ID: id, Name: fmt.Sprintf("Client %d", i), Email: fmt.Sprintf("c%d@example.com", i)})
		put(row{Keys: store.Keys{PK: pk, SK: "NOTE#N" + id, Type: "note"}, ID: "N" + id, ClientID: id, Body: "A note of a few words about the client's matter."})
	}
	body := make([]byte, size) // incompressible, as scanned PDFs are
	if _, err := rand.Read(body); err != nil {
		b.Fatal(err)
	}
	for i := range docs {
		id := fmt.Sprintf("D%07d", i)
		key := fmt.Sprintf("orgs/%s/matters/M/documents/%s/v1", orgID, id)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
		put(row{Keys: store.Keys{PK: pk, SK: "DOC#" + id, Type: "document"}, ID: id, ClientID: fmt.Sprintf("C%07d", i), MatterID: "M", Status: "ready", File: "file.pdf", Key: key})
	}
	flush()
}

// peakHeap samples the heap while fn runs and returns the most it grew
// above what it was when fn started.
func peakHeap(fn func()) uint64 {
	// A tight GC target, so the samples show what is live rather than
	// garbage waiting for a collection.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base.HeapInuse && m.HeapInuse-base.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse - base.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkExportWorkspace streams a workspace export (every registered
// type, and each document's bytes) of 1,000 clients / 100 documents and of
// 10,000 clients / 1,000 documents of 64 KiB; it reports the time, the
// zip's size and the peak heap growth in the process, which holds the
// embedded DynamoDB too (its answers are one page at a time). Memory stays
// flat as the workspace grows tenfold.
func BenchmarkExportWorkspace(b *testing.B) {
	for _, size := range []struct{ clients, docs int }{{1000, 100}, {10000, 1000}} {
		b.Run(fmt.Sprintf("clients=%d/docs=%d", size.clients, size.docs), func(b *testing.B) {
			dyn, err := localaws.StartDynamo("")
			if err != nil {
				b.Fatal(err)
			}
			defer dyn.Close()
			st, err := localaws.StartS3(filepath.Join(b.TempDir(), "s3.bolt"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			db := store.New(dyn.Client(), dyn.TableName())
			seedOrg(b, db, st.Client(), st.Bucket(), "ORG1", size.clients, size.docs, 64<<10)
			svc := NewService(db, st.Client(), st.Bucket(), "", nil, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
			b.ResetTimer()
			for range b.N {
				var n int64
				var sum Summary
				peak := peakHeap(func() {
					cw := &counter{w: io.Discard}
					sum, err = svc.WriteZip(context.Background(), cw, "ORG1", Export{ID: "E", Scope: ScopeWorkspace}, nil, nil)
					n = cw.n
				})
				if err != nil {
					b.Fatal(err)
				}
				if sum.Entities["clients"] != size.clients || sum.Entities["documents"] != size.docs {
					b.Fatalf("entities %v", sum.Entities)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(n)/(1<<20), "zip-MiB")
			}
		})
	}
}
