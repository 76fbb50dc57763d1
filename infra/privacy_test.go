package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// TestPrivacyPipeline: the export queue (KMS, DLQ after 5 receives, with
// an alarm) between the privacy function and the worker; the worker
// consumes it with partial batch failures and runs on a daily rule; the
// exports expire after 7 days by the bucket's lifecycle; the privacy
// function reads only exports/ (for its presigned links) and never lists
// or deletes versions; crm, which erases clients, deletes object versions
// but reads and writes no object.
func TestPrivacyPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "PrivacyExports")
	q := props(resources[queueID].(obj))
	if fmt.Sprint(dig(q, "RedrivePolicy", "maxReceiveCount")) != "5" || q["KmsMasterKeyId"] == nil || fmt.Sprint(q["VisibilityTimeout"]) != "5400" {
		t.Errorf("queue %v", q)
	}
	env, _ := dig(props(resources[functionID(t, routes.FnPrivacy)].(obj)), "Environment", "Variables").(map[string]any)
	if !strings.Contains(fmt.Sprint(env["QUEUE_URLS"]), "privacy-exports=") || env["BUCKET_NAME"] == nil {
		t.Errorf("privacy environment %v", env)
	}
	api := roleStatements(t, routes.FnPrivacy)
	bucket := bucketID(t)
	exports := obj{"Fn::Join": []any{"", []any{getAtt(bucket), "/exports/*"}}}
	if !grants(api, "sqs:SendMessage", getAtt(queueID)) || !grants(api, "s3:GetObject", exports) || grants(api, "s3:GetObject", objectsArn(bucket)) {
		t.Error("the privacy function must queue exports and read exports/ only")
	}
	for _, st := range api {
		for _, a := range stringsOf(st["Action"]) {
			if a == "s3:ListBucketVersions" || a == "s3:DeleteObjectVersion" || a == "s3:PutObject" {
				t.Errorf("the privacy function may %s", a)
			}
		}
	}
	crm := roleStatements(t, routes.FnCRM)
	if !grants(crm, "s3:DeleteObjectVersion", objectsArn(bucket)) || !grants(crm, "s3:ListBucketVersions", getAtt(bucket)) ||
		grants(crm, "s3:GetObject", objectsArn(bucket)) || grants(crm, "s3:PutObject", objectsArn(bucket)) {
		t.Error("crm must delete object versions (erasure) and never read or write objects")
	}
	worker := roleStatementsOf(t, functionID(t, fnPrivacyWorker))
	if !grants(worker, "s3:PutObject", exports) || grants(worker, "s3:PutObject", objectsArn(bucket)) || !grants(worker, "s3:GetObject", objectsArn(bucket)) ||
		!grants(worker, "s3:DeleteObjectVersion", objectsArn(bucket)) {
		t.Error("the worker must read documents, write exports/ only, and delete versions")
	}
	// A workspace's deletion hands the calendar's part to the calendar
	// worker (calendar_test.go: the token key and the Microsoft secret
	// stay the calendar functions').
	calendarQueue, _ := workQueue(t, "CalendarSync")
	wenv, _ := dig(props(resources[functionID(t, fnPrivacyWorker)].(obj)), "Environment", "Variables").(map[string]any)
	if !grants(worker, "sqs:SendMessage", getAtt(calendarQueue)) || !strings.Contains(fmt.Sprint(wenv["QUEUE_URLS"]), "calendar-sync=") {
		t.Error("the privacy worker must queue the calendar's erasure of a workspace")
	}
	var mapping obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Privacyworker") {
			mapping = props(r)
		}
	}
	if mapping == nil || fmt.Sprint(mapping["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || !strings.Contains(fmt.Sprint(mapping["EventSourceArn"]), queueID) {
		t.Errorf("worker mapping %v", mapping)
	}
	scheduled := false
	for _, r := range ofType("AWS::Events::Rule") {
		p := props(r)
		if p["ScheduleExpression"] == "rate(1 day)" && strings.Contains(fmt.Sprint(p["Targets"]), "Privacyworker") {
			scheduled = true
		}
	}
	if !scheduled {
		t.Error("no daily retention rule targets the privacy worker")
	}
	rules := fmt.Sprint(dig(props(resources[bucket].(obj)), "LifecycleConfiguration", "Rules"))
	if !strings.Contains(rules, "expire-exports") || !strings.Contains(rules, "Prefix:exports/") {
		t.Errorf("bucket lifecycle %s", rules)
	}
}
