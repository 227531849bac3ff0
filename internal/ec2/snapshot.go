package ec2

import "github.com/lambdaplane/lambdaplane/internal/store"

// Snapshot is every EC2 resource of every account and region at one store
// revision, for the controllers that realize the network. The values are
// the service's own published objects: read them, never change them.
type Snapshot struct {
	Rev               int64
	Vpcs              []*Vpc
	Subnets           []*Subnet
	SecurityGroups    []*SecurityGroup
	NetworkACLs       []*NetworkACL
	RouteTables       []*RouteTable
	InternetGateways  []*InternetGateway
	Addresses         []*Address
	NatGateways       []*NatGateway
	NetworkInterfaces []*NetworkInterface
	Endpoints         []*Endpoint
	Peerings          []*Peering
	Instances         []*Instance
}

// Snapshot returns the current state.
func (s *Service) Snapshot() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := Snapshot{Rev: s.st.Rev()}
	st := s.state
	collect(st, kindVpc, &out.Vpcs)
	collect(st, kindSubnet, &out.Subnets)
	collect(st, kindSG, &out.SecurityGroups)
	collect(st, kindACL, &out.NetworkACLs)
	collect(st, kindRTB, &out.RouteTables)
	collect(st, kindIGW, &out.InternetGateways)
	collect(st, kindEIP, &out.Addresses)
	collect(st, kindNAT, &out.NatGateways)
	collect(st, kindENI, &out.NetworkInterfaces)
	collect(st, kindEndpoint, &out.Endpoints)
	collect(st, kindPeering, &out.Peerings)
	collect(st, kindInstance, &out.Instances)
	return out
}

func collect[T resource](st *state, k kind, out *[]T) {
	for _, r := range st.sorted[k] {
		if v, ok := r.(T); ok {
			*out = append(*out, v)
		}
	}
}

// Store is the store the service keeps its state in; controllers watch
// StorePrefix in it to learn that the state changed.
func (s *Service) Store() store.Store { return s.st }
