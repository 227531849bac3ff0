package ec2

// RouteTable is a route table of a VPC. The local routes (one per VPC
// range) are not stored: they follow the VPC's ranges and are shown by
// DescribeRouteTables.
type RouteTable struct {
	Meta
	VpcID        string           `json:"vpc"`
	Routes       []Route          `json:"routes,omitempty"`
	Associations []RTBAssociation `json:"assocs,omitempty"`
}

// Route is one non-local route. Exactly one target is set.
type Route struct {
	Destination             string `json:"dst,omitempty"` // IPv4 CIDR
	DestinationPrefixListID string `json:"pl,omitempty"`  // pl-..., for gateway endpoints
	GatewayID               string `json:"igw,omitempty"` // igw-... (or vpce-... for gateway endpoints)
	NatGatewayID            string `json:"nat,omitempty"`
	VpcPeeringConnectionID  string `json:"pcx,omitempty"`
	NetworkInterfaceID      string `json:"eni,omitempty"`
	InstanceID              string `json:"i,omitempty"`
	VpcEndpointID           string `json:"vpce,omitempty"`
	Origin                  string `json:"origin"` // CreateRoute, CreateRouteTable
}

// RTBAssociation ties a route table to a subnet, or marks it main.
type RTBAssociation struct {
	ID       string `json:"id"` // rtbassoc-...
	SubnetID string `json:"subnet,omitempty"`
	Main     bool   `json:"main,omitempty"`
}

func (r *RouteTable) vpcID() string { return r.VpcID }

func init() {
	registerKind(kindRTB, func() resource { return new(RouteTable) })
}

// newRouteTable makes a route table of v (not yet recorded).
func newRouteTable(c *call, v *Vpc, main bool, tags []Tag) *RouteTable {
	rt := &RouteTable{Meta: c.meta(kindRTB, tags), VpcID: v.ID}
	if main {
		rt.Associations = []RTBAssociation{{ID: "rtbassoc-" + randHex(17), Main: true}}
	}
	return rt
}

func deleteAssoc(as []RTBAssociation, id string) []RTBAssociation {
	out := as[:0:0]
	for _, a := range as {
		if a.ID != id {
			out = append(out, a)
		}
	}
	return out
}
