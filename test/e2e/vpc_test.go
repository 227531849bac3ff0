package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The seed's vpc-privatepublic sample, built by hand with the AWS CLI the
// way its CloudFormation template would: a VPC with a public subnet (NAT
// gateway behind an internet gateway) and two private subnets routed
// through the NAT, with S3 and DynamoDB gateway endpoints. Every step is
// checked through Describe calls, then the whole VPC is torn down in
// dependency order, with the refusals AWS gives for the wrong order.
func TestCLIPrivatePublicVpc(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	s := startServer(t)
	ec2 := func(args ...string) map[string]any {
		t.Helper()
		return s.cliJSON(t, append([]string{"ec2"}, args...)...)
	}
	fails := func(code string, args ...string) {
		t.Helper()
		out, errOut, rc := s.cli(t, append([]string{"ec2"}, args...)...)
		if rc == 0 || !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws ec2 %s: want %s, got exit %d\n%s%s", strings.Join(args, " "), code, rc, out, errOut)
		}
	}
	tags := func(resource, name string) string {
		return fmt.Sprintf("ResourceType=%s,Tags=[{Key=Name,Value=%s}]", resource, name)
	}

	zones := ec2("describe-availability-zones")
	az0 := jstr(jget(zones, "AvailabilityZones").([]any)[0], "ZoneName")
	az1 := jstr(jget(zones, "AvailabilityZones").([]any)[1], "ZoneName")

	vpc := jstr(ec2("create-vpc", "--cidr-block", "172.31.0.0/16", "--tag-specifications", tags("vpc", "lpstack")), "Vpc.VpcId")
	if out, e, rc := s.cli(t, "ec2", "wait", "vpc-available", "--vpc-ids", vpc); rc != 0 {
		t.Fatalf("wait vpc-available: %s%s", out, e)
	}
	subnet := func(cidr, az, name string) string {
		out := ec2("create-subnet", "--vpc-id", vpc, "--cidr-block", cidr, "--availability-zone", az, "--tag-specifications", tags("subnet", name))
		if got := jstr(out, "Subnet.AvailabilityZone"); got != az {
			t.Fatalf("subnet %s in %s, want %s", cidr, got, az)
		}
		return jstr(out, "Subnet.SubnetId")
	}
	public := subnet("172.31.0.0/24", az0, "lpstack-public-subnet")
	privA := subnet("172.31.3.0/24", az0, "lpstack-private-subnet-a")
	privB := subnet("172.31.2.0/24", az1, "lpstack-private-subnet-b")
	ec2("modify-subnet-attribute", "--subnet-id", public, "--map-public-ip-on-launch")
	fails("InvalidSubnet.Conflict", "create-subnet", "--vpc-id", vpc, "--cidr-block", "172.31.3.128/25")

	subs := ec2("describe-subnets", "--filters", "Name=vpc-id,Values="+vpc)
	if n := len(jget(subs, "Subnets").([]any)); n != 3 {
		t.Fatalf("%d subnets", n)
	}
	for _, sub := range jget(subs, "Subnets").([]any) {
		wantPublic := jstr(sub, "SubnetId") == public
		if jget(sub, "MapPublicIpOnLaunch") != wantPublic || jget(sub, "AvailableIpAddressCount") != float64(251) {
			t.Fatalf("subnet %v", sub)
		}
	}

	igw := jstr(ec2("create-internet-gateway", "--tag-specifications", tags("internet-gateway", "lpstack-gateway")), "InternetGateway.InternetGatewayId")
	ec2("attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
	fails("Resource.AlreadyAssociated", "attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
	igws := ec2("describe-internet-gateways", "--internet-gateway-ids", igw)
	att := jget(jget(igws, "InternetGateways").([]any)[0], "Attachments").([]any)
	if len(att) != 1 || jstr(att[0], "VpcId") != vpc || jstr(att[0], "State") != "available" {
		t.Fatalf("igw attachments %v", att)
	}

	publicRT := jstr(ec2("create-route-table", "--vpc-id", vpc), "RouteTable.RouteTableId")
	ec2("create-route", "--route-table-id", publicRT, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igw)
	fails("RouteAlreadyExists", "create-route", "--route-table-id", publicRT, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igw)
	ec2("associate-route-table", "--route-table-id", publicRT, "--subnet-id", public)

	alloc := ec2("allocate-address", "--domain", "vpc")
	allocID, publicIP := jstr(alloc, "AllocationId"), jstr(alloc, "PublicIp")
	if !strings.HasPrefix(publicIP, "198.51.100.") {
		t.Fatalf("public IP %s is not from the pool", publicIP)
	}
	nat := jstr(ec2("create-nat-gateway", "--subnet-id", public, "--allocation-id", allocID), "NatGateway.NatGatewayId")
	if out, e, rc := s.cli(t, "ec2", "wait", "nat-gateway-available", "--nat-gateway-ids", nat); rc != 0 {
		t.Fatalf("wait nat-gateway-available: %s%s", out, e)
	}
	natGW := jget(ec2("describe-nat-gateways", "--nat-gateway-ids", nat), "NatGateways").([]any)[0]
	natAddr := jget(natGW, "NatGatewayAddresses").([]any)[0]
	if jstr(natGW, "State") != "available" || jstr(natAddr, "PublicIp") != publicIP || jstr(natAddr, "AllocationId") != allocID {
		t.Fatalf("nat gateway %v", natGW)
	}
	natENI := jstr(natAddr, "NetworkInterfaceId")
	enis := ec2("describe-network-interfaces", "--filters", "Name=interface-type,Values=nat_gateway", "Name=vpc-id,Values="+vpc)
	eniList := jget(enis, "NetworkInterfaces").([]any)
	if len(eniList) != 1 || jstr(eniList[0], "NetworkInterfaceId") != natENI || jget(eniList[0], "RequesterManaged") != true ||
		jstr(eniList[0], "SubnetId") != public {
		t.Fatalf("NAT gateway's interface: %v", eniList)
	}
	// AWS answers a NAT gateway's address with AuthFailure, not InUse.
	fails("AuthFailure", "release-address", "--allocation-id", allocID)

	privateRT := jstr(ec2("create-route-table", "--vpc-id", vpc), "RouteTable.RouteTableId")
	ec2("create-route", "--route-table-id", privateRT, "--destination-cidr-block", "0.0.0.0/0", "--nat-gateway-id", nat)
	ec2("associate-route-table", "--route-table-id", privateRT, "--subnet-id", privA)
	ec2("associate-route-table", "--route-table-id", privateRT, "--subnet-id", privB)

	policy := func(action string) string {
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": "*", "Action": []string{action}, "Resource": []string{"*"}}}})
		return string(b)
	}
	var endpoints []string
	for _, svc := range []string{"s3", "dynamodb"} {
		out := ec2("create-vpc-endpoint", "--vpc-id", vpc, "--service-name", "com.amazonaws.us-east-1."+svc,
			"--route-table-ids", privateRT, "--policy-document", policy(svc+":*"))
		if jstr(out, "VpcEndpoint.VpcEndpointType") != "Gateway" || jstr(out, "VpcEndpoint.State") != "available" {
			t.Fatalf("endpoint %v", out)
		}
		endpoints = append(endpoints, jstr(out, "VpcEndpoint.VpcEndpointId"))
	}

	// The route tables as a user sees them now.
	rts := jget(ec2("describe-route-tables", "--filters", "Name=vpc-id,Values="+vpc), "RouteTables").([]any)
	if len(rts) != 3 {
		t.Fatalf("%d route tables", len(rts))
	}
	for _, rt := range rts {
		id := jstr(rt, "RouteTableId")
		routes := jget(rt, "Routes").([]any)
		if jstr(routes[0], "GatewayId") != "local" || jstr(routes[0], "DestinationCidrBlock") != "172.31.0.0/16" || jstr(routes[0], "State") != "active" {
			t.Fatalf("%s: first route %v", id, routes[0])
		}
		var assocSubnets []string
		for _, a := range jget(rt, "Associations").([]any) {
			if sub := jstr(a, "SubnetId"); sub != "" {
				assocSubnets = append(assocSubnets, sub)
			}
		}
		slices.Sort(assocSubnets)
		switch id {
		case publicRT:
			if len(routes) != 2 || jstr(routes[1], "GatewayId") != igw || !slices.Equal(assocSubnets, []string{public}) {
				t.Fatalf("public route table %v", rt)
			}
		case privateRT:
			var toNAT, toPL int
			for _, r := range routes[1:] {
				if jstr(r, "NatGatewayId") == nat && jstr(r, "DestinationCidrBlock") == "0.0.0.0/0" {
					toNAT++
				}
				if strings.HasPrefix(jstr(r, "DestinationPrefixListId"), "pl-") && strings.HasPrefix(jstr(r, "GatewayId"), "vpce-") {
					toPL++
				}
			}
			want := []string{privA, privB}
			slices.Sort(want)
			if toNAT != 1 || toPL != 2 || !slices.Equal(assocSubnets, want) {
				t.Fatalf("private route table %v", rt)
			}
		default:
			if len(routes) != 1 || jget(jget(rt, "Associations").([]any)[0], "Main") != true {
				t.Fatalf("main route table %v", rt)
			}
		}
	}
	groups := ec2("describe-security-groups", "--filters", "Name=vpc-id,Values="+vpc, "Name=group-name,Values=default")
	if g := jget(groups, "SecurityGroups").([]any); len(g) != 1 || !strings.HasPrefix(jstr(g[0], "GroupId"), "sg-") {
		t.Fatalf("default group %v", groups)
	}
	tagged := ec2("describe-subnets", "--filters", "Name=tag:Name,Values=lpstack-private-*")
	if n := len(jget(tagged, "Subnets").([]any)); n != 2 {
		t.Fatalf("%d private subnets by tag", n)
	}

	// Tear down: everything in the wrong order first.
	fails("DependencyViolation", "delete-vpc", "--vpc-id", vpc)
	fails("DependencyViolation", "delete-subnet", "--subnet-id", public)
	fails("DependencyViolation", "detach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
	fails("DependencyViolation", "delete-internet-gateway", "--internet-gateway-id", igw)

	if n := jget(ec2("delete-vpc-endpoints", "--vpc-endpoint-ids", endpoints[0], endpoints[1]), "Unsuccessful"); n != nil && len(n.([]any)) != 0 {
		t.Fatalf("delete-vpc-endpoints: %v", n)
	}
	ec2("delete-nat-gateway", "--nat-gateway-id", nat)
	if out, e, rc := s.cli(t, "ec2", "wait", "nat-gateway-deleted", "--nat-gateway-ids", nat); rc != 0 {
		t.Fatalf("wait nat-gateway-deleted: %s%s", out, e)
	}
	ec2("release-address", "--allocation-id", allocID)
	for _, rt := range []string{publicRT, privateRT} {
		desc := jget(ec2("describe-route-tables", "--route-table-ids", rt), "RouteTables").([]any)[0]
		if rt == privateRT {
			for _, r := range jget(desc, "Routes").([]any) {
				if jstr(r, "NatGatewayId") == nat && jstr(r, "State") != "blackhole" {
					t.Fatalf("route to the deleted NAT gateway is %s, want blackhole", jstr(r, "State"))
				}
			}
		}
		fails("DependencyViolation", "delete-route-table", "--route-table-id", rt)
		for _, a := range jget(desc, "Associations").([]any) {
			ec2("disassociate-route-table", "--association-id", jstr(a, "RouteTableAssociationId"))
		}
		ec2("delete-route-table", "--route-table-id", rt)
	}
	ec2("detach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
	ec2("delete-internet-gateway", "--internet-gateway-id", igw)
	for _, sub := range []string{public, privA, privB} {
		ec2("delete-subnet", "--subnet-id", sub)
	}
	ec2("delete-vpc", "--vpc-id", vpc)
	fails("InvalidVpcID.NotFound", "describe-vpcs", "--vpc-ids", vpc)
	left := ec2("describe-vpcs")
	if v := jget(left, "Vpcs").([]any); len(v) != 1 || jget(v[0], "IsDefault") != true {
		t.Fatalf("after teardown: %v", left)
	}
}
