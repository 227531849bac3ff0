package ec2

// SecurityGroup is a VPC security group. Each rule is stored on its own
// (one protocol, port range and source), as DescribeSecurityGroupRules
// shows them; DescribeSecurityGroups groups them into IpPermissions.
type SecurityGroup struct {
	Meta
	VpcID       string   `json:"vpc"`
	Name        string   `json:"name"`
	Description string   `json:"desc"`
	Ingress     []SGRule `json:"in,omitempty"`
	Egress      []SGRule `json:"out,omitempty"`
}

// SGRule is one security group rule. Exactly one source is set.
type SGRule struct {
	ID           string `json:"id"`    // sgr-...
	Protocol     string `json:"proto"` // "-1", "tcp", "udp", "icmp", or a protocol number
	FromPort     int32  `json:"from"`  // -1 when the protocol has no ports
	ToPort       int32  `json:"to"`
	CidrIPv4     string `json:"cidr,omitempty"`
	CidrIPv6     string `json:"cidr6,omitempty"`
	PrefixListID string `json:"pl,omitempty"`
	GroupID      string `json:"group,omitempty"` // a referenced group
	GroupOwner   string `json:"groupOwner,omitempty"`
	Description  string `json:"desc,omitempty"`
}

func (g *SecurityGroup) vpcID() string { return g.VpcID }

func init() {
	registerKind(kindSG, func() resource { return new(SecurityGroup) })
}

// newDefaultSecurityGroup makes v's default group (not yet recorded): its
// members may talk to each other, and everything may go out.
func newDefaultSecurityGroup(c *call, v *Vpc) *SecurityGroup {
	g := &SecurityGroup{Meta: c.meta(kindSG, nil), VpcID: v.ID, Name: "default", Description: "default VPC security group"}
	g.Ingress = []SGRule{{ID: newID(kindSGRule), Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: g.ID, GroupOwner: c.acct}}
	g.Egress = []SGRule{allowAllEgress()}
	return g
}

// allowAllEgress is the egress rule every new group starts with.
func allowAllEgress() SGRule {
	return SGRule{ID: newID(kindSGRule), Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}
}
