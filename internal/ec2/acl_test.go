package ec2_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func aclGet(t *testing.T, c *sdk.Client, id string) types.NetworkAcl {
	t.Helper()
	out, err := c.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{NetworkAclIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkAcls) != 1 {
		t.Fatalf("describe %s: %d ACLs", id, len(out.NetworkAcls))
	}
	return out.NetworkAcls[0]
}

// aclEntries renders entries as "egress/number/protocol/action" in the
// order AWS lists them.
func aclEntries(a types.NetworkAcl) string {
	var s []string
	for _, e := range a.Entries {
		dir := "in"
		if aws.ToBool(e.Egress) {
			dir = "out"
		}
		s = append(s, fmt.Sprintf("%s/%d/%s/%s", dir, aws.ToInt32(e.RuleNumber), aws.ToString(e.Protocol), e.RuleAction))
	}
	return strings.Join(s, " ")
}

func aclFilter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func TestACLDefaultAndCreate(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.1.0/24", "")
	d, err := e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: []types.Filter{aclFilter("vpc-id", aws.ToString(v.VpcId))}})
	if err != nil || len(d.NetworkAcls) != 1 {
		t.Fatalf("ACLs of a new VPC: %+v %v", d, err)
	}
	def := d.NetworkAcls[0]
	if !aws.ToBool(def.IsDefault) || aws.ToString(def.OwnerId) != "123456789012" ||
		aclEntries(def) != "out/100/-1/allow out/32767/-1/deny in/100/-1/allow in/32767/-1/deny" ||
		len(def.Associations) != 1 || aws.ToString(def.Associations[0].SubnetId) != aws.ToString(s.SubnetId) ||
		aws.ToString(def.Associations[0].NetworkAclId) != aws.ToString(def.NetworkAclId) ||
		!strings.HasPrefix(aws.ToString(def.Associations[0].NetworkAclAssociationId), "aclassoc-") {
		t.Fatalf("default ACL: %+v", def)
	}
	if aws.ToString(def.Entries[0].CidrBlock) != "0.0.0.0/0" || def.Entries[0].PortRange != nil || def.Entries[0].IcmpTypeCode != nil {
		t.Fatalf("default entry: %+v", def.Entries[0])
	}

	out, err := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId, ClientToken: aws.String("tok-1"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkAcl, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("private")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	a := out.NetworkAcl
	id := aws.ToString(a.NetworkAclId)
	if !strings.HasPrefix(id, "acl-") || aws.ToBool(a.IsDefault) || aclEntries(*a) != "out/32767/-1/deny in/32767/-1/deny" ||
		len(a.Associations) != 0 || len(a.Tags) != 1 || aws.ToString(out.ClientToken) != "tok-1" || aws.ToString(a.VpcId) != aws.ToString(v.VpcId) {
		t.Fatalf("created: %+v", a)
	}
	// The same client token gives the same ACL back.
	again, err := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId, ClientToken: aws.String("tok-1")})
	if err != nil || aws.ToString(again.NetworkAcl.NetworkAclId) != id {
		t.Fatalf("idempotent create: %+v %v", again, err)
	}
	_, err = e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: aws.String("vpc-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")
	_, err = e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")

	for _, c := range []struct {
		filters []types.Filter
		want    int
	}{
		{[]types.Filter{aclFilter("default", "false")}, 1},
		{[]types.Filter{aclFilter("tag:Name", "priv*")}, 1},
		{[]types.Filter{aclFilter("association.subnet-id", aws.ToString(s.SubnetId))}, 1},
		{[]types.Filter{aclFilter("association.association-id", aws.ToString(def.Associations[0].NetworkAclAssociationId))}, 1},
		{[]types.Filter{aclFilter("association.network-acl-id", id)}, 0},
		{[]types.Filter{aclFilter("network-acl-id", id)}, 1},
		{[]types.Filter{aclFilter("owner-id", "123456789012")}, 2},
		{[]types.Filter{aclFilter("entry.rule-number", "100")}, 1},
		{[]types.Filter{aclFilter("entry.rule-action", "allow")}, 1},
		{[]types.Filter{aclFilter("entry.egress", "true")}, 2},
	} {
		fs := append(c.filters, aclFilter("vpc-id", aws.ToString(v.VpcId)))
		out, err := e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: fs})
		if err != nil || len(out.NetworkAcls) != c.want {
			t.Fatalf("filters %v: %d ACLs, want %d (%v)", c.filters, len(out.NetworkAcls), c.want, err)
		}
	}
	_, err = e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: []types.Filter{aclFilter("entry.colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'entry.colour' is invalid")
	_, err = e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{NetworkAclIds: []string{"acl-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidNetworkAclID.NotFound", "")
	_, err = e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{NetworkAclIds: []string{"acl-zz"}})
	wantAPIError(t, err, "InvalidNetworkAclId.Malformed", "")
	_, err = e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")

	// Paging.
	for i := 0; i < 6; i++ {
		if _, err := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var next *string
	for pages := 0; ; pages++ {
		p, err := e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{aclFilter("vpc-id", aws.ToString(v.VpcId))}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.NetworkAcls {
			seen[aws.ToString(a.NetworkAclId)] = true
		}
		if next = p.NextToken; next == nil {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 8 {
		t.Fatalf("paged %d ACLs", len(seen))
	}
}

func TestACLEntries(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	out, err := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	id := out.NetworkAcl.NetworkAclId
	put := func(replace bool, n int32, egress bool, proto, action, cidr string, ports *types.PortRange, icmp *types.IcmpTypeCode) error {
		var err error
		if replace {
			_, err = e.ec2.ReplaceNetworkAclEntry(ctx, &sdk.ReplaceNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(n), Egress: aws.Bool(egress),
				Protocol: aws.String(proto), RuleAction: types.RuleAction(action), CidrBlock: aws.String(cidr), PortRange: ports, IcmpTypeCode: icmp})
		} else {
			_, err = e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(n), Egress: aws.Bool(egress),
				Protocol: aws.String(proto), RuleAction: types.RuleAction(action), CidrBlock: aws.String(cidr), PortRange: ports, IcmpTypeCode: icmp})
		}
		return err
	}
	ports := func(from, to int32) *types.PortRange {
		return &types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
	}
	for _, c := range []struct {
		n      int32
		egress bool
		proto  string
		action string
		cidr   string
		ports  *types.PortRange
		icmp   *types.IcmpTypeCode
	}{
		{200, false, "6", "allow", "10.0.0.0/16", ports(443, 443), nil},
		{100, false, "6", "allow", "10.0.0.0/16", ports(22, 22), nil},
		{110, false, "1", "allow", "0.0.0.0/0", nil, &types.IcmpTypeCode{Type: aws.Int32(8), Code: aws.Int32(-1)}},
		{100, true, "-1", "allow", "0.0.0.0/0", nil, nil},
		// Ports of a protocol without ports are not kept; the CIDR is canonical.
		{120, false, "17", "deny", "192.0.2.9/24", ports(53, 53), nil},
		{130, false, "50", "allow", "10.0.0.0/8", ports(1, 2), nil},
	} {
		if err := put(false, c.n, c.egress, c.proto, c.action, c.cidr, c.ports, c.icmp); err != nil {
			t.Fatalf("entry %d: %v", c.n, err)
		}
	}
	a := aclGet(t, e.ec2, aws.ToString(id))
	if got := aclEntries(a); got != "out/100/-1/allow out/32767/-1/deny in/100/6/allow in/110/1/allow in/120/17/deny in/130/50/allow in/200/6/allow in/32767/-1/deny" {
		t.Fatalf("entries: %s", got)
	}
	byNum := map[int32]types.NetworkAclEntry{}
	for _, en := range a.Entries {
		if !aws.ToBool(en.Egress) {
			byNum[aws.ToInt32(en.RuleNumber)] = en
		}
	}
	if en := byNum[100]; en.PortRange == nil || aws.ToInt32(en.PortRange.From) != 22 || aws.ToInt32(en.PortRange.To) != 22 || en.IcmpTypeCode != nil {
		t.Fatalf("tcp entry: %+v", en)
	}
	if en := byNum[110]; en.IcmpTypeCode == nil || aws.ToInt32(en.IcmpTypeCode.Type) != 8 || aws.ToInt32(en.IcmpTypeCode.Code) != -1 {
		t.Fatalf("icmp entry: %+v", en)
	}
	if en := byNum[120]; aws.ToString(en.CidrBlock) != "192.0.2.0/24" || en.PortRange == nil {
		t.Fatalf("udp entry: %+v", en)
	}
	if en := byNum[130]; en.PortRange != nil {
		t.Fatalf("protocol 50 keeps ports: %+v", en)
	}
	// Entry filters, protocols by number or name.
	for _, c := range []struct {
		filter types.Filter
		want   int
	}{
		{aclFilter("entry.protocol", "tcp"), 1},
		{aclFilter("entry.protocol", "17"), 1},
		{aclFilter("entry.port-range.from", "443"), 1},
		{aclFilter("entry.port-range.to", "80"), 0},
		{aclFilter("entry.icmp.type", "8"), 1},
		{aclFilter("entry.icmp.code", "-1"), 1},
		{aclFilter("entry.cidr", "192.0.2.0/24"), 1},
		{aclFilter("entry.ipv6-cidr", "::/0"), 0},
	} {
		out, err := e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: []types.Filter{c.filter, aclFilter("network-acl-id", aws.ToString(id))}})
		if err != nil || len(out.NetworkAcls) != c.want {
			t.Fatalf("filter %s=%v: %d (%v)", aws.ToString(c.filter.Name), c.filter.Values, len(out.NetworkAcls), err)
		}
	}

	wantAPIError(t, put(false, 100, false, "6", "deny", "10.0.0.0/16", ports(1, 1), nil), "NetworkAclEntryAlreadyExists",
		"The network acl entry identified by 100 already exists.")
	wantAPIError(t, put(true, 300, false, "6", "deny", "10.0.0.0/16", ports(1, 1), nil), "InvalidNetworkAclEntry.NotFound", "")
	for _, c := range []struct {
		n           int32
		proto, cidr string
		ports       *types.PortRange
		icmp        *types.IcmpTypeCode
		code        string
	}{
		{0, "6", "10.0.0.0/8", ports(1, 1), nil, "InvalidParameterValue"},
		{32767, "-1", "10.0.0.0/8", nil, nil, "InvalidParameterValue"},
		{300, "6", "10.0.0.0/8", nil, nil, "MissingParameter"},
		{300, "6", "10.0.0.0/8", ports(80, 70), nil, "InvalidParameterValue"},
		{300, "6", "10.0.0.0/8", ports(1, 70000), nil, "InvalidParameterValue"},
		{300, "1", "10.0.0.0/8", nil, nil, "MissingParameter"},
		{300, "257", "10.0.0.0/8", nil, nil, "InvalidParameterValue"},
		{300, "-1", "10.0.0.0/33", nil, nil, "InvalidParameterValue"},
	} {
		err := put(false, c.n, false, c.proto, "allow", c.cidr, c.ports, c.icmp)
		if err == nil {
			t.Fatalf("entry %+v accepted", c)
		}
		wantAPIError(t, err, c.code, "")
	}
	wantAPIError(t, put(false, 300, false, "-1", "maybe", "10.0.0.0/8", nil, nil), "InvalidParameterValue", "")
	_, err = e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(300), Egress: aws.Bool(false),
		Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow})
	wantAPIError(t, err, "MissingParameter", "")
	_, err = e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(300), Egress: aws.Bool(false),
		Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow, CidrBlock: aws.String("10.0.0.0/8"), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: aws.String("acl-0123456789abcdef0"), RuleNumber: aws.Int32(300),
		Egress: aws.Bool(false), Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow, CidrBlock: aws.String("10.0.0.0/8")})
	wantAPIError(t, err, "InvalidNetworkAclID.NotFound", "")
	// An IPv6 entry is kept apart from IPv4 ones.
	if _, err := e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(140), Egress: aws.Bool(false),
		Protocol: aws.String("-1"), RuleAction: types.RuleActionAllow, Ipv6CidrBlock: aws.String("2001:db8::/32")}); err != nil {
		t.Fatal(err)
	}
	a = aclGet(t, e.ec2, aws.ToString(id))
	for _, en := range a.Entries {
		if aws.ToInt32(en.RuleNumber) == 140 && (aws.ToString(en.Ipv6CidrBlock) != "2001:db8::/32" || en.CidrBlock != nil) {
			t.Fatalf("ipv6 entry: %+v", en)
		}
	}

	// Replace changes an entry in place.
	if err := put(true, 200, false, "6", "deny", "10.0.0.0/16", ports(8443, 8443), nil); err != nil {
		t.Fatal(err)
	}
	a = aclGet(t, e.ec2, aws.ToString(id))
	for _, en := range a.Entries {
		if aws.ToInt32(en.RuleNumber) == 200 && (en.RuleAction != types.RuleActionDeny || aws.ToInt32(en.PortRange.From) != 8443) {
			t.Fatalf("replaced: %+v", en)
		}
	}
	wantAPIError(t, put(true, 200, false, "6", "deny", "10.0.0.0/16", nil, nil), "MissingParameter", "")

	// Delete, one direction at a time.
	if _, err := e.ec2.DeleteNetworkAclEntry(ctx, &sdk.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Egress: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteNetworkAclEntry(ctx, &sdk.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Egress: aws.Bool(true)})
	wantAPIError(t, err, "InvalidNetworkAclEntry.NotFound", "No egress entry with rule number 100 exists in network ACL "+aws.ToString(id)+".")
	_, err = e.ec2.DeleteNetworkAclEntry(ctx, &sdk.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(32767), Egress: aws.Bool(false)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.DeleteNetworkAclEntry(ctx, &sdk.DeleteNetworkAclEntryInput{NetworkAclId: id, RuleNumber: aws.Int32(100), Egress: aws.Bool(false), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	a = aclGet(t, e.ec2, aws.ToString(id))
	if got := aclEntries(a); !strings.HasPrefix(got, "out/32767/-1/deny in/100/6/allow") {
		t.Fatalf("after delete: %s", got)
	}
}

func TestACLAssociationAndDelete(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	s := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.1.0/24", "")
	d, _ := e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: []types.Filter{aclFilter("association.subnet-id", aws.ToString(s.SubnetId))}})
	def := d.NetworkAcls[0]
	assoc := def.Associations[0].NetworkAclAssociationId
	out, err := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: v.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	acl := out.NetworkAcl.NetworkAclId
	foreign, _ := e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: other.VpcId})

	_, err = e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: assoc, NetworkAclId: foreign.NetworkAcl.NetworkAclId})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: aws.String("aclassoc-0123456789abcdef0"), NetworkAclId: acl})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "The association ID 'aclassoc-0123456789abcdef0' does not exist")
	_, err = e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: assoc, NetworkAclId: acl, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	r, err := e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: assoc, NetworkAclId: acl})
	if err != nil {
		t.Fatal(err)
	}
	newAssoc := aws.ToString(r.NewAssociationId)
	if !strings.HasPrefix(newAssoc, "aclassoc-") || newAssoc == aws.ToString(assoc) {
		t.Fatalf("new association: %q", newAssoc)
	}
	if got := aclGet(t, e.ec2, aws.ToString(def.NetworkAclId)); len(got.Associations) != 0 {
		t.Fatalf("default ACL keeps the subnet: %+v", got.Associations)
	}
	got := aclGet(t, e.ec2, aws.ToString(acl))
	if len(got.Associations) != 1 || aws.ToString(got.Associations[0].SubnetId) != aws.ToString(s.SubnetId) ||
		aws.ToString(got.Associations[0].NetworkAclAssociationId) != newAssoc {
		t.Fatalf("moved association: %+v", got.Associations)
	}
	// The old association id is gone.
	_, err = e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: assoc, NetworkAclId: acl})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "")

	_, err = e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: acl})
	wantAPIError(t, err, "DependencyViolation", "The network ACL '"+aws.ToString(acl)+"' has dependencies and cannot be deleted.")
	_, err = e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: def.NetworkAclId})
	wantAPIError(t, err, "InvalidParameterValue", "cannot delete default network ACL "+aws.ToString(def.NetworkAclId))
	// A VPC with an ACL of its own cannot go.
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: other.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")

	back, err := e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(newAssoc), NetworkAclId: def.NetworkAclId})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: acl, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: acl}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: acl})
	wantAPIError(t, err, "InvalidNetworkAclID.NotFound", "")
	// Deleting the subnet takes its association with it.
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if got := aclGet(t, e.ec2, aws.ToString(def.NetworkAclId)); len(got.Associations) != 0 {
		t.Fatalf("association %s outlived its subnet: %+v", aws.ToString(back.NewAssociationId), got.Associations)
	}
	if _, err := e.ec2.DeleteNetworkAcl(ctx, &sdk.DeleteNetworkAclInput{NetworkAclId: foreign.NetworkAcl.NetworkAclId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: other.VpcId}); err != nil {
		t.Fatal(err)
	}
}
