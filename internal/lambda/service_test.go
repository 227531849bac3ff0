package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

func wantCode(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	var e *awswire.Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if e.Code != code || !strings.Contains(e.Message, msgPart) {
		t.Fatalf("want %s containing %q, got %s: %s", code, msgPart, e.Code, e.Message)
	}
}

func TestCreateFunctionStartsPendingThenActive(t *testing.T) {
	h := newHarness(t)
	cfg := h.create("hello")
	if cfg.State != statePending || cfg.StateReasonCode != reasonCreating || cfg.StateReason != creatingMessage {
		t.Fatalf("create answered %s/%s/%q", cfg.State, cfg.StateReasonCode, cfg.StateReason)
	}
	if cfg.LastUpdateStatus != "" {
		t.Fatalf("create must not report LastUpdateStatus, got %q", cfg.LastUpdateStatus)
	}
	got := h.waitSettled("hello", "")
	if got.RevisionID == cfg.RevisionID {
		t.Fatal("activation must change the revision id")
	}
	if got.StateReason != "" || got.StateReasonCode != "" {
		t.Fatalf("active function keeps reason %q/%q", got.StateReason, got.StateReasonCode)
	}
	_, _, err := h.svc.CreateFunction(h.c, &createFunctionInput{FunctionName: "hello", Runtime: "provided.al2023", Handler: "x",
		Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: makeZip(t, map[string]string{"a": "b"})}})
	wantCode(t, err, "ResourceConflictException", "Function already exist: hello")
}

func TestInvalidCreateLeavesNothingBehind(t *testing.T) {
	h := newHarness(t)
	good := makeZip(t, map[string]string{"bootstrap": "x"})
	cases := []struct {
		name string
		in   createFunctionInput
		code string
		msg  string
	}{
		{"bad name", createFunctionInput{FunctionName: "bad name!", Runtime: "nodejs20.x", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: good}}, "ValidationException", "at 'functionName' failed to satisfy constraint"},
		{"bad role", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Handler: "i.h", Role: "lambda-role", Code: &functionCodeInput{ZipFile: good}}, "ValidationException", "at 'role'"},
		{"memory", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", MemorySize: ptr(64), Code: &functionCodeInput{ZipFile: good}}, "ValidationException", "Member must have value greater than or equal to 128"},
		{"runtime", createFunctionInput{FunctionName: "f", Runtime: "cobol85", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: good}}, "InvalidParameterValueException", ""},
		{"not a zip", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: []byte("not a zip")}}, "InvalidParameterValueException", "Could not unzip uploaded file"},
		{"s3", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{S3Bucket: ptr("b"), S3Key: ptr("k")}}, "InvalidParameterValueException", "S3"},
		{"reserved env", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Handler: "i.h", Role: "arn:aws:iam::123456789012:role/r", Environment: &environmentInput{Variables: map[string]string{"AWS_REGION": "x"}}, Code: &functionCodeInput{ZipFile: good}}, "InvalidParameterValueException", "Reserved keys used in this request: AWS_REGION"},
		{"no handler", createFunctionInput{FunctionName: "f", Runtime: "nodejs20.x", Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: good}}, "InvalidParameterValueException", "Runtime and Handler are mandatory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := h.svc.CreateFunction(h.c, &c.in)
			wantCode(t, err, c.code, c.msg)
		})
	}
	h.st.View(func(tx store.ReadTx) error {
		if kvs := tx.List("lambda/"); len(kvs) != 0 {
			t.Fatalf("invalid requests left %d keys", len(kvs))
		}
		return nil
	})
	entries, _ := os.ReadDir(h.dir)
	if len(entries) != 0 {
		t.Fatalf("invalid requests left %d entries in the code dir", len(entries))
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdateLifecycleAndConflicts(t *testing.T) {
	h := newHarness(t)
	h.create("f")
	before := h.waitSettled("f", "")
	cfg, _, err := h.svc.UpdateFunctionConfiguration(h.c, "f", &updateConfigInput{MemorySize: ptr(256), Environment: &environmentInput{Variables: map[string]string{"AB": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State != stateActive || cfg.LastUpdateStatus != updateInProgress || cfg.LastUpdateStatusReasonCode != reasonCreating {
		t.Fatalf("update answered %s/%s/%s", cfg.State, cfg.LastUpdateStatus, cfg.LastUpdateStatusReasonCode)
	}
	after := h.waitSettled("f", "")
	if after.MemorySize != 256 || after.Environment["AB"] != "1" || after.Handler != before.Handler {
		t.Fatalf("update lost or changed fields: %+v", after)
	}
	_, _, err = h.svc.UpdateFunctionConfiguration(h.c, "f", &updateConfigInput{RevisionID: ptr("stale"), Timeout: ptr(5)})
	wantCode(t, err, "PreconditionFailedException", "The Revision Id provided does not match")

	// While an update is in progress further changes are refused and
	// invocations run the previous configuration.
	h.svc.mu.Lock()
	st := h.svc.fns[fnID{"123456789012", "us-east-1", "f"}]
	f := st.fn
	prev := f.Latest
	f.Previous = &prev
	beginUpdate(&f.Latest)
	f.Latest.MemorySize = 512
	if err := h.svc.write(f.id(), change{put: &f}); err != nil {
		t.Fatal(err)
	}
	h.svc.mu.Unlock()
	_, _, err = h.svc.UpdateFunctionConfiguration(h.c, "f", &updateConfigInput{Timeout: ptr(5)})
	wantCode(t, err, "ResourceConflictException", "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:f")
	_, _, err = h.svc.PublishVersion(h.c, "f", &publishInput{})
	wantCode(t, err, "ResourceConflictException", "An update is in progress")
	if _, err := h.invoke("f", "", `{}`); err != nil {
		t.Fatalf("invoke during update: %v", err)
	}
	h.sb.mu.Lock()
	last := h.sb.specs[len(h.sb.specs)-1]
	h.sb.mu.Unlock()
	if last.MemoryMB != 256 {
		t.Fatalf("invoke during update ran memory %d, want the previous 256", last.MemoryMB)
	}
}

func TestPendingFunctionRefusesInvokeAndUpdates(t *testing.T) {
	h := newHarness(t)
	h.create("p")
	h.waitSettled("p", "")
	h.svc.mu.Lock()
	st := h.svc.fns[fnID{"123456789012", "us-east-1", "p"}]
	f := st.fn
	f.Latest.State, f.Latest.StateReasonCode = statePending, reasonCreating
	h.svc.write(f.id(), change{put: &f})
	h.svc.mu.Unlock()
	_, err := h.invoke("p", "", `{}`)
	wantCode(t, err, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	_, _, err = h.svc.UpdateFunctionCode(h.c, "p", &updateCodeInput{ZipFile: makeZip(t, map[string]string{"x": "y"})})
	wantCode(t, err, "ResourceConflictException", "is currently in the following state: 'Pending'. StateReasonCode: 'Creating'")
}

func TestVersionsAliasesAndInvokeQualifiers(t *testing.T) {
	h := newHarness(t)
	h.create("v", func(in *createFunctionInput) {
		in.Environment = &environmentInput{Variables: map[string]string{"GEN": "1"}}
	})
	h.waitSettled("v", "")
	v1, _, err := h.svc.PublishVersion(h.c, "v", &publishInput{Description: ptr("first")})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.Description != "first" {
		t.Fatalf("published %+v", v1)
	}
	again, _, err := h.svc.PublishVersion(h.c, "v", &publishInput{})
	if err != nil || again.Version != "1" {
		t.Fatalf("republishing unchanged code made version %v (%v)", again, err)
	}
	_, _, err = h.svc.PublishVersion(h.c, "v", &publishInput{CodeSha256: ptr("nope")})
	wantCode(t, err, "InvalidParameterValueException", "CodeSHA256 (nope) is different from current CodeSHA256 in $LATEST")
	h.waitSettled("v", "1")
	if _, _, err := h.svc.UpdateFunctionConfiguration(h.c, "v", &updateConfigInput{Environment: &environmentInput{Variables: map[string]string{"GEN": "2"}}}); err != nil {
		t.Fatal(err)
	}
	h.waitSettled("v", "")
	v2, _, err := h.svc.PublishVersion(h.c, "v", &publishInput{})
	if err != nil || v2.Version != "2" {
		t.Fatalf("second publish: %v %v", v2, err)
	}
	h.waitSettled("v", "2")
	if _, _, err := h.svc.CreateAlias(h.c, "v", &aliasInput{Name: ptr("live"), FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = h.svc.CreateAlias(h.c, "v", &aliasInput{Name: ptr("live"), FunctionVersion: ptr("1")})
	wantCode(t, err, "ResourceConflictException", "Alias already exists: arn:aws:lambda:us-east-1:123456789012:function:v:live")
	_, _, err = h.svc.CreateAlias(h.c, "v", &aliasInput{Name: ptr("x"), FunctionVersion: ptr("9")})
	wantCode(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:v:9")
	_, _, err = h.svc.CreateAlias(h.c, "v", &aliasInput{Name: ptr("123"), FunctionVersion: ptr("1")})
	wantCode(t, err, "ValidationException", "at 'name'")

	for _, tc := range []struct{ q, wantVersion, wantGen string }{{"", "$LATEST", "2"}, {"1", "1", "1"}, {"2", "2", "2"}, {"live", "1", "1"}, {"$LATEST", "$LATEST", "2"}} {
		out, err := h.invoke("v", tc.q, `{"k":1}`)
		if err != nil {
			t.Fatalf("invoke %q: %v", tc.q, err)
		}
		var body struct {
			Version string            `json:"version"`
			Env     map[string]string `json:"env"`
		}
		json.Unmarshal(out.Payload, &body)
		if out.ExecutedVersion != tc.wantVersion || body.Version != tc.wantVersion || body.Env["GEN"] != tc.wantGen {
			t.Fatalf("qualifier %q ran version %s (%s) GEN=%s", tc.q, out.ExecutedVersion, body.Version, body.Env["GEN"])
		}
	}
	out, err := h.invoke("arn:aws:lambda:us-east-1:123456789012:function:v:live", "", `{}`)
	if err != nil || out.ExecutedVersion != "1" {
		t.Fatalf("qualified ARN invoke: %v %v", out, err)
	}
	_, err = h.invoke("v", "nope", `{}`)
	wantCode(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:v:nope")

	err = h.svc.DeleteFunction(h.c, "v", "1")
	wantCode(t, err, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [live]")
	err = h.svc.DeleteFunction(h.c, "v", "$LATEST")
	wantCode(t, err, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.")
	if err := h.svc.DeleteFunction(h.c, "v", "2"); err != nil {
		t.Fatal(err)
	}
	v3, _, err := h.svc.UpdateFunctionCode(h.c, "v", &updateCodeInput{ZipFile: makeZip(t, map[string]string{"new": "code"}), Publish: true})
	if err != nil || v3.Version != "3" {
		t.Fatalf("version numbers must not be reused after delete: %v %v", v3, err)
	}
	cfgs, _, _, err := h.svc.ListVersionsByFunction(h.c, "v", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, c := range cfgs {
		versions = append(versions, c.Version)
	}
	if strings.Join(versions, ",") != "$LATEST,1,3" {
		t.Fatalf("versions %v", versions)
	}
}

func TestListFunctionsPaging(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 7; i++ {
		h.create(fmt.Sprintf("fn-%02d", i))
	}
	var names []string
	marker := ""
	for pages := 0; ; pages++ {
		cfgs, ids, next, err := h.svc.ListFunctions(h.c, false, marker, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfgs) > 3 || pages > 5 {
			t.Fatalf("page too big or too many pages")
		}
		for _, id := range ids {
			names = append(names, id.Name)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if len(names) != 7 || names[0] != "fn-00" || names[6] != "fn-06" {
		t.Fatalf("listed %v", names)
	}
}

func TestRestartKeepsFunctions(t *testing.T) {
	h := newHarness(t)
	h.create("keep", func(in *createFunctionInput) { in.Tags = map[string]string{"team": "a"} })
	h.waitSettled("keep", "")
	h.svc.PublishVersion(h.c, "keep", &publishInput{})
	h.svc.Close()
	h.start()
	cfg := h.waitSettled("keep", "1")
	if cfg.Version != "1" {
		t.Fatalf("version lost over restart: %+v", cfg)
	}
	tags, err := h.svc.ListTags(h.c, "arn:aws:lambda:us-east-1:123456789012:function:keep")
	if err != nil || tags["team"] != "a" {
		t.Fatalf("tags lost: %v %v", tags, err)
	}
	if _, err := h.invoke("keep", "", `{}`); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrencyLimits(t *testing.T) {
	h := newHarness(t, func(c *Options) { c.AccountConcurrency = 110 })
	h.sb.block = make(chan struct{})
	h.create("busy")
	h.waitSettled("busy", "")
	if _, err := h.svc.PutFunctionConcurrency(h.c, "busy", ptr(11)); err == nil {
		t.Fatal("reservation leaving fewer than 100 unreserved must fail")
	} else {
		wantCode(t, err, "InvalidParameterValueException", "below its minimum value of [100]")
	}
	if _, err := h.svc.PutFunctionConcurrency(h.c, "busy", ptr(2)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); h.invoke("busy", "", `{"op":"block"}`) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.sb.started.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err := h.invoke("busy", "", `{}`)
	wantCode(t, err, "TooManyRequestsException", "Rate Exceeded.")
	var e *awswire.Error
	errors.As(err, &e)
	if e.Fields["Reason"] != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("reason %q", e.Fields["Reason"])
	}
	close(h.sb.block)
	wg.Wait()
	if _, err := h.invoke("busy", "", `{}`); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	if n := h.sb.started.Load(); n != 2 {
		t.Fatalf("warm environments not reused: %d started", n)
	}
	if _, err := h.svc.PutFunctionConcurrency(h.c, "busy", ptr(0)); err != nil {
		t.Fatal(err)
	}
	_, err = h.invoke("busy", "", `{}`)
	wantCode(t, err, "TooManyRequestsException", "Rate Exceeded.")
}

func TestFailedEnvironmentIsReplaced(t *testing.T) {
	h := newHarness(t)
	h.create("c")
	h.waitSettled("c", "")
	out, err := h.invoke("c", "", `{"op":"crash"}`)
	if err != nil || out.FunctionError != "Unhandled" {
		t.Fatalf("crash: %v %v", out, err)
	}
	out, err = h.invoke("c", "", `{}`)
	if err != nil || out.FunctionError != "" {
		t.Fatalf("after crash: %v %v", out, err)
	}
	if h.sb.started.Load() != 2 || h.sb.closed.Load() != 1 {
		t.Fatalf("started %d closed %d", h.sb.started.Load(), h.sb.closed.Load())
	}
	// A runtime that exits on its own after an invocation is noticed only
	// when the next invocation is delivered; that invocation must not fail.
	if out, err := h.invoke("c", "", `{"op":"fail-and-exit"}`); err != nil || out.FunctionError != "Unhandled" {
		t.Fatalf("fail-and-exit: %v %v", out, err)
	}
	if out, err := h.invoke("c", "", `{}`); err != nil || out.FunctionError != "" {
		t.Fatalf("invoke after the runtime exited: %v %v", out, err)
	}
	if h.sb.started.Load() != 3 {
		t.Fatalf("started %d, want a replacement environment", h.sb.started.Load())
	}
}

func TestInvokeValidation(t *testing.T) {
	h := newHarness(t)
	h.create("val")
	h.waitSettled("val", "")
	_, err := h.invoke("val", "", `{not json`)
	wantCode(t, err, "InvalidRequestContentException", "Could not parse request body into json")
	big := `"` + strings.Repeat("a", maxSyncPayload) + `"`
	_, err = h.invoke("val", "", big)
	wantCode(t, err, "RequestEntityTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
	_, err = h.svc.Invoke(context.Background(), h.c, &invokeInput{FunctionName: "val", Type: invokeEvent, LogType: "None", Payload: []byte(`"` + strings.Repeat("a", maxAsyncPayload) + `"`)})
	wantCode(t, err, "RequestEntityTooLargeException", "byte payload is too large for the Event invocation type (limit 262144 bytes)")
	out, err := h.svc.Invoke(context.Background(), h.c, &invokeInput{FunctionName: "val", Type: invokeDryRun, LogType: "None"})
	if err != nil || out.Status != 204 {
		t.Fatalf("dry run: %v %v", out, err)
	}
	out, err = h.svc.Invoke(context.Background(), h.c, &invokeInput{FunctionName: "val", Type: invokeRequestResponse, LogType: "Tail", Payload: []byte(`{}`), RequestID: "r1"})
	if err != nil || !strings.Contains(decodeB64(t, out.LogResult), "START RequestId: r1") {
		t.Fatalf("tail log: %v %v", out, err)
	}
	_, err = h.invoke("missing", "", `{}`)
	wantCode(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing")
}

func TestAsyncRetriesAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.sb.seen = make(chan string, 16)
	h.create("ev")
	h.waitSettled("ev", "")
	h.sb.failN.Store(2)
	out, err := h.svc.Invoke(context.Background(), h.c, &invokeInput{FunctionName: "ev", Type: invokeEvent, LogType: "None", Payload: []byte(`{"op":"flaky"}`), RequestID: "e1"})
	if err != nil || out.Status != 202 {
		t.Fatalf("event invoke: %v %v", out, err)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-h.sb.seen:
		case <-time.After(5 * time.Second):
			t.Fatalf("attempt %d never ran", i+1)
		}
	}
	waitNoKeys(t, h.st, asyncPrefix)

	// An accepted event survives a restart before it runs.
	h.svc.Close()
	h.st.Update(func(tx store.Tx) error {
		return store.PutJSON(tx, asyncPrefix+"e2", &asyncEvent{ID: "e2", Account: h.c.Account, Region: h.c.Region, Name: "ev", Payload: []byte(`{}`), NotBefore: time.Now(), Enqueued: time.Now()})
	})
	h.start()
	select {
	case id := <-h.sb.seen:
		if id != "e2" {
			t.Fatalf("ran %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stored event did not run after restart")
	}
	waitNoKeys(t, h.st, asyncPrefix)
}

func waitNoKeys(t *testing.T, st store.Store, prefix string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		st.View(func(tx store.ReadTx) error { n = len(tx.List(prefix)); return nil })
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys left under %s", n, prefix)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdleEnvironmentsAreReaped(t *testing.T) {
	h := newHarness(t, func(c *Options) { c.EnvIdleTimeout = 30 * time.Millisecond })
	h.create("idle")
	h.waitSettled("idle", "")
	if _, err := h.invoke("idle", "", `{}`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.sb.closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle environment was never stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := h.invoke("idle", "", `{}`); err != nil {
		t.Fatal(err)
	}
	if h.sb.started.Load() != 2 {
		t.Fatalf("started %d environments, want a new one after the reap", h.sb.started.Load())
	}
}

func TestTraceIDFormat(t *testing.T) {
	id := newTraceID()
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(id) {
		t.Fatalf("trace id %q", id)
	}
}
