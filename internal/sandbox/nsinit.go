package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// initArg0 marks a re-executed copy of this binary as an environment's init:
// the manager starts /proc/self/exe under this name inside fresh namespaces,
// the package's init function below recognizes it and never returns to the
// program's main. Being keyed on argv[0] makes it work in any binary that
// links the package, test binaries included.
const initArg0 = "lambdaplane-sandbox-init"

// The file descriptors the manager hands the init (ExtraFiles 0 and 1).
const (
	initStatusFD = 3 // init -> manager: a failure report; EOF at exec means success
	initConfigFD = 4 // manager -> init: the initConfig, as JSON, then EOF
)

// Prefixes of the failure report on the status pipe.
const (
	initFailSetup = "setup"
	initFailExec  = "exec"
)

// Where the environment's code is mounted, as on Lambda.
const isolatedTaskRoot = "/var/task"

func init() {
	if len(os.Args) > 0 && os.Args[0] == initArg0 {
		// setns(CLONE_NEWNET) changes only the calling thread; the exec
		// below must happen on that same thread.
		runtime.LockOSThread()
		nsInit()
	}
}

// initConfig is what an environment's init needs to become its bootstrap.
// An init is started ahead of time (namespaces and cgroups are the slow
// part of a cold start) and waits for this on its config pipe.
type initConfig struct {
	CodeDir  string
	TmpMB    int
	Hostname string
	// NetNS is a path the init opens to join a network namespace ("": stay
	// in the host's). The manager passes /proc/PID/fd/N of a descriptor it
	// holds, which resolves whatever mounts the init's copy of the mount
	// table lacks.
	NetNS string
	// ResolvConf, when set, is the environment's /etc/resolv.conf.
	ResolvConf string
	// Shared are host directories the bootstrap needs at the same path
	// (runtime bootstraps, SDKs); those under /tmp are bound back in after
	// /tmp is replaced, read-only.
	Shared []string
	Argv   []string
	Env    []string
}

// nsInit runs as PID 1 of the environment's new pid, mount, ipc and uts
// namespaces. It waits for its configuration, builds the environment's
// filesystem view and becomes the runtime's bootstrap. It never returns.
func nsInit() {
	status := os.NewFile(initStatusFD, "status")
	fail := func(kind string, err error) {
		if errno, ok := err.(unix.Errno); ok && kind == initFailExec {
			fmt.Fprintf(status, "%s %d %v", kind, int(errno), err)
		} else {
			fmt.Fprintf(status, "%s %v", kind, err)
		}
		os.Exit(127)
	}
	// The status pipe must not leak into the bootstrap: the manager learns
	// of a successful exec from it closing.
	unix.CloseOnExec(initStatusFD)

	cf := os.NewFile(initConfigFD, "config")
	raw, err := io.ReadAll(cf)
	cf.Close()
	if err != nil || len(raw) == 0 {
		// The manager discarded this init unused.
		os.Exit(0)
	}
	var c initConfig
	if err := json.Unmarshal(raw, &c); err != nil || len(c.Argv) == 0 {
		fail(initFailSetup, fmt.Errorf("bad configuration: %v", err))
	}
	netns := -1
	if c.NetNS != "" {
		// Opened before /proc is replaced: the path may point into the
		// host's /proc.
		if netns, err = unix.Open(c.NetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			fail(initFailSetup, fmt.Errorf("opening network namespace: %w", err))
		}
	}
	if err := setupMounts(c); err != nil {
		fail(initFailSetup, err)
	}
	if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
		fail(initFailSetup, fmt.Errorf("sethostname: %w", err))
	}
	if err := unix.Chdir(isolatedTaskRoot); err != nil {
		fail(initFailSetup, fmt.Errorf("chdir: %w", err))
	}
	if netns >= 0 {
		if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
			fail(initFailSetup, fmt.Errorf("setns: %w", err))
		}
		unix.Close(netns)
	}
	err = unix.Exec(c.Argv[0], c.Argv, c.Env)
	fail(initFailExec, err)
}

// setupMounts gives the environment its own view: nothing mounted here
// propagates to the host, the code is read-only at /var/task, /tmp is a
// private tmpfs of the configured size and /proc shows only this pid
// namespace.
func setupMounts(c initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// The code is bound before /tmp is replaced: it may live under the host's /tmp.
	if err := unix.Mount(c.CodeDir, isolatedTaskRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding code at %s: %w", isolatedTaskRoot, err)
	}
	if err := unix.Mount("", isolatedTaskRoot, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", isolatedTaskRoot, err)
	}
	// Directories under /tmp that must stay visible are held open across
	// the tmpfs mount and bound back from their descriptors.
	var hidden []string
	var fds []int
	for _, dir := range c.Shared {
		if dir != "/tmp" && !strings.HasPrefix(dir, "/tmp/") {
			continue
		}
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening shared directory %s: %w", dir, err)
		}
		hidden, fds = append(hidden, dir), append(fds, fd)
	}
	opts := fmt.Sprintf("size=%dm,mode=1777", c.TmpMB)
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting /tmp: %w", err)
	}
	for i, dir := range hidden {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("shared directory %s: %w", dir, err)
		}
		src := "/proc/self/fd/" + strconv.Itoa(fds[i])
		if err := unix.Mount(src, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("binding shared directory %s: %w", dir, err)
		}
		if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", dir, err)
		}
		unix.Close(fds[i])
	}
	if c.ResolvConf != "" {
		if err := bindResolvConf(c.ResolvConf); err != nil {
			return err
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

// bindResolvConf puts content read-only over /etc/resolv.conf. It is
// written to the environment's fresh /tmp, bound, and unlinked there: the
// mount keeps the file, which exists nowhere else.
func bindResolvConf(content string) error {
	const staged, target = "/tmp/.lambdaplane-resolv.conf", "/etc/resolv.conf"
	f, err := os.OpenFile(staged, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	_, werr := f.WriteString(content)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	defer os.Remove(staged)
	if err := unix.Mount(staged, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding %s: %w", target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}
