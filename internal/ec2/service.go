// Package ec2 is lambdaplane's VPC control plane: VPCs, subnets, security
// groups, network ACLs, route tables, gateways, addresses, network
// interfaces, endpoints, peering and instances, behind the EC2 Query API.
// It keeps the model and AWS's rules; the kernel realization (netplane)
// watches the store.
package ec2

import (
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// Options wire the service.
type Options struct {
	Store store.Store
	// Authorizer decides every call; nil allows everything (unit tests).
	Authorizer iam.Authorizer
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
	// PublicPool is where Elastic IPs and public addresses come from
	// (default 198.51.100.0/24, a documentation range).
	PublicPool netip.Prefix
	// NatCreateDelay is how long a NAT gateway stays pending.
	NatCreateDelay time.Duration
	// EndpointCreateDelay is how long an interface VPC endpoint stays pending.
	EndpointCreateDelay time.Duration
	// EniDeleteDelay is how long a Lambda interface nobody uses is kept
	// before it is deleted (AWS: up to 20 minutes).
	EniDeleteDelay time.Duration
}

// Service is the EC2 control plane.
type Service struct {
	st    store.Store
	authz iam.Authorizer
	log   *slog.Logger
	now   func() time.Time
	opts  Options

	// wmu serializes writers: a writer validates against the state and its
	// own changes, commits them to the store, then publishes them under mu.
	// Readers hold mu shared and never wait for store I/O.
	wmu   sync.Mutex
	mu    sync.RWMutex
	state *state

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// New loads the stored state and starts the loop that moves resources
// through their timed states (pending → available, deleting → deleted).
func New(opts Options) (*Service, error) {
	st, err := load(opts.Store)
	if err != nil {
		return nil, err
	}
	s := &Service{st: opts.Store, authz: opts.Authorizer, log: opts.Logger, now: opts.Now, opts: opts, state: st,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !s.opts.PublicPool.IsValid() {
		s.opts.PublicPool = netip.MustParsePrefix("198.51.100.0/24")
	}
	go s.settleLoop()
	return s, nil
}

// Close stops the settle loop.
func (s *Service) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}

// Gateway is the service as the gateway routes it.
func (s *Service) Gateway() gateway.Service {
	return gateway.Service{SigningName: "ec2", Protocol: awswire.EC2, Handler: s}
}

// read runs fn on the published state.
func (s *Service) read(c *call, fn func(t *txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(newTxn(s.state, s.nowFor(c)))
}

// write runs fn and, if it succeeds, commits and publishes its changes.
// Nothing fn did is kept when it fails.
func (s *Service) write(c *call, fn func(t *txn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := newTxn(s.state, s.nowFor(c))
	if err := fn(t); err != nil {
		return err
	}
	if err := t.commit(s.st); err != nil {
		return err
	}
	s.mu.Lock()
	t.apply()
	s.mu.Unlock()
	if len(t.changed) > 0 {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *Service) nowFor(c *call) time.Time {
	if c != nil {
		return c.now
	}
	return s.now().UTC()
}

// settler moves resources whose time has come to their next state and
// returns when it next needs to run (zero: nothing pending).
type settler func(s *Service, t *txn) time.Time

var settlers []settler

func registerSettler(f settler) { settlers = append(settlers, f) }

func (s *Service) settleLoop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next time.Time
		err := s.write(nil, func(t *txn) error {
			for _, f := range settlers {
				if n := f(s, t); !n.IsZero() && (next.IsZero() || n.Before(next)) {
					next = n
				}
			}
			return nil
		})
		if err != nil {
			s.log.Error("ec2: settling timed states failed", "err", err)
			next = s.now().Add(time.Second)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(s.now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}
