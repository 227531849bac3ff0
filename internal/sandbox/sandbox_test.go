package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// codeDir holds the test bootstrap, built once for the whole package.
var codeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lpboot")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "./testdata/bootstrap")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building test bootstrap: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// Isolated environments bind the code read-only; plain ones need it
	// readable by the bootstrap only.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	codeDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireRoot skips a privileged test without root, except in CI where the
// privileged tier must run.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("privileged test needs root in CI")
	}
	t.Skip("needs root")
}

func providedLauncher(spec *Spec, taskRoot string) ([]string, []string, error) {
	return []string{taskRoot + "/bootstrap"}, nil, nil
}

// lineSink collects what a manager's environments log.
type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) sink(_ *Spec, line []byte) {
	s.mu.Lock()
	s.lines = append(s.lines, string(line))
	s.mu.Unlock()
}

func (s *lineSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

type mode struct {
	name    string
	isolate bool
}

// modes are the environment kinds a behaviour is tested in: plain always,
// isolated when privileged tests run.
func modes(t *testing.T) []mode {
	ms := []mode{{"plain", false}}
	if os.Geteuid() == 0 || os.Getenv("CI") == "true" {
		ms = append(ms, mode{"isolated", true})
	}
	return ms
}

func newManager(t testing.TB, isolate bool, sink LogSink, tweak ...func(*Config)) *Manager {
	t.Helper()
	if isolate {
		requireRoot(t)
	}
	cfg := Config{
		Isolate:      isolate,
		BaseDir:      t.TempDir(),
		Launcher:     providedLauncher,
		LogSink:      sink,
		CgroupParent: newID(),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing manager: %v", err)
		}
		if isolate {
			assertNoCgroup(t, cfg.CgroupParent)
		}
	})
	return m
}

// assertNoCgroup checks that no hierarchy still has a cgroup named name at its root.
func assertNoCgroup(t testing.TB, name string) {
	t.Helper()
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	matches2, _ := filepath.Glob("/sys/fs/cgroup/" + name)
	if all := append(matches, matches2...); len(all) > 0 {
		t.Errorf("cgroups left behind: %v", all)
	}
}

func testSpec() *Spec {
	return &Spec{
		FunctionName: "fn",
		FunctionArn:  "arn:aws:lambda:us-east-1:123456789012:function:fn",
		Version:      "$LATEST",
		Region:       "us-east-1",
		Account:      "123456789012",
		Runtime:      "provided.al2023",
		Handler:      "bootstrap.handler",
		CodeDir:      codeDir,
		MemoryMB:     128,
		Timeout:      5 * time.Second,
		EphemeralMB:  64,
		LogGroup:     "/aws/lambda/fn",
		LogStream:    "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
	}
}

func start(t testing.TB, m *Manager, spec *Spec) Env {
	t.Helper()
	e, err := m.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var reqSeq struct {
	sync.Mutex
	n int
}

func newRequestID() string {
	reqSeq.Lock()
	defer reqSeq.Unlock()
	reqSeq.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", reqSeq.n)
}

func invoke(t testing.TB, e Env, payload string, wantLog bool) (Invocation, Result) {
	t.Helper()
	inv := Invocation{RequestID: newRequestID(), Payload: []byte(payload), WantLog: wantLog}
	r, err := e.Invoke(context.Background(), inv)
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return inv, r
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return v
}

func pidAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// processesWithToken lists pids whose command line contains token.
func processesWithToken(token string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(token)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

var reportRE = regexp.MustCompile(`^REPORT RequestId: (\S+)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB\tMax Memory Used: (\d+) MB\t(Init Duration: \d+\.\d\d ms\t)?(Status: \w+(\tError Type: \S+)?)?$`)

func TestEcho(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			m := newManager(t, md.isolate, nil)
			e := start(t, m, testSpec())
			for i := range 3 {
				payload := fmt.Sprintf(`{"op":"echo","i":%d}`, i)
				// With the log asked for, the REPORT line's memory reading is made.
				_, r := invoke(t, e, payload, true)
				if string(r.Payload) != payload || r.FunctionError != "" || r.EnvFailed {
					t.Fatalf("invoke %d: %+v", i, r)
				}
				if (i == 0) != (r.InitDuration > 0) {
					t.Errorf("invoke %d: InitDuration %v", i, r.InitDuration)
				}
				if r.Duration <= 0 || r.MaxMemoryMB <= 0 {
					t.Errorf("invoke %d: Duration %v MaxMemoryMB %d", i, r.Duration, r.MaxMemoryMB)
				}
			}
		})
	}
}

func TestRuntimeHeaders(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	deadline := time.Now().Add(4 * time.Second)
	inv := Invocation{
		RequestID:       newRequestID(),
		Payload:         []byte(`{"op":"headers"}`),
		InvokedArn:      "arn:aws:lambda:us-east-1:123456789012:function:fn:prod",
		ClientContext:   "eyJjdXN0b20iOnt9fQ==",
		CognitoIdentity: `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
		TraceID:         "Root=1-5e1b4151-5ac6c58f5b5dbd6a5d5c6f2a;Parent=53995c3f42cd8ad8;Sampled=1",
		Deadline:        deadline,
	}
	r, err := e.Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	h := decode[map[string]string](t, r.Payload)
	want := map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       inv.RequestID,
		"Lambda-Runtime-Deadline-Ms":          strconv.FormatInt(deadline.UnixMilli(), 10),
		"Lambda-Runtime-Invoked-Function-Arn": inv.InvokedArn,
		"Lambda-Runtime-Trace-Id":             inv.TraceID,
		"Lambda-Runtime-Client-Context":       inv.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     inv.CognitoIdentity,
		"Content-Type":                        "application/json",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}

	// Without an invoked ARN the runtime sees the function's.
	_, r = invoke(t, e, `{"op":"headers"}`, false)
	h = decode[map[string]string](t, r.Payload)
	if got := h["Lambda-Runtime-Invoked-Function-Arn"]; got != testSpec().FunctionArn {
		t.Errorf("default invoked ARN %q", got)
	}
	if _, ok := h["Lambda-Runtime-Trace-Id"]; ok {
		t.Error("empty trace id sent")
	}
}

func TestEnvironmentVariables(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			m := newManager(t, md.isolate, nil)
			spec := testSpec()
			spec.Environment = map[string]string{
				"MY_VAR":     "mine",
				"AWS_REGION": "eu-west-1", // reserved: ignored
				"PATH":       "/custom/bin:/usr/bin:/bin",
				"TZ":         "Europe/Paris", // reserved
			}
			spec.AccessKeyID, spec.SecretAccessKey, spec.SessionToken = "ASIAEXAMPLE", "secret", "token"
			spec.EndpointURL = "http://127.0.0.1:4566"
			e := start(t, m, spec)
			_, r := invoke(t, e, `{"op":"env"}`, false)
			env := decode[map[string]string](t, r.Payload)
			taskRoot := codeDir
			if md.isolate {
				taskRoot = "/var/task"
			}
			want := map[string]string{
				"MY_VAR":                          "mine",
				"PATH":                            "/custom/bin:/usr/bin:/bin",
				"AWS_REGION":                      "us-east-1",
				"AWS_DEFAULT_REGION":              "us-east-1",
				"TZ":                              ":UTC",
				"LANG":                            "en_US.UTF-8",
				"_HANDLER":                        "bootstrap.handler",
				"AWS_LAMBDA_FUNCTION_NAME":        "fn",
				"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
				"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
				"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
				"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/fn",
				"AWS_LAMBDA_LOG_STREAM_NAME":      spec.LogStream,
				"LAMBDA_TASK_ROOT":                taskRoot,
				"LAMBDA_RUNTIME_DIR":              "/var/runtime",
				"AWS_ACCESS_KEY_ID":               "ASIAEXAMPLE",
				"AWS_SECRET_ACCESS_KEY":           "secret",
				"AWS_SESSION_TOKEN":               "token",
				"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
				"(cwd)":                           taskRoot,
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			if _, ok := env["AWS_EXECUTION_ENV"]; ok {
				t.Error("AWS_EXECUTION_ENV set for an OS-only runtime")
			}
			if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(env["AWS_LAMBDA_RUNTIME_API"]) {
				t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
			}
			if !strings.Contains(env["LD_LIBRARY_PATH"], taskRoot+"/lib") {
				t.Errorf("LD_LIBRARY_PATH = %q", env["LD_LIBRARY_PATH"])
			}
			if md.isolate {
				if _, ok := env["TMPDIR"]; ok {
					t.Error("TMPDIR set although /tmp is private")
				}
			} else if tmp := env["TMPDIR"]; tmp == "" || !strings.HasPrefix(tmp, m.cfg.BaseDir) {
				t.Errorf("TMPDIR = %q, want a directory under %s", tmp, m.cfg.BaseDir)
			}
			if _, ok := env["HOME"]; ok {
				t.Error("the server's own environment leaked into the function")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			sink := &lineSink{}
			m := newManager(t, md.isolate, sink.sink)
			spec := testSpec()
			spec.Timeout = 500 * time.Millisecond
			e := start(t, m, spec)
			invoke(t, e, `{"op":"echo"}`, false)
			inv, r := invoke(t, e, `{"op":"sleep","ms":10000}`, true)
			want := `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ` + inv.RequestID + ` Error: Task timed out after 0.50 seconds"}`
			if string(r.Payload) != want || r.FunctionError != "Unhandled" || !r.EnvFailed {
				t.Fatalf("got %+v payload %s", r, r.Payload)
			}
			if r.Duration < 400*time.Millisecond || r.Duration > 2*time.Second {
				t.Errorf("Duration %v", r.Duration)
			}
			lines := strings.Split(strings.TrimSuffix(string(r.Log), "\n"), "\n")
			if len(lines) != 4 || lines[0] != "START RequestId: "+inv.RequestID+" Version: $LATEST" ||
				!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `+inv.RequestID+` Task timed out after 0\.50 seconds$`).MatchString(lines[1]) ||
				lines[2] != "END RequestId: "+inv.RequestID ||
				!strings.HasSuffix(lines[3], "\tStatus: timeout") || !reportRE.MatchString(lines[3]) {
				t.Errorf("log:\n%s", r.Log)
			}
			if _, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID(), Payload: []byte(`{}`)}); !errors.Is(err, ErrClosed) {
				t.Errorf("invoke after timeout: %v, want ErrClosed", err)
			}
			waitGone(t, e.(*env).pid)
		})
	}
}

func waitGone(t testing.TB, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		// A zombie has not been reaped yet but is dead.
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("pid %d still alive", pid)
}

func TestExitDuringInvocation(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			m := newManager(t, md.isolate, nil)
			e := start(t, m, testSpec())
			inv, r := invoke(t, e, `{"op":"exit","code":1}`, true)
			want := `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: ` + inv.RequestID + ` Error: Runtime exited with error: exit status 1"}`
			if string(r.Payload) != want || r.FunctionError != "Unhandled" || !r.EnvFailed {
				t.Fatalf("got %+v payload %s", r, r.Payload)
			}
			wantLog := "START RequestId: " + inv.RequestID + " Version: $LATEST\n" +
				"exiting with 1\n" +
				"RequestId: " + inv.RequestID + " Error: Runtime exited with error: exit status 1\n" +
				"Runtime.ExitError\n" +
				"END RequestId: " + inv.RequestID + "\n"
			if !strings.HasPrefix(string(r.Log), wantLog) || !strings.HasSuffix(string(r.Log), "\tStatus: error\tError Type: Runtime.ExitError\n") {
				t.Errorf("log:\n%s", r.Log)
			}
		})
	}
}

func TestExitBetweenInvocations(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	_, r := invoke(t, e, `{"op":"exitafter"}`, false)
	if string(r.Payload) != `"bye"` || r.EnvFailed {
		t.Fatalf("got %+v", r)
	}
	<-e.(*env).exited
	_, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID(), Payload: []byte(`{}`)})
	if !errors.Is(err, ErrExited) {
		t.Fatalf("Invoke after exit: %v, want ErrExited", err)
	}
}

func TestFunctionError(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	_, r := invoke(t, e, `{"op":"error"}`, false)
	if string(r.Payload) != `{"errorMessage":"boom","errorType":"MyError","stackTrace":["main.go:1"]}` ||
		r.FunctionError != "Unhandled" || r.EnvFailed {
		t.Fatalf("got %+v payload %s", r, r.Payload)
	}
	if _, r := invoke(t, e, `{"op":"echo"}`, false); r.FunctionError != "" {
		t.Fatalf("after an error: %+v", r)
	}
}

func TestResponseTooLarge(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	_, r := invoke(t, e, fmt.Sprintf(`{"op":"big","n":%d}`, maxPayloadBytes), false)
	if len(r.Payload) != maxPayloadBytes || r.FunctionError != "" {
		t.Fatalf("payload at the limit: %d bytes, FunctionError %q", len(r.Payload), r.FunctionError)
	}
	_, r = invoke(t, e, fmt.Sprintf(`{"op":"big","n":%d}`, maxPayloadBytes+1), false)
	want := `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."}`
	if string(r.Payload) != want || r.FunctionError != "Unhandled" || r.EnvFailed {
		t.Fatalf("got %+v payload %s", r, r.Payload)
	}
	_, r = invoke(t, e, `{"op":"report"}`, false)
	probes := decode[[]struct {
		Status int
		Body   string
	}](t, r.Payload)
	if len(probes) != 1 || probes[0].Status != 413 ||
		probes[0].Body != `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`+"\n" {
		t.Errorf("runtime saw %+v", probes)
	}
}

func TestRuntimeAPIMisuse(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	type probe struct {
		Call   string
		Status int
		Body   string
	}
	_, r := invoke(t, e, `{"op":"misuse"}`, false)
	got := decode[[]probe](t, r.Payload)
	invalidID := `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` + "\n"
	want := []probe{
		{"unknown id", 400, invalidID},
		{"unknown id error", 400, invalidID},
		{"init error after init", 403, `{"errorMessage":"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}` + "\n"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	_, r = invoke(t, e, `{"op":"report"}`, false)
	got = decode[[]probe](t, r.Payload)
	want = []probe{{"second response", 403, `{"errorMessage":"State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}` + "\n"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestInitErrors(t *testing.T) {
	cases := []struct {
		name       string
		bootInit   string
		emptyCode  bool
		errorType  string
		payload    string // %s = request id
		logLine    string
		initReport string
		status     string
	}{
		{
			name: "posted", bootInit: "error", errorType: "Runtime.ImportModuleError",
			payload:    `{"errorMessage":"Unable to import module 'x'","errorType":"Runtime.ImportModuleError","stackTrace":[]}`,
			logLine:    "init: failing with an import error",
			initReport: "\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError",
			status:     "\tStatus: error\tError Type: Runtime.ImportModuleError",
		},
		{
			name: "exit", bootInit: "exit", errorType: "Runtime.ExitError",
			payload:    `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 3"}`,
			logLine:    "init: exiting",
			initReport: "\tPhase: init\tStatus: error\tError Type: Runtime.ExitError",
			status:     "\tStatus: error\tError Type: Runtime.ExitError",
		},
		{
			name: "timeout", bootInit: "hang", errorType: "Sandbox.Timedout",
			payload:    `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: %s Error: Task timed out after 0.30 seconds"}`,
			logLine:    "init: hanging",
			initReport: "\tPhase: init\tStatus: timeout",
			status:     "\tStatus: timeout",
		},
		{
			name: "no bootstrap", emptyCode: true, errorType: "Runtime.InvalidEntrypoint",
			payload:    `{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: %s Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}`,
			initReport: "\tPhase: init\tStatus: error\tError Type: Runtime.InvalidEntrypoint",
			status:     "\tStatus: error\tError Type: Runtime.InvalidEntrypoint",
		},
	}
	for _, md := range modes(t) {
		for _, tc := range cases {
			t.Run(md.name+"/"+tc.name, func(t *testing.T) {
				sink := &lineSink{}
				m := newManager(t, md.isolate, sink.sink, func(c *Config) { c.InitTimeout = 300 * time.Millisecond })
				spec := testSpec()
				spec.Environment = map[string]string{"BOOT_INIT": tc.bootInit}
				if tc.emptyCode {
					spec.CodeDir = t.TempDir()
					os.Chmod(spec.CodeDir, 0o755)
				}
				_, err := m.Start(context.Background(), spec)
				var ie *InitError
				if !errors.As(err, &ie) {
					t.Fatalf("Start: %v, want *InitError", err)
				}
				if ie.ErrorType != tc.errorType {
					t.Errorf("ErrorType %q, want %q", ie.ErrorType, tc.errorType)
				}
				if !strings.Contains(string(ie.Log), tc.logLine) || !strings.Contains(string(ie.Log), "INIT_REPORT Init Duration: ") ||
					!strings.Contains(string(ie.Log), tc.initReport+"\n") {
					t.Errorf("init log:\n%s", ie.Log)
				}
				inv := Invocation{RequestID: newRequestID(), WantLog: true}
				r := ie.Result(inv)
				want := tc.payload
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, inv.RequestID)
				}
				if string(r.Payload) != want || r.FunctionError != "Unhandled" || !r.EnvFailed {
					t.Errorf("Result %+v payload %s, want %s", r, r.Payload, want)
				}
				log := string(r.Log)
				if tc.name == "timeout" && !regexp.MustCompile(`\nSTART RequestId: \S+ Version: \$LATEST\n\d{4}-\d\d-\d\dT\S+Z \S+ Task timed out after 0\.30 seconds\nEND `).MatchString(log) {
					t.Errorf("timeout line missing:\n%s", log)
				}
				if !strings.Contains(log, "START RequestId: "+inv.RequestID+" Version: $LATEST\n") ||
					!strings.Contains(log, "END RequestId: "+inv.RequestID+"\n") ||
					!strings.HasSuffix(log, tc.status+"\n") {
					t.Errorf("invocation log:\n%s", log)
				}
				lines := sink.all()
				if len(lines) == 0 || !reportRE.MatchString(lines[len(lines)-1]) {
					t.Errorf("sink lines %q", lines)
				}
				m.mu.Lock()
				n := len(m.envs)
				m.mu.Unlock()
				if n != 0 {
					t.Errorf("%d environments still tracked", n)
				}
			})
		}
	}
}

func TestLogs(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			sink := &lineSink{}
			m := newManager(t, md.isolate, sink.sink)
			spec := testSpec()
			spec.Environment = map[string]string{"BOOT_INIT": "print"}
			e := start(t, m, spec)

			inv, r := invoke(t, e, `{"op":"print","lines":2,"size":3}`, true)
			lines := strings.Split(strings.TrimSuffix(string(r.Log), "\n"), "\n")
			if len(lines) != 6 || lines[0] != "hello from init" ||
				lines[1] != "START RequestId: "+inv.RequestID+" Version: $LATEST" ||
				lines[2] != "line 0 xxx" || lines[3] != "line 1 xxx" ||
				lines[4] != "END RequestId: "+inv.RequestID {
				t.Fatalf("first log:\n%s", r.Log)
			}
			sm := reportRE.FindStringSubmatch(lines[5])
			if sm == nil || sm[1] != inv.RequestID || sm[2] != "128" || sm[4] == "" || sm[5] != "" || !strings.HasSuffix(lines[5], "\t") {
				t.Errorf("REPORT line %q", lines[5])
			}
			if n, _ := strconv.Atoi(sm[3]); n != r.MaxMemoryMB || n == 0 {
				t.Errorf("Max Memory Used %s, Result %d", sm[3], r.MaxMemoryMB)
			}

			// Later invocations: no init lines, no Init Duration; a line
			// without a newline still ends before END.
			inv, r = invoke(t, e, `{"op":"partial"}`, true)
			lines = strings.Split(strings.TrimSuffix(string(r.Log), "\n"), "\n")
			if len(lines) != 4 || lines[0] != "START RequestId: "+inv.RequestID+" Version: $LATEST" ||
				lines[1] != "no newline at the end" || lines[2] != "END RequestId: "+inv.RequestID {
				t.Fatalf("second log:\n%s", r.Log)
			}
			if sm := reportRE.FindStringSubmatch(lines[3]); sm == nil || sm[4] != "" {
				t.Errorf("REPORT line %q", lines[3])
			}

			// Without WantLog there is no log in the Result, but the sink
			// still gets every line.
			inv, r = invoke(t, e, `{"op":"print","lines":1,"size":1}`, false)
			if r.Log != nil {
				t.Errorf("Log without WantLog: %q", r.Log)
			}
			all := sink.all()
			if len(all) < 4 || all[len(all)-4] != "START RequestId: "+inv.RequestID+" Version: $LATEST" ||
				all[len(all)-3] != "line 0 x" || all[len(all)-2] != "END RequestId: "+inv.RequestID ||
				!strings.HasPrefix(all[len(all)-1], "REPORT RequestId: "+inv.RequestID+"\t") {
				t.Errorf("sink tail %q", all[max(0, len(all)-4):])
			}
			if all[0] != "hello from init" {
				t.Errorf("first sink line %q", all[0])
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	sink := &lineSink{}
	m := newManager(t, false, sink.sink)
	e := start(t, m, testSpec())
	invoke(t, e, `{}`, false)
	inv, r := invoke(t, e, `{"op":"print","lines":200,"size":100}`, true)
	if len(r.Log) != tailLimit {
		t.Errorf("log is %d bytes, want %d", len(r.Log), tailLimit)
	}
	if !strings.Contains(string(r.Log), "\nline 199 "+strings.Repeat("x", 100)+"\nEND RequestId: "+inv.RequestID+"\nREPORT RequestId: "+inv.RequestID+"\t") {
		t.Errorf("tail:\n%s", r.Log)
	}
	n := 0
	for _, l := range sink.all() {
		if strings.HasPrefix(l, "line ") {
			n++
		}
	}
	if n != 200 {
		t.Errorf("sink got %d lines, want 200", n)
	}
}

func TestCancelBeforeDelivery(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	// The runtime answers at once but comes back to /next only later.
	invoke(t, e, `{"op":"slownext","ms":300}`, false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.Invoke(ctx, Invocation{RequestID: newRequestID(), Payload: []byte(`{"op":"echo"}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke: %v, want deadline exceeded", err)
	}
	// The withdrawn invocation never reaches the runtime; the next one does.
	_, r := invoke(t, e, `{"op":"echo","n":2}`, false)
	if string(r.Payload) != `{"op":"echo","n":2}` {
		t.Fatalf("got %s", r.Payload)
	}
}

func TestBusy(t *testing.T) {
	m := newManager(t, false, nil)
	e := start(t, m, testSpec())
	done := make(chan struct{})
	go func() {
		defer close(done)
		invoke(t, e, `{"op":"sleep","ms":200}`, false)
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID()}); !errors.Is(err, ErrBusy) {
		t.Errorf("concurrent Invoke: %v, want ErrBusy", err)
	}
	<-done
}

func TestCloseKillsEverything(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			m := newManager(t, md.isolate, nil)
			e := start(t, m, testSpec())
			token := newID()
			for range 3 {
				invoke(t, e, `{"op":"spawn","token":"`+token+`"}`, false)
			}
			if n := len(processesWithToken(token)); n != 3 {
				t.Fatalf("%d children running, want 3", n)
			}
			en := e.(*env)
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			// SIGKILL is delivered asynchronously; the children are gone
			// soon after Close, not necessarily when it returns.
			deadline := time.Now().Add(2 * time.Second)
			pids := processesWithToken(token)
			for len(pids) != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				pids = processesWithToken(token)
			}
			if len(pids) != 0 {
				t.Errorf("processes left: %v", pids)
			}
			if pidAlive(en.pid) {
				t.Errorf("bootstrap %d still alive", en.pid)
			}
			if en.scratch != "" {
				if _, err := os.Stat(en.scratch); !os.IsNotExist(err) {
					t.Errorf("scratch dir left: %v", err)
				}
			}
			if en.cg != nil {
				for _, d := range append([]string(nil), en.cg.dirs...) {
					t.Errorf("cgroup left: %s", d)
				}
			}
			if err := e.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID()}); !errors.Is(err, ErrClosed) {
				t.Errorf("Invoke after Close: %v", err)
			}
		})
	}
}

func TestManagerClose(t *testing.T) {
	m := newManager(t, false, nil)
	var envs []*env
	for range 3 {
		envs = append(envs, start(t, m, testSpec()).(*env))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if pidAlive(e.pid) {
			t.Errorf("pid %d alive after manager Close", e.pid)
		}
		if _, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID()}); !errors.Is(err, ErrClosed) {
			t.Errorf("Invoke: %v", err)
		}
	}
	if _, err := m.Start(context.Background(), testSpec()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestManyConcurrentEnvironments(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			sink := &lineSink{}
			m := newManager(t, md.isolate, sink.sink)
			const envs, invokes = 8, 40
			var wg sync.WaitGroup
			pids := make([]int, envs)
			for i := range envs {
				wg.Go(func() {
					e, err := m.Start(context.Background(), testSpec())
					if err != nil {
						t.Error(err)
						return
					}
					pids[i] = e.(*env).pid
					for j := range invokes {
						p := fmt.Sprintf(`{"op":"echo","env":%d,"n":%d}`, i, j)
						r, err := e.Invoke(context.Background(), Invocation{RequestID: newRequestID(), Payload: []byte(p), WantLog: j%2 == 0})
						if err != nil || string(r.Payload) != p {
							t.Errorf("env %d invoke %d: %v %s", i, j, err, r.Payload)
							return
						}
					}
				})
			}
			wg.Wait()
			reports := 0
			for _, l := range sink.all() {
				if strings.HasPrefix(l, "REPORT ") {
					reports++
				}
			}
			if reports != envs*invokes {
				t.Errorf("%d REPORT lines, want %d", reports, envs*invokes)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, pid := range pids {
				if pid != 0 && pidAlive(pid) {
					t.Errorf("pid %d alive after Close", pid)
				}
			}
		})
	}
}

func TestCloseDuringStart(t *testing.T) {
	for _, md := range modes(t) {
		t.Run(md.name, func(t *testing.T) {
			m := newManager(t, md.isolate, nil)
			spec := testSpec()
			token := newID()
			spec.Environment = map[string]string{"BOOT_INIT": "hang", "TOKEN": token}
			errc := make(chan error, 1)
			go func() {
				_, err := m.Start(context.Background(), spec)
				errc <- err
			}()
			for i := 0; len(processesWithEnv("TOKEN="+token)) == 0; i++ {
				if i == 500 {
					t.Fatal("the bootstrap never started")
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("Start: %v, want ErrClosed", err)
				}
			case <-time.After(time.Second):
				t.Fatal("the Start in flight did not end with Close")
			}
			if pids := processesWithEnv("TOKEN=" + token); len(pids) != 0 {
				t.Errorf("processes left: %v", pids)
			}
		})
	}
}

// processesWithEnv lists pids whose environment holds kv.
func processesWithEnv(kv string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(append(append([]byte{0}, b...), 0), []byte("\x00"+kv+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
