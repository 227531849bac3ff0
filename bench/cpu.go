package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's CPU times; it is 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuSample is CPU time consumed so far: by the bench process itself, by a
// server, by the server's descendants (the execution environments) and by
// the whole machine, with the monotonic time it was taken at.
type cpuSample struct {
	self, server, functions, machine time.Duration
	wall                             time.Duration
}

// epoch makes wall a monotonic reading.
var epoch = time.Now()

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStat returns a process's command name, parent and user+system CPU time.
func procStat(pid string) (comm string, ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return "", 0, 0, false
	}
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(string(f[1]))
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return string(b[open+1 : end]), ppid, time.Duration(ut+st) * clockTick, true
}

// processTree is a server process and its live descendants.
type processTree struct {
	server, descendants time.Duration // CPU time
	bootstraps          []int         // PIDs of descendants named bootstrap: one per environment of a provided function
}

func walkTree(serverPID int) processTree {
	type proc struct {
		comm string
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, pp, c, ok := procStat(d.Name()); ok {
			procs[pid] = proc{comm, pp, c}
		}
	}
	t := processTree{server: procs[serverPID].cpu}
	for pid, p := range procs {
		for a := p.ppid; a > 1; a = procs[a].ppid {
			if a == serverPID {
				t.descendants += p.cpu
				if p.comm == "bootstrap" {
					t.bootstraps = append(t.bootstraps, pid)
				}
				break
			}
		}
	}
	return t
}

// environments counts the execution environments of one function: the
// bootstrap processes whose environment names it.
func environments(serverPID int, function string) int {
	want := []byte("AWS_LAMBDA_FUNCTION_NAME=" + function)
	n := 0
	for _, pid := range walkTree(serverPID).bootstraps {
		env, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		for v := range bytes.SplitSeq(env, []byte{0}) {
			if bytes.Equal(v, want) {
				n++
				break
			}
		}
	}
	return n
}

// machineCPU is the busy time of all cores together, from /proc/stat.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
	var busy int64
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(string(v), 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick
}

// sampleCPU reads the CPU times of the bench, a server and every live
// descendant of that server, and of the machine.
func sampleCPU(serverPID int) cpuSample {
	s := cpuSample{wall: time.Since(epoch), self: selfCPU(), machine: machineCPU()}
	t := walkTree(serverPID)
	s.server, s.functions = t.server, t.descendants
	return s
}

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{self: a.self - b.self, server: a.server - b.server, functions: a.functions - b.functions,
		machine: a.machine - b.machine, wall: a.wall - b.wall}
}

func (a cpuSample) add(b cpuSample) cpuSample {
	return cpuSample{self: a.self + b.self, server: a.server + b.server, functions: a.functions + b.functions,
		machine: a.machine + b.machine, wall: a.wall + b.wall}
}

// perOp divides the measured processes' CPU times by n operations.
func (a cpuSample) perOp(n int64) cpuSample {
	if n == 0 {
		return cpuSample{}
	}
	d := time.Duration(n)
	return cpuSample{self: a.self / d, server: a.server / d, functions: a.functions / d}
}

// otherShare is the share of all cores that processes other than the
// measured ones used during an interval: work that competed with the run.
func (a cpuSample) otherShare(cores int) float64 {
	if a.wall <= 0 {
		return 0
	}
	other := a.machine - a.self - a.server - a.functions
	return max(0, float64(other)/float64(a.wall*time.Duration(cores)))
}
