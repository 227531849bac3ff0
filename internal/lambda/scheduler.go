package lambda

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/sandbox"
)

// poolKey identifies environments that may serve each other's invocations:
// same function, version and configuration revision.
type poolKey struct {
	id       fnID
	version  string
	revision string
}

type idleEnv struct {
	env   sandbox.Env
	since time.Time
}

type pool struct {
	key  poolKey
	idle []idleEnv // LIFO: the most recently used environment is the warmest
	// retired pools hand out nothing; their environments close when released.
	retired bool
}

// lease is one admitted invocation: it holds a unit of concurrency until
// released.
type lease struct {
	pool        *pool
	env         sandbox.Env
	unreserved  bool
	cold        bool
	accountName string
	id          fnID
}

// scheduler keeps warm environments per pool and enforces concurrency: a
// function's reservation, or the account's unreserved share.
type scheduler struct {
	starter     EnvStarter
	limit       int
	idleTimeout time.Duration
	log         *slog.Logger

	mu                 sync.Mutex
	pools              map[poolKey]*pool
	current            map[fnVersion]poolKey
	reserved           map[fnID]int
	fnInflight         map[fnID]int
	unreservedInflight map[string]int
	closed             bool
}

type fnVersion struct {
	id      fnID
	version string
}

func newScheduler(starter EnvStarter, limit int, idle time.Duration, log *slog.Logger) *scheduler {
	return &scheduler{
		starter: starter, limit: limit, idleTimeout: idle, log: log,
		pools: map[poolKey]*pool{}, current: map[fnVersion]poolKey{},
		reserved: map[fnID]int{}, fnInflight: map[fnID]int{}, unreservedInflight: map[string]int{},
	}
}

func (s *scheduler) setReserved(id fnID, n *int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == nil {
		delete(s.reserved, id)
	} else {
		s.reserved[id] = *n
	}
}

func (s *scheduler) reservedSum(account string) int {
	total := 0
	for id, n := range s.reserved {
		if id.Account == account {
			total += n
		}
	}
	return total
}

// errThrottled carries the TooManyRequestsException reason.
type errThrottled struct{ reason string }

func (e errThrottled) Error() string { return "throttled: " + e.reason }

// acquire admits one invocation and returns a warm environment or starts a
// new one with spec.
func (s *scheduler) acquire(ctx context.Context, key poolKey, spec func() (*sandbox.Spec, error)) (*lease, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errStopped
	}
	l := &lease{id: key.id, accountName: key.id.Account}
	if n, ok := s.reserved[key.id]; ok {
		if s.fnInflight[key.id] >= n {
			s.mu.Unlock()
			return nil, errThrottled{"ReservedFunctionConcurrentInvocationLimitExceeded"}
		}
	} else {
		if s.unreservedInflight[key.id.Account] >= s.limit-s.reservedSum(key.id.Account) {
			s.mu.Unlock()
			return nil, errThrottled{"ConcurrentInvocationLimitExceeded"}
		}
		l.unreserved = true
		s.unreservedInflight[key.id.Account]++
	}
	s.fnInflight[key.id]++
	p := s.poolFor(key)
	l.pool = p
	if n := len(p.idle); n > 0 {
		l.env = p.idle[n-1].env
		p.idle = p.idle[:n-1]
		s.mu.Unlock()
		return l, nil
	}
	s.mu.Unlock()

	sp, err := spec()
	if err == nil {
		l.env, err = s.starter.Start(ctx, sp)
	}
	if err != nil {
		var initErr *sandbox.InitError
		if !errors.As(err, &initErr) {
			s.release(l, true)
		}
		return l, err
	}
	l.cold = true
	return l, nil
}

// poolFor returns the pool for key, retiring older pools of the same
// function version. Callers hold s.mu.
func (s *scheduler) poolFor(key poolKey) *pool {
	if p, ok := s.pools[key]; ok {
		return p
	}
	fv := fnVersion{key.id, key.version}
	if old, ok := s.current[fv]; ok && old != key {
		s.retireLocked(old)
	}
	p := &pool{key: key}
	s.pools[key] = p
	s.current[fv] = key
	return p
}

func (s *scheduler) retireLocked(key poolKey) {
	p, ok := s.pools[key]
	if !ok {
		return
	}
	p.retired = true
	for _, ie := range p.idle {
		go ie.env.Close()
	}
	p.idle = nil
	delete(s.pools, key)
	if s.current[fnVersion{key.id, key.version}] == key {
		delete(s.current, fnVersion{key.id, key.version})
	}
}

// retire closes the environments of a function (qualifier "") or of one version.
func (s *scheduler) retire(id fnID, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.pools {
		if key.id == id && (version == "" || key.version == version) {
			s.retireLocked(key)
		}
	}
}

// release returns a lease's concurrency and its environment, which goes
// back to its pool unless it failed or the pool was retired.
func (s *scheduler) release(l *lease, failed bool) {
	s.mu.Lock()
	s.fnInflight[l.id]--
	if s.fnInflight[l.id] == 0 {
		delete(s.fnInflight, l.id)
	}
	if l.unreserved {
		s.unreservedInflight[l.accountName]--
	}
	env := l.env
	if env != nil && !failed && !l.pool.retired && !s.closed {
		l.pool.idle = append(l.pool.idle, idleEnv{env: env, since: time.Now()})
		env = nil
	}
	s.mu.Unlock()
	if env != nil {
		env.Close()
	}
}

// reapLoop closes environments idle longer than idleTimeout.
func (s *scheduler) reapLoop(ctx context.Context) {
	tick := time.NewTicker(min(s.idleTimeout/4+time.Millisecond, 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			var victims []sandbox.Env
			s.mu.Lock()
			for _, p := range s.pools {
				keep := p.idle[:0]
				for _, ie := range p.idle {
					if now.Sub(ie.since) > s.idleTimeout {
						victims = append(victims, ie.env)
					} else {
						keep = append(keep, ie)
					}
				}
				p.idle = keep
			}
			s.mu.Unlock()
			for _, e := range victims {
				e.Close()
			}
		}
	}
}

// closeAll stops every idle environment and refuses new work; busy ones
// close as they are released.
func (s *scheduler) closeAll() {
	s.mu.Lock()
	s.closed = true
	var victims []sandbox.Env
	for _, p := range s.pools {
		for _, ie := range p.idle {
			victims = append(victims, ie.env)
		}
		p.idle = nil
	}
	s.mu.Unlock()
	for _, e := range victims {
		e.Close()
	}
}
