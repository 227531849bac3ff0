package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestUserPolicy(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:lpbench-lean"
	doc, err := userPolicy(fn)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Version   string
		Statement []struct {
			Effect    string
			Action    []string
			Resource  string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, doc)
	}
	if p.Version != "2012-10-17" || len(p.Statement) != 3 {
		t.Fatalf("want version 2012-10-17 and 3 statements, got %s", doc)
	}
	invoke := p.Statement[2]
	if invoke.Effect != "Allow" || len(invoke.Action) != 1 || invoke.Action[0] != "lambda:InvokeFunction" || invoke.Resource != fn {
		t.Errorf("last statement does not allow the invoke of %s: %+v", fn, invoke)
	}
	if got := p.Statement[0].Condition["StringNotEquals"]["aws:RequestedRegion"]; got != "us-east-1" {
		t.Errorf("deny is conditioned on region %q, want the function's", got)
	}
	if !strings.Contains(p.Statement[1].Resource, ":123456789012:log-group:") {
		t.Errorf("log statement names another account: %s", p.Statement[1].Resource)
	}
	if _, err := userPolicy("arn:aws:iam::123456789012:role/x"); err == nil {
		t.Error("a role ARN was accepted as a function ARN")
	}
}

func TestThreadCPU(t *testing.T) {
	before := sampleThreads(os.Getpid())
	if len(before) == 0 {
		t.Skip("no /proc/self/task/*/schedstat on this kernel")
	}
	// Spin for CPU time rather than wall time, which a busy machine stretches.
	for start := selfCPU(); selfCPU()-start < 30*time.Millisecond; {
	}
	d, err := sampleThreads(os.Getpid()).since(before)
	if err != nil {
		t.Fatal(err)
	}
	if d < 20*time.Millisecond || d > 10*time.Second {
		t.Errorf("30ms of CPU measured as %v", d)
	}
	if _, err := (threadCPU{}).since(before); err == nil {
		t.Error("an empty sample gave no error")
	}
}

func TestOverhead(t *testing.T) {
	if got := overhead(105*time.Microsecond, 100*time.Microsecond); got < 4.99 || got > 5.01 {
		t.Errorf("overhead(105µs, 100µs) = %v, want 5", got)
	}
	if got := overhead(90*time.Microsecond, 100*time.Microsecond); got > -9.99 || got < -10.01 {
		t.Errorf("overhead(90µs, 100µs) = %v, want -10", got)
	}
}

func TestCheckDenied(t *testing.T) {
	status, errType := http.StatusForbidden, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if errType != "" {
			w.Header().Set("X-Amzn-ErrorType", errType)
		}
		w.WriteHeader(status)
		w.Write(payload)
	}))
	defer srv.Close()
	iv := newInvoker(srv.URL, true, 1)
	ctx := context.Background()
	if err := checkDenied(ctx, iv); err == nil {
		t.Error("a 403 without an error type was taken for a denial")
	}
	status, errType = http.StatusNotFound, "AccessDeniedException"
	if err := checkDenied(ctx, iv); err == nil {
		t.Error("a 404 was taken for a denial")
	}
	status = http.StatusForbidden
	if err := checkDenied(ctx, iv); err != nil {
		t.Errorf("a denial was not recognized: %v", err)
	}
	status, errType = http.StatusOK, ""
	if err := checkDenied(ctx, iv); err == nil {
		t.Error("an allowed invoke passed for a denial")
	}
}
