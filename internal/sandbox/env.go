package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// rtState is the runtime's state as the Runtime API tracks it; the names are
// the ones Lambda's error messages use. A runtime is Started, InitError,
// Ready or RuntimeResponseSentState; InvocationResponse and
// InvocationErrorResponse only appear as the refused target of a post (a
// whole post is read before the state changes, straight to
// RuntimeResponseSentState).
type rtState int

const (
	stStarted rtState = iota
	stInitError
	stReady
	stInvocationResponse
	stInvocationErrorResponse
	stResponseSent
)

func (s rtState) String() string {
	switch s {
	case stStarted:
		return "Started"
	case stInitError:
		return "InitError"
	case stReady:
		return "Ready"
	case stInvocationResponse:
		return "InvocationResponse"
	case stInvocationErrorResponse:
		return "InvocationErrorResponse"
	default:
		return "RuntimeResponseSentState"
	}
}

// callState tracks one invocation's handover to the runtime.
type callState int

const (
	callPending   callState = iota // waiting for the runtime's /next
	callDelivered                  // the runtime has it
	callWithdrawn                  // given up before delivery
)

type outcomeKind int

const (
	outResponse outcomeKind = iota
	outError
	outTooLarge
)

// outcome is what the runtime posted for an invocation.
type outcome struct {
	kind    outcomeKind
	payload []byte
	size    int64 // of an oversized response
}

// call is one invocation in flight.
type call struct {
	inv      Invocation
	deadline time.Time
	begun    time.Time // Invoke was called
	log      *tail     // nil unless the caller wants the log
	sinkOn   bool      // a LogSink takes every line
	done     chan outcome

	// Guarded by env.mu.
	state   callState
	started time.Time // delivered to the runtime
}

// logged says whether anyone reads this invocation's log lines.
func (c *call) logged() bool { return c.log != nil || c.sinkOn }

// postedInitError is what the runtime sent to /init/error.
type postedInitError struct {
	errorType string
	body      []byte
}

// env is one execution environment.
type env struct {
	m    *Manager
	id   string
	spec *Spec

	// Set up by start, read-only afterwards.
	api        *rapiServer
	lc         *logCapture
	cg         *envCgroup
	cmd        *exec.Cmd
	pid        int
	statusFile *os.File // /proc/PID/status, for peak memory without cgroups
	scratch    string
	spawned    time.Time

	initTail     *tail // the init phase's log, continued by the first invocation's
	initDuration time.Duration

	ready      chan struct{} // first /next
	initFailed chan struct{} // /init/error posted
	exited     chan struct{} // process reaped; exitState set
	exitState  *os.ProcessState
	closed     chan struct{}
	closeOnce  sync.Once
	closeErr   error

	mu      sync.Mutex
	state   rtState
	cur     *call // the invocation pending or running
	pending chan *call
	frozen  bool
	parked  int // /next requests waiting for work
	// freezer freezes the environment once its runtime has waited for work
	// for freezeGrace: back-to-back invocations then cost no freeze and no
	// thaw, and an idle environment is still frozen almost at once.
	freezer *time.Timer
	failed  bool
	posted  *postedInitError

	// Used only by Invoke, which runs one at a time.
	busy        atomic.Bool
	invocations int
	timer       *time.Timer
	memBuf      []byte
	memReadAt   time.Time
	memPeak     int64
}

func newEnv(m *Manager, spec *Spec) *env {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &env{
		m:          m,
		id:         newID(),
		spec:       spec,
		initTail:   newTail(),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		exited:     make(chan struct{}),
		closed:     make(chan struct{}),
		pending:    make(chan *call, 1),
		timer:      t,
		memBuf:     make([]byte, 4096),
	}
}

func (e *env) ID() string { return e.id }

// freezeGrace is how long a runtime waits for work before its environment is
// frozen.
const freezeGrace = 10 * time.Millisecond

// scheduleFreeze arms the freeze of a parked environment. Callers hold e.mu.
func (e *env) scheduleFreeze() {
	if e.cg == nil {
		return
	}
	if e.freezer == nil {
		e.freezer = time.AfterFunc(freezeGrace, e.freezeIfIdle)
		return
	}
	e.freezer.Reset(freezeGrace)
}

// freezeIfIdle freezes the environment if its runtime is still waiting and
// no invocation has arrived. Never once the environment is failing or
// closing: its kill thaws it first, and a freeze after that would hold the
// SIGKILL back.
func (e *env) freezeIfIdle() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.parked > 0 && e.cur == nil && !e.frozen && !e.failed && !e.isClosed() && e.cg.setFrozen(true) == nil {
		e.frozen = true
	}
}

func (e *env) isClosed() bool {
	select {
	case <-e.closed:
		return true
	default:
		return false
	}
}

// start brings the environment up to the end of its init phase.
func (e *env) start(ctx context.Context) error {
	m := e.m
	ln, apiAddr, err := m.listen(e.spec)
	if err != nil {
		return err
	}
	e.api = newRAPIServer(e, ln)

	taskRoot := e.spec.CodeDir
	if m.cfg.Isolate {
		taskRoot = isolatedTaskRoot
	}
	argv, launchEnv, err := m.cfg.Launcher(e.spec, taskRoot)
	if err != nil {
		return fmt.Errorf("sandbox: launching %s: %w", e.spec.Runtime, err)
	}
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return fmt.Errorf("sandbox: launcher for %s returned no absolute command", e.spec.Runtime)
	}
	var tmpDir string
	if !m.cfg.Isolate {
		e.scratch = m.scratchDir(e.id)
		tmpDir = filepath.Join(e.scratch, "tmp")
		if err := os.MkdirAll(tmpDir, 0o700); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	environ := buildEnviron(envInputs{spec: e.spec, taskRoot: taskRoot, apiAddr: apiAddr, launcher: launchEnv, tmpDir: tmpDir})
	if m.cfg.Isolate {
		err = e.launchIsolated(argv, environ)
	} else {
		err = e.launchPlain(argv, environ)
	}
	if err != nil {
		var ee *execError
		if errors.As(err, &ee) {
			return e.initFailure(errTypeInvalidEntrypoint, e.entrypointDetail(ee), nil, "error")
		}
		return err
	}
	e.statusFile, _ = os.Open("/proc/" + strconv.Itoa(e.pid) + "/status")
	return e.awaitInit(ctx)
}

// captureOutput starts reading the environment's output pipe.
func (e *env) captureOutput(r *os.File) error {
	var sink func([]byte)
	if s := e.m.cfg.LogSink; s != nil {
		sink = func(line []byte) { s(e.spec, line) }
	}
	lc, err := newLogCapture(r, sink)
	if err != nil {
		r.Close()
		return fmt.Errorf("sandbox: %w", err)
	}
	e.lc = lc
	lc.cur = e.initTail
	go lc.run()
	return nil
}

func (e *env) launchPlain(argv, environ []string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := e.captureOutput(r); err != nil {
		w.Close()
		return err
	}
	e.spawned = time.Now()
	cmd, err := startPlain(argv, environ, e.spec.CodeDir, w)
	w.Close()
	if err != nil {
		return err
	}
	e.cmd, e.pid = cmd, cmd.Process.Pid
	go e.wait()
	return nil
}

// launchIsolated takes a waiting init (see initProc), gives it the
// function's memory limit and configuration, and lets it exec the bootstrap.
func (e *env) launchIsolated(argv, environ []string) error {
	p, err := e.m.takeInit()
	if err != nil {
		return err
	}
	// The environment owns the init from here on; Close releases it.
	e.id, e.cg, e.cmd, e.pid = p.id, p.cg, p.cmd, p.cmd.Process.Pid
	go e.wait()
	defer func() {
		if p.config != nil {
			p.config.Close()
		}
		if p.status != nil {
			p.status.Close()
		}
	}()
	if err := e.captureOutput(p.output); err != nil {
		return err
	}
	if err := e.cg.setMemoryLimit(e.spec.MemoryMB); err != nil {
		return err
	}
	c := initConfig{CodeDir: e.spec.CodeDir, TmpMB: e.spec.EphemeralMB, Hostname: e.id, Shared: e.m.cfg.SharedPaths, Argv: argv, Env: environ}
	if e.spec.NetNS != "" {
		f, err := os.Open(e.spec.NetNS)
		if err != nil {
			return fmt.Errorf("sandbox: network namespace: %w", err)
		}
		defer f.Close()
		c.NetNS = "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.FormatUint(uint64(f.Fd()), 10)
		c.ResolvConf = resolvConf(e.spec.Nameservers)
	}
	e.spawned = time.Now()
	return p.launch(c)
}

// entrypointDetail words a failure to execute the bootstrap as Lambda does.
func (e *env) entrypointDetail(ee *execError) string {
	if ee.errno == syscall.ENOENT && strings.HasPrefix(e.spec.Runtime, "provided") {
		return "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
	}
	return ee.Error()
}

func (e *env) wait() {
	_ = e.cmd.Wait()
	e.exitState = e.cmd.ProcessState
	close(e.exited)
}

func (e *env) awaitInit(ctx context.Context) error {
	timer := time.NewTimer(e.m.cfg.InitTimeout)
	defer timer.Stop()
	select {
	case <-e.ready:
		e.initDuration = time.Since(e.spawned)
		return nil
	case <-e.initFailed:
		return e.postedInitFailure()
	case <-e.exited:
		e.mu.Lock()
		posted := e.posted != nil
		e.mu.Unlock()
		if posted {
			return e.postedInitFailure()
		}
		return e.initFailure(e.exitErrorType(), exitDetail(e.exitState), nil, "error")
	case <-timer.C:
		return e.initFailure(errTypeTimedOut, timedOutMessage(e.m.cfg.InitTimeout), nil, "timeout")
	case <-e.m.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *env) postedInitFailure() error {
	e.mu.Lock()
	p := e.posted
	e.mu.Unlock()
	return e.initFailure(p.errorType, "", p.body, "error")
}

// initFailure ends a failed init phase: it stops the process, logs
// INIT_REPORT and describes the failure for the caller.
func (e *env) initFailure(errorType, detail string, payload []byte, status string) *InitError {
	d := time.Since(e.spawned)
	maxMB := e.maxMemoryMB()
	e.markFailed()
	e.kill()
	reportType := errorType
	if status == "timeout" {
		reportType = ""
	}
	e.lc.finish(initReportLine(d, status, reportType))
	msg := detail
	if payload != nil {
		msg = string(payload)
		if len(msg) > 512 {
			msg = msg[:512]
		}
	}
	e.m.log.Info("sandbox: init failed", "env", e.id, "function", e.spec.FunctionName, "errorType", errorType, "message", msg)
	return &InitError{
		ErrorType:      errorType,
		Message:        msg,
		Log:            e.initTail.bytes(),
		InitDuration:   d,
		runtimePayload: payload,
		detail:         detail,
		spec:           e.spec,
		sink:           e.m.cfg.LogSink,
		maxMB:          maxMB,
	}
}

// exitErrorType tells an out-of-memory kill from any other exit.
func (e *env) exitErrorType() string {
	if e.cg != nil && e.cg.oomKills() > 0 {
		return errTypeOutOfMemory
	}
	return errTypeExit
}

func exitDetail(ps *os.ProcessState) string {
	if ps.Success() {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + ps.String()
}

func (e *env) markFailed() {
	e.mu.Lock()
	e.failed = true
	e.cur = nil
	e.mu.Unlock()
}

// Invoke hands inv to the runtime and waits for its answer, its deadline,
// or its death.
func (e *env) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	if !e.busy.CompareAndSwap(false, true) {
		return Result{}, ErrBusy
	}
	defer e.busy.Store(false)

	now := time.Now()
	c := &call{inv: inv, deadline: inv.Deadline, begun: now, sinkOn: e.m.cfg.LogSink != nil, done: make(chan outcome, 1)}
	if c.deadline.IsZero() {
		c.deadline = now.Add(e.spec.Timeout)
	}
	first := e.invocations == 0
	if inv.WantLog {
		if first {
			c.log = e.initTail
		} else {
			c.log = newTail()
		}
	}

	e.mu.Lock()
	if e.failed || e.isClosed() {
		e.mu.Unlock()
		return Result{}, ErrClosed
	}
	select {
	case <-e.exited:
		e.failed = true
		e.mu.Unlock()
		e.kill()
		return Result{}, ErrExited
	default:
	}
	e.invocations++
	e.cur = c
	e.pending <- c
	if e.frozen {
		if err := e.cg.setFrozen(false); err != nil {
			e.mu.Unlock()
			return Result{}, fmt.Errorf("sandbox: thawing %s: %w", e.id, err)
		}
		e.frozen = false
	}
	e.mu.Unlock()

	e.timer.Reset(time.Until(c.deadline))
	ctxDone := ctx.Done()
	for {
		select {
		case o := <-c.done:
			e.timer.Stop()
			return e.complete(c, o, first), nil
		case <-e.timer.C:
			return e.fail(c, first, true)
		case <-e.exited:
			e.timer.Stop()
			if e.isClosed() {
				return Result{}, ErrClosed
			}
			select {
			case o := <-c.done:
				// The runtime answered and then exited: the answer stands,
				// and the next Invoke reports the exit.
				return e.complete(c, o, first), nil
			default:
			}
			return e.fail(c, first, false)
		case <-e.closed:
			e.timer.Stop()
			return Result{}, ErrClosed
		case <-ctxDone:
			e.mu.Lock()
			if c.state == callPending {
				c.state = callWithdrawn
				e.cur = nil
				select {
				case <-e.pending:
				default:
				}
				e.invocations--
				if e.parked > 0 {
					e.scheduleFreeze()
				}
				e.mu.Unlock()
				e.timer.Stop()
				return Result{}, ctx.Err()
			}
			e.mu.Unlock()
			// Delivered: like Lambda, the invocation runs to its end
			// whether or not anyone still waits for it.
			ctxDone = nil
		}
	}
}

// complete builds the Result of an invocation the runtime answered.
func (e *env) complete(c *call, o outcome, first bool) Result {
	end := time.Now()
	e.mu.Lock()
	started := c.started
	e.mu.Unlock()
	dur := end.Sub(started)
	r := Result{Duration: dur}
	switch o.kind {
	case outResponse:
		r.Payload = o.payload
	case outError:
		r.Payload = o.payload
		r.FunctionError = "Unhandled"
	case outTooLarge:
		r.Payload = errorPayload(errTypeResponseTooLarge, responseTooLargeMessage(o.size))
		r.FunctionError = "Unhandled"
	}
	if first {
		r.InitDuration = e.initDuration
	}
	if !c.logged() {
		// Nobody reads this invocation's log: the END and REPORT lines and
		// the memory reading they need are skipped on the hot path.
		return r
	}
	r.MaxMemoryMB = e.maxMemoryMB()
	rep := report{reqID: c.inv.RequestID, duration: dur, memoryMB: e.spec.MemoryMB, maxUsedMB: r.MaxMemoryMB, init: r.InitDuration}
	e.lc.finish(endLine(c.inv.RequestID), rep.line())
	if c.log != nil {
		r.Log = c.log.bytes()
	}
	return r
}

// fail ends an invocation the environment did not survive: its timeout
// passed, or the runtime exited. The environment is killed.
func (e *env) fail(c *call, first, timedOut bool) (Result, error) {
	now := time.Now()
	maxMB := e.maxMemoryMB()
	e.mu.Lock()
	delivered := c.state == callDelivered
	if c.state == callPending {
		c.state = callWithdrawn
	}
	started := c.started
	e.failed = true
	e.cur = nil
	e.mu.Unlock()
	e.kill()

	reqID := c.inv.RequestID
	if !delivered {
		if !timedOut {
			// The runtime died before it took the invocation: nothing ran.
			return Result{}, ErrExited
		}
		started = c.begun
		e.lc.switchTo(c.log, startLine(reqID, e.spec.Version))
	}
	var errorType, msg string
	rep := report{reqID: reqID, duration: now.Sub(started), memoryMB: e.spec.MemoryMB, maxUsedMB: maxMB}
	var lines [][]byte
	if timedOut {
		errorType = errTypeTimedOut
		msg = requestError(reqID, timedOutMessage(e.spec.Timeout))
		rep.status = "timeout"
		lines = append(lines, timeoutLine(now, reqID, e.spec.Timeout))
	} else {
		errorType = e.exitErrorType()
		msg = requestError(reqID, exitDetail(e.exitState))
		rep.status, rep.errorType = "error", errorType
		lines = append(lines, []byte(msg), []byte(errorType))
	}
	r := Result{
		Payload:       errorPayload(errorType, msg),
		FunctionError: "Unhandled",
		Duration:      rep.duration,
		MaxMemoryMB:   maxMB,
		EnvFailed:     true,
	}
	if first {
		rep.init = e.initDuration
		r.InitDuration = e.initDuration
	}
	lines = append(lines, endLine(reqID), rep.line())
	e.lc.finish(lines...)
	if c.log != nil {
		r.Log = c.log.bytes()
	}
	return r, nil
}

// statusReadInterval bounds how often a plain environment's peak memory is
// read from /proc/PID/status: the kernel formats the whole file for it,
// which costs more than the rest of a warm invocation on our side. The
// figure is a high-water mark, so a cached one is at worst a little low.
const statusReadInterval = 100 * time.Millisecond

// maxMemoryMB is the environment's peak memory use so far.
func (e *env) maxMemoryMB() int {
	var b int64
	if e.cg != nil {
		b = e.cg.peakBytes(e.memBuf)
	}
	if b == 0 && e.statusFile != nil {
		if now := time.Now(); now.Sub(e.memReadAt) >= statusReadInterval {
			e.memReadAt = now
			e.memPeak = max(e.memPeak, memPeakFromStatus(e.statusFile, e.memBuf))
		}
		b = e.memPeak
	}
	// The kernel may overshoot a limit by a few pages before it reclaims
	// or kills; Lambda never reports more than the memory size.
	return min(bytesToMB(b), e.spec.MemoryMB)
}

// kill SIGKILLs the whole process tree: every task in the cgroups (which
// includes PID 1 of the environment's pid namespace, whose death takes the
// namespace with it), or the process group of a plain environment.
func (e *env) kill() {
	if e.cmd == nil {
		return
	}
	if e.cg != nil {
		e.cg.killAll()
		_ = e.cmd.Process.Signal(syscall.SIGKILL)
		return
	}
	// The group keeps its id while any member lives, even after the
	// leader was reaped.
	_ = syscall.Kill(-e.pid, syscall.SIGKILL)
}

// Close kills the environment and releases everything it holds.
func (e *env) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		e.mu.Lock()
		e.failed = true
		e.mu.Unlock()
		e.kill()
		if e.cmd != nil {
			select {
			case <-e.exited:
			case <-time.After(10 * time.Second):
				e.closeErr = fmt.Errorf("sandbox: environment %s did not exit", e.id)
			}
		}
		if e.api != nil {
			e.api.close()
		}
		if e.lc != nil {
			e.lc.close()
		}
		if e.statusFile != nil {
			e.statusFile.Close()
		}
		if e.cg != nil {
			if err := e.cg.remove(); err != nil && e.closeErr == nil {
				e.closeErr = err
			}
		}
		if e.scratch != "" {
			if err := os.RemoveAll(e.scratch); err != nil && e.closeErr == nil {
				e.closeErr = err
			}
		}
		e.m.forget(e)
	})
	return e.closeErr
}

// resolvConf is an environment's /etc/resolv.conf; "" keeps the host's.
func resolvConf(nameservers []string) string {
	if len(nameservers) == 0 {
		return ""
	}
	var b strings.Builder
	for _, ns := range nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	return b.String()
}
