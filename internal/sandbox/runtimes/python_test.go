package runtimes

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// defaultPythonRuntime is the runtime whose interpreter the detailed tests
// use: the newest one installed at its exact version.
func defaultPythonRuntime(t *testing.T) Runtime {
	t.Helper()
	var best Runtime
	for _, name := range Names() {
		rt := mustRuntime(t, name)
		if py, ok := testSet.python[rt.Version]; ok && rt.Family == Python && py.version == rt.Version {
			best = rt
		}
	}
	if best.Name == "" {
		t.Skip("no python3.x interpreter installed")
	}
	return best
}

func pyFunc(t *testing.T, handler string, files map[string]string) (*fakeAPI, *proc) {
	t.Helper()
	api := newFakeAPI(t)
	p := startRuntime(t, testSet, api, defaultPythonRuntime(t), handler, writeFiles(t, files))
	return api, p
}

// Every python identifier answers on its own interpreter version (or the
// fallback Install warned about) and imports boto3 from the SDK directory.
func TestPythonEveryVersion(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		rt := mustRuntime(t, name)
		if rt.Family != Python {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			py, ok := testSet.python[rt.Version]
			if !ok {
				t.Skipf("no interpreter for %s: %v", name, testSet.Warnings())
			}
			api := newFakeAPI(t)
			root := writeFiles(t, map[string]string{
				"lambda_function.py": `import sys
def lambda_handler(event, context):
    return {"echo": event, "version": "%d.%d" % sys.version_info[:2]}
`,
				"uses_boto3.py": `import boto3
def handler(event, context):
    boto3.client("s3", region_name="us-east-1")
    return boto3.__file__
`,
			})
			startRuntime(t, testSet, api, rt, "lambda_function.lambda_handler", root)
			o := api.invoke(&fakeInvocation{payload: `{"a":[1,2]}`})
			expectResponse(t, o, `{"echo":{"a":[1,2]},"version":"`+py.version+`"}`)
			if py.version != rt.Version {
				t.Logf("%s runs on Python %s (%s)", name, py.version, py.path)
			}

			sdk := testSet.pythonSDK[py.version]
			if sdk == "" {
				sdkMissing(t, "no boto3 for Python %s: %v", py.version, testSet.Warnings())
			}
			api = newFakeAPI(t)
			startRuntime(t, testSet, api, rt, "uses_boto3.handler", root)
			o = api.invoke(&fakeInvocation{})
			var file string
			if o.kind != "response" || json.Unmarshal(o.body, &file) != nil || !strings.HasPrefix(file, sdk+"/boto3/") {
				t.Fatalf("boto3 import: %s %s, want a path under %s", o.kind, o.body, sdk)
			}
		})
	}
}

func TestPythonModulePaths(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, handler string }{
		{"slashes", "src/pkg/app.handler"},
		{"dots", "src.pkg.app.handler"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, _ := pyFunc(t, c.handler, map[string]string{
				"src/pkg/app.py": "def handler(event, context):\n    return __name__\n",
			})
			expectResponse(t, api.invoke(&fakeInvocation{}), `"src.pkg.app"`)
		})
	}
}

// The task root is first on sys.path: a module the function ships shadows
// the SDK's.
func TestPythonTaskRootFirst(t *testing.T) {
	t.Parallel()
	api, _ := pyFunc(t, "app.handler", map[string]string{
		"app.py":            "import boto3\ndef handler(event, context):\n    return boto3.MARK\n",
		"boto3/__init__.py": "MARK = 'bundled'\n",
	})
	expectResponse(t, api.invoke(&fakeInvocation{}), `"bundled"`)
}

func TestPythonResults(t *testing.T) {
	t.Parallel()
	api, _ := pyFunc(t, "app.handler", map[string]string{
		"app.py": `import decimal
def handler(event, context):
    kind = event["kind"]
    if kind == "none":
        return None
    if kind == "decimal":
        return {"int": decimal.Decimal("3"), "frac": decimal.Decimal("1.5")}
    if kind == "unicode":
        return "h\u00e9"
    if kind == "set":
        return {1, 2}
`,
	})
	expectResponse(t, api.invoke(&fakeInvocation{payload: `{"kind":"none"}`}), `null`)
	expectResponse(t, api.invoke(&fakeInvocation{payload: `{"kind":"decimal"}`}), `{"int":3,"frac":1.5}`)
	if o := api.invoke(&fakeInvocation{payload: `{"kind":"unicode"}`}); string(o.body) != `"h\u00e9"` {
		t.Errorf("unicode result = %s", o.body)
	}
	o := api.invoke(&fakeInvocation{payload: `{"kind":"set"}`})
	body := o.json(t)
	if o.kind != "error" || body["errorType"] != "Runtime.MarshalError" ||
		body["errorMessage"] != "Unable to marshal response: Object of type set is not JSON serializable" {
		t.Errorf("unserializable result: %s %s", o.kind, o.body)
	}
}

func TestPythonInvocationError(t *testing.T) {
	t.Parallel()
	api, p := pyFunc(t, "lambda_function.lambda_handler", map[string]string{
		"lambda_function.py": `class CustomError(Exception):
    pass

def fail(msg):
    raise CustomError(msg)

def lambda_handler(event, context):
    fail("went wrong")
`,
	})
	id := newRequestID()
	o := api.invoke(&fakeInvocation{id: id})
	if o.kind != "error" {
		t.Fatalf("got %s %s", o.kind, o.body)
	}
	var body struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		RequestID    string   `json:"requestId"`
		StackTrace   []string `json:"stackTrace"`
	}
	if err := json.Unmarshal(o.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ErrorMessage != "went wrong" || body.ErrorType != "CustomError" || body.RequestID != id || o.errorType != "CustomError" {
		t.Errorf("error = %s (type header %q)", o.body, o.errorType)
	}
	// Only the function's frames, formatted as traceback.format_list does.
	frame := regexp.MustCompile(`^  File "/.*/lambda_function\.py", line \d+, in (lambda_handler|fail)\n    .*\n$`)
	if len(body.StackTrace) != 2 {
		t.Fatalf("stackTrace = %q, want the two function frames", body.StackTrace)
	}
	for _, f := range body.StackTrace {
		if !frame.MatchString(f) {
			t.Errorf("stack frame %q", f)
		}
	}
	// The log line joins the report's lines with \r.
	re := regexp.MustCompile("(?m)^\\[ERROR\\] CustomError: went wrong\rTraceback \\(most recent call last\\):\r\u00a0\u00a0File \"[^\r]*lambda_function.py\", line \\d+, in lambda_handler\r\u00a0\u00a0\u00a0\u00a0fail\\(\"went wrong\"\\)\r")
	waitFor(t, func() bool { return re.MatchString(p.out.String()) }, p)
	// The process serves the next invocation.
	if o := api.invoke(&fakeInvocation{}); o.kind != "error" {
		t.Errorf("second invocation: %s %s", o.kind, o.body)
	}
}

func TestPythonInitErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler string
		files         map[string]string
		errType       string
		message       *regexp.Regexp
	}{
		{"missing-module", "lambda_function.lambda_handler", map[string]string{"other.py": ""},
			"Runtime.ImportModuleError", regexp.MustCompile(`^Unable to import module 'lambda_function': No module named 'lambda_function'$`)},
		{"missing-dependency", "lambda_function.lambda_handler", map[string]string{"lambda_function.py": "import requests_nowhere\n"},
			"Runtime.ImportModuleError", regexp.MustCompile(`^Unable to import module 'lambda_function': No module named 'requests_nowhere'$`)},
		{"missing-handler", "lambda_function.nope", map[string]string{"lambda_function.py": "def lambda_handler(e, c):\n    return 1\n"},
			"Runtime.HandlerNotFound", regexp.MustCompile(`^Handler 'nope' missing on module 'lambda_function'$`)},
		{"syntax-error", "lambda_function.lambda_handler", map[string]string{"lambda_function.py": "def lambda_handler(e, c):\n    return [1,\n\nx = = 2\n"},
			"Runtime.UserCodeSyntaxError", regexp.MustCompile(`^Syntax error in module 'lambda_function': .+ \(lambda_function\.py, line \d+\)$`)},
		{"malformed", "lambda_function", map[string]string{"lambda_function.py": ""},
			"Runtime.MalformedHandlerName", regexp.MustCompile(`^Bad handler 'lambda_function': not enough values to unpack \(expected 2, got 1\)$`)},
		{"builtin-conflict", "sys.handler", map[string]string{},
			"Runtime.BuiltInModuleConflict", regexp.MustCompile(`^Cannot use built-in module sys as a handler module$`)},
		{"raises-at-import", "lambda_function.lambda_handler", map[string]string{"lambda_function.py": "raise KeyError('CONFIG')\n"},
			"KeyError", regexp.MustCompile(`^'CONFIG'$`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, p := pyFunc(t, c.handler, c.files)
			o := api.waitInitError()
			var body struct {
				ErrorMessage string   `json:"errorMessage"`
				ErrorType    string   `json:"errorType"`
				RequestID    *string  `json:"requestId"`
				StackTrace   []string `json:"stackTrace"`
			}
			if err := json.Unmarshal(o.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.ErrorType != c.errType || !c.message.MatchString(body.ErrorMessage) || o.errorType != c.errType {
				t.Errorf("init error = %s (type header %q), want %s matching %s", o.body, o.errorType, c.errType, c.message)
			}
			if body.RequestID == nil || *body.RequestID != "" || body.StackTrace == nil {
				t.Errorf("init error shape: %s", o.body)
			}
			if code := p.exitCode(t); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			if !strings.Contains(p.out.String(), "[ERROR] "+c.errType+": ") {
				t.Errorf("log lacks the error line:\n%s", p.out.String())
			}
		})
	}
}

func TestPythonLogging(t *testing.T) {
	t.Parallel()
	api, p := pyFunc(t, "app.handler", map[string]string{
		"app.py": `import logging, sys
logger = logging.getLogger()
logger.warning("at init")
def handler(event, context):
    print("plain print")
    logger.info("hidden: the root logger stays at WARNING, as on Lambda")
    logger.warning("warn %s", 1)
    logging.getLogger("child").error("from child")
    logger.setLevel(logging.INFO)
    logger.info("now visible")
    sys.stdout.write("no newline")
    sys.stdout.write("|done\n")
    return 1
`,
	})
	id := newRequestID()
	api.invoke(&fakeInvocation{id: id})
	ts := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
	want := []string{
		`^\[WARNING\]\t` + ts + `\t\tat init$`,
		`^plain print$`,
		`^\[WARNING\]\t` + ts + `\t` + id + `\twarn 1$`,
		`^\[ERROR\]\t` + ts + `\t` + id + `\tfrom child$`,
		`^\[INFO\]\t` + ts + `\t` + id + `\tnow visible$`,
		`^no newline\|done$`,
	}
	waitFor(t, func() bool { return strings.Contains(p.out.String(), "|done\n") }, p)
	lines := strings.Split(strings.TrimSuffix(p.out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), p.out.String())
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want match for %s", i, lines[i], re)
		}
	}
}

func TestPythonContext(t *testing.T) {
	t.Parallel()
	api, _ := pyFunc(t, "app.handler", map[string]string{
		"app.py": `import os
def handler(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if cc is None else [cc.client.installation_id, cc.custom, cc.env],
        "remaining": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }
`,
	})
	id := newRequestID()
	deadline := time.Now().Add(9 * time.Second)
	before := time.Now()
	o := api.invoke(&fakeInvocation{
		id:              id,
		deadline:        deadline,
		arn:             "arn:aws:lambda:us-east-1:123456789012:function:fn:3",
		traceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
		clientContext:   `{"client":{"installation_id":"i-1"},"custom":{"k":"v"},"env":{"platform":"test"}}`,
		cognitoIdentity: `{"cognitoIdentityId":"us-east-1:id","cognitoIdentityPoolId":"us-east-1:pool"}`,
	})
	if o.kind != "response" {
		t.Fatalf("got %s %s", o.kind, o.body)
	}
	got := o.json(t)
	remaining := got["remaining"].(float64)
	delete(got, "remaining")
	after := time.Now()
	// The handler ran between before and after; allow 2ms for rounding.
	if hi, lo := deadline.Sub(before).Milliseconds()+2, deadline.Sub(after).Milliseconds()-2; remaining > float64(hi) || remaining < float64(lo) {
		t.Errorf("get_remaining_time_in_millis() = %v, want between %d and %d", remaining, lo, hi)
	}
	want := map[string]any{
		"function_name":        "fn",
		"function_version":     "$LATEST",
		"invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn:3",
		"memory_limit_in_mb":   "256",
		"aws_request_id":       id,
		"log_group_name":       "/aws/lambda/fn",
		"log_stream_name":      "2026/11/21/[$LATEST]0123456789abcdef",
		"identity":             []any{"us-east-1:id", "us-east-1:pool"},
		"client_context":       []any{"i-1", map[string]any{"k": "v"}, map[string]any{"platform": "test"}},
		"trace_id":             "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("context =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	// Without the optional headers: identity fields are None, no client
	// context, no trace id, and remaining time never goes negative.
	o = api.invoke(&fakeInvocation{deadline: time.Now().Add(-time.Second)})
	got = o.json(t)
	if got["client_context"] != nil || got["trace_id"] != nil || got["remaining"] != float64(0) ||
		got["identity"].([]any)[0] != nil {
		t.Errorf("context without optional headers = %s", o.body)
	}
}

// The bootstrap must stay valid for the oldest supported Python, whatever
// interpreters this machine has: compile it with each one installed.
func TestPythonBootstrapCompilesEverywhere(t *testing.T) {
	t.Parallel()
	src := filepath.Join(testSet.dir, pythonBootstrap)
	seen := map[string]bool{}
	for _, py := range testSet.python {
		if seen[py.path] {
			continue
		}
		seen[py.path] = true
		out, err := exec.Command(py.path, "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 8))", src).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", py.path, err, out)
		}
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
}

// Large events arrive chunked from Go's HTTP server; the client must
// decode them and keep the connection usable.
func TestLargePayloads(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 300_000)
	cases := []struct {
		name, runtime, handler string
		files                  map[string]string
	}{
		{"python", defaultPythonRuntime(t).Name, "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return {'len': len(e['s']), 's': e['s']}\n"}},
		{"node", "nodejs20.x", "index.handler", map[string]string{"index.js": "exports.handler = async (e) => ({ len: e.s.length, s: e.s });"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			startRuntime(t, testSet, api, mustRuntime(t, c.runtime), c.handler, writeFiles(t, c.files))
			for i := 0; i < 2; i++ {
				expectResponse(t, api.invoke(&fakeInvocation{payload: `{"s":"` + big + `"}`}), `{"len":300000,"s":"`+big+`"}`)
				expectResponse(t, api.invoke(&fakeInvocation{payload: `{"s":"small"}`}), `{"len":5,"s":"small"}`)
			}
		})
	}
}

// The runtime survives the Runtime API dropping its connections, whether
// that happens during the /next long poll or between requests.
func TestRuntimeAPIConnectionLoss(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, runtime, handler string
		files                  map[string]string
	}{
		{"python", defaultPythonRuntime(t).Name, "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return e\n"}},
		{"node", "nodejs20.x", "index.handler", map[string]string{"index.js": "exports.handler = async (e) => e;"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			startRuntime(t, testSet, api, mustRuntime(t, c.runtime), c.handler, writeFiles(t, c.files))
			expectResponse(t, api.invoke(&fakeInvocation{payload: `{"n":1}`}), `{"n":1}`)
			api.waitNexts(2)
			api.srv.CloseClientConnections()
			api.waitNexts(3) // the runtime noticed and asked again
			expectResponse(t, api.invoke(&fakeInvocation{payload: `{"n":2}`}), `{"n":2}`)
			// Now without keep-alive: every answer closes the connection.
			api.srv.Config.SetKeepAlivesEnabled(false)
			for i := 3; i < 6; i++ {
				n := strconv.Itoa(i)
				expectResponse(t, api.invoke(&fakeInvocation{payload: `{"n":` + n + `}`}), `{"n":`+n+`}`)
			}
		})
	}
}
