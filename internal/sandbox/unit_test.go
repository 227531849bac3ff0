package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCgroupMounts(t *testing.T) {
	hybrid := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	v1, v2, err := cgroupMounts(strings.NewReader(hybrid))
	if err != nil {
		t.Fatal(err)
	}
	if v1["memory"] != "/sys/fs/cgroup/memory" || v1["pids"] != "/sys/fs/cgroup/pids" ||
		v1["freezer"] != "/sys/fs/cgroup/freezer" || len(v1) != 3 || v2 != "/sys/fs/cgroup/unified" {
		t.Errorf("hybrid: v1 %v v2 %q", v1, v2)
	}

	unified := `29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	v1, v2, _ = cgroupMounts(strings.NewReader(unified))
	if len(v1) != 0 || v2 != "/sys/fs/cgroup" {
		t.Errorf("unified: v1 %v v2 %q", v1, v2)
	}

	// Co-mounted controllers, an escaped path, and a container's bind of a
	// sub-cgroup (root not "/") which cannot be used.
	odd := `40 31 0:40 / /sys/fs/cgroup/freezer,pids rw - cgroup cgroup rw,pids,freezer
41 31 0:41 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
42 31 0:42 / /mnt/my\040cgroups rw - cgroup cgroup rw,memory
`
	v1, _, _ = cgroupMounts(strings.NewReader(odd))
	if v1["pids"] != "/sys/fs/cgroup/freezer,pids" || v1["freezer"] != "/sys/fs/cgroup/freezer,pids" || v1["memory"] != "/mnt/my cgroups" {
		t.Errorf("odd: %v", v1)
	}
}

func TestReportLine(t *testing.T) {
	r := report{reqID: "abc", duration: 1234567 * time.Nanosecond, memoryMB: 128, maxUsedMB: 18}
	if got, want := string(r.line()), "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t"; got != want {
		t.Errorf("warm:\n got %q\nwant %q", got, want)
	}
	r.init = 120560 * time.Microsecond
	if got, want := string(r.line()), "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 122 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 120.56 ms\t"; got != want {
		t.Errorf("cold:\n got %q\nwant %q", got, want)
	}
	r.init, r.duration, r.status = 0, 3*time.Second, "timeout"
	if got, want := string(r.line()), "REPORT RequestId: abc\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tStatus: timeout"; got != want {
		t.Errorf("timeout:\n got %q\nwant %q", got, want)
	}
	r.status, r.errorType = "error", "Runtime.OutOfMemory"
	if got := string(r.line()); !strings.HasSuffix(got, "\tMax Memory Used: 18 MB\tStatus: error\tError Type: Runtime.OutOfMemory") {
		t.Errorf("error: %q", got)
	}
	if got, want := string(initReportLine(270*time.Microsecond, "error", "Runtime.InvalidEntrypoint")),
		"INIT_REPORT Init Duration: 0.27 ms\tPhase: init\tStatus: error\tError Type: Runtime.InvalidEntrypoint"; got != want {
		t.Errorf("INIT_REPORT:\n got %q\nwant %q", got, want)
	}
	ts := time.Date(2019, 9, 18, 0, 2, 46, 542e6, time.UTC)
	if got, want := string(timeoutLine(ts, "f27", 5*time.Second)), "2019-09-18T00:02:46.542Z f27 Task timed out after 5.00 seconds"; got != want {
		t.Errorf("timeout line %q", got)
	}
}

func TestTail(t *testing.T) {
	tl := newTail()
	var all bytes.Buffer
	for i := 0; i < 1000; i++ {
		line := bytes.Repeat([]byte{byte('a' + i%26)}, i%97)
		tl.writeLine(line)
		all.Write(line)
		all.WriteByte('\n')
	}
	want := all.Bytes()[all.Len()-tailLimit:]
	if got := tl.bytes(); !bytes.Equal(got, want) {
		t.Errorf("tail differs from the last %d bytes", tailLimit)
	}
	if cap(tl.buf) > 2*tailLimit {
		t.Errorf("tail grew to %d bytes", cap(tl.buf))
	}
	tl.write(bytes.Repeat([]byte{'z'}, 3*tailLimit))
	if got := tl.bytes(); len(got) != tailLimit || got[0] != 'z' {
		t.Errorf("huge write: %d bytes", len(got))
	}
	small := newTail()
	small.writeLine([]byte("x"))
	if string(small.bytes()) != "x\n" {
		t.Errorf("small tail %q", small.bytes())
	}
}

func TestBuildEnviron(t *testing.T) {
	spec := &Spec{
		FunctionName: "hello", Version: "1", Region: "eu-west-1", Runtime: "nodejs20.x",
		Handler: "index.handler", MemoryMB: 256,
		Environment: map[string]string{"NODE_PATH": "/mine", "_HANDLER": "evil", "AWS_LAMBDA_RUNTIME_API": "evil", "AWS_ENDPOINT_URL": "http://own"},
		EndpointURL: "http://127.0.0.1:4566",
	}
	got := map[string]string{}
	env := buildEnviron(envInputs{spec: spec, taskRoot: "/var/task", apiAddr: "127.0.0.1:9001",
		launcher: []string{"NODE_PATH=/opt/nodejs/node_modules", "NODE_OPTIONS=--x"}})
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s twice", k)
		}
		got[k] = v
	}
	want := map[string]string{
		"AWS_EXECUTION_ENV":               "AWS_Lambda_nodejs20.x",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/hello",
		"_HANDLER":                        "index.handler",
		"AWS_LAMBDA_RUNTIME_API":          "127.0.0.1:9001",
		"NODE_PATH":                       "/mine", // the function's own wins over the launcher's
		"NODE_OPTIONS":                    "--x",
		"AWS_ENDPOINT_URL":                "http://own",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"LD_LIBRARY_PATH":                 "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "TMPDIR"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s set without a value to give it", k)
		}
	}
}

func TestRuntimeAPIRouting(t *testing.T) {
	e := newEnv(nil, testSpec())
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newRAPIServer(e, ln)
	defer srv.close()
	base := "http://" + ln.Addr().String()
	do := func(method, path, body string, hdr ...string) (int, string, bool) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Close
	}
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/2018-06-01/runtime/invocation/x/response", 405, ""},
		{"POST", "/2018-06-01/runtime/invocation/next", 405, ""},
		{"GET", "/2018-06-01/runtime/init/error", 405, ""},
		{"GET", "/2018-06-01/runtime/unknown", 404, "404 page not found\n"},
		{"POST", "/2018-06-01/runtime/invocation/x/other", 404, "404 page not found\n"},
		{"POST", "/2018-06-01/runtime/invocation//response", 404, "404 page not found\n"},
		{"GET", "/2020-01-01/extension/register", 404, "404 page not found\n"},
		// Before init finishes there is nothing to answer.
		{"POST", "/2018-06-01/runtime/invocation/x/response", 403,
			`{"errorMessage":"State transition from Started to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}` + "\n"},
		{"POST", "/2018-06-01/runtime/invocation/x/error?q=1", 403,
			`{"errorMessage":"State transition from Started to InvocationErrorResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}` + "\n"},
	}
	for _, tc := range cases {
		if status, body, _ := do(tc.method, tc.path, "{}"); status != tc.status || body != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, status, body, tc.status, tc.body)
		}
	}

	// A chunked body sent after 100-continue; the error type comes from the
	// body when the header is absent.
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
	if line, _ := br.ReadString('\n'); line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("before the body: %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "14\r\n{\"errorMessage\":\"m\",\r\n26\r\n\"errorType\":\"Runtime.HandlerNotFound\"}\r\n0\r\nX-Trailer: 1\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 || string(b) != `{"status":"OK"}`+"\n" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("init/error: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if e.posted == nil || e.posted.errorType != "Runtime.HandlerNotFound" ||
		string(e.posted.body) != `{"errorMessage":"m","errorType":"Runtime.HandlerNotFound"}` {
		t.Errorf("posted %+v", e.posted)
	}
	// The same connection goes on after the trailer.
	io.WriteString(c, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 404 {
		t.Errorf("request after a chunked body: %v %v", resp, err)
	}

	// After the runtime reported an init error, /next is refused, and a
	// connection: close request gets its connection closed.
	status, body, closed := do("GET", "/2018-06-01/runtime/invocation/next", "", "Connection", "close")
	if status != 403 || !strings.Contains(body, "State transition from InitError to Ready failed") || !closed {
		t.Errorf("next after init error: %d %q close=%v", status, body, closed)
	}

	// Garbage gets 400 and a closed connection.
	g, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Write([]byte("NONSENSE\r\n\r\n"))
	raw, _ := io.ReadAll(g)
	if !strings.HasPrefix(string(raw), "HTTP/1.1 400 Bad Request\r\n") {
		t.Errorf("garbage: %q", raw)
	}
}

func TestInitFailureReport(t *testing.T) {
	var ee *execError
	if err := parseInitFailure("/var/task/bootstrap", []byte("exec 8 exec format error")); !errors.As(err, &ee) || ee.errno != syscall.ENOEXEC ||
		ee.Error() != "fork/exec /var/task/bootstrap: exec format error" {
		t.Errorf("exec failure: %v", err)
	}
	if err := parseInitFailure("/x", []byte("setup mounting /tmp: no space")); errors.As(err, &ee) || !strings.Contains(err.Error(), "mounting /tmp: no space") {
		t.Errorf("setup failure: %v", err)
	}
}

func TestMemPeakFromStatus(t *testing.T) {
	p := filepath.Join(t.TempDir(), "status")
	os.WriteFile(p, []byte("Name:\tbootstrap\nVmPeak:\t  10000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"), 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	if got := memPeakFromStatus(f, make([]byte, 4096)); got != 2048<<10 {
		t.Errorf("VmHWM %d", got)
	}
	if bytesToMB(2048<<10) != 2 || bytesToMB(2048<<10+1) != 3 || bytesToMB(0) != 0 {
		t.Error("bytesToMB does not round up")
	}
}
