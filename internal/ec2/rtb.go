package ec2

import (
	"net/netip"
	"slices"
)

// RouteTable is a route table of a VPC. The local routes (one per VPC
// range) are not stored: they follow the VPC's ranges and are shown by
// DescribeRouteTables.
type RouteTable struct {
	Meta
	VpcID        string           `json:"vpc"`
	Routes       []Route          `json:"routes,omitempty"`
	Associations []RTBAssociation `json:"assocs,omitempty"`
	ClientToken  string           `json:"clientToken,omitempty"`
}

// Route is one non-local route. One target is set, except that a route
// made with InstanceId also keeps the instance's primary interface, which
// is where the traffic goes.
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
	handle("CreateRouteTable", createRouteTable)
	handle("DescribeRouteTables", describeRouteTables)
	handle("DeleteRouteTable", deleteRouteTable)
	handle("CreateRoute", createRoute)
	handle("ReplaceRoute", replaceRoute)
	handle("DeleteRoute", deleteRoute)
	handle("AssociateRouteTable", associateRouteTable)
	handle("DisassociateRouteTable", disassociateRouteTable)
	handle("ReplaceRouteTableAssociation", replaceRouteTableAssociation)
}

// newRouteTable makes a route table of v (not yet recorded).
func newRouteTable(c *call, v *Vpc, main bool, tags []Tag) *RouteTable {
	rt := &RouteTable{Meta: c.meta(kindRTB, tags), VpcID: v.ID}
	if main {
		rt.Associations = []RTBAssociation{{ID: newAssocID(), Main: true}}
	}
	return rt
}

func newAssocID() string { return "rtbassoc-" + randHex(17) }

func deleteAssoc(as []RTBAssociation, id string) []RTBAssociation {
	out := as[:0:0]
	for _, a := range as {
		if a.ID != id {
			out = append(out, a)
		}
	}
	return out
}

// key is what identifies a route within its table: its destination.
func (r Route) key() string {
	if r.DestinationPrefixListID != "" {
		return r.DestinationPrefixListID
	}
	return r.Destination
}

// endpointManaged reports whether the route is one a gateway endpoint put
// in the table; only the endpoint (ModifyVpcEndpoint) changes those.
func (r Route) endpointManaged() bool {
	return r.DestinationPrefixListID != "" && kindOf(r.GatewayID) == kindEndpoint
}

// routeState is active when the route's target can carry traffic for the
// table's VPC, blackhole when it is gone or detached.
func routeState(t *txn, vpcID string, r Route) string {
	ok := false
	switch {
	case r.GatewayID != "" && kindOf(r.GatewayID) == kindIGW:
		g, found := getAs[*InternetGateway](t, r.GatewayID)
		ok = found && g.VpcID == vpcID
	case r.GatewayID != "" || r.VpcEndpointID != "":
		id := r.GatewayID + r.VpcEndpointID
		e, found := getAs[*Endpoint](t, id)
		ok = found && !e.isGone()
	case r.NatGatewayID != "":
		// A deleting gateway may still pass traffic, as AWS documents.
		n, found := getAs[*NatGateway](t, r.NatGatewayID)
		ok = found && !n.isGone()
	case r.VpcPeeringConnectionID != "":
		p, found := getAs[*Peering](t, r.VpcPeeringConnectionID)
		ok = found && p.Status == "active"
	case r.NetworkInterfaceID != "":
		e, found := getAs[*NetworkInterface](t, r.NetworkInterfaceID)
		ok = found
		// An instance's interface carries traffic while the instance runs.
		if found && e.Attachment != nil && e.Attachment.InstanceID != "" {
			i, found := getAs[*Instance](t, e.Attachment.InstanceID)
			ok = found && i.settled() == stateRunning
		}
	}
	if ok {
		return "active"
	}
	return "blackhole"
}

type routeXML struct {
	DestinationCidrBlock    string `xml:"destinationCidrBlock,omitempty"`
	DestinationPrefixListID string `xml:"destinationPrefixListId,omitempty"`
	GatewayID               string `xml:"gatewayId,omitempty"`
	InstanceID              string `xml:"instanceId,omitempty"`
	InstanceOwnerID         string `xml:"instanceOwnerId,omitempty"`
	NatGatewayID            string `xml:"natGatewayId,omitempty"`
	NetworkInterfaceID      string `xml:"networkInterfaceId,omitempty"`
	Origin                  string `xml:"origin"`
	State                   string `xml:"state"`
	VpcPeeringConnectionID  string `xml:"vpcPeeringConnectionId,omitempty"`
}

type assocStateXML struct {
	State string `xml:"state"`
}

type rtbAssocXML struct {
	Main          bool          `xml:"main"`
	AssociationID string        `xml:"routeTableAssociationId"`
	RouteTableID  string        `xml:"routeTableId"`
	SubnetID      string        `xml:"subnetId,omitempty"`
	State         assocStateXML `xml:"associationState"`
}

type routeTableXML struct {
	RouteTableID    string            `xml:"routeTableId"`
	VpcID           string            `xml:"vpcId"`
	OwnerID         string            `xml:"ownerId"`
	Routes          List[routeXML]    `xml:"routeSet"`
	Associations    List[rtbAssocXML] `xml:"associationSet"`
	PropagatingVgws List[xs]          `xml:"propagatingVgwSet"`
	Tags            List[Tag]         `xml:"tagSet"`
}

// routes are the table's routes as DescribeRouteTables shows them: a local
// route per VPC range first, then the stored ones with their state.
func (rt *RouteTable) routes(t *txn) []routeXML {
	var out []routeXML
	if v, ok := getAs[*Vpc](t, rt.VpcID); ok {
		for _, a := range v.CidrAssociations {
			out = append(out, routeXML{DestinationCidrBlock: a.CidrBlock, GatewayID: "local", Origin: "CreateRouteTable", State: "active"})
		}
	}
	for _, r := range rt.Routes {
		x := routeXML{DestinationCidrBlock: r.Destination, DestinationPrefixListID: r.DestinationPrefixListID,
			GatewayID: r.GatewayID, NatGatewayID: r.NatGatewayID, NetworkInterfaceID: r.NetworkInterfaceID,
			VpcPeeringConnectionID: r.VpcPeeringConnectionID, InstanceID: r.InstanceID, Origin: r.Origin,
			State: routeState(t, rt.VpcID, r)}
		// A route to an endpoint names it as its gateway, as AWS shows it.
		if r.VpcEndpointID != "" {
			x.GatewayID = r.VpcEndpointID
		}
		// A route to an instance's interface shows the instance too.
		if e, ok := getAs[*NetworkInterface](t, r.NetworkInterfaceID); ok && e.Attachment != nil && e.Attachment.InstanceID != "" {
			if x.InstanceID == "" {
				x.InstanceID = e.Attachment.InstanceID
			}
			x.InstanceOwnerID = e.Attachment.InstanceOwnerID
		}
		if x.InstanceID != "" && x.InstanceOwnerID == "" {
			x.InstanceOwnerID = rt.Owner
		}
		out = append(out, x)
	}
	return out
}

func (rt *RouteTable) xml(t *txn) routeTableXML {
	x := routeTableXML{RouteTableID: rt.ID, VpcID: rt.VpcID, OwnerID: rt.Owner, Routes: rt.routes(t), Tags: rt.Tags}
	for _, a := range rt.Associations {
		x.Associations = append(x.Associations, rtbAssocXML{Main: a.Main, AssociationID: a.ID, RouteTableID: rt.ID,
			SubnetID: a.SubnetID, State: assocStateXML{"associated"}})
	}
	return x
}

// rtbFilters are DescribeRouteTables' filters; route filters see the
// routes as shown (local ones and states included), computed once per
// table.
func rtbFilters(t *txn) filters[*RouteTable] {
	shown := map[string][]routeXML{}
	routesOf := func(rt *RouteTable) []routeXML {
		rs, ok := shown[rt.ID]
		if !ok {
			rs = rt.routes(t)
			shown[rt.ID] = rs
		}
		return rs
	}
	route := func(f func(routeXML) string) func(*RouteTable) []string {
		return func(rt *RouteTable) []string {
			var out []string
			for _, r := range routesOf(rt) {
				if v := f(r); v != "" {
					out = append(out, v)
				}
			}
			return out
		}
	}
	assoc := func(f func(RTBAssociation) string) func(*RouteTable) []string {
		return func(rt *RouteTable) []string {
			var out []string
			for _, a := range rt.Associations {
				if v := f(a); v != "" {
					out = append(out, v)
				}
			}
			return out
		}
	}
	none := func(*RouteTable) []string { return nil }
	return filters[*RouteTable]{
		"route-table-id": func(rt *RouteTable) string { return rt.ID },
		"vpc-id":         func(rt *RouteTable) string { return rt.VpcID },
		"owner-id":       func(rt *RouteTable) string { return rt.Owner },
		"association.main": func(rt *RouteTable) []string {
			var out []string
			for _, a := range rt.Associations {
				out = append(out, boolValue(a.Main)...)
			}
			return out
		},
		"association.subnet-id":                  assoc(func(a RTBAssociation) string { return a.SubnetID }),
		"association.route-table-association-id": assoc(func(a RTBAssociation) string { return a.ID }),
		"association.route-table-id": func(rt *RouteTable) []string {
			if len(rt.Associations) > 0 {
				return one(rt.ID)
			}
			return nil
		},
		"association.gateway-id":                none,
		"route.destination-cidr-block":          route(func(r routeXML) string { return r.DestinationCidrBlock }),
		"route.destination-prefix-list-id":      route(func(r routeXML) string { return r.DestinationPrefixListID }),
		"route.gateway-id":                      route(func(r routeXML) string { return r.GatewayID }),
		"route.nat-gateway-id":                  route(func(r routeXML) string { return r.NatGatewayID }),
		"route.vpc-peering-connection-id":       route(func(r routeXML) string { return r.VpcPeeringConnectionID }),
		"route.instance-id":                     route(func(r routeXML) string { return r.InstanceID }),
		"route.state":                           route(func(r routeXML) string { return r.State }),
		"route.origin":                          route(func(r routeXML) string { return r.Origin }),
		"route.destination-ipv6-cidr-block":     none,
		"route.egress-only-internet-gateway-id": none,
		"route.transit-gateway-id":              none,
	}
}

type createRouteTableInput struct {
	DryRun            bool
	VpcID             string `ec2:"VpcId"`
	ClientToken       string
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type createRouteTableOutput struct {
	RouteTable  routeTableXML `xml:"routeTable"`
	ClientToken string        `xml:"clientToken,omitempty"`
}

func createRouteTable(c *call) (any, error) {
	var in createRouteTableInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	tags, err := tagsFor(kindRTB, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("route-table", "*"), in.DryRun); err != nil {
		return nil, err
	}
	out := createRouteTableOutput{ClientToken: in.ClientToken}
	err = c.s.write(c, func(t *txn) error {
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			for _, rt := range all[*RouteTable](t, kindRTB, c.acct, c.region) {
				if rt.ClientToken == in.ClientToken {
					if rt.VpcID != v.ID {
						return errIdempotentMismatch()
					}
					out.RouteTable = rt.xml(t)
					return nil
				}
			}
		}
		rt := newRouteTable(c, v, false, tags)
		rt.ClientToken = in.ClientToken
		t.put(rt)
		out.RouteTable = rt.xml(t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errIdempotentMismatch is what a reused client token with other
// parameters gets.
func errIdempotentMismatch() error {
	return apiError("IdempotentParameterMismatch", "The client token you have provided is associated with a resource that has different parameters. Please use a different client token.")
}

type describeRouteTablesInput struct {
	DryRun        bool
	RouteTableIds []string `ec2:"RouteTableId"`
	Filters       []Filter `ec2:"Filter"`
	MaxResults    *int32
	NextToken     string
}

type describeRouteTablesOutput struct {
	RouteTables List[routeTableXML] `xml:"routeTableSet"`
	NextToken   string              `xml:"nextToken,omitempty"`
}

func describeRouteTables(c *call) (any, error) {
	var in describeRouteTablesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeRouteTablesOutput
	err := c.s.read(c, func(t *txn) error {
		rts, err := selectResources(c, t, kindRTB, in.RouteTableIds, in.Filters, rtbFilters(t))
		if err != nil {
			return err
		}
		rts, out.NextToken, err = page(rts, in.MaxResults, in.NextToken, 5, 100)
		if err != nil {
			return err
		}
		for _, rt := range rts {
			out.RouteTables = append(out.RouteTables, rt.xml(t))
		}
		return nil
	})
	return out, err
}

type routeTableIDInput struct {
	DryRun       bool
	RouteTableID string `ec2:"RouteTableId"`
}

func deleteRouteTable(c *call) (any, error) {
	var in routeTableIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.RouteTableID == "" {
		return nil, errMissing("RouteTableId")
	}
	if err := c.authorize(c.arn("route-table", in.RouteTableID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		rt, err := mustFind[*RouteTable](c, t, kindRTB, in.RouteTableID)
		if err != nil {
			return err
		}
		// The main table and a table subnets use stay; a gateway endpoint
		// just loses the table.
		if len(rt.Associations) > 0 {
			return errDependency("The routeTable '%s' has dependencies and cannot be deleted.", rt.ID)
		}
		t.del(rt.ID)
		return nil
	})
}

// routeInput is the input of CreateRoute, ReplaceRoute and DeleteRoute.
type routeInput struct {
	DryRun                      bool
	RouteTableID                string `ec2:"RouteTableId"`
	DestinationCidrBlock        string
	DestinationIpv6CidrBlock    string
	DestinationPrefixListID     string `ec2:"DestinationPrefixListId"`
	GatewayID                   string `ec2:"GatewayId"`
	NatGatewayID                string `ec2:"NatGatewayId"`
	VpcPeeringConnectionID      string `ec2:"VpcPeeringConnectionId"`
	NetworkInterfaceID          string `ec2:"NetworkInterfaceId"`
	InstanceID                  string `ec2:"InstanceId"`
	VpcEndpointID               string `ec2:"VpcEndpointId"`
	EgressOnlyInternetGatewayID string `ec2:"EgressOnlyInternetGatewayId"`
	TransitGatewayID            string `ec2:"TransitGatewayId"`
	LocalGatewayID              string `ec2:"LocalGatewayId"`
	CarrierGatewayID            string `ec2:"CarrierGatewayId"`
	CoreNetworkArn              string
	OdbNetworkArn               string
	LocalTarget                 *bool
}

// destination checks the route's destination: exactly one of an IPv4
// CIDR (made canonical, as EC2 does) or a prefix list.
func (in *routeInput) destination() (Route, error) {
	n := 0
	for _, s := range []string{in.DestinationCidrBlock, in.DestinationIpv6CidrBlock, in.DestinationPrefixListID} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return Route{}, apiError("MissingParameter", "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock")
	case n > 1:
		return Route{}, errCombination("Only one of destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId may be specified.")
	case in.DestinationIpv6CidrBlock != "":
		return Route{}, errInvalidParam("IPv6 routes are not supported by lambdaplane yet.")
	case in.DestinationPrefixListID != "":
		return Route{DestinationPrefixListID: in.DestinationPrefixListID}, nil
	}
	p, err := netip.ParsePrefix(in.DestinationCidrBlock)
	if err != nil || !p.Addr().Is4() {
		return Route{}, errInvalidParam("Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", in.DestinationCidrBlock)
	}
	return Route{Destination: p.Masked().String()}, nil
}

// targets counts the targets the request names, and refuses the ones
// lambdaplane has no resource for.
func (in *routeInput) targets() (int, error) {
	n := 0
	for _, s := range []string{in.GatewayID, in.NatGatewayID, in.VpcPeeringConnectionID, in.NetworkInterfaceID, in.InstanceID, in.VpcEndpointID} {
		if s != "" {
			n++
		}
	}
	for _, u := range []struct{ value, what string }{
		{in.EgressOnlyInternetGatewayID, "Egress-only internet gateways"}, {in.TransitGatewayID, "Transit gateways"},
		{in.LocalGatewayID, "Local gateways"}, {in.CarrierGatewayID, "Carrier gateways"},
		{in.CoreNetworkArn, "Core networks"}, {in.OdbNetworkArn, "ODB networks"},
	} {
		if u.value != "" {
			return 0, errInvalidParam("%s are not supported by lambdaplane yet.", u.what)
		}
	}
	return n, nil
}

const routeTargetNames = "gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, instanceId or vpcEndpointId"

// checkOneTarget refuses requests that name no target or several.
func (in *routeInput) checkOneTarget() error {
	n, err := in.targets()
	if err != nil {
		return err
	}
	if n == 0 {
		return apiError("MissingParameter", "The request must contain exactly one of %s", routeTargetNames)
	}
	if n > 1 {
		return errCombination("The request must contain exactly one of %s", routeTargetNames)
	}
	return nil
}

// resolveTarget finds the request's target for a route of rt and fills it
// into r. toInterface reports a target that is a network interface (given
// as such or as an instance): only those may take traffic for addresses
// inside the VPC.
func resolveTarget(c *call, t *txn, rt *RouteTable, in *routeInput, r *Route) (toInterface bool, err error) {
	differ := func(what, id string) error {
		return errInvalidParam("route table %s and %s %s belong to different networks", rt.ID, what, id)
	}
	switch {
	case in.GatewayID != "":
		id := in.GatewayID
		switch kindOf(id) {
		case kindIGW:
			if g, ok := findAs[*InternetGateway](c, t, kindIGW, id); ok {
				if g.VpcID != rt.VpcID {
					return false, differ("network gateway", id)
				}
				r.GatewayID = id
				return false, nil
			}
		case kindNAT:
			// EC2 takes a NAT gateway given as a gateway and records it
			// as what it is.
			if n, ok := findAs[*NatGateway](c, t, kindNAT, id); ok && !n.isGone() {
				if n.VpcID != rt.VpcID {
					return false, differ("network gateway", id)
				}
				r.NatGatewayID = id
				return false, nil
			}
		case kindEndpoint:
			if _, ok := findAs[*Endpoint](c, t, kindEndpoint, id); ok {
				return false, errEndpointRoute(rt.ID, id)
			}
		}
		return false, apiError("InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", id)
	case in.NatGatewayID != "":
		n, ok := findAs[*NatGateway](c, t, kindNAT, in.NatGatewayID)
		if !ok || n.isGone() {
			return false, apiError("InvalidNatGatewayID.NotFound", "The natGateway ID '%s' does not exist", in.NatGatewayID)
		}
		if n.VpcID != rt.VpcID {
			return false, differ("network gateway", n.ID)
		}
		r.NatGatewayID = n.ID
	case in.VpcPeeringConnectionID != "":
		// Both sides route through a peering connection, whichever
		// account or region made it.
		p, ok := getAs[*Peering](t, in.VpcPeeringConnectionID)
		mine := ok && (p.Owner == c.acct || p.RequesterVpcID == rt.VpcID || p.AccepterVpcID == rt.VpcID)
		if !mine || p.isGone() {
			if !validID(kindPeering, in.VpcPeeringConnectionID) {
				return false, errMalformed(kindPeering, in.VpcPeeringConnectionID)
			}
			return false, errNotFound(kindPeering, in.VpcPeeringConnectionID)
		}
		if p.RequesterVpcID != rt.VpcID && p.AccepterVpcID != rt.VpcID {
			return false, differ("peering connection", p.ID)
		}
		r.VpcPeeringConnectionID = p.ID
	case in.NetworkInterfaceID != "":
		e, err := mustFind[*NetworkInterface](c, t, kindENI, in.NetworkInterfaceID)
		if err != nil {
			return false, err
		}
		if e.VpcID != rt.VpcID {
			return false, differ("interface", e.ID)
		}
		r.NetworkInterfaceID = e.ID
		return true, nil
	case in.InstanceID != "":
		e, err := primaryInterface(c, t, in.InstanceID)
		if err != nil {
			return false, err
		}
		if e.VpcID != rt.VpcID {
			return false, differ("interface", e.ID)
		}
		r.InstanceID, r.NetworkInterfaceID = in.InstanceID, e.ID
		return true, nil
	case in.VpcEndpointID != "":
		e, err := mustFind[*Endpoint](c, t, kindEndpoint, in.VpcEndpointID)
		if err != nil {
			return false, err
		}
		if e.Type != "GatewayLoadBalancer" {
			return false, errInvalidParam("Route target %s is not a Gateway Load Balancer endpoint. Only Gateway Load Balancer endpoints can be route targets.", e.ID)
		}
		if e.VpcID != rt.VpcID {
			return false, differ("endpoint", e.ID)
		}
		r.VpcEndpointID = e.ID
	}
	return false, nil
}

// errEndpointRoute refuses changing a route a gateway endpoint owns.
func errEndpointRoute(rtbID, endpointID string) error {
	return errInvalidParam("The route in route table %s to %s is managed by the VPC endpoint; use ModifyVpcEndpoint to change it.", rtbID, endpointID)
}

// primaryInterface is the interface a route or address given an instance
// goes to: its only attached interface, as EC2 requires.
func primaryInterface(c *call, t *txn, instanceID string) (*NetworkInterface, error) {
	i, err := findInstance(c, t, instanceID)
	if err != nil {
		return nil, err
	}
	attached := interfacesOf(t, i.ID)
	if i.isGone() || len(attached) == 0 {
		return nil, apiError("IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", i.ID)
	}
	if len(attached) > 1 {
		return nil, apiError("InvalidInstanceID", "There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", i.ID)
	}
	return attached[0], nil
}

// checkLocalOverlap refuses a destination inside the VPC unless its target
// is an interface (middlebox routing), as EC2 does.
func checkLocalOverlap(v *Vpc, r Route, toInterface bool) error {
	if r.Destination == "" || toInterface {
		return nil
	}
	p := netip.MustParsePrefix(r.Destination)
	if v.containsPrefix(p) {
		return errInvalidParam("The destination CIDR block %s is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.", r.Destination)
	}
	return nil
}

// isLocal reports whether dst is one of the VPC's local routes.
func isLocal(v *Vpc, dst string) bool {
	return slices.ContainsFunc(v.CidrAssociations, func(a CidrAssociation) bool { return a.CidrBlock == dst })
}

// routeWrite decodes and checks a CreateRoute or ReplaceRoute request and
// runs fn on the table (a private copy), its VPC, the new route and
// whether it targets an interface.
func routeWrite(c *call, fn func(t *txn, rt *RouteTable, v *Vpc, r Route, toInterface bool) error) (any, error) {
	var in routeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.RouteTableID == "" {
		return nil, errMissing("RouteTableId")
	}
	r, err := in.destination()
	if err != nil {
		return nil, err
	}
	localTarget := in.LocalTarget != nil && *in.LocalTarget
	if !localTarget {
		if err := in.checkOneTarget(); err != nil {
			return nil, err
		}
	} else if n, err := in.targets(); err != nil || n > 0 {
		if err != nil {
			return nil, err
		}
		return nil, errCombination("The request must contain exactly one of localTarget, %s", routeTargetNames)
	}
	if err := c.authorize(c.arn("route-table", in.RouteTableID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		rt, err := mustEdit[*RouteTable](c, t, kindRTB, in.RouteTableID)
		if err != nil {
			return err
		}
		v, ok := getAs[*Vpc](t, rt.VpcID)
		if !ok {
			return errNotFound(kindVpc, rt.VpcID)
		}
		if localTarget {
			// Restoring the local target of a local route: it has no other.
			if !isLocal(v, r.Destination) {
				return errInvalidParam("The localTarget parameter can only be used with a local route of the VPC; %s is not one.", r.key())
			}
			return nil
		}
		toInterface, err := resolveTarget(c, t, rt, &in, &r)
		if err != nil {
			return err
		}
		r.Origin = "CreateRoute"
		return fn(t, rt, v, r, toInterface)
	})
}

func createRoute(c *call) (any, error) {
	return routeWrite(c, func(t *txn, rt *RouteTable, v *Vpc, r Route, toInterface bool) error {
		if isLocal(v, r.Destination) || slices.ContainsFunc(rt.Routes, func(o Route) bool { return o.key() == r.key() }) {
			return apiError("RouteAlreadyExists", "The route identified by %s already exists.", r.key())
		}
		if r.DestinationPrefixListID != "" {
			// The only prefix lists here are AWS's for gateway endpoints,
			// and only the endpoints route to them.
			if _, ok := prefixListByID(c.region, r.DestinationPrefixListID); !ok {
				return errPrefixListNotFound(r.DestinationPrefixListID)
			}
			return errInvalidParam("The prefix list %s is managed by AWS; routes to it are made by gateway VPC endpoints.", r.DestinationPrefixListID)
		}
		if err := checkLocalOverlap(v, r, toInterface); err != nil {
			return err
		}
		rt.Routes = append(rt.Routes, r)
		return nil
	})
}

func replaceRoute(c *call) (any, error) {
	return routeWrite(c, func(t *txn, rt *RouteTable, v *Vpc, r Route, toInterface bool) error {
		if isLocal(v, r.Destination) {
			return errInvalidParam("cannot replace local route %s in route table %s", r.Destination, rt.ID)
		}
		i := slices.IndexFunc(rt.Routes, func(o Route) bool { return o.key() == r.key() })
		if i < 0 {
			return errInvalidParam("There is no route defined for '%s' in the route table. Use CreateRoute instead.", r.key())
		}
		if rt.Routes[i].endpointManaged() {
			return errEndpointRoute(rt.ID, rt.Routes[i].GatewayID)
		}
		if err := checkLocalOverlap(v, r, toInterface); err != nil {
			return err
		}
		r.Origin = rt.Routes[i].Origin
		rt.Routes[i] = r
		return nil
	})
}

func deleteRoute(c *call) (any, error) {
	var in routeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.RouteTableID == "" {
		return nil, errMissing("RouteTableId")
	}
	r, err := in.destination()
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("route-table", in.RouteTableID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		rt, err := mustEdit[*RouteTable](c, t, kindRTB, in.RouteTableID)
		if err != nil {
			return err
		}
		if v, ok := getAs[*Vpc](t, rt.VpcID); ok && isLocal(v, r.Destination) {
			return errInvalidParam("cannot remove local route %s in route table %s", r.Destination, rt.ID)
		}
		i := slices.IndexFunc(rt.Routes, func(o Route) bool { return o.key() == r.key() })
		if i < 0 {
			param := "destination-cidr-block"
			if r.DestinationPrefixListID != "" {
				param = "destination-prefix-list-id"
			}
			return apiError("InvalidRoute.NotFound", "no route with %s %s in route table %s", param, r.key(), rt.ID)
		}
		if rt.Routes[i].endpointManaged() {
			return errEndpointRoute(rt.ID, rt.Routes[i].GatewayID)
		}
		rt.Routes = slices.Delete(rt.Routes, i, i+1)
		return nil
	})
}

type associateRouteTableInput struct {
	DryRun         bool
	RouteTableID   string `ec2:"RouteTableId"`
	SubnetID       string `ec2:"SubnetId"`
	GatewayID      string `ec2:"GatewayId"`
	PublicIpv4Pool string
}

type associateRouteTableOutput struct {
	AssociationID string        `xml:"associationId"`
	State         assocStateXML `xml:"associationState"`
}

func associateRouteTable(c *call) (any, error) {
	var in associateRouteTableInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.RouteTableID == "" {
		return nil, errMissing("RouteTableId")
	}
	switch {
	case in.GatewayID != "" || in.PublicIpv4Pool != "":
		if in.SubnetID != "" {
			return nil, errCombination("Only one of subnetId or gatewayId may be specified.")
		}
		return nil, errInvalidParam("Gateway route table associations are not supported by lambdaplane yet.")
	case in.SubnetID == "":
		return nil, apiError("MissingParameter", "The request must contain the parameter subnetId or gatewayId")
	}
	if err := c.authorize(c.arn("route-table", in.RouteTableID), in.DryRun); err != nil {
		return nil, err
	}
	out := associateRouteTableOutput{AssociationID: newAssocID(), State: assocStateXML{"associated"}}
	err := c.s.write(c, func(t *txn) error {
		rt, err := mustFind[*RouteTable](c, t, kindRTB, in.RouteTableID)
		if err != nil {
			return err
		}
		s, err := mustFind[*Subnet](c, t, kindSubnet, in.SubnetID)
		if err != nil {
			return err
		}
		if s.VpcID != rt.VpcID {
			return errInvalidParam("route table %s and subnet %s belong to different networks", rt.ID, s.ID)
		}
		if _, _, ok := subnetAssociation(t, s.ID); ok {
			return apiError("Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", rt.ID)
		}
		e := editAs[*RouteTable](t, rt.ID)
		e.Associations = append(e.Associations, RTBAssociation{ID: out.AssociationID, SubnetID: s.ID})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// subnetAssociation finds the explicit route table association of a
// subnet (a subnet without one uses its VPC's main table).
func subnetAssociation(t *txn, subnetID string) (rtbID, assocID string, ok bool) {
	t.each(kindRTB, func(r resource) bool {
		for _, a := range r.(*RouteTable).Associations {
			if a.SubnetID == subnetID {
				rtbID, assocID, ok = r.meta().ID, a.ID, true
				return false
			}
		}
		return true
	})
	return
}

// findAssociation finds the caller's route table holding association id.
func findAssociation(c *call, t *txn, id string) (*RouteTable, RTBAssociation, error) {
	for _, rt := range all[*RouteTable](t, kindRTB, c.acct, c.region) {
		for _, a := range rt.Associations {
			if a.ID == id {
				return rt, a, nil
			}
		}
	}
	return nil, RTBAssociation{}, apiError("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
}

type associationIDInput struct {
	DryRun        bool
	AssociationID string `ec2:"AssociationId"`
	RouteTableID  string `ec2:"RouteTableId"`
}

func disassociateRouteTable(c *call) (any, error) {
	var in associationIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AssociationID == "" {
		return nil, errMissing("AssociationId")
	}
	return okResult, c.s.write(c, func(t *txn) error {
		rt, a, err := findAssociation(c, t, in.AssociationID)
		if err != nil {
			return err
		}
		if err := c.authorize(c.arn("route-table", rt.ID), in.DryRun); err != nil {
			return err
		}
		if a.Main {
			return errInvalidParam("cannot disassociate the main route table association %s", a.ID)
		}
		e := editAs[*RouteTable](t, rt.ID)
		e.Associations = deleteAssoc(e.Associations, a.ID)
		return nil
	})
}

type replaceRouteTableAssociationOutput struct {
	NewAssociationID string        `xml:"newAssociationId"`
	State            assocStateXML `xml:"associationState"`
}

// replaceRouteTableAssociation moves a subnet's association, or the VPC's
// main association, to another table; the association gets a new id.
func replaceRouteTableAssociation(c *call) (any, error) {
	var in associationIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.AssociationID == "" {
		return nil, errMissing("AssociationId")
	}
	if in.RouteTableID == "" {
		return nil, errMissing("RouteTableId")
	}
	if err := c.authorize(c.arn("route-table", in.RouteTableID), in.DryRun); err != nil {
		return nil, err
	}
	out := replaceRouteTableAssociationOutput{NewAssociationID: newAssocID(), State: assocStateXML{"associated"}}
	err := c.s.write(c, func(t *txn) error {
		to, err := mustFind[*RouteTable](c, t, kindRTB, in.RouteTableID)
		if err != nil {
			return err
		}
		from, a, err := findAssociation(c, t, in.AssociationID)
		if err != nil {
			return err
		}
		if from.VpcID != to.VpcID {
			return errInvalidParam("route table %s and association %s belong to different networks", to.ID, a.ID)
		}
		old := editAs[*RouteTable](t, from.ID)
		old.Associations = deleteAssoc(old.Associations, a.ID)
		a.ID = out.NewAssociationID
		nt := editAs[*RouteTable](t, to.ID)
		nt.Associations = append(nt.Associations, a)
		if a.Main {
			v := editAs[*Vpc](t, to.VpcID)
			v.MainRouteTableID = to.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
