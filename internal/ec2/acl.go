package ec2

// NetworkACL is a VPC network ACL. Every subnet is associated with exactly
// one; a new subnet gets its VPC's default ACL.
type NetworkACL struct {
	Meta
	VpcID        string           `json:"vpc"`
	IsDefault    bool             `json:"isDefault,omitempty"`
	Entries      []ACLEntry       `json:"entries"`
	Associations []ACLAssociation `json:"assocs,omitempty"`
}

// ACLEntry is one numbered rule; rule 32767 is the final deny AWS shows.
type ACLEntry struct {
	RuleNumber int32  `json:"n"`
	Egress     bool   `json:"egress"`
	Protocol   string `json:"proto"` // "-1" or a protocol number ("6" tcp, "17" udp, "1" icmp)
	Allow      bool   `json:"allow"`
	CidrBlock  string `json:"cidr"`
	FromPort   *int32 `json:"from,omitempty"`
	ToPort     *int32 `json:"to,omitempty"`
	IcmpType   *int32 `json:"icmpType,omitempty"`
	IcmpCode   *int32 `json:"icmpCode,omitempty"`
}

// ACLAssociation ties a network ACL to a subnet.
type ACLAssociation struct {
	ID       string `json:"id"` // aclassoc-...
	SubnetID string `json:"subnet"`
}

func (a *NetworkACL) vpcID() string { return a.VpcID }

// finalRule is the number of the implicit deny-all rule.
const finalRule = 32767

func init() {
	registerKind(kindACL, func() resource { return new(NetworkACL) })
}

// newNetworkACL makes an ACL of v (not yet recorded). A VPC's default ACL
// allows everything both ways; any other starts denying everything.
func newNetworkACL(c *call, v *Vpc, isDefault bool, tags []Tag) *NetworkACL {
	a := &NetworkACL{Meta: c.meta(kindACL, tags), VpcID: v.ID, IsDefault: isDefault}
	for _, egress := range []bool{false, true} {
		if isDefault {
			a.Entries = append(a.Entries, ACLEntry{RuleNumber: 100, Egress: egress, Protocol: "-1", Allow: true, CidrBlock: "0.0.0.0/0"})
		}
		a.Entries = append(a.Entries, ACLEntry{RuleNumber: finalRule, Egress: egress, Protocol: "-1", CidrBlock: "0.0.0.0/0"})
	}
	return a
}

func deleteACLAssoc(as []ACLAssociation, id string) []ACLAssociation {
	out := as[:0:0]
	for _, a := range as {
		if a.ID != id {
			out = append(out, a)
		}
	}
	return out
}
