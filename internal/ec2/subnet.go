package ec2

import (
	"net/netip"
	"strconv"
)

// Subnet is a subnet of a VPC in one zone.
type Subnet struct {
	Meta
	VpcID        string `json:"vpc"`
	CidrBlock    string `json:"cidr"`
	Zone         string `json:"az"`
	ZoneID       string `json:"azId"`
	MapPublicIP  bool   `json:"mapPublicIp,omitempty"`
	DefaultForAz bool   `json:"defaultForAz,omitempty"`
}

func (s *Subnet) vpcID() string { return s.VpcID }

func (s *Subnet) prefix() netip.Prefix { return netip.MustParsePrefix(s.CidrBlock) }

// reservedAddrs are the addresses AWS keeps in every subnet: network,
// router (+1), DNS (+2), future use (+3) and broadcast.
const reservedAddrs = 5

func init() {
	registerKind(kindSubnet, func() resource { return new(Subnet) })
	handle("CreateSubnet", createSubnet)
	handle("DescribeSubnets", describeSubnets)
	handle("DeleteSubnet", deleteSubnet)
	handle("ModifySubnetAttribute", modifySubnetAttribute)
}

type subnetXML struct {
	SubnetID                string   `xml:"subnetId"`
	SubnetArn               string   `xml:"subnetArn"`
	State                   string   `xml:"state"`
	VpcID                   string   `xml:"vpcId"`
	OwnerID                 string   `xml:"ownerId"`
	CidrBlock               string   `xml:"cidrBlock"`
	Ipv6Associations        List[xs] `xml:"ipv6CidrBlockAssociationSet"`
	AvailableIPAddressCount int      `xml:"availableIpAddressCount"`
	AvailabilityZone        string   `xml:"availabilityZone"`
	AvailabilityZoneID      string   `xml:"availabilityZoneId"`
	DefaultForAz            bool     `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool     `xml:"mapPublicIpOnLaunch"`
	AssignIpv6OnCreation    bool     `xml:"assignIpv6AddressOnCreation"`
	MapCustomerOwnedIP      bool     `xml:"mapCustomerOwnedIpOnLaunch"`
	Ipv6Native              bool     `xml:"ipv6Native"`
	PrivateDNSNameOptions   struct {
		HostnameType                    string `xml:"hostnameType"`
		EnableResourceNameDNSARecord    bool   `xml:"enableResourceNameDnsARecord"`
		EnableResourceNameDNSAAAARecord bool   `xml:"enableResourceNameDnsAAAARecord"`
	} `xml:"privateDnsNameOptionsOnLaunch"`
	Tags []Tag `xml:"tagSet>item,omitempty"`
}

func (s *Subnet) xml(free int) subnetXML {
	x := subnetXML{SubnetID: s.ID, SubnetArn: "arn:aws:ec2:" + s.Region + ":" + s.Owner + ":subnet/" + s.ID,
		State: "available", VpcID: s.VpcID, OwnerID: s.Owner, CidrBlock: s.CidrBlock, AvailableIPAddressCount: free,
		AvailabilityZone: s.Zone, AvailabilityZoneID: s.ZoneID, DefaultForAz: s.DefaultForAz,
		MapPublicIPOnLaunch: s.MapPublicIP, Tags: s.Tags}
	x.PrivateDNSNameOptions.HostnameType = "ip-name"
	return x
}

// subnetUsage counts the addresses taken in each subnet: network
// interfaces hold every address a workload has in a subnet.
func subnetUsage(t *txn) map[string]int {
	used := map[string]int{}
	t.each(kindENI, func(r resource) bool {
		used[r.(*NetworkInterface).SubnetID]++
		return true
	})
	return used
}

// freeAddrs is how many addresses a subnet has left, as
// AvailableIpAddressCount shows.
func freeAddrs(s *Subnet, used int) int {
	return prefixSize(s.prefix()) - reservedAddrs - used
}

// allocateIP takes an address in subnet: want if given (it must be free and
// not reserved), else the lowest free one.
func allocateIP(t *txn, s *Subnet, want string) (string, error) {
	p := s.prefix()
	taken := map[netip.Addr]bool{}
	t.each(kindENI, func(r resource) bool {
		eni := r.(*NetworkInterface)
		if eni.SubnetID == s.ID {
			if a, err := netip.ParseAddr(eni.PrivateIP); err == nil {
				taken[a] = true
			}
		}
		return true
	})
	size := prefixSize(p)
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !a.Is4() {
			return "", errInvalidParam("Invalid value '%s' for IP address. The address must be a valid IPv4 address.", want)
		}
		if !p.Contains(a) {
			return "", errInvalidParam("Address %s does not fall within the subnet's address range", want)
		}
		if i := addrIndex(p, a); i < 4 || i == size-1 {
			return "", errInvalidParam("Address %s is in subnet's reserved address range", want)
		}
		if taken[a] {
			return "", apiError("InvalidIPAddress.InUse", "The specified address is already in use.")
		}
		return want, nil
	}
	for i := 4; i < size-1; i++ {
		if a := nthAddr(p, i); !taken[a] {
			return a.String(), nil
		}
	}
	return "", apiError("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", s.ID)
}

// newSubnet records a subnet and associates it with its VPC's default
// network ACL.
func newSubnet(c *call, t *txn, v *Vpc, cidr string, z zone, tags []Tag) *Subnet {
	s := &Subnet{Meta: c.meta(kindSubnet, tags), VpcID: v.ID, CidrBlock: cidr, Zone: z.Name, ZoneID: z.ID}
	t.put(s)
	acl := editAs[*NetworkACL](t, v.DefaultACLID)
	acl.Associations = append(acl.Associations, ACLAssociation{ID: "aclassoc-" + randHex(17), SubnetID: s.ID})
	return s
}

var subnetFilters = filters[*Subnet]{
	"subnet-id":               func(s *Subnet) string { return s.ID },
	"subnet-arn":              func(s *Subnet) string { return "arn:aws:ec2:" + s.Region + ":" + s.Owner + ":subnet/" + s.ID },
	"vpc-id":                  func(s *Subnet) string { return s.VpcID },
	"cidr":                    func(s *Subnet) string { return s.CidrBlock },
	"cidr-block":              func(s *Subnet) string { return s.CidrBlock },
	"cidrBlock":               func(s *Subnet) string { return s.CidrBlock },
	"availability-zone":       func(s *Subnet) string { return s.Zone },
	"availabilityZone":        func(s *Subnet) string { return s.Zone },
	"availability-zone-id":    func(s *Subnet) string { return s.ZoneID },
	"availabilityZoneId":      func(s *Subnet) string { return s.ZoneID },
	"default-for-az":          func(s *Subnet) []string { return boolValue(s.DefaultForAz) },
	"defaultForAz":            func(s *Subnet) []string { return boolValue(s.DefaultForAz) },
	"map-public-ip-on-launch": func(s *Subnet) []string { return boolValue(s.MapPublicIP) },
	"owner-id":                func(s *Subnet) string { return s.Owner },
	"state":                   func(s *Subnet) string { return "available" },
	"ipv6-native":             func(s *Subnet) string { return "false" },
}

type createSubnetInput struct {
	DryRun             bool
	VpcID              string `ec2:"VpcId"`
	CidrBlock          string
	AvailabilityZone   string
	AvailabilityZoneID string `ec2:"AvailabilityZoneId"`
	Ipv6CidrBlock      string
	Ipv6Native         bool
	TagSpecifications  []TagSpecification `ec2:"TagSpecification"`
}

type createSubnetOutput struct {
	Subnet subnetXML `xml:"subnet"`
}

func createSubnet(c *call) (any, error) {
	var in createSubnetInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if in.CidrBlock == "" {
		if in.Ipv6CidrBlock != "" || in.Ipv6Native {
			return nil, errInvalidParam("IPv6 subnets are not supported by lambdaplane yet.")
		}
		return nil, errMissing("CidrBlock")
	}
	p, ok := parseCIDR(in.CidrBlock)
	if !ok {
		return nil, errInvalidParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", in.CidrBlock)
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return nil, apiError("InvalidSubnet.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
	}
	z, err := pickZone(c, in.AvailabilityZone, in.AvailabilityZoneID)
	if err != nil {
		return nil, err
	}
	tags, err := tagsFor(kindSubnet, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("subnet", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var out createSubnetOutput
	err = c.s.write(c, func(t *txn) error {
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		if !v.containsPrefix(p) {
			return apiError("InvalidSubnet.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
		}
		if anyOf(t, kindSubnet, func(s *Subnet) bool { return s.VpcID == v.ID && overlaps(s.prefix(), p) }) {
			return apiError("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", in.CidrBlock)
		}
		s := newSubnet(c, t, v, p.String(), z, tags)
		out.Subnet = s.xml(freeAddrs(s, 0))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pickZone resolves the zone a new subnet asks for; with none given, AWS
// picks one.
func pickZone(c *call, name, id string) (zone, error) {
	if name == "" && id == "" {
		zs := zonesOf(c.region)
		return zs[int(c.now.UnixNano()/1000)%len(zs)], nil
	}
	z, ok := findZone(c.region, name, id)
	if !ok {
		if name != "" {
			return zone{}, errInvalidParam("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", name, zoneNames(c.region))
		}
		return zone{}, errInvalidParam("Value (%s) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zone ids: %s.", id, zoneIDs(c.region))
	}
	return z, nil
}

func zoneNames(region string) string {
	s := ""
	for i, z := range zonesOf(region) {
		if i > 0 {
			s += ", "
		}
		s += z.Name
	}
	return s
}

func zoneIDs(region string) string {
	s := ""
	for i, z := range zonesOf(region) {
		if i > 0 {
			s += ", "
		}
		s += z.ID
	}
	return s
}

type describeSubnetsInput struct {
	DryRun     bool
	SubnetIds  []string `ec2:"SubnetId"`
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32
	NextToken  string
}

type describeSubnetsOutput struct {
	Subnets   List[subnetXML] `xml:"subnetSet"`
	NextToken string          `xml:"nextToken,omitempty"`
}

func describeSubnets(c *call) (any, error) {
	var in describeSubnetsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeSubnetsOutput
	err := c.s.read(c, func(t *txn) error {
		var used map[string]int
		usage := func() map[string]int {
			if used == nil {
				used = subnetUsage(t)
			}
			return used
		}
		fs := filters[*Subnet]{}
		for k, f := range subnetFilters {
			fs[k] = f
		}
		// The address count depends on the interfaces, known only here.
		fs["available-ip-address-count"] = func(s *Subnet) []string {
			return one(strconv.Itoa(freeAddrs(s, usage()[s.ID])))
		}
		subnets, err := selectResources(c, t, kindSubnet, in.SubnetIds, in.Filters, fs)
		if err != nil {
			return err
		}
		subnets, out.NextToken, err = page(subnets, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, s := range subnets {
			out.Subnets = append(out.Subnets, s.xml(freeAddrs(s, usage()[s.ID])))
		}
		return nil
	})
	return out, err
}

type subnetIDInput struct {
	DryRun   bool
	SubnetID string `ec2:"SubnetId"`
}

func deleteSubnet(c *call) (any, error) {
	var in subnetIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SubnetID == "" {
		return nil, errMissing("SubnetId")
	}
	if err := c.authorize(c.arn("subnet", in.SubnetID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		s, err := mustFind[*Subnet](c, t, kindSubnet, in.SubnetID)
		if err != nil {
			return err
		}
		if subnetInUse(t, s.ID) {
			return errDependency("The subnet '%s' has dependencies and cannot be deleted.", s.ID)
		}
		t.del(s.ID)
		// The subnet's route table and ACL associations go with it.
		t.each(kindRTB, func(r resource) bool {
			rt := r.(*RouteTable)
			for _, a := range rt.Associations {
				if a.SubnetID == s.ID {
					e := editAs[*RouteTable](t, rt.ID)
					e.Associations = deleteAssoc(e.Associations, a.ID)
					break
				}
			}
			return true
		})
		t.each(kindACL, func(r resource) bool {
			acl := r.(*NetworkACL)
			for _, a := range acl.Associations {
				if a.SubnetID == s.ID {
					e := editAs[*NetworkACL](t, acl.ID)
					e.Associations = deleteACLAssoc(e.Associations, a.ID)
					break
				}
			}
			return true
		})
		return nil
	})
}

// subnetInUse reports whether a network interface, instance, NAT gateway
// or endpoint still lives in the subnet.
func subnetInUse(t *txn, id string) bool {
	if anyOf(t, kindENI, func(e *NetworkInterface) bool { return e.SubnetID == id }) {
		return true
	}
	if anyOf(t, kindNAT, func(r resource) bool { return subnetOf(r) == id && !gone(r) }) {
		return true
	}
	return anyOf(t, kindInstance, func(r resource) bool { return subnetOf(r) == id && !gone(r) })
}

// inSubnet is implemented by resources that live in one subnet.
type inSubnet interface{ subnetID() string }

func subnetOf(r resource) string {
	if x, ok := r.(inSubnet); ok {
		return x.subnetID()
	}
	return ""
}

type modifySubnetAttributeInput struct {
	SubnetID             string        `ec2:"SubnetId"`
	MapPublicIPOnLaunch  *vpcAttrValue `ec2:"MapPublicIpOnLaunch"`
	AssignIpv6OnCreation *vpcAttrValue `ec2:"AssignIpv6AddressOnCreation"`
	EnableDNS64          *vpcAttrValue `ec2:"EnableDns64"`
	MapCustomerOwnedIP   *vpcAttrValue `ec2:"MapCustomerOwnedIpOnLaunch"`
}

func modifySubnetAttribute(c *call) (any, error) {
	var in modifySubnetAttributeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SubnetID == "" {
		return nil, errMissing("SubnetId")
	}
	if in.AssignIpv6OnCreation != nil || in.EnableDNS64 != nil || in.MapCustomerOwnedIP != nil {
		return nil, errInvalidParam("Only the MapPublicIpOnLaunch subnet attribute is supported by lambdaplane yet.")
	}
	if in.MapPublicIPOnLaunch == nil || in.MapPublicIPOnLaunch.Value == nil {
		return nil, errMissing("MapPublicIpOnLaunch")
	}
	if err := c.authorize(c.arn("subnet", in.SubnetID), false); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		s, err := mustEdit[*Subnet](c, t, kindSubnet, in.SubnetID)
		if err != nil {
			return err
		}
		s.MapPublicIP = *in.MapPublicIPOnLaunch.Value
		return nil
	})
}
