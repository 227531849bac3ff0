package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pidsLimit caps the processes and threads one environment may run, so a fork
// bomb in a function stays inside its own environment.
const pidsLimit = 1024

// cgroupRoot is where this manager's environment cgroups live: one parent
// directory per hierarchy it uses. On cgroup v1 each controller has its own
// hierarchy; on v2 there is one.
type cgroupRoot struct {
	v2 bool
	// v1: controller name ("memory", "pids", "freezer") -> parent dir.
	// v2: "" -> parent dir.
	parents map[string]string
	// created lists the parent dirs this manager made, removed on Close.
	created []string
	// frozenSentinel is an empty v1 freezer cgroup kept frozen for the
	// manager's lifetime. The kernel turns its freezer hooks on when the
	// first cgroup freezes and off when the last thaws, patching kernel
	// text on every CPU each time; with one cgroup always frozen the
	// hooks stay on and freezing an environment is cheap.
	frozenSentinel string
}

// cgroupMounts finds the cgroup hierarchies in a mountinfo listing. A
// controller mounted as v1 wins over the v2 unified hierarchy (hybrid hosts
// mount cgroup2 without controllers next to the v1 ones).
func cgroupMounts(mountinfo io.Reader) (v1 map[string]string, v2 string, err error) {
	v1 = map[string]string{}
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		line := sc.Text()
		sep := strings.Index(line, " - ")
		if sep < 0 {
			continue
		}
		pre := strings.Fields(line[:sep])
		post := strings.Fields(line[sep+3:])
		if len(pre) < 5 || len(post) < 3 {
			continue
		}
		if pre[3] != "/" {
			// A bind mount of a sub-cgroup (as in a container) cannot host a
			// parent of our own at its root reliably; skip it.
			continue
		}
		mnt := unescapeMountinfo(pre[4])
		switch post[0] {
		case "cgroup2":
			if v2 == "" {
				v2 = mnt
			}
		case "cgroup":
			for _, opt := range strings.Split(post[2], ",") {
				switch opt {
				case "memory", "pids", "freezer":
					if _, ok := v1[opt]; !ok {
						v1[opt] = mnt
					}
				}
			}
		}
	}
	return v1, v2, sc.Err()
}

// unescapeMountinfo undoes the octal escaping mountinfo applies to spaces,
// tabs, newlines and backslashes in paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// newCgroupRoot detects the host's cgroup layout and creates the parent
// directory (named parent) for this manager's environments; with reap, it
// first clears what a dead earlier owner of the parent left there.
func newCgroupRoot(parent string, reap bool) (*cgroupRoot, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	v1, v2mnt, err := cgroupMounts(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: reading mountinfo: %w", err)
	}
	r := &cgroupRoot{parents: map[string]string{}}
	if _, ok := v1["memory"]; ok {
		for _, c := range []string{"memory", "pids", "freezer"} {
			mnt, ok := v1[c]
			if !ok {
				return nil, fmt.Errorf("sandbox: cgroup v1 controller %q is not mounted", c)
			}
			dir := filepath.Join(mnt, parent)
			if err := r.mkdirParent(dir); err != nil {
				r.remove()
				return nil, err
			}
			r.parents[c] = dir
		}
		if err := enableV1Hierarchy(r.parents["memory"]); err != nil {
			r.remove()
			return nil, err
		}
		if reap {
			r.reapLeftovers()
		}
		sentinel := filepath.Join(r.parents["freezer"], fmt.Sprintf("frozen-sentinel-%d", os.Getpid()))
		if err := os.Mkdir(sentinel, 0o755); err == nil || errors.Is(err, os.ErrExist) {
			if os.WriteFile(filepath.Join(sentinel, "freezer.state"), v1Frozen, 0) == nil {
				r.frozenSentinel = sentinel
			}
		}
		return r, nil
	}
	if v2mnt == "" {
		return nil, errors.New("sandbox: no cgroup hierarchy with a memory controller is mounted")
	}
	r.v2 = true
	if err := enableV2Controllers(v2mnt); err != nil {
		return nil, err
	}
	dir := filepath.Join(v2mnt, parent)
	if err := r.mkdirParent(dir); err != nil {
		return nil, err
	}
	r.parents[""] = dir
	if err := enableV2Controllers(dir); err != nil {
		r.remove()
		return nil, err
	}
	if reap {
		r.reapLeftovers()
	}
	return r, nil
}

// mkdirParent creates dir and its missing parents, remembering each for
// remove (deepest last).
func (r *cgroupRoot) mkdirParent(dir string) error {
	if parent := filepath.Dir(dir); parent != dir {
		if _, err := os.Stat(parent); errors.Is(err, os.ErrNotExist) {
			if err := r.mkdirParent(parent); err != nil {
				return err
			}
		}
	}
	err := os.Mkdir(dir, 0o755)
	if err == nil {
		r.created = append(r.created, dir)
		return nil
	}
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	return fmt.Errorf("sandbox: creating cgroup %s: %w", dir, err)
}

// reapLeftovers empties and removes every cgroup under the parents: with
// a parent of its own (Config.CgroupParent per data directory), whatever
// is there was left by an earlier run of this manager's server that died
// without closing, environments frozen forever included.
func (r *cgroupRoot) reapLeftovers() {
	for c, parent := range r.parents {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			switch {
			case r.v2:
				_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
				_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
			case c == "freezer":
				_ = os.WriteFile(filepath.Join(dir, "freezer.state"), v1Thawed, 0)
			}
			killProcs(filepath.Join(dir, "cgroup.procs"))
		}
	}
	for _, parent := range r.parents {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.IsDir() {
				_ = rmdirCgroup(filepath.Join(parent, e.Name()))
			}
		}
	}
}

func killProcs(procs string) {
	b, err := os.ReadFile(procs)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// remove deletes the parent directories this manager created; one still in
// use by another manager stays (rmdir fails with EBUSY).
func (r *cgroupRoot) remove() {
	if r.frozenSentinel != "" {
		_ = os.WriteFile(filepath.Join(r.frozenSentinel, "freezer.state"), v1Thawed, 0)
		_ = rmdirCgroup(r.frozenSentinel)
		r.frozenSentinel = ""
	}
	for i := len(r.created) - 1; i >= 0; i-- {
		_ = rmdirCgroup(r.created[i])
	}
	r.created = nil
}

// enableV1Hierarchy makes sure memory limits of the parent apply to the
// children (always on in recent kernels, where the file may refuse writes).
func enableV1Hierarchy(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "memory.use_hierarchy"))
	if err != nil || strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	return writeCgroupFile(dir, "memory.use_hierarchy", "1")
}

func enableV2Controllers(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	have := strings.Fields(string(b))
	var want []string
	for _, c := range []string{"memory", "pids"} {
		found := false
		for _, h := range have {
			found = found || h == c
		}
		if !found {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	return writeCgroupFile(dir, "cgroup.subtree_control", strings.Join(want, " "))
}

func writeCgroupFile(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0); err != nil {
		return fmt.Errorf("sandbox: writing %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// rmdirCgroup removes a cgroup directory, retrying briefly while the kernel
// finishes tearing down the tasks that just died in it.
func rmdirCgroup(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return err
}

// envCgroup is one environment's cgroup(s) with the control files the hot
// path touches kept open.
type envCgroup struct {
	v2   bool
	dirs []string // every directory created for this environment
	// memDir is where memory accounting lives (the v1 memory hierarchy or the v2 group).
	memDir string
	procs  []string // cgroup.procs files to place the process in
	// freeze is freezer.state (v1) or cgroup.freeze (v2), open for writing.
	freeze *os.File
	// peak reports the highest memory use so far (v1
	// memory.max_usage_in_bytes, v2 memory.peak); nil when the kernel lacks it.
	peak *os.File
}

var (
	v1Frozen = []byte("FROZEN")
	v1Thawed = []byte("THAWED")
	v2Frozen = []byte("1")
	v2Thawed = []byte("0")
)

// newEnvCgroup creates the cgroup(s) for environment id with the pids
// limit applied; the memory limit comes with the function (setMemoryLimit).
func (r *cgroupRoot) newEnvCgroup(id string) (_ *envCgroup, err error) {
	cg := &envCgroup{v2: r.v2}
	defer func() {
		if err != nil {
			cg.remove()
		}
	}()
	if r.v2 {
		dir := filepath.Join(r.parents[""], id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox: creating cgroup: %w", err)
		}
		cg.dirs = append(cg.dirs, dir)
		cg.memDir = dir
		cg.procs = []string{filepath.Join(dir, "cgroup.procs")}
		if err := writeCgroupFile(dir, "pids.max", strconv.Itoa(pidsLimit)); err != nil {
			return nil, err
		}
		if cg.freeze, err = os.OpenFile(filepath.Join(dir, "cgroup.freeze"), os.O_WRONLY, 0); err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		cg.peak, _ = os.Open(filepath.Join(dir, "memory.peak"))
		return cg, nil
	}
	for _, c := range []string{"memory", "pids", "freezer"} {
		dir := filepath.Join(r.parents[c], id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox: creating cgroup: %w", err)
		}
		cg.dirs = append(cg.dirs, dir)
		cg.procs = append(cg.procs, filepath.Join(dir, "cgroup.procs"))
		switch c {
		case "memory":
			cg.memDir = dir
			if cg.peak, err = os.Open(filepath.Join(dir, "memory.max_usage_in_bytes")); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
		case "pids":
			if err := writeCgroupFile(dir, "pids.max", strconv.Itoa(pidsLimit)); err != nil {
				return nil, err
			}
		case "freezer":
			if cg.freeze, err = os.OpenFile(filepath.Join(dir, "freezer.state"), os.O_WRONLY, 0); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
		}
	}
	return cg, nil
}

// setMemoryLimit applies the function's memory size to a cgroup that has
// none yet. Lambda has no swap: without a swap limit the kernel would page
// the function out instead of failing it at its memory size.
func (cg *envCgroup) setMemoryLimit(memoryMB int) error {
	limit := strconv.FormatInt(int64(memoryMB)<<20, 10)
	if cg.v2 {
		if err := writeCgroupFile(cg.memDir, "memory.max", limit); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(cg.memDir, "memory.swap.max")); err == nil {
			return writeCgroupFile(cg.memDir, "memory.swap.max", "0")
		}
		return nil
	}
	if err := writeCgroupFile(cg.memDir, "memory.limit_in_bytes", limit); err != nil {
		return err
	}
	// memsw (memory+swap) only exists with swap accounting and may not be
	// below the memory limit: lowered from unlimited, it goes second.
	if _, err := os.Stat(filepath.Join(cg.memDir, "memory.memsw.limit_in_bytes")); err == nil {
		return writeCgroupFile(cg.memDir, "memory.memsw.limit_in_bytes", limit)
	}
	return nil
}

// add moves a process into the environment's cgroup(s).
func (cg *envCgroup) add(pid int) error {
	s := []byte(strconv.Itoa(pid))
	for _, p := range cg.procs {
		if err := os.WriteFile(p, s, 0); err != nil {
			return fmt.Errorf("sandbox: placing pid %d in %s: %w", pid, p, err)
		}
	}
	return nil
}

// setFrozen freezes or thaws every task of the environment. The control file
// stays open so thawing, which is on the invoke path, is a single write.
func (cg *envCgroup) setFrozen(frozen bool) error {
	var b []byte
	switch {
	case cg.v2 && frozen:
		b = v2Frozen
	case cg.v2:
		b = v2Thawed
	case frozen:
		b = v1Frozen
	default:
		b = v1Thawed
	}
	_, err := cg.freeze.WriteAt(b, 0)
	return err
}

// peakBytes is the highest memory use of the environment so far, or 0 when
// the kernel does not report it.
func (cg *envCgroup) peakBytes(buf []byte) int64 {
	if cg.peak == nil {
		return 0
	}
	return readInt(cg.peak, buf)
}

// readInt reads a file holding one decimal number from offset 0.
func readInt(f *os.File, buf []byte) int64 {
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(string(bytes.TrimSpace(buf[:n])), 10, 64)
	return v
}

// oomKills is how many processes the kernel's OOM killer has killed in the
// environment (v1 memory.oom_control "oom_kill", v2 memory.events
// "oom_kill"). Read only after a process died, so it opens the file.
func (cg *envCgroup) oomKills() int64 {
	name := "memory.oom_control"
	if cg.v2 {
		name = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(cg.memDir, name))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// killAll SIGKILLs every process in the environment's cgroup(s): through
// cgroup.kill where the kernel has it (v2), else pid by pid. A frozen v1
// cgroup must be thawed first or the signals wait until it is.
func (cg *envCgroup) killAll() {
	if cg.v2 {
		if err := os.WriteFile(filepath.Join(cg.memDir, "cgroup.kill"), []byte("1"), 0); err == nil {
			return
		}
	} else {
		_ = cg.setFrozen(false)
	}
	for _, p := range cg.procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// remove closes the control files and deletes the cgroup directories. The
// environment's processes must be gone.
func (cg *envCgroup) remove() error {
	if cg.freeze != nil {
		cg.freeze.Close()
	}
	if cg.peak != nil {
		cg.peak.Close()
	}
	var first error
	for _, d := range cg.dirs {
		if err := rmdirCgroup(d); err != nil && first == nil {
			first = fmt.Errorf("sandbox: removing cgroup %s: %w", d, err)
		}
	}
	cg.dirs = nil
	return first
}
