package runtimes

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

//go:embed bootstrap/nodejs/bootstrap.js bootstrap/python/bootstrap.py
var bootstraps embed.FS

// Where Install puts the bootstraps, relative to its dir.
const (
	nodeBootstrap   = "nodejs/bootstrap.js"
	pythonBootstrap = "python/bootstrap.py"
)

// Layout of the SDK directory that scripts/install-sdks.sh fills.
const (
	sdkNodeModules  = "node/node_modules"
	sdkPython       = "python"
	sdkPythonLegacy = "python-legacy"
)

// DefaultSDKDir is where lambdaplane looks for the AWS SDKs it puts on
// functions' load paths: $LAMBDAPLANE_SDK_DIR, else
// $HOME/.cache/lambdaplane/sdk (where scripts/install-sdks.sh is run to).
func DefaultSDKDir() string {
	if dir := os.Getenv("LAMBDAPLANE_SDK_DIR"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "lambdaplane-sdk")
	}
	return filepath.Join(home, ".cache", "lambdaplane", "sdk")
}

// Set is the installed bootstraps and the interpreters found for each
// runtime. It is read-only after Install and safe for concurrent use.
type Set struct {
	dir    string
	sdkDir string
	// node and python map Runtime.Version to the interpreter that runs it.
	node   map[string]string
	python map[string]interpreter
	// pythonSDK is the PYTHONPATH entry for interpreters by language version
	// ("3.8"), chosen for what the SDK copy there can run on.
	pythonSDK map[string]string
	nodeSDK   string
	warnings  []string
}

type interpreter struct {
	path    string
	version string // the interpreter's own X.Y, which may differ from the runtime's
}

// Install writes the embedded bootstraps under dir and finds the
// interpreters for every runtime in the catalogue, once. sdkDir holds the
// AWS SDKs (see scripts/install-sdks.sh); missing SDKs and interpreters are
// warnings, not errors, so runtimes that can run still do.
func Install(dir, sdkDir string) (*Set, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if sdkDir, err = filepath.Abs(sdkDir); err != nil {
		return nil, err
	}
	for _, name := range []string{nodeBootstrap, pythonBootstrap} {
		content, err := bootstraps.ReadFile("bootstrap/" + name)
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(filepath.Join(dir, name), content); err != nil {
			return nil, fmt.Errorf("install bootstrap: %w", err)
		}
	}
	s := &Set{
		dir:       dir,
		sdkDir:    sdkDir,
		node:      map[string]string{},
		python:    map[string]interpreter{},
		pythonSDK: map[string]string{},
	}
	s.findNode()
	s.findPython()
	s.findSDKs()
	return s, nil
}

// Warnings describes what Install could not provide exactly: a missing
// interpreter replaced by another version, a missing SDK.
func (s *Set) Warnings() []string {
	return append([]string(nil), s.warnings...)
}

func (s *Set) warnf(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// Launch returns how to start rt's bootstrap for a function whose handler
// is handler and whose code is at taskRoot. taskRoot must name the code in
// both the caller's filesystem view and the one the process will run in.
func (s *Set) Launch(rt Runtime, handler, taskRoot string) (Launch, error) {
	switch rt.Family {
	case NodeJS:
		node, ok := s.node[rt.Version]
		if !ok {
			return Launch{}, fmt.Errorf("%s: no Node.js interpreter found (install node%s or node on PATH)", rt.Name, rt.Version)
		}
		l := Launch{Argv: []string{node, filepath.Join(s.dir, nodeBootstrap), handler, taskRoot}}
		if s.nodeSDK != "" && nodeHasSDK(rt.Version) {
			l.Env = append(l.Env, "NODE_PATH="+s.nodeSDK)
		}
		return l, nil
	case Python:
		py, ok := s.python[rt.Version]
		if !ok {
			return Launch{}, fmt.Errorf("%s: no Python interpreter found (install python%s or python3)", rt.Name, rt.Version)
		}
		l := Launch{Argv: []string{py.path, "-u", filepath.Join(s.dir, pythonBootstrap), handler, taskRoot}}
		if sdk := s.pythonSDK[py.version]; sdk != "" {
			l.Env = append(l.Env, "PYTHONPATH="+sdk)
		}
		return l, nil
	case Provided:
		boot := filepath.Join(taskRoot, "bootstrap")
		if err := checkExecutable(boot); err != nil {
			return Launch{}, err
		}
		return Launch{Argv: []string{boot}}, nil
	}
	return Launch{}, fmt.Errorf("runtime %q has no launcher", rt.Name)
}

// InvalidEntrypointType is the errorType Lambda reports when a custom
// runtime's bootstrap cannot be started.
const InvalidEntrypointType = "Runtime.InvalidEntrypoint"

// EntrypointError is returned by Launch when a provided* function has no
// usable bootstrap. Message is Lambda's text; the caller reports it as
// errorType InvalidEntrypointType with errorMessage
// "RequestId: <id> Error: <Message>".
type EntrypointError struct {
	Message string
}

func (e *EntrypointError) Error() string { return e.Message }

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && fi.IsDir()):
		// Lambda also looks for a bootstrap in /opt (layers); lambdaplane
		// has no layers, but the message names both places as Lambda's does.
		return &EntrypointError{Message: fmt.Sprintf("Couldn't find valid bootstrap(s): [%s /opt/bootstrap]", path)}
	case err != nil:
		return &EntrypointError{Message: err.Error()}
	case fi.Mode().Perm()&0o111 == 0:
		return &EntrypointError{Message: fmt.Sprintf("fork/exec %s: permission denied", path)}
	}
	return nil
}

// nodeHasSDK reports whether Lambda's image for this Node.js version ships
// the AWS SDK for JavaScript v3 (nodejs18.x and later; older images had v2,
// which lambdaplane does not provide).
func nodeHasSDK(version string) bool {
	major, err := strconv.Atoi(version)
	return err == nil && major >= 18
}

// findNode picks, for every nodejs runtime, nodeNN when it is on PATH and
// the plain node otherwise.
func (s *Set) findNode() {
	fallback, fallbackErr := lookPathAbs("node")
	versions := map[string]string{} // interpreter path → its major version
	for _, rt := range catalog {
		if rt.Family != NodeJS {
			continue
		}
		if p, err := lookPathAbs("node" + rt.Version); err == nil {
			s.node[rt.Version] = p
			continue
		}
		if fallbackErr != nil {
			s.warnf("%s: neither node%s nor node is on PATH; functions with this runtime cannot start", rt.Name, rt.Version)
			continue
		}
		s.node[rt.Version] = fallback
		major, ok := versions[fallback]
		if !ok {
			major = nodeMajor(fallback)
			versions[fallback] = major
		}
		if major != rt.Version {
			s.warnf("%s: node%s is not on PATH; running it on %s (Node.js %s)", rt.Name, rt.Version, fallback, major)
		}
	}
}

func nodeMajor(node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "unknown"
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _, _ := strings.Cut(v, ".")
	return major
}

// findPython picks, for every python runtime, an interpreter of exactly that
// version: pythonX.Y on PATH (a pyenv shim is resolved to the binary behind
// it, since the shim costs ~100 ms per start), then a pyenv installation,
// then /usr/bin and /usr/local/bin. If none exists it falls back to the
// default python3 and records a warning.
func (s *Set) findPython() {
	var def *interpreter
	defDone := false
	for _, rt := range catalog {
		if rt.Family != Python {
			continue
		}
		if p := findPythonVersion(rt.Version); p != "" {
			s.python[rt.Version] = interpreter{path: p, version: rt.Version}
			continue
		}
		if !defDone {
			def, defDone = defaultPython(), true
		}
		if def == nil {
			s.warnf("%s: neither python%s nor python3 was found; functions with this runtime cannot start", rt.Name, rt.Version)
			continue
		}
		s.python[rt.Version] = *def
		s.warnf("%s: python%s was not found; running it on %s (Python %s)", rt.Name, rt.Version, def.path, def.version)
	}
}

func findPythonVersion(version string) string {
	name := "python" + version
	if p, err := lookPathAbs(name); err == nil {
		if root, ok := pyenvShimRoot(p); ok {
			if real := pyenvVersion(root, version); real != "" {
				return real
			}
		} else {
			return p
		}
	}
	for _, root := range pyenvRoots() {
		if real := pyenvVersion(root, version); real != "" {
			return real
		}
	}
	for _, dir := range []string{"/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if isExecutableFile(p) {
			return p
		}
	}
	return ""
}

// pyenvShimRoot reports whether p is a pyenv shim (ROOT/shims/NAME) and
// returns ROOT.
func pyenvShimRoot(p string) (string, bool) {
	dir := filepath.Dir(p)
	if filepath.Base(dir) != "shims" {
		return "", false
	}
	root := filepath.Dir(dir)
	fi, err := os.Stat(filepath.Join(root, "versions"))
	return root, err == nil && fi.IsDir()
}

func pyenvRoots() []string {
	var roots []string
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		roots = append(roots, r)
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".pyenv"))
	}
	return roots
}

// pyenvVersion returns the interpreter of the newest installed patch
// release of version (3.12 → ROOT/versions/3.12.7/bin/python3.12), ignoring
// builds such as 3.13.0t or 3.12-dev whose names are not X.Y.Z.
func pyenvVersion(root, version string) string {
	entries, err := os.ReadDir(filepath.Join(root, "versions"))
	if err != nil {
		return ""
	}
	patchRE := regexp.MustCompile(`^` + regexp.QuoteMeta(version) + `\.(\d+)$`)
	best, bestPatch := "", -1
	for _, e := range entries {
		m := patchRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		patch, _ := strconv.Atoi(m[1])
		bin := filepath.Join(root, "versions", e.Name(), "bin", "python"+version)
		if patch > bestPatch && isExecutableFile(bin) {
			best, bestPatch = bin, patch
		}
	}
	return best
}

// defaultPython asks python3 for its real executable and version; asking
// the interpreter sees through pyenv shims and distribution symlinks alike.
func defaultPython() *interpreter {
	p, err := lookPathAbs("python3")
	if err != nil {
		return nil
	}
	out, err := exec.Command(p, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		return nil
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 || !filepath.IsAbs(lines[0]) {
		return nil
	}
	return &interpreter{path: lines[0], version: lines[1]}
}

// findSDKs records which SDK copies exist. The Python SDK comes in two
// copies: the current boto3 for Python 3.10 and later, and an older one
// that still runs on 3.8 and 3.9 (current botocore and urllib3 no longer
// import there).
func (s *Set) findSDKs() {
	nodeModules := filepath.Join(s.sdkDir, sdkNodeModules)
	if isDir(filepath.Join(nodeModules, "@aws-sdk")) {
		s.nodeSDK = nodeModules
	} else {
		s.warnf("AWS SDK for JavaScript v3 is not installed in %s (run scripts/install-sdks.sh %s); nodejs18.x and later functions cannot import it without bundling", nodeModules, s.sdkDir)
	}
	current := filepath.Join(s.sdkDir, sdkPython)
	legacy := filepath.Join(s.sdkDir, sdkPythonLegacy)
	hasCurrent := isDir(filepath.Join(current, "boto3"))
	hasLegacy := isDir(filepath.Join(legacy, "boto3"))
	seen := map[string]bool{}
	for _, rt := range catalog {
		py, ok := s.python[rt.Version]
		if rt.Family != Python || !ok || seen[py.version] {
			continue
		}
		seen[py.version] = true
		switch {
		case pythonOlderThan(py.version, 3, 10) && hasLegacy:
			s.pythonSDK[py.version] = legacy
		case pythonOlderThan(py.version, 3, 10):
			s.warnf("boto3 for Python %s is not installed in %s (run scripts/install-sdks.sh %s)", py.version, legacy, s.sdkDir)
		case hasCurrent:
			s.pythonSDK[py.version] = current
		default:
			s.warnf("boto3 for Python %s is not installed in %s (run scripts/install-sdks.sh %s)", py.version, current, s.sdkDir)
		}
	}
}

func pythonOlderThan(version string, major, minor int) bool {
	maj, min, ok := strings.Cut(version, ".")
	if !ok {
		return false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil {
		return false
	}
	return a < major || (a == major && b < minor)
}

func lookPathAbs(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// writeAtomic replaces path with content unless it already has exactly
// that content, through a temporary file and a rename so that a process
// starting concurrently never reads a half-written bootstrap.
func writeAtomic(path string, content []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
