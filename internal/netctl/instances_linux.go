package netctl

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// nsID identifies a network namespace for as long as anything is in it,
// even once its name is gone (the interface deleted under the instance).
type nsID struct{ dev, ino uint64 }

func nsOf(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// spawnSpec is what an instance's boot runs.
type spawnSpec struct {
	argv     []string
	script   []byte
	hostname string
	// resolvConf is a file to bind over /etc/resolv.conf ("" keeps the host's).
	resolvConf string
}

// identityWrapper gives the boot its hostname and resolv.conf in the UTS
// and mount namespaces of its own it is started in, then runs the script.
const identityWrapper = `mount --bind "$0" /etc/resolv.conf && hostname "$1" && shift && exec "$@"`

// spawn starts the boot inside the named namespace, in a process group of
// its own, with its script readable at scriptPath and its stdout and
// stderr going to p.out.
func spawn(netns string, sp spawnSpec) (*instanceProc, error) {
	argv, script := sp.argv, sp.script
	fd, err := unix.MemfdCreate("userdata", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netctl: memfd: %w", err)
	}
	scriptFile := os.NewFile(uintptr(fd), "userdata")
	defer scriptFile.Close()
	if _, err := scriptFile.Write(script); err != nil {
		return nil, fmt.Errorf("netctl: write user data: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	attr := &syscall.SysProcAttr{Setpgid: true}
	if sp.resolvConf != "" && sp.hostname != "" {
		// Go makes the new mount namespace's mounts private before the
		// wrapper binds, so nothing it mounts reaches the host.
		cmd = exec.Command("/bin/sh", append([]string{"-c", identityWrapper, sp.resolvConf, sp.hostname}, argv...)...)
		attr.Unshareflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS
	}
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = w, w
	cmd.ExtraFiles = []*os.File{scriptFile}
	cmd.SysProcAttr = attr
	var ns nsID
	// The child is forked from the thread Do moved into the namespace, so
	// it is born there.
	err = netplane.Do(netns, func() error {
		var err error
		if ns, err = nsOf("/proc/thread-self/ns/net"); err != nil {
			return err
		}
		return cmd.Start()
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("netctl: start %v in %s: %w", argv, netns, err)
	}
	p := &instanceProc{pid: cmd.Process.Pid, netns: ns, exited: make(chan struct{}), out: r, streamed: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// kill stops everything p started: its process group and every process
// in its namespace (daemons leave the group with setsid but not the
// namespace). They get SIGTERM, then SIGKILL once grace has passed.
func kill(p *instanceProc, grace time.Duration) {
	signal := func(sig syscall.Signal) bool {
		any := false
		if err := unix.Kill(-p.pid, sig); err == nil {
			any = true
		}
		for _, pid := range membersOf(p.netns) {
			if unix.Kill(pid, sig) == nil {
				any = true
			}
		}
		return any
	}
	if !signal(unix.SIGTERM) {
		<-p.exited
		return
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if !signal(0) {
			<-p.exited
			return
		}
	}
	signal(unix.SIGKILL)
	<-p.exited
}

// membersOf lists the processes in namespace ns, this one excepted (its
// threads enter instance namespaces to configure them).
func membersOf(ns nsID) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		// Processes that exit meanwhile fail here and are rightly skipped.
		if id, err := nsOf("/proc/" + e.Name() + "/ns/net"); err == nil && id == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killStale SIGKILLs every process in the named namespace and says how
// many there were.
func killStale(netns string) int {
	ns, err := nsOf("/run/netns/" + netns)
	if err != nil {
		return 0
	}
	pids := membersOf(ns)
	for _, pid := range pids {
		unix.Kill(pid, unix.SIGKILL)
	}
	return len(pids)
}
