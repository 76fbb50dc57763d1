package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake Lambda runtime when started by coldStart
// with COLDSTART_FAKE_RUNTIME in its environment.
func TestMain(m *testing.M) {
	if mode := os.Getenv("COLDSTART_FAKE_RUNTIME"); mode != "" {
		os.Exit(fakeRuntime(mode))
	}
	os.Exit(m.Run())
}

// fakeRuntime is a minimal custom runtime speaking plain HTTP to the Runtime API.
func fakeRuntime(mode string) int {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "config: TABLE_NAME is required")
		return 1
	case "initerror":
		req, _ := http.NewRequest(http.MethodPost, base+"/init/error",
			strings.NewReader(`{"errorMessage":"TABLE_NAME is required","errorType":"Runtime.ConfigError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		return 1
	}
	// "ok": answer 200 only when the Lambda and -env variables arrived.
	status := 200
	for _, kv := range []string{"TABLE_NAME=t1", "AWS_LAMBDA_FUNCTION_NAME=hello",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_REGION=us-east-1", "_HANDLER=bootstrap"} {
		k, v, _ := strings.Cut(kv, "=")
		if os.Getenv(k) != v {
			fmt.Fprintf(os.Stderr, "%s = %q, want %q\n", k, os.Getenv(k), v)
			status = 500
		}
	}
	for {
		resp, err := http.Get(base + "/invocation/next")
		if err != nil {
			return 1
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := fmt.Sprintf(`{"statusCode":%d,"body":%q}`, status, event)
		resp, err = http.Post(base+"/invocation/"+resp.Header.Get(headerRequestID)+"/response",
			"application/json", strings.NewReader(body))
		if err != nil {
			return 1
		}
		resp.Body.Close()
	}
}

func fakeOptions(mode string) runOptions {
	return runOptions{
		event:   []byte(`{"rawPath":"/v1/me"}`),
		env:     []string{"COLDSTART_FAKE_RUNTIME=" + mode, "TABLE_NAME=t1"},
		timeout: 30 * time.Second,
	}
}

func TestColdStartMeasuresAllPhases(t *testing.T) {
	s := coldStart(context.Background(), "hello", os.Args[0], fakeOptions("ok"))
	if len(s.Errors) > 0 {
		t.Fatalf("errors: %v\noutput: %s", s.Errors, s.Output)
	}
	for name, d := range map[string]time.Duration{"init": s.Init, "first": s.First, "warm": s.Warm} {
		if d <= 0 {
			t.Errorf("%s = %v, want a measurement", name, d)
		}
	}
	if s.FirstStatus != 200 || s.WarmStatus != 200 {
		t.Errorf("statuses = %d, %d, want 200 (output: %s)", s.FirstStatus, s.WarmStatus, s.Output)
	}
}

func TestColdStartReportsInitFailures(t *testing.T) {
	tests := []struct {
		mode, wantErr, wantOutput string
	}{
		{"exit", "init: process exited before calling /next, exit status 1 (Runtime.ExitError)", "TABLE_NAME is required"},
		{"initerror", "init error: Runtime.ConfigError: TABLE_NAME is required", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s := coldStart(context.Background(), "hello", os.Args[0], fakeOptions(tt.mode))
			if len(s.Errors) != 1 || s.Errors[0] != tt.wantErr {
				t.Errorf("errors = %q, want [%q]", s.Errors, tt.wantErr)
			}
			if s.Init <= 0 || s.First != notMeasured || s.Warm != notMeasured {
				t.Errorf("init, first, warm = %v, %v, %v; want init only", s.Init, s.First, s.Warm)
			}
			if !strings.Contains(s.Output, tt.wantOutput) {
				t.Errorf("output = %q, want it to contain %q", s.Output, tt.wantOutput)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	samples := []sample{
		{Init: 9 * ms, First: 3 * ms, Warm: 1 * ms, FirstStatus: 401, WarmStatus: 401},
		{Init: 5 * ms, First: 2 * ms, Warm: notMeasured, Errors: []string{"warm invoke: boom"}, Output: "log line"},
		{Init: 7 * ms, First: 4 * ms, Warm: 3 * ms, FirstStatus: 200},
	}
	fr := summarize(function{Name: "me", Pkg: "./functions/me"}, &artifacts{Arm64Bytes: 3 * mib / 2}, samples)
	if *fr.Median.Init != 7 || *fr.Median.FirstInvoke != 3 || *fr.Median.WarmInvoke != 2 {
		t.Errorf("medians = %v, %v, %v; want 7, 3, 2", *fr.Median.Init, *fr.Median.FirstInvoke, *fr.Median.WarmInvoke)
	}
	if fr.Arm64MB != 1.5 || fr.OKRuns != 2 || !fr.failed() || fr.Output != "log line" {
		t.Errorf("report = %+v", fr)
	}
	if got, want := fmt.Sprint(fr.Errors), "[warm invoke: boom (1 of 3 runs)]"; got != want {
		t.Errorf("errors = %s, want %s", got, want)
	}
	if got := fmtStatuses(fr.HTTPStatus); got != "200,401" {
		t.Errorf("statuses = %s, want 200,401", got)
	}
	if fr.RunsDetail[1].WarmInvokeMS != nil {
		t.Error("a phase that was not reached must be null")
	}
	// The anchor's runs, interleaved with the function's: 2, 3.5, 4 ms.
	anchors := []sample{{Init: 4 * ms}, {Init: 2 * ms}, {Init: 7 * ms / 2}}
	fr.InitRatio = initRatio(samples, anchors)
	if fr.InitRatio == nil || *fr.InitRatio != 2 {
		t.Errorf("init ratio = %v, want 7 ms / 3.5 ms = 2", fr.InitRatio)
	}
	if initRatio(samples, []sample{{Init: notMeasured}}) != nil {
		t.Error("a ratio without an anchor measured")
	}
	anchor := summarize(function{Name: anchorName}, &artifacts{}, anchors)
	var table strings.Builder
	if err := writeTable(&table, &report{Runs: 3, Functions: []functionReport{fr}, Anchor: &anchor}); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		"bare aws-lambda-go  0.00      0.00    3.50  -",
		"me                  1.50      0.00    7.00  2.00×",
	} {
		if !strings.Contains(table.String(), row) {
			t.Errorf("table lacks %q:\n%s", row, table.String())
		}
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-functions", "crm, functions/trust", "-env", "TABLE_NAME=t", "-env", "A=b=c", "-runs", "3", "-json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.functions) != "[crm trust]" || fmt.Sprint(cfg.env) != "[TABLE_NAME=t A=b=c]" || cfg.runs != 3 || !cfg.json {
		t.Errorf("config = %+v", cfg)
	}
	for _, args := range [][]string{{"-env", "NOVALUE"}, {"-env", "=x"}, {"extra"}, {"-runs", "0"}, {"-pkgdir", "x", "-functions", "y"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 10}
	fmt.Fprint(tb, "first line\nsecond\nthird\n")
	if got := tb.String(); got != "third" {
		t.Errorf("tail = %q, want %q", got, "third")
	}
}
