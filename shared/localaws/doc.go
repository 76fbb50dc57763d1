// Package localaws holds the embedded stand-ins for the AWS services that
// make dev and the tests run against, with no account and no network:
//
//   - Dynamo: github.com/truora/minidyn's DynamoDB JSON API on a real local
//     HTTP listener, with the one table of shared/store and a JSON snapshot
//     so dev data survives a restart.
//   - S3: github.com/johannesboyne/gofakes3 on a real local HTTP listener,
//     backed by a bbolt file (or memory), with the bucket created.
//   - Broker: in-process SQS queues delivered to handlers the way a Lambda
//     event source mapping does (batches, partial batch failures,
//     visibility timeout, redrive to a DLQ).
//   - Scheduler and Bus: in-process EventBridge schedules and events.
//
// The servers speak real HTTP so the application code uses the very same
// AWS SDK clients it uses in AWS; only the endpoint differs. Known gaps of
// the stand-ins are documented on StartDynamo and StartS3.
package localaws
