package ec2

import (
	"slices"
	"strings"
	"time"
)

// NetworkInterface is an ENI. Every address a workload has in a subnet is
// an ENI's: instances', Lambda's Hyperplane ENIs, endpoints' and NAT
// gateways'.
type NetworkInterface struct {
	Meta
	VpcID           string   `json:"vpc"`
	SubnetID        string   `json:"subnet"`
	Zone            string   `json:"az"`
	ZoneID          string   `json:"azId"`
	Description     string   `json:"desc,omitempty"`
	PrivateIP       string   `json:"ip"`
	MAC             string   `json:"mac"`
	Groups          []string `json:"groups,omitempty"`
	InterfaceType   string   `json:"type"` // interface, lambda, vpc_endpoint, nat_gateway
	SourceDestCheck bool     `json:"srcDstCheck"`
	// RequesterID and RequesterManaged say which AWS service made the
	// interface; users cannot delete or detach such interfaces.
	RequesterID      string `json:"requester,omitempty"`
	RequesterManaged bool   `json:"requesterManaged,omitempty"`
	// ManagedBy is the resource whose life the interface shares (nat-...,
	// vpce-..., or "lambda").
	ManagedBy  string         `json:"managedBy,omitempty"`
	Attachment *ENIAttachment `json:"attachment,omitempty"`
	// PublicIP is the public address of the interface (an Elastic IP's or
	// one assigned at launch); AllocationID names the Elastic IP.
	PublicIP     string `json:"publicIp,omitempty"`
	AllocationID string `json:"alloc,omitempty"`
	// ClientToken makes CreateNetworkInterface idempotent.
	ClientToken string `json:"clientToken,omitempty"`
	// Holders are the function versions using a Lambda interface; when the
	// last one leaves, IdleSince starts the delete delay.
	Holders   []string  `json:"holders,omitempty"`
	IdleSince time.Time `json:"idleSince,omitzero"`
}

// ENIAttachment is an interface's attachment to an instance (or, for
// interfaces of AWS services, to the service: an ela-attach-... owned by
// amazon-aws).
type ENIAttachment struct {
	ID                  string    `json:"id"`
	InstanceID          string    `json:"instance,omitempty"`
	InstanceOwnerID     string    `json:"instanceOwner"`
	DeviceIndex         int32     `json:"device"`
	Status              string    `json:"status"`
	AttachTime          time.Time `json:"time"`
	DeleteOnTermination bool      `json:"deleteOnTermination"`
}

// serviceAttachment reports whether the attachment is one AWS keeps for a
// service (Lambda, NAT gateways, endpoints), which users may not manage.
func (a *ENIAttachment) serviceAttachment() bool {
	return strings.HasPrefix(a.ID, elaAttachPrefix)
}

const elaAttachPrefix = "ela-attach-"

func (e *NetworkInterface) vpcID() string    { return e.VpcID }
func (e *NetworkInterface) subnetID() string { return e.SubnetID }

// serviceOwned reports whether an AWS service manages the interface, so
// that users cannot change, attach or delete it.
func (e *NetworkInterface) serviceOwned() bool {
	return e.RequesterManaged || e.ManagedBy != ""
}

// status is what DescribeNetworkInterfaces shows.
func (e *NetworkInterface) status() string {
	if e.Attachment != nil {
		return "in-use"
	}
	return "available"
}

func init() {
	registerKind(kindENI, func() resource { return new(NetworkInterface) })
	handle("CreateNetworkInterface", createNetworkInterface)
	handle("DescribeNetworkInterfaces", describeNetworkInterfaces)
	handle("DeleteNetworkInterface", deleteNetworkInterface)
	handle("ModifyNetworkInterfaceAttribute", modifyNetworkInterfaceAttribute)
	handle("DescribeNetworkInterfaceAttribute", describeNetworkInterfaceAttribute)
	handle("AttachNetworkInterface", attachNetworkInterface)
	handle("DetachNetworkInterface", detachNetworkInterface)
}

// newMAC makes a locally administered unicast MAC address, in the 02:
// range AWS's look like.
func newMAC() string {
	h := randHex(10)
	return "02:" + h[0:2] + ":" + h[2:4] + ":" + h[4:6] + ":" + h[6:8] + ":" + h[8:10]
}

// eniSpec is what a new interface needs besides its subnet.
type eniSpec struct {
	PrivateIP     string   // "" = the lowest free address
	Groups        []string // already checked with checkGroups
	Description   string
	InterfaceType string // "" = interface
	RequesterID   string
	Managed       bool // RequesterManaged
	// ManagedBy (nat-..., vpce-..., lambda) makes the interface a
	// service's: it is attached to the service at once (ela-attach-...,
	// owner amazon-aws, device 1), as AWS shows those interfaces, so users
	// can neither detach nor delete it.
	ManagedBy string
	Tags      []Tag
}

// newENI records a network interface in subnet s with an address from it.
func newENI(c *call, t *txn, s *Subnet, spec eniSpec) (*NetworkInterface, error) {
	ip, err := allocateIP(t, s, spec.PrivateIP)
	if err != nil {
		return nil, err
	}
	typ := spec.InterfaceType
	if typ == "" {
		typ = "interface"
	}
	e := &NetworkInterface{Meta: c.meta(kindENI, spec.Tags), VpcID: s.VpcID, SubnetID: s.ID, Zone: s.Zone, ZoneID: s.ZoneID,
		Description: spec.Description, PrivateIP: ip, MAC: newMAC(), Groups: spec.Groups, InterfaceType: typ,
		// A NAT gateway forwards traffic that is not its own.
		SourceDestCheck: typ != "nat_gateway",
		RequesterID:     spec.RequesterID, RequesterManaged: spec.Managed, ManagedBy: spec.ManagedBy}
	if spec.ManagedBy != "" {
		e.Attachment = &ENIAttachment{ID: elaAttachPrefix + randHex(17), InstanceOwnerID: "amazon-aws", DeviceIndex: 1,
			Status: "attached", AttachTime: c.now}
	}
	t.put(e)
	return e, nil
}

// privateDNSName is the EC2 internal name of an address, as the VPC
// resolver answers it: ip-10-0-1-5.ec2.internal in us-east-1,
// ip-10-0-1-5.REGION.compute.internal elsewhere.
func privateDNSName(region, ip string) string {
	name := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return name + ".ec2.internal"
	}
	return name + "." + region + ".compute.internal"
}

// publicDNSName is the public name of a public address:
// ec2-198-51-100-7.compute-1.amazonaws.com in us-east-1,
// ec2-198-51-100-7.REGION.compute.amazonaws.com elsewhere.
func publicDNSName(region, ip string) string {
	name := "ec2-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return name + ".compute-1.amazonaws.com"
	}
	return name + "." + region + ".compute.amazonaws.com"
}

// interfacesOf returns the interfaces attached to instance id, by device
// index.
func interfacesOf(t *txn, id string) []*NetworkInterface {
	var out []*NetworkInterface
	t.each(kindENI, func(r resource) bool {
		if e := r.(*NetworkInterface); e.Attachment != nil && e.Attachment.InstanceID == id {
			out = append(out, e)
		}
		return true
	})
	slices.SortFunc(out, func(a, b *NetworkInterface) int { return int(a.Attachment.DeviceIndex - b.Attachment.DeviceIndex) })
	return out
}

// setAddressInstance keeps an Elastic IP's instance in step with the
// interface it is associated with.
func setAddressInstance(t *txn, e *NetworkInterface, instanceID string) {
	if e.AllocationID == "" {
		return
	}
	if a := editAs[*Address](t, e.AllocationID); a != nil {
		a.InstanceID = instanceID
	}
}

type groupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

// groupsXML names each security group, as every groupSet shows them.
func groupsXML(t *txn, ids []string) List[groupXML] {
	out := List[groupXML]{}
	for _, id := range ids {
		g := groupXML{GroupID: id}
		if sg, ok := getAs[*SecurityGroup](t, id); ok {
			g.GroupName = sg.Name
		}
		out = append(out, g)
	}
	return out
}

type eniAssocXML struct {
	AllocationID  string `xml:"allocationId,omitempty"`
	AssociationID string `xml:"associationId,omitempty"`
	IPOwnerID     string `xml:"ipOwnerId"`
	PublicDNSName string `xml:"publicDnsName,omitempty"`
	PublicIP      string `xml:"publicIp"`
}

// association is the interface's public address as AWS shows it: an
// Elastic IP with its allocation, association and owner; an address given
// at launch owned by "amazon". The public name exists only in VPCs with DNS
// hostnames.
func (e *NetworkInterface) association(t *txn) *eniAssocXML {
	if e.PublicIP == "" {
		return nil
	}
	a := &eniAssocXML{PublicIP: e.PublicIP, IPOwnerID: "amazon"}
	if v, ok := getAs[*Vpc](t, e.VpcID); ok && v.DNSHostnames {
		a.PublicDNSName = publicDNSName(e.Region, e.PublicIP)
	}
	if e.AllocationID != "" {
		a.AllocationID, a.IPOwnerID = e.AllocationID, e.Owner
		if addr, ok := getAs[*Address](t, e.AllocationID); ok {
			a.AssociationID, a.IPOwnerID = addr.AssociationID, addr.Owner
		}
	}
	return a
}

type eniAttachXML struct {
	AttachTime          string `xml:"attachTime,omitempty"`
	AttachmentID        string `xml:"attachmentId"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	DeviceIndex         int32  `xml:"deviceIndex"`
	NetworkCardIndex    *int32 `xml:"networkCardIndex,omitempty"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	Status              string `xml:"status"`
}

// xml renders an attachment; service attachments show neither a time nor
// a network card, as AWS shows them.
func (a *ENIAttachment) xml() *eniAttachXML {
	if a == nil {
		return nil
	}
	x := &eniAttachXML{AttachmentID: a.ID, DeleteOnTermination: a.DeleteOnTermination, DeviceIndex: a.DeviceIndex,
		InstanceID: a.InstanceID, InstanceOwnerID: a.InstanceOwnerID, Status: a.Status}
	if !a.serviceAttachment() {
		x.AttachTime = timestamp(a.AttachTime)
		x.NetworkCardIndex = new(int32)
	}
	return x
}

type eniPrivateIPXML struct {
	Association      *eniAssocXML `xml:"association,omitempty"`
	Primary          bool         `xml:"primary"`
	PrivateDNSName   string       `xml:"privateDnsName"`
	PrivateIPAddress string       `xml:"privateIpAddress"`
}

type eniXML struct {
	Association        *eniAssocXML          `xml:"association,omitempty"`
	Attachment         *eniAttachXML         `xml:"attachment,omitempty"`
	AvailabilityZone   string                `xml:"availabilityZone"`
	AvailabilityZoneID string                `xml:"availabilityZoneId"`
	Description        string                `xml:"description"`
	Groups             List[groupXML]        `xml:"groupSet"`
	InterfaceType      string                `xml:"interfaceType"`
	Ipv6Addresses      List[xs]              `xml:"ipv6AddressesSet"`
	MacAddress         string                `xml:"macAddress"`
	NetworkInterfaceID string                `xml:"networkInterfaceId"`
	OwnerID            string                `xml:"ownerId"`
	PrivateDNSName     string                `xml:"privateDnsName"`
	PrivateIPAddress   string                `xml:"privateIpAddress"`
	PrivateIPAddresses List[eniPrivateIPXML] `xml:"privateIpAddressesSet"`
	RequesterID        string                `xml:"requesterId,omitempty"`
	RequesterManaged   bool                  `xml:"requesterManaged"`
	SourceDestCheck    bool                  `xml:"sourceDestCheck"`
	Status             string                `xml:"status"`
	SubnetID           string                `xml:"subnetId"`
	Tags               List[Tag]             `xml:"tagSet"`
	VpcID              string                `xml:"vpcId"`
}

func (e *NetworkInterface) xml(t *txn, status string) eniXML {
	assoc := e.association(t)
	dns := privateDNSName(e.Region, e.PrivateIP)
	return eniXML{Association: assoc, Attachment: e.Attachment.xml(), AvailabilityZone: e.Zone, AvailabilityZoneID: e.ZoneID,
		Description: e.Description, Groups: groupsXML(t, e.Groups), InterfaceType: e.InterfaceType, MacAddress: e.MAC,
		NetworkInterfaceID: e.ID, OwnerID: e.Owner, PrivateDNSName: dns, PrivateIPAddress: e.PrivateIP,
		PrivateIPAddresses: List[eniPrivateIPXML]{{Association: assoc, Primary: true, PrivateDNSName: dns, PrivateIPAddress: e.PrivateIP}},
		RequesterID:        e.RequesterID, RequesterManaged: e.RequesterManaged, SourceDestCheck: e.SourceDestCheck,
		Status: status, SubnetID: e.SubnetID, Tags: List[Tag](e.Tags), VpcID: e.VpcID}
}

// eniFilters are DescribeNetworkInterfaces' filters; group names and
// public addresses need the rest of the state.
func eniFilters(t *txn) filters[*NetworkInterface] {
	attach := func(f func(a *ENIAttachment) string) func(e *NetworkInterface) []string {
		return func(e *NetworkInterface) []string {
			if e.Attachment == nil {
				return nil
			}
			return one(f(e.Attachment))
		}
	}
	assoc := func(f func(a *eniAssocXML) string) func(e *NetworkInterface) []string {
		return func(e *NetworkInterface) []string {
			if a := e.association(t); a != nil && f(a) != "" {
				return one(f(a))
			}
			return nil
		}
	}
	dns := func(e *NetworkInterface) []string { return one(privateDNSName(e.Region, e.PrivateIP)) }
	ip := func(e *NetworkInterface) []string { return one(e.PrivateIP) }
	return filters[*NetworkInterface]{
		"addresses.private-ip-address":     ip,
		"addresses.primary":                func(*NetworkInterface) []string { return one("true") },
		"addresses.association.public-ip":  assoc(func(a *eniAssocXML) string { return a.PublicIP }),
		"addresses.association.owner-id":   assoc(func(a *eniAssocXML) string { return a.IPOwnerID }),
		"association.allocation-id":        assoc(func(a *eniAssocXML) string { return a.AllocationID }),
		"association.association-id":       assoc(func(a *eniAssocXML) string { return a.AssociationID }),
		"association.ip-owner-id":          assoc(func(a *eniAssocXML) string { return a.IPOwnerID }),
		"association.public-ip":            assoc(func(a *eniAssocXML) string { return a.PublicIP }),
		"association.public-dns-name":      assoc(func(a *eniAssocXML) string { return a.PublicDNSName }),
		"attachment.attachment-id":         attach(func(a *ENIAttachment) string { return a.ID }),
		"attachment.attach-time":           attach(func(a *ENIAttachment) string { return timestamp(a.AttachTime) }),
		"attachment.delete-on-termination": attach(func(a *ENIAttachment) string { return boolValue(a.DeleteOnTermination)[0] }),
		"attachment.device-index":          attach(func(a *ENIAttachment) string { return itoa(int(a.DeviceIndex)) }),
		"attachment.instance-id":           attach(func(a *ENIAttachment) string { return a.InstanceID }),
		"attachment.instance-owner-id":     attach(func(a *ENIAttachment) string { return a.InstanceOwnerID }),
		"attachment.status":                attach(func(a *ENIAttachment) string { return a.Status }),
		"availability-zone":                func(e *NetworkInterface) string { return e.Zone },
		"description":                      func(e *NetworkInterface) string { return e.Description },
		"group-id":                         func(e *NetworkInterface) []string { return e.Groups },
		"group-name": func(e *NetworkInterface) []string {
			var out []string
			for _, g := range groupsXML(t, e.Groups) {
				out = append(out, g.GroupName)
			}
			return out
		},
		"interface-type":       func(e *NetworkInterface) string { return e.InterfaceType },
		"mac-address":          func(e *NetworkInterface) string { return e.MAC },
		"network-interface-id": func(e *NetworkInterface) string { return e.ID },
		"owner-id":             func(e *NetworkInterface) string { return e.Owner },
		"private-ip-address":   ip,
		"private-dns-name":     dns,
		"requester-id":         func(e *NetworkInterface) string { return e.RequesterID },
		"requester-managed":    func(e *NetworkInterface) []string { return boolValue(e.RequesterManaged) },
		"source-dest-check":    func(e *NetworkInterface) []string { return boolValue(e.SourceDestCheck) },
		"status":               func(e *NetworkInterface) string { return e.status() },
		"subnet-id":            func(e *NetworkInterface) string { return e.SubnetID },
		"vpc-id":               func(e *NetworkInterface) string { return e.VpcID },
	}
}

type createENIInput struct {
	DryRun             bool
	SubnetID           string `ec2:"SubnetId"`
	Description        string
	PrivateIPAddress   string `ec2:"PrivateIpAddress"`
	PrivateIPAddresses []struct {
		PrivateIPAddress string `ec2:"PrivateIpAddress"`
		Primary          *bool
	} `ec2:"PrivateIpAddresses"`
	SecondaryPrivateIPAddressCount *int32 `ec2:"SecondaryPrivateIpAddressCount"`
	Ipv6AddressCount               *int32
	Ipv6Addresses                  []struct{ Ipv6Address string } `ec2:"Ipv6Addresses"`
	Ipv4PrefixCount                *int32
	Groups                         []string `ec2:"SecurityGroupId"`
	InterfaceType                  string
	ClientToken                    string
	TagSpecifications              []TagSpecification `ec2:"TagSpecification"`
}

type createENIOutput struct {
	NetworkInterface eniXML `xml:"networkInterface"`
	ClientToken      string `xml:"clientToken,omitempty"`
}

func createNetworkInterface(c *call) (any, error) {
	var in createENIInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SubnetID == "" {
		return nil, errMissing("SubnetId")
	}
	if in.InterfaceType != "" {
		return nil, errInvalidParam("Interface type %s is not supported by lambdaplane; only the default interface type is.", in.InterfaceType)
	}
	if in.SecondaryPrivateIPAddressCount != nil || in.Ipv6AddressCount != nil || len(in.Ipv6Addresses) > 0 || in.Ipv4PrefixCount != nil {
		return nil, errInvalidParam("Secondary private addresses, IPv6 addresses and prefixes are not supported by lambdaplane yet.")
	}
	want := in.PrivateIPAddress
	switch len(in.PrivateIPAddresses) {
	case 0:
	case 1:
		p := in.PrivateIPAddresses[0]
		if p.Primary != nil && !*p.Primary {
			return nil, errInvalidParam("Secondary private addresses are not supported by lambdaplane yet.")
		}
		if want != "" && want != p.PrivateIPAddress {
			return nil, errCombination("Only one primary private IP address can be specified.")
		}
		want = p.PrivateIPAddress
	default:
		return nil, errInvalidParam("Secondary private addresses are not supported by lambdaplane yet.")
	}
	tags, err := tagsFor(kindENI, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("network-interface", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var out createENIOutput
	err = c.s.write(c, func(t *txn) error {
		if in.ClientToken != "" {
			for _, e := range all[*NetworkInterface](t, kindENI, c.acct, c.region) {
				if e.ClientToken == in.ClientToken {
					out = createENIOutput{NetworkInterface: e.xml(t, e.status()), ClientToken: in.ClientToken}
					return nil
				}
			}
		}
		s, err := mustFind[*Subnet](c, t, kindSubnet, in.SubnetID)
		if err != nil {
			return err
		}
		groups, err := checkGroups(c, t, s.VpcID, in.Groups)
		if err != nil {
			return err
		}
		e, err := newENI(c, t, s, eniSpec{PrivateIP: want, Groups: groups, Description: in.Description,
			RequesterID: c.req.Principal.UserID, Tags: tags})
		if err != nil {
			return err
		}
		e.ClientToken = in.ClientToken
		out = createENIOutput{NetworkInterface: e.xml(t, "pending"), ClientToken: in.ClientToken}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type describeENIsInput struct {
	DryRun              bool
	NetworkInterfaceIDs []string `ec2:"NetworkInterfaceId"`
	Filters             []Filter `ec2:"Filter"`
	MaxResults          *int32
	NextToken           string
}

type describeENIsOutput struct {
	NetworkInterfaces List[eniXML] `xml:"networkInterfaceSet"`
	NextToken         string       `xml:"nextToken,omitempty"`
}

func describeNetworkInterfaces(c *call) (any, error) {
	var in describeENIsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	out := describeENIsOutput{NetworkInterfaces: List[eniXML]{}}
	err := c.s.read(c, func(t *txn) error {
		enis, err := selectResources(c, t, kindENI, in.NetworkInterfaceIDs, in.Filters, eniFilters(t))
		if err != nil {
			return err
		}
		enis, out.NextToken, err = page(enis, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, e := range enis {
			out.NetworkInterfaces = append(out.NetworkInterfaces, e.xml(t, e.status()))
		}
		return nil
	})
	return out, err
}

type eniIDInput struct {
	DryRun             bool
	NetworkInterfaceID string `ec2:"NetworkInterfaceId"`
}

// errServiceOwned is what AWS answers a user who changes an interface
// another AWS service manages.
func errServiceOwned() error {
	return apiError("AuthFailure", "You do not have permission to access the specified resource.")
}

func errENIInUse(id string) error {
	return errInvalidParam("Network interface '%s' is currently in use.", id)
}

func deleteNetworkInterface(c *call) (any, error) {
	var in eniIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkInterfaceID == "" {
		return nil, errMissing("NetworkInterfaceId")
	}
	if err := c.authorize(c.arn("network-interface", in.NetworkInterfaceID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		e, err := mustFind[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		if err != nil {
			return err
		}
		if e.Attachment != nil {
			return errENIInUse(e.ID)
		}
		// A Lambda interface no function uses any more is detached, and
		// users may delete it before Lambda does.
		if e.RequesterManaged && e.ManagedBy != lambdaManagedBy {
			return errServiceOwned()
		}
		disassociateAddress(t, e)
		t.del(e.ID)
		return nil
	})
}

// disassociateAddress parts an interface that is going away from its
// Elastic IP, which stays allocated.
func disassociateAddress(t *txn, e *NetworkInterface) {
	if e.AllocationID == "" {
		return
	}
	if a := editAs[*Address](t, e.AllocationID); a != nil && a.NetworkInterfaceID == e.ID {
		a.AssociationID, a.NetworkInterfaceID, a.PrivateIP, a.InstanceID = "", "", "", ""
	}
}

type attrStringValue struct {
	Value *string
}

type modifyENIAttributeInput struct {
	DryRun             bool
	NetworkInterfaceID string           `ec2:"NetworkInterfaceId"`
	Description        *attrStringValue `ec2:"Description"`
	SourceDestCheck    *vpcAttrValue    `ec2:"SourceDestCheck"`
	Groups             []string         `ec2:"SecurityGroupId"`
	Attachment         *struct {
		AttachmentID        string `ec2:"AttachmentId"`
		DeleteOnTermination *bool
	} `ec2:"Attachment"`
}

func modifyNetworkInterfaceAttribute(c *call) (any, error) {
	var in modifyENIAttributeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkInterfaceID == "" {
		return nil, errMissing("NetworkInterfaceId")
	}
	var given []string
	if in.Description != nil {
		if in.Description.Value == nil {
			return nil, errMissing("Description.Value")
		}
		given = append(given, "description")
	}
	if in.SourceDestCheck != nil {
		if in.SourceDestCheck.Value == nil {
			return nil, errMissing("SourceDestCheck.Value")
		}
		given = append(given, "sourceDestCheck")
	}
	if len(in.Groups) > 0 {
		given = append(given, "groupSet")
	}
	if in.Attachment != nil {
		if in.Attachment.AttachmentID == "" {
			return nil, errMissing("Attachment.AttachmentId")
		}
		if in.Attachment.DeleteOnTermination == nil {
			return nil, errMissing("Attachment.DeleteOnTermination")
		}
		given = append(given, "attachment")
	}
	switch {
	case len(given) == 0:
		return nil, errCombination("No attributes specified.")
	case len(given) > 1:
		return nil, errCombination("Fields for multiple attribute types specified: %s", strings.Join(given, ", "))
	}
	if err := c.authorize(c.arn("network-interface", in.NetworkInterfaceID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		e, err := mustEdit[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		if err != nil {
			return err
		}
		if in.Attachment != nil && strings.HasPrefix(in.Attachment.AttachmentID, elaAttachPrefix) {
			return errNotPermitted("You are not allowed to manage 'ela-attach' attachments.")
		}
		if e.serviceOwned() {
			return errServiceOwned()
		}
		switch {
		case in.Description != nil:
			e.Description = *in.Description.Value
		case in.SourceDestCheck != nil:
			e.SourceDestCheck = *in.SourceDestCheck.Value
		case len(in.Groups) > 0:
			groups, err := checkGroups(c, t, e.VpcID, in.Groups)
			if err != nil {
				return err
			}
			e.Groups = groups
		default:
			if e.Attachment == nil || e.Attachment.ID != in.Attachment.AttachmentID {
				return errAttachmentNotFound(in.Attachment.AttachmentID)
			}
			e.Attachment.DeleteOnTermination = *in.Attachment.DeleteOnTermination
		}
		return nil
	})
}

func errAttachmentNotFound(id string) error {
	return apiError("InvalidAttachmentID.NotFound", "The network interface attachment ID '%s' does not exist", id)
}

type describeENIAttributeInput struct {
	DryRun             bool
	NetworkInterfaceID string `ec2:"NetworkInterfaceId"`
	Attribute          string
}

type attrStringXML struct {
	Value string `xml:"value"`
}

type describeENIAttributeOutput struct {
	NetworkInterfaceID       string          `xml:"networkInterfaceId"`
	Attachment               *eniAttachXML   `xml:"attachment,omitempty"`
	Description              *attrStringXML  `xml:"description,omitempty"`
	Groups                   *List[groupXML] `xml:"groupSet,omitempty"`
	SourceDestCheck          *attrBoolXML    `xml:"sourceDestCheck,omitempty"`
	AssociatePublicIPAddress *bool           `xml:"associatePublicIpAddress,omitempty"`
}

func describeNetworkInterfaceAttribute(c *call) (any, error) {
	var in describeENIAttributeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NetworkInterfaceID == "" {
		return nil, errMissing("NetworkInterfaceId")
	}
	if in.Attribute == "" {
		return nil, errMissing("Attribute")
	}
	if err := c.authorize(c.arn("network-interface", in.NetworkInterfaceID), in.DryRun); err != nil {
		return nil, err
	}
	out := describeENIAttributeOutput{NetworkInterfaceID: in.NetworkInterfaceID}
	err := c.s.read(c, func(t *txn) error {
		e, err := mustFind[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		if err != nil {
			return err
		}
		switch in.Attribute {
		case "description":
			out.Description = &attrStringXML{e.Description}
		case "groupSet":
			g := groupsXML(t, e.Groups)
			out.Groups = &g
		case "sourceDestCheck":
			out.SourceDestCheck = &attrBoolXML{e.SourceDestCheck}
		case "attachment":
			out.Attachment = e.Attachment.xml()
		case "associatePublicIpAddress":
			b := e.PublicIP != "" && e.AllocationID == ""
			out.AssociatePublicIPAddress = &b
		default:
			return errInvalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
		}
		return nil
	})
	return out, err
}

type attachENIInput struct {
	DryRun             bool
	NetworkInterfaceID string `ec2:"NetworkInterfaceId"`
	InstanceID         string `ec2:"InstanceId"`
	DeviceIndex        *int32
	NetworkCardIndex   *int32
}

type attachENIOutput struct {
	AttachmentID     string `xml:"attachmentId"`
	NetworkCardIndex int32  `xml:"networkCardIndex"`
}

// maxDeviceIndex bounds device indexes; the largest instance types take
// no more interfaces than this.
const maxDeviceIndex = 127

func attachNetworkInterface(c *call) (any, error) {
	var in attachENIInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	switch {
	case in.NetworkInterfaceID == "":
		return nil, errMissing("NetworkInterfaceId")
	case in.InstanceID == "":
		return nil, errMissing("InstanceId")
	case in.DeviceIndex == nil:
		return nil, errMissing("DeviceIndex")
	}
	if *in.DeviceIndex < 0 || *in.DeviceIndex > maxDeviceIndex {
		return nil, errInvalidParam("Value (%d) for parameter deviceIndex is invalid. Expecting a value between 0 and %d.", *in.DeviceIndex, maxDeviceIndex)
	}
	if in.NetworkCardIndex != nil && *in.NetworkCardIndex != 0 {
		return nil, errInvalidParam("Network card index %d is not supported by lambdaplane; instances have one network card.", *in.NetworkCardIndex)
	}
	if err := c.authorize(c.arn("network-interface", in.NetworkInterfaceID), in.DryRun); err != nil {
		return nil, err
	}
	var out attachENIOutput
	err := c.s.write(c, func(t *txn) error {
		e, err := mustFind[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		if err != nil {
			return err
		}
		inst, err := findInstance(c, t, in.InstanceID)
		if err != nil {
			return err
		}
		if e.serviceOwned() {
			return errServiceOwned()
		}
		if e.Attachment != nil {
			return errInterfaceInUse(e.ID)
		}
		if st := inst.settled(); st != stateRunning && st != stateStopped {
			return apiError("IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", inst.ID)
		}
		if e.VpcID != inst.VpcID {
			return errCombination("The network interface %s and the instance %s belong to different networks.", e.ID, inst.ID)
		}
		if e.Zone != inst.Zone {
			return errCombination("You may not attach a network interface to an instance if they are not in the same availability zone")
		}
		for _, other := range interfacesOf(t, inst.ID) {
			if other.Attachment.DeviceIndex == *in.DeviceIndex {
				return errInvalidParam("Instance '%s' already has an interface attached at device index '%d'.", inst.ID, *in.DeviceIndex)
			}
		}
		e = editAs[*NetworkInterface](t, e.ID)
		e.Attachment = &ENIAttachment{ID: "eni-attach-" + randHex(17), InstanceID: inst.ID, InstanceOwnerID: inst.Owner,
			DeviceIndex: *in.DeviceIndex, Status: "attached", AttachTime: t.now}
		setAddressInstance(t, e, inst.ID)
		out.AttachmentID = e.Attachment.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func errInterfaceInUse(id string) error {
	return apiError("InvalidNetworkInterface.InUse", "Interface: [%s] in use.", id)
}

type detachENIInput struct {
	DryRun       bool
	AttachmentID string `ec2:"AttachmentId"`
}

func detachNetworkInterface(c *call) (any, error) {
	var in detachENIInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AttachmentID == "" {
		return nil, errMissing("AttachmentId")
	}
	if strings.HasPrefix(in.AttachmentID, elaAttachPrefix) {
		return nil, errNotPermitted("You are not allowed to manage 'ela-attach' attachments.")
	}
	if err := c.authorize(c.arn("network-interface", "*"), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		var found *NetworkInterface
		for _, e := range all[*NetworkInterface](t, kindENI, c.acct, c.region) {
			if e.Attachment != nil && e.Attachment.ID == in.AttachmentID {
				found = e
				break
			}
		}
		if found == nil {
			return errAttachmentNotFound(in.AttachmentID)
		}
		if found.Attachment.DeviceIndex == 0 {
			return errNotPermitted("The network interface at device index 0 and networkCard index 0 cannot be detached.")
		}
		e := editAs[*NetworkInterface](t, found.ID)
		e.Attachment = nil
		setAddressInstance(t, e, "")
		return nil
	})
}
