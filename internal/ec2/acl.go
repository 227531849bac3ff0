package ec2

import (
	"slices"
	"strconv"
	"strings"
)

// NetworkACL is a VPC network ACL. Every subnet is associated with exactly
// one; a new subnet gets its VPC's default ACL.
type NetworkACL struct {
	Meta
	VpcID        string           `json:"vpc"`
	IsDefault    bool             `json:"isDefault,omitempty"`
	Entries      []ACLEntry       `json:"entries"`
	Associations []ACLAssociation `json:"assocs,omitempty"`
	// ClientToken makes CreateNetworkAcl idempotent.
	ClientToken string `json:"token,omitempty"`
}

// ACLEntry is one numbered rule; rule 32767 is the final deny AWS shows.
type ACLEntry struct {
	RuleNumber    int32  `json:"n"`
	Egress        bool   `json:"egress"`
	Protocol      string `json:"proto"` // "-1" or a protocol number ("6" tcp, "17" udp, "1" icmp)
	Allow         bool   `json:"allow"`
	CidrBlock     string `json:"cidr"` // "" when the entry is for an IPv6 range
	Ipv6CidrBlock string `json:"cidr6,omitempty"`
	FromPort      *int32 `json:"from,omitempty"`
	ToPort        *int32 `json:"to,omitempty"`
	IcmpType      *int32 `json:"icmpType,omitempty"`
	IcmpCode      *int32 `json:"icmpCode,omitempty"`
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
	handle("CreateNetworkAcl", createNetworkACL)
	handle("DescribeNetworkAcls", describeNetworkACLs)
	handle("DeleteNetworkAcl", deleteNetworkACL)
	handle("CreateNetworkAclEntry", func(c *call) (any, error) { return putACLEntry(c, false) })
	handle("ReplaceNetworkAclEntry", func(c *call) (any, error) { return putACLEntry(c, true) })
	handle("DeleteNetworkAclEntry", deleteNetworkACLEntry)
	handle("ReplaceNetworkAclAssociation", replaceNetworkACLAssociation)
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

// sortedEntries is the order AWS lists entries in: egress first, then
// ingress, each by rule number.
func (a *NetworkACL) sortedEntries() []ACLEntry {
	out := slices.Clone(a.Entries)
	slices.SortStableFunc(out, func(x, y ACLEntry) int {
		if x.Egress != y.Egress {
			if x.Egress {
				return -1
			}
			return 1
		}
		return int(x.RuleNumber) - int(y.RuleNumber)
	})
	return out
}

// --- XML ---

type aclIcmpXML struct {
	Code int32 `xml:"code"`
	Type int32 `xml:"type"`
}

type aclPortRangeXML struct {
	From int32 `xml:"from"`
	To   int32 `xml:"to"`
}

type aclEntryXML struct {
	RuleNumber    int32            `xml:"ruleNumber"`
	Protocol      string           `xml:"protocol"`
	RuleAction    string           `xml:"ruleAction"`
	Egress        bool             `xml:"egress"`
	CidrBlock     string           `xml:"cidrBlock,omitempty"`
	Ipv6CidrBlock string           `xml:"ipv6CidrBlock,omitempty"`
	IcmpTypeCode  *aclIcmpXML      `xml:"icmpTypeCode,omitempty"`
	PortRange     *aclPortRangeXML `xml:"portRange,omitempty"`
}

type aclAssocXML struct {
	ID           string `xml:"networkAclAssociationId"`
	NetworkACLID string `xml:"networkAclId"`
	SubnetID     string `xml:"subnetId"`
}

type networkACLXML struct {
	NetworkACLID string            `xml:"networkAclId"`
	VpcID        string            `xml:"vpcId"`
	IsDefault    bool              `xml:"default"`
	Entries      List[aclEntryXML] `xml:"entrySet"`
	Associations List[aclAssocXML] `xml:"associationSet"`
	Tags         []Tag             `xml:"tagSet>item,omitempty"`
	OwnerID      string            `xml:"ownerId"`
}

func (e ACLEntry) action() string {
	if e.Allow {
		return "allow"
	}
	return "deny"
}

func (e ACLEntry) xml() aclEntryXML {
	x := aclEntryXML{RuleNumber: e.RuleNumber, Protocol: e.Protocol, RuleAction: e.action(), Egress: e.Egress,
		CidrBlock: e.CidrBlock, Ipv6CidrBlock: e.Ipv6CidrBlock}
	if e.IcmpType != nil {
		x.IcmpTypeCode = &aclIcmpXML{Code: *e.IcmpCode, Type: *e.IcmpType}
	}
	if e.FromPort != nil {
		x.PortRange = &aclPortRangeXML{From: *e.FromPort, To: *e.ToPort}
	}
	return x
}

func (a *NetworkACL) xml() networkACLXML {
	x := networkACLXML{NetworkACLID: a.ID, VpcID: a.VpcID, IsDefault: a.IsDefault, Entries: List[aclEntryXML]{},
		Associations: List[aclAssocXML]{}, Tags: a.Tags, OwnerID: a.Owner}
	for _, e := range a.sortedEntries() {
		x.Entries = append(x.Entries, e.xml())
	}
	for _, as := range a.Associations {
		x.Associations = append(x.Associations, aclAssocXML{ID: as.ID, NetworkACLID: a.ID, SubnetID: as.SubnetID})
	}
	return x
}

// --- CreateNetworkAcl ---

type createNetworkACLInput struct {
	DryRun            bool
	VpcID             string `ec2:"VpcId"`
	ClientToken       string
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type createNetworkACLOutput struct {
	NetworkACL  networkACLXML `xml:"networkAcl"`
	ClientToken string        `xml:"clientToken,omitempty"`
}

func createNetworkACL(c *call) (any, error) {
	var in createNetworkACLInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	tags, err := tagsFor(kindACL, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("network-acl", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var acl *NetworkACL
	err = c.s.write(c, func(t *txn) error {
		if in.ClientToken != "" {
			for _, a := range all[*NetworkACL](t, kindACL, c.acct, c.region) {
				if a.ClientToken != in.ClientToken {
					continue
				}
				if a.VpcID != in.VpcID {
					return apiError("IdempotentParameterMismatch", "The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.")
				}
				acl = a
				return nil
			}
		}
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		acl = newNetworkACL(c, v, false, tags)
		acl.ClientToken = in.ClientToken
		t.put(acl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return createNetworkACLOutput{NetworkACL: acl.xml(), ClientToken: in.ClientToken}, nil
}

// --- DescribeNetworkAcls ---

type describeNetworkACLsInput struct {
	DryRun        bool
	NetworkACLIDs []string `ec2:"NetworkAclId"`
	Filters       []Filter `ec2:"Filter"`
	MaxResults    *int32
	NextToken     string
}

type describeNetworkACLsOutput struct {
	NetworkACLs List[networkACLXML] `xml:"networkAclSet"`
	NextToken   string              `xml:"nextToken,omitempty"`
}

// aclEntryValues collects one value per entry for an entry.* filter.
func aclEntryValues(f func(ACLEntry) []string) func(*NetworkACL) []string {
	return func(a *NetworkACL) []string {
		var out []string
		for _, e := range a.Entries {
			out = append(out, f(e)...)
		}
		return out
	}
}

func aclAssocValues(f func(*NetworkACL, ACLAssociation) string) func(*NetworkACL) []string {
	return func(a *NetworkACL) []string {
		var out []string
		for _, as := range a.Associations {
			out = append(out, f(a, as))
		}
		return out
	}
}

func aclOptInt(p *int32) []string {
	if p == nil {
		return nil
	}
	return one(strconv.Itoa(int(*p)))
}

// aclProtocolNames are the names entry.protocol matches besides numbers.
var aclProtocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "all"}

var aclProtocolNumbers = map[string]string{"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}

var networkACLFilters = filters[*NetworkACL]{
	"network-acl-id":             func(a *NetworkACL) string { return a.ID },
	"vpc-id":                     func(a *NetworkACL) string { return a.VpcID },
	"default":                    func(a *NetworkACL) []string { return boolValue(a.IsDefault) },
	"owner-id":                   func(a *NetworkACL) string { return a.Owner },
	"association.association-id": aclAssocValues(func(_ *NetworkACL, as ACLAssociation) string { return as.ID }),
	"association.network-acl-id": aclAssocValues(func(a *NetworkACL, _ ACLAssociation) string { return a.ID }),
	"association.subnet-id":      aclAssocValues(func(_ *NetworkACL, as ACLAssociation) string { return as.SubnetID }),
	"entry.cidr": aclEntryValues(func(e ACLEntry) []string {
		if e.CidrBlock == "" {
			return nil
		}
		return one(e.CidrBlock)
	}),
	"entry.ipv6-cidr": aclEntryValues(func(e ACLEntry) []string {
		if e.Ipv6CidrBlock == "" {
			return nil
		}
		return one(e.Ipv6CidrBlock)
	}),
	"entry.icmp.code":       aclEntryValues(func(e ACLEntry) []string { return aclOptInt(e.IcmpCode) }),
	"entry.icmp.type":       aclEntryValues(func(e ACLEntry) []string { return aclOptInt(e.IcmpType) }),
	"entry.port-range.from": aclEntryValues(func(e ACLEntry) []string { return aclOptInt(e.FromPort) }),
	"entry.port-range.to":   aclEntryValues(func(e ACLEntry) []string { return aclOptInt(e.ToPort) }),
	"entry.protocol": aclEntryValues(func(e ACLEntry) []string {
		if name, ok := aclProtocolNames[e.Protocol]; ok {
			return []string{e.Protocol, name}
		}
		return one(e.Protocol)
	}),
	"entry.rule-action": aclEntryValues(func(e ACLEntry) []string { return one(e.action()) }),
	"entry.egress":      aclEntryValues(func(e ACLEntry) []string { return boolValue(e.Egress) }),
	"entry.rule-number": aclEntryValues(func(e ACLEntry) []string { return one(strconv.Itoa(int(e.RuleNumber))) }),
}

func describeNetworkACLs(c *call) (any, error) {
	var in describeNetworkACLsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := refuseMalformed(kindACL, in.NetworkACLIDs); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	out := describeNetworkACLsOutput{NetworkACLs: List[networkACLXML]{}}
	err := c.s.read(c, func(t *txn) error {
		acls, err := selectResources(c, t, kindACL, in.NetworkACLIDs, in.Filters, networkACLFilters)
		if err != nil {
			return err
		}
		slices.SortFunc(acls, func(a, b *NetworkACL) int { return strings.Compare(a.ID, b.ID) })
		acls, out.NextToken, err = page(acls, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, a := range acls {
			out.NetworkACLs = append(out.NetworkACLs, a.xml())
		}
		return nil
	})
	return out, err
}

// --- DeleteNetworkAcl ---

type networkACLIDInput struct {
	DryRun       bool
	NetworkACLID string `ec2:"NetworkAclId"`
}

func deleteNetworkACL(c *call) (any, error) {
	var in networkACLIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkACLID == "" {
		return nil, errMissing("NetworkAclId")
	}
	if err := c.authorize(c.arn("network-acl", in.NetworkACLID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		a, err := mustFind[*NetworkACL](c, t, kindACL, in.NetworkACLID)
		if err != nil {
			return err
		}
		if a.IsDefault {
			return errInvalidParam("cannot delete default network ACL %s", a.ID)
		}
		if len(a.Associations) > 0 {
			return errDependency("The network ACL '%s' has dependencies and cannot be deleted.", a.ID)
		}
		t.del(a.ID)
		return nil
	})
}

// --- Create/Replace/DeleteNetworkAclEntry ---

type aclIcmpInput struct {
	Code *int32
	Type *int32
}

type aclPortRangeInput struct {
	From *int32
	To   *int32
}

type aclEntryInput struct {
	DryRun        bool
	NetworkACLID  string `ec2:"NetworkAclId"`
	RuleNumber    *int32
	Protocol      *string
	RuleAction    *string
	Egress        bool
	CidrBlock     string
	Ipv6CidrBlock string
	Icmp          *aclIcmpInput
	PortRange     *aclPortRangeInput
}

// checkRuleNumber refuses numbers outside what users may number rules.
func checkRuleNumber(n *int32) error {
	if n == nil {
		return errMissing("RuleNumber")
	}
	if *n < 1 || *n > finalRule-1 {
		return errInvalidParam("Value (%d) for parameter ruleNumber is invalid. Rule numbers must be between 1 and 32766.", *n)
	}
	return nil
}

// aclProtocol puts an entry's protocol in the form AWS stores: "-1" or the
// protocol number.
func aclProtocol(p string) (string, error) {
	name, err := sgProtocol(p)
	if err != nil {
		return "", err
	}
	if num, ok := aclProtocolNumbers[name]; ok {
		return num, nil
	}
	return name, nil
}

// entry validates the request and returns the entry it describes.
func (in *aclEntryInput) entry() (ACLEntry, error) {
	if err := checkRuleNumber(in.RuleNumber); err != nil {
		return ACLEntry{}, err
	}
	if in.Protocol == nil || *in.Protocol == "" {
		return ACLEntry{}, errMissing("Protocol")
	}
	if in.RuleAction == nil || *in.RuleAction == "" {
		return ACLEntry{}, errMissing("RuleAction")
	}
	e := ACLEntry{RuleNumber: *in.RuleNumber, Egress: in.Egress}
	switch *in.RuleAction {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return ACLEntry{}, errInvalidParam("Value (%s) for parameter ruleAction is invalid. Valid values are: allow, deny.", *in.RuleAction)
	}
	proto, err := aclProtocol(*in.Protocol)
	if err != nil {
		return ACLEntry{}, err
	}
	e.Protocol = proto
	switch {
	case in.CidrBlock != "" && in.Ipv6CidrBlock != "":
		return ACLEntry{}, errCombination("You may specify either an IPv4 CIDR block or an IPv6 CIDR block, not both.")
	case in.CidrBlock != "":
		c, err := sgCIDR(in.CidrBlock, false)
		if err != nil {
			return ACLEntry{}, errInvalidParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", in.CidrBlock)
		}
		e.CidrBlock = c
	case in.Ipv6CidrBlock != "":
		c, err := sgCIDR(in.Ipv6CidrBlock, true)
		if err != nil {
			return ACLEntry{}, errInvalidParam("Value (%s) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.", in.Ipv6CidrBlock)
		}
		e.Ipv6CidrBlock = c
	default:
		return ACLEntry{}, errMissing("cidrBlock or ipv6CidrBlock")
	}
	switch e.Protocol {
	case "6", "17":
		if in.PortRange == nil || in.PortRange.From == nil || in.PortRange.To == nil {
			return ACLEntry{}, errMissing("portRange")
		}
		from, to := *in.PortRange.From, *in.PortRange.To
		for _, p := range []int32{from, to} {
			if p < 0 || p > 65535 {
				return ACLEntry{}, errInvalidParam("Value (%d) for parameter portRange is invalid. Ports must be between 0 and 65535.", p)
			}
		}
		if from > to {
			return ACLEntry{}, errInvalidParam("Value (%d:%d) for parameter portRange is invalid. The from port must not be greater than the to port.", from, to)
		}
		e.FromPort, e.ToPort = &from, &to
	case "1", "58":
		// ICMPv6 for an IPv4 range covers every type and code, as AWS
		// documents, so it needs none.
		if e.Protocol == "58" && e.CidrBlock != "" {
			break
		}
		if in.Icmp == nil || in.Icmp.Type == nil || in.Icmp.Code == nil {
			return ACLEntry{}, errMissing("icmpTypeCode")
		}
		typ, code := *in.Icmp.Type, *in.Icmp.Code
		if typ < -1 || typ > 255 {
			return ACLEntry{}, errInvalidParam("Value (%d) for parameter icmpTypeCode.type is invalid.", typ)
		}
		if code < -1 || code > 255 {
			return ACLEntry{}, errInvalidParam("Value (%d) for parameter icmpTypeCode.code is invalid.", code)
		}
		e.IcmpType, e.IcmpCode = &typ, &code
	}
	return e, nil
}

func putACLEntry(c *call, replace bool) (any, error) {
	var in aclEntryInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkACLID == "" {
		return nil, errMissing("NetworkAclId")
	}
	e, err := in.entry()
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("network-acl", in.NetworkACLID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		a, err := mustEdit[*NetworkACL](c, t, kindACL, in.NetworkACLID)
		if err != nil {
			return err
		}
		i := a.entryAt(e.RuleNumber, e.Egress)
		switch {
		case replace && i < 0:
			return errACLEntryNotFound(a.ID, e)
		case replace:
			a.Entries[i] = e
		case i >= 0:
			return apiError("NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", e.RuleNumber)
		default:
			a.Entries = append(a.Entries, e)
		}
		return nil
	})
}

// entryAt is the index of the entry with rule number n in one direction,
// or -1.
func (a *NetworkACL) entryAt(n int32, egress bool) int {
	return slices.IndexFunc(a.Entries, func(e ACLEntry) bool { return e.RuleNumber == n && e.Egress == egress })
}

func errACLEntryNotFound(aclID string, e ACLEntry) error {
	dir := "ingress"
	if e.Egress {
		dir = "egress"
	}
	return apiError("InvalidNetworkAclEntry.NotFound", "No %s entry with rule number %d exists in network ACL %s.", dir, e.RuleNumber, aclID)
}

type deleteACLEntryInput struct {
	DryRun       bool
	NetworkACLID string `ec2:"NetworkAclId"`
	RuleNumber   *int32
	Egress       bool
}

func deleteNetworkACLEntry(c *call) (any, error) {
	var in deleteACLEntryInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkACLID == "" {
		return nil, errMissing("NetworkAclId")
	}
	if err := checkRuleNumber(in.RuleNumber); err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("network-acl", in.NetworkACLID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		a, err := mustEdit[*NetworkACL](c, t, kindACL, in.NetworkACLID)
		if err != nil {
			return err
		}
		i := a.entryAt(*in.RuleNumber, in.Egress)
		if i < 0 {
			return errACLEntryNotFound(a.ID, ACLEntry{RuleNumber: *in.RuleNumber, Egress: in.Egress})
		}
		a.Entries = slices.Delete(a.Entries, i, i+1)
		return nil
	})
}

// --- ReplaceNetworkAclAssociation ---

type replaceACLAssociationInput struct {
	DryRun        bool
	AssociationID string `ec2:"AssociationId"`
	NetworkACLID  string `ec2:"NetworkAclId"`
}

type replaceACLAssociationOutput struct {
	NewAssociationID string `xml:"newAssociationId"`
}

func replaceNetworkACLAssociation(c *call) (any, error) {
	var in replaceACLAssociationInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AssociationID == "" {
		return nil, errMissing("AssociationId")
	}
	if in.NetworkACLID == "" {
		return nil, errMissing("NetworkAclId")
	}
	if err := c.authorize(c.arn("network-acl", in.NetworkACLID), in.DryRun); err != nil {
		return nil, err
	}
	var out replaceACLAssociationOutput
	err := c.s.write(c, func(t *txn) error {
		to, err := mustFind[*NetworkACL](c, t, kindACL, in.NetworkACLID)
		if err != nil {
			return err
		}
		var from *NetworkACL
		var subnet string
		for _, a := range all[*NetworkACL](t, kindACL, c.acct, c.region) {
			for _, as := range a.Associations {
				if as.ID == in.AssociationID {
					from, subnet = a, as.SubnetID
				}
			}
		}
		if from == nil {
			return apiError("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID)
		}
		if from.VpcID != to.VpcID {
			return errInvalidParam("Network ACL %s and subnet %s belong to different networks.", to.ID, subnet)
		}
		old := editAs[*NetworkACL](t, from.ID)
		old.Associations = deleteACLAssoc(old.Associations, in.AssociationID)
		out.NewAssociationID = "aclassoc-" + randHex(17)
		next := editAs[*NetworkACL](t, to.ID)
		next.Associations = append(next.Associations, ACLAssociation{ID: out.NewAssociationID, SubnetID: subnet})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
