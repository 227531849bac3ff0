package ec2

// InternetGateway is an internet gateway, attached to at most one VPC.
type InternetGateway struct {
	Meta
	VpcID string `json:"vpc,omitempty"` // "" when detached
}

func init() {
	registerKind(kindIGW, func() resource { return new(InternetGateway) })
	handle("CreateInternetGateway", createInternetGateway)
	handle("DescribeInternetGateways", describeInternetGateways)
	handle("DeleteInternetGateway", deleteInternetGateway)
	handle("AttachInternetGateway", attachInternetGateway)
	handle("DetachInternetGateway", detachInternetGateway)
}

// vpcGateway returns the internet gateway attached to a VPC.
func vpcGateway(t *txn, vpcID string) (*InternetGateway, bool) {
	var out *InternetGateway
	anyOf(t, kindIGW, func(g *InternetGateway) bool {
		if g.VpcID == vpcID {
			out = g
			return true
		}
		return false
	})
	return out, out != nil
}

type igwAttachmentXML struct {
	State string `xml:"state"`
	VpcID string `xml:"vpcId"`
}

type igwXML struct {
	Attachments       List[igwAttachmentXML] `xml:"attachmentSet"`
	InternetGatewayID string                 `xml:"internetGatewayId"`
	OwnerID           string                 `xml:"ownerId"`
	Tags              List[Tag]              `xml:"tagSet"`
}

// xml renders the gateway; an attachment's state reads "available", which
// is what EC2 answers for an attached gateway (not the documented
// "attached").
func (g *InternetGateway) xml() igwXML {
	x := igwXML{InternetGatewayID: g.ID, OwnerID: g.Owner, Tags: g.Tags}
	if g.VpcID != "" {
		x.Attachments = List[igwAttachmentXML]{{State: "available", VpcID: g.VpcID}}
	}
	return x
}

var igwFilters = filters[*InternetGateway]{
	"internet-gateway-id": func(g *InternetGateway) string { return g.ID },
	"owner-id":            func(g *InternetGateway) string { return g.Owner },
	"attachment.vpc-id": func(g *InternetGateway) []string {
		if g.VpcID == "" {
			return nil
		}
		return one(g.VpcID)
	},
	"attachment.state": func(g *InternetGateway) []string {
		if g.VpcID == "" {
			return nil
		}
		return one("available")
	},
}

type createInternetGatewayInput struct {
	DryRun            bool
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type createInternetGatewayOutput struct {
	InternetGateway igwXML `xml:"internetGateway"`
}

func createInternetGateway(c *call) (any, error) {
	var in createInternetGatewayInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	tags, err := tagsFor(kindIGW, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("internet-gateway", "*"), in.DryRun); err != nil {
		return nil, err
	}
	g := &InternetGateway{Meta: c.meta(kindIGW, tags)}
	err = c.s.write(c, func(t *txn) error {
		t.put(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return createInternetGatewayOutput{InternetGateway: g.xml()}, nil
}

type describeInternetGatewaysInput struct {
	DryRun             bool
	InternetGatewayIds []string `ec2:"InternetGatewayId"`
	Filters            []Filter `ec2:"Filter"`
	MaxResults         *int32
	NextToken          string
}

type describeInternetGatewaysOutput struct {
	InternetGateways List[igwXML] `xml:"internetGatewaySet"`
	NextToken        string       `xml:"nextToken,omitempty"`
}

func describeInternetGateways(c *call) (any, error) {
	var in describeInternetGatewaysInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeInternetGatewaysOutput
	err := c.s.read(c, func(t *txn) error {
		gs, err := selectResources(c, t, kindIGW, in.InternetGatewayIds, in.Filters, igwFilters)
		if err != nil {
			return err
		}
		gs, out.NextToken, err = page(gs, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, g := range gs {
			out.InternetGateways = append(out.InternetGateways, g.xml())
		}
		return nil
	})
	return out, err
}

type igwIDInput struct {
	DryRun            bool
	InternetGatewayID string `ec2:"InternetGatewayId"`
	VpcID             string `ec2:"VpcId"`
}

func deleteInternetGateway(c *call) (any, error) {
	var in igwIDInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.InternetGatewayID == "" {
		return nil, errMissing("InternetGatewayId")
	}
	if err := c.authorize(c.arn("internet-gateway", in.InternetGatewayID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		g, err := mustFind[*InternetGateway](c, t, kindIGW, in.InternetGatewayID)
		if err != nil {
			return err
		}
		if g.VpcID != "" {
			return errDependency("The internetGateway '%s' has dependencies and cannot be deleted.", g.ID)
		}
		t.del(g.ID)
		return nil
	})
}

// igwAttachInput checks the parameters of Attach and DetachInternetGateway.
func igwAttachInput(c *call) (igwIDInput, error) {
	var in igwIDInput
	if err := c.decode(&in); err != nil {
		return in, err
	}
	if in.InternetGatewayID == "" {
		return in, errMissing("InternetGatewayId")
	}
	if in.VpcID == "" {
		return in, errMissing("VpcId")
	}
	return in, c.authorize(c.arn("internet-gateway", in.InternetGatewayID), in.DryRun)
}

func attachInternetGateway(c *call) (any, error) {
	in, err := igwAttachInput(c)
	if err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		g, err := mustFind[*InternetGateway](c, t, kindIGW, in.InternetGatewayID)
		if err != nil {
			return err
		}
		if g.VpcID != "" {
			return apiError("Resource.AlreadyAssociated", "resource %s is already attached to network %s", g.ID, g.VpcID)
		}
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		if _, ok := vpcGateway(t, v.ID); ok {
			return errInvalidParam("Network %s already has an internet gateway attached", v.ID)
		}
		editAs[*InternetGateway](t, g.ID).VpcID = v.ID
		return nil
	})
}

func detachInternetGateway(c *call) (any, error) {
	in, err := igwAttachInput(c)
	if err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		g, err := mustFind[*InternetGateway](c, t, kindIGW, in.InternetGatewayID)
		if err != nil {
			return err
		}
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		if g.VpcID != v.ID {
			return apiError("Gateway.NotAttached", "resource %s is not attached to network %s", g.ID, v.ID)
		}
		// Public addresses (Elastic IPs, NAT gateways', those given at
		// launch) reach the internet only through this gateway.
		if anyOf(t, kindENI, func(e *NetworkInterface) bool { return e.VpcID == v.ID && e.PublicIP != "" }) {
			return errDependency("Network %s has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.", v.ID)
		}
		editAs[*InternetGateway](t, g.ID).VpcID = ""
		return nil
	})
}
