package ec2

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// sgInternal runs actions straight through the handlers, as the default
// account in us-east-1, so that a test can also build state that no API
// of this file makes (network interfaces, peering connections).
type sgInternal struct {
	t *testing.T
	s *Service
}

func newSGInternal(t *testing.T) *sgInternal {
	s, err := New(Options{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &sgInternal{t: t, s: s}
}

func (x *sgInternal) call(action string, form url.Values) *call {
	req := &gateway.Request{ID: "req", Region: "us-east-1", Principal: gateway.Principal{Account: "123456789012"}}
	return &call{s: x.s, ctx: context.Background(), req: req, action: action, form: form,
		acct: "123456789012", region: "us-east-1", now: x.s.now().UTC()}
}

func (x *sgInternal) do(action string, form url.Values) (any, error) {
	x.t.Helper()
	c := x.call(action, form)
	if err := x.s.ensureDefaults(c); err != nil {
		x.t.Fatal(err)
	}
	return handlers[action](c)
}

func (x *sgInternal) must(action string, form url.Values) any {
	x.t.Helper()
	out, err := x.do(action, form)
	if err != nil {
		x.t.Fatalf("%s: %v", action, err)
	}
	return out
}

func (x *sgInternal) write(fn func(c *call, t *txn) error) {
	x.t.Helper()
	c := x.call("test", nil)
	if err := x.s.write(c, func(t *txn) error { return fn(c, t) }); err != nil {
		x.t.Fatal(err)
	}
}

func sgWantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae *awswire.Error
	if !errors.As(err, &ae) || ae.Code != code || msg != "" && ae.Message != msg {
		t.Fatalf("want %s %q, got %v", code, msg, err)
	}
}

func (x *sgInternal) vpc(cidr string) string {
	return x.must("CreateVpc", url.Values{"CidrBlock": {cidr}}).(createVpcOutput).Vpc.VpcID
}

func (x *sgInternal) group(vpc, name string) string {
	return x.must("CreateSecurityGroup", url.Values{"VpcId": {vpc}, "GroupName": {name}, "GroupDescription": {name}}).(createSecurityGroupOutput).GroupID
}

// A group cannot go while a network interface is in it.
func TestSGDeleteWithInterface(t *testing.T) {
	x := newSGInternal(t)
	vpc := x.vpc("10.0.0.0/16")
	subnet := x.must("CreateSubnet", url.Values{"VpcId": {vpc}, "CidrBlock": {"10.0.1.0/24"}}).(createSubnetOutput).Subnet.SubnetID
	g := x.group(vpc, "app")
	var eni string
	x.write(func(c *call, t *txn) error {
		s, _ := getAs[*Subnet](t, subnet)
		groups, err := checkGroups(c, t, vpc, []string{g, g})
		if err != nil {
			return err
		}
		if len(groups) != 1 {
			return errors.New("checkGroups must fold repeated ids")
		}
		e, err := newENI(c, t, s, eniSpec{Groups: groups})
		eni = e.ID
		return err
	})
	_, err := x.do("DeleteSecurityGroup", url.Values{"GroupId": {g}})
	sgWantCode(t, err, "DependencyViolation", "resource "+g+" has a dependent object")
	x.write(func(c *call, t *txn) error {
		t.del(eni)
		return nil
	})
	if _, err := x.do("DeleteSecurityGroup", url.Values{"GroupId": {g}}); err != nil {
		t.Fatal(err)
	}
}

// checkGroups resolves the groups of a new interface.
func TestSGCheckGroups(t *testing.T) {
	x := newSGInternal(t)
	vpc := x.vpc("10.0.0.0/16")
	other := x.vpc("10.1.0.0/16")
	var ids []string
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		ids = append(ids, x.group(vpc, n))
	}
	foreign := x.group(other, "x")
	x.write(func(c *call, t *txn) error {
		def, err := checkGroups(c, t, vpc, nil)
		v, _ := getAs[*Vpc](t, vpc)
		if err != nil || len(def) != 1 || def[0] != v.DefaultGroupID {
			return errors.New("no groups must mean the VPC's default group")
		}
		if got, err := checkGroups(c, t, vpc, ids[:5]); err != nil || len(got) != 5 {
			return errors.New("five groups must be allowed")
		}
		_, err = checkGroups(c, t, vpc, ids)
		sgWantCode(x.t, err, "SecurityGroupsPerInterfaceLimitExceeded", "")
		_, err = checkGroups(c, t, vpc, []string{foreign})
		sgWantCode(x.t, err, "InvalidParameterValue", "Security group "+foreign+" and subnet belong to different networks.")
		_, err = checkGroups(c, t, vpc, []string{"sg-0123456789abcdef0"})
		sgWantCode(x.t, err, "InvalidGroup.NotFound", "The security group 'sg-0123456789abcdef0' does not exist")
		_, err = checkGroups(c, t, vpc, []string{"subnet-85f423ba"})
		sgWantCode(x.t, err, "InvalidGroupId.Malformed", `Invalid id: "subnet-85f423ba" (expecting "sg-...")`)
		return nil
	})
}

// A rule may refer to a group of a peered VPC, and shows the peering.
func TestSGPeeredReference(t *testing.T) {
	x := newSGInternal(t)
	a, b := x.vpc("10.0.0.0/16"), x.vpc("10.1.0.0/16")
	ga, gb := x.group(a, "a"), x.group(b, "b")
	perm := url.Values{"GroupId": {ga}, "IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"443"},
		"IpPermissions.1.ToPort": {"443"}, "IpPermissions.1.Groups.1.GroupId": {gb}}
	_, err := x.do("AuthorizeSecurityGroupIngress", perm)
	sgWantCode(t, err, "InvalidGroup.NotFound", "You have specified two resources that belong to different networks.")

	var pcx string
	x.write(func(c *call, t *txn) error {
		p := &Peering{Meta: c.meta(kindPeering, nil), RequesterVpcID: a, AccepterVpcID: b, Status: "active"}
		pcx = p.ID
		t.put(p)
		return nil
	})
	out := x.must("AuthorizeSecurityGroupIngress", perm).(sgAuthorizeOutput)
	if len(out.Rules) != 1 || out.Rules[0].ReferencedGroupInfo == nil || out.Rules[0].ReferencedGroupInfo.VpcPeeringConnectionID != pcx ||
		out.Rules[0].ReferencedGroupInfo.VpcID != b {
		t.Fatalf("peered rule: %+v", out.Rules)
	}
	d := x.must("DescribeSecurityGroups", url.Values{"GroupId.1": {ga}}).(describeSecurityGroupsOutput)
	pair := d.Groups[0].IPPermissions[0].Groups[0]
	if pair.GroupID != gb || pair.VpcID != b || pair.VpcPeeringConnectionID != pcx || pair.PeeringStatus != "active" {
		t.Fatalf("peered pair: %+v", pair)
	}
	// The peer's group is now held by the rule.
	_, err = x.do("DeleteSecurityGroup", url.Values{"GroupId": {gb}})
	sgWantCode(t, err, "DependencyViolation", "")
}
