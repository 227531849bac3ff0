package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// fakeSandbox runs "functions" in-process: the payload {"op": ...} chooses
// what an invocation does. It lets the control plane and scheduler be tested
// without processes.
type fakeSandbox struct {
	started atomic.Int32
	closed  atomic.Int32
	mu      sync.Mutex
	specs   []*sandbox.Spec
	block   chan struct{} // when non-nil, "block" invocations wait on it
	failN   atomic.Int32  // "flaky" invocations fail while this is > 0
	seen    chan string   // request ids of completed invocations, when non-nil
}

type fakeEnv struct {
	sb     *fakeSandbox
	spec   *sandbox.Spec
	closed atomic.Bool
	dead   atomic.Bool // the runtime exited after its last invocation
}

func (f *fakeSandbox) Start(ctx context.Context, spec *sandbox.Spec) (sandbox.Env, error) {
	f.started.Add(1)
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	f.mu.Unlock()
	return &fakeEnv{sb: f, spec: spec}, nil
}

func (e *fakeEnv) ID() string { return "fake" }

func (e *fakeEnv) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	if e.closed.Load() || e.dead.Load() {
		return sandbox.Result{}, errors.New("runtime exited between invocations")
	}
	var req struct {
		Op string `json:"op"`
	}
	json.Unmarshal(inv.Payload, &req)
	defer func() {
		if e.sb.seen != nil {
			e.sb.seen <- inv.RequestID
		}
	}()
	switch req.Op {
	case "block":
		<-e.sb.block
	case "fail":
		return sandbox.Result{Payload: []byte(`{"errorType":"Error","errorMessage":"failed"}`), FunctionError: "Unhandled"}, nil
	case "flaky":
		if e.sb.failN.Add(-1) >= 0 {
			return sandbox.Result{Payload: []byte(`{"errorType":"Error","errorMessage":"flaky"}`), FunctionError: "Unhandled"}, nil
		}
	case "fail-and-exit":
		e.dead.Store(true)
		return sandbox.Result{Payload: []byte(`{"errorType":"Error","errorMessage":"bye"}`), FunctionError: "Unhandled"}, nil
	case "crash":
		return sandbox.Result{Payload: []byte(`{"errorType":"Runtime.ExitError"}`), FunctionError: "Unhandled", EnvFailed: true}, nil
	}
	out, _ := json.Marshal(map[string]any{"version": e.spec.Version, "handler": e.spec.Handler, "env": e.spec.Environment, "payload": json.RawMessage(orEmpty(inv.Payload))})
	return sandbox.Result{Payload: out, Log: []byte("START RequestId: " + inv.RequestID + "\nhello\nEND RequestId: " + inv.RequestID + "\n")}, nil
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func (e *fakeEnv) Close() error {
	if !e.closed.Swap(true) {
		e.sb.closed.Add(1)
	}
	return nil
}

func makeZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type harness struct {
	t   *testing.T
	svc *Service
	sb  *fakeSandbox
	st  store.Store
	dir string
	c   caller
}

func newHarness(t *testing.T, mutate ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, sb: &fakeSandbox{}, st: store.NewMemory(), dir: t.TempDir(), c: caller{Account: "123456789012", Region: "us-east-1"}}
	h.start(mutate...)
	return h
}

func (h *harness) start(mutate ...func(*Options)) {
	cfg := Options{
		Store: h.st, CodeDir: h.dir, Sandbox: h.sb,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		AsyncRetryBase: 20 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
	h.t.Cleanup(svc.Close)
}

func (h *harness) create(name string, mutate ...func(*createFunctionInput)) *Config {
	h.t.Helper()
	in := &createFunctionInput{
		FunctionName: name, Runtime: "provided.al2023", Handler: "bootstrap",
		Role: "arn:aws:iam::123456789012:role/lambda-role",
		Code: &functionCodeInput{ZipFile: makeZip(h.t, map[string]string{"bootstrap": "#!/bin/sh\n"})},
	}
	for _, m := range mutate {
		m(in)
	}
	cfg, _, err := h.svc.CreateFunction(h.c, in)
	if err != nil {
		h.t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	return cfg
}

// waitState polls until the function's $LATEST (or qualifier) reaches state and update status.
func (h *harness) waitSettled(name, qualifier string) *Config {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cfg, _, err := h.svc.GetFunction(h.c, "lambda:GetFunction", name, qualifier)
		if err != nil {
			h.t.Fatal(err)
		}
		if cfg.State == stateActive && (cfg.LastUpdateStatus == updateSuccessful || cfg.LastUpdateStatus == "") {
			return cfg
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s:%s not settled: %+v", name, qualifier, cfg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) invoke(name, qualifier, payload string) (*invokeOutput, error) {
	return h.svc.Invoke(context.Background(), h.c, &invokeInput{
		FunctionName: name, Qualifier: qualifier, Type: invokeRequestResponse, LogType: "None",
		Payload: []byte(payload), RequestID: "req-" + time.Now().Format("150405.000000000"),
	})
}

func decodeB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
