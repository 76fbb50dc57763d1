package calendar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// batchWriter is the DynamoDB client's BatchWriteItem; the store's API
// does not carry it, so it is found on the client when there.
type batchWriter interface {
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// batchMax is DynamoDB's limit of requests per BatchWriteItem.
const batchMax = 25

// writeBatch writes unconditional puts and deletes (synced events: Graph
// is their source of truth, so no write needs a condition) in
// BatchWriteItem calls of 25, half the cost of a transaction; unprocessed
// items are sent again. Without BatchWriteItem (a wrapped client) it falls
// back to transactions of 100.
func (s *Service) writeBatch(ctx context.Context, items []types.TransactWriteItem) error {
	bw, ok := s.DB.API.(batchWriter)
	if !ok {
		return s.transactChunks(ctx, items)
	}
	reqs := make([]types.WriteRequest, 0, len(items))
	for _, it := range items {
		switch {
		case it.Put != nil:
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it.Put.Item}})
		case it.Delete != nil:
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: it.Delete.Key}})
		}
	}
	for len(reqs) > 0 {
		n := min(len(reqs), batchMax)
		pending := map[string][]types.WriteRequest{s.DB.Table: reqs[:n]}
		for attempt := 0; len(pending[s.DB.Table]) > 0; attempt++ {
			if attempt == 5 {
				return fmt.Errorf("calendar: batch write: unprocessed items after %d attempts", attempt)
			}
			if attempt > 0 {
				if err := s.Sleep(ctx, backoff(attempt)); err != nil {
					return err
				}
			}
			out, err := bw.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("calendar: batch write: %w", err)
			}
			pending = out.UnprocessedItems
		}
		reqs = reqs[n:]
	}
	return nil
}

// errSyncGone: the calendar's sync item is gone (disconnect, sync
// turned off, member erased) while a sync ran: it stops writing.
var errSyncGone = errors.New("calendar: sync stopped: the calendar is no longer synced")

// guardedMax is how many writes go in one transaction with the check.
const guardedMax = maxTransact - 1

// writeSynced writes one sync page's puts and deletes in transactions of
// up to 99, each with a check that the calendar's sync item still
// exists: the disconnect (or sync off, or erasure) deletes it before the
// events, so a sync running meanwhile cannot write events back after
// them. errSyncGone when the check fails.
func (s *Service) writeSynced(ctx context.Context, orgID, userID, calID string, items []types.TransactWriteItem) error {
	for len(items) > 0 {
		n := min(len(items), guardedMax)
		chunk := append(items[:n:n], s.DB.Check(tenant.PK(orgID), syncSK(userID, calID), *store.Exists()))
		if err := s.DB.Transact(ctx, chunk...); err != nil {
			if store.Failed(err, n) {
				return errSyncGone
			}
			return err
		}
		items = items[n:]
	}
	return nil
}

// backoff is the wait before retry attempt of unprocessed items.
func backoff(attempt int) time.Duration { return time.Duration(50<<attempt) * time.Millisecond }
