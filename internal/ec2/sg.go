package ec2

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// SecurityGroup is a VPC security group. Each rule is stored on its own
// (one protocol, port range and source), as DescribeSecurityGroupRules
// shows them; DescribeSecurityGroups groups them into IpPermissions.
type SecurityGroup struct {
	Meta
	VpcID       string   `json:"vpc"`
	Name        string   `json:"name"`
	Description string   `json:"desc"`
	Ingress     []SGRule `json:"in,omitempty"`
	Egress      []SGRule `json:"out,omitempty"`
}

// SGRule is one security group rule. Exactly one source is set.
type SGRule struct {
	ID           string `json:"id"`    // sgr-...
	Protocol     string `json:"proto"` // "-1", "tcp", "udp", "icmp", "icmpv6", or another protocol number
	FromPort     int32  `json:"from"`  // -1 when the protocol has no ports
	ToPort       int32  `json:"to"`
	CidrIPv4     string `json:"cidr,omitempty"`
	CidrIPv6     string `json:"cidr6,omitempty"`
	PrefixListID string `json:"pl,omitempty"`
	GroupID      string `json:"group,omitempty"` // a referenced group
	GroupOwner   string `json:"groupOwner,omitempty"`
	Description  string `json:"desc,omitempty"`
	Tags         []Tag  `json:"tags,omitempty"`
}

func (g *SecurityGroup) vpcID() string { return g.VpcID }

func (g *SecurityGroup) arn() string {
	return "arn:aws:ec2:" + g.Region + ":" + g.Owner + ":security-group/" + g.ID
}

// rules is the group's rule list for one direction.
func (g *SecurityGroup) rules(egress bool) *[]SGRule {
	if egress {
		return &g.Egress
	}
	return &g.Ingress
}

func init() {
	registerKind(kindSG, func() resource { return new(SecurityGroup) })
	handle("CreateSecurityGroup", createSecurityGroup)
	handle("DescribeSecurityGroups", describeSecurityGroups)
	handle("DeleteSecurityGroup", deleteSecurityGroup)
	handle("AuthorizeSecurityGroupIngress", func(c *call) (any, error) { return sgAuthorize(c, false) })
	handle("AuthorizeSecurityGroupEgress", func(c *call) (any, error) { return sgAuthorize(c, true) })
	handle("RevokeSecurityGroupIngress", func(c *call) (any, error) { return sgRevoke(c, false) })
	handle("RevokeSecurityGroupEgress", func(c *call) (any, error) { return sgRevoke(c, true) })
	handle("DescribeSecurityGroupRules", describeSecurityGroupRules)
	handle("ModifySecurityGroupRules", modifySecurityGroupRules)
	handle("UpdateSecurityGroupRuleDescriptionsIngress", func(c *call) (any, error) { return sgUpdateDescriptions(c, false) })
	handle("UpdateSecurityGroupRuleDescriptionsEgress", func(c *call) (any, error) { return sgUpdateDescriptions(c, true) })
}

// newDefaultSecurityGroup makes v's default group (not yet recorded): its
// members may talk to each other, and everything may go out.
func newDefaultSecurityGroup(c *call, v *Vpc) *SecurityGroup {
	g := &SecurityGroup{Meta: c.meta(kindSG, nil), VpcID: v.ID, Name: "default", Description: "default VPC security group"}
	g.Ingress = []SGRule{{ID: newID(kindSGRule), Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: g.ID, GroupOwner: c.acct}}
	g.Egress = []SGRule{allowAllEgress()}
	return g
}

// allowAllEgress is the egress rule every new group starts with.
func allowAllEgress() SGRule {
	return SGRule{ID: newID(kindSGRule), Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}
}

// maxGroupsPerInterface is AWS's default quota of security groups per
// network interface.
const maxGroupsPerInterface = 5

// checkGroups resolves security group ids for a resource in vpcID: each must
// exist in the caller's account and region and belong to that VPC. With no
// ids, the VPC's default group is used, as AWS does.
func checkGroups(c *call, t *txn, vpcID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		v, err := mustFind[*Vpc](c, t, kindVpc, vpcID)
		if err != nil {
			return nil, err
		}
		return []string{v.DefaultGroupID}, nil
	}
	var out []string
	for _, id := range ids {
		g, err := mustFind[*SecurityGroup](c, t, kindSG, id)
		if err != nil {
			return nil, err
		}
		if g.VpcID != vpcID {
			return nil, errInvalidParam("Security group %s and subnet belong to different networks.", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxGroupsPerInterface {
		return nil, apiError("SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per interface has been reached.")
	}
	return out, nil
}

// --- names and lookups ---

// sgValidChars are the characters AWS allows in VPC security group
// names and in group and rule descriptions.
const sgValidChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-:/()#,@[]+=&;{}!$*"

func sgValidText(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(sgValidChars, s[i]) < 0 {
			return false
		}
	}
	return true
}

const sgValidSet = "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"

func sgErrDescription() error {
	return errInvalidParam("Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  " + sgValidSet)
}

// sgDefaultVpc is the caller's default VPC in its region, or nil.
func sgDefaultVpc(c *call, t *txn) *Vpc {
	for _, v := range all[*Vpc](t, kindVpc, c.acct, c.region) {
		if v.IsDefault {
			return v
		}
	}
	return nil
}

// sgInVpc finds the group named name (names are case-insensitive) in
// the caller's VPC vpcID.
func sgInVpc(c *call, t *txn, vpcID, name string) *SecurityGroup {
	for _, g := range all[*SecurityGroup](t, kindSG, c.acct, c.region) {
		if g.VpcID == vpcID && strings.EqualFold(g.Name, name) {
			return g
		}
	}
	return nil
}

// sgByName resolves a group name the way AWS does: names stand for
// groups of the default VPC.
func sgByName(c *call, t *txn, name string) (*SecurityGroup, error) {
	dv := sgDefaultVpc(c, t)
	if dv == nil {
		return nil, apiError("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
	}
	g := sgInVpc(c, t, dv.ID, name)
	if g == nil {
		return nil, apiError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, dv.ID)
	}
	return g, nil
}

// sgFind resolves a GroupId or, without one, a GroupName.
func sgFind(c *call, t *txn, id, name string) (*SecurityGroup, error) {
	switch {
	case id != "":
		return mustFind[*SecurityGroup](c, t, kindSG, id)
	case name != "":
		return sgByName(c, t, name)
	}
	return nil, errMissing("groupName or groupId")
}

// sgPeering reports whether two VPCs are joined by an active peering
// connection.
func sgPeering(t *txn, a, b string) (*Peering, bool) {
	var found *Peering
	anyOf(t, kindPeering, func(p *Peering) bool {
		if p.Status == "active" && (p.RequesterVpcID == a && p.AccepterVpcID == b || p.RequesterVpcID == b && p.AccepterVpcID == a) {
			found = p
			return true
		}
		return false
	})
	return found, found != nil
}

// --- XML shapes ---

type sgIPRangeXML struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type sgIPv6RangeXML struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type sgPrefixListXML struct {
	PrefixListID string `xml:"prefixListId"`
	Description  string `xml:"description,omitempty"`
}

type sgGroupPairXML struct {
	Description            string `xml:"description,omitempty"`
	UserID                 string `xml:"userId,omitempty"`
	GroupID                string `xml:"groupId"`
	VpcID                  string `xml:"vpcId,omitempty"`
	VpcPeeringConnectionID string `xml:"vpcPeeringConnectionId,omitempty"`
	PeeringStatus          string `xml:"peeringStatus,omitempty"`
}

type sgPermissionXML struct {
	IPProtocol    string                `xml:"ipProtocol"`
	FromPort      *int32                `xml:"fromPort,omitempty"`
	ToPort        *int32                `xml:"toPort,omitempty"`
	Groups        List[sgGroupPairXML]  `xml:"groups"`
	IPRanges      List[sgIPRangeXML]    `xml:"ipRanges"`
	IPv6Ranges    List[sgIPv6RangeXML]  `xml:"ipv6Ranges"`
	PrefixListIDs List[sgPrefixListXML] `xml:"prefixListIds"`
}

type securityGroupXML struct {
	OwnerID             string                `xml:"ownerId"`
	GroupName           string                `xml:"groupName"`
	GroupID             string                `xml:"groupId"`
	GroupDescription    string                `xml:"groupDescription"`
	IPPermissions       List[sgPermissionXML] `xml:"ipPermissions"`
	IPPermissionsEgress List[sgPermissionXML] `xml:"ipPermissionsEgress"`
	VpcID               string                `xml:"vpcId"`
	SecurityGroupArn    string                `xml:"securityGroupArn"`
	Tags                []Tag                 `xml:"tagSet>item,omitempty"`
}

// sgHasPorts reports whether rules of a protocol show their ports in an
// IpPermission: all-protocol rules and protocols without ports do not.
func sgHasPorts(proto string) bool {
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// sgPermissions groups rules the way DescribeSecurityGroups shows them: the
// rules with the same protocol and ports share one IpPermission, in the
// order their first rule was made.
func sgPermissions(t *txn, g *SecurityGroup, rules []SGRule) List[sgPermissionXML] {
	out := List[sgPermissionXML]{}
	index := map[string]int{}
	for _, r := range rules {
		k := r.Protocol + "/" + strconv.Itoa(int(r.FromPort)) + "/" + strconv.Itoa(int(r.ToPort))
		i, ok := index[k]
		if !ok {
			p := sgPermissionXML{IPProtocol: r.Protocol, Groups: List[sgGroupPairXML]{}, IPRanges: List[sgIPRangeXML]{},
				IPv6Ranges: List[sgIPv6RangeXML]{}, PrefixListIDs: List[sgPrefixListXML]{}}
			if sgHasPorts(r.Protocol) {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			i = len(out)
			index[k] = i
			out = append(out, p)
		}
		p := &out[i]
		switch {
		case r.CidrIPv4 != "":
			p.IPRanges = append(p.IPRanges, sgIPRangeXML{CidrIP: r.CidrIPv4, Description: r.Description})
		case r.CidrIPv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, sgIPv6RangeXML{CidrIPv6: r.CidrIPv6, Description: r.Description})
		case r.PrefixListID != "":
			p.PrefixListIDs = append(p.PrefixListIDs, sgPrefixListXML{PrefixListID: r.PrefixListID, Description: r.Description})
		case r.GroupID != "":
			p.Groups = append(p.Groups, sgGroupPair(t, g, r))
		}
	}
	return out
}

// sgGroupPair shows a rule's referenced group; one in a sgPeering VPC carries
// the peering connection.
func sgGroupPair(t *txn, g *SecurityGroup, r SGRule) sgGroupPairXML {
	x := sgGroupPairXML{Description: r.Description, UserID: r.GroupOwner, GroupID: r.GroupID}
	if ref, ok := getAs[*SecurityGroup](t, r.GroupID); ok && ref.VpcID != g.VpcID {
		x.VpcID = ref.VpcID
		if p, ok := sgPeering(t, g.VpcID, ref.VpcID); ok {
			x.VpcPeeringConnectionID, x.PeeringStatus = p.ID, "active"
		}
	}
	return x
}

func (g *SecurityGroup) xml(t *txn) securityGroupXML {
	return securityGroupXML{OwnerID: g.Owner, GroupName: g.Name, GroupID: g.ID, GroupDescription: g.Description,
		IPPermissions: sgPermissions(t, g, g.Ingress), IPPermissionsEgress: sgPermissions(t, g, g.Egress),
		VpcID: g.VpcID, SecurityGroupArn: g.arn(), Tags: g.Tags}
}

// --- CreateSecurityGroup ---

type createSecurityGroupInput struct {
	DryRun            bool
	GroupName         *string
	Description       *string            `ec2:"GroupDescription"`
	VpcID             string             `ec2:"VpcId"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type createSecurityGroupOutput struct {
	GroupID          string `xml:"groupId"`
	Tags             []Tag  `xml:"tagSet>item,omitempty"`
	SecurityGroupArn string `xml:"securityGroupArn"`
}

func createSecurityGroup(c *call) (any, error) {
	var in createSecurityGroupInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.GroupName == nil || *in.GroupName == "" {
		return nil, errMissing("GroupName")
	}
	if in.Description == nil || *in.Description == "" {
		return nil, errMissing("GroupDescription")
	}
	name, desc := *in.GroupName, *in.Description
	if strings.HasPrefix(strings.ToLower(name), "sg-") {
		return nil, errInvalidParam("Value (%s) for parameter GroupName is invalid. Group names may not be in the format sg-*.", name)
	}
	if !sgValidText(name) {
		return nil, errInvalidParam("Invalid security group name. Valid names are strings less than 256 characters from the following set:  " + sgValidSet)
	}
	if !sgValidText(desc) {
		return nil, errInvalidParam("Invalid security group description. Valid descriptions are strings less than 256 characters from the following set:  " + sgValidSet)
	}
	if strings.EqualFold(name, "default") {
		return nil, apiError("InvalidGroup.Reserved", "The security group 'default' is reserved")
	}
	tags, err := tagsFor(kindSG, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("security-group", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var g *SecurityGroup
	err = c.s.write(c, func(t *txn) error {
		v := sgDefaultVpc(c, t)
		if in.VpcID != "" {
			var err error
			if v, err = mustFind[*Vpc](c, t, kindVpc, in.VpcID); err != nil {
				return err
			}
		} else if v == nil {
			return apiError("VPCIdNotSpecified", "No default VPC for this user")
		}
		if sgInVpc(c, t, v.ID, name) != nil {
			return apiError("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, v.ID)
		}
		g = &SecurityGroup{Meta: c.meta(kindSG, tags), VpcID: v.ID, Name: name, Description: desc, Egress: []SGRule{allowAllEgress()}}
		t.put(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return createSecurityGroupOutput{GroupID: g.ID, Tags: g.Tags, SecurityGroupArn: g.arn()}, nil
}

// --- DescribeSecurityGroups ---

type describeSecurityGroupsInput struct {
	DryRun     bool
	GroupIDs   []string `ec2:"GroupId"`
	GroupNames []string `ec2:"GroupName"`
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32
	NextToken  string
}

type describeSecurityGroupsOutput struct {
	Groups    List[securityGroupXML] `xml:"securityGroupInfo"`
	NextToken string                 `xml:"nextToken,omitempty"`
}

// sgRuleValues collects one value per rule of a direction; the rule
// filters match a group when any of its rules has the value.
func sgRuleValues(egress bool, f func(SGRule) (string, bool)) func(*SecurityGroup) []string {
	return func(g *SecurityGroup) []string {
		var out []string
		for _, r := range *g.rules(egress) {
			if v, ok := f(r); ok {
				out = append(out, v)
			}
		}
		return out
	}
}

// securityGroupFilters are DescribeSecurityGroups' filters; the names of
// referenced groups are looked up in t.
func securityGroupFilters(t *txn) filters[*SecurityGroup] {
	fs := filters[*SecurityGroup]{
		"group-id":    func(g *SecurityGroup) string { return g.ID },
		"group-name":  func(g *SecurityGroup) string { return g.Name },
		"vpc-id":      func(g *SecurityGroup) string { return g.VpcID },
		"description": func(g *SecurityGroup) string { return g.Description },
		"owner-id":    func(g *SecurityGroup) string { return g.Owner },
	}
	port := func(from bool) func(SGRule) (string, bool) {
		return func(r SGRule) (string, bool) {
			if !sgHasPorts(r.Protocol) {
				return "", false
			}
			if from {
				return strconv.Itoa(int(r.FromPort)), true
			}
			return strconv.Itoa(int(r.ToPort)), true
		}
	}
	nonEmpty := func(s string) (string, bool) { return s, s != "" }
	perRule := map[string]func(SGRule) (string, bool){
		"cidr":           func(r SGRule) (string, bool) { return nonEmpty(r.CidrIPv4) },
		"ipv6-cidr":      func(r SGRule) (string, bool) { return nonEmpty(r.CidrIPv6) },
		"prefix-list-id": func(r SGRule) (string, bool) { return nonEmpty(r.PrefixListID) },
		"group-id":       func(r SGRule) (string, bool) { return nonEmpty(r.GroupID) },
		"user-id":        func(r SGRule) (string, bool) { return nonEmpty(r.GroupOwner) },
		"protocol":       func(r SGRule) (string, bool) { return r.Protocol, true },
		"from-port":      port(true),
		"to-port":        port(false),
		"group-name": func(r SGRule) (string, bool) {
			if r.GroupID == "" {
				return "", false
			}
			ref, ok := getAs[*SecurityGroup](t, r.GroupID)
			if !ok {
				return "", false
			}
			return ref.Name, true
		},
	}
	for name, f := range perRule {
		fs["ip-permission."+name] = sgRuleValues(false, f)
		fs["egress.ip-permission."+name] = sgRuleValues(true, f)
	}
	return fs
}

// refuseMalformed refuses ids that cannot be of kind k before anything is looked
// up, as AWS does.
func refuseMalformed(k kind, ids []string) error {
	for _, id := range ids {
		if !validID(k, id) {
			return errMalformed(k, id)
		}
	}
	return nil
}

func describeSecurityGroups(c *call) (any, error) {
	var in describeSecurityGroupsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := refuseMalformed(kindSG, in.GroupIDs); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeSecurityGroupsOutput
	err := c.s.read(c, func(t *txn) error {
		ids := in.GroupIDs
		for _, name := range in.GroupNames {
			g, err := sgByName(c, t, name)
			if err != nil {
				return err
			}
			ids = append(ids, g.ID)
		}
		groups, err := selectResources(c, t, kindSG, ids, in.Filters, securityGroupFilters(t))
		if err != nil {
			return err
		}
		slices.SortFunc(groups, func(a, b *SecurityGroup) int { return strings.Compare(a.ID, b.ID) })
		groups, out.NextToken, err = page(groups, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		out.Groups = List[securityGroupXML]{}
		for _, g := range groups {
			out.Groups = append(out.Groups, g.xml(t))
		}
		return nil
	})
	return out, err
}

// --- DeleteSecurityGroup ---

type deleteSecurityGroupInput struct {
	DryRun    bool
	GroupID   string `ec2:"GroupId"`
	GroupName string
}

type deleteSecurityGroupOutput struct {
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

func deleteSecurityGroup(c *call) (any, error) {
	var in deleteSecurityGroupInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.GroupID != "" {
		if err := c.authorize(c.arn("security-group", in.GroupID), in.DryRun); err != nil {
			return nil, err
		}
	}
	var id string
	err := c.s.write(c, func(t *txn) error {
		g, err := sgFind(c, t, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		if in.GroupID == "" {
			if err := c.authorize(g.arn(), in.DryRun); err != nil {
				return err
			}
		}
		if v, ok := getAs[*Vpc](t, g.VpcID); ok && v.DefaultGroupID == g.ID {
			return apiError("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID)
		}
		if sgInUse(t, g.ID) {
			return errDependency("resource %s has a dependent object", g.ID)
		}
		id = g.ID
		t.del(g.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleteSecurityGroupOutput{Return: true, GroupID: id}, nil
}

// sgInUse reports whether a network interface is in the group or
// another group's rule refers to it.
func sgInUse(t *txn, id string) bool {
	if anyOf(t, kindENI, func(e *NetworkInterface) bool { return slices.Contains(e.Groups, id) }) {
		return true
	}
	refers := func(rs []SGRule) bool {
		return slices.ContainsFunc(rs, func(r SGRule) bool { return r.GroupID == id })
	}
	return anyOf(t, kindSG, func(g *SecurityGroup) bool {
		return g.ID != id && (refers(g.Ingress) || refers(g.Egress))
	})
}

// --- rule input ---

type sgIPRangeInput struct {
	CidrIP      string `ec2:"CidrIp"`
	Description string
}

type sgIPv6RangeInput struct {
	CidrIPv6    string `ec2:"CidrIpv6"`
	Description string
}

type sgPrefixListInput struct {
	PrefixListID string `ec2:"PrefixListId"`
	Description  string
}

type sgGroupPairInput struct {
	GroupID     string `ec2:"GroupId"`
	GroupName   string
	UserID      string `ec2:"UserId"`
	Description string
}

// sgPermissionInput is one IpPermissions.N parameter.
type sgPermissionInput struct {
	IPProtocol    *string `ec2:"IpProtocol"`
	FromPort      *int32
	ToPort        *int32
	Groups        []sgGroupPairInput  `ec2:"Groups"`
	IPRanges      []sgIPRangeInput    `ec2:"IpRanges"`
	IPv6Ranges    []sgIPv6RangeInput  `ec2:"Ipv6Ranges"`
	PrefixListIDs []sgPrefixListInput `ec2:"PrefixListIds"`
}

// sgLegacyInput is the flat form of a rule the old API had
// (IpProtocol, FromPort, ToPort, CidrIp or SourceSecurityGroupName).
type sgLegacyInput struct {
	IPProtocol                 *string `ec2:"IpProtocol"`
	FromPort                   *int32
	ToPort                     *int32
	CidrIP                     *string `ec2:"CidrIp"`
	SourceSecurityGroupName    *string
	SourceSecurityGroupOwnerID *string `ec2:"SourceSecurityGroupOwnerId"`
}

// permissions turns the flat form into IpPermissions. A source group
// alone grants all of TCP, UDP and ICMP, as AWS documents.
func (l sgLegacyInput) permissions() ([]sgPermissionInput, error) {
	flat := l.IPProtocol != nil || l.FromPort != nil || l.ToPort != nil || l.CidrIP != nil
	if l.SourceSecurityGroupName != nil || l.SourceSecurityGroupOwnerID != nil {
		if flat {
			return nil, errCombination("The parameter SourceSecurityGroupName cannot be used with the parameters IpProtocol, FromPort, ToPort or CidrIp.")
		}
		if l.SourceSecurityGroupName == nil {
			return nil, errMissing("SourceSecurityGroupName")
		}
		pair := []sgGroupPairInput{{GroupName: *l.SourceSecurityGroupName}}
		if l.SourceSecurityGroupOwnerID != nil {
			pair[0].UserID = *l.SourceSecurityGroupOwnerID
		}
		lowest, highest, anyICMP := int32(0), int32(65535), int32(-1)
		var out []sgPermissionInput
		for _, p := range []struct {
			proto    string
			from, to *int32
		}{{"tcp", &lowest, &highest}, {"udp", &lowest, &highest}, {"icmp", &anyICMP, &anyICMP}} {
			proto := p.proto
			out = append(out, sgPermissionInput{IPProtocol: &proto, FromPort: p.from, ToPort: p.to, Groups: pair})
		}
		return out, nil
	}
	if !flat {
		return nil, nil
	}
	if l.IPProtocol == nil {
		return nil, errMissing("IpProtocol")
	}
	p := sgPermissionInput{IPProtocol: l.IPProtocol, FromPort: l.FromPort, ToPort: l.ToPort}
	if l.CidrIP != nil {
		p.IPRanges = []sgIPRangeInput{{CidrIP: *l.CidrIP}}
	}
	return []sgPermissionInput{p}, nil
}

// sgRequestPermissions is the permissions of a request given either way; both
// at once are refused.
func sgRequestPermissions(perms []sgPermissionInput, legacy sgLegacyInput) ([]sgPermissionInput, error) {
	flat, err := legacy.permissions()
	if err != nil {
		return nil, err
	}
	if len(flat) > 0 && len(perms) > 0 {
		return nil, errCombination("The parameter IpPermissions cannot be used with the parameters IpProtocol, FromPort, ToPort, CidrIp or SourceSecurityGroupName.")
	}
	return append(perms, flat...), nil
}

// sgProtocol puts a protocol in the form AWS shows: names for TCP, UDP,
// ICMP and ICMPv6, "-1" for all, the number for any other.
func sgProtocol(p string) (string, error) {
	switch s := strings.ToLower(strings.TrimSpace(p)); s {
	case "-1", "all":
		return "-1", nil
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "icmpv6", "58":
		return "icmpv6", nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 255 {
			return "", errInvalidParam("Invalid value '%s' for IP protocol. Unknown protocol.", p)
		}
		return strconv.Itoa(n), nil
	}
}

// sgPorts validates the ports of a rule of proto and returns them as
// stored: -1 for protocols whose rules cover every port.
func sgPorts(proto string, from, to *int32) (int32, int32, error) {
	switch proto {
	case "tcp", "udp":
		if from == nil || to == nil {
			return 0, 0, errInvalidParam("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		if *from < 0 || *from > 65535 {
			return 0, 0, errInvalidParam("TCP/UDP (from) port (%d) out of range", *from)
		}
		if *to < 0 || *to > 65535 {
			return 0, 0, errInvalidParam("TCP/UDP (to) port (%d) out of range", *to)
		}
		if *from > *to {
			return 0, 0, errInvalidParam("Invalid TCP/UDP port range. The from port (%d) must not be greater than the to port (%d).", *from, *to)
		}
		return *from, *to, nil
	case "icmp", "icmpv6":
		if from == nil && to == nil && proto == "icmpv6" {
			return -1, -1, nil
		}
		if from == nil || to == nil {
			return 0, 0, errInvalidParam("Invalid value for portRange. Must specify both ICMP type and code with ICMP.")
		}
		if *from < -1 || *from > 255 {
			return 0, 0, errInvalidParam("ICMP type (%d) out of range", *from)
		}
		if *to < -1 || *to > 255 {
			return 0, 0, errInvalidParam("ICMP code (%d) out of range", *to)
		}
		if *from == -1 && *to != -1 {
			return 0, 0, errInvalidParam("ICMP code (%d) must be -1 when the ICMP type is -1.", *to)
		}
		return *from, *to, nil
	}
	return -1, -1, nil
}

// sgCIDR parses a CIDR of the given family and returns it with the
// host bits cleared, as AWS stores it.
func sgCIDR(s string, v6 bool) (string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || p.Addr().Is6() != v6 || p.Addr().Zone() != "" {
		return "", errInvalidParam("CIDR block %s is malformed", s)
	}
	return p.Masked().String(), nil
}

// sgCheckPrefixList refuses prefix list ids that cannot be ones.
func sgCheckPrefixList(id string) error {
	h, ok := strings.CutPrefix(id, "pl-")
	if !ok || len(h) != 8 && len(h) != 17 || strings.Trim(h, "0123456789abcdef") != "" {
		return apiError("InvalidPrefixListId.Malformed", "Invalid id: \"%s\" (expecting \"pl-...\")", id)
	}
	return nil
}

// sgResolvePair finds the group a rule refers to. With check, the group must
// exist and be in g's VPC, or in a VPC sgPeering with it; without (revoking),
// an id that names nothing is kept as given so that it matches nothing.
func sgResolvePair(c *call, t *txn, g *SecurityGroup, p sgGroupPairInput, check bool) (id, owner string, err error) {
	if p.GroupID == "" {
		if p.GroupName == "" {
			return "", "", errMissing("groupId or groupName")
		}
		if p.UserID != "" && p.UserID != c.acct {
			return "", "", apiError("InvalidGroup.NotFound", "The security group '%s' does not exist", p.GroupName)
		}
		ref := sgInVpc(c, t, g.VpcID, p.GroupName)
		if ref == nil {
			return "", "", apiError("InvalidGroup.NotFound", "The security group '%s' does not exist", p.GroupName)
		}
		return ref.ID, ref.Owner, nil
	}
	if !validID(kindSG, p.GroupID) {
		return "", "", errMalformed(kindSG, p.GroupID)
	}
	ref, ok := getAs[*SecurityGroup](t, p.GroupID)
	if !ok || ref.Region != g.Region || p.UserID != "" && p.UserID != ref.Owner ||
		ref.Owner != c.acct && !sgPeered(t, g.VpcID, ref.VpcID) {
		if !check {
			owner := p.UserID
			if owner == "" {
				owner = c.acct
			}
			return p.GroupID, owner, nil
		}
		return "", "", errNotFound(kindSG, p.GroupID)
	}
	if check && ref.VpcID != g.VpcID && !sgPeered(t, g.VpcID, ref.VpcID) {
		return "", "", apiError("InvalidGroup.NotFound", "You have specified two resources that belong to different networks.")
	}
	return ref.ID, ref.Owner, nil
}

func sgPeered(t *txn, a, b string) bool {
	_, ok := sgPeering(t, a, b)
	return ok
}

// sgExpand turns IpPermissions into one rule per source, in
// canonical form and without ids. A permission without any source adds
// nothing, as on AWS.
func sgExpand(c *call, t *txn, g *SecurityGroup, perms []sgPermissionInput, check bool) ([]SGRule, error) {
	var out []SGRule
	for _, p := range perms {
		if p.IPProtocol == nil {
			return nil, errMissing("IpProtocol")
		}
		proto, err := sgProtocol(*p.IPProtocol)
		if err != nil {
			return nil, err
		}
		from, to, err := sgPorts(proto, p.FromPort, p.ToPort)
		if err != nil {
			return nil, err
		}
		base := SGRule{Protocol: proto, FromPort: from, ToPort: to}
		add := func(r SGRule, desc string) error {
			if !sgValidText(desc) {
				return sgErrDescription()
			}
			r.Description = desc
			out = append(out, r)
			return nil
		}
		for _, s := range p.IPRanges {
			r := base
			if r.CidrIPv4, err = sgCIDR(s.CidrIP, false); err != nil {
				return nil, err
			}
			if err := add(r, s.Description); err != nil {
				return nil, err
			}
		}
		for _, s := range p.IPv6Ranges {
			r := base
			if r.CidrIPv6, err = sgCIDR(s.CidrIPv6, true); err != nil {
				return nil, err
			}
			if err := add(r, s.Description); err != nil {
				return nil, err
			}
		}
		for _, s := range p.PrefixListIDs {
			if err := sgCheckPrefixList(s.PrefixListID); err != nil {
				return nil, err
			}
			r := base
			r.PrefixListID = s.PrefixListID
			if err := add(r, s.Description); err != nil {
				return nil, err
			}
		}
		for _, s := range p.Groups {
			r := base
			if r.GroupID, r.GroupOwner, err = sgResolvePair(c, t, g, s, check); err != nil {
				return nil, err
			}
			if err := add(r, s.Description); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// sgSameRule reports whether two rules have the same protocol, ports and
// source: what makes a rule (its description does not).
func sgSameRule(a, b SGRule) bool {
	return a.Protocol == b.Protocol && a.FromPort == b.FromPort && a.ToPort == b.ToPort && a.CidrIPv4 == b.CidrIPv4 &&
		a.CidrIPv6 == b.CidrIPv6 && a.PrefixListID == b.PrefixListID && a.GroupID == b.GroupID
}

// sgRuleText is how AWS names a rule in InvalidPermission.Duplicate.
func sgRuleText(r SGRule) string {
	peer := r.CidrIPv4 + r.CidrIPv6 + r.PrefixListID + r.GroupID
	var what string
	switch r.Protocol {
	case "-1":
		what = "ALL"
	case "tcp", "udp":
		what = strings.ToUpper(r.Protocol) + ", from port: " + strconv.Itoa(int(r.FromPort)) + ", to port: " + strconv.Itoa(int(r.ToPort))
	case "icmp", "icmpv6":
		what = strings.ToUpper(r.Protocol) + ", type: " + strconv.Itoa(int(r.FromPort)) + ", code: " + strconv.Itoa(int(r.ToPort))
	default:
		what = r.Protocol
	}
	return "peer: " + peer + ", " + what + ", ALLOW"
}

// sgMaxRules is AWS's default quota of inbound (and of
// outbound) rules per security group.
const sgMaxRules = 60

// sgAddRules records new rules on g (a private copy), refusing rules it
// already has and repeats within the request.
func sgAddRules(g *SecurityGroup, egress bool, add []SGRule, tags []Tag) ([]SGRule, error) {
	rules := g.rules(egress)
	for i, r := range add {
		for _, prev := range add[:i] {
			if sgSameRule(prev, r) {
				return nil, errInvalidParam("The same permission must not appear multiple times")
			}
		}
		if slices.ContainsFunc(*rules, func(have SGRule) bool { return sgSameRule(have, r) }) {
			return nil, apiError("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", sgRuleText(r))
		}
	}
	if len(*rules)+len(add) > sgMaxRules {
		return nil, apiError("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
	}
	out := make([]SGRule, 0, len(add))
	for _, r := range add {
		r.ID = newID(kindSGRule)
		r.Tags = slices.Clone(tags)
		*rules = append(*rules, r)
		out = append(out, r)
	}
	return out, nil
}

// --- rule output ---

type sgReferencedGroupXML struct {
	GroupID                string `xml:"groupId"`
	UserID                 string `xml:"userId,omitempty"`
	VpcID                  string `xml:"vpcId,omitempty"`
	VpcPeeringConnectionID string `xml:"vpcPeeringConnectionId,omitempty"`
	PeeringStatus          string `xml:"peeringStatus,omitempty"`
}

type sgRuleXML struct {
	SecurityGroupRuleID  string                `xml:"securityGroupRuleId"`
	GroupID              string                `xml:"groupId"`
	GroupOwnerID         string                `xml:"groupOwnerId"`
	IsEgress             bool                  `xml:"isEgress"`
	IPProtocol           string                `xml:"ipProtocol"`
	FromPort             int32                 `xml:"fromPort"`
	ToPort               int32                 `xml:"toPort"`
	CidrIPv4             string                `xml:"cidrIpv4,omitempty"`
	CidrIPv6             string                `xml:"cidrIpv6,omitempty"`
	PrefixListID         string                `xml:"prefixListId,omitempty"`
	ReferencedGroupInfo  *sgReferencedGroupXML `xml:"referencedGroupInfo,omitempty"`
	Description          string                `xml:"description,omitempty"`
	Tags                 List[Tag]             `xml:"tagSet"`
	SecurityGroupRuleArn string                `xml:"securityGroupRuleArn"`
}

func sgRuleXMLOf(t *txn, g *SecurityGroup, r SGRule, egress bool) sgRuleXML {
	x := sgRuleXML{SecurityGroupRuleID: r.ID, GroupID: g.ID, GroupOwnerID: g.Owner, IsEgress: egress, IPProtocol: r.Protocol,
		FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CidrIPv4, CidrIPv6: r.CidrIPv6, PrefixListID: r.PrefixListID,
		Description: r.Description, Tags: List[Tag](r.Tags),
		SecurityGroupRuleArn: "arn:aws:ec2:" + g.Region + ":" + g.Owner + ":security-group-rule/" + r.ID}
	if x.Tags == nil {
		x.Tags = List[Tag]{}
	}
	if r.GroupID != "" {
		p := sgGroupPair(t, g, r)
		x.ReferencedGroupInfo = &sgReferencedGroupXML{GroupID: p.GroupID, UserID: p.UserID, VpcID: p.VpcID,
			VpcPeeringConnectionID: p.VpcPeeringConnectionID, PeeringStatus: p.PeeringStatus}
	}
	return x
}

type sgRevokedRuleXML struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	IsEgress            bool   `xml:"isEgress"`
	IPProtocol          string `xml:"ipProtocol"`
	FromPort            int32  `xml:"fromPort"`
	ToPort              int32  `xml:"toPort"`
	CidrIPv4            string `xml:"cidrIpv4,omitempty"`
	CidrIPv6            string `xml:"cidrIpv6,omitempty"`
	PrefixListID        string `xml:"prefixListId,omitempty"`
	ReferencedGroupID   string `xml:"referencedGroupId,omitempty"`
	Description         string `xml:"description,omitempty"`
}

// --- Authorize ---

type sgAuthorizeInput struct {
	DryRun            bool
	GroupID           string `ec2:"GroupId"`
	GroupName         string
	IPPermissions     []sgPermissionInput `ec2:"IpPermissions"`
	TagSpecifications []TagSpecification  `ec2:"TagSpecification"`
	Legacy            sgLegacyInput       `ec2:"-"` // decoded on its own: its parameters are top-level
}

type sgAuthorizeOutput struct {
	Return bool            `xml:"return"`
	Rules  List[sgRuleXML] `xml:"securityGroupRuleSet"`
}

func sgAuthorize(c *call, egress bool) (any, error) {
	var in sgAuthorizeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.decode(&in.Legacy); err != nil {
		return nil, err
	}
	if egress && in.GroupID == "" {
		return nil, errMissing("GroupId")
	}
	perms, err := sgRequestPermissions(in.IPPermissions, in.Legacy)
	if err != nil {
		return nil, err
	}
	tags, err := tagsFor(kindSGRule, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	out := sgAuthorizeOutput{Return: true, Rules: List[sgRuleXML]{}}
	err = c.s.write(c, func(t *txn) error {
		g, err := sgFind(c, t, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		if err := c.authorize(g.arn(), in.DryRun); err != nil {
			return err
		}
		add, err := sgExpand(c, t, g, perms, true)
		if err != nil {
			return err
		}
		g = editAs[*SecurityGroup](t, g.ID)
		made, err := sgAddRules(g, egress, add, tags)
		if err != nil {
			return err
		}
		for _, r := range made {
			out.Rules = append(out.Rules, sgRuleXMLOf(t, g, r, egress))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// --- Revoke ---

type sgRevokeInput struct {
	DryRun        bool
	GroupID       string              `ec2:"GroupId"`
	GroupName     string              `ec2:"GroupName"`
	IPPermissions []sgPermissionInput `ec2:"IpPermissions"`
	RuleIDs       []string            `ec2:"SecurityGroupRuleId"`
	Legacy        sgLegacyInput       `ec2:"-"` // decoded on its own: its parameters are top-level
}

type sgRevokeOutput struct {
	Return  bool                   `xml:"return"`
	Unknown []sgPermissionXML      `xml:"unknownIpPermissionSet>item,omitempty"`
	Revoked List[sgRevokedRuleXML] `xml:"revokedSecurityGroupRuleSet"`
}

func sgRevoke(c *call, egress bool) (any, error) {
	var in sgRevokeInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.decode(&in.Legacy); err != nil {
		return nil, err
	}
	if egress && in.GroupID == "" {
		return nil, errMissing("GroupId")
	}
	perms, err := sgRequestPermissions(in.IPPermissions, in.Legacy)
	if err != nil {
		return nil, err
	}
	if len(perms) > 0 && len(in.RuleIDs) > 0 {
		return nil, errCombination("The parameter SecurityGroupRuleId cannot be used with the parameter IpPermissions.")
	}
	if len(perms) == 0 && len(in.RuleIDs) == 0 {
		return nil, errMissing("IpPermissions or SecurityGroupRuleId")
	}
	if err := refuseMalformed(kindSGRule, in.RuleIDs); err != nil {
		return nil, err
	}
	out := sgRevokeOutput{Return: true, Revoked: List[sgRevokedRuleXML]{}}
	err = c.s.write(c, func(t *txn) error {
		g, err := sgFind(c, t, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		if err := c.authorize(g.arn(), in.DryRun); err != nil {
			return err
		}
		have := *g.rules(egress)
		drop := map[string]bool{}
		for _, id := range in.RuleIDs {
			if !slices.ContainsFunc(have, func(r SGRule) bool { return r.ID == id }) {
				return errNotFound(kindSGRule, id)
			}
			drop[id] = true
		}
		wanted, err := sgExpand(c, t, g, perms, false)
		if err != nil {
			return err
		}
		var unknown []SGRule
		for _, w := range wanted {
			i := slices.IndexFunc(have, func(r SGRule) bool { return sgSameRule(r, w) })
			if i < 0 {
				unknown = append(unknown, w)
				continue
			}
			drop[have[i].ID] = true
		}
		if len(unknown) > 0 {
			// Only a default VPC's groups forgive rules that do not exist.
			if v, ok := getAs[*Vpc](t, g.VpcID); !ok || !v.IsDefault {
				return apiError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
			out.Unknown = sgPermissions(t, g, unknown)
			out.Return = false
		}
		g = editAs[*SecurityGroup](t, g.ID)
		rules := g.rules(egress)
		*rules = slices.DeleteFunc(*rules, func(r SGRule) bool {
			if !drop[r.ID] {
				return false
			}
			out.Revoked = append(out.Revoked, sgRevokedRuleXML{SecurityGroupRuleID: r.ID, GroupID: g.ID, IsEgress: egress,
				IPProtocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CidrIPv4, CidrIPv6: r.CidrIPv6,
				PrefixListID: r.PrefixListID, ReferencedGroupID: r.GroupID, Description: r.Description})
			return true
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// --- DescribeSecurityGroupRules ---

// sgRuleView is a rule seen as a resource of its own, so that the generic
// filters (tags) and id-ordered pages apply to rules.
type sgRuleView struct {
	Meta
	group  *SecurityGroup
	rule   SGRule
	egress bool
}

var sgRuleFilters = filters[*sgRuleView]{
	"group-id":               func(v *sgRuleView) string { return v.group.ID },
	"security-group-rule-id": func(v *sgRuleView) string { return v.rule.ID },
}

type describeSGRulesInput struct {
	DryRun     bool
	RuleIDs    []string `ec2:"SecurityGroupRuleId"`
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32
	NextToken  string
}

type describeSGRulesOutput struct {
	Rules     List[sgRuleXML] `xml:"securityGroupRuleSet"`
	NextToken string          `xml:"nextToken,omitempty"`
}

func describeSecurityGroupRules(c *call) (any, error) {
	var in describeSGRulesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := refuseMalformed(kindSGRule, in.RuleIDs); err != nil {
		return nil, err
	}
	if err := sgRuleFilters.check(in.Filters); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	out := describeSGRulesOutput{Rules: List[sgRuleXML]{}}
	err := c.s.read(c, func(t *txn) error {
		var views []*sgRuleView
		byID := map[string]*sgRuleView{}
		for _, g := range all[*SecurityGroup](t, kindSG, c.acct, c.region) {
			for _, egress := range []bool{false, true} {
				for _, r := range *g.rules(egress) {
					v := &sgRuleView{Meta: Meta{ID: r.ID, Owner: g.Owner, Region: g.Region, Tags: r.Tags}, group: g, rule: r, egress: egress}
					views = append(views, v)
					byID[r.ID] = v
				}
			}
		}
		if len(in.RuleIDs) > 0 {
			views = views[:0]
			for _, id := range in.RuleIDs {
				v := byID[id]
				if v == nil {
					return errNotFound(kindSGRule, id)
				}
				if !slices.Contains(views, v) {
					views = append(views, v)
				}
			}
		}
		views = slices.DeleteFunc(views, func(v *sgRuleView) bool { return !sgRuleFilters.match(in.Filters, v) })
		slices.SortFunc(views, func(a, b *sgRuleView) int { return strings.Compare(a.ID, b.ID) })
		var err error
		views, out.NextToken, err = page(views, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		for _, v := range views {
			out.Rules = append(out.Rules, sgRuleXMLOf(t, v.group, v.rule, v.egress))
		}
		return nil
	})
	return out, err
}

// --- ModifySecurityGroupRules ---

type sgRuleRequestInput struct {
	IPProtocol        *string `ec2:"IpProtocol"`
	FromPort          *int32
	ToPort            *int32
	CidrIPv4          string `ec2:"CidrIpv4"`
	CidrIPv6          string `ec2:"CidrIpv6"`
	PrefixListID      string `ec2:"PrefixListId"`
	ReferencedGroupID string `ec2:"ReferencedGroupId"`
	Description       string
}

type sgRuleUpdateInput struct {
	SecurityGroupRuleID string `ec2:"SecurityGroupRuleId"`
	SecurityGroupRule   *sgRuleRequestInput
}

type modifySGRulesInput struct {
	DryRun  bool
	GroupID string              `ec2:"GroupId"`
	Updates []sgRuleUpdateInput `ec2:"SecurityGroupRule"`
}

// permission is the rule request as a one-source IpPermission.
func (r *sgRuleRequestInput) permission() (sgPermissionInput, error) {
	p := sgPermissionInput{IPProtocol: r.IPProtocol, FromPort: r.FromPort, ToPort: r.ToPort}
	n := 0
	if r.CidrIPv4 != "" {
		p.IPRanges, n = []sgIPRangeInput{{CidrIP: r.CidrIPv4, Description: r.Description}}, n+1
	}
	if r.CidrIPv6 != "" {
		p.IPv6Ranges, n = []sgIPv6RangeInput{{CidrIPv6: r.CidrIPv6, Description: r.Description}}, n+1
	}
	if r.PrefixListID != "" {
		p.PrefixListIDs, n = []sgPrefixListInput{{PrefixListID: r.PrefixListID, Description: r.Description}}, n+1
	}
	if r.ReferencedGroupID != "" {
		p.Groups, n = []sgGroupPairInput{{GroupID: r.ReferencedGroupID, Description: r.Description}}, n+1
	}
	if n != 1 {
		return p, errInvalidParam("Exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId must be specified.")
	}
	return p, nil
}

func modifySecurityGroupRules(c *call) (any, error) {
	var in modifySGRulesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.GroupID == "" {
		return nil, errMissing("GroupId")
	}
	if len(in.Updates) == 0 {
		return nil, errMissing("SecurityGroupRule")
	}
	perms := make([]sgPermissionInput, len(in.Updates))
	for i, u := range in.Updates {
		if u.SecurityGroupRuleID == "" {
			return nil, errMissing("SecurityGroupRuleId")
		}
		if !validID(kindSGRule, u.SecurityGroupRuleID) {
			return nil, errMalformed(kindSGRule, u.SecurityGroupRuleID)
		}
		if u.SecurityGroupRule == nil {
			return nil, errMissing("SecurityGroupRule")
		}
		var err error
		if perms[i], err = u.SecurityGroupRule.permission(); err != nil {
			return nil, err
		}
	}
	if err := c.authorize(c.arn("security-group", in.GroupID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		g, err := mustEdit[*SecurityGroup](c, t, kindSG, in.GroupID)
		if err != nil {
			return err
		}
		for i, u := range in.Updates {
			rules, at := sgRuleAt(g, u.SecurityGroupRuleID)
			if at < 0 {
				return errNotFound(kindSGRule, u.SecurityGroupRuleID)
			}
			next, err := sgExpand(c, t, g, perms[i:i+1], true)
			if err != nil {
				return err
			}
			r := next[0]
			for j, have := range *rules {
				if j != at && sgSameRule(have, r) {
					return errInvalidParam("The same permission must not appear multiple times")
				}
			}
			old := (*rules)[at]
			r.ID, r.Tags = old.ID, old.Tags
			(*rules)[at] = r
		}
		return nil
	})
}

// sgRuleAt finds a rule of g by id: the list it is in and its index (-1
// when g has no such rule).
func sgRuleAt(g *SecurityGroup, id string) (*[]SGRule, int) {
	for _, egress := range []bool{false, true} {
		rules := g.rules(egress)
		if i := slices.IndexFunc(*rules, func(r SGRule) bool { return r.ID == id }); i >= 0 {
			return rules, i
		}
	}
	return nil, -1
}

// --- UpdateSecurityGroupRuleDescriptions{Ingress,Egress} ---

type sgRuleDescriptionInput struct {
	SecurityGroupRuleID string `ec2:"SecurityGroupRuleId"`
	Description         string
}

type sgUpdateDescriptionsInput struct {
	DryRun        bool
	GroupID       string                   `ec2:"GroupId"`
	GroupName     string                   `ec2:"GroupName"`
	IPPermissions []sgPermissionInput      `ec2:"IpPermissions"`
	Descriptions  []sgRuleDescriptionInput `ec2:"SecurityGroupRuleDescription"`
}

func sgUpdateDescriptions(c *call, egress bool) (any, error) {
	var in sgUpdateDescriptionsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.IPPermissions) == 0 && len(in.Descriptions) == 0 {
		return nil, errMissing("IpPermissions or SecurityGroupRuleDescription")
	}
	for _, p := range in.IPPermissions {
		if p.IPProtocol != nil && p.FromPort != nil && *p.FromPort != -1 {
			if proto, err := sgProtocol(*p.IPProtocol); err == nil && proto == "-1" {
				return nil, errInvalidParam("When protocol is ALL, you cannot specify from-port.")
			}
		}
	}
	for _, d := range in.Descriptions {
		if !sgValidText(d.Description) {
			return nil, sgErrDescription()
		}
	}
	return okResult, c.s.write(c, func(t *txn) error {
		g, err := sgFind(c, t, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		if err := c.authorize(g.arn(), in.DryRun); err != nil {
			return err
		}
		wanted, err := sgExpand(c, t, g, in.IPPermissions, false)
		if err != nil {
			return err
		}
		g = editAs[*SecurityGroup](t, g.ID)
		rules := *g.rules(egress)
		for _, w := range wanted {
			i := slices.IndexFunc(rules, func(r SGRule) bool { return sgSameRule(r, w) })
			if i < 0 {
				return apiError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
			rules[i].Description = w.Description
		}
		for _, d := range in.Descriptions {
			i := slices.IndexFunc(rules, func(r SGRule) bool { return r.ID == d.SecurityGroupRuleID })
			if i < 0 {
				return errNotFound(kindSGRule, d.SecurityGroupRuleID)
			}
			rules[i].Description = d.Description
		}
		return nil
	})
}
