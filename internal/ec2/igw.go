package ec2

// InternetGateway is an internet gateway, attached to at most one VPC.
type InternetGateway struct {
	Meta
	VpcID string `json:"vpc,omitempty"` // "" when detached
}

func init() {
	registerKind(kindIGW, func() resource { return new(InternetGateway) })
}
