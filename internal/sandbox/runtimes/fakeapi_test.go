package runtimes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a minimal Lambda Runtime API on 127.0.0.1: it hands out queued
// invocations on /next and records what the runtime posts back.
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	queue chan *fakeInvocation

	mu        sync.Mutex
	pending   map[string]chan outcome
	firstNext time.Time
	nexts     int           // /next requests received
	nextSeen  chan struct{} // closed on the first /next
	initErr   chan outcome
}

type fakeInvocation struct {
	id              string
	payload         string
	deadline        time.Time
	arn             string
	traceID         string
	clientContext   string
	cognitoIdentity string
}

// outcome is one POST from the runtime.
type outcome struct {
	kind      string // "response", "error" or "init-error"
	body      []byte
	errorType string // Lambda-Runtime-Function-Error-Type
	ctype     string
}

func (o outcome) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(o.body, &m); err != nil {
		t.Fatalf("%s body is not a JSON object: %v: %s", o.kind, err, o.body)
	}
	return m
}

func newFakeAPI(t *testing.T) *fakeAPI {
	api := &fakeAPI{
		t:        t,
		queue:    make(chan *fakeInvocation, 16),
		pending:  map[string]chan outcome{},
		nextSeen: make(chan struct{}),
		initErr:  make(chan outcome, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", api.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", api.result("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", api.result("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case api.initErr <- outcome{kind: "init-error", body: body, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}:
		default:
			t.Errorf("second init error: %s", body)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	api.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(api.srv.Close)
	return api
}

func (api *fakeAPI) addr() string { return strings.TrimPrefix(api.srv.URL, "http://") }

func (api *fakeAPI) next(w http.ResponseWriter, r *http.Request) {
	api.mu.Lock()
	if api.firstNext.IsZero() {
		api.firstNext = time.Now()
		close(api.nextSeen)
	}
	api.nexts++
	api.mu.Unlock()
	var inv *fakeInvocation
	select {
	case inv = <-api.queue:
	case <-r.Context().Done():
		return
	}
	if r.Context().Err() != nil {
		// The connection died while this request waited: hand the
		// invocation to the runtime's next request instead.
		api.queue <- inv
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	if inv.traceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	}
	if inv.clientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.clientContext)
	}
	if inv.cognitoIdentity != "" {
		h.Set("Lambda-Runtime-Cognito-Identity", inv.cognitoIdentity)
	}
	h.Set("Content-Type", "application/json")
	io.WriteString(w, inv.payload)
}

func (api *fakeAPI) result(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		ch, ok := api.pending[r.PathValue("id")]
		delete(api.pending, r.PathValue("id"))
		api.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
			return
		}
		ch <- outcome{kind: kind, body: body, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), ctype: r.Header.Get("Content-Type")}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)
	}
}

var requestCounter struct {
	sync.Mutex
	n int
}

func newRequestID() string {
	requestCounter.Lock()
	defer requestCounter.Unlock()
	requestCounter.n++
	return fmt.Sprintf("8f5c1a2e-0000-4000-8000-%012d", requestCounter.n)
}

// send queues an invocation and returns the channel its outcome arrives on.
func (api *fakeAPI) send(inv *fakeInvocation) <-chan outcome {
	if inv.id == "" {
		inv.id = newRequestID()
	}
	if inv.deadline.IsZero() {
		inv.deadline = time.Now().Add(30 * time.Second)
	}
	if inv.arn == "" {
		inv.arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
	}
	if inv.payload == "" {
		inv.payload = "{}"
	}
	ch := make(chan outcome, 1)
	api.mu.Lock()
	api.pending[inv.id] = ch
	api.mu.Unlock()
	api.queue <- inv
	return ch
}

// invoke sends an invocation and waits for its outcome.
func (api *fakeAPI) invoke(inv *fakeInvocation) outcome {
	api.t.Helper()
	ch := api.send(inv)
	select {
	case o := <-ch:
		return o
	case <-time.After(20 * time.Second):
		api.t.Fatalf("no outcome for invocation %s", inv.id)
		return outcome{}
	}
}

// waitNexts waits until the runtime has asked for n invocations.
func (api *fakeAPI) waitNexts(n int) {
	api.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		api.mu.Lock()
		got := api.nexts
		api.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			api.t.Fatalf("runtime made %d /next requests, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (api *fakeAPI) waitInitError() outcome {
	api.t.Helper()
	select {
	case o := <-api.initErr:
		return o
	case <-time.After(20 * time.Second):
		api.t.Fatal("no init error posted")
		return outcome{}
	}
}

// proc is a runtime process under test.
type proc struct {
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
	start time.Time
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// baseEnv is what the sandbox gives every function: Lambda's reserved
// variables for a test function, and no inherited PYTHONPATH/NODE_PATH.
func baseEnv(api *fakeAPI, rt Runtime, handler, taskRoot string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=C.UTF-8",
		"AWS_LAMBDA_RUNTIME_API=" + api.addr(),
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_EXECUTION_ENV=AWS_Lambda_" + rt.Name,
		"AWS_LAMBDA_FUNCTION_NAME=fn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/11/21/[$LATEST]0123456789abcdef",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
	}
}

// startRuntime launches rt's bootstrap for the code in taskRoot against api.
func startRuntime(t *testing.T, set *Set, api *fakeAPI, rt Runtime, handler, taskRoot string) *proc {
	t.Helper()
	l, err := set.Launch(rt, handler, taskRoot)
	if err != nil {
		t.Fatalf("Launch(%s): %v", rt.Name, err)
	}
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Dir = taskRoot
	cmd.Env = append(baseEnv(api, rt, handler, taskRoot), l.Env...)
	p := &proc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", l.Argv, err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", rt.Name, p.out.String())
		}
	})
	return p
}

// exitCode waits for the process to end by itself.
func (p *proc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatal("runtime process did not exit")
		return 0
	}
}

// writeFiles creates a task root from name → content.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testSet is installed once for the whole test binary.
var testSet *Set

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lp-runtimes-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testSet, err = Install(dir, DefaultSDKDir())
	if err != nil {
		fmt.Fprintln(os.Stderr, "Install:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireSDK skips a test that needs the installed SDK directory sub when
// it is missing locally, and fails it in CI.
func requireSDK(t *testing.T, sub string) {
	t.Helper()
	dir := filepath.Join(DefaultSDKDir(), sub)
	if _, err := os.Stat(dir); err != nil {
		sdkMissing(t, "SDK not installed in %s", dir)
	}
}

func sdkMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + fmt.Sprintf(" (run scripts/install-sdks.sh %s)", DefaultSDKDir())
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func mustRuntime(t *testing.T, name string) Runtime {
	t.Helper()
	rt, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) failed", name)
	}
	return rt
}
