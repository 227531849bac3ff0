package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestIsolatedView(t *testing.T) {
	m := newManager(t, true, nil)
	spec := testSpec()
	spec.EphemeralMB = 100
	e := start(t, m, spec)
	_, r := invoke(t, e, `{"op":"stat"}`, false)
	st := decode[map[string]any](t, r.Payload)
	want := map[string]any{
		"pid":      float64(1),
		"hostname": e.ID(),
		"cwd":      "/var/task",
		"tmpWrite": "ok",
		"tmpBytes": float64(100 << 20),
		"procs":    float64(1), // only the bootstrap is visible in its pid namespace
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %v, want %v", k, st[k], v)
		}
	}
	if w, _ := st["taskWrite"].(string); !strings.Contains(w, "read-only file system") {
		t.Errorf("writing /var/task: %v", st["taskWrite"])
	}
	// Nothing the environment mounted shows on the host.
	if _, err := os.Stat("/var/task/bootstrap"); err == nil {
		t.Error("the code mount leaked to the host's /var/task")
	}
	if _, err := os.Stat(filepath.Join(codeDir, "probe")); err == nil {
		t.Error("the function wrote into its code directory")
	}
}

func TestIsolatedOutOfMemory(t *testing.T) {
	m := newManager(t, true, nil)
	spec := testSpec()
	spec.MemoryMB = 64
	e := start(t, m, spec)
	inv, r := invoke(t, e, `{"op":"alloc","mb":256}`, true)
	want := `{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: ` + inv.RequestID + ` Error: Runtime exited with error: signal: killed"}`
	if string(r.Payload) != want || r.FunctionError != "Unhandled" || !r.EnvFailed {
		t.Fatalf("got %+v payload %s", r, r.Payload)
	}
	if r.MaxMemoryMB < 60 || r.MaxMemoryMB > 64 {
		t.Errorf("MaxMemoryMB %d, want about the 64 MB limit", r.MaxMemoryMB)
	}
	if !strings.HasSuffix(string(r.Log), "\tStatus: error\tError Type: Runtime.OutOfMemory\n") ||
		!strings.Contains(string(r.Log), "\nRuntime.OutOfMemory\nEND RequestId: "+inv.RequestID+"\n") {
		t.Errorf("log:\n%s", r.Log)
	}

	// Within the limit the same function runs fine.
	e = start(t, m, spec)
	if _, r := invoke(t, e, `{"op":"alloc","mb":16}`, true); r.FunctionError != "" {
		t.Fatalf("16 MB in 64: %+v %s", r, r.Payload)
	} else if r.MaxMemoryMB < 16 {
		t.Errorf("MaxMemoryMB %d after allocating 16 MB", r.MaxMemoryMB)
	}
}

// tickDrift is how far the bootstrap's 5 ms ticker advances while the test
// waits between two invocations.
func tickDrift(t *testing.T, isolate bool) int64 {
	m := newManager(t, isolate, nil)
	e := start(t, m, testSpec())
	invoke(t, e, `{"op":"ticker"}`, false)
	time.Sleep(50 * time.Millisecond)
	_, r := invoke(t, e, `{"op":"ticks"}`, false)
	before := decode[map[string]int64](t, r.Payload)["ticks"]
	time.Sleep(300 * time.Millisecond)
	_, r = invoke(t, e, `{"op":"ticks"}`, false)
	return decode[map[string]int64](t, r.Payload)["ticks"] - before
}

func TestFrozenBetweenInvocations(t *testing.T) {
	requireRoot(t)
	// A plain environment keeps running between invocations: the control
	// that shows the measurement can see a running ticker.
	if d := tickDrift(t, false); d < 20 {
		t.Fatalf("plain environment ticked %d times in 300ms", d)
	}
	// An environment is frozen freezeGrace after its runtime starts waiting;
	// the ticker may run during the grace (and a late timer under load), not
	// for the rest of the 300 ms.
	allowed := int64(freezeGrace/(5*time.Millisecond)) + 4
	if d := tickDrift(t, true); d > allowed {
		t.Errorf("isolated environment ticked %d times while idle (at most %d in the %v grace); it should be frozen", d, allowed, freezeGrace)
	}
}

func TestIsolatedNetworkNamespace(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	name := newID()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v %s", err, out)
	}
	m := newManager(t, true, nil)
	spec := testSpec()
	spec.NetNS = "/run/netns/" + name
	e := start(t, m, spec)
	_, r := invoke(t, e, `{"op":"env"}`, false)
	vars := decode[map[string]string](t, r.Payload)
	if vars["AWS_LAMBDA_RUNTIME_API"] != "127.0.0.1:9001" {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", vars["AWS_LAMBDA_RUNTIME_API"])
	}
	// The environment really is in that namespace: its netns link matches.
	want, err := os.Stat(spec.NetNS)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.Stat("/proc/" + strconv.Itoa(e.(*env).pid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(want, got) {
		t.Error("bootstrap is not in the given network namespace")
	}
	// A second environment in the same namespace cannot take port 9001.
	if _, err := m.Start(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second environment in one namespace: %v", err)
	}
}

func TestIsolatedSetupFailure(t *testing.T) {
	// The re-executed init reports a setup failure (here: the code
	// directory does not exist) back through its status pipe.
	m := newManager(t, true, nil)
	spec := testSpec()
	spec.CodeDir = filepath.Join(t.TempDir(), "missing")
	_, err := m.Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "preparing environment: binding code at /var/task") {
		t.Fatalf("Start: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.envs) != 0 {
		t.Errorf("%d environments still tracked", len(m.envs))
	}
}
