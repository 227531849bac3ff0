package ec2

import "time"

// NatGateway is a NAT gateway: an interface in a subnet that translates
// the addresses of traffic routed to it, to its Elastic IP (public) or to
// its private address (private).
type NatGateway struct {
	Meta
	VpcID              string `json:"vpc"`
	SubnetID           string `json:"subnet"`
	ConnectivityType   string `json:"connectivity"` // public, private
	State              string `json:"state"`        // pending, available, deleting, deleted, failed
	AllocationID       string `json:"alloc,omitempty"`
	PublicIP           string `json:"publicIp,omitempty"`
	AssociationID      string `json:"assoc,omitempty"`
	NetworkInterfaceID string `json:"eni,omitempty"`
	PrivateIP          string `json:"privateIp,omitempty"`
	ClientToken        string `json:"clientToken,omitempty"`
	// A gateway that cannot be made still starts pending, as on AWS, and
	// fails when its creation would have ended.
	FailureCode    string `json:"failureCode,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	// Due is when the pending or deleting state ends.
	Due        time.Time `json:"due"`
	DeleteTime time.Time `json:"deleteTime"`
}

const (
	natPending   = "pending"
	natAvailable = "available"
	natDeleting  = "deleting"
	natDeleted   = "deleted"
	natFailed    = "failed"
)

// natGoneAfter is how long a deleted or failed NAT gateway stays visible,
// as AWS keeps them for about an hour.
const natGoneAfter = time.Hour

// natRequesterID is the AWS account that makes NAT gateways' interfaces,
// as their requesterId shows.
const natRequesterID = "036872051663"

func (n *NatGateway) vpcID() string    { return n.VpcID }
func (n *NatGateway) subnetID() string { return n.SubnetID }
func (n *NatGateway) isGone() bool     { return n.State == natDeleted || n.State == natFailed }

func init() {
	registerKind(kindNAT, func() resource { return new(NatGateway) })
	handle("CreateNatGateway", createNatGateway)
	handle("DescribeNatGateways", describeNatGateways)
	handle("DeleteNatGateway", deleteNatGateway)
	registerSettler(settleNatGateways)
}

type natAddressXML struct {
	AllocationID       string `xml:"allocationId,omitempty"`
	NetworkInterfaceID string `xml:"networkInterfaceId,omitempty"`
	PrivateIP          string `xml:"privateIp,omitempty"`
	PublicIP           string `xml:"publicIp,omitempty"`
	AssociationID      string `xml:"associationId,omitempty"`
	IsPrimary          bool   `xml:"isPrimary"`
	FailureMessage     string `xml:"failureMessage,omitempty"`
	Status             string `xml:"status"`
}

type natXML struct {
	CreateTime       string              `xml:"createTime"`
	DeleteTime       string              `xml:"deleteTime,omitempty"`
	FailureCode      string              `xml:"failureCode,omitempty"`
	FailureMessage   string              `xml:"failureMessage,omitempty"`
	Addresses        List[natAddressXML] `xml:"natGatewayAddressSet"`
	NatGatewayID     string              `xml:"natGatewayId"`
	State            string              `xml:"state"`
	SubnetID         string              `xml:"subnetId"`
	VpcID            string              `xml:"vpcId"`
	Tags             []Tag               `xml:"tagSet>item,omitempty"`
	ConnectivityType string              `xml:"connectivityType"`
	AvailabilityMode string              `xml:"availabilityMode"`
}

// addressStatus is where the gateway's address is in its life: an Elastic
// IP is associated and disassociated, a private address assigned and
// unassigned.
func (n *NatGateway) addressStatus() string {
	public := n.ConnectivityType == "public"
	switch n.State {
	case natPending:
		if public {
			return "associating"
		}
		return "assigning"
	case natDeleting:
		if public {
			return "disassociating"
		}
		return "unassigning"
	case natFailed:
		return "failed"
	}
	return "succeeded"
}

func (n *NatGateway) xml() natXML {
	x := natXML{CreateTime: timestamp(n.Created), NatGatewayID: n.ID, State: n.State, SubnetID: n.SubnetID,
		VpcID: n.VpcID, Tags: n.Tags, ConnectivityType: n.ConnectivityType, AvailabilityMode: "zonal"}
	if !n.DeleteTime.IsZero() {
		x.DeleteTime = timestamp(n.DeleteTime)
	}
	a := natAddressXML{AllocationID: n.AllocationID, NetworkInterfaceID: n.NetworkInterfaceID, PrivateIP: n.PrivateIP,
		PublicIP: n.PublicIP, IsPrimary: true, Status: n.addressStatus()}
	if !n.isGone() {
		a.AssociationID = n.AssociationID
	}
	if n.State == natFailed {
		x.FailureCode, x.FailureMessage = n.FailureCode, n.FailureMessage
		a.FailureMessage = n.FailureMessage
	}
	x.Addresses = List[natAddressXML]{a}
	return x
}

var natFilters = filters[*NatGateway]{
	"nat-gateway-id": func(n *NatGateway) string { return n.ID },
	"state":          func(n *NatGateway) string { return n.State },
	"subnet-id":      func(n *NatGateway) string { return n.SubnetID },
	"vpc-id":         func(n *NatGateway) string { return n.VpcID },
}

type createNatGatewayInput struct {
	DryRun                         bool
	SubnetID                       string `ec2:"SubnetId"`
	AllocationID                   string `ec2:"AllocationId"`
	ConnectivityType               string
	PrivateIPAddress               string `ec2:"PrivateIpAddress"`
	ClientToken                    string
	VpcID                          string `ec2:"VpcId"`
	AvailabilityMode               string
	SecondaryAllocationIDs         []string           `ec2:"SecondaryAllocationId"`
	SecondaryPrivateIPAddresses    []string           `ec2:"SecondaryPrivateIpAddress"`
	SecondaryPrivateIPAddressCount *int32             `ec2:"SecondaryPrivateIpAddressCount"`
	TagSpecifications              []TagSpecification `ec2:"TagSpecification"`
}

type createNatGatewayOutput struct {
	ClientToken string `xml:"clientToken,omitempty"`
	NatGateway  natXML `xml:"natGateway"`
}

// maxClientToken is the longest client token EC2 takes.
const maxClientToken = 64

func createNatGateway(c *call) (any, error) {
	var in createNatGatewayInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	switch in.ConnectivityType {
	case "":
		in.ConnectivityType = "public"
	case "public", "private":
	default:
		return nil, errInvalidParam("Value (%s) for parameter connectivityType is invalid. Valid values: private, public", in.ConnectivityType)
	}
	switch {
	case in.AvailabilityMode == "regional" || in.VpcID != "":
		return nil, errInvalidParam("Regional NAT gateways are not supported by lambdaplane yet.")
	case in.AvailabilityMode != "" && in.AvailabilityMode != "zonal":
		return nil, errInvalidParam("Value (%s) for parameter availabilityMode is invalid. Valid values: zonal, regional", in.AvailabilityMode)
	case len(in.SecondaryAllocationIDs) > 0 || len(in.SecondaryPrivateIPAddresses) > 0 || in.SecondaryPrivateIPAddressCount != nil:
		return nil, errInvalidParam("Secondary NAT gateway addresses are not supported by lambdaplane yet.")
	case in.SubnetID == "":
		return nil, errMissing("SubnetId")
	case in.ConnectivityType == "public" && in.AllocationID == "":
		return nil, errMissing("AllocationId")
	case in.ConnectivityType == "private" && in.AllocationID != "":
		return nil, errCombination("An Elastic IP address cannot be associated with a private NAT gateway.")
	case len(in.ClientToken) > maxClientToken:
		return nil, errInvalidParam("Value (%s) for parameter clientToken is invalid. Length exceeds the maximum of %d characters.", in.ClientToken, maxClientToken)
	}
	tags, err := tagsFor(kindNAT, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("natgateway", "*"), in.DryRun); err != nil {
		return nil, err
	}
	out := createNatGatewayOutput{ClientToken: in.ClientToken}
	err = c.s.write(c, func(t *txn) error {
		if in.ClientToken != "" {
			for _, n := range all[*NatGateway](t, kindNAT, c.acct, c.region) {
				if n.ClientToken != in.ClientToken {
					continue
				}
				if n.SubnetID != in.SubnetID || n.AllocationID != in.AllocationID || n.ConnectivityType != in.ConnectivityType ||
					(in.PrivateIPAddress != "" && n.PrivateIP != in.PrivateIPAddress) {
					return errIdempotentMismatch()
				}
				out.NatGateway = n.xml()
				return nil
			}
		}
		n, err := newNatGateway(c, t, &in, tags)
		if err != nil {
			return err
		}
		out.NatGateway = n.xml()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// newNatGateway records a NAT gateway: its interface, with the Elastic IP
// associated, or, when AWS would fail to make it, the failure it will
// show when its creation ends.
func newNatGateway(c *call, t *txn, in *createNatGatewayInput, tags []Tag) (*NatGateway, error) {
	s, err := mustFind[*Subnet](c, t, kindSubnet, in.SubnetID)
	if err != nil {
		return nil, err
	}
	n := &NatGateway{Meta: c.meta(kindNAT, tags), VpcID: s.VpcID, SubnetID: s.ID, ConnectivityType: in.ConnectivityType,
		State: natPending, ClientToken: in.ClientToken, Due: c.now.Add(c.s.opts.NatCreateDelay)}
	var a *Address
	if in.ConnectivityType == "public" {
		if a, err = mustFind[*Address](c, t, kindEIP, in.AllocationID); err != nil {
			return nil, err
		}
		n.AllocationID, n.PublicIP = a.ID, a.PublicIP
	}
	_, igw := vpcGateway(t, s.VpcID)
	switch {
	case in.PrivateIPAddress == "" && freeAddrs(s, subnetUsage(t)[s.ID]) <= 0:
		n.FailureCode, n.FailureMessage = "InsufficientFreeAddressesInSubnet", "Subnet has insufficient free addresses to create this NAT gateway"
	case a != nil && !igw:
		n.FailureCode, n.FailureMessage = "Gateway.NotAttached", "Network "+s.VpcID+" has no Internet gateway attached"
	case a != nil && a.NetworkInterfaceID != "":
		n.FailureCode, n.FailureMessage = "Resource.AlreadyAssociated", "Elastic IP address ["+a.ID+"] is already associated"
	}
	if n.FailureCode == "" {
		e, err := newENI(c, t, s, eniSpec{PrivateIP: in.PrivateIPAddress, InterfaceType: "nat_gateway",
			Description: "Interface for NAT Gateway " + n.ID, RequesterID: natRequesterID, Managed: true, ManagedBy: n.ID})
		if err != nil {
			return nil, err
		}
		n.NetworkInterfaceID, n.PrivateIP = e.ID, e.PrivateIP
		if a != nil {
			n.AssociationID = bindAddress(t, a.ID, e.ID)
		}
	}
	t.put(n)
	return n, nil
}

type describeNatGatewaysInput struct {
	DryRun        bool
	NatGatewayIds []string `ec2:"NatGatewayId"`
	Filters       []Filter `ec2:"Filter"`
	MaxResults    *int32
	NextToken     string
}

type describeNatGatewaysOutput struct {
	NatGateways List[natXML] `xml:"natGatewaySet"`
	NextToken   string       `xml:"nextToken,omitempty"`
}

func describeNatGateways(c *call) (any, error) {
	var in describeNatGatewaysInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeNatGatewaysOutput
	err := c.s.read(c, func(t *txn) error {
		ns, err := selectResources(c, t, kindNAT, in.NatGatewayIds, in.Filters, natFilters)
		if err != nil {
			return err
		}
		ns, out.NextToken, err = page(ns, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, n := range ns {
			out.NatGateways = append(out.NatGateways, n.xml())
		}
		return nil
	})
	return out, err
}

type deleteNatGatewayInput struct {
	DryRun       bool
	NatGatewayID string `ec2:"NatGatewayId"`
}

type deleteNatGatewayOutput struct {
	NatGatewayID string `xml:"natGatewayId"`
}

// deleteNatGateway starts deleting a gateway; its interface and the
// association of its Elastic IP (which stays allocated) go when it is
// deleted. Deleting one that is already going is a no-op.
func deleteNatGateway(c *call) (any, error) {
	var in deleteNatGatewayInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.NatGatewayID == "" {
		return nil, errMissing("NatGatewayId")
	}
	if err := c.authorize(c.arn("natgateway", in.NatGatewayID), in.DryRun); err != nil {
		return nil, err
	}
	err := c.s.write(c, func(t *txn) error {
		n, err := mustFind[*NatGateway](c, t, kindNAT, in.NatGatewayID)
		if err != nil {
			return err
		}
		switch n.State {
		case natPending, natAvailable:
			e := editAs[*NatGateway](t, n.ID)
			e.State, e.Due = natDeleting, t.now.Add(c.s.opts.NatCreateDelay)
		case natFailed:
			editAs[*NatGateway](t, n.ID).State = natDeleted
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleteNatGatewayOutput{NatGatewayID: in.NatGatewayID}, nil
}

// settleNatGateways ends the pending and deleting states that are due and
// forgets gateways an hour after they were deleted or failed.
func settleNatGateways(s *Service, t *txn) time.Time {
	var next time.Time
	later := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	t.each(kindNAT, func(r resource) bool {
		n := r.(*NatGateway)
		due := n.Due
		if n.isGone() {
			due = n.DeleteTime.Add(natGoneAfter)
		}
		if t.now.Before(due) {
			later(due)
			return true
		}
		switch n.State {
		case natPending:
			e := editAs[*NatGateway](t, n.ID)
			e.State = natAvailable
			if e.FailureCode != "" {
				e.State, e.DeleteTime = natFailed, t.now
				later(t.now.Add(natGoneAfter))
			}
		case natDeleting:
			e := editAs[*NatGateway](t, n.ID)
			if eni, ok := getAs[*NetworkInterface](t, e.NetworkInterfaceID); ok {
				disassociateAddress(t, eni)
				t.del(eni.ID)
			}
			e.State, e.DeleteTime = natDeleted, t.now
			later(t.now.Add(natGoneAfter))
		case natDeleted, natFailed:
			t.del(n.ID)
		}
		return true
	})
	return next
}
