package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// matrix is the world of TestConnectivityMatrix: VPC A with a public
// subnet (internet gateway, NAT gateway), a private subnet for functions
// and a database subnet; VPC B with one instance; a server on the
// simulated internet.
type matrix struct {
	t      *testing.T
	s      *server
	ec2    *ec2.Client
	prefix string

	vpcA, vpcB                  string
	public, private, dbSubnet   string
	subnetB                     string
	publicRTB, privateRTB, rtbB string
	fnGroup, dbGroup, openB     string
	igw, nat, eipAlloc, natEIP  string
	db, dbIP, dbENI             string
	instB, instBIP              string
	internet                    <-chan string // peers of the internet server
}

func (m *matrix) must(err error) {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
}

func (m *matrix) subnet(vpc, cidr, zone string) string {
	out, err := m.ec2.CreateSubnet(ctxT(m.t), &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone)})
	m.must(err)
	return aws.ToString(out.Subnet.SubnetId)
}

func (m *matrix) group(vpc, name string) string {
	out, err := m.ec2.CreateSecurityGroup(ctxT(m.t), &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String(name)})
	m.must(err)
	return aws.ToString(out.GroupId)
}

func (m *matrix) routeTable(vpc string, subnets ...string) string {
	ctx := ctxT(m.t)
	out, err := m.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpc)})
	m.must(err)
	id := aws.ToString(out.RouteTable.RouteTableId)
	for _, s := range subnets {
		_, err := m.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: aws.String(s)})
		m.must(err)
	}
	return id
}

func (m *matrix) allowIn(group string, port int32, from ec2types.IpPermission) {
	from.IpProtocol, from.FromPort, from.ToPort = aws.String("tcp"), aws.Int32(port), aws.Int32(port)
	_, err := m.ec2.AuthorizeSecurityGroupIngress(ctxT(m.t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{from}})
	m.must(err)
}

// httpInstance runs an instance whose UserData serves HTTP on 8080 and
// waits until its console says so.
func (m *matrix) httpInstance(subnet, group string) (id, ip, eni string) {
	ctx := ctxT(m.t)
	userData := "#!/bin/bash\necho serving on $(hostname -I)\nexec python3 -m http.server 8080 --bind 0.0.0.0\n"
	run, err := m.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnet), SecurityGroupIds: []string{group},
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))})
	m.must(err)
	inst := run.Instances[0]
	id, ip = aws.ToString(inst.InstanceId), aws.ToString(inst.PrivateIpAddress)
	eni = aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId)
	eventually(m.t, func() bool {
		out, err := m.ec2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil || out.Output == nil {
			return false
		}
		text, _ := base64.StdEncoding.DecodeString(*out.Output)
		return len(text) > 0
	}, "the instance starts")
	return id, ip, eni
}

// expect runs a probe until it answers want (the controller applies
// changes asynchronously), and for answers that are the absence of a
// connection makes sure they are not a momentary state either.
func expect(t *testing.T, row string, probe func() string, want string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got = probe(); got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: got %q, want %q", row, got, want)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	if want != "connected" {
		if got = probe(); got != want {
			t.Errorf("%s: got %q on a second try, want %q", row, got, want)
		}
	}
}

// lastPeer drains peers and returns the last address seen, waiting a
// moment for one: the listener reports a connection after the probe saw it.
func lastPeer(peers <-chan string) string {
	last := ""
	select {
	case last = <-peers:
	case <-time.After(2 * time.Second):
		return ""
	}
	for {
		select {
		case p := <-peers:
			last = p
		default:
			return last
		}
	}
}

func (m *matrix) build() {
	ctx := ctxT(m.t)
	vpc := func(cidr string) string {
		out, err := m.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
		m.must(err)
		return aws.ToString(out.Vpc.VpcId)
	}
	m.vpcA, m.vpcB = vpc("10.61.0.0/16"), vpc("10.62.0.0/16")
	m.public = m.subnet(m.vpcA, "10.61.1.0/24", "us-east-1a")
	m.private = m.subnet(m.vpcA, "10.61.2.0/24", "us-east-1a")
	m.dbSubnet = m.subnet(m.vpcA, "10.61.3.0/24", "us-east-1b")
	m.subnetB = m.subnet(m.vpcB, "10.62.1.0/24", "us-east-1a")

	igw, err := m.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	m.must(err)
	m.igw = aws.ToString(igw.InternetGateway.InternetGatewayId)
	_, err = m.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(m.igw), VpcId: aws.String(m.vpcA)})
	m.must(err)
	m.publicRTB = m.routeTable(m.vpcA, m.public)
	_, err = m.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(m.publicRTB), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(m.igw)})
	m.must(err)
	m.privateRTB = m.routeTable(m.vpcA, m.private, m.dbSubnet)
	m.rtbB = m.routeTable(m.vpcB, m.subnetB)

	alloc, err := m.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	m.must(err)
	m.eipAlloc, m.natEIP = aws.ToString(alloc.AllocationId), aws.ToString(alloc.PublicIp)
	nat, err := m.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(m.public), AllocationId: alloc.AllocationId})
	m.must(err)
	m.nat = aws.ToString(nat.NatGateway.NatGatewayId)

	m.fnGroup, m.dbGroup = m.group(m.vpcA, "functions"), m.group(m.vpcA, "database")
	m.allowIn(m.dbGroup, 8080, ec2types.IpPermission{UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(m.fnGroup)}}})
	m.openB = m.group(m.vpcB, "open-to-a")
	m.allowIn(m.openB, 8080, ec2types.IpPermission{IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.61.0.0/16")}}})

	m.db, m.dbIP, m.dbENI = m.httpInstance(m.dbSubnet, m.dbGroup)
	m.instB, m.instBIP, _ = m.httpInstance(m.subnetB, m.openB)
	m.internet = serveInNetns(m.t, netplane.InternetNetns(m.prefix), "192.0.2.10:80", false)
}

// One case per row of the seed, through real functions, instances and
// the server's own kernel network.
func TestConnectivityMatrix(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requirePython(t)
	s := startServer(t)
	ctx := ctxT(t)
	allowVpcAccess(t, s)
	m := &matrix{t: t, s: s, ec2: ec2.NewFromConfig(s.awsConfig("test", "test")), prefix: netplane.PrefixFor(s.dataDir)}
	m.build()

	private := probeFunction(t, s, "in-private", &types.VpcConfig{SubnetIds: []string{m.private}, SecurityGroupIds: []string{m.fnGroup}})
	public := probeFunction(t, s, "in-public", &types.VpcConfig{SubnetIds: []string{m.public}, SecurityGroupIds: []string{m.fnGroup}})
	noVPC := probeFunction(t, s, "no-vpc", nil)
	const internetHost = "192.0.2.10"

	expect(t, "same-VPC instance, groups allow", func() string { return private(m.dbIP, 8080) }, "connected")
	expect(t, "same-VPC instance, a port the groups do not open (dropped, not refused)", func() string { return private(m.dbIP, 9090) }, "timeout")
	expect(t, "private subnet without a NAT route: no internet", func() string { return private(internetHost, 80) }, "timeout")
	expect(t, "public subnet: a function gets no public IP, so no internet", func() string { return public(internetHost, 80) }, "timeout")
	expect(t, "function without VpcConfig: internet", func() string { return noVPC(internetHost, 80) }, "connected")
	if got := lastPeer(m.internet); got != netplane.LambdaNetworkAddr.String() {
		t.Errorf("a function without VpcConfig appears on the internet as %q, want %s", got, netplane.LambdaNetworkAddr)
	}
	expect(t, "function without VpcConfig: no private addresses", func() string { return noVPC(m.dbIP, 8080) }, "timeout")
	// The APIs' public names resolve everywhere; reaching them takes a way out.
	const api = "lambda.us-east-1.amazonaws.com"
	expect(t, "function without VpcConfig: the public API endpoint", func() string { return noVPC(api, 80) }, "connected")
	expect(t, "private subnet without NAT: the public API endpoint", func() string { return private(api, 80) }, "timeout")

	// A gateway endpoint reaches its service's range (S3's prefix list) privately.
	serveInNetns(t, netplane.InternetNetns(m.prefix), "203.0.113.10:443", false)
	expect(t, "private subnet, S3's range without a gateway endpoint", func() string { return private("203.0.113.10", 443) }, "timeout")
	_, err := m.ec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(m.vpcA), VpcEndpointType: ec2types.VpcEndpointTypeGateway,
		ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{m.privateRTB}})
	m.must(err)
	expect(t, "private subnet, S3's range through a gateway endpoint", func() string { return private("203.0.113.10", 443) }, "connected")
	expect(t, "private subnet with only a gateway endpoint: no internet", func() string { return private(internetHost, 80) }, "timeout")

	// With a route to the NAT gateway the private subnet has internet, from the NAT's Elastic IP.
	waitNAT(t, m.ec2, m.nat, ec2types.NatGatewayStateAvailable)
	_, err = m.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(m.privateRTB), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(m.nat)})
	m.must(err)
	expect(t, "private subnet with a NAT gateway: internet", func() string { return private(internetHost, 80) }, "connected")
	if got := lastPeer(m.internet); got != m.natEIP {
		t.Errorf("through the NAT gateway the function appears as %q, want the Elastic IP %s", got, m.natEIP)
	}
	expect(t, "private subnet with a NAT gateway: the public API endpoint", func() string { return private(api, 80) }, "connected")

	// A network ACL deny beats the group's allow.
	acl, err := m.ec2.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(m.vpcA)})
	m.must(err)
	aclID := aws.ToString(acl.NetworkAcl.NetworkAclId)
	for _, e := range []ec2.CreateNetworkAclEntryInput{
		{RuleNumber: aws.Int32(50), Protocol: aws.String("6"), RuleAction: ec2types.RuleActionDeny, CidrBlock: aws.String("10.61.2.0/24"), PortRange: &ec2types.PortRange{From: aws.Int32(8080), To: aws.Int32(8080)}},
		{RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")},
		{RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0"), Egress: aws.Bool(true)},
	} {
		e.NetworkAclId = aws.String(aclID)
		if e.Egress == nil {
			e.Egress = aws.Bool(false)
		}
		_, err := m.ec2.CreateNetworkAclEntry(ctx, &e)
		m.must(err)
	}
	assoc := aclAssociation(t, m.ec2, m.dbSubnet)
	replaced, err := m.ec2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assoc), NetworkAclId: aws.String(aclID)})
	m.must(err)
	expect(t, "network ACL deny beats the group's allow", func() string { return private(m.dbIP, 8080) }, "timeout")
	_, err = m.ec2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: replaced.NewAssociationId, NetworkAclId: aws.String(defaultACL(t, m.ec2, m.vpcA))})
	m.must(err)
	expect(t, "the ACL's deny gone", func() string { return private(m.dbIP, 8080) }, "connected")

	// Peering: only with routes on both sides.
	expect(t, "another VPC without peering", func() string { return private(m.instBIP, 8080) }, "timeout")
	if err := dialFromENI(m.prefix, m.dbENI, m.instBIP+":8080"); err == nil {
		t.Error("an instance reached another VPC without peering")
	}
	pcx, err := m.ec2.CreateVpcPeeringConnection(ctx, &ec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(m.vpcA), PeerVpcId: aws.String(m.vpcB)})
	m.must(err)
	pcxID := pcx.VpcPeeringConnection.VpcPeeringConnectionId
	_, err = m.ec2.AcceptVpcPeeringConnection(ctx, &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcxID})
	m.must(err)
	_, err = m.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(m.privateRTB), DestinationCidrBlock: aws.String("10.62.0.0/16"), VpcPeeringConnectionId: pcxID})
	m.must(err)
	expect(t, "peered, route on one side only", func() string { return private(m.instBIP, 8080) }, "timeout")
	_, err = m.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(m.rtbB), DestinationCidrBlock: aws.String("10.61.0.0/16"), VpcPeeringConnectionId: pcxID})
	m.must(err)
	expect(t, "peered, routes on both sides", func() string { return private(m.instBIP, 8080) }, "connected")

	// Nothing connects into a function's environment: not another function
	// through the Hyperplane ENI's address, not an instance.
	fnENI := lambdaENIs(t, m.ec2, m.vpcA)
	for _, e := range fnENI {
		if aws.ToString(e.SubnetId) != m.private {
			continue
		}
		addr := aws.ToString(e.PrivateIpAddress)
		expect(t, "function to function", func() string { return public(addr, 9001) }, "timeout")
		if err := dialFromENI(m.prefix, m.dbENI, addr+":9001"); err == nil {
			t.Error("an instance connected to a function's interface")
		}
	}

	// kill -9 with all of it up: after the restart the rows still hold and
	// the kernel holds the same objects, none twice, and nothing of the
	// environments that died with the server.
	before := kernelObjects(t, m.prefix)
	envsBefore := envNamespaces(t, m.prefix)
	procsBefore := environmentProcesses(t, m.prefix)
	if len(procsBefore) == 0 {
		t.Fatal("no environment processes found in the server's cgroups")
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.start()
	expect(t, "after restart: same-VPC instance", func() string { return private(m.dbIP, 8080) }, "connected")
	expect(t, "after restart: a port the groups do not open", func() string { return private(m.dbIP, 9090) }, "timeout")
	expect(t, "after restart: internet through the NAT gateway", func() string { return private(internetHost, 80) }, "connected")
	expect(t, "after restart: peered VPC", func() string { return private(m.instBIP, 8080) }, "connected")
	expect(t, "after restart: public subnet, no internet", func() string { return public(internetHost, 80) }, "timeout")
	expect(t, "after restart: function without VpcConfig", func() string { return noVPC(internetHost, 80) }, "connected")
	if after := kernelObjects(t, m.prefix); after != before {
		t.Errorf("kernel objects changed across the restart:\n--- before\n%s\n--- after\n%s", before, after)
	}
	for _, n := range envNamespaces(t, m.prefix) {
		if slices.Contains(envsBefore, n) {
			t.Errorf("environment namespace %s of the killed server is still there", n)
		}
	}
	// Its environments (frozen between invocations when it died) are gone too.
	for _, pid := range procsBefore {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d of the killed server's environments is still running", pid)
		}
	}

	// Deleting the NAT gateway leaves a blackhole route and no internet.
	_, err = m.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(m.nat)})
	m.must(err)
	eventually(t, func() bool {
		rt, err := m.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{m.privateRTB}})
		m.must(err)
		for _, r := range rt.RouteTables[0].Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				return r.State == ec2types.RouteStateBlackhole
			}
		}
		return false
	}, "the route to the deleted NAT gateway shows blackhole")
	expect(t, "NAT gateway deleted: no internet", func() string { return private(internetHost, 80) }, "timeout")
}

// kernelObjects renders every namespace of the prefix but the environments'
// (which live and die with them) as iproute2 and nft see it, names only:
// a leaked or duplicated object shows up as a difference.
func kernelObjects(t *testing.T, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range namespaces(t, prefix) {
		if strings.HasPrefix(ns, prefix+"-x") {
			continue
		}
		fmt.Fprintf(&b, "== %s\n", ns)
		for _, args := range [][]string{{"ip", "-n", ns, "-o", "-4", "addr"}, {"ip", "-n", ns, "route", "show", "table", "all"},
			{"ip", "-n", ns, "rule"}, {"ip", "netns", "exec", ns, "nft", "list", "tables"}} {
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v %s", args, err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				// Environment links come and go with environments.
				if strings.Contains(line, prefix+"-h") || strings.TrimSpace(line) == "" {
					continue
				}
				b.WriteString(ifIndex.ReplaceAllString(line, "") + "\n")
			}
		}
	}
	return b.String()
}

var ifIndex = regexp.MustCompile(`^\d+: `)

// environmentProcesses lists the processes in the server's environment
// cgroups (lambdaplane/PREFIX, cgroup v1 or v2).
func environmentProcesses(t *testing.T, prefix string) []int {
	t.Helper()
	var pids []int
	for _, parent := range []string{"/sys/fs/cgroup/pids/lambdaplane/" + prefix, "/sys/fs/cgroup/lambdaplane/" + prefix} {
		files, _ := filepath.Glob(parent + "/*/cgroup.procs")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, field := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(field); err == nil {
					pids = append(pids, pid)
				}
			}
		}
	}
	return pids
}

func namespaces(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			names = append(names, f[0])
		}
	}
	slices.Sort(names)
	return names
}

func envNamespaces(t *testing.T, prefix string) []string {
	var out []string
	for _, n := range namespaces(t, prefix) {
		if strings.HasPrefix(n, prefix+"-x") {
			out = append(out, n)
		}
	}
	return out
}

func dialFromENI(prefix, eni, addr string) error {
	return netplane.Do(netplane.ENINetns(prefix, eni), func() error {
		c, err := net.DialTimeout("tcp4", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func waitNAT(t *testing.T, c *ec2.Client, id string, state ec2types.NatGatewayState) {
	t.Helper()
	eventually(t, func() bool {
		out, err := c.DescribeNatGateways(ctxT(t), &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
		return err == nil && len(out.NatGateways) == 1 && out.NatGateways[0].State == state
	}, "NAT gateway "+id+" becomes "+string(state))
}

func aclAssociation(t *testing.T, c *ec2.Client, subnet string) string {
	t.Helper()
	out, err := c.DescribeNetworkAcls(ctxT(t), &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.NetworkAcls {
		for _, as := range a.Associations {
			if aws.ToString(as.SubnetId) == subnet {
				return aws.ToString(as.NetworkAclAssociationId)
			}
		}
	}
	t.Fatalf("subnet %s has no ACL association", subnet)
	return ""
}

func defaultACL(t *testing.T, c *ec2.Client, vpc string) string {
	t.Helper()
	out, err := c.DescribeNetworkAcls(ctxT(t), &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("default"), Values: []string{"true"}}}})
	if err != nil || len(out.NetworkAcls) != 1 {
		t.Fatalf("default ACL of %s: %v", vpc, err)
	}
	return aws.ToString(out.NetworkAcls[0].NetworkAclId)
}
