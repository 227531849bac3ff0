package runtimes

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nodeFunc starts a nodejs20.x function with the given files.
func nodeFunc(t *testing.T, handler string, files map[string]string) (*fakeAPI, *proc) {
	t.Helper()
	return nodeFuncOn(t, "nodejs20.x", handler, files)
}

func nodeFuncOn(t *testing.T, runtime, handler string, files map[string]string) (*fakeAPI, *proc) {
	t.Helper()
	api := newFakeAPI(t)
	p := startRuntime(t, testSet, api, mustRuntime(t, runtime), handler, writeFiles(t, files))
	return api, p
}

func expectResponse(t *testing.T, o outcome, want string) {
	t.Helper()
	if o.kind != "response" {
		t.Fatalf("got %s %s, want response %s", o.kind, o.body, want)
	}
	if !jsonEqual(t, o.body, []byte(want)) {
		t.Fatalf("response = %s, want %s", o.body, want)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

func TestNodeHandlerKinds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler string
		files         map[string]string
	}{
		{"commonjs", "index.handler", map[string]string{
			"index.js": `exports.handler = async (event) => ({ echo: event, kind: typeof require });`,
		}},
		{"esm-mjs", "index.handler", map[string]string{
			"index.mjs": `export const handler = async (event) => ({ echo: event, kind: typeof require });`,
		}},
		{"type-module-js", "src/app.handler", map[string]string{
			"package.json": `{"type":"module"}`,
			"src/app.js":   `export async function handler(event) { return { echo: event, kind: typeof require }; }`,
		}},
		{"cjs-extension", "index.handler", map[string]string{
			"package.json": `{"type":"module"}`,
			"index.cjs":    `exports.handler = async (event) => ({ echo: event, kind: typeof require });`,
		}},
		{"nested-property", "lib/mod.api.v1.handler", map[string]string{
			"lib/mod.js": `exports.api = { v1: { handler: async (event) => ({ echo: event, kind: typeof require }) } };`,
		}},
		{"callback", "index.handler", map[string]string{
			"index.js": `exports.handler = (event, context, callback) => {
				setTimeout(() => callback(null, { echo: event, kind: typeof require }), 5);
			};`,
		}},
		{"promise-returning", "index.handler", map[string]string{
			"index.js": `exports.handler = (event) => Promise.resolve({ echo: event, kind: typeof require });`,
		}},
		{"context-succeed", "index.handler", map[string]string{
			"index.js": `exports.handler = (event, context) => { context.succeed({ echo: event, kind: typeof require }); };`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, _ := nodeFunc(t, c.handler, c.files)
			kind := "function"
			if strings.HasPrefix(c.name, "esm") || c.name == "type-module-js" {
				kind = "undefined" // no require in ES module scope
			}
			// Several invocations on the same process: the loop and the
			// kept-alive connection hold up.
			for i := 0; i < 3; i++ {
				o := api.invoke(&fakeInvocation{payload: fmt.Sprintf(`{"n":%d}`, i)})
				expectResponse(t, o, fmt.Sprintf(`{"echo":{"n":%d},"kind":%q}`, i, kind))
				if o.ctype != "application/json" {
					t.Errorf("Content-Type = %q", o.ctype)
				}
			}
		})
	}
}

func TestNodeEveryIdentifierRuns(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		rt := mustRuntime(t, name)
		if rt.Family != NodeJS {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			api, _ := nodeFuncOn(t, name, "index.handler", map[string]string{
				"index.js": `exports.handler = async () => process.env.AWS_EXECUTION_ENV;`,
			})
			expectResponse(t, api.invoke(&fakeInvocation{}), `"AWS_Lambda_`+name+`"`)
		})
	}
}

func TestNodeUndefinedResultIsNull(t *testing.T) {
	t.Parallel()
	api, _ := nodeFunc(t, "index.handler", map[string]string{
		"index.js": `exports.handler = async () => {};`,
	})
	o := api.invoke(&fakeInvocation{})
	if o.kind != "response" || string(o.body) != "null" {
		t.Fatalf("got %s %q, want response null", o.kind, o.body)
	}
}

// A callback handler is answered once the event loop is empty, unless it
// sets callbackWaitsForEmptyEventLoop = false.
func TestNodeCallbackWaitsForEmptyEventLoop(t *testing.T) {
	t.Parallel()
	for _, wait := range []bool{true, false} {
		name := "wait"
		if !wait {
			name = "no-wait"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			api, _ := nodeFunc(t, "index.handler", map[string]string{
				"index.js": `exports.handler = (event, context, callback) => {
					context.callbackWaitsForEmptyEventLoop = event.wait;
					setTimeout(() => {}, 1000);
					callback(null, "done");
				};`,
			})
			api.waitNexts(1) // time the invocation, not the process start
			start := time.Now()
			o := api.invoke(&fakeInvocation{payload: fmt.Sprintf(`{"wait":%t}`, wait)})
			took := time.Since(start)
			if o.kind != "response" {
				t.Fatalf("got %s %s", o.kind, o.body)
			}
			if wait && took < 950*time.Millisecond {
				t.Errorf("answered after %v, before the pending 1s timer", took)
			}
			if !wait && took > 800*time.Millisecond {
				t.Errorf("answered after %v; callbackWaitsForEmptyEventLoop=false should answer at once", took)
			}
		})
	}
}

// A synchronous handler that never calls back is answered with null when
// its work is done; an async one whose promise can never settle fails.
func TestNodeHandlerThatNeverReports(t *testing.T) {
	t.Parallel()
	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		api, _ := nodeFunc(t, "index.handler", map[string]string{
			"index.js": `exports.handler = (event, context, callback) => { setTimeout(() => {}, 10); };`,
		})
		o := api.invoke(&fakeInvocation{})
		if o.kind != "response" || string(o.body) != "null" {
			t.Fatalf("got %s %s, want response null", o.kind, o.body)
		}
	})
	t.Run("async", func(t *testing.T) {
		t.Parallel()
		api, _ := nodeFunc(t, "index.handler", map[string]string{
			"index.js": `exports.handler = async () => { await new Promise(() => {}); };`,
		})
		o := api.invoke(&fakeInvocation{})
		if o.kind != "error" || o.json(t)["errorType"] != "Runtime.NodeJsExit" {
			t.Fatalf("got %s %s, want Runtime.NodeJsExit error", o.kind, o.body)
		}
		// The environment stays usable.
		if o := api.invoke(&fakeInvocation{}); o.kind != "error" {
			t.Fatalf("second invocation: %s %s", o.kind, o.body)
		}
	})
}

func TestNodeInvocationErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, code       string
		errType, message string
		trace0           string
	}{
		{"thrown", `exports.handler = () => { throw new Error("boom"); };`, "Error", "boom", "Error: boom"},
		{"rejected", `class MyError extends Error {}
			MyError.prototype.name = "MyError";
			exports.handler = async () => { throw new MyError("went wrong"); };`, "MyError", "went wrong", "MyError: went wrong"},
		{"callback-error", `exports.handler = (e, c, cb) => cb(new TypeError("bad type"));`, "TypeError", "bad type", "TypeError: bad type"},
		{"callback-string", `exports.handler = (e, c, cb) => cb("plain failure");`, "string", "plain failure", ""},
		{"context-fail", `exports.handler = (e, c) => c.fail(new RangeError("out"));`, "RangeError", "out", "RangeError: out"},
		{"unserializable", `exports.handler = async () => { const o = {}; o.self = o; return o; };`, "Error", "Unable to stringify response body", "Error: Unable to stringify response body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, p := nodeFunc(t, "index.handler", map[string]string{"index.js": c.code})
			inv := &fakeInvocation{}
			o := api.invoke(inv)
			if o.kind != "error" {
				t.Fatalf("got %s %s, want error", o.kind, o.body)
			}
			body := o.json(t)
			if body["errorType"] != c.errType || body["errorMessage"] != c.message {
				t.Errorf("body = %s, want errorType %q errorMessage %q", o.body, c.errType, c.message)
			}
			if o.errorType != c.errType {
				t.Errorf("error type header = %q, want %q", o.errorType, c.errType)
			}
			trace, ok := body["trace"].([]any)
			if !ok {
				t.Fatalf("trace is not an array: %s", o.body)
			}
			if c.trace0 != "" && (len(trace) < 2 || trace[0] != c.trace0) {
				t.Errorf("trace = %v, want it to start with %q and a frame", trace, c.trace0)
			}
			// Logged as Lambda does, on one line, and the process lives on.
			waitFor(t, func() bool { return strings.Contains(p.out.String(), "\tERROR\tInvoke Error \t{") }, p)
			if o := api.invoke(&fakeInvocation{}); o.kind != "error" {
				t.Fatalf("second invocation: %s %s", o.kind, o.body)
			}
		})
	}
}

// Errors that escape the handler end the environment with Lambda's exit
// codes after reporting them against the invocation.
func TestNodeUncaughtErrorsExit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, code string
		errType    string
		message    string
		exit       int
	}{
		{"unhandled-rejection", `exports.handler = async () => {
				Promise.reject(new Error("late"));
				await new Promise((r) => setTimeout(r, 2000));
				return "too late";
			};`, "Runtime.UnhandledPromiseRejection", "Error: late", 128},
		{"uncaught-exception", `exports.handler = (e, c, cb) => { setTimeout(() => { throw new Error("in timer"); }, 5); };`,
			"Error", "in timer", 129},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, p := nodeFunc(t, "index.handler", map[string]string{"index.js": c.code})
			o := api.invoke(&fakeInvocation{})
			body := o.json(t)
			if o.kind != "error" || body["errorType"] != c.errType || body["errorMessage"] != c.message {
				t.Fatalf("got %s %s, want %s %q", o.kind, o.body, c.errType, c.message)
			}
			if code := p.exitCode(t); code != c.exit {
				t.Errorf("exit code = %d, want %d", code, c.exit)
			}
		})
	}
}

func TestNodeInitErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler string
		files         map[string]string
		errType       string
		message       *regexp.Regexp
	}{
		{"missing-module", "missing.handler", map[string]string{"index.js": `exports.handler = async () => 1;`},
			"Runtime.ImportModuleError",
			regexp.MustCompile(`^Error: Cannot find module 'missing'\nRequire stack:\n- /var/runtime/index\.mjs$`)},
		{"missing-dependency", "index.handler", map[string]string{"index.js": `require("left-pad-nowhere"); exports.handler = async () => 1;`},
			"Runtime.ImportModuleError",
			regexp.MustCompile(`^Error: Cannot find module 'left-pad-nowhere'\nRequire stack:\n- /.*/index\.js\n- /var/runtime/index\.mjs$`)},
		{"missing-handler", "index.nope", map[string]string{"index.js": `exports.handler = async () => 1;`},
			"Runtime.HandlerNotFound", regexp.MustCompile(`^index\.nope is undefined or not exported$`)},
		{"not-a-function", "index.value", map[string]string{"index.js": `exports.value = 42;`},
			"Runtime.HandlerNotFound", regexp.MustCompile(`^index\.value is not a function$`)},
		{"syntax-error-cjs", "index.handler", map[string]string{"index.js": "exports.handler = async () => {\n  return 1;\n}}\n"},
			"Runtime.UserCodeSyntaxError", regexp.MustCompile(`^SyntaxError: Unexpected token '}'$`)},
		{"syntax-error-esm", "index.handler", map[string]string{"index.mjs": "export const handler = async () => { return 1 ]\n"},
			"Runtime.UserCodeSyntaxError", regexp.MustCompile(`^SyntaxError: `)},
		{"malformed", "index", map[string]string{"index.js": `exports.handler = async () => 1;`},
			"Runtime.MalformedHandlerName", regexp.MustCompile(`^Bad handler$`)},
		{"throws-at-init", "index.handler", map[string]string{"index.js": `throw new Error("config missing");`},
			"Error", regexp.MustCompile(`^config missing$`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, p := nodeFunc(t, c.handler, c.files)
			o := api.waitInitError()
			body := o.json(t)
			msg, _ := body["errorMessage"].(string)
			if body["errorType"] != c.errType || !c.message.MatchString(msg) {
				t.Errorf("init error = %s, want errorType %s and message matching %s", o.body, c.errType, c.message)
			}
			if o.errorType != c.errType {
				t.Errorf("error type header = %q, want %q", o.errorType, c.errType)
			}
			if _, ok := body["trace"].([]any); !ok {
				t.Errorf("trace is not an array: %s", o.body)
			}
			if code := p.exitCode(t); code != 129 {
				t.Errorf("exit code = %d, want 129", code)
			}
			if !strings.Contains(p.out.String(), "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\""+c.errType+"\"") {
				t.Errorf("log lacks Lambda's init error line:\n%s", p.out.String())
			}
		})
	}
}

func TestNodeConsoleFormat(t *testing.T) {
	t.Parallel()
	api, p := nodeFunc(t, "index.handler", map[string]string{
		"index.js": `console.log("loading");
		exports.handler = async () => {
			console.log("hello %d", 42);
			console.info("info", { a: 1 });
			console.warn("careful");
			console.error("bad\nthing");
			console.debug("dbg");
			process.stdout.write("raw\n");
			return 1;
		};`,
	})
	id := newRequestID()
	api.invoke(&fakeInvocation{id: id})
	ts := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
	want := []string{
		`^` + ts + `\tundefined\tINFO\tloading$`,
		`^` + ts + `\t` + id + `\tINFO\thello 42$`,
		`^` + ts + `\t` + id + `\tINFO\tinfo \{ a: 1 \}$`,
		`^` + ts + `\t` + id + `\tWARN\tcareful$`,
		`^` + ts + `\t` + id + `\tERROR\tbad\rthing$`,
		`^` + ts + `\t` + id + `\tDEBUG\tdbg$`,
		`^raw$`,
	}
	waitFor(t, func() bool { return strings.Contains(p.out.String(), "raw\n") }, p)
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

func TestNodeContext(t *testing.T) {
	t.Parallel()
	api, _ := nodeFunc(t, "index.handler", map[string]string{
		"index.js": `exports.handler = async (event, context) => ({
			functionName: context.functionName,
			functionVersion: context.functionVersion,
			invokedFunctionArn: context.invokedFunctionArn,
			memoryLimitInMB: context.memoryLimitInMB,
			awsRequestId: context.awsRequestId,
			logGroupName: context.logGroupName,
			logStreamName: context.logStreamName,
			clientContext: context.clientContext,
			identity: context.identity,
			callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
			remaining: context.getRemainingTimeInMillis(),
			methods: [typeof context.done, typeof context.succeed, typeof context.fail],
			traceId: process.env._X_AMZN_TRACE_ID || null,
		});`,
	})
	id := newRequestID()
	deadline := time.Now().Add(7 * time.Second)
	before := time.Now()
	o := api.invoke(&fakeInvocation{
		id:              id,
		deadline:        deadline,
		arn:             "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
		traceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
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
		t.Errorf("getRemainingTimeInMillis() = %v, want between %d and %d", remaining, lo, hi)
	}
	want := map[string]any{
		"functionName":                   "fn",
		"functionVersion":                "$LATEST",
		"invokedFunctionArn":             "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
		"memoryLimitInMB":                "256",
		"awsRequestId":                   id,
		"logGroupName":                   "/aws/lambda/fn",
		"logStreamName":                  "2026/11/21/[$LATEST]0123456789abcdef",
		"clientContext":                  map[string]any{"client": map[string]any{"installation_id": "i-1"}, "custom": map[string]any{"k": "v"}, "env": map[string]any{"platform": "test"}},
		"identity":                       map[string]any{"cognitoIdentityId": "us-east-1:id", "cognitoIdentityPoolId": "us-east-1:pool"},
		"callbackWaitsForEmptyEventLoop": true,
		"methods":                        []any{"function", "function", "function"},
		"traceId":                        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("context =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	// The trace id belongs to one invocation only.
	o = api.invoke(&fakeInvocation{})
	if got := o.json(t)["traceId"]; got != nil {
		t.Errorf("_X_AMZN_TRACE_ID leaked into the next invocation: %v", got)
	}
}

func TestNodeSDKImport(t *testing.T) {
	t.Parallel()
	requireSDK(t, sdkNodeModules)
	cases := []struct {
		name, runtime string
		files         map[string]string
		want          string
	}{
		{"require", "nodejs18.x", map[string]string{
			"index.js": `const { S3Client } = require("@aws-sdk/client-s3");
				const { LambdaClient } = require("@aws-sdk/client-lambda");
				exports.handler = async () => [typeof S3Client, typeof LambdaClient];`,
		}, `["function","function"]`},
		{"import-mjs", "nodejs20.x", map[string]string{
			"index.mjs": `import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
				import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
				export const handler = async () => [typeof STSClient, typeof GetCallerIdentityCommand, typeof DynamoDBClient];`,
		}, `["function","function","function"]`},
		{"import-type-module", "nodejs22.x", map[string]string{
			"package.json": `{"type":"module"}`,
			"index.js": `const { SQSClient } = await import("@aws-sdk/client-sqs");
				export const handler = async () => [typeof SQSClient];`,
		}, `["function"]`},
		// The function's own node_modules come first, for require and import.
		{"own-copy-wins", "nodejs20.x", map[string]string{
			"node_modules/@aws-sdk/client-s3/package.json": `{"name":"@aws-sdk/client-s3","main":"index.js"}`,
			"node_modules/@aws-sdk/client-s3/index.js":     `exports.S3Client = "bundled";`,
			"index.mjs": `import { S3Client } from "@aws-sdk/client-s3";
				import { createRequire } from "module";
				const require = createRequire(import.meta.url);
				export const handler = async () => [S3Client, require("@aws-sdk/client-s3").S3Client];`,
		}, `["bundled","bundled"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api, _ := nodeFuncOn(t, c.runtime, "index.handler", c.files)
			expectResponse(t, api.invoke(&fakeInvocation{}), c.want)
		})
	}
}

// Before nodejs18.x Lambda shipped SDK v2 only; v3 is not on the path.
func TestNodeOldRuntimesLackSDKv3(t *testing.T) {
	t.Parallel()
	l, err := testSet.Launch(mustRuntime(t, "nodejs16.x"), "index.handler", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Env {
		if strings.HasPrefix(e, "NODE_PATH=") {
			t.Errorf("nodejs16.x gets %s", e)
		}
	}
}

// waitFor polls cond until it holds, failing if the process output never
// satisfies it.
func waitFor(t *testing.T, cond func() bool, p *proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met; output:\n%s", p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
