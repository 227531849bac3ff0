package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// probeHandler connects to event.host:event.port and says what happened.
const probeHandler = `import socket

def handler(event, context):
    s = socket.socket()
    s.settimeout(event.get("timeout", 1.0))
    try:
        s.connect((event["host"], event["port"]))
        return {"result": "connected"}
    except socket.timeout:
        return {"result": "timeout"}
    except OSError as e:
        return {"result": "error", "error": str(e)}
    finally:
        s.close()
`

// The seed's database case with real packets: a function in a private
// subnet reaches a database interface in its VPC when the database's group
// lets the function's group in, times out when it does not, and the
// database sees the connection come from the function's Hyperplane ENI.
func TestFunctionReachesDatabaseThroughGroups(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requirePython(t)
	s := startServer(t)
	ctx := ctxT(t)
	prefix := netplane.PrefixFor(s.dataDir)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.95", "")
	fnGroup, dbGroup := fx.groupA, fx.groupB
	db, err := ec2c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(fx.subnetB), Groups: []string{dbGroup}, Description: aws.String("database")})
	if err != nil {
		t.Fatal(err)
	}
	dbENI, dbIP := aws.ToString(db.NetworkInterface.NetworkInterfaceId), aws.ToString(db.NetworkInterface.PrivateIpAddress)

	// The database: a listener in the interface's namespace, once the
	// server's controller has made it.
	peers := listenInENI(t, prefix, dbENI, dbIP+":5432")

	probeTo := createProbe(t, s, fx.subnetA, fnGroup)
	probe := func() string { return probeTo(dbIP, 5432) }
	if got := probe(); got != "timeout" {
		t.Fatalf("the database's group lets nobody in, but the function got %q", got)
	}
	perm := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(fnGroup)}}}}
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(dbGroup), IpPermissions: perm}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return probe() == "connected" }, "the function reaches the database once its group is let in")
	hp := lambdaENIs(t, ec2c, fx.vpc)
	if len(hp) != 1 {
		t.Fatalf("%d Hyperplane interfaces", len(hp))
	}
	select {
	case peer := <-peers:
		if peer != aws.ToString(hp[0].PrivateIpAddress) {
			t.Fatalf("the database saw %s, want the function's Hyperplane ENI %s", peer, aws.ToString(hp[0].PrivateIpAddress))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the database saw no connection")
	}
	if _, err := ec2c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(dbGroup), IpPermissions: perm}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return probe() == "timeout" }, "revoking the rule makes new connections time out")
	if strings.HasPrefix(dbIP, "10.95.2.") == false {
		t.Fatalf("database address %s is not in its subnet", dbIP)
	}
}

// eventually retries cond for a few seconds: the data plane follows the
// API asynchronously.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	eventuallyWithin(t, 10*time.Second, cond, what)
}

// eventuallyWithin is eventually for what takes longer than a few seconds
// (a database initializing, attempts that each last a function timeout).
func eventuallyWithin(t *testing.T, limit time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The seed's RDS tutorial in shape: a server started by an instance's
// UserData in a private subnet, a function in the same VPC reaching it
// through the groups, and the instance's console output.
func TestFunctionReachesInstance(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requirePython(t)
	s := startServer(t)
	ctx := ctxT(t)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.96", "")
	fnGroup, dbGroup := fx.groupA, fx.groupB
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(dbGroup),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(fnGroup)}}}}}); err != nil {
		t.Fatal(err)
	}
	userData := "#!/bin/bash\necho server starting on $(hostname -I)\nexec python3 -m http.server 8080 --bind 0.0.0.0\n"
	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(fx.subnetB), SecurityGroupIds: []string{dbGroup},
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	ip := aws.ToString(inst.PrivateIpAddress)
	eventually(t, func() bool {
		out, err := ec2c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: inst.InstanceId})
		if err != nil || out.Output == nil {
			return false
		}
		text, _ := base64.StdEncoding.DecodeString(*out.Output)
		return strings.Contains(string(text), "server starting on "+ip)
	}, "the instance's UserData prints to its console")

	probeTo := createProbe(t, s, fx.subnetA, fnGroup)
	probe := func(port int) string { return probeTo(ip, port) }
	eventually(t, func() bool { return probe(8080) == "connected" }, "the function reaches the instance's server")
	if got := probe(22); got != "timeout" {
		t.Fatalf("a port the group does not open: %q", got)
	}
	if _, err := ec2c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*inst.InstanceId}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return probe(8080) != "connected" }, "a stopped instance serves nothing")
}

// A server killed with SIGKILL while its VPC network is up finds it again
// at the restart: the same namespaces (none leaked or made twice), and a
// VPC function still reaches what its groups allow.
func TestDataPlaneSurvivesKill(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requirePython(t)
	s := startServer(t)
	ctx := ctxT(t)
	prefix := netplane.PrefixFor(s.dataDir)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.97", "")
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(fx.groupB),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(fx.groupA)}}}}}); err != nil {
		t.Fatal(err)
	}
	db, err := ec2c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(fx.subnetB), Groups: []string{fx.groupB}})
	if err != nil {
		t.Fatal(err)
	}
	dbENI, dbIP := aws.ToString(db.NetworkInterface.NetworkInterfaceId), aws.ToString(db.NetworkInterface.PrivateIpAddress)
	listenInENI(t, prefix, dbENI, dbIP+":8080")
	probeTo := createProbe(t, s, fx.subnetA, fx.groupA)
	probe := func() string { return probeTo(dbIP, 8080) }
	eventually(t, func() bool { return probe() == "connected" }, "the function reaches the database")
	routerAndENIs := func() []string {
		// Environments come and go with the server; the VPC's own namespaces must not.
		return slices.DeleteFunc(namespaces(t, prefix), func(n string) bool { return strings.HasPrefix(n, prefix+"-x") })
	}
	before := routerAndENIs()
	s.cmd.Process.Kill()
	<-s.exited
	s.start()
	waitActive(t, s.lambda(), "probe")
	eventually(t, func() bool { return probe() == "connected" }, "after the restart the function still reaches the database")
	if after := routerAndENIs(); !slices.Equal(before, after) {
		t.Fatalf("namespaces before the kill %v, after the restart %v", before, after)
	}
}

// allowVpcAccess attaches the seed's managed policy to the harness's
// execution role, so that its functions may be connected to VPCs.
func allowVpcAccess(t *testing.T, s *server) {
	t.Helper()
	ic := iam.NewFromConfig(s.awsConfig("test", "test"))
	if _, err := ic.AttachRolePolicy(ctxT(t), &iam.AttachRolePolicyInput{RoleName: aws.String("lambda-role"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")}); err != nil {
		t.Fatal(err)
	}
}

// createProbe makes the Python function "probe" in subnet with group and
// returns a call that has it connect to host:port and say what happened.
func createProbe(t *testing.T, s *server, subnet, group string) func(host string, port int) string {
	t.Helper()
	return probeFunction(t, s, "probe", &types.VpcConfig{SubnetIds: []string{subnet}, SecurityGroupIds: []string{group}})
}

// probeFunction makes a Python function that connects where it is told and
// says what happened ("connected", "timeout" or the error); vpc nil makes
// a function without VpcConfig.
func probeFunction(t *testing.T, s *server, name string, vpc *types.VpcConfig) func(host string, port int) string {
	t.Helper()
	zip, err := makeZip(zipEntry{name: "index.py", data: []byte(probeHandler), mode: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	lc := s.lambda()
	if _, err := lc.CreateFunction(ctxT(t), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.Runtime(pythonRuntime),
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: zip},
		Timeout: aws.Int32(10), VpcConfig: vpc}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, lc, name)
	return func(host string, port int) string {
		t.Helper()
		out := invoke(t, lc, name, map[string]any{"host": host, "port": port, "timeout": 1.0}, invokeOpts{})
		var r struct{ Result, Error string }
		if err := json.Unmarshal(out.Payload, &r); err != nil || out.FunctionError != nil {
			t.Fatalf("%s: %s %v", name, out.Payload, err)
		}
		return r.Result + r.Error
	}
}

// listenInENI accepts TCP connections on addr inside the namespace of the
// server's interface eni (once its controller has made it) and reports
// each peer's address.
func listenInENI(t *testing.T, prefix, eni, addr string) <-chan string {
	t.Helper()
	return serveInNetns(t, netplane.ENINetns(prefix, eni), addr, false)
}

// serveInNetns accepts TCP connections on addr inside the named namespace
// (waiting for the server to make it) and reports each peer's address;
// hold keeps the connections open until the test ends, else they are
// closed at once.
func serveInNetns(t *testing.T, ns, addr string, hold bool) <-chan string {
	t.Helper()
	var ln net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := netplane.Do(ns, func() (err error) {
			ln, err = net.Listen("tcp4", addr)
			return err
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the namespace %s never appeared: %v", ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	peers := make(chan string, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case peers <- c.RemoteAddr().(*net.TCPAddr).IP.String():
			default:
			}
			if !hold {
				c.Close()
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	return peers
}
