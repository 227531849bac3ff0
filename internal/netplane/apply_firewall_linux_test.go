package netplane

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Apply puts the VPC's groups and ACLs in front of its interfaces: the
// seed's database case (a function's group allowed into the database's
// group on its port), a port the group does not open, a NACL deny that
// beats a group allow, and the change of a rule taking effect on the next
// Apply.
func TestApplyEnforcesGroupsAndACLs(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	fnIP, dbIP := netip.MustParseAddr("10.24.1.10"), netip.MustParseAddr("10.24.2.10")
	all := netip.MustParsePrefix("0.0.0.0/0")
	topo := func(dbPorts int32, denyFromApp bool) Topology {
		acl := NetworkACL{ID: "acl-db", Entries: []ACLEntry{
			{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: all},
			{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: all},
		}}
		if denyFromApp {
			acl.Entries = append([]ACLEntry{{RuleNumber: 50, Protocol: "6", CIDR: netip.MustParsePrefix("10.24.1.0/24"), FromPort: 5432, ToPort: 5432}}, acl.Entries...)
		}
		return Topology{Prefix: prefix, VPCs: []VPC{{
			ID:    "vpc-fw",
			CIDRs: []netip.Prefix{netip.MustParsePrefix("10.24.0.0/16")},
			Subnets: []Subnet{
				{ID: "subnet-app", CIDR: netip.MustParsePrefix("10.24.1.0/24"), RouteTable: "rtb-main"},
				{ID: "subnet-db", CIDR: netip.MustParsePrefix("10.24.2.0/24"), RouteTable: "rtb-main", ACL: "acl-db"},
			},
			RouteTables: []RouteTable{{ID: "rtb-main"}},
			ENIs: []ENI{
				{ID: "eni-fn", SubnetID: "subnet-app", IP: fnIP, Groups: []string{"sg-fn"}},
				{ID: "eni-db", SubnetID: "subnet-db", IP: dbIP, Groups: []string{"sg-db"}},
			},
			Groups: []SecurityGroup{
				{ID: "sg-fn", Egress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{all}}}},
				{ID: "sg-db", Ingress: []Rule{{Protocol: "tcp", FromPort: dbPorts, ToPort: dbPorts, Prefixes: []netip.Prefix{netip.PrefixFrom(fnIP, 32)}}}},
			},
			ACLs: []NetworkACL{acl},
		}}}
	}
	ctx := context.Background()
	if err := Apply(ctx, topo(5432, false)); err != nil {
		t.Fatal(err)
	}
	fnNS, dbNS := ENINetns(prefix, "eni-fn"), ENINetns(prefix, "eni-db")
	listenIn(t, dbNS, "10.24.2.10:5432")
	listenIn(t, dbNS, "10.24.2.10:6379")
	timesOut := func(addr string) {
		t.Helper()
		var nerr net.Error
		if err := dialFrom(fnNS, addr, 300*time.Millisecond); !errors.As(err, &nerr) || !nerr.Timeout() {
			t.Errorf("%s: want a timeout (dropped, as on AWS), got %v", addr, err)
		}
	}
	if err := dialFrom(fnNS, "10.24.2.10:5432", 2*time.Second); err != nil {
		t.Fatalf("the database's group allows the function: %v", err)
	}
	timesOut("10.24.2.10:6379")
	// Nothing may connect into the function's interface: its group has no ingress.
	listenIn(t, fnNS, "10.24.1.10:8080")
	if err := Do(dbNS, func() error {
		c, err := net.DialTimeout("tcp4", "10.24.1.10:8080", 300*time.Millisecond)
		if err == nil {
			c.Close()
			return errors.New("connected into the function's interface")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := Apply(ctx, topo(5432, true)); err != nil {
		t.Fatal(err)
	}
	timesOut("10.24.2.10:5432")
	if err := Apply(ctx, topo(6379, false)); err != nil {
		t.Fatal(err)
	}
	timesOut("10.24.2.10:5432")
	if err := dialFrom(fnNS, "10.24.2.10:6379", 2*time.Second); err != nil {
		t.Fatalf("after opening 6379: %v", err)
	}
}
