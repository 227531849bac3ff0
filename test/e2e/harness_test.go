// Package e2e drives a real lambdaplane binary from the outside: the AWS CLI
// v2 and aws-sdk-go-v2 as clients, real Go, Node.js and Python functions.
package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

const (
	account = "123456789012"
	region  = "us-east-1"
	role    = "arn:aws:iam::123456789012:role/lambda-role"
	awsCLI  = "/usr/bin/aws"
)

func fnARN(name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// Built once by TestMain.
var (
	binPath string
	cliHome string // an empty directory for the CLI's config and credentials files

	goZip, nodeEchoZip, nodeESMZip, nodeSDKZip, pyEchoZip, pySDKZip []byte

	pythonRuntime string // python3.X of the machine's python3, "" when not supported
	sdkDir        string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "lpe2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := setup(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	return m.Run()
}

func setup(tmp string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))

	binPath = filepath.Join(tmp, "lambdaplane")
	if err := goBuild(root, nil, "-o", binPath, "./cmd/lambdaplane"); err != nil {
		return err
	}
	boot := filepath.Join(tmp, "bootstrap")
	if err := goBuild(root, []string{"CGO_ENABLED=0"}, "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", boot, "./test/e2e/testdata/gofn"); err != nil {
		return err
	}
	bootBytes, err := os.ReadFile(boot)
	if err != nil {
		return err
	}
	if goZip, err = makeZip(zipEntry{"bootstrap", bootBytes, 0o755}); err != nil {
		return err
	}
	td := filepath.Join(root, "test", "e2e", "testdata")
	for _, z := range []struct {
		dst *[]byte
		dir string
	}{
		{&nodeEchoZip, "node/echo"}, {&nodeESMZip, "node/esm"}, {&nodeSDKZip, "node/sdk"},
		{&pyEchoZip, "python/echo"}, {&pySDKZip, "python/sdk"},
	} {
		if *z.dst, err = zipDir(filepath.Join(td, z.dir)); err != nil {
			return err
		}
	}

	cliHome = filepath.Join(tmp, "cli")
	if err := os.Mkdir(cliHome, 0o700); err != nil {
		return err
	}

	if v, err := exec.Command("python3", "-c", `import sys; print("%d.%d" % sys.version_info[:2])`).Output(); err == nil {
		switch ver := strings.TrimSpace(string(v)); ver {
		case "3.8", "3.9", "3.10", "3.11", "3.12", "3.13":
			pythonRuntime = "python" + ver
		}
	}
	sdkDir = os.Getenv("LAMBDAPLANE_SDK_DIR")
	if sdkDir == "" {
		home, _ := os.UserHomeDir()
		sdkDir = filepath.Join(home, ".cache", "lambdaplane", "sdk")
	}
	return nil
}

func goBuild(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

type zipEntry struct {
	name string
	data []byte
	mode fs.FileMode
}

func makeZip(entries ...zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func zipDir(dir string) ([]byte, error) {
	var entries []zipEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		entries = append(entries, zipEntry{filepath.ToSlash(rel), data, 0o644})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return makeZip(entries...)
}

// requireRoot and requireTool skip locally and fail in CI, where the whole
// suite is expected to run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for isolation (namespaces, cgroups)")
	}
}

func requireCLI(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		skipOrFail(t, "the AWS CLI v2 is not at "+awsCLI)
	}
}

func requireSDK(t *testing.T, sub string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sdkDir, sub)); err != nil {
		skipOrFail(t, "the SDKs for function code are not installed in "+sdkDir+" (scripts/install-sdks.sh)")
	}
}

func requirePython(t *testing.T) {
	t.Helper()
	if pythonRuntime == "" {
		skipOrFail(t, "python3 on PATH is not a Python that Lambda supports (3.8-3.13)")
	}
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// server is one lambdaplane process on a loopback port with its own data dir.
type server struct {
	t       *testing.T
	dataDir string
	addr    string
	url     string
	args    []string

	cmd    *exec.Cmd
	exited chan struct{}
	runErr error
	logs   *tailBuffer
}

type serverOptions struct {
	asyncRetryBase time.Duration
	extraArgs      []string
}

// startServer starts a server that is stopped (and checked to stop) when t ends.
func startServer(t *testing.T, opts ...func(*serverOptions)) *server {
	t.Helper()
	o := serverOptions{asyncRetryBase: 200 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{
		t:       t,
		dataDir: t.TempDir(),
		addr:    addr,
		url:     "http://" + addr,
		logs:    &tailBuffer{max: 256 << 10},
	}
	s.args = []string{"serve", "--listen", addr, "--data-dir", s.dataDir,
		"--env-idle-timeout", "2m", "--async-retry-base", o.asyncRetryBase.String(),
		"--sdk-dir", sdkDir, "--log-level", "debug"}
	s.args = append(s.args, o.extraArgs...)
	t.Cleanup(func() {
		if s.running() {
			s.stop()
		}
		// The server keeps its VPC namespaces across restarts; the test
		// is the one that knows they are no longer wanted.
		if os.Geteuid() == 0 {
			if err := netplane.Teardown(netplane.PrefixFor(s.dataDir)); err != nil {
				t.Errorf("tearing down the VPC data plane: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("server log (last %d bytes):\n%s", s.logs.max, s.logs.String())
		}
	})
	s.start()
	s.createExecutionRole()
	return s
}

// lambdaTrust lets Lambda assume a role, as every execution role must.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// createExecutionRole creates the role every test function runs with, as a
// user would before creating a function: Lambda refuses roles that do not
// exist or do not trust it.
func (s *server) createExecutionRole() {
	t := s.t
	t.Helper()
	c := iam.NewFromConfig(s.awsConfig("test", "test"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lambda-role"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}); err != nil {
		t.Fatalf("create execution role: %v", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lambda-role"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")}); err != nil {
		t.Fatalf("attach execution role policy: %v", err)
	}
}

func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *server) start() {
	t := s.t
	t.Helper()
	fmt.Fprintf(s.logs, "==== lambdaplane %s\n", strings.Join(s.args, " "))
	cmd := exec.Command(binPath, s.args...)
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.runErr = cmd.Wait()
		close(s.exited)
	}()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/_lambdaplane/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("lambdaplane exited before it was healthy: %v", s.runErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("lambdaplane not healthy after 30s (last: %v)", err)
		}
	}
}

// stop sends SIGTERM to the server's PID and checks that it exits cleanly
// within 10s and leaves no function process behind.
func (s *server) stop() {
	t := s.t
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to %d: %v", s.cmd.Process.Pid, err)
	}
	select {
	case <-s.exited:
		if s.runErr != nil {
			t.Errorf("lambdaplane did not exit cleanly on SIGTERM: %v", s.runErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("lambdaplane (pid %d) did not exit within 10s of SIGTERM; killing it", s.cmd.Process.Pid)
		s.cmd.Process.Kill()
		<-s.exited
	}
	// Function processes carry the server's endpoint in their environment.
	marker := []byte("AWS_ENDPOINT_URL=" + s.url + "\x00")
	var left []string
	for deadline := time.Now().Add(3 * time.Second); ; {
		left = processesWithEnv(marker)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("function processes outlived the server: %s", strings.Join(left, "; "))
	}
}

func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

func processesWithEnv(needle []byte) []string {
	dirs, _ := os.ReadDir("/proc")
	var found []string
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		found = append(found, fmt.Sprintf("pid %d: %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return found
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Clients.

func (s *server) awsConfig(accessKey, secret string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		BaseEndpoint: aws.String(s.url),
		HTTPClient:   &http.Client{Timeout: 90 * time.Second, Transport: bodyGuard{http.DefaultTransport}},
		// Errors are the subject of these tests: every request is sent once.
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// bodyGuard hides the WriteTo of request bodies: the SDK closes a request
// body when the response arrives, while net/http's write loop may still be
// finishing it; the closed body's error makes the transport close the
// connection under the response being read ("use of closed network
// connection", aws/aws-sdk-go-v2#1825 and #2737). Large answers hit it.
type bodyGuard struct{ http.RoundTripper }

func (g bodyGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return g.RoundTripper.RoundTrip(r)
}

func (s *server) lambda() *lambda.Client { return lambda.NewFromConfig(s.awsConfig("test", "test")) }
func (s *server) sts() *sts.Client       { return sts.NewFromConfig(s.awsConfig("test", "test")) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type fnSpec struct {
	name, runtime, handler string
	zip                    []byte
	timeout, memory        int32
	env                    map[string]string
	publish                bool
}

// createFunction creates a function and waits until it is Active.
func createFunction(t *testing.T, c *lambda.Client, f fnSpec) *lambda.CreateFunctionOutput {
	t.Helper()
	ctx := ctxT(t)
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(f.name),
		Runtime:      types.Runtime(f.runtime),
		Handler:      aws.String(f.handler),
		Role:         aws.String(role),
		Code:         &types.FunctionCode{ZipFile: f.zip},
		Publish:      f.publish,
	}
	if f.timeout > 0 {
		in.Timeout = aws.Int32(f.timeout)
	}
	if f.memory > 0 {
		in.MemorySize = aws.Int32(f.memory)
	}
	if f.env != nil {
		in.Environment = &types.Environment{Variables: f.env}
	}
	out, err := c.CreateFunction(ctx, in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", f.name, err)
	}
	waitActive(t, c, f.name)
	return out
}

func waitActive(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("waiting for %s to become Active: %v", name, err)
	}
}

func waitUpdated(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("waiting for the update of %s: %v", name, err)
	}
}

type invokeOpts struct {
	qualifier  string
	tail       bool
	invokeType types.InvocationType
}

func invoke(t *testing.T, c *lambda.Client, name string, payload any, o invokeOpts) *lambda.InvokeOutput {
	t.Helper()
	out, err := tryInvoke(t, c, name, payload, o)
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	return out
}

func tryInvoke(t *testing.T, c *lambda.Client, name string, payload any, o invokeOpts) (*lambda.InvokeOutput, error) {
	t.Helper()
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	case string:
		body = []byte(p)
	default:
		var err error
		if body, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: body, InvocationType: o.invokeType}
	if o.qualifier != "" {
		in.Qualifier = aws.String(o.qualifier)
	}
	if o.tail {
		in.LogType = types.LogTypeTail
	}
	return c.Invoke(ctxT(t), in)
}

func requestID(md middleware.Metadata) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	return id
}

// goResult is what the Go test function returns for a successful invoke.
type goResult struct {
	Event      json.RawMessage   `json:"event"`
	Env        map[string]string `json:"env"`
	EnvID      string            `json:"envId"`
	Count      int               `json:"count"`
	RequestID  string            `json:"requestId"`
	InvokedArn string            `json:"invokedArn"`
	DeadlineIn int64             `json:"deadlineIn"`
}

func decodeJSON[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return v
}

// okGo invokes the Go function and checks that it succeeded.
func okGo(t *testing.T, c *lambda.Client, name string, payload any, o invokeOpts) (goResult, *lambda.InvokeOutput) {
	t.Helper()
	out := invoke(t, c, name, payload, o)
	if out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("invoke %s: status %d, function error %q, payload %s", name, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	return decodeJSON[goResult](t, out.Payload), out
}

// checkAPIError asserts err is an AWS error with this code, HTTP status and message.
func checkAPIError(t *testing.T, err error, code string, status int, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got a non-API error: %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	if message != "" && ae.ErrorMessage() != message {
		t.Errorf("error message = %q\nwant             %q", ae.ErrorMessage(), message)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) {
		t.Errorf("no HTTP status in %v", err)
	} else if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
	}
}

// The AWS CLI v2, run against s. The endpoint is given with --endpoint-url
// on every call: older CLI v2 releases ignore AWS_ENDPOINT_URL and would
// otherwise reach the real AWS.
func (s *server) cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return s.cliAs(t, "test", "test", args...)
}

// cliAs runs the CLI with another principal's access key.
func (s *server) cliAs(t *testing.T, accessKey, secret string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsCLI, append(args, "--endpoint-url", s.url, "--output", "json")...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ENDPOINT_URL=" + s.url,
		"AWS_CONFIG_FILE=" + filepath.Join(cliHome, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(cliHome, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code
}

// cliJSON runs a CLI command that must succeed and decodes its output.
func (s *server) cliJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := s.cli(t, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) == "" {
		return m
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// jget follows a dotted path through decoded JSON; a number indexes a list.
func jget(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func jstr(v any, path string) string {
	s, _ := jget(v, path).(string)
	return s
}

// eqJSON compares two JSON texts by value.
func eqJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: %q is not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}
