package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// TestESignPipeline: the signed-file queue (KMS, DLQ after 5 receives,
// with an alarm) between the callback and the worker; the callback may
// send to it, the worker consumes it with partial batch failures; the
// Dropbox Sign key is read only by the three e-signature functions; the
// esign function reads documents but never writes them, the worker writes
// them.
func TestESignPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "ESignFiles") // with its DLQ's alarm
	q := props(resources[queueID].(obj))
	if fmt.Sprint(dig(q, "RedrivePolicy", "maxReceiveCount")) != "5" || q["KmsMasterKeyId"] == nil || fmt.Sprint(q["VisibilityTimeout"]) != "360" {
		t.Errorf("queue %v", q)
	}
	hookEnv, _ := dig(props(resources[functionID(t, routes.FnDropboxSignWebhook)].(obj)), "Environment", "Variables").(map[string]any)
	if hookEnv["DROPBOX_SIGN_SECRET_ARN"] == nil || !strings.Contains(fmt.Sprint(hookEnv["QUEUE_URLS"]), "esign-files=") || hookEnv["BUCKET_NAME"] != nil {
		t.Errorf("webhook environment %v", hookEnv)
	}
	if !grants(roleStatements(t, routes.FnDropboxSignWebhook), "sqs:SendMessage", getAtt(queueID)) {
		t.Error("the callback may not send to the queue")
	}
	var mapping obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Esignworker") {
			mapping = props(r)
		}
	}
	if mapping == nil || fmt.Sprint(mapping["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || !strings.Contains(fmt.Sprint(mapping["EventSourceArn"]), queueID) {
		t.Errorf("worker mapping %v", mapping)
	}
	objects := objectsArn(bucketID(t))
	send := roleStatements(t, routes.FnESign)
	if !grants(send, "s3:GetObject", objects) || grants(send, "s3:PutObject", objects) {
		t.Error("the esign function must read documents and never write them")
	}
	worker := roleStatementsOf(t, functionID(t, fnESignWorker))
	if !grants(worker, "s3:PutObject", objects) {
		t.Error("the worker may not store signed PDFs")
	}
	wenv, _ := dig(props(resources[functionID(t, fnESignWorker)].(obj)), "Environment", "Variables").(map[string]any)
	if wenv["DROPBOX_SIGN_SECRET_ARN"] == nil || wenv["SIGNING_SECRET_ARN"] != nil || wenv["TOKEN_SECRET_ARN"] != nil || wenv["BUCKET_NAME"] == nil {
		t.Errorf("worker environment %v", wenv)
	}
	secretID := ""
	for id, r := range ofType("AWS::SecretsManager::Secret") {
		if strings.HasPrefix(fmt.Sprint(props(r)["Description"]), "Dropbox Sign API key") {
			secretID = id
			if props(r)["SecretString"] != "unset" || r["DeletionPolicy"] != "Retain" {
				t.Errorf("Dropbox Sign secret %v", r)
			}
		}
	}
	if secretID == "" {
		t.Fatal("no Dropbox Sign secret")
	}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if strings.Contains(fmt.Sprint(st["Resource"]), secretID) && !strings.Contains(id, "Esign") && !strings.Contains(id, "Dropboxsignwebhook") {
				t.Errorf("%s may read the Dropbox Sign secret", id)
			}
		}
	}
}
