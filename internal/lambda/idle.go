package lambda

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// Idle reclaim: a VPC-connected function version that nobody invokes for
// IdleReclaimAfter loses its network interfaces and becomes Inactive
// (StateReasonCode Idle). The next invocation fails with
// ResourceNotReadyException and starts the restoration: Pending
// (Restoring) until the interfaces exist again, then Active; if they cannot
// be made, the version goes back to Inactive.

const (
	stateInactive   = "Inactive"
	reasonIdle      = "Idle"
	reasonRestoring = "Restoring"
	idleMessage     = "The function is inactive because it was not invoked for a long time; its VPC network interfaces were reclaimed."
	restoringMsg    = "The function is being restored."
)

// activity remembers when each VPC-connected version was last invoked.
// It lives in memory: after a restart every version counts as used at
// start, so a restart never makes a function idle.
type activity struct {
	mu    sync.Mutex
	start time.Time
	last  map[string]time.Time
}

func newActivity(now time.Time) *activity {
	return &activity{start: now, last: map[string]time.Time{}}
}

func (a *activity) touch(key string, now time.Time) {
	a.mu.Lock()
	a.last[key] = now
	a.mu.Unlock()
}

func (a *activity) lastUse(key string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.last[key]; ok {
		return t
	}
	return a.start
}

func activityKey(id fnID, version string) string { return id.arn() + ":" + version }

func errNotReady() *awswire.Error {
	return awswire.Errorf(http.StatusBadGateway, "ResourceNotReadyException",
		"The function is inactive and its VPC connection is no longer available. Wait for the VPC connection to reestablish and try again.")
}

// reclaimLoop makes idle versions Inactive.
func (s *Service) reclaimLoop(ctx context.Context) {
	after := s.cfg.IdleReclaimAfter
	tick := time.NewTicker(min(max(after/10, 10*time.Millisecond), time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.reclaimIdle(time.Now().Add(-after))
		}
	}
}

// reclaimIdle moves every connected, Active version last used before
// cutoff to Inactive and releases its interfaces.
func (s *Service) reclaimIdle(cutoff time.Time) {
	type reclaimed struct {
		id  fnID
		cfg Config
	}
	var released []reclaimed
	s.mu.Lock()
	for id, st := range s.fns {
		ch := change{versions: map[int]*Config{}}
		idle := func(c *Config) bool {
			return c.State == stateActive && c.LastUpdateStatus != updateInProgress && c.VPC.connected() &&
				s.activity.lastUse(activityKey(id, c.Version)).Before(cutoff)
		}
		if idle(&st.fn.Latest) {
			f := st.fn
			released = append(released, reclaimed{id, f.Latest})
			f.Latest.State, f.Latest.StateReasonCode, f.Latest.StateReason = stateInactive, reasonIdle, idleMessage
			f.Latest.RevisionID = newRevision()
			ch.put = &f
		}
		for n, c := range st.versions {
			if idle(c) {
				released = append(released, reclaimed{id, *c})
				cp := *c
				cp.State, cp.StateReasonCode, cp.StateReason = stateInactive, reasonIdle, idleMessage
				cp.RevisionID = newRevision()
				ch.versions[n] = &cp
			}
		}
		if ch.put == nil && len(ch.versions) == 0 {
			continue
		}
		if err := s.write(id, ch); err != nil {
			s.log.Error("reclaim idle function", "function", id.arn(), "err", err)
		}
	}
	s.mu.Unlock()
	for _, r := range released {
		s.sched.retire(r.id, r.cfg.Version)
		s.disconnectVpc(r.id, &r.cfg)
	}
}

// restore starts bringing an Inactive version back, once: the invocation
// that finds it Inactive fails, and the version is Pending (Restoring)
// until its interfaces exist again.
func (s *Service) restore(id fnID, version string) {
	s.mu.Lock()
	st, ok := s.fns[id]
	if !ok {
		s.mu.Unlock()
		return
	}
	ch := change{versions: map[int]*Config{}}
	if version == latest {
		if st.fn.Latest.State == stateInactive {
			f := st.fn
			restoring(&f.Latest)
			ch.put = &f
		}
	} else {
		for n, c := range st.versions {
			if c.Version == version && c.State == stateInactive {
				cp := *c
				restoring(&cp)
				ch.versions[n] = &cp
			}
		}
	}
	var err error
	if ch.put != nil || len(ch.versions) > 0 {
		err = s.write(id, ch)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("restore idle function", "function", id.arn(), "err", err)
		return
	}
	s.afterWrite(id)
}

func restoring(c *Config) {
	c.State, c.StateReasonCode, c.StateReason = statePending, reasonRestoring, restoringMsg
	c.RevisionID = newRevision()
}

// inactiveError is admit's answer for an Inactive version.
type inactiveError struct{ version string }

func (e *inactiveError) Error() string { return "function version " + e.version + " is inactive" }

// admitOrRestore is admit that answers an Inactive version by starting its
// restoration and failing this invocation, as Lambda does.
func (s *Service) admitOrRestore(t target) (*invokeTarget, error) {
	tg, err := s.admit(t)
	var ie *inactiveError
	if errors.As(err, &ie) {
		s.restore(t.id, ie.version)
		return nil, errNotReady()
	}
	return tg, err
}
