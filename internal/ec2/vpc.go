package ec2

import (
	"net/netip"
	"slices"
)

// Vpc is a VPC. The main route table, default security group and default
// network ACL are made with it and deleted with it.
type Vpc struct {
	Meta
	CidrBlock        string            `json:"cidr"`
	CidrAssociations []CidrAssociation `json:"cidrs"` // the primary first
	Tenancy          string            `json:"tenancy"`
	IsDefault        bool              `json:"isDefault,omitempty"`
	DNSSupport       bool              `json:"dnsSupport"`
	DNSHostnames     bool              `json:"dnsHostnames"`
	DhcpOptionsID    string            `json:"dopt"`
	MainRouteTableID string            `json:"mainRtb"`
	DefaultGroupID   string            `json:"defaultSg"`
	DefaultACLID     string            `json:"defaultAcl"`
}

// CidrAssociation is one IPv4 range of a VPC.
type CidrAssociation struct {
	ID        string `json:"id"` // vpc-cidr-assoc-...
	CidrBlock string `json:"cidr"`
}

func init() {
	registerKind(kindVpc, func() resource { return new(Vpc) })
	handle("CreateVpc", createVpc)
	handle("DescribeVpcs", describeVpcs)
	handle("DeleteVpc", deleteVpc)
	handle("ModifyVpcAttribute", modifyVpcAttribute)
	handle("DescribeVpcAttribute", describeVpcAttribute)
	handle("AssociateVpcCidrBlock", associateVpcCidrBlock)
	handle("DisassociateVpcCidrBlock", disassociateVpcCidrBlock)
	handle("CreateDefaultVpc", createDefaultVpc)
}

// prefixes are the VPC's IPv4 ranges.
func (v *Vpc) prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(v.CidrAssociations))
	for _, a := range v.CidrAssociations {
		out = append(out, netip.MustParsePrefix(a.CidrBlock))
	}
	return out
}

// containsPrefix reports whether one of the VPC's ranges holds p.
func (v *Vpc) containsPrefix(p netip.Prefix) bool {
	for _, vp := range v.prefixes() {
		if contains(vp, p) {
			return true
		}
	}
	return false
}

type cidrStateXML struct {
	State string `xml:"state"`
}

type cidrAssocXML struct {
	AssociationID string       `xml:"associationId"`
	CidrBlock     string       `xml:"cidrBlock"`
	State         cidrStateXML `xml:"cidrBlockState"`
}

type vpcXML struct {
	VpcID            string             `xml:"vpcId"`
	OwnerID          string             `xml:"ownerId"`
	State            string             `xml:"state"`
	CidrBlock        string             `xml:"cidrBlock"`
	CidrAssociations List[cidrAssocXML] `xml:"cidrBlockAssociationSet"`
	Ipv6Associations List[xs]           `xml:"ipv6CidrBlockAssociationSet"`
	DhcpOptionsID    string             `xml:"dhcpOptionsId"`
	InstanceTenancy  string             `xml:"instanceTenancy"`
	IsDefault        bool               `xml:"isDefault"`
	Tags             []Tag              `xml:"tagSet>item,omitempty"`
}

func (v *Vpc) xml(state string) vpcXML {
	x := vpcXML{VpcID: v.ID, OwnerID: v.Owner, State: state, CidrBlock: v.CidrBlock, DhcpOptionsID: v.DhcpOptionsID,
		InstanceTenancy: v.Tenancy, IsDefault: v.IsDefault, Tags: v.Tags}
	for _, a := range v.CidrAssociations {
		x.CidrAssociations = append(x.CidrAssociations, cidrAssocXML{AssociationID: a.ID, CidrBlock: a.CidrBlock, State: cidrStateXML{"associated"}})
	}
	return x
}

var vpcFilters = filters[*Vpc]{
	"vpc-id":     func(v *Vpc) string { return v.ID },
	"cidr":       func(v *Vpc) string { return v.CidrBlock },
	"cidr-block": func(v *Vpc) string { return v.CidrBlock },
	"cidr-block-association.cidr-block": func(v *Vpc) []string {
		var out []string
		for _, a := range v.CidrAssociations {
			out = append(out, a.CidrBlock)
		}
		return out
	},
	"cidr-block-association.association-id": func(v *Vpc) []string {
		var out []string
		for _, a := range v.CidrAssociations {
			out = append(out, a.ID)
		}
		return out
	},
	"cidr-block-association.state": func(v *Vpc) string { return "associated" },
	"dhcp-options-id":              func(v *Vpc) string { return v.DhcpOptionsID },
	"is-default":                   func(v *Vpc) []string { return boolValue(v.IsDefault) },
	"owner-id":                     func(v *Vpc) string { return v.Owner },
	"state":                        func(v *Vpc) string { return "available" },
	"instance-tenancy":             func(v *Vpc) string { return v.Tenancy },
}

// checkVpcCidr validates a VPC IPv4 range: a network address with a mask
// from /16 to /28.
func checkVpcCidr(s string) (netip.Prefix, error) {
	p, ok := parseCIDR(s)
	if !ok {
		return p, errInvalidParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", s)
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return p, apiError("InvalidVpc.Range", "The CIDR '%s' is invalid.", s)
	}
	return p, nil
}

type createVpcInput struct {
	DryRun                      bool
	CidrBlock                   string
	InstanceTenancy             string
	AmazonProvidedIpv6CidrBlock bool
	TagSpecifications           []TagSpecification `ec2:"TagSpecification"`
}

type createVpcOutput struct {
	Vpc vpcXML `xml:"vpc"`
}

func createVpc(c *call) (any, error) {
	var in createVpcInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.CidrBlock == "" {
		return nil, errMissing("CidrBlock")
	}
	if _, err := checkVpcCidr(in.CidrBlock); err != nil {
		return nil, err
	}
	switch in.InstanceTenancy {
	case "":
		in.InstanceTenancy = "default"
	case "default", "dedicated":
	case "host":
		return nil, errInvalidParam("The tenancy value host is not supported.")
	default:
		return nil, errInvalidParam("Value (%s) for parameter instanceTenancy is invalid. Valid values: default, dedicated", in.InstanceTenancy)
	}
	if in.AmazonProvidedIpv6CidrBlock {
		return nil, errInvalidParam("IPv6 CIDR blocks are not supported by lambdaplane yet.")
	}
	tags, err := tagsFor(kindVpc, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("vpc", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var v *Vpc
	err = c.s.write(c, func(t *txn) error {
		v = newVpc(c, t, in.CidrBlock, in.InstanceTenancy, tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return createVpcOutput{Vpc: v.xml("pending")}, nil
}

// newVpc records a VPC with its main route table, default security group
// and default network ACL.
func newVpc(c *call, t *txn, cidr, tenancy string, tags []Tag) *Vpc {
	v := &Vpc{Meta: c.meta(kindVpc, tags), CidrBlock: cidr, Tenancy: tenancy, DNSSupport: true,
		DhcpOptionsID:    "dopt-" + randHex(17),
		CidrAssociations: []CidrAssociation{{ID: "vpc-cidr-assoc-" + randHex(17), CidrBlock: cidr}}}
	rtb := newRouteTable(c, v, true, nil)
	sg := newDefaultSecurityGroup(c, v)
	acl := newNetworkACL(c, v, true, nil)
	v.MainRouteTableID, v.DefaultGroupID, v.DefaultACLID = rtb.ID, sg.ID, acl.ID
	t.put(v)
	t.put(rtb)
	t.put(sg)
	t.put(acl)
	return v
}

// meta starts the Meta of a new resource of the caller's.
func (c *call) meta(k kind, tags []Tag) Meta {
	return Meta{ID: newID(k), Owner: c.acct, Region: c.region, Tags: tags, Created: c.now}
}

type describeVpcsInput struct {
	DryRun     bool
	VpcIds     []string `ec2:"VpcId"`
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32
	NextToken  string
}

type describeVpcsOutput struct {
	Vpcs      List[vpcXML] `xml:"vpcSet"`
	NextToken string       `xml:"nextToken,omitempty"`
}

func describeVpcs(c *call) (any, error) {
	var in describeVpcsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeVpcsOutput
	err := c.s.read(c, func(t *txn) error {
		vpcs, err := selectResources(c, t, kindVpc, in.VpcIds, in.Filters, vpcFilters)
		if err != nil {
			return err
		}
		vpcs, out.NextToken, err = page(vpcs, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, v := range vpcs {
			out.Vpcs = append(out.Vpcs, v.xml("available"))
		}
		return nil
	})
	return out, err
}

type vpcIDInput struct {
	DryRun bool
	VpcID  string `ec2:"VpcId"`
}

func deleteVpc(c *call) (any, error) {
	var in vpcIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if err := c.authorize(c.arn("vpc", in.VpcID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		if vpcInUse(t, v) {
			return errDependency("The vpc '%s' has dependencies and cannot be deleted.", v.ID)
		}
		t.del(v.MainRouteTableID)
		t.del(v.DefaultGroupID)
		t.del(v.DefaultACLID)
		t.del(v.ID)
		return nil
	})
}

// vpcInUse reports whether anything other than the VPC's own main route
// table, default group and default ACL still lives in it or is attached to
// it.
func vpcInUse(t *txn, v *Vpc) bool {
	own := map[string]bool{v.MainRouteTableID: true, v.DefaultGroupID: true, v.DefaultACLID: true}
	for _, k := range []kind{kindSubnet, kindSG, kindACL, kindRTB, kindENI, kindEndpoint, kindNAT} {
		busy := anyOf(t, k, func(r resource) bool {
			return !own[r.meta().ID] && vpcOf(r) == v.ID && !gone(r)
		})
		if busy {
			return true
		}
	}
	if anyOf(t, kindIGW, func(g *InternetGateway) bool { return g.VpcID == v.ID }) {
		return true
	}
	return anyOf(t, kindPeering, func(p resource) bool { return peeringBlocks(p, v.ID) })
}

// inVpc is implemented by resources that live in one VPC.
type inVpc interface{ vpcID() string }

func vpcOf(r resource) string {
	if x, ok := r.(inVpc); ok {
		return x.vpcID()
	}
	return ""
}

func (v *Vpc) vpcID() string { return v.ID }

// finished is implemented by resources that stay visible for a while after
// they are deleted (NAT gateways, endpoints, peering connections).
type finished interface{ isGone() bool }

func gone(r resource) bool {
	if x, ok := r.(finished); ok {
		return x.isGone()
	}
	return false
}

type vpcAttrValue struct {
	Value *bool
}

type modifyVpcAttributeInput struct {
	VpcID                            string        `ec2:"VpcId"`
	EnableDNSSupport                 *vpcAttrValue `ec2:"EnableDnsSupport"`
	EnableDNSHostnames               *vpcAttrValue `ec2:"EnableDnsHostnames"`
	EnableNetworkAddressUsageMetrics *vpcAttrValue
}

func modifyVpcAttribute(c *call) (any, error) {
	var in modifyVpcAttributeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	n := 0
	for _, a := range []*vpcAttrValue{in.EnableDNSSupport, in.EnableDNSHostnames, in.EnableNetworkAddressUsageMetrics} {
		if a != nil {
			if a.Value == nil {
				return nil, errMissing("Value")
			}
			n++
		}
	}
	if n == 0 {
		return nil, errMissing("Attribute")
	}
	if n > 1 {
		return nil, errCombination("Fields for multiple attribute types specified: enableDnsSupport, enableDnsHostnames")
	}
	if err := c.authorize(c.arn("vpc", in.VpcID), false); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		v, err := mustEdit[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		switch {
		case in.EnableDNSSupport != nil:
			if !*in.EnableDNSSupport.Value && v.DNSHostnames {
				return errInvalidParam("Cannot disable DNS support while DNS hostnames are enabled. Disable DNS hostnames first.")
			}
			if !*in.EnableDNSSupport.Value && privateDNSInUse(t, v.ID) {
				return errInvalidParam("Cannot disable DNS support while a VPC endpoint with private DNS is associated with the VPC.")
			}
			v.DNSSupport = *in.EnableDNSSupport.Value
		case in.EnableDNSHostnames != nil:
			if *in.EnableDNSHostnames.Value && !v.DNSSupport {
				return errInvalidParam("Cannot enable DNS hostnames without DNS support enabled.")
			}
			if !*in.EnableDNSHostnames.Value && privateDNSInUse(t, v.ID) {
				return errInvalidParam("Cannot disable DNS hostnames while a VPC endpoint with private DNS is associated with the VPC.")
			}
			v.DNSHostnames = *in.EnableDNSHostnames.Value
		}
		return nil
	})
}

type describeVpcAttributeInput struct {
	DryRun    bool
	VpcID     string `ec2:"VpcId"`
	Attribute string
}

type attrBoolXML struct {
	Value bool `xml:"value"`
}

type describeVpcAttributeOutput struct {
	VpcID              string       `xml:"vpcId"`
	EnableDNSSupport   *attrBoolXML `xml:"enableDnsSupport,omitempty"`
	EnableDNSHostnames *attrBoolXML `xml:"enableDnsHostnames,omitempty"`
	EnableNAUMetrics   *attrBoolXML `xml:"enableNetworkAddressUsageMetrics,omitempty"`
}

func describeVpcAttribute(c *call) (any, error) {
	var in describeVpcAttributeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if in.Attribute == "" {
		return nil, errMissing("Attribute")
	}
	if err := c.authorize(c.arn("vpc", in.VpcID), in.DryRun); err != nil {
		return nil, err
	}
	out := describeVpcAttributeOutput{VpcID: in.VpcID}
	err := c.s.read(c, func(t *txn) error {
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		switch in.Attribute {
		case "enableDnsSupport":
			out.EnableDNSSupport = &attrBoolXML{v.DNSSupport}
		case "enableDnsHostnames":
			out.EnableDNSHostnames = &attrBoolXML{v.DNSHostnames}
		case "enableNetworkAddressUsageMetrics":
			out.EnableNAUMetrics = &attrBoolXML{false}
		default:
			return errInvalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
		}
		return nil
	})
	return out, err
}

type associateVpcCidrInput struct {
	VpcID     string `ec2:"VpcId"`
	CidrBlock string
}

type associateVpcCidrOutput struct {
	VpcID       string       `xml:"vpcId"`
	Association cidrAssocXML `xml:"cidrBlockAssociation"`
}

// maxVpcCidrs is AWS's default quota of IPv4 ranges per VPC.
const maxVpcCidrs = 5

func associateVpcCidrBlock(c *call) (any, error) {
	var in associateVpcCidrInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if in.CidrBlock == "" {
		return nil, errInvalidParam("Either the parameter CidrBlock or AmazonProvidedIpv6CidrBlock must be specified.")
	}
	p, err := checkVpcCidr(in.CidrBlock)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("vpc", in.VpcID), false); err != nil {
		return nil, err
	}
	var assoc CidrAssociation
	err = c.s.write(c, func(t *txn) error {
		v, err := mustEdit[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		for _, have := range v.prefixes() {
			if overlaps(have, p) {
				return apiError("InvalidVpc.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
			}
		}
		if len(v.CidrAssociations) >= maxVpcCidrs {
			return apiError("CidrLimitExceeded", "This network '%s' has met its maximum number of allowed CIDRs: %d", v.ID, maxVpcCidrs)
		}
		assoc = CidrAssociation{ID: "vpc-cidr-assoc-" + randHex(17), CidrBlock: p.String()}
		v.CidrAssociations = append(v.CidrAssociations, assoc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return associateVpcCidrOutput{VpcID: in.VpcID, Association: cidrAssocXML{AssociationID: assoc.ID, CidrBlock: assoc.CidrBlock, State: cidrStateXML{"associating"}}}, nil
}

type disassociateVpcCidrInput struct {
	AssociationID string `ec2:"AssociationId"`
}

func disassociateVpcCidrBlock(c *call) (any, error) {
	var in disassociateVpcCidrInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AssociationID == "" {
		return nil, errMissing("AssociationId")
	}
	var out associateVpcCidrOutput
	err := c.s.write(c, func(t *txn) error {
		var owner *Vpc
		for _, v := range all[*Vpc](t, kindVpc, c.acct, c.region) {
			if slices.ContainsFunc(v.CidrAssociations, func(a CidrAssociation) bool { return a.ID == in.AssociationID }) {
				owner = v
			}
		}
		if owner == nil {
			return apiError("InvalidVpcCidrBlockAssociationID.NotFound", "The vpc CIDR block association ID '%s' does not exist", in.AssociationID)
		}
		if err := c.authorize(c.arn("vpc", owner.ID), false); err != nil {
			return err
		}
		if owner.CidrAssociations[0].ID == in.AssociationID {
			return errInvalidParam("The vpc CIDR block with association ID %s may not be disassociated. It is the primary IPv4 CIDR block of the VPC", in.AssociationID)
		}
		i := slices.IndexFunc(owner.CidrAssociations, func(a CidrAssociation) bool { return a.ID == in.AssociationID })
		p := netip.MustParsePrefix(owner.CidrAssociations[i].CidrBlock)
		if anyOf(t, kindSubnet, func(s *Subnet) bool { return s.VpcID == owner.ID && contains(p, s.prefix()) }) {
			return errDependency("The vpc CIDR block with association ID %s has dependencies and cannot be disassociated.", in.AssociationID)
		}
		v := editAs[*Vpc](t, owner.ID)
		a := v.CidrAssociations[i]
		v.CidrAssociations = slices.Delete(v.CidrAssociations, i, i+1)
		out = associateVpcCidrOutput{VpcID: v.ID, Association: cidrAssocXML{AssociationID: a.ID, CidrBlock: a.CidrBlock, State: cidrStateXML{"disassociating"}}}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// defaultVpcMarker names the marker saying an account's default VPC in a
// region was made (so that deleting it does not bring it back).
func defaultVpcMarker(acct, region string) string { return "defaultvpc/" + acct + "/" + region }

// ensureDefaults makes the caller's default VPC in its region the first
// time the account uses EC2 there, as every AWS account has one.
func (s *Service) ensureDefaults(c *call) error {
	marker := defaultVpcMarker(c.acct, c.region)
	s.mu.RLock()
	done := s.state.markers[marker]
	s.mu.RUnlock()
	if done {
		return nil
	}
	return s.write(c, func(t *txn) error {
		if t.marked(marker) {
			return nil
		}
		t.mark(marker)
		newDefaultVpc(c, t)
		return nil
	})
}

// newDefaultVpc records a default VPC as AWS makes one: 172.31.0.0/16, DNS
// hostnames on, a /20 default subnet per zone that gives instances public
// addresses, and an internet gateway the main route table points at.
func newDefaultVpc(c *call, t *txn) *Vpc {
	v := newVpc(c, t, "172.31.0.0/16", "default", nil)
	v.IsDefault, v.DNSHostnames = true, true
	for i, z := range zonesOf(c.region) {
		sub := newSubnet(c, t, v, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(16 * i), 0}), 20).String(), z, nil)
		sub.DefaultForAz, sub.MapPublicIP = true, true
	}
	igw := &InternetGateway{Meta: c.meta(kindIGW, nil), VpcID: v.ID}
	t.put(igw)
	rtb := editAs[*RouteTable](t, v.MainRouteTableID)
	rtb.Routes = append(rtb.Routes, Route{Destination: "0.0.0.0/0", GatewayID: igw.ID, Origin: "CreateRoute"})
	return v
}

type createDefaultVpcOutput struct {
	Vpc vpcXML `xml:"vpc"`
}

func createDefaultVpc(c *call) (any, error) {
	var in struct{ DryRun bool }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("vpc", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var v *Vpc
	err := c.s.write(c, func(t *txn) error {
		if anyOf(t, kindVpc, func(x *Vpc) bool { return x.IsDefault && x.Owner == c.acct && x.Region == c.region }) {
			return apiError("DefaultVpcAlreadyExists", "A Default VPC already exists for this account in this region.")
		}
		v = newDefaultVpc(c, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return createDefaultVpcOutput{Vpc: v.xml("pending")}, nil
}
