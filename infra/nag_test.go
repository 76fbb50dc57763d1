package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// TestNag fails on any cdk-nag AwsSolutions finding the stack does not
// suppress with a reason (see nag.go).
func TestNag(t *testing.T) {
	byRule := map[string][]string{}
	for _, m := range nagFindings {
		msg := fmt.Sprint(m.Entry.Data)
		rule, _, _ := strings.Cut(msg, ":")
		rule, _, _ = strings.Cut(rule, "[")
		byRule[rule] = append(byRule[rule], *m.Id+" "+msg)
	}
	rules := slices.Sorted(func(yield func(string) bool) {
		for r := range byRule {
			if !yield(r) {
				return
			}
		}
	})
	for _, r := range rules {
		t.Errorf("%s: %d unsuppressed findings", r, len(byRule[r]))
		for _, f := range byRule[r] {
			t.Log(f)
		}
	}
}

// TestFunctionRoles: no role leans on an AWS-managed policy (the basic
// execution role may create and write to any log group); each function
// writes logs to its own log group only.
func TestFunctionRoles(t *testing.T) {
	for id, r := range ofType("AWS::IAM::Role") {
		if arns := props(r)["ManagedPolicyArns"]; arns != nil {
			t.Errorf("role %s has managed policies %v", id, arns)
		}
	}
	for id, r := range ofType("AWS::Lambda::Function") {
		t.Run(id, func(t *testing.T) {
			fn := props(r)
			logGroup, _ := dig(fn, "LoggingConfig", "LogGroup", "Ref").(string)
			if logGroup == "" {
				t.Fatalf("LoggingConfig = %v", fn["LoggingConfig"])
			}
			sts := roleStatementsOf(t, id)
			for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
				if !grants(sts, a, getAtt(logGroup)) {
					t.Errorf("%s not allowed on its log group %s", a, logGroup)
				}
			}
			for _, st := range sts {
				for _, a := range stringsOf(st["Action"]) {
					if strings.HasPrefix(a, "logs:") && fmt.Sprint(st["Resource"]) != fmt.Sprint(getAtt(logGroup)) {
						t.Errorf("%s on %v", a, st["Resource"])
					}
				}
			}
		})
	}
}

// TestTableGrantNamesIndexes: table access covers the table and each of
// its indexes by name, never index/*.
func TestTableGrantNamesIndexes(t *testing.T) {
	for id, sts := range allowStatements() {
		for _, st := range sts {
			if s := fmt.Sprint(st["Resource"]); strings.Contains(s, "/index/*") {
				t.Errorf("%s: %v", id, st["Resource"])
			}
		}
	}
	sts := roleStatements(t, routes.FnCRM)
	for _, ix := range store.Indexes {
		arn := obj{"Fn::Join": []any{"", []any{getAtt(tableID(t)), "/index/" + ix.Name}}}
		if !grants(sts, "dynamodb:Query", arn) {
			t.Errorf("crm may not query index %s", ix.Name)
		}
	}
}

// TestAPIAccessLogs: the HTTP API's stage logs every request as one JSON
// line to a log group with retention.
func TestAPIAccessLogs(t *testing.T) {
	for id, st := range ofType("AWS::ApiGatewayV2::Stage") {
		settings, _ := props(st)["AccessLogSettings"].(obj)
		group, _ := dig(settings, "DestinationArn", "Fn::GetAtt").([]any)
		if len(group) != 2 {
			t.Fatalf("stage %s: AccessLogSettings = %v", id, settings)
		}
		var line map[string]string
		if err := json.Unmarshal([]byte(fmt.Sprint(settings["Format"])), &line); err != nil || line["requestId"] != "$context.requestId" {
			t.Errorf("Format = %v (%v)", settings["Format"], err)
		}
		if days := dig(props(resources[fmt.Sprint(group[0])].(obj)), "RetentionInDays"); days != float64(30) {
			t.Errorf("log group retention %v", days)
		}
	}
}
