package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// Account-level quotas as AWS sets them by default.
const (
	accountConcurrency    = 1000
	minUnreserved         = 100
	totalCodeSizeLimit    = 80530636800
	codeSizeZippedLimit   = 52428800
	codeSizeUnzippedLimit = 262144000
	maxSyncPayload        = 6291456
	maxAsyncPayload       = 262144
)

// EnvStarter starts execution environments (the sandbox manager).
type EnvStarter interface {
	Start(ctx context.Context, spec *sandbox.Spec) (sandbox.Env, error)
}

// Options wires the service.
type Options struct {
	Store   store.Store
	CodeDir string // where deployment packages are kept
	Sandbox EnvStarter
	// Roles checks that Lambda may assume a function's execution role and
	// hands out the role's session credentials to its environments; nil
	// checks nothing and gives functions no credentials.
	Roles iam.ServiceRoles
	// Authorizer decides every call; nil allows everything in the caller's
	// own account (unit tests).
	Authorizer iam.Authorizer
	// EndpointURL is what SDKs inside functions call (AWS_ENDPOINT_URL).
	EndpointURL string
	Logger      *slog.Logger
	// EnvIdleTimeout reaps warm environments nobody used for that long.
	EnvIdleTimeout time.Duration
	// AsyncRetryBase is the wait before the first retry of a failed event
	// invocation; the second waits twice as long (AWS: 1 and 2 minutes).
	AsyncRetryBase time.Duration
	// AccountConcurrency overrides the account's concurrent executions limit (tests).
	AccountConcurrency int
	// VPC connects functions to VPCs; nil refuses VpcConfig.
	VPC VPCNetwork
	// Network puts VPC functions' environments behind their interfaces;
	// nil runs them on the host's network.
	Network EnvNetwork
	// EniCreateDelay is how long making a function's network interfaces
	// takes (AWS: about a minute for a new subnet and group combination).
	EniCreateDelay time.Duration
	// IdleReclaimAfter makes a VPC-connected version nobody invoked for
	// that long Inactive (AWS: weeks); 0 never does.
	IdleReclaimAfter time.Duration
	// EniMaxConnections is how many concurrent connections a Hyperplane
	// interface carries before Lambda adds another for new environments
	// (AWS: 65,000, the default).
	EniMaxConnections int
}

// Service is the Lambda control plane and invoke path.
type Service struct {
	cfg   Options
	log   *slog.Logger
	st    store.Store
	code  *codeStore
	sched *scheduler
	async *asyncQueue

	// mu guards fns. All lambda writes hold it across validate → store
	// transaction → cache update, so the cache always equals the store.
	mu  sync.RWMutex
	fns map[fnID]*fnState

	codeKey []byte // signs Code.Location URLs

	sessMu   sync.Mutex
	sessions map[string]gateway.Credential // execution-role sessions by function and role
	bg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
	activity *activity
	placer   *vpcStarter
}

// fnState is the cached view of one function's keys.
type fnState struct {
	fn       Function
	versions map[int]*Config
	aliases  map[string]*Alias
	// policies are fn.Policies parsed, by qualifier.
	policies map[string]*policy.Policy
}

// New loads every function from the store and starts the background work:
// settling pending states, reaping idle environments, the async queue.
func New(cfg Options) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.EnvIdleTimeout == 0 {
		cfg.EnvIdleTimeout = 10 * time.Minute
	}
	if cfg.AsyncRetryBase == 0 {
		cfg.AsyncRetryBase = time.Minute
	}
	if cfg.AccountConcurrency == 0 {
		cfg.AccountConcurrency = accountConcurrency
	}
	if cfg.EniMaxConnections <= 0 {
		cfg.EniMaxConnections = defaultEniMaxConnections
	}
	code, err := newCodeStore(cfg.CodeDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, log: cfg.Logger, st: cfg.Store, code: code,
		fns: map[fnID]*fnState{}, codeKey: []byte(uuid.NewString()), sessions: map[string]gateway.Credential{},
		ctx: ctx, cancel: cancel, activity: newActivity(time.Now()),
	}
	s.placer = &vpcStarter{inner: cfg.Sandbox, s: s}
	s.sched = newScheduler(s.placer, cfg.AccountConcurrency, cfg.EnvIdleTimeout, cfg.Logger)
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	s.gcCode()
	s.async = newAsyncQueue(s)
	if err := s.async.load(); err != nil {
		cancel()
		return nil, err
	}
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.sched.reapLoop(ctx) }()
	go func() { defer s.bg.Done(); s.async.run(ctx) }()
	if cfg.IdleReclaimAfter > 0 && cfg.VPC != nil {
		s.bg.Add(1)
		go func() { defer s.bg.Done(); s.reclaimLoop(ctx) }()
	}
	s.settleAll()
	return s, nil
}

// Close stops background work and every execution environment.
func (s *Service) Close() {
	s.cancel()
	s.bg.Wait()
	s.sched.closeAll()
}

func (s *Service) load() error {
	return s.st.View(func(tx store.ReadTx) error {
		for _, kv := range tx.List("lambda/fn/") {
			var f Function
			if err := json.Unmarshal(kv.Value, &f); err != nil {
				return err
			}
			st := &fnState{fn: f, versions: map[int]*Config{}, aliases: map[string]*Alias{}, policies: parsePolicies(f.Policies)}
			for _, vkv := range tx.List(versionPrefix(f.id())) {
				var c Config
				if err := json.Unmarshal(vkv.Value, &c); err != nil {
					return err
				}
				n, _ := strconv.Atoi(c.Version)
				st.versions[n] = &c
			}
			for _, akv := range tx.List(aliasPrefix(f.id())) {
				var a Alias
				if err := json.Unmarshal(akv.Value, &a); err != nil {
					return err
				}
				st.aliases[a.Name] = &a
			}
			s.fns[f.id()] = st
		}
		return nil
	})
}

// gcCode removes packages no function or version references, including those
// left by a request that failed after extracting its package.
func (s *Service) gcCode() {
	s.mu.RLock()
	keep := map[string]bool{}
	for _, st := range s.fns {
		keep[hexFromB64(st.fn.Latest.CodeSha256)] = true
		if st.fn.Previous != nil {
			keep[hexFromB64(st.fn.Previous.CodeSha256)] = true
		}
		for _, v := range st.versions {
			keep[hexFromB64(v.CodeSha256)] = true
		}
	}
	s.mu.RUnlock()
	s.code.gc(keep)
}

// lookup returns the cached state of a function or ResourceNotFoundException.
// Callers hold s.mu.
func (s *Service) lookup(t target) (*fnState, error) {
	st, ok := s.fns[t.id]
	if !ok {
		return nil, errFunctionNotFound(t.id.qualifiedARN(t.qualifier))
	}
	return st, nil
}

// resolve returns the configuration a qualifier names. Callers hold s.mu.
// For aliases it also returns the alias.
func (s *Service) resolve(st *fnState, t target) (*Config, *Alias, error) {
	q := t.qualifier
	if q == "" || q == latest {
		return &st.fn.Latest, nil, nil
	}
	if reDigits.MatchString(q) {
		n, _ := strconv.Atoi(q)
		if c, ok := st.versions[n]; ok {
			return c, nil, nil
		}
		return nil, nil, errFunctionNotFound(t.id.qualifiedARN(q))
	}
	a, ok := st.aliases[q]
	if !ok {
		return nil, nil, errFunctionNotFound(t.id.qualifiedARN(q))
	}
	c, _, err := s.resolve(st, target{id: t.id, qualifier: a.FunctionVersion})
	return c, a, err
}

// write commits the given function record and extra puts/deletes in one store
// transaction, then mirrors them into the cache. Callers hold s.mu.
type change struct {
	put       *Function
	deleteFn  bool
	versions  map[int]*Config // nil value deletes
	aliases   map[string]*Alias
	removeAll bool
}

func (s *Service) write(id fnID, ch change) error {
	_, err := s.st.Update(func(tx store.Tx) error {
		if ch.removeAll {
			tx.Delete(fnKey(id))
			for _, kv := range tx.List(versionPrefix(id)) {
				tx.Delete(kv.Key)
			}
			for _, kv := range tx.List(aliasPrefix(id)) {
				tx.Delete(kv.Key)
			}
			return nil
		}
		if ch.put != nil {
			if err := store.PutJSON(tx, fnKey(id), ch.put); err != nil {
				return err
			}
		}
		for n, c := range ch.versions {
			if c == nil {
				tx.Delete(versionKey(id, n))
				continue
			}
			if err := store.PutJSON(tx, versionKey(id, n), c); err != nil {
				return err
			}
		}
		for name, a := range ch.aliases {
			if a == nil {
				tx.Delete(aliasKey(id, name))
				continue
			}
			if err := store.PutJSON(tx, aliasKey(id, name), a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ch.removeAll {
		delete(s.fns, id)
		return nil
	}
	st := s.fns[id]
	if st == nil {
		st = &fnState{versions: map[int]*Config{}, aliases: map[string]*Alias{}}
		s.fns[id] = st
	}
	if ch.put != nil {
		st.fn = *ch.put
		st.policies = parsePolicies(st.fn.Policies)
	}
	for n, c := range ch.versions {
		if c == nil {
			delete(st.versions, n)
		} else {
			st.versions[n] = c
		}
	}
	for name, a := range ch.aliases {
		if a == nil {
			delete(st.aliases, name)
		} else {
			st.aliases[name] = a
		}
	}
	return nil
}

func newRevision() string { return uuid.NewString() }

// parsePolicies parses stored function policies once, for authorization on
// every call. Documents were validated when written.
func parsePolicies(docs map[string]*ResourcePolicy) map[string]*policy.Policy {
	out := make(map[string]*policy.Policy, len(docs))
	for q, d := range docs {
		if p, err := policy.ParseResource(d.Document); err == nil {
			out[q] = p
		}
	}
	return out
}

// settleAll finishes every pending creation and update, as after a restart.
func (s *Service) settleAll() {
	s.mu.RLock()
	var ids, networked []fnID
	for id, st := range s.fns {
		if waitsForNetwork(st) {
			networked = append(networked, id)
		} else {
			ids = append(ids, id)
		}
	}
	s.mu.RUnlock()
	for _, id := range ids {
		s.settle(id)
	}
	// Network interfaces take --eni-create-delay each: those functions
	// finish in the background rather than holding up the start.
	for _, id := range networked {
		s.afterWrite(id)
	}
}

// waitsForNetwork reports whether settling st means making network
// interfaces.
func waitsForNetwork(st *fnState) bool {
	l := &st.fn.Latest
	if (l.State == statePending || l.LastUpdateStatus == updateInProgress) && l.VPC.connected() {
		return true
	}
	for _, c := range st.versions {
		if c.State == statePending && c.VPC.connected() {
			return true
		}
	}
	return false
}

// settle moves a function whose code is ready, and whose network
// interfaces exist, out of Pending / InProgress. It is the controller step
// of the create and update lifecycles: the request that starts them only
// records the desired state. Interfaces are acquired without holding the
// function table, as that can take --eni-create-delay.
func (s *Service) settle(id fnID) {
	s.mu.RLock()
	st, ok := s.fns[id]
	if !ok {
		s.mu.RUnlock()
		return
	}
	latestCfg := st.fn.Latest
	pendingLatest := latestCfg.State == statePending || latestCfg.LastUpdateStatus == updateInProgress
	pendingVersions := map[int]Config{}
	for n, c := range st.versions {
		if c.State == statePending {
			pendingVersions[n] = *c
		}
	}
	s.mu.RUnlock()

	type outcome struct {
		reason string
		err    error
	}
	var latestNet outcome
	if pendingLatest {
		latestNet.reason, latestNet.err = s.connectVpc(id, &latestCfg)
	}
	versionNet := map[int]outcome{}
	for n, c := range pendingVersions {
		r, err := s.connectVpc(id, &c)
		versionNet[n] = outcome{r, err}
	}
	if errors.Is(latestNet.err, errStopped) {
		return
	}

	var release []*Config
	defer func() {
		for _, c := range release {
			s.disconnectVpc(id, c)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok = s.fns[id]
	if !ok {
		// Deleted meanwhile: let go of what was just acquired.
		if pendingLatest {
			release = append(release, &latestCfg)
		}
		for n := range pendingVersions {
			c := pendingVersions[n]
			release = append(release, &c)
		}
		return
	}
	f := st.fn
	ch := change{versions: map[int]*Config{}}
	changed := false
	if pendingLatest && f.Latest.RevisionID == latestCfg.RevisionID {
		ready, reason := s.codeReady(&f.Latest)
		code := "InvalidZipFileException"
		if ready && latestNet.err != nil {
			ready, reason, code = false, latestNet.err.Error(), latestNet.reason
		}
		settleRestorable(&f.Latest, ready, reason, code)
		if ready {
			// Idleness counts from when the version got its network.
			s.activity.touch(activityKey(id, latest), time.Now())
		}
		if ready && f.Previous != nil && !f.Previous.VPC.sameNetwork(f.Latest.VPC) {
			release = append(release, f.Previous)
		}
		f.Previous = nil
		ch.put = &f
		changed = true
	}
	for n, c := range st.versions {
		pc, ok := pendingVersions[n]
		if !ok || c.State != statePending || c.RevisionID != pc.RevisionID {
			continue
		}
		cp := *c
		ready, reason := s.codeReady(&cp)
		code := "InvalidZipFileException"
		if out := versionNet[n]; ready && out.err != nil {
			ready, reason, code = false, out.err.Error(), out.reason
		}
		settleRestorable(&cp, ready, reason, code)
		if ready {
			s.activity.touch(activityKey(id, cp.Version), time.Now())
		}
		ch.versions[n] = &cp
		changed = true
	}
	if !changed {
		return
	}
	if err := s.write(id, ch); err != nil {
		s.log.Error("settle function state", "function", id.arn(), "err", err)
		return
	}
	if ch.put != nil {
		// The package $LATEST ran before this update may now be unreferenced.
		go s.gcCode()
	}
}

func (s *Service) codeReady(c *Config) (bool, string) {
	if _, err := s.code.readZipStat(hexFromB64(c.CodeSha256)); err != nil {
		return false, "The function's deployment package is missing: " + err.Error()
	}
	return true, ""
}

// settleRestorable is settleConfig for versions that may be coming back
// from idle: a failed restoration leaves the version Inactive, as Lambda
// does, and an update that completes makes an Inactive version Active.
func settleRestorable(c *Config, ready bool, reason, code string) {
	switch {
	case c.State == statePending && c.StateReasonCode == reasonRestoring && !ready:
		c.RevisionID = newRevision()
		c.State, c.StateReasonCode, c.StateReason = stateInactive, reasonIdle, idleMessage
	case c.State == stateInactive && ready:
		c.State, c.StateReasonCode, c.StateReason = stateActive, "", ""
		settleConfig(c, ready, reason, code)
	default:
		settleConfig(c, ready, reason, code)
	}
}

func settleConfig(c *Config, ready bool, reason, code string) {
	c.RevisionID = newRevision()
	if c.State == statePending {
		if ready {
			c.State, c.StateReason, c.StateReasonCode = stateActive, "", ""
			c.LastUpdateStatus = updateSuccessful
		} else {
			c.State, c.StateReason, c.StateReasonCode = stateFailed, reason, code
			c.LastUpdateStatus = updateFailed
		}
		return
	}
	if ready {
		c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = updateSuccessful, "", ""
	} else {
		c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = updateFailed, reason, code
	}
}

// afterWrite schedules the controller step for a function that just changed.
func (s *Service) afterWrite(id fnID) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.settle(id)
	}()
}

// functionsOf lists an account's functions in a region, by name.
func (s *Service) functionsOf(account, region string) []*fnState {
	var out []*fnState
	for id, st := range s.fns {
		if id.Account == account && id.Region == region {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fn.Name < out[j].fn.Name })
	return out
}

var errStopped = errors.New("lambda service stopped")
