package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// lambdaError is the payload of a failed invocation.
type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// failGo invokes the Go function expecting an unhandled function error.
func failGo(t *testing.T, c *lambda.Client, name string, payload any) (lambdaError, *lambda.InvokeOutput) {
	t.Helper()
	out := invoke(t, c, name, payload, invokeOpts{})
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("status %d, X-Amz-Function-Error %q, payload %s; want 200 and Unhandled", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	return decodeJSON[lambdaError](t, out.Payload), out
}

// TestGoFunction runs the provided.al2023 Go function: environment, warm
// reuse, concurrency, logs and every way an invocation can fail.
func TestGoFunction(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.lambda()
	createFunction(t, c, fnSpec{name: "gofn", runtime: "provided.al2023", handler: "bootstrap", zip: goZip,
		timeout: 1, memory: 128, env: map[string]string{"GREETING": "hello"}})

	var warm goResult
	t.Run("echo and environment", func(t *testing.T) {
		r, out := okGo(t, c, "gofn", `{"mode":"echo","k":"v"}`, invokeOpts{})
		eqJSON(t, "event", r.Event, `{"mode":"echo","k":"v"}`)
		if aws.ToString(out.ExecutedVersion) != "$LATEST" {
			t.Errorf("X-Amz-Executed-Version = %q", aws.ToString(out.ExecutedVersion))
		}
		if id := requestID(out.ResultMetadata); r.RequestID != id || id == "" {
			t.Errorf("the function's request id %q is not the response's x-amzn-RequestId %q", r.RequestID, id)
		}
		if r.InvokedArn != fnARN("gofn") {
			t.Errorf("invoked function ARN = %q", r.InvokedArn)
		}
		if r.DeadlineIn <= 0 || r.DeadlineIn > 1000 {
			t.Errorf("deadline in %d ms, want within the 1 s timeout", r.DeadlineIn)
		}
		want := map[string]string{
			"AWS_LAMBDA_FUNCTION_NAME":        "gofn",
			"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
			"AWS_REGION":                      region,
			"AWS_DEFAULT_REGION":              region,
			"_HANDLER":                        "bootstrap",
			"TZ":                              ":UTC",
			"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/gofn",
			"AWS_ENDPOINT_URL":                s.url,
			"GREETING":                        "hello",
		}
		if os.Geteuid() == 0 {
			want["LAMBDA_TASK_ROOT"] = "/var/task"
			// With the data plane, the function has a network of its own
			// and calls the APIs by their public name, as on AWS.
			want["AWS_ENDPOINT_URL"] = "http://lambda." + region + ".amazonaws.com"
		}
		for k, v := range want {
			if r.Env[k] != v {
				t.Errorf("%s = %q, want %q", k, r.Env[k], v)
			}
		}
		for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_ACCESS_KEY_ID"} {
			if r.Env[k] == "" {
				t.Errorf("%s is not set", k)
			}
		}
		warm = r
	})

	t.Run("warm reuse", func(t *testing.T) {
		r, _ := okGo(t, c, "gofn", `{}`, invokeOpts{})
		if r.EnvID != warm.EnvID || r.Count != warm.Count+1 {
			t.Errorf("second invoke ran in environment %s (invoke %d), want %s (invoke %d)", r.EnvID, r.Count, warm.EnvID, warm.Count+1)
		}
		warm = r
	})

	t.Run("empty payload is {}", func(t *testing.T) {
		r, _ := okGo(t, c, "gofn", "", invokeOpts{})
		eqJSON(t, "event", r.Event, `{}`)
		warm = r
	})

	t.Run("log tail", func(t *testing.T) {
		r, out := okGo(t, c, "gofn", `{"mode":"print","lines":3}`, invokeOpts{tail: true})
		log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatalf("LogResult %q: %v", aws.ToString(out.LogResult), err)
		}
		checkLogLines(t, string(log), r.RequestID, "$LATEST")
		for i := 1; i <= 3; i++ {
			if !strings.Contains(string(log), fmt.Sprintf("line %d of 3\n", i)) {
				t.Errorf("log has no line %d:\n%s", i, log)
			}
		}
		if !strings.Contains(string(log), "\tMemory Size: 128 MB\t") {
			t.Errorf("REPORT does not say Memory Size: 128 MB:\n%s", log)
		}
		r, out = okGo(t, c, "gofn", `{"mode":"print","lines":400}`, invokeOpts{tail: true})
		log, _ = base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if len(log) > 4096 || len(log) < 3000 {
			t.Errorf("LogResult of a long log is %d bytes, want the last 4 KB", len(log))
		}
		if !strings.Contains(string(log), "REPORT RequestId: "+r.RequestID) || strings.Contains(string(log), "line 1 of 400\n") {
			t.Errorf("LogResult is not the tail of the log:\n%s", log)
		}
		if out := invoke(t, c, "gofn", `{}`, invokeOpts{}); out.LogResult != nil {
			t.Errorf("LogResult without X-Amz-Log-Type: Tail")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		e, _ := failGo(t, c, "gofn", `{"mode":"sleep","ms":5000}`)
		if !strings.Contains(e.ErrorMessage, "Task timed out after 1.00 seconds") {
			t.Errorf("payload %+v has no \"Task timed out after 1.00 seconds\"", e)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("a 1 s timeout took %v", d)
		}
		r, _ := okGo(t, c, "gofn", `{}`, invokeOpts{})
		if r.EnvID == warm.EnvID {
			t.Errorf("the timed-out environment %s was reused", r.EnvID)
		}
		warm = r
	})

	t.Run("handler error", func(t *testing.T) {
		e, _ := failGo(t, c, "gofn", `{"mode":"error","msg":"custom failure"}`)
		if e.ErrorMessage != "custom failure" || e.ErrorType != "errorString" {
			t.Errorf("payload %+v, want errorMessage custom failure, errorType errorString", e)
		}
		r, _ := okGo(t, c, "gofn", `{}`, invokeOpts{})
		if r.EnvID != warm.EnvID {
			t.Errorf("an error the handler returned replaced the environment")
		}
		warm = r
	})

	t.Run("panic", func(t *testing.T) {
		e, _ := failGo(t, c, "gofn", `{"mode":"panic","msg":"boom"}`)
		if e.ErrorMessage != "boom" {
			t.Errorf("payload %+v, want errorMessage boom", e)
		}
		warm, _ = okGo(t, c, "gofn", `{}`, invokeOpts{})
	})

	t.Run("exit", func(t *testing.T) {
		e, _ := failGo(t, c, "gofn", `{"mode":"exit","code":3}`)
		if e.ErrorType != "Runtime.ExitError" || !strings.Contains(e.ErrorMessage, "exit status 3") {
			t.Errorf("payload %+v, want Runtime.ExitError with exit status 3", e)
		}
		r, _ := okGo(t, c, "gofn", `{}`, invokeOpts{})
		if r.EnvID == warm.EnvID {
			t.Errorf("the environment whose runtime exited was reused")
		}
	})

	t.Run("out of memory", func(t *testing.T) {
		requireRoot(t)
		e, _ := failGo(t, c, "gofn", `{"mode":"alloc","mb":400}`)
		if e.ErrorType != "Runtime.OutOfMemory" {
			t.Errorf("payload %+v, want errorType Runtime.OutOfMemory", e)
		}
		okGo(t, c, "gofn", `{}`, invokeOpts{})
	})

	t.Run("8 concurrent invokes", func(t *testing.T) {
		createFunction(t, c, fnSpec{name: "gopar", runtime: "provided.al2023", handler: "bootstrap", zip: goZip, timeout: 20})
		const n, sleep = 8, 1500 * time.Millisecond
		var wg sync.WaitGroup
		results := make([]goResult, n)
		errs := make([]error, n)
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				out, err := tryInvoke(t, c, "gopar", fmt.Sprintf(`{"mode":"sleep","ms":%d,"i":%d}`, sleep.Milliseconds(), i), invokeOpts{})
				if err == nil && (out.FunctionError != nil || out.StatusCode != 200) {
					err = fmt.Errorf("status %d, function error %q: %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
				}
				if err == nil {
					err = json.Unmarshal(out.Payload, &results[i])
				}
				errs[i] = err
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		envs := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Errorf("invoke %d: %v", i, errs[i])
				continue
			}
			envs[results[i].EnvID] = true
			eqJSON(t, fmt.Sprintf("invoke %d's event", i), results[i].Event, fmt.Sprintf(`{"mode":"sleep","ms":%d,"i":%d}`, sleep.Milliseconds(), i))
		}
		t.Logf("%d concurrent invokes of %v each took %v in %d environments", n, sleep, elapsed, len(envs))
		if len(envs) != n {
			t.Errorf("%d invokes that overlap ran in %d environments, want %d", n, len(envs), n)
		}
		if elapsed > 3*sleep {
			t.Errorf("%d concurrent %v invokes took %v: they did not run in parallel", n, sleep, elapsed)
		}
	})
}

// TestNodeAndPython runs functions on the Node.js and Python runtimes,
// including code that imports the AWS SDK without bundling it.
func TestNodeAndPython(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.lambda()

	type echo struct {
		Event        json.RawMessage `json:"event"`
		RequestID    string          `json:"requestId"`
		FunctionName string          `json:"functionName"`
		Module       string          `json:"module"`
		Python       string          `json:"python"`
		Handler      string          `json:"handler"`
	}
	run := func(t *testing.T, name string, payload string) (echo, *lambda.InvokeOutput) {
		t.Helper()
		out := invoke(t, c, name, payload, invokeOpts{tail: true})
		if out.StatusCode != 200 || out.FunctionError != nil {
			log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			t.Fatalf("status %d, function error %q, payload %s\nlog:\n%s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload, log)
		}
		return decodeJSON[echo](t, out.Payload), out
	}

	t.Run("node CommonJS echo", func(t *testing.T) {
		createFunction(t, c, fnSpec{name: "node-echo", runtime: "nodejs20.x", handler: "index.handler", zip: nodeEchoZip})
		r, out := run(t, "node-echo", `{"a":[1,2,{"b":null}]}`)
		eqJSON(t, "event", r.Event, `{"a":[1,2,{"b":null}]}`)
		if r.FunctionName != "node-echo" || r.RequestID != requestID(out.ResultMetadata) || r.Handler != "index.handler" {
			t.Errorf("context: %+v, response request id %s", r, requestID(out.ResultMetadata))
		}
	})

	t.Run("node empty payload is {}", func(t *testing.T) {
		r, _ := run(t, "node-echo", "")
		eqJSON(t, "event", r.Event, `{}`)
	})

	t.Run("node ES module echo", func(t *testing.T) {
		createFunction(t, c, fnSpec{name: "node-esm", runtime: "nodejs20.x", handler: "index.handler", zip: nodeESMZip})
		r, _ := run(t, "node-esm", `"just a string"`)
		eqJSON(t, "event", r.Event, `"just a string"`)
		if r.Module != "esm" || r.FunctionName != "node-esm" {
			t.Errorf("payload %+v", r)
		}
	})

	t.Run("python echo", func(t *testing.T) {
		requirePython(t)
		createFunction(t, c, fnSpec{name: "py-echo", runtime: pythonRuntime, handler: "lambda_function.lambda_handler", zip: pyEchoZip})
		r, out := run(t, "py-echo", `{"x":1,"s":"ünïcode"}`)
		eqJSON(t, "event", r.Event, `{"x":1,"s":"ünïcode"}`)
		if r.FunctionName != "py-echo" || r.RequestID != requestID(out.ResultMetadata) || "python"+r.Python != pythonRuntime {
			t.Errorf("payload %+v", r)
		}
		log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(log), "python echo "+r.RequestID) {
			t.Errorf("print() output is not in the log:\n%s", log)
		}
	})

	type identity struct{ Account, Arn, UserId string }
	// Code in a function calls AWS as its execution role's session, named
	// after the function, as on Lambda.
	checkIdentity := func(t *testing.T, id identity, function string) {
		t.Helper()
		want := "arn:aws:sts::" + account + ":assumed-role/lambda-role/" + function
		if id.Account != account || id.Arn != want || !strings.HasPrefix(id.UserId, "AROA") || !strings.HasSuffix(id.UserId, ":"+function) {
			t.Errorf("GetCallerIdentity from the function = %+v, want Arn %s", id, want)
		}
		t.Logf("the function called STS as %+v", id)
	}

	t.Run("node imports @aws-sdk/client-sts", func(t *testing.T) {
		requireSDK(t, "node/node_modules/@aws-sdk/client-sts")
		createFunction(t, c, fnSpec{name: "node-sdk", runtime: "nodejs20.x", handler: "index.handler", zip: nodeSDKZip, timeout: 30})
		out := invoke(t, c, "node-sdk", `{}`, invokeOpts{tail: true})
		if out.FunctionError != nil {
			log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			t.Fatalf("function error %s: %s\n%s", aws.ToString(out.FunctionError), out.Payload, log)
		}
		checkIdentity(t, decodeJSON[identity](t, out.Payload), "node-sdk")
	})

	t.Run("python imports boto3", func(t *testing.T) {
		requirePython(t)
		requireSDK(t, "python")
		createFunction(t, c, fnSpec{name: "py-sdk", runtime: pythonRuntime, handler: "lambda_function.lambda_handler", zip: pySDKZip, timeout: 30})
		out := invoke(t, c, "py-sdk", `{}`, invokeOpts{tail: true})
		if out.FunctionError != nil {
			log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			t.Fatalf("function error %s: %s\n%s", aws.ToString(out.FunctionError), out.Payload, log)
		}
		checkIdentity(t, decodeJSON[identity](t, out.Payload), "py-sdk")
	})

	t.Run("missing handlers", func(t *testing.T) {
		createFunction(t, c, fnSpec{name: "node-nohandler", runtime: "nodejs20.x", handler: "index.nothere", zip: nodeEchoZip})
		e, _ := failGo(t, c, "node-nohandler", `{}`)
		if e.ErrorType != "Runtime.HandlerNotFound" {
			t.Errorf("node handler missing: %+v, want errorType Runtime.HandlerNotFound", e)
		}
		if pythonRuntime == "" {
			return
		}
		createFunction(t, c, fnSpec{name: "py-nomodule", runtime: pythonRuntime, handler: "nomodule.handler", zip: pyEchoZip})
		e, _ = failGo(t, c, "py-nomodule", `{}`)
		if e.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(e.ErrorMessage, "nomodule") {
			t.Errorf("python module missing: %+v, want errorType Runtime.ImportModuleError naming nomodule", e)
		}
	})
}

// markerDir is a host directory the functions can write to: the host's
// filesystem is visible in an environment except /tmp and /var/task.
func markerDir(t *testing.T) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(home, ".cache")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "lambdaplane-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// markers returns the ids written to dir's marker file, polling until cond
// holds or 15 s pass.
func markers(t *testing.T, dir string, cond func([]string) bool) []string {
	t.Helper()
	var ids []string
	for deadline := time.Now().Add(15 * time.Second); ; {
		data, _ := os.ReadFile(filepath.Join(dir, "marker"))
		ids = strings.Fields(string(data))
		if cond(ids) || time.Now().After(deadline) {
			return ids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestEventInvoke checks asynchronous invocation: 202, execution, and
// Lambda's two retries of a failed event.
func TestEventInvoke(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.lambda()
	dir := markerDir(t)
	createFunction(t, c, fnSpec{name: "async", runtime: "provided.al2023", handler: "bootstrap", zip: goZip,
		timeout: 3, env: map[string]string{"MARKER_DIR": dir}})

	out := invoke(t, c, "async", `{"mode":"marker","id":"ev1"}`, invokeOpts{invokeType: types.InvocationTypeEvent})
	if out.StatusCode != 202 || len(out.Payload) != 0 || out.FunctionError != nil {
		t.Fatalf("Event invoke: status %d, payload %q; want 202 and no body", out.StatusCode, out.Payload)
	}
	if ids := markers(t, dir, func(ids []string) bool { return count(ids, "ev1") > 0 }); count(ids, "ev1") != 1 {
		t.Fatalf("the event ran %d times (markers %v), want once", count(ids, "ev1"), ids)
	}

	invoke(t, c, "async", `{"mode":"marker","id":"ev2","fail":true}`, invokeOpts{invokeType: types.InvocationTypeEvent})
	ids := markers(t, dir, func(ids []string) bool { return count(ids, "ev2") >= 3 })
	if count(ids, "ev2") != 3 {
		t.Fatalf("a failing event ran %d times, want 3 (two retries): %v", count(ids, "ev2"), ids)
	}
	time.Sleep(2 * time.Second) // past a third retry's backoff, if there were one
	if ids := markers(t, dir, func([]string) bool { return true }); count(ids, "ev2") != 3 || count(ids, "ev1") != 1 {
		t.Errorf("markers after the retries: %v, want ev1 once and ev2 three times", ids)
	}
}

// TestRestart checks that what was acknowledged survives a SIGTERM restart:
// functions, versions, aliases, configuration, tags, concurrency and a
// queued event retry.
func TestRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(o *serverOptions) { o.asyncRetryBase = 3 * time.Second })
	c := s.lambda()
	dir := markerDir(t)
	createFunction(t, c, fnSpec{name: "keep", runtime: "provided.al2023", handler: "bootstrap", zip: goZip,
		timeout: 3, env: map[string]string{"GREETING": "v1", "MARKER_DIR": dir}, publish: true})
	ctx := ctxT(t)
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("keep"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("keep"), Environment: &types.Environment{Variables: map[string]string{"GREETING": "v2", "MARKER_DIR": dir}},
	}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, c, "keep")
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(fnARN("keep")), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("keep"), ReservedConcurrentExecutions: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	before, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("keep")})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := okGo(t, c, "keep", `{}`, invokeOpts{qualifier: "live"})
	if r.Env["GREETING"] != "v1" {
		t.Fatalf("alias live runs GREETING=%q, want v1", r.Env["GREETING"])
	}

	// A failing event: its first attempt runs now, its retries are due after
	// the restart and must not be lost.
	invoke(t, c, "keep", `{"mode":"marker","id":"durable","fail":true}`, invokeOpts{invokeType: types.InvocationTypeEvent})
	if ids := markers(t, dir, func(ids []string) bool { return count(ids, "durable") >= 1 }); count(ids, "durable") != 1 {
		t.Fatalf("first attempt of the event: markers %v", ids)
	}

	s.restart()
	c = s.lambda()
	ctx = ctxT(t)

	after, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("keep")})
	if err != nil {
		t.Fatalf("GetFunction after restart: %v", err)
	}
	bc, ac := before.Configuration, after.Configuration
	if ac.State != types.StateActive || ac.LastUpdateStatus != types.LastUpdateStatusSuccessful ||
		aws.ToString(ac.CodeSha256) != aws.ToString(bc.CodeSha256) || aws.ToString(ac.RevisionId) != aws.ToString(bc.RevisionId) ||
		ac.Environment == nil || ac.Environment.Variables["GREETING"] != "v2" || aws.ToInt32(ac.Timeout) != 3 {
		t.Errorf("configuration after restart: State %s LastUpdateStatus %s CodeSha256 %s RevisionId %s Environment %v Timeout %d",
			ac.State, ac.LastUpdateStatus, aws.ToString(ac.CodeSha256), aws.ToString(ac.RevisionId), ac.Environment, aws.ToInt32(ac.Timeout))
	}
	if after.Tags["k"] != "v" || after.Concurrency == nil || aws.ToInt32(after.Concurrency.ReservedConcurrentExecutions) != 3 {
		t.Errorf("tags %v, concurrency %v after restart", after.Tags, after.Concurrency)
	}
	vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("keep")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 2 || aws.ToString(vs.Versions[1].Version) != "1" {
		t.Errorf("%d versions after restart", len(vs.Versions))
	}
	alias, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("keep"), Name: aws.String("live")})
	if err != nil || aws.ToString(alias.FunctionVersion) != "1" {
		t.Errorf("alias live after restart: %v %v", alias, err)
	}
	r, out := okGo(t, c, "keep", `{}`, invokeOpts{qualifier: "live"})
	if aws.ToString(out.ExecutedVersion) != "1" || r.Env["GREETING"] != "v1" || r.Env["AWS_LAMBDA_FUNCTION_VERSION"] != "1" {
		t.Errorf("alias live after restart: version %s GREETING %q", aws.ToString(out.ExecutedVersion), r.Env["GREETING"])
	}
	if r, _ := okGo(t, c, "keep", `{}`, invokeOpts{}); r.Env["GREETING"] != "v2" {
		t.Errorf("$LATEST after restart runs GREETING=%q, want v2", r.Env["GREETING"])
	}
	if ids := markers(t, dir, func(ids []string) bool { return count(ids, "durable") >= 3 }); count(ids, "durable") != 3 {
		t.Errorf("the failing event ran %d times across the restart, want 3: %v", count(ids, "durable"), ids)
	}
}
