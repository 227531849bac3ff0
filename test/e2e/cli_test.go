package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestCLITour is the README's tour and the rest of the function lifecycle,
// driven by the unmodified AWS CLI v2.
func TestCLITour(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	s := startServer(t)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, nodeEchoZip, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nodeEchoZip)
	const tourRole = "arn:aws:iam::123456789012:role/tour-role"
	create := func(name string) map[string]any {
		return s.cliJSON(t, "lambda", "create-function", "--function-name", name, "--runtime", "nodejs20.x",
			"--handler", "index.handler", "--zip-file", "fileb://"+zipPath, "--role", tourRole)
	}

	t.Run("iam create-role", func(t *testing.T) {
		out := s.cliJSON(t, "iam", "create-role", "--role-name", "tour-role", "--assume-role-policy-document", lambdaTrust)
		if got := jstr(out, "Role.Arn"); got != tourRole {
			t.Fatalf("Role.Arn = %q, want %s", got, tourRole)
		}
		if o, e, code := s.cli(t, "iam", "attach-role-policy", "--role-name", "tour-role",
			"--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"); code != 0 {
			t.Fatalf("attach-role-policy: exit %d\n%s%s", code, o, e)
		}
	})

	t.Run("create-function", func(t *testing.T) {
		cfg := create("hello")
		want := map[string]any{
			"FunctionName":    "hello",
			"FunctionArn":     fnARN("hello"),
			"Runtime":         "nodejs20.x",
			"Handler":         "index.handler",
			"Role":            tourRole,
			"CodeSha256":      base64.StdEncoding.EncodeToString(sum[:]),
			"CodeSize":        float64(len(nodeEchoZip)),
			"Version":         "$LATEST",
			"PackageType":     "Zip",
			"Timeout":         float64(3),
			"MemorySize":      float64(128),
			"Description":     "",
			"State":           "Pending",
			"StateReason":     "The function is being created.",
			"StateReasonCode": "Creating",
		}
		for k, v := range want {
			if !reflect.DeepEqual(cfg[k], v) {
				t.Errorf("%s = %#v, want %#v", k, cfg[k], v)
			}
		}
		for _, k := range []string{"LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"} {
			if _, ok := cfg[k]; ok {
				t.Errorf("CreateFunction's response has %s; Lambda's has no LastUpdateStatus* keys", k)
			}
		}
		if got := jget(cfg, "EphemeralStorage.Size"); got != float64(512) {
			t.Errorf("EphemeralStorage.Size = %v, want 512", got)
		}
		if got := jstr(cfg, "TracingConfig.Mode"); got != "PassThrough" {
			t.Errorf("TracingConfig.Mode = %q, want PassThrough", got)
		}
	})

	t.Run("wait function-active-v2", func(t *testing.T) {
		if out, errOut, code := s.cli(t, "lambda", "wait", "function-active-v2", "--function-name", "hello"); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("invoke", func(t *testing.T) {
		outFile := filepath.Join(dir, "out.json")
		res := s.cliJSON(t, "lambda", "invoke", "--function-name", "hello", "--payload", `{"x":1}`,
			"--cli-binary-format", "raw-in-base64-out", outFile)
		if res["StatusCode"] != float64(200) || res["ExecutedVersion"] != "$LATEST" {
			t.Errorf("invoke output = %v, want StatusCode 200, ExecutedVersion $LATEST", res)
		}
		if _, ok := res["FunctionError"]; ok {
			t.Errorf("invoke output has FunctionError: %v", res)
		}
		data, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Event        json.RawMessage `json:"event"`
			FunctionName string          `json:"functionName"`
			RequestID    string          `json:"requestId"`
			Handler      string          `json:"handler"`
			Remaining    int             `json:"remainingMs"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("out.json %q: %v", data, err)
		}
		eqJSON(t, "event", got.Event, `{"x":1}`)
		if got.FunctionName != "hello" || got.Handler != "index.handler" || got.RequestID == "" {
			t.Errorf("out.json = %s", data)
		}
		if got.Remaining <= 0 || got.Remaining > 3000 {
			t.Errorf("getRemainingTimeInMillis() = %d, want within the 3 s timeout", got.Remaining)
		}
	})

	t.Run("invoke --log-type Tail", func(t *testing.T) {
		outFile := filepath.Join(dir, "tail.json")
		res := s.cliJSON(t, "lambda", "invoke", "--function-name", "hello", "--payload", `{"y":2}`,
			"--cli-binary-format", "raw-in-base64-out", "--log-type", "Tail", outFile)
		data, _ := os.ReadFile(outFile)
		var got struct {
			RequestID string `json:"requestId"`
		}
		json.Unmarshal(data, &got)
		logText, err := base64.StdEncoding.DecodeString(jstr(res, "LogResult"))
		if err != nil || got.RequestID == "" {
			t.Fatalf("LogResult %q (%v), payload %s", jstr(res, "LogResult"), err, data)
		}
		checkLogLines(t, string(logText), got.RequestID, "$LATEST")
		if !strings.Contains(string(logText), "node echo "+got.RequestID) {
			t.Errorf("the function's console.log line is not in the log:\n%s", logText)
		}
	})

	t.Run("get-function", func(t *testing.T) {
		gf := s.cliJSON(t, "lambda", "get-function", "--function-name", "hello")
		if st, us := jstr(gf, "Configuration.State"), jstr(gf, "Configuration.LastUpdateStatus"); st != "Active" || us != "Successful" {
			t.Errorf("State %q LastUpdateStatus %q, want Active Successful", st, us)
		}
		for _, k := range []string{"StateReason", "StateReasonCode", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"} {
			if v := jget(gf, "Configuration."+k); v != nil {
				t.Errorf("an Active function's Configuration has %s = %v", k, v)
			}
		}
		if rt := jstr(gf, "Code.RepositoryType"); rt != "S3" {
			t.Errorf("Code.RepositoryType = %q, want S3", rt)
		}
		loc := jstr(gf, "Code.Location")
		resp, err := http.Get(loc)
		if err != nil {
			t.Fatalf("GET Code.Location %q: %v", loc, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, nodeEchoZip) {
			t.Errorf("GET Code.Location: status %d, %d bytes; want 200 and the %d bytes uploaded", resp.StatusCode, len(body), len(nodeEchoZip))
		}
		resp, err = http.Get(strings.Replace(loc, "Signature=", "Signature=0", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET Code.Location with a tampered signature: status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("list-functions paging", func(t *testing.T) {
		create("hello2")
		create("hello3")
		for _, n := range []string{"hello2", "hello3"} {
			if out, errOut, code := s.cli(t, "lambda", "wait", "function-active-v2", "--function-name", n); code != 0 {
				t.Fatalf("wait %s: exit %d\n%s%s", n, code, out, errOut)
			}
		}
		// --page-size 1 makes the CLI follow the server's NextMarker.
		first := s.cliJSON(t, "lambda", "list-functions", "--max-items", "2", "--page-size", "1")
		tok := jstr(first, "NextToken")
		if tok == "" {
			t.Fatalf("no NextToken after 2 of 3 functions: %v", first)
		}
		rest := s.cliJSON(t, "lambda", "list-functions", "--max-items", "2", "--page-size", "1", "--starting-token", tok)
		if _, ok := rest["NextToken"]; ok {
			t.Errorf("NextToken on the last page: %v", rest)
		}
		names := func(m map[string]any) []string {
			var out []string
			fs, _ := m["Functions"].([]any)
			for _, f := range fs {
				out = append(out, jstr(f, "FunctionName"))
				if _, ok := f.(map[string]any)["State"]; ok {
					t.Errorf("ListFunctions returned State for %s; Lambda leaves it to GetFunction", jstr(f, "FunctionName"))
				}
			}
			return out
		}
		a, b := names(first), names(rest)
		if len(a) != 2 || len(b) != 1 {
			t.Fatalf("pages %v and %v, want 2 and 1 functions", a, b)
		}
		all := append(a, b...)
		sort.Strings(all)
		if !reflect.DeepEqual(all, []string{"hello", "hello2", "hello3"}) {
			t.Errorf("functions listed: %v", all)
		}
	})

	t.Run("update-function-configuration", func(t *testing.T) {
		cfg := s.cliJSON(t, "lambda", "update-function-configuration", "--function-name", "hello",
			"--environment", "Variables={GREETING=hi}", "--timeout", "5", "--memory-size", "256", "--description", "tour")
		if cfg["LastUpdateStatus"] != "InProgress" || cfg["LastUpdateStatusReason"] != "The function is being created." ||
			cfg["LastUpdateStatusReasonCode"] != "Creating" || cfg["State"] != "Active" {
			t.Errorf("update response State %v LastUpdateStatus %v / %v / %v; want Active InProgress / The function is being created. / Creating",
				cfg["State"], cfg["LastUpdateStatus"], cfg["LastUpdateStatusReason"], cfg["LastUpdateStatusReasonCode"])
		}
		if out, errOut, code := s.cli(t, "lambda", "wait", "function-updated-v2", "--function-name", "hello"); code != 0 {
			t.Fatalf("wait function-updated-v2: exit %d\n%s%s", code, out, errOut)
		}
		got := s.cliJSON(t, "lambda", "get-function-configuration", "--function-name", "hello")
		if got["LastUpdateStatus"] != "Successful" || got["Timeout"] != float64(5) || got["MemorySize"] != float64(256) ||
			got["Description"] != "tour" || jstr(got, "Environment.Variables.GREETING") != "hi" {
			t.Errorf("configuration after the update: %v", got)
		}
		out := filepath.Join(dir, "updated.json")
		s.cliJSON(t, "lambda", "invoke", "--function-name", "hello", out)
		data, _ := os.ReadFile(out)
		var r struct{ Greeting, MemoryLimitInMB string }
		json.Unmarshal(data, &r)
		if r.Greeting != "hi" || r.MemoryLimitInMB != "256" {
			t.Errorf("the function does not see the new configuration: %s", data)
		}
	})

	t.Run("publish-version, create-alias, invoke --qualifier", func(t *testing.T) {
		v := s.cliJSON(t, "lambda", "publish-version", "--function-name", "hello", "--description", "first")
		if v["Version"] != "1" || v["FunctionArn"] != fnARN("hello")+":1" {
			t.Errorf("publish-version: Version %v FunctionArn %v", v["Version"], v["FunctionArn"])
		}
		a := s.cliJSON(t, "lambda", "create-alias", "--function-name", "hello", "--name", "live", "--function-version", "1")
		if a["AliasArn"] != fnARN("hello")+":live" || a["Name"] != "live" || a["FunctionVersion"] != "1" || jstr(a, "RevisionId") == "" {
			t.Errorf("create-alias: %v", a)
		}
		s.cliJSON(t, "lambda", "update-function-configuration", "--function-name", "hello", "--environment", "Variables={GREETING=changed}")
		if out, errOut, code := s.cli(t, "lambda", "wait", "function-updated-v2", "--function-name", "hello"); code != 0 {
			t.Fatalf("wait function-updated-v2: exit %d\n%s%s", code, out, errOut)
		}
		for _, c := range []struct{ qualifier, version, greeting string }{{"live", "1", "hi"}, {"1", "1", "hi"}, {"$LATEST", "$LATEST", "changed"}} {
			out := filepath.Join(dir, "q.json")
			res := s.cliJSON(t, "lambda", "invoke", "--function-name", "hello", "--qualifier", c.qualifier, out)
			data, _ := os.ReadFile(out)
			var r struct{ Greeting, FunctionVersion string }
			json.Unmarshal(data, &r)
			if res["ExecutedVersion"] != c.version || r.Greeting != c.greeting || r.FunctionVersion != c.version {
				t.Errorf("--qualifier %s: ExecutedVersion %v, payload %s; want version %s greeting %s", c.qualifier, res["ExecutedVersion"], data, c.version, c.greeting)
			}
		}
		vs := s.cliJSON(t, "lambda", "list-versions-by-function", "--function-name", "hello")
		var versions []string
		for _, v := range vs["Versions"].([]any) {
			versions = append(versions, jstr(v, "Version"))
		}
		if !reflect.DeepEqual(versions, []string{"$LATEST", "1"}) {
			t.Errorf("list-versions-by-function: %v", versions)
		}
	})

	t.Run("tags", func(t *testing.T) {
		arn := fnARN("hello")
		if out, errOut, code := s.cli(t, "lambda", "tag-resource", "--resource", arn, "--tags", "team=lp,env=test"); code != 0 || out != "" {
			t.Fatalf("tag-resource: exit %d\n%s%s", code, out, errOut)
		}
		if got := s.cliJSON(t, "lambda", "list-tags", "--resource", arn); !reflect.DeepEqual(got, map[string]any{"Tags": map[string]any{"team": "lp", "env": "test"}}) {
			t.Errorf("list-tags = %v", got)
		}
		if got := jget(s.cliJSON(t, "lambda", "get-function", "--function-name", "hello"), "Tags"); !reflect.DeepEqual(got, map[string]any{"team": "lp", "env": "test"}) {
			t.Errorf("get-function Tags = %v", got)
		}
		if out, errOut, code := s.cli(t, "lambda", "untag-resource", "--resource", arn, "--tag-keys", "env"); code != 0 {
			t.Fatalf("untag-resource: exit %d\n%s%s", code, out, errOut)
		}
		if got := s.cliJSON(t, "lambda", "list-tags", "--resource", arn); !reflect.DeepEqual(got, map[string]any{"Tags": map[string]any{"team": "lp"}}) {
			t.Errorf("list-tags after untag = %v", got)
		}
	})

	t.Run("function concurrency and account settings", func(t *testing.T) {
		put := s.cliJSON(t, "lambda", "put-function-concurrency", "--function-name", "hello", "--reserved-concurrent-executions", "5")
		if !reflect.DeepEqual(put, map[string]any{"ReservedConcurrentExecutions": float64(5)}) {
			t.Errorf("put-function-concurrency = %v", put)
		}
		if got := s.cliJSON(t, "lambda", "get-function-concurrency", "--function-name", "hello"); !reflect.DeepEqual(got, put) {
			t.Errorf("get-function-concurrency = %v", got)
		}
		if got := jget(s.cliJSON(t, "lambda", "get-function", "--function-name", "hello"), "Concurrency.ReservedConcurrentExecutions"); got != float64(5) {
			t.Errorf("get-function Concurrency.ReservedConcurrentExecutions = %v", got)
		}
		acct := s.cliJSON(t, "lambda", "get-account-settings")
		want := map[string]any{
			"TotalCodeSize":                  float64(80530636800),
			"CodeSizeUnzipped":               float64(262144000),
			"CodeSizeZipped":                 float64(52428800),
			"ConcurrentExecutions":           float64(1000),
			"UnreservedConcurrentExecutions": float64(995),
		}
		if !reflect.DeepEqual(acct["AccountLimit"], want) {
			t.Errorf("AccountLimit = %v\nwant %v", acct["AccountLimit"], want)
		}
		if n := jget(acct, "AccountUsage.FunctionCount"); n != float64(3) {
			t.Errorf("AccountUsage.FunctionCount = %v, want 3", n)
		}
		if n, _ := jget(acct, "AccountUsage.TotalCodeSize").(float64); n < float64(3*len(nodeEchoZip)) {
			t.Errorf("AccountUsage.TotalCodeSize = %v, want at least 3 packages' size", n)
		}
		if out, errOut, code := s.cli(t, "lambda", "delete-function-concurrency", "--function-name", "hello"); code != 0 {
			t.Fatalf("delete-function-concurrency: exit %d\n%s%s", code, out, errOut)
		}
		if got := s.cliJSON(t, "lambda", "get-function-concurrency", "--function-name", "hello"); len(got) != 0 {
			t.Errorf("get-function-concurrency after delete = %v, want {}", got)
		}
		if got := jget(s.cliJSON(t, "lambda", "get-account-settings"), "AccountLimit.UnreservedConcurrentExecutions"); got != float64(1000) {
			t.Errorf("UnreservedConcurrentExecutions after delete = %v, want 1000", got)
		}
	})

	t.Run("iam: a user gets what its policies allow", func(t *testing.T) {
		s.cliJSON(t, "iam", "create-user", "--user-name", "cli-user")
		key := s.cliJSON(t, "iam", "create-access-key", "--user-name", "cli-user")
		ak, sk := jstr(key, "AccessKey.AccessKeyId"), jstr(key, "AccessKey.SecretAccessKey")
		_, errOut, code := s.cliAs(t, ak, sk, "lambda", "get-function", "--function-name", "hello")
		want := "An error occurred (AccessDeniedException) when calling the GetFunction operation: User: arn:aws:iam::123456789012:user/cli-user is not authorized to perform: lambda:GetFunction on resource: " + fnARN("hello") + " because no identity-based policy allows the lambda:GetFunction action"
		if code == 0 || !strings.Contains(errOut, want) {
			t.Fatalf("get-function without a policy: exit %d\n%s", code, errOut)
		}
		if o, e, code := s.cli(t, "iam", "attach-user-policy", "--user-name", "cli-user",
			"--policy-arn", "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"); code != 0 {
			t.Fatalf("attach-user-policy: exit %d\n%s%s", code, o, e)
		}
		if o, e, code := s.cliAs(t, ak, sk, "lambda", "get-function", "--function-name", "hello"); code != 0 {
			t.Fatalf("get-function with AWSLambda_ReadOnlyAccess: exit %d\n%s%s", code, o, e)
		}
		_, errOut, code = s.cliAs(t, ak, sk, "lambda", "create-function", "--function-name", "not-mine", "--runtime", "nodejs20.x",
			"--handler", "index.handler", "--zip-file", "fileb://"+zipPath, "--role", tourRole)
		if code == 0 || !strings.Contains(errOut, "AccessDeniedException") || !strings.Contains(errOut, "lambda:CreateFunction") {
			t.Fatalf("create-function with read-only access: exit %d\n%s", code, errOut)
		}
	})

	t.Run("delete-function", func(t *testing.T) {
		if out, errOut, code := s.cli(t, "lambda", "delete-function", "--function-name", "hello"); code != 0 || out != "" {
			t.Fatalf("delete-function: exit %d\n%s%s", code, out, errOut)
		}
		_, errOut, code := s.cli(t, "lambda", "get-function", "--function-name", "hello")
		want := "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found: " + fnARN("hello")
		if code != 254 || strings.TrimSpace(errOut) != want {
			t.Errorf("get-function after delete: exit %d, stderr %q; want 254 and %q", code, errOut, want)
		}
	})

	t.Run("sts get-caller-identity", func(t *testing.T) {
		got := s.cliJSON(t, "sts", "get-caller-identity")
		want := map[string]any{"UserId": account, "Account": account, "Arn": "arn:aws:iam::123456789012:root"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("get-caller-identity = %v, want %v", got, want)
		}
	})
}

// checkLogLines checks the START, END and REPORT lines Lambda writes around
// an invocation.
func checkLogLines(t *testing.T, log, reqID, version string) {
	t.Helper()
	for _, want := range []string{
		"START RequestId: " + reqID + " Version: " + version + "\n",
		"END RequestId: " + reqID + "\n",
		"REPORT RequestId: " + reqID + "\tDuration: ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
	for _, field := range []string{"\tBilled Duration: ", " ms\tMemory Size: ", " MB\tMax Memory Used: "} {
		if !strings.Contains(log, field) {
			t.Errorf("REPORT line has no %q:\n%s", field, log)
		}
	}
	if start, end := strings.Index(log, "START RequestId: "+reqID), strings.Index(log, "END RequestId: "+reqID); start > end {
		t.Errorf("END before START:\n%s", log)
	}
}
