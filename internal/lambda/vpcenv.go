package lambda

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
)

// EnvNetwork puts execution environments of VPC-connected functions behind
// their Hyperplane ENIs, and those of other functions in the Lambda-owned
// network (the data plane). Without one, every function runs on the
// host's network, whatever its VpcConfig.
type EnvNetwork interface {
	// AttachEnv makes a network namespace for environment envID behind the
	// interface eniID, or in the Lambda-owned network when eniID is "".
	AttachEnv(ctx context.Context, eniID, envID string) (EnvAttachment, error)
	// DetachEnv removes it, once the environment's processes are gone.
	DetachEnv(eniID, envID string) error
	// ConnectionCount is how many connections the environments behind the
	// interface eniID have open through it now.
	ConnectionCount(eniID string) (int, error)
}

// EnvAttachment is where an environment sits in the network.
type EnvAttachment struct {
	NetNS       string   // the namespace's path, for sandbox.Spec.NetNS
	Nameservers []string // the resolvers it reaches
}

// publicEndpoint is what SDKs inside a function with its own network call:
// the API's public name, which the network resolves and routes as AWS's
// would be (so a function in a private subnet needs a NAT gateway or an
// endpoint, as on AWS). Every service answers on it.
func publicEndpoint(region string) string { return "http://lambda." + region + ".amazonaws.com" }

// defaultEniMaxConnections is how many concurrent connections a Hyperplane
// ENI carries on AWS.
const defaultEniMaxConnections = 65000

// vpcStarter starts environments, putting those of VPC functions behind
// one of their version's interfaces: the subnets in turn, and in a subnet
// the interface with the fewest connections. When every interface of the
// subnet carries EniMaxConnections, it asks EC2 for one more.
type vpcStarter struct {
	inner EnvStarter
	s     *Service
	next  atomic.Uint64
	// grow serializes adding interfaces, so that environments that start
	// together on a busy combination add one interface, not one each.
	grow sync.Mutex
	// placed holds what spec chose for a Spec until Start has used it.
	placed sync.Map // *sandbox.Spec -> placement
}

type placement struct{ eni, envID string }

// place picks the interface for a new environment of cfg and attaches a
// namespace to it; it leaves sp unchanged for functions outside VPCs.
func (v *vpcStarter) place(ctx context.Context, id fnID, cfg *Config, sp *sandbox.Spec) error {
	if v.s.cfg.Network == nil {
		return nil
	}
	eni := ""
	if v.s.cfg.VPC != nil && cfg.VPC.connected() {
		var err error
		if eni, err = v.pickENI(id, cfg); err != nil {
			return err
		}
	}
	envID := uuid.NewString()
	att, err := v.s.cfg.Network.AttachEnv(ctx, eni, envID)
	if err != nil {
		return err
	}
	sp.NetNS, sp.Nameservers = att.NetNS, att.Nameservers
	sp.EndpointURL = publicEndpoint(id.Region)
	v.placed.Store(sp, placement{eni, envID})
	return nil
}

// pickENI chooses the Hyperplane ENI a new environment of cfg sits behind.
func (v *vpcStarter) pickENI(id fnID, cfg *Config) (string, error) {
	holder := eniHolder(id, cfg)
	enis := v.s.cfg.VPC.LambdaENIsOf(id.Account, id.Region, holder)
	if len(enis) == 0 {
		return "", errService("The function's network interfaces are not available.")
	}
	turn := v.next.Add(1)
	var subnets []string
	for _, e := range enis {
		if !slices.Contains(subnets, e.SubnetID) {
			subnets = append(subnets, e.SubnetID)
		}
	}
	subnet := subnets[turn%uint64(len(subnets))]
	turn /= uint64(len(subnets))
	eni, ok := v.leastBusy(enis, subnet, turn)
	if ok {
		return eni, nil
	}
	return v.addENI(id, cfg, holder, subnet, turn)
}

// leastBusy is the interface in subnet with the fewest connections, if one
// has fewer than the limit; turn breaks ties, so that environments spread
// over interfaces that carry nothing yet.
func (v *vpcStarter) leastBusy(enis []ec2.LambdaENI, subnet string, turn uint64) (string, bool) {
	var in []string
	for _, e := range enis {
		if e.SubnetID == subnet {
			in = append(in, e.ID)
		}
	}
	best, bestN := "", 0
	for i := range in {
		eni := in[(turn+uint64(i))%uint64(len(in))]
		n, err := v.s.cfg.Network.ConnectionCount(eni)
		if err != nil {
			// An interface moments old may have no namespace yet; one
			// that cannot be counted is taken to carry nothing rather
			// than to make Lambda add interfaces without end.
			v.s.log.Debug("count connections of a network interface", "eni", eni, "err", err)
			n = 0
		}
		if n < v.s.cfg.EniMaxConnections && (best == "" || n < bestN) {
			best, bestN = eni, n
		}
	}
	return best, best != ""
}

// addENI asks EC2 for one more interface of cfg's combination in subnet,
// unless another start added one meanwhile that still has room.
func (v *vpcStarter) addENI(id fnID, cfg *Config, holder, subnet string, turn uint64) (string, error) {
	v.grow.Lock()
	defer v.grow.Unlock()
	if eni, ok := v.leastBusy(v.s.cfg.VPC.LambdaENIsOf(id.Account, id.Region, holder), subnet, turn); ok {
		return eni, nil
	}
	e, err := v.s.cfg.VPC.AddLambdaENI(id.Account, id.Region, subnet, cfg.VPC.SecurityGroupIDs)
	if err == nil {
		v.s.log.Info("added a network interface: the others carry the most connections they may",
			"function", id.arn(), "subnet", subnet, "eni", e.ID, "max", v.s.cfg.EniMaxConnections)
		return e.ID, nil
	}
	var ee *ec2.ENIError
	if errors.As(err, &ee) {
		switch ee.Reason {
		case "EniLimitExceeded":
			return "", errENI("ENILimitReachedException", "%s", ee.Message)
		case "SubnetOutOfIPAddresses":
			return "", errENI("SubnetIPAddressLimitReachedException",
				"Lambda couldn't set up VPC access for the Lambda function because one or more configured subnets has no available IP addresses.")
		}
	}
	return "", errService("Lambda could not add a network interface for the function: %v", err)
}

// errENI is a failure to set up a function's VPC access at invocation.
func errENI(code, format string, args ...any) *awswire.Error {
	e := awswire.Errorf(http.StatusBadGateway, code, format, args...)
	e.MessageKey = "Message"
	return e
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
