package netctl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

const (
	// debounce lets a burst of writes (a CloudFormation stack, a
	// RunInstances with its interfaces) become one Apply.
	debounce = 20 * time.Millisecond
	// Failed applies are retried from minBackoff, doubling up to maxBackoff.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
	// resyncEvery re-applies an unchanged topology, so that kernel objects
	// removed behind the controller's back come back.
	resyncEvery = 5 * time.Minute
)

// Controller keeps the kernel network of one prefix equal to the EC2
// state. Stopping it leaves the network as it is: a restarted server
// converges from there, and only Teardown removes it.
type Controller struct {
	prefix string
	svc    *ec2.Service
	log    *slog.Logger

	stop     chan struct{}
	stopOnce sync.Once
	running  sync.WaitGroup

	mu        sync.Mutex
	last      *netplane.Topology // last topology applied without error
	instances *Instances         // runs instances' user data when set
	dns       *dnsServers
	api       *apiProxy // nil until ServeAPI
	// uplink is the host namespace of the real uplink (WithUplink), ""
	// for a simulated internet only; uplinkCleared says a previous run's
	// uplink has been removed.
	uplink        string
	uplinkCleared bool
}

// New makes a controller; it does nothing until Run or Sync.
func New(prefix string, svc *ec2.Service, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{prefix: prefix, svc: svc, log: log, stop: make(chan struct{}), dns: newDNSServers(prefix, log)}
}

// ServeAPI puts the server listening at target on the simulated internet,
// under the public names of its APIs (lambda.REGION.amazonaws.com, ...).
// Call it before Run or Sync.
func (c *Controller) ServeAPI(target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.api = &apiProxy{target: target, log: c.log}
}

// Sync applies the current EC2 state once, now.
func (c *Controller) Sync(ctx context.Context) error {
	return c.apply(ctx, true)
}

// apply applies the settled snapshot; unless force, a topology equal to
// the last one applied is skipped, as most EC2 writes (tags, console
// output, descriptions) change nothing in the network.
func (c *Controller) apply(ctx context.Context, force bool) error {
	snap := c.svc.SettledSnapshot()
	t := Topology(c.prefix, snap)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Instances follow even an unchanged or failed network: their state is
	// not part of it, and starting one waits for its namespace anyway.
	defer c.reconcileInstances(snap)
	var uplinkErr error
	if force || c.last == nil || !reflect.DeepEqual(*c.last, t) {
		c.last = nil
		if err := netplane.Apply(ctx, t); err != nil {
			return fmt.Errorf("netctl: apply at revision %d: %w", snap.Rev, err)
		}
		// A failed uplink leaves c.last unset, so the next apply retries
		// it, but the simulated internet's DNS and APIs go on regardless.
		if uplinkErr = c.syncUplink(); uplinkErr == nil {
			c.last = &t
		}
		c.log.Debug("netctl: network applied", "rev", snap.Rev, "vpcs", len(t.VPCs))
	}
	// DNS answers from more than the topology holds (DNS attributes,
	// endpoints), so it follows every change.
	if err := c.dns.sync(snap, t); err != nil {
		return errors.Join(uplinkError(uplinkErr), fmt.Errorf("netctl: DNS at revision %d: %w", snap.Rev, err))
	}
	if c.api != nil {
		if err := c.api.ensure(c.prefix); err != nil {
			return errors.Join(uplinkError(uplinkErr), fmt.Errorf("netctl: public API endpoint: %w", err))
		}
	}
	return uplinkError(uplinkErr)
}

// Run applies the EC2 state at once and again after every change, until
// ctx ends or Close is called; it returns nil then. It returns an error
// only when the store is closed under it.
func (c *Controller) Run(ctx context.Context) error {
	c.running.Add(1)
	defer c.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	st := c.svc.Store()
	var events <-chan store.Event
	backoff := minBackoff
	force := true // the first apply after start repairs whatever a crash left
	timer := time.NewTimer(0)
	defer timer.Stop()
	armed := true
	arm := func(d time.Duration) {
		if !armed {
			timer.Reset(d)
			armed = true
		}
	}
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()

	for {
		if events == nil {
			// Watching from the current revision before the next apply
			// reads the state means no change can fall between the two.
			ch, err := st.Watch(ctx, ec2.StorePrefix, st.Rev())
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, store.ErrClosed):
				return fmt.Errorf("netctl: %w", err)
			case err != nil:
				c.log.Warn("netctl: watch failed, retrying", "err", err, "in", backoff)
				if !sleep(ctx, backoff) {
					return nil
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			events = ch
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				// Dropped as a slow watcher or compacted: the next apply
				// reads the whole state anyway, so only the watch restarts.
				c.log.Info("netctl: watch ended, re-listing")
				events = nil
			}
			arm(debounce)
		case <-resync.C:
			force = true
			arm(0)
		case <-timer.C:
			armed = false
			if err := c.apply(ctx, force); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				c.log.Error("netctl: applying the network failed, retrying", "err", err, "in", backoff)
				arm(backoff)
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			force = false
			backoff = minBackoff
		}
	}
}

// Close stops Run and waits for it to return. The network stays, but a
// real uplink leaves the host.
func (c *Controller) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.running.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dns.close()
	if c.api != nil {
		c.api.close()
	}
	if err := c.disconnectUplink(); err != nil {
		return fmt.Errorf("netctl: uplink: %w", err)
	}
	return nil
}

// Teardown removes every kernel object of the controller's prefix. Only an
// explicit request does this; Run never tears down.
func (c *Controller) Teardown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = nil
	c.dns.close()
	// Teardown cannot know the host, so the uplink goes first.
	return errors.Join(c.disconnectUplink(), netplane.Teardown(c.prefix))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
