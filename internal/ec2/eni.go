package ec2

import "time"

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
}

// ENIAttachment is an interface's attachment to an instance (or, for
// Lambda's interfaces, to the service: an ela-attach-... owned by amazon-aws).
type ENIAttachment struct {
	ID                  string    `json:"id"`
	InstanceID          string    `json:"instance,omitempty"`
	InstanceOwnerID     string    `json:"instanceOwner"`
	DeviceIndex         int32     `json:"device"`
	Status              string    `json:"status"`
	AttachTime          time.Time `json:"time"`
	DeleteOnTermination bool      `json:"deleteOnTermination"`
}

func (e *NetworkInterface) vpcID() string    { return e.VpcID }
func (e *NetworkInterface) subnetID() string { return e.SubnetID }

func init() {
	registerKind(kindENI, func() resource { return new(NetworkInterface) })
}

// newMAC makes a locally administered unicast MAC address, in the 02:
// range AWS's look like.
func newMAC() string {
	h := randHex(10)
	return "02:" + h[0:2] + ":" + h[2:4] + ":" + h[4:6] + ":" + h[6:8] + ":" + h[8:10]
}
