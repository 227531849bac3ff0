package ec2

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// kind is a resource type, named by its id prefix.
type kind string

const (
	kindVpc       kind = "vpc"
	kindSubnet    kind = "subnet"
	kindSG        kind = "sg"
	kindACL       kind = "acl"
	kindRTB       kind = "rtb"
	kindIGW       kind = "igw"
	kindEIP       kind = "eipalloc"
	kindNAT       kind = "nat"
	kindENI       kind = "eni"
	kindEndpoint  kind = "vpce"
	kindPeering   kind = "pcx"
	kindInstance  kind = "i"
	kindSGRule    kind = "sgr"
	kindDefaultVP kind = "defaultvpc" // marker: the default VPC of an account and region was made
)

// kindInfo is how AWS names a kind in its errors.
type kindInfo struct {
	notFound  string // error code for an id that does not exist
	noun      string // "The <noun> ID 'x' does not exist"
	malformed string // error code for an id that does not parse
	message   func(id string) string
}

var kinds = map[kind]kindInfo{
	kindVpc:      {notFound: "InvalidVpcID.NotFound", noun: "vpc", malformed: "InvalidVpcId.Malformed"},
	kindSubnet:   {notFound: "InvalidSubnetID.NotFound", noun: "subnet", malformed: "InvalidSubnetID.Malformed"},
	kindSG:       {notFound: "InvalidGroup.NotFound", malformed: "InvalidGroupId.Malformed", message: func(id string) string { return "The security group '" + id + "' does not exist" }},
	kindACL:      {notFound: "InvalidNetworkAclID.NotFound", noun: "networkAcl", malformed: "InvalidNetworkAclId.Malformed"},
	kindRTB:      {notFound: "InvalidRouteTableID.NotFound", noun: "routeTable", malformed: "InvalidRouteTableId.Malformed"},
	kindIGW:      {notFound: "InvalidInternetGatewayID.NotFound", noun: "internetGateway", malformed: "InvalidInternetGatewayId.Malformed"},
	kindEIP:      {notFound: "InvalidAllocationID.NotFound", malformed: "InvalidAllocationID.Malformed", message: func(id string) string { return "The allocation ID '" + id + "' does not exist" }},
	kindNAT:      {notFound: "NatGatewayNotFound", malformed: "InvalidNatGatewayID.Malformed", message: func(id string) string { return "The Nat Gateway " + id + " was not found" }},
	kindENI:      {notFound: "InvalidNetworkInterfaceID.NotFound", noun: "networkInterface", malformed: "InvalidNetworkInterfaceID.Malformed"},
	kindEndpoint: {notFound: "InvalidVpcEndpointId.NotFound", malformed: "InvalidVpcEndpointId.Malformed", message: func(id string) string { return "The Vpc Endpoint Id '" + id + "' does not exist" }},
	kindPeering:  {notFound: "InvalidVpcPeeringConnectionID.NotFound", noun: "vpcPeeringConnection", malformed: "InvalidVpcPeeringConnectionId.Malformed"},
	kindInstance: {notFound: "InvalidInstanceID.NotFound", noun: "instance", malformed: "InvalidInstanceID.Malformed"},
	kindSGRule:   {notFound: "InvalidSecurityGroupRuleId.NotFound", malformed: "InvalidSecurityGroupRuleId.Malformed", message: func(id string) string { return "The security group rule ID '" + id + "' does not exist" }},
}

// errNotFound is the kind's "does not exist" error for id.
func errNotFound(k kind, id string) *awswire.Error {
	ki := kinds[k]
	if ki.message != nil {
		return apiError(ki.notFound, "%s", ki.message(id))
	}
	return apiError(ki.notFound, "The %s ID '%s' does not exist", ki.noun, id)
}

func errMalformed(k kind, id string) *awswire.Error {
	ki := kinds[k]
	if ki.noun != "" {
		return apiError(ki.malformed, "The %s ID '%s' is malformed", ki.noun, id)
	}
	return apiError(ki.malformed, "Invalid id: \"%s\" (expecting \"%s-...\")", id, k)
}

// newID makes an id in AWS's long form: prefix, dash, 17 hex digits.
func newID(k kind) string {
	return string(k) + "-" + randHex(17)
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// kindOf returns the kind an id names by its prefix.
func kindOf(id string) kind {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return ""
	}
	return kind(id[:i])
}

// validID reports whether id is k's prefix followed by 8 or 17 lowercase
// hex digits (AWS's short and long id forms).
func validID(k kind, id string) bool {
	p := string(k) + "-"
	if !strings.HasPrefix(id, p) {
		return false
	}
	h := id[len(p):]
	if len(h) != 8 && len(h) != 17 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
