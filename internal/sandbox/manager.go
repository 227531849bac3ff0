// Package sandbox runs Lambda execution environments: a runtime's bootstrap
// process (isolated in its own namespaces and cgroups when the manager is
// configured so), the Runtime API it polls for invocations, its logs, and
// Lambda's failure semantics (timeouts, crashes, out of memory, init errors).
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config configures a Manager.
type Config struct {
	// Isolate runs each environment in its own pid, mount, ipc and uts
	// namespaces with cgroup limits (needs root). Without it environments
	// are plain processes: the --dataplane=none mode.
	Isolate bool
	// BaseDir holds per-environment scratch state (for example
	// <data-dir>/sandboxes). Required.
	BaseDir string
	// Launcher says how to start a runtime's bootstrap for a function whose
	// code is at taskRoot (as the bootstrap sees it): argv (argv[0]
	// absolute) and extra KEY=VALUE environment entries.
	Launcher func(spec *Spec, taskRoot string) (argv []string, env []string, err error)
	// SharedPaths are host directories that launched bootstraps use at the
	// same path (the runtime bootstraps, the SDKs). Isolated environments
	// replace /tmp; shared directories under it are bound back in.
	SharedPaths []string
	// LogSink receives every log line; nil drops them.
	LogSink LogSink
	Logger  *slog.Logger
	// CgroupParent names the cgroup, in each hierarchy, under which the
	// environments' cgroups are created. Default "lambdaplane".
	CgroupParent string
	// OwnParent says CgroupParent is this manager's alone (one per data
	// directory): at start, whatever is under it is a dead run's leftover
	// and is killed and removed.
	OwnParent bool
	// InitTimeout bounds the init phase. Default 10s, as on Lambda.
	InitTimeout time.Duration
	// Prewarm is how many isolated inits (namespaces and cgroups made,
	// waiting for a function) the manager keeps ready to take the slow part
	// out of cold starts. Each costs about 1 MB of private memory. Default
	// 4; negative keeps none.
	Prewarm int
}

const (
	defaultCgroupParent = "lambdaplane"
	defaultInitTimeout  = 10 * time.Second
	defaultTimeout      = 3 * time.Second
	defaultMemoryMB     = 128
	defaultEphemeralMB  = 512
	defaultPrewarm      = 4
)

// Manager starts and tracks execution environments.
type Manager struct {
	cfg Config
	log *slog.Logger
	cg  *cgroupRoot // nil unless isolating
	// listen opens an environment's Runtime API socket. Kept in one place
	// so the data plane can change where environments find the API.
	listen func(spec *Spec) (net.Listener, string, error)

	// pool holds inits started ahead of need (isolated managers only).
	pool    chan *initProc
	filling sync.WaitGroup

	// starting counts Starts in flight; done tells them the manager closes.
	starting sync.WaitGroup
	done     chan struct{}

	mu     sync.Mutex
	envs   map[*env]struct{} // started and not yet closed
	closed bool
}

// NewManager checks what cfg needs (root and cgroups when isolating) and
// prepares the shared state.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.BaseDir == "" {
		return nil, errors.New("sandbox: Config.BaseDir is required")
	}
	if cfg.Launcher == nil {
		return nil, errors.New("sandbox: Config.Launcher is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = defaultCgroupParent
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = defaultInitTimeout
	}
	if err := os.MkdirAll(cfg.BaseDir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, listen: listenRuntimeAPI, envs: map[*env]struct{}{}, done: make(chan struct{})}
	if cfg.Isolate {
		if os.Geteuid() != 0 {
			return nil, errors.New("sandbox: isolated environments need root")
		}
		// The mountpoint the code is bound onto inside each environment.
		if err := os.MkdirAll(isolatedTaskRoot, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		cg, err := newCgroupRoot(cfg.CgroupParent, cfg.OwnParent)
		if err != nil {
			return nil, err
		}
		m.cg = cg
		if cfg.Prewarm == 0 {
			cfg.Prewarm = defaultPrewarm
		}
		m.pool = make(chan *initProc, max(cfg.Prewarm, 0))
		for range cap(m.pool) {
			m.refill()
		}
	}
	return m, nil
}

// takeInit returns a waiting init, from the pool when it has one.
func (m *Manager) takeInit() (*initProc, error) {
	select {
	case p := <-m.pool:
		m.refill()
		return p, nil
	default:
		return m.cg.spawnInit()
	}
}

// refill starts one init in the background for the pool.
func (m *Manager) refill() {
	m.mu.Lock()
	if m.closed || cap(m.pool) == 0 {
		m.mu.Unlock()
		return
	}
	m.filling.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.filling.Done()
		p, err := m.cg.spawnInit()
		if err != nil {
			m.log.Warn("sandbox: starting a spare init", "err", err)
			return
		}
		m.mu.Lock()
		if !m.closed {
			select {
			case m.pool <- p:
				m.mu.Unlock()
				return
			default:
			}
		}
		m.mu.Unlock()
		p.discard()
	}()
}

// Start starts an environment for spec and returns once its runtime has
// finished init (its first call to /invocation/next). If init fails, the
// error is an *InitError whose Result is what the invocation that caused
// the start returns.
func (m *Manager) Start(ctx context.Context, spec *Spec) (Env, error) {
	sp := *spec
	if sp.Timeout <= 0 {
		sp.Timeout = defaultTimeout
	}
	if sp.MemoryMB <= 0 {
		sp.MemoryMB = defaultMemoryMB
	}
	if sp.EphemeralMB <= 0 {
		sp.EphemeralMB = defaultEphemeralMB
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.starting.Add(1)
	m.mu.Unlock()
	defer m.starting.Done()

	e := newEnv(m, &sp)
	if err := e.start(ctx); err != nil {
		e.Close()
		var ie *InitError
		if m.isClosed() && !errors.As(err, &ie) {
			return nil, ErrClosed
		}
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		e.Close()
		return nil, ErrClosed
	}
	m.envs[e] = struct{}{}
	m.mu.Unlock()
	return e, nil
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Manager) forget(e *env) {
	m.mu.Lock()
	delete(m.envs, e)
	m.mu.Unlock()
}

// Close kills every environment and removes what the manager created.
func (m *Manager) Close() error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.done)
	}
	envs := make([]*env, 0, len(m.envs))
	for e := range m.envs {
		envs = append(envs, e)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(envs))
	for i, e := range envs {
		wg.Go(func() { errs[i] = e.Close() })
	}
	wg.Wait()
	// Starts in flight see done and clean up after themselves.
	m.starting.Wait()
	m.filling.Wait()
	for len(m.pool) > 0 {
		(<-m.pool).discard()
	}
	if m.cg != nil {
		m.cg.remove()
	}
	return errors.Join(errs...)
}

// listenRuntimeAPI opens the socket an environment's runtime reaches the
// Runtime API on and returns the address for AWS_LAMBDA_RUNTIME_API. In the
// host's network that is an ephemeral loopback port; in an environment's own
// network namespace it is 127.0.0.1:9001 there, as on Lambda.
func listenRuntimeAPI(spec *Spec) (net.Listener, string, error) {
	if spec.NetNS == "" {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, "", fmt.Errorf("sandbox: runtime API listener: %w", err)
		}
		return ln, ln.Addr().String(), nil
	}
	const addr = "127.0.0.1:9001"
	var ln net.Listener
	err := inNetNS(spec.NetNS, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: runtime API listener in %s: %w", spec.NetNS, err)
	}
	return ln, addr, nil
}

// inNetNS runs fn on a thread switched into the network namespace at path.
// A socket created there stays in that namespace for its whole life.
func inNetNS(path string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(orig)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fnErr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the wrong namespace: keep it locked so the
		// runtime discards it when this goroutine ends.
		return errors.Join(fnErr, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "lp" + hex.EncodeToString(b[:])
}

// scratchDir is where a plain environment keeps its TMPDIR.
func (m *Manager) scratchDir(id string) string { return filepath.Join(m.cfg.BaseDir, id) }
