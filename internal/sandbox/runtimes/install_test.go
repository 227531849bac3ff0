package runtimes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInstallWritesBootstrapsIdempotently(t *testing.T) {
	dir := t.TempDir()
	if _, err := Install(dir, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{nodeBootstrap, pythonBootstrap} {
		want, _ := bootstraps.ReadFile("bootstrap/" + name)
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s not installed as embedded (%v)", name, err)
		}
		// Unchanged files are left alone, changed ones are replaced.
		old := time.Now().Add(-time.Hour)
		os.Chtimes(p, old, old)
	}
	os.WriteFile(filepath.Join(dir, pythonBootstrap), []byte("tampered"), 0o644)
	if _, err := Install(dir, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, nodeBootstrap))
	if time.Since(fi.ModTime()) < 30*time.Minute {
		t.Error("an up-to-date bootstrap was rewritten")
	}
	want, _ := bootstraps.ReadFile("bootstrap/" + pythonBootstrap)
	if got, _ := os.ReadFile(filepath.Join(dir, pythonBootstrap)); string(got) != string(want) {
		t.Error("a changed bootstrap was not replaced")
	}
	fi, _ = os.Stat(filepath.Join(dir, pythonBootstrap))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("bootstrap mode %v", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "python"))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func writeExec(t *testing.T, path, script string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A pyenv shim is resolved to the newest X.Y.Z installation behind it, not
// run: the shim costs about 100 ms per start.
func TestPythonFoundBehindPyenvShims(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"3.12.1", "3.12.10", "3.12.2", "3.12-dev", "3.13.0t"} {
		writeExec(t, filepath.Join(root, "versions", v, "bin", "python"+v[:4]), "#!/bin/sh\n")
	}
	writeExec(t, filepath.Join(root, "shims", "python3.12"), "#!/bin/sh\nexit 1\n")
	writeExec(t, filepath.Join(root, "shims", "python3.13"), "#!/bin/sh\nexit 1\n")
	t.Setenv("PATH", filepath.Join(root, "shims"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PYENV_ROOT", "")

	if got, want := findPythonVersion("3.12"), filepath.Join(root, "versions", "3.12.10", "bin", "python3.12"); got != want {
		t.Errorf("python3.12 = %q, want %q", got, want)
	}
	// Only a free-threaded build behind the shim: not an exact match.
	if got := findPythonVersion("3.13"); got != "" && strings.HasPrefix(got, root) {
		t.Errorf("python3.13 = %q, want no pyenv match", got)
	}

	// Without shims on PATH, PYENV_ROOT is searched directly.
	t.Setenv("PATH", t.TempDir())
	t.Setenv("PYENV_ROOT", root)
	if got, want := findPythonVersion("3.12"), filepath.Join(root, "versions", "3.12.10", "bin", "python3.12"); got != want {
		t.Errorf("python3.12 via PYENV_ROOT = %q, want %q", got, want)
	}
}

// A missing version runs on the default python3 and says so.
func TestPythonFallbackWarns(t *testing.T) {
	bin := t.TempDir()
	fake := filepath.Join(bin, "python3")
	writeExec(t, fake, "#!/bin/sh\necho "+fake+"\necho 3.99\n")
	t.Setenv("PATH", bin)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PYENV_ROOT", "")

	set, err := Install(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		rt := mustRuntime(t, name)
		if rt.Family != Python {
			continue
		}
		if _, err := os.Stat("/usr/bin/python" + rt.Version); err == nil {
			continue // the machine has this version where Install also looks
		}
		py := set.python[rt.Version]
		if py.path != fake || py.version != "3.99" {
			t.Errorf("%s runs on %+v, want the default python3", name, py)
		}
		warned := slices.ContainsFunc(set.Warnings(), func(w string) bool {
			return strings.HasPrefix(w, name+": python"+rt.Version+" was not found; running it on "+fake+" (Python 3.99)")
		})
		if !warned {
			t.Errorf("no fallback warning for %s in %q", name, set.Warnings())
		}
		l, err := set.Launch(rt, "app.handler", "/var/task")
		if err != nil || l.Argv[0] != fake || l.Argv[1] != "-u" || l.Argv[3] != "app.handler" || l.Argv[4] != "/var/task" {
			t.Errorf("Launch(%s) = %+v, %v", name, l, err)
		}
	}
}

// nodeNN wins over node; a node of another major version is used with a
// warning; no node at all is an error at Launch.
func TestNodeInterpreterChoice(t *testing.T) {
	bin := t.TempDir()
	writeExec(t, filepath.Join(bin, "node"), "#!/bin/sh\necho v18.19.1\n")
	writeExec(t, filepath.Join(bin, "node20"), "#!/bin/sh\necho v20.1.0\n")
	t.Setenv("PATH", bin)
	set, err := Install(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nodejs12.x", "nodejs18.x", "nodejs20.x", "nodejs22.x"} {
		rt := mustRuntime(t, name)
		want := filepath.Join(bin, "node")
		if rt.Version == "20" {
			want = filepath.Join(bin, "node20")
		}
		l, err := set.Launch(rt, "index.handler", "/var/task")
		if err != nil || l.Argv[0] != want || l.Argv[1] != filepath.Join(set.dir, nodeBootstrap) || l.Argv[2] != "index.handler" || l.Argv[3] != "/var/task" {
			t.Errorf("Launch(%s) = %+v, %v", name, l, err)
		}
		warned := slices.ContainsFunc(set.Warnings(), func(w string) bool { return strings.HasPrefix(w, name+":") })
		if shouldWarn := rt.Version != "18" && rt.Version != "20"; warned != shouldWarn {
			t.Errorf("%s warned=%v, want %v: %q", name, warned, shouldWarn, set.Warnings())
		}
	}

	t.Setenv("PATH", t.TempDir())
	set, err = Install(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Launch(mustRuntime(t, "nodejs20.x"), "index.handler", "/var/task"); err == nil {
		t.Error("Launch without any node succeeded")
	}
}

// SDK directories are put on the load path only where they exist, and the
// Python one matching the interpreter's version.
func TestLaunchSDKPaths(t *testing.T) {
	sdk := t.TempDir()
	for _, d := range []string{"node/node_modules/@aws-sdk", "python/boto3", "python-legacy/boto3"} {
		os.MkdirAll(filepath.Join(sdk, d), 0o755)
	}
	set, err := Install(t.TempDir(), sdk)
	if err != nil {
		t.Fatal(err)
	}
	l, err := set.Launch(mustRuntime(t, "nodejs18.x"), "index.handler", "/var/task")
	if err == nil && !slices.Equal(l.Env, []string{"NODE_PATH=" + filepath.Join(sdk, "node", "node_modules")}) {
		t.Errorf("nodejs18.x env = %q", l.Env)
	}
	for _, name := range []string{"python3.8", "python3.12"} {
		rt := mustRuntime(t, name)
		py, ok := set.python[rt.Version]
		if !ok {
			continue
		}
		want := filepath.Join(sdk, "python")
		if pythonOlderThan(py.version, 3, 10) {
			want = filepath.Join(sdk, "python-legacy")
		}
		l, err := set.Launch(rt, "app.handler", "/var/task")
		if err != nil || !slices.Equal(l.Env, []string{"PYTHONPATH=" + want}) {
			t.Errorf("%s (Python %s) env = %q, %v; want PYTHONPATH=%s", name, py.version, l.Env, err, want)
		}
	}

	// Without SDKs: nothing on the path, and a warning.
	set, err = Install(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if l, err := set.Launch(mustRuntime(t, "nodejs20.x"), "index.handler", "/var/task"); err == nil && len(l.Env) != 0 {
		t.Errorf("env without SDK = %q", l.Env)
	}
	if !slices.ContainsFunc(set.Warnings(), func(w string) bool { return strings.Contains(w, "AWS SDK for JavaScript v3 is not installed") }) {
		t.Errorf("no warning about the missing SDK: %q", set.Warnings())
	}
}

func TestLaunchProvided(t *testing.T) {
	rt := mustRuntime(t, "provided.al2023")
	root := t.TempDir()
	var ee *EntrypointError

	_, err := testSet.Launch(rt, "ignored", root)
	if !errors.As(err, &ee) || ee.Message != "Couldn't find valid bootstrap(s): ["+root+"/bootstrap /opt/bootstrap]" {
		t.Errorf("missing bootstrap: %v", err)
	}
	os.WriteFile(filepath.Join(root, "bootstrap"), []byte("#!/bin/sh\n"), 0o644)
	_, err = testSet.Launch(rt, "ignored", root)
	if !errors.As(err, &ee) || ee.Message != "fork/exec "+root+"/bootstrap: permission denied" {
		t.Errorf("non-executable bootstrap: %v", err)
	}
	os.Chmod(filepath.Join(root, "bootstrap"), 0o755)
	l, err := testSet.Launch(rt, "ignored", root)
	if err != nil || !slices.Equal(l.Argv, []string{root + "/bootstrap"}) || len(l.Env) != 0 {
		t.Errorf("Launch = %+v, %v", l, err)
	}

	dirRoot := t.TempDir()
	os.Mkdir(filepath.Join(dirRoot, "bootstrap"), 0o755)
	if _, err := testSet.Launch(rt, "ignored", dirRoot); !errors.As(err, &ee) {
		t.Errorf("bootstrap directory: %v", err)
	}
}
