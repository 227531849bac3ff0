package ec2

// Endpoint is a VPC endpoint.
type Endpoint struct {
	Meta
	VpcID       string `json:"vpc"`
	ServiceName string `json:"service"`
	Type        string `json:"type"`  // Interface, Gateway
	State       string `json:"state"` // pending, available, deleting, deleted
	PrivateDNS  bool   `json:"privateDns,omitempty"`
}

func (e *Endpoint) vpcID() string { return e.VpcID }
func (e *Endpoint) isGone() bool  { return e.State == "deleted" }

func init() {
	registerKind(kindEndpoint, func() resource { return new(Endpoint) })
}

// privateDNSInUse reports whether an endpoint of the VPC has private DNS
// on, which needs both of the VPC's DNS attributes.
func privateDNSInUse(t *txn, vpcID string) bool {
	return anyOf(t, kindEndpoint, func(e *Endpoint) bool { return e.VpcID == vpcID && e.PrivateDNS && !e.isGone() })
}
