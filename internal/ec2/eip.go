package ec2

import (
	"cmp"
	"net/netip"
	"slices"
)

// Address is an Elastic IP address (domain vpc).
type Address struct {
	Meta
	PublicIP string `json:"ip"`
	// The association, when the address is mapped to an interface.
	AssociationID      string `json:"assoc,omitempty"` // eipassoc-...
	NetworkInterfaceID string `json:"eni,omitempty"`
	PrivateIP          string `json:"privateIp,omitempty"`
	InstanceID         string `json:"instance,omitempty"`
}

func init() {
	registerKind(kindEIP, func() resource { return new(Address) })
	handle("AllocateAddress", allocateAddress)
	handle("DescribeAddresses", describeAddresses)
	handle("AssociateAddress", associateAddress)
	handle("DisassociateAddress", disassociateAddressAction)
	handle("ReleaseAddress", releaseAddress)
}

// publicPool is the only public IPv4 pool: Amazon's.
const publicPool = "amazon"

// allocatePublicIP takes the lowest free address of the public pool (the
// pool's first and last addresses are never handed out). Public addresses
// are unique across accounts and regions, as on the internet.
func allocatePublicIP(t *txn, pool netip.Prefix) (string, error) {
	taken := publicIPsTaken(t)
	for i := 1; i < prefixSize(pool)-1; i++ {
		if a := nthAddr(pool, i).String(); !taken[a] {
			return a, nil
		}
	}
	return "", apiError("AddressLimitExceeded", "The maximum number of addresses has been reached.")
}

func publicIPsTaken(t *txn) map[string]bool {
	taken := map[string]bool{}
	t.each(kindEIP, func(r resource) bool {
		taken[r.(*Address).PublicIP] = true
		return true
	})
	t.each(kindENI, func(r resource) bool {
		if ip := r.(*NetworkInterface).PublicIP; ip != "" {
			taken[ip] = true
		}
		return true
	})
	return taken
}

// natHeld reports whether a NAT gateway holds the address: the gateway
// owns the association until it is deleted, and users may neither move,
// disassociate nor release the address meanwhile.
func natHeld(t *txn, a *Address) bool {
	e, ok := getAs[*NetworkInterface](t, a.NetworkInterfaceID)
	return ok && kindOf(e.ManagedBy) == kindNAT
}

// bindAddress associates Elastic IP allocID with interface eniID (its
// primary private address), parting each from what it had, and returns
// the new association id.
func bindAddress(t *txn, allocID, eniID string) string {
	a := editAs[*Address](t, allocID)
	if a.NetworkInterfaceID != "" {
		unbindAddress(t, a)
	}
	e := editAs[*NetworkInterface](t, eniID)
	if e.AllocationID != "" {
		if old := editAs[*Address](t, e.AllocationID); old != nil {
			unbindAddress(t, old)
		}
	}
	// An address given at launch is replaced, as EC2 does.
	a.AssociationID, a.NetworkInterfaceID, a.PrivateIP = "eipassoc-"+randHex(17), e.ID, e.PrivateIP
	a.InstanceID = ""
	if e.Attachment != nil && !e.Attachment.serviceAttachment() {
		a.InstanceID = e.Attachment.InstanceID
	}
	e.PublicIP, e.AllocationID = a.PublicIP, a.ID
	return a.AssociationID
}

// unbindAddress parts a (a private copy) from its interface.
func unbindAddress(t *txn, a *Address) {
	if e := editAs[*NetworkInterface](t, a.NetworkInterfaceID); e != nil && e.AllocationID == a.ID {
		e.PublicIP, e.AllocationID = "", ""
	}
	a.AssociationID, a.NetworkInterfaceID, a.PrivateIP, a.InstanceID = "", "", "", ""
}

type addressXML struct {
	PublicIP                string `xml:"publicIp"`
	AllocationID            string `xml:"allocationId"`
	Domain                  string `xml:"domain"`
	InstanceID              string `xml:"instanceId,omitempty"`
	AssociationID           string `xml:"associationId,omitempty"`
	NetworkInterfaceID      string `xml:"networkInterfaceId,omitempty"`
	NetworkInterfaceOwnerID string `xml:"networkInterfaceOwnerId,omitempty"`
	PrivateIPAddress        string `xml:"privateIpAddress,omitempty"`
	Tags                    []Tag  `xml:"tagSet>item,omitempty"`
	PublicIpv4Pool          string `xml:"publicIpv4Pool"`
	NetworkBorderGroup      string `xml:"networkBorderGroup"`
}

func (a *Address) xml(t *txn) addressXML {
	x := addressXML{PublicIP: a.PublicIP, AllocationID: a.ID, Domain: "vpc", InstanceID: a.InstanceID,
		AssociationID: a.AssociationID, NetworkInterfaceID: a.NetworkInterfaceID, PrivateIPAddress: a.PrivateIP,
		Tags: a.Tags, PublicIpv4Pool: publicPool, NetworkBorderGroup: a.Region}
	if e, ok := getAs[*NetworkInterface](t, a.NetworkInterfaceID); ok {
		x.NetworkInterfaceOwnerID = e.Owner
	}
	return x
}

func addressFilters(t *txn) filters[*Address] {
	opt := func(s string) []string {
		if s == "" {
			return nil
		}
		return one(s)
	}
	return filters[*Address]{
		"allocation-id":        func(a *Address) string { return a.ID },
		"association-id":       func(a *Address) []string { return opt(a.AssociationID) },
		"domain":               func(a *Address) string { return "vpc" },
		"instance-id":          func(a *Address) []string { return opt(a.InstanceID) },
		"network-interface-id": func(a *Address) []string { return opt(a.NetworkInterfaceID) },
		"network-interface-owner-id": func(a *Address) []string {
			if e, ok := getAs[*NetworkInterface](t, a.NetworkInterfaceID); ok {
				return one(e.Owner)
			}
			return nil
		},
		"network-border-group": func(a *Address) string { return a.Region },
		"private-ip-address":   func(a *Address) []string { return opt(a.PrivateIP) },
		"public-ip":            func(a *Address) string { return a.PublicIP },
	}
}

type allocateAddressInput struct {
	DryRun                bool
	Domain                string
	Address               string
	PublicIpv4Pool        string
	NetworkBorderGroup    string
	CustomerOwnedIpv4Pool string
	IpamPoolID            string             `ec2:"IpamPoolId"`
	TagSpecifications     []TagSpecification `ec2:"TagSpecification"`
}

type allocateAddressOutput struct {
	PublicIP           string `xml:"publicIp"`
	AllocationID       string `xml:"allocationId"`
	PublicIpv4Pool     string `xml:"publicIpv4Pool"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	Domain             string `xml:"domain"`
}

func allocateAddress(c *call) (any, error) {
	var in allocateAddressInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	switch in.Domain {
	case "", "vpc":
	case "standard":
		return nil, errInvalidParam("Value (standard) for parameter domain is invalid. EC2-Classic addresses are no longer available; use domain vpc.")
	default:
		return nil, errInvalidParam("Value (%s) for parameter domain is invalid. Valid values: vpc, standard", in.Domain)
	}
	if in.PublicIpv4Pool != "" && in.PublicIpv4Pool != publicPool {
		return nil, apiError("InvalidPublicIpv4PoolID.NotFound", "The pool ID '%s' does not exist", in.PublicIpv4Pool)
	}
	if in.NetworkBorderGroup != "" && in.NetworkBorderGroup != c.region {
		return nil, errInvalidParam("Value (%s) for parameter networkBorderGroup is invalid. The network border group of this region is %s.", in.NetworkBorderGroup, c.region)
	}
	if in.CustomerOwnedIpv4Pool != "" || in.IpamPoolID != "" {
		return nil, errInvalidParam("Customer-owned and IPAM address pools are not supported by lambdaplane yet.")
	}
	tags, err := tagsFor(kindEIP, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("elastic-ip", "*"), in.DryRun); err != nil {
		return nil, err
	}
	a := &Address{Meta: c.meta(kindEIP, tags)}
	err = c.s.write(c, func(t *txn) error {
		if in.Address != "" {
			// Taking a given address back (one released earlier) works
			// while nobody else has it.
			ip, err := netip.ParseAddr(in.Address)
			if err != nil || !ip.Is4() || !c.s.opts.PublicPool.Contains(ip) || publicIPsTaken(t)[ip.String()] {
				return apiError("InvalidAddress.NotFound", "Address '%s' not found.", in.Address)
			}
			a.PublicIP = ip.String()
		} else {
			ip, err := allocatePublicIP(t, c.s.opts.PublicPool)
			if err != nil {
				return err
			}
			a.PublicIP = ip
		}
		t.put(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return allocateAddressOutput{PublicIP: a.PublicIP, AllocationID: a.ID, PublicIpv4Pool: publicPool,
		NetworkBorderGroup: c.region, Domain: "vpc"}, nil
}

type describeAddressesInput struct {
	DryRun        bool
	PublicIps     []string `ec2:"PublicIp"`
	AllocationIds []string `ec2:"AllocationId"`
	Filters       []Filter `ec2:"Filter"`
}

type describeAddressesOutput struct {
	Addresses List[addressXML] `xml:"addressesSet"`
}

// addressByIP finds the caller's Elastic IP with a public address.
func addressByIP(c *call, t *txn, ip string) (*Address, bool) {
	for _, a := range all[*Address](t, kindEIP, c.acct, c.region) {
		if a.PublicIP == ip {
			return a, true
		}
	}
	return nil, false
}

func describeAddresses(c *call) (any, error) {
	var in describeAddressesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeAddressesOutput
	err := c.s.read(c, func(t *txn) error {
		fs := addressFilters(t)
		var addrs []*Address
		var err error
		if len(in.PublicIps) == 0 {
			addrs, err = selectResources(c, t, kindEIP, in.AllocationIds, in.Filters, fs)
			if err != nil {
				return err
			}
		} else {
			if err := fs.check(in.Filters); err != nil {
				return err
			}
			for _, id := range in.AllocationIds {
				a, ok := findAs[*Address](c, t, kindEIP, id)
				if !ok {
					return errNotFound(kindEIP, id)
				}
				addrs = append(addrs, a)
			}
			for _, ip := range in.PublicIps {
				a, ok := addressByIP(c, t, ip)
				if !ok {
					return apiError("InvalidAddress.NotFound", "Address '%s' not found.", ip)
				}
				if !slices.Contains(addrs, a) {
					addrs = append(addrs, a)
				}
			}
			addrs = slices.DeleteFunc(addrs, func(a *Address) bool { return !fs.match(in.Filters, a) })
		}
		for _, a := range addrs {
			out.Addresses = append(out.Addresses, a.xml(t))
		}
		return nil
	})
	return out, err
}

type associateAddressInput struct {
	DryRun             bool
	AllocationID       string `ec2:"AllocationId"`
	PublicIP           string `ec2:"PublicIp"`
	InstanceID         string `ec2:"InstanceId"`
	NetworkInterfaceID string `ec2:"NetworkInterfaceId"`
	PrivateIPAddress   string `ec2:"PrivateIpAddress"`
	AllowReassociation *bool
}

type associateAddressOutput struct {
	AssociationID string `xml:"associationId"`
}

// findAddress resolves an address given by allocation id or (deprecated)
// by its public address.
func findAddress(c *call, t *txn, allocID, publicIP string) (*Address, error) {
	if allocID != "" {
		return mustFind[*Address](c, t, kindEIP, allocID)
	}
	if a, ok := addressByIP(c, t, publicIP); ok {
		return a, nil
	}
	return nil, apiError("AuthFailure", "The address '%s' does not belong to you.", publicIP)
}

func associateAddress(c *call) (any, error) {
	var in associateAddressInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AllocationID == "" && in.PublicIP == "" {
		return nil, errMissing("AllocationId")
	}
	switch {
	case in.InstanceID == "" && in.NetworkInterfaceID == "":
		return nil, apiError("MissingParameter", "Either instance ID or network interface id must be specified")
	case in.InstanceID != "" && in.NetworkInterfaceID != "":
		return nil, errCombination("You can specify either the instance ID or the network interface ID, but not both.")
	}
	if err := c.authorize(c.arn("elastic-ip", cmp.Or(in.AllocationID, "*")), in.DryRun); err != nil {
		return nil, err
	}
	var out associateAddressOutput
	err := c.s.write(c, func(t *txn) error {
		a, err := findAddress(c, t, in.AllocationID, in.PublicIP)
		if err != nil {
			return err
		}
		var e *NetworkInterface
		if in.InstanceID != "" {
			e, err = primaryInterface(c, t, in.InstanceID)
		} else {
			e, err = mustFind[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		}
		if err != nil {
			return err
		}
		if kindOf(e.ManagedBy) == kindNAT {
			return errServiceOwned()
		}
		if in.PrivateIPAddress != "" && in.PrivateIPAddress != e.PrivateIP {
			return errInvalidParam("The specified private IP address %s is not associated with network interface %s.", in.PrivateIPAddress, e.ID)
		}
		if _, ok := vpcGateway(t, e.VpcID); !ok {
			return apiError("Gateway.NotAttached", "Network %s is not attached to any internet gateway", e.VpcID)
		}
		if a.NetworkInterfaceID == e.ID {
			out.AssociationID = a.AssociationID
			return nil
		}
		if a.NetworkInterfaceID != "" && (natHeld(t, a) || (in.AllowReassociation != nil && !*in.AllowReassociation)) {
			return apiError("Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", a.ID, a.AssociationID)
		}
		out.AssociationID = bindAddress(t, a.ID, e.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type disassociateAddressInput struct {
	DryRun        bool
	AssociationID string `ec2:"AssociationId"`
	PublicIP      string `ec2:"PublicIp"`
}

func disassociateAddressAction(c *call) (any, error) {
	var in disassociateAddressInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AssociationID == "" && in.PublicIP == "" {
		return nil, errMissing("AssociationId")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		var a *Address
		if in.AssociationID != "" {
			for _, x := range all[*Address](t, kindEIP, c.acct, c.region) {
				if x.AssociationID == in.AssociationID {
					a = x
				}
			}
			if a == nil {
				return apiError("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID)
			}
		} else {
			var err error
			if a, err = findAddress(c, t, "", in.PublicIP); err != nil {
				return err
			}
			if a.NetworkInterfaceID == "" {
				return nil
			}
		}
		if natHeld(t, a) {
			return errServiceOwned()
		}
		unbindAddress(t, editAs[*Address](t, a.ID))
		return nil
	})
}

type releaseAddressInput struct {
	DryRun             bool
	AllocationID       string `ec2:"AllocationId"`
	PublicIP           string `ec2:"PublicIp"`
	NetworkBorderGroup string
}

func releaseAddress(c *call) (any, error) {
	var in releaseAddressInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AllocationID == "" && in.PublicIP == "" {
		return nil, errMissing("AllocationId")
	}
	if err := c.authorize(c.arn("elastic-ip", cmp.Or(in.AllocationID, "*")), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		a, err := findAddress(c, t, in.AllocationID, in.PublicIP)
		if err != nil {
			return err
		}
		if in.NetworkBorderGroup != "" && in.NetworkBorderGroup != a.Region {
			return apiError("InvalidAddress.NotFound", "Address '%s' not found in network border group '%s'.", a.PublicIP, in.NetworkBorderGroup)
		}
		if natHeld(t, a) {
			return errServiceOwned()
		}
		if a.NetworkInterfaceID != "" {
			return apiError("InvalidIPAddress.InUse", "Address %s is in use.", a.PublicIP)
		}
		t.del(a.ID)
		return nil
	})
}
