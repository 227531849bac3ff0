package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// execError is a failure to execute the bootstrap itself (missing, not
// executable, wrong format): on Lambda, Runtime.InvalidEntrypoint.
type execError struct {
	argv0 string
	errno syscall.Errno
}

func (e *execError) Error() string { return "fork/exec " + e.argv0 + ": " + e.errno.Error() }

// startPlain starts the bootstrap as a plain process in its own process
// group, writing to output.
func startPlain(argv, env []string, dir string, output *os.File) (*exec.Cmd, error) {
	cmd := &exec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Env:    env,
		Dir:    dir,
		Stdout: output,
		Stderr: output,
		// Its own group, so Close can kill what it forked; dying with the
		// server so no function outlives it.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nil, &execError{argv0: argv[0], errno: errno}
		}
		return nil, err
	}
	return cmd, nil
}

// initProc is an isolated environment's init, started ahead of need: it
// already runs in its own namespaces and cgroups and waits for its
// configuration. Creating namespaces and, above all, moving a process into
// cgroups (an RCU grace period on cgroup v1) are most of an isolated cold
// start, so the manager keeps a few of these ready.
type initProc struct {
	id     string
	cmd    *exec.Cmd
	cg     *envCgroup
	config *os.File // write end of the config pipe
	status *os.File // read end of the status pipe
	output *os.File // read end of the pipe the environment's stdout and stderr go to
}

// spawnInit starts an init in new pid, mount, ipc and uts namespaces and
// places it in fresh cgroups.
func (r *cgroupRoot) spawnInit() (_ *initProc, err error) {
	p := &initProc{id: newID()}
	var closeAfterStart []*os.File
	defer func() {
		for _, f := range closeAfterStart {
			f.Close()
		}
		if err != nil {
			p.discard()
		}
	}()
	if p.cg, err = r.newEnvCgroup(p.id); err != nil {
		return nil, err
	}
	var statusW, configR, outputW *os.File
	if p.status, statusW, err = os.Pipe(); err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, statusW)
	if configR, p.config, err = os.Pipe(); err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, configR)
	if p.output, outputW, err = os.Pipe(); err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, outputW)
	p.cmd = &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initArg0},
		Env:        []string{},
		Stdout:     outputW,
		Stderr:     outputW,
		ExtraFiles: []*os.File{statusW, configR}, // initStatusFD, initConfigFD
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	if err := p.cmd.Start(); err != nil {
		p.cmd = nil
		return nil, fmt.Errorf("sandbox: starting init: %w", err)
	}
	if err := p.cg.add(p.cmd.Process.Pid); err != nil {
		return nil, err
	}
	return p, nil
}

// launch hands the init its configuration and waits until it has become
// the bootstrap (nil), failed to execute it (*execError) or failed to set
// the environment up.
func (p *initProc) launch(c initConfig) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = p.config.Write(b)
	p.config.Close()
	p.config = nil
	if err != nil {
		return fmt.Errorf("sandbox: configuring init: %w", err)
	}
	msg, _ := io.ReadAll(p.status)
	p.status.Close()
	p.status = nil
	if len(msg) == 0 {
		return nil
	}
	return parseInitFailure(c.Argv[0], msg)
}

// discard kills an init that will not be used and releases what it holds.
func (p *initProc) discard() {
	for _, f := range []*os.File{p.config, p.status, p.output} {
		if f != nil {
			f.Close()
		}
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	if p.cg != nil {
		_ = p.cg.remove()
	}
}

// parseInitFailure turns the init's status report back into an error.
func parseInitFailure(argv0 string, msg []byte) error {
	kind, rest, _ := bytes.Cut(msg, []byte{' '})
	if string(kind) == initFailExec {
		num, _, _ := strings.Cut(string(rest), " ")
		if n, err := strconv.Atoi(num); err == nil {
			return &execError{argv0: argv0, errno: syscall.Errno(n)}
		}
	}
	return fmt.Errorf("sandbox: preparing environment: %s", rest)
}

// memPeakFromStatus reads VmHWM (the peak resident set) from an open
// /proc/PID/status, in bytes.
func memPeakFromStatus(f *os.File, buf []byte) int64 {
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return 0
	}
	b := buf[:n]
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	b = b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	fields := bytes.Fields(b)
	if len(fields) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(string(fields[0]), 10, 64)
	return kb << 10
}
