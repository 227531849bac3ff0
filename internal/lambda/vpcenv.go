package lambda

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/lambdaplane/lambdaplane/internal/sandbox"
)

// EnvNetwork puts execution environments of VPC-connected functions behind
// their Hyperplane ENIs (the data plane). Without one, every function runs
// on the host's network, whatever its VpcConfig.
type EnvNetwork interface {
	// AttachEnv makes a network namespace for environment envID behind the
	// interface eniID and returns its path, for sandbox.Spec.NetNS.
	AttachEnv(ctx context.Context, eniID, envID string) (netnsPath string, err error)
	// DetachEnv removes it, once the environment's processes are gone.
	DetachEnv(eniID, envID string) error
}

// vpcStarter starts environments, putting those of VPC functions behind
// one of their version's interfaces (spread over them in turn).
type vpcStarter struct {
	inner EnvStarter
	s     *Service
	next  atomic.Uint64
	// placed holds what spec chose for a Spec until Start has used it.
	placed sync.Map // *sandbox.Spec -> placement
}

type placement struct{ eni, envID string }

// place picks the interface for a new environment of cfg and attaches a
// namespace to it; it leaves sp unchanged for functions outside VPCs.
func (v *vpcStarter) place(ctx context.Context, id fnID, cfg *Config, sp *sandbox.Spec) error {
	if v.s.cfg.Network == nil || v.s.cfg.VPC == nil || !cfg.VPC.connected() {
		return nil
	}
	enis := v.s.cfg.VPC.LambdaENIsOf(id.Account, id.Region, eniHolder(id, cfg))
	if len(enis) == 0 {
		return errService("The function's network interfaces are not available.")
	}
	eni := enis[v.next.Add(1)%uint64(len(enis))].ID
	envID := uuid.NewString()
	path, err := v.s.cfg.Network.AttachEnv(ctx, eni, envID)
	if err != nil {
		return err
	}
	sp.NetNS = path
	v.placed.Store(sp, placement{eni, envID})
	return nil
}

func (v *vpcStarter) Start(ctx context.Context, sp *sandbox.Spec) (sandbox.Env, error) {
	pv, ok := v.placed.LoadAndDelete(sp)
	env, err := v.inner.Start(ctx, sp)
	if !ok {
		return env, err
	}
	p := pv.(placement)
	if err != nil && env == nil {
		v.detach(p)
		return nil, err
	}
	return &vpcEnv{Env: env, detach: func() { v.detach(p) }}, err
}

func (v *vpcStarter) detach(p placement) {
	if err := v.s.cfg.Network.DetachEnv(p.eni, p.envID); err != nil {
		v.s.log.Error("detach execution environment from its network interface", "eni", p.eni, "err", err)
	}
}

// vpcEnv is an environment whose namespace goes when it closes.
type vpcEnv struct {
	sandbox.Env
	once   sync.Once
	detach func()
}

func (e *vpcEnv) Close() error {
	err := e.Env.Close()
	e.once.Do(e.detach)
	return err
}
