package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// TestCalendarPipeline: the sync queue (KMS, DLQ after 5 receives, with an
// alarm) fed by the API, the webhook, the schedules' fan-out and the
// booking rule, consumed by the worker with partial batch failures; the
// worker on the two schedules; the token key's GenerateDataKey and Decrypt
// only for the calendar function and worker; the Microsoft secret read by
// those two only; the webhook's function URL as the notification URL.
func TestCalendarPipeline(t *testing.T) {
	queueID, _ := workQueue(t, "CalendarSync")
	q := props(resources[queueID].(obj))
	if fmt.Sprint(dig(q, "RedrivePolicy", "maxReceiveCount")) != "5" || q["KmsMasterKeyId"] == nil || fmt.Sprint(q["VisibilityTimeout"]) != "720" {
		t.Errorf("queue %v", q)
	}
	for _, fn := range []string{routes.FnCalendar, routes.FnMSGraphWebhook} {
		if !grants(roleStatements(t, fn), "sqs:SendMessage", getAtt(queueID)) {
			t.Errorf("%s may not send to the calendar queue", fn)
		}
	}
	var mapping obj
	for _, r := range ofType("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(fmt.Sprint(props(r)["FunctionName"]), "Calendarworker") {
			mapping = props(r)
		}
	}
	if mapping == nil || fmt.Sprint(mapping["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || !strings.Contains(fmt.Sprint(mapping["EventSourceArn"]), queueID) {
		t.Errorf("worker mapping %v", mapping)
	}
	workerID := functionID(t, fnCalendarWorker)
	schedules := map[string]bool{}
	bookings := false
	for _, r := range ofType("AWS::Events::Rule") {
		p := props(r)
		s := fmt.Sprint(p)
		switch {
		case strings.Contains(s, workerID) && strings.Contains(s, "calendar-renew") && p["ScheduleExpression"] == "rate(1 hour)":
			schedules["renew"] = true
		case strings.Contains(s, workerID) && strings.Contains(s, "calendar-sync") && p["ScheduleExpression"] == "rate(15 minutes)":
			schedules["sync"] = true
		case strings.Contains(s, "booking.created") && strings.Contains(s, "booking.canceled") && strings.Contains(s, queueID):
			bookings = true
		}
	}
	if !schedules["renew"] || !schedules["sync"] || !bookings {
		t.Errorf("schedules %v, booking rule %v", schedules, bookings)
	}
	// The token key: data keys for the calendar function and worker only.
	keyID := ""
	for id, r := range ofType("AWS::KMS::Key") {
		if strings.Contains(fmt.Sprint(props(r)["Description"]), "Microsoft OAuth tokens") {
			keyID = id
			if props(r)["EnableKeyRotation"] != true {
				t.Errorf("token key %v", r)
			}
		}
	}
	if keyID == "" {
		t.Fatal("no calendar token key")
	}
	for _, id := range []string{functionID(t, routes.FnCalendar), workerID} {
		sts := roleStatementsOf(t, id)
		if !grants(sts, "kms:GenerateDataKey", getAtt(keyID)) || !grants(sts, "kms:Decrypt", getAtt(keyID)) {
			t.Errorf("%s may not seal and open tokens", id)
		}
		env, _ := dig(props(resources[id].(obj)), "Environment", "Variables").(map[string]any)
		if !strings.Contains(fmt.Sprint(env["KMS_KEY_ID"]), keyID) || env["MS_CLIENT_SECRET_ARN"] == nil {
			t.Errorf("%s environment %v", id, env)
		}
	}
	wenv, _ := dig(props(resources[workerID].(obj)), "Environment", "Variables").(map[string]any)
	if !strings.Contains(fmt.Sprint(wenv["MS_GRAPH_NOTIFICATION_URL"]), "webhooks/microsoft-graph") || wenv["PUBLIC_BASE_URL"] == nil {
		t.Errorf("worker environment %v", wenv)
	}
	secretID := ""
	for id, r := range ofType("AWS::SecretsManager::Secret") {
		if strings.HasPrefix(fmt.Sprint(props(r)["Description"]), "Microsoft app registration") {
			secretID = id
			if props(r)["SecretString"] != "unset" || r["DeletionPolicy"] != "Retain" {
				t.Errorf("Microsoft secret %v", r)
			}
		}
	}
	if secretID == "" {
		t.Fatal("no Microsoft secret")
	}
	for id, sts := range allowStatements() {
		for _, st := range sts {
			s := fmt.Sprint(st["Resource"])
			calendarRole := strings.HasPrefix(id, "CalendarRole") || strings.HasPrefix(id, "CalendarworkerRole")
			if strings.Contains(s, secretID) && !calendarRole {
				t.Errorf("%s may read the Microsoft secret", id)
			}
			if strings.Contains(s, keyID) && !calendarRole {
				t.Errorf("%s may use the calendar token key", id)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(outputs), "MsgraphwebhookUrl") {
		t.Error("no function URL output for the Graph webhook")
	}
}
