package ec2_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func sgCreate(t *testing.T, c *sdk.Client, vpc, name string) string {
	t.Helper()
	in := &sdk.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name + " group")}
	if vpc != "" {
		in.VpcId = aws.String(vpc)
	}
	out, err := c.CreateSecurityGroup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

func sgGet(t *testing.T, c *sdk.Client, id string) types.SecurityGroup {
	t.Helper()
	out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("describe %s: %d groups", id, len(out.SecurityGroups))
	}
	return out.SecurityGroups[0]
}

// sgTCP is a TCP permission for a port range from CIDRs.
func sgTCP(from, to int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
	}
	return p
}

func sgIngress(t *testing.T, c *sdk.Client, id string, perms ...types.IpPermission) []types.SecurityGroupRule {
	t.Helper()
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(out.Return) {
		t.Fatal("authorize: return false")
	}
	return out.SecurityGroupRules
}

func sgDefaultGroup(t *testing.T, c *sdk.Client, vpc string) types.SecurityGroup {
	t.Helper()
	out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("default group of %s: %+v %v", vpc, out, err)
	}
	return out.SecurityGroups[0]
}

func TestSGCreateDescribeDelete(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	out, err := e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers"),
		VpcId: v.VpcId, TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
			Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("front")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.GroupId)
	if !strings.HasPrefix(id, "sg-") || len(id) != len("sg-")+17 || len(out.Tags) != 1 ||
		aws.ToString(out.SecurityGroupArn) != "arn:aws:ec2:us-east-1:123456789012:security-group/"+id {
		t.Fatalf("created: %+v", out)
	}
	g := sgGet(t, e.ec2, id)
	if aws.ToString(g.GroupName) != "web" || aws.ToString(g.Description) != "web servers" || aws.ToString(g.VpcId) != vpc ||
		aws.ToString(g.OwnerId) != "123456789012" || len(g.Tags) != 1 || len(g.IpPermissions) != 0 || len(g.IpPermissionsEgress) != 1 {
		t.Fatalf("described: %+v", g)
	}
	// A new group may send anything anywhere; an all-protocol permission shows no ports.
	eg := g.IpPermissionsEgress[0]
	if aws.ToString(eg.IpProtocol) != "-1" || eg.FromPort != nil || eg.ToPort != nil || len(eg.IpRanges) != 1 ||
		aws.ToString(eg.IpRanges[0].CidrIp) != "0.0.0.0/0" || eg.UserIdGroupPairs == nil || eg.Ipv6Ranges == nil || eg.PrefixListIds == nil {
		t.Fatalf("default egress: %+v", eg)
	}
	// Every VPC has a default group whose members may reach each other.
	def := sgDefaultGroup(t, e.ec2, vpc)
	if aws.ToString(def.Description) != "default VPC security group" || len(def.IpPermissions) != 1 ||
		len(def.IpPermissions[0].UserIdGroupPairs) != 1 || aws.ToString(def.IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(def.GroupId) ||
		aws.ToString(def.IpPermissions[0].UserIdGroupPairs[0].UserId) != "123456789012" {
		t.Fatalf("default group: %+v", def)
	}

	for _, c := range []struct {
		name, desc, vpc, code, msg string
	}{
		{"WEB", "x", vpc, "InvalidGroup.Duplicate", "The security group 'WEB' already exists for VPC '" + vpc + "'"},
		{"default", "x", vpc, "InvalidGroup.Reserved", "The security group 'default' is reserved"},
		{"sg-web", "x", vpc, "InvalidParameterValue", "Value (sg-web) for parameter GroupName is invalid. Group names may not be in the format sg-*."},
		{"ok", "it's", vpc, "InvalidParameterValue", "Invalid security group description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"},
		{"ok", strings.Repeat("d", 256), vpc, "InvalidParameterValue", ""},
		{strings.Repeat("n", 256), "x", vpc, "InvalidParameterValue", ""},
		{"ok", "x", "vpc-0123456789abcdef0", "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist"},
		{"", "x", vpc, "MissingParameter", ""},
		{"ok", "", vpc, "MissingParameter", ""},
	} {
		_, err := e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String(c.name), Description: aws.String(c.desc), VpcId: aws.String(c.vpc)})
		wantAPIError(t, err, c.code, c.msg)
	}
	// The same name is fine in another VPC, and without a VPC the default one is used.
	other := sgCreate(t, e.ec2, "", "web")
	dv, _ := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if got := aws.ToString(sgGet(t, e.ec2, other).VpcId); got != aws.ToString(dv.Vpcs[0].VpcId) {
		t.Fatalf("group without VpcId is in %s", got)
	}
	_, err = e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String("dry"), Description: aws.String("d"), VpcId: v.VpcId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")

	// Names stand for groups of the default VPC.
	byName, err := e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupNames: []string{"web", "default"}})
	if err != nil || len(byName.SecurityGroups) != 2 {
		t.Fatalf("by name: %+v %v", byName, err)
	}
	for _, g := range byName.SecurityGroups {
		if aws.ToString(g.VpcId) != aws.ToString(dv.Vpcs[0].VpcId) {
			t.Fatalf("name resolved outside the default VPC: %+v", g)
		}
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupNames: []string{"nope"}})
	wantAPIError(t, err, "InvalidGroup.NotFound", "The security group 'nope' does not exist in default VPC '"+aws.ToString(dv.Vpcs[0].VpcId)+"'")
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidGroup.NotFound", "The security group 'sg-0123456789abcdef0' does not exist")
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{"subnet-85f423ba"}})
	wantAPIError(t, err, "InvalidGroupId.Malformed", `Invalid id: "subnet-85f423ba" (expecting "sg-...")`)
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")

	// Deleting: the default group never; others by id or (default VPC) by name.
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: def.GroupId})
	wantAPIError(t, err, "CannotDelete", `the specified group: "`+aws.ToString(def.GroupId)+`" name: "default" cannot be deleted by a user`)
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(id), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	del, err := e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	if err != nil || !aws.ToBool(del.Return) || aws.ToString(del.GroupId) != id {
		t.Fatalf("delete: %+v %v", del, err)
	}
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	wantAPIError(t, err, "InvalidGroup.NotFound", "The security group '"+id+"' does not exist")
	if _, err := e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{other}})
	wantAPIError(t, err, "InvalidGroup.NotFound", "")
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{})
	wantAPIError(t, err, "MissingParameter", "")
	// A VPC with a group of its own cannot go; its default group goes with it.
	sgCreate(t, e.ec2, vpc, "blocker")
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")
}

func TestSGAuthorizeAndRegroup(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	web := sgCreate(t, e.ec2, vpc, "web")
	lb := sgCreate(t, e.ec2, vpc, "lb")

	ssh := sgTCP(22, 22, "10.0.0.0/16", "203.0.113.7/24")
	ssh.IpRanges[1].Description = aws.String("NY office")
	ssh.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(lb), Description: aws.String("from lb")}}
	ssh.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}}
	ssh.PrefixListIds = []types.PrefixListId{{PrefixListId: aws.String("pl-63a5400a")}}
	rules := sgIngress(t, e.ec2, web, ssh,
		types.IpPermission{IpProtocol: aws.String("6"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		types.IpPermission{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(8), ToPort: aws.Int32(-1), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}},
		types.IpPermission{IpProtocol: aws.String("icmpv6"), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
		types.IpPermission{IpProtocol: aws.String("all"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}},
		types.IpPermission{IpProtocol: aws.String("50"), FromPort: aws.Int32(1), ToPort: aws.Int32(2), IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}},
	)
	if len(rules) != 10 {
		t.Fatalf("made %d rules: %+v", len(rules), rules)
	}
	r0 := rules[0]
	if !strings.HasPrefix(aws.ToString(r0.SecurityGroupRuleId), "sgr-") || aws.ToString(r0.GroupId) != web || aws.ToString(r0.GroupOwnerId) != "123456789012" ||
		aws.ToBool(r0.IsEgress) || aws.ToString(r0.IpProtocol) != "tcp" || aws.ToInt32(r0.FromPort) != 22 || aws.ToString(r0.CidrIpv4) != "10.0.0.0/16" {
		t.Fatalf("first rule: %+v", r0)
	}
	// CIDRs are stored in canonical form.
	if got := aws.ToString(rules[1].CidrIpv4); got != "203.0.113.0/24" || aws.ToString(rules[1].Description) != "NY office" {
		t.Fatalf("canonical CIDR: %+v", rules[1])
	}
	byProto := map[string]types.SecurityGroupRule{}
	for _, r := range rules[5:] {
		byProto[aws.ToString(r.IpProtocol)] = r
	}
	if r := byProto["icmpv6"]; aws.ToInt32(r.FromPort) != -1 || aws.ToInt32(r.ToPort) != -1 {
		t.Fatalf("icmpv6 without ports: %+v", r)
	}
	if r := byProto["-1"]; r.ReferencedGroupInfo == nil || aws.ToString(r.ReferencedGroupInfo.GroupId) != web || aws.ToInt32(r.FromPort) != -1 {
		t.Fatalf("all protocols from itself: %+v", r)
	}
	if r := byProto["50"]; aws.ToInt32(r.FromPort) != -1 || aws.ToInt32(r.ToPort) != -1 {
		t.Fatalf("a protocol without ports keeps none: %+v", r)
	}

	g := sgGet(t, e.ec2, web)
	if len(g.IpPermissions) != 6 {
		t.Fatalf("permissions: %+v", g.IpPermissions)
	}
	p := g.IpPermissions[0]
	if aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) != 22 || aws.ToInt32(p.ToPort) != 22 || len(p.IpRanges) != 2 ||
		aws.ToString(p.IpRanges[1].Description) != "NY office" || len(p.Ipv6Ranges) != 1 || len(p.PrefixListIds) != 1 ||
		len(p.UserIdGroupPairs) != 1 || aws.ToString(p.UserIdGroupPairs[0].GroupId) != lb || aws.ToString(p.UserIdGroupPairs[0].Description) != "from lb" {
		t.Fatalf("regrouped ssh: %+v", p)
	}
	if p := g.IpPermissions[1]; aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) != 443 || len(p.IpRanges) != 1 {
		t.Fatalf("https: %+v", p)
	}
	if p := g.IpPermissions[2]; aws.ToString(p.IpProtocol) != "icmp" || aws.ToInt32(p.FromPort) != 8 || aws.ToInt32(p.ToPort) != -1 {
		t.Fatalf("icmp: %+v", p)
	}
	if p := g.IpPermissions[4]; aws.ToString(p.IpProtocol) != "-1" || p.FromPort != nil || len(p.UserIdGroupPairs) != 1 {
		t.Fatalf("all: %+v", p)
	}
	if p := g.IpPermissions[5]; aws.ToString(p.IpProtocol) != "50" || p.FromPort != nil {
		t.Fatalf("protocol 50: %+v", p)
	}
	// More rules for an existing protocol and range join its permission.
	sgIngress(t, e.ec2, web, sgTCP(443, 443, "192.0.2.0/24"))
	g = sgGet(t, e.ec2, web)
	if len(g.IpPermissions) != 6 || len(g.IpPermissions[1].IpRanges) != 2 {
		t.Fatalf("joined: %+v", g.IpPermissions[1])
	}

	// Egress rules, after the default one.
	eo, err := e.ec2.AuthorizeSecurityGroupEgress(ctx, &sdk.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(lb),
		IpPermissions: []types.IpPermission{sgTCP(8080, 8090, "10.0.0.0/16")}})
	if err != nil || len(eo.SecurityGroupRules) != 1 || !aws.ToBool(eo.SecurityGroupRules[0].IsEgress) {
		t.Fatalf("egress: %+v %v", eo, err)
	}
	lg := sgGet(t, e.ec2, lb)
	if len(lg.IpPermissionsEgress) != 2 || aws.ToInt32(lg.IpPermissionsEgress[1].ToPort) != 8090 {
		t.Fatalf("egress described: %+v", lg.IpPermissionsEgress)
	}
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx, &sdk.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(lb),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	wantAPIError(t, err, "InvalidPermission.Duplicate", `the specified rule "peer: 0.0.0.0/0, ALL, ALLOW" already exists`)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx, &sdk.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(lb), DryRun: aws.Bool(true),
		IpPermissions: []types.IpPermission{sgTCP(1, 1, "10.0.0.0/16")}})
	wantAPIError(t, err, "DryRunOperation", "")
}

// The flat form the old API had still works for ingress.
func TestSGAuthorizeLegacyForm(t *testing.T) {
	e := newEnv(t)
	// In the default VPC groups may be named instead of given by id.
	app := sgCreate(t, e.ec2, "", "app")
	sgCreate(t, e.ec2, "", "bastion")
	out, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupName: aws.String("app"),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), CidrIp: aws.String("10.0.0.0/8")})
	if err != nil || len(out.SecurityGroupRules) != 1 || aws.ToString(out.SecurityGroupRules[0].CidrIpv4) != "10.0.0.0/8" {
		t.Fatalf("flat: %+v %v", out, err)
	}
	// A source group alone grants all of TCP, UDP and ICMP.
	out, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app),
		SourceSecurityGroupName: aws.String("bastion")})
	if err != nil || len(out.SecurityGroupRules) != 3 {
		t.Fatalf("source group: %+v %v", out, err)
	}
	g := sgGet(t, e.ec2, app)
	var protos []string
	for _, p := range g.IpPermissions {
		protos = append(protos, aws.ToString(p.IpProtocol))
	}
	if strings.Join(protos, ",") != "tcp,tcp,udp,icmp" {
		t.Fatalf("permissions: %v", protos)
	}
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIp: aws.String("10.0.0.0/8"),
		IpPermissions: []types.IpPermission{sgTCP(2, 2, "10.0.0.0/8")}})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app),
		IpProtocol: aws.String("tcp"), SourceSecurityGroupName: aws.String("bastion")})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupName: aws.String("nope"),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIp: aws.String("10.0.0.0/8")})
	wantAPIError(t, err, "InvalidGroup.NotFound", "")
	// The flat form is refused as a whole when a source group cannot be found.
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), SourceSecurityGroupName: aws.String("nope")})
	wantAPIError(t, err, "InvalidGroup.NotFound", "The security group 'nope' does not exist")
	// Revoking in the flat form.
	if _, err := e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(app),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), CidrIp: aws.String("10.0.0.0/8")}); err != nil {
		t.Fatal(err)
	}
	if n := len(sgGet(t, e.ec2, app).IpPermissions); n != 3 {
		t.Fatalf("after revoke: %d permissions", n)
	}
}

func TestSGAuthorizeErrors(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	other := aws.ToString(createVpc(t, e.ec2, "10.1.0.0/16").VpcId)
	g := sgCreate(t, e.ec2, vpc, "g")
	foreign := sgCreate(t, e.ec2, other, "f")
	sgIngress(t, e.ec2, g, sgTCP(22, 22, "10.0.0.0/16"))
	sgIngress(t, e.ec2, g, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(65535),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(g)}}})

	icmp := func(typ, code int32) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(typ), ToPort: aws.Int32(code), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}
	}
	cases := []struct {
		name  string
		perms []types.IpPermission
		code  string
		msg   string
	}{
		{"duplicate", []types.IpPermission{sgTCP(22, 22, "10.0.7.0/16")}, "InvalidPermission.Duplicate",
			`the specified rule "peer: 10.0.0.0/16, TCP, from port: 22, to port: 22, ALLOW" already exists`},
		{"duplicate group", []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(65535),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(g)}}}}, "InvalidPermission.Duplicate",
			`the specified rule "peer: ` + g + `, TCP, from port: 1, to port: 65535, ALLOW" already exists`},
		{"twice in one request", []types.IpPermission{sgTCP(80, 80, "10.0.0.0/16", "10.0.0.0/16")}, "InvalidParameterValue",
			"The same permission must not appear multiple times"},
		{"no ports", []types.IpPermission{{IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
			"InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP."},
		{"port -1", []types.IpPermission{sgTCP(-1, 22, "10.0.0.0/8")}, "InvalidParameterValue", "TCP/UDP (from) port (-1) out of range"},
		{"port 70000", []types.IpPermission{sgTCP(80, 70000, "10.0.0.0/8")}, "InvalidParameterValue", "TCP/UDP (to) port (70000) out of range"},
		{"backwards", []types.IpPermission{sgTCP(90, 80, "10.0.0.0/8")}, "InvalidParameterValue", ""},
		{"icmp code", []types.IpPermission{icmp(3, 65535)}, "InvalidParameterValue", "ICMP code (65535) out of range"},
		{"icmp type", []types.IpPermission{icmp(256, 0)}, "InvalidParameterValue", "ICMP type (256) out of range"},
		{"icmp any type one code", []types.IpPermission{icmp(-1, 4)}, "InvalidParameterValue", ""},
		{"protocol", []types.IpPermission{{IpProtocol: aws.String("esp"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
			"InvalidParameterValue", "Invalid value 'esp' for IP protocol. Unknown protocol."},
		{"protocol 256", []types.IpPermission{{IpProtocol: aws.String("256"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
			"InvalidParameterValue", "Invalid value '256' for IP protocol. Unknown protocol."},
		{"no protocol", []types.IpPermission{{FromPort: aws.Int32(1), ToPort: aws.Int32(1), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
			"MissingParameter", ""},
		{"cidr", []types.IpPermission{sgTCP(1, 1, "10.0.0.0/33")}, "InvalidParameterValue", "CIDR block 10.0.0.0/33 is malformed"},
		{"cidr v6 in v4", []types.IpPermission{sgTCP(1, 1, "::/0")}, "InvalidParameterValue", "CIDR block ::/0 is malformed"},
		{"cidr v6", []types.IpPermission{{IpProtocol: aws.String("-1"), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/129")}}}},
			"InvalidParameterValue", "CIDR block 2001:db8::/129 is malformed"},
		{"prefix list", []types.IpPermission{{IpProtocol: aws.String("-1"), PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String("pl-xyz")}}}},
			"InvalidPrefixListId.Malformed", ""},
		{"missing group", []types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-0123456789abcdef0")}}}},
			"InvalidGroup.NotFound", "The security group 'sg-0123456789abcdef0' does not exist"},
		{"malformed group", []types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-12")}}}},
			"InvalidGroupId.Malformed", ""},
		{"group in another VPC", []types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(foreign)}}}},
			"InvalidGroup.NotFound", "You have specified two resources that belong to different networks."},
		{"another account's group", []types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(g), UserId: aws.String("111122223333")}}}},
			"InvalidGroup.NotFound", ""},
		{"description", []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.9.0.0/16"), Description: aws.String("café")}}}},
			"InvalidParameterValue", "Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"},
	}
	for _, c := range cases {
		_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: c.perms})
		if err == nil {
			t.Fatalf("%s: accepted", c.name)
		}
		wantAPIError(t, err, c.code, c.msg)
	}
	// Nothing of a refused request is kept.
	if n := len(sgGet(t, e.ec2, g).IpPermissions); n != 2 {
		t.Fatalf("permissions after refusals: %d", n)
	}
	// A permission without any source adds nothing and is no error, as on AWS.
	if rules := sgIngress(t, e.ec2, g, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(9), ToPort: aws.Int32(9)}); len(rules) != 0 {
		t.Fatalf("rules without a source: %+v", rules)
	}
	_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-0123456789abcdef0"),
		IpPermissions: []types.IpPermission{sgTCP(1, 1, "10.0.0.0/8")}})
	wantAPIError(t, err, "InvalidGroup.NotFound", "The security group 'sg-0123456789abcdef0' does not exist")
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{IpPermissions: []types.IpPermission{sgTCP(1, 1, "10.0.0.0/8")}})
	wantAPIError(t, err, "MissingParameter", "")

	// 60 rules per direction.
	var perms []types.IpPermission
	for i := 0; i < 58; i++ {
		perms = append(perms, sgTCP(int32(1000+i), int32(1000+i), "10.0.0.0/16"))
	}
	sgIngress(t, e.ec2, g, perms...)
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: []types.IpPermission{sgTCP(2000, 2000, "10.0.0.0/16")}})
	wantAPIError(t, err, "RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
}

func TestSGRevoke(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	g := sgCreate(t, e.ec2, vpc, "g")
	made := sgIngress(t, e.ec2, g, sgTCP(22, 22, "10.0.0.0/16", "10.1.0.0/16"), sgTCP(80, 80, "0.0.0.0/0"))

	// One source of a permission goes, its siblings stay.
	out, err := e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{sgTCP(22, 22, "10.1.0.0/16")}})
	if err != nil || !aws.ToBool(out.Return) || len(out.RevokedSecurityGroupRules) != 1 ||
		aws.ToString(out.RevokedSecurityGroupRules[0].SecurityGroupRuleId) != aws.ToString(made[1].SecurityGroupRuleId) ||
		aws.ToString(out.RevokedSecurityGroupRules[0].CidrIpv4) != "10.1.0.0/16" {
		t.Fatalf("revoke: %+v %v", out, err)
	}
	perms := sgGet(t, e.ec2, g).IpPermissions
	if len(perms) != 2 || len(perms[0].IpRanges) != 1 {
		t.Fatalf("after revoke: %+v", perms)
	}
	// A rule that does not exist in a non-default VPC's group is an error, and nothing is revoked.
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{sgTCP(80, 80, "0.0.0.0/0"), sgTCP(22, 22, "10.1.0.0/16")}})
	wantAPIError(t, err, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
	if n := len(sgGet(t, e.ec2, g).IpPermissions); n != 2 {
		t.Fatalf("half a refused revoke was kept: %d permissions", n)
	}
	// By rule id.
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), SecurityGroupRuleIds: []string{"sgr-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID 'sgr-0123456789abcdef0' does not exist")
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), SecurityGroupRuleIds: []string{"sgr-1"}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.Malformed", "")
	// An ingress rule is not an egress one.
	_, err = e.ec2.RevokeSecurityGroupEgress(ctx, &sdk.RevokeSecurityGroupEgressInput{GroupId: aws.String(g), SecurityGroupRuleIds: []string{aws.ToString(made[2].SecurityGroupRuleId)}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.NotFound", "")
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), DryRun: aws.Bool(true),
		SecurityGroupRuleIds: []string{aws.ToString(made[2].SecurityGroupRuleId)}})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g),
		SecurityGroupRuleIds: []string{aws.ToString(made[2].SecurityGroupRuleId), aws.ToString(made[0].SecurityGroupRuleId)}}); err != nil {
		t.Fatal(err)
	}
	if n := len(sgGet(t, e.ec2, g).IpPermissions); n != 0 {
		t.Fatalf("after revoking by id: %d permissions", n)
	}
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(g)})
	wantAPIError(t, err, "MissingParameter", "")
	// Egress: the default rule can go.
	eo, err := e.ec2.RevokeSecurityGroupEgress(ctx, &sdk.RevokeSecurityGroupEgressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	if err != nil || len(eo.RevokedSecurityGroupRules) != 1 || !aws.ToBool(eo.RevokedSecurityGroupRules[0].IsEgress) {
		t.Fatalf("revoke egress: %+v %v", eo, err)
	}
	if n := len(sgGet(t, e.ec2, g).IpPermissionsEgress); n != 0 {
		t.Fatalf("egress left: %d", n)
	}

	// A default VPC's group forgives unknown rules and says which they were.
	dg := sgCreate(t, e.ec2, "", "d")
	sgIngress(t, e.ec2, dg, sgTCP(443, 443, "0.0.0.0/0"))
	ro, err := e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(dg),
		IpPermissions: []types.IpPermission{sgTCP(443, 443, "0.0.0.0/0"), sgTCP(8443, 8443, "10.0.0.0/8")}})
	if err != nil || aws.ToBool(ro.Return) || len(ro.UnknownIpPermissions) != 1 || aws.ToInt32(ro.UnknownIpPermissions[0].FromPort) != 8443 ||
		len(ro.RevokedSecurityGroupRules) != 1 {
		t.Fatalf("default VPC revoke: %+v %v", ro, err)
	}
}

func TestSGRulesDescribeModify(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	g := sgCreate(t, e.ec2, vpc, "g")
	h := sgCreate(t, e.ec2, vpc, "h")
	out, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g),
		IpPermissions:     []types.IpPermission{sgTCP(22, 22, "10.0.0.0/16")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroupRule, Tags: []types.Tag{{Key: aws.String("who"), Value: aws.String("ops")}}}}})
	if err != nil || len(out.SecurityGroupRules) != 1 || len(out.SecurityGroupRules[0].Tags) != 1 {
		t.Fatalf("tagged rule: %+v %v", out, err)
	}
	tagged := aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)
	for i := 0; i < 8; i++ {
		sgIngress(t, e.ec2, h, sgTCP(int32(100+i), int32(100+i), "10.0.0.0/16"))
	}

	rs, err := e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g}}}})
	if err != nil || len(rs.SecurityGroupRules) != 2 {
		t.Fatalf("rules of g: %+v %v", rs, err)
	}
	for _, r := range rs.SecurityGroupRules {
		if aws.ToString(r.SecurityGroupRuleArn) != "arn:aws:ec2:us-east-1:123456789012:security-group-rule/"+aws.ToString(r.SecurityGroupRuleId) {
			t.Fatalf("arn: %+v", r)
		}
		if aws.ToBool(r.IsEgress) && (aws.ToString(r.IpProtocol) != "-1" || aws.ToInt32(r.FromPort) != -1 || aws.ToString(r.CidrIpv4) != "0.0.0.0/0") {
			t.Fatalf("default egress rule: %+v", r)
		}
	}
	rs, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("tag:who"), Values: []string{"ops"}}}})
	if err != nil || len(rs.SecurityGroupRules) != 1 || aws.ToString(rs.SecurityGroupRules[0].SecurityGroupRuleId) != tagged {
		t.Fatalf("by tag: %+v %v", rs, err)
	}
	rs, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{tagged}})
	if err != nil || len(rs.SecurityGroupRules) != 1 {
		t.Fatalf("by id: %+v %v", rs, err)
	}
	_, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.NotFound", "")
	_, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'vpc-id' is invalid")
	_, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterValue", "")

	// Paging through h's nine rules (eight ingress and the default egress).
	seen := map[string]bool{}
	var next *string
	for pages := 0; ; pages++ {
		p, err := e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{h}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.SecurityGroupRules {
			seen[aws.ToString(r.SecurityGroupRuleId)] = true
		}
		if next = p.NextToken; next == nil {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 9 {
		t.Fatalf("paged %d rules", len(seen))
	}

	// Modify replaces a rule in place, keeping its id.
	_, err = e.ec2.ModifySecurityGroupRules(ctx, &sdk.ModifySecurityGroupRulesInput{GroupId: aws.String(g), SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: aws.String(tagged),
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), CidrIpv4: aws.String("10.2.0.0/16"), Description: aws.String("dns")}}}})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{tagged}})
	if r := rs.SecurityGroupRules[0]; aws.ToString(r.IpProtocol) != "udp" || aws.ToInt32(r.FromPort) != 53 || aws.ToString(r.CidrIpv4) != "10.2.0.0/16" ||
		aws.ToString(r.Description) != "dns" || len(r.Tags) != 1 {
		t.Fatalf("modified: %+v", r)
	}
	modify := func(id string, req types.SecurityGroupRuleRequest) error {
		_, err := e.ec2.ModifySecurityGroupRules(ctx, &sdk.ModifySecurityGroupRulesInput{GroupId: aws.String(g),
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(id), SecurityGroupRule: &req}}})
		return err
	}
	wantAPIError(t, modify("sgr-0123456789abcdef0", types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("0.0.0.0/0")}),
		"InvalidSecurityGroupRuleId.NotFound", "")
	wantAPIError(t, modify(tagged, types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("0.0.0.0/0"), CidrIpv6: aws.String("::/0")}),
		"InvalidParameterValue", "")
	wantAPIError(t, modify(tagged, types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), CidrIpv4: aws.String("0.0.0.0/0")}),
		"InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
	_, err = e.ec2.ModifySecurityGroupRules(ctx, &sdk.ModifySecurityGroupRulesInput{GroupId: aws.String(g), DryRun: aws.Bool(true),
		SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(tagged), SecurityGroupRule: &types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("1.0.0.0/8")}}}})
	wantAPIError(t, err, "DryRunOperation", "")

	// Descriptions, by permission and by rule id.
	if _, err := e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
			IpRanges: []types.IpRange{{CidrIp: aws.String("10.2.0.0/16"), Description: aws.String("resolver")}}}}}); err != nil {
		t.Fatal(err)
	}
	if d := sgGet(t, e.ec2, g).IpPermissions[0].IpRanges[0].Description; aws.ToString(d) != "resolver" {
		t.Fatalf("description: %v", aws.ToString(d))
	}
	egressRule := ""
	rs, _ = e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g}}}})
	for _, r := range rs.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			egressRule = aws.ToString(r.SecurityGroupRuleId)
		}
	}
	if _, err := e.ec2.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(g),
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(egressRule), Description: aws.String("anything")}}}); err != nil {
		t.Fatal(err)
	}
	if d := sgGet(t, e.ec2, g).IpPermissionsEgress[0].IpRanges[0].Description; aws.ToString(d) != "anything" {
		t.Fatalf("egress description: %v", aws.ToString(d))
	}
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{sgTCP(1, 1, "10.0.0.0/8")}})
	wantAPIError(t, err, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), FromPort: aws.Int32(0), ToPort: aws.Int32(0), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	wantAPIError(t, err, "InvalidParameterValue", "When protocol is ALL, you cannot specify from-port.")
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(g),
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(tagged), Description: aws.String("x")}}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.NotFound", "")
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(g), DryRun: aws.Bool(true),
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(tagged), Description: aws.String("x")}}})
	wantAPIError(t, err, "DryRunOperation", "")
}

func TestSGDescribeFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	web := sgCreate(t, e.ec2, vpc, "web")
	db := sgCreate(t, e.ec2, vpc, "db")
	sgIngress(t, e.ec2, web, sgTCP(22, 22, "10.9.9.9/32"), sgTCP(80, 80, "0.0.0.0/0"))
	sgIngress(t, e.ec2, db, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	if _, err := e.ec2.AuthorizeSecurityGroupEgress(ctx, &sdk.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(web),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String("pl-63a5400a")}}}}}); err != nil {
		t.Fatal(err)
	}
	find := func(fs ...types.Filter) []string {
		t.Helper()
		fs = append(fs, types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
		out, err := e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: fs})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range out.SecurityGroups {
			names = append(names, aws.ToString(g.GroupName))
		}
		return names
	}
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	for _, c := range []struct {
		filters []types.Filter
		want    string
	}{
		{[]types.Filter{f("group-name", "w*")}, "web"},
		{[]types.Filter{f("group-id", db)}, "db"},
		{[]types.Filter{f("description", "db group")}, "db"},
		{[]types.Filter{f("owner-id", "123456789012")}, "*"},
		{[]types.Filter{f("ip-permission.from-port", "22"), f("ip-permission.to-port", "22")}, "web"},
		// Any rule may match each filter: 80 is another rule than 10.9.9.9/32's.
		{[]types.Filter{f("ip-permission.from-port", "80"), f("ip-permission.cidr", "10.9.9.9/32")}, "web"},
		{[]types.Filter{f("ip-permission.cidr", "0.0.0.0/0")}, "web"},
		{[]types.Filter{f("ip-permission.protocol", "tcp"), f("ip-permission.group-id", web)}, "db"},
		{[]types.Filter{f("ip-permission.group-name", "web")}, "db"},
		{[]types.Filter{f("ip-permission.user-id", "123456789012")}, "db,default"},
		{[]types.Filter{f("egress.ip-permission.prefix-list-id", "pl-63a5400a")}, "web"},
		{[]types.Filter{f("egress.ip-permission.to-port", "443")}, "web"},
		{[]types.Filter{f("egress.ip-permission.cidr", "0.0.0.0/0"), f("egress.ip-permission.protocol", "-1")}, "*"},
		{[]types.Filter{f("ip-permission.ipv6-cidr", "::/0")}, ""},
		{[]types.Filter{f("egress.ip-permission.group-id", web)}, ""},
	} {
		got := find(c.filters...)
		want := c.want
		if want == "*" {
			want = "db,default,web"
		}
		slices.Sort(got)
		if strings.Join(got, ",") != want {
			t.Fatalf("filters %v: got %v want %s", c.filters, got, want)
		}
	}
	_, err := e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{f("ip-permission.colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'ip-permission.colour' is invalid")

	for i := 0; i < 7; i++ {
		sgCreate(t, e.ec2, vpc, "extra-"+strconv.Itoa(i))
	}
	total := 0
	var next *string
	for pages := 0; ; pages++ {
		out, err := e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{f("vpc-id", vpc)}})
		if err != nil {
			t.Fatal(err)
		}
		total += len(out.SecurityGroups)
		if next = out.NextToken; next == nil {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if total != 10 {
		t.Fatalf("paged %d groups", total)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1001)})
	wantAPIError(t, err, "InvalidParameterValue", "")
}

// A group cannot go while another group's rule refers to it.
func TestSGDeleteReferenced(t *testing.T) {
	e := newEnv(t)
	vpc := aws.ToString(createVpc(t, e.ec2, "10.0.0.0/16").VpcId)
	web := sgCreate(t, e.ec2, vpc, "web")
	def := aws.ToString(sgDefaultGroup(t, e.ec2, vpc).GroupId)
	// The default group refers to web, as in the AWS console's classic trap.
	made := sgIngress(t, e.ec2, def, types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	// A group's rules about itself do not hold it.
	sgIngress(t, e.ec2, web, types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	_, err := e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(web)})
	wantAPIError(t, err, "DependencyViolation", "resource "+web+" has a dependent object")
	if _, err := e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(def),
		SecurityGroupRuleIds: []string{aws.ToString(made[0].SecurityGroupRuleId)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(web)}); err != nil {
		t.Fatal(err)
	}
}
