package ec2

// Peering is a VPC peering connection; both sides' accounts see it.
type Peering struct {
	Meta
	RequesterVpcID string `json:"reqVpc"`
	AccepterVpcID  string `json:"accVpc"`
	Status         string `json:"status"`
}

func (p *Peering) isGone() bool {
	return p.Status == "deleted" || p.Status == "rejected" || p.Status == "expired" || p.Status == "failed"
}

func init() {
	registerKind(kindPeering, func() resource { return new(Peering) })
}

// peeringBlocks reports whether r, a peering connection, keeps the VPC
// from being deleted.
func peeringBlocks(r resource, vpcID string) bool {
	p, ok := r.(*Peering)
	return ok && !p.isGone() && (p.RequesterVpcID == vpcID || p.AccepterVpcID == vpcID) && p.Status == "active"
}
