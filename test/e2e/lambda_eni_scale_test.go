package e2e

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// holdHandler keeps event.n connections to event.host:event.port open
// across invocations, then stays busy for event.hold seconds.
const holdHandler = `import socket, time

conns = []

def handler(event, context):
    while len(conns) < event["n"]:
        conns.append(socket.create_connection((event["host"], event["port"]), timeout=2))
    time.sleep(event.get("hold", 0))
    return {"open": len(conns)}
`

// An interface carries a bounded number of connections: with
// --eni-max-connections=2, a function whose environment holds three
// connections open gets a second interface for the same subnet and group
// set when a concurrent invocation needs a second environment, and that
// environment's connections leave from the new interface.
func TestLambdaAddsENIWhenBusy(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requirePython(t)
	requireCLI(t)
	s := startServer(t, func(o *serverOptions) { o.extraArgs = append(o.extraArgs, "--eni-max-connections", "2") })
	ctx := ctxT(t)
	prefix := netplane.PrefixFor(s.dataDir)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.98", "")
	if _, err := ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(fx.groupB),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(7000), ToPort: aws.Int32(7000),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(fx.groupA)}}}}}); err != nil {
		t.Fatal(err)
	}
	db, err := ec2c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(fx.subnetB), Groups: []string{fx.groupB}})
	if err != nil {
		t.Fatal(err)
	}
	dbIP := aws.ToString(db.NetworkInterface.PrivateIpAddress)
	peers := serveInNetns(t, netplane.ENINetns(prefix, aws.ToString(db.NetworkInterface.NetworkInterfaceId)), dbIP+":7000", true)

	zip, err := makeZip(zipEntry{name: "index.py", data: []byte(holdHandler), mode: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	lc := s.lambda()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("holder"), Runtime: types.Runtime(pythonRuntime),
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: zip},
		Timeout:   aws.Int32(20),
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetA}, SecurityGroupIds: []string{fx.groupA}}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, lc, "holder")
	first := lambdaENIs(t, ec2c, fx.vpc)
	if len(first) != 1 {
		t.Fatalf("%d Lambda interfaces before any load, want 1", len(first))
	}
	firstIP := aws.ToString(first[0].PrivateIpAddress)

	// The first environment opens three connections and stays busy.
	type result struct {
		out *lambda.InvokeOutput
		err error
	}
	busy := make(chan result, 1)
	go func() {
		out, err := tryInvoke(t, lc, "holder", map[string]any{"host": dbIP, "port": 7000, "n": 3, "hold": 5}, invokeOpts{})
		busy <- result{out, err}
	}()
	seen := map[string]int{}
	// Until the busy invocation has its connections, it must not end.
	collect := func(n int, what string, busy <-chan result) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for range n {
			select {
			case p := <-peers:
				seen[p]++
			case r := <-busy:
				t.Fatalf("the busy invocation ended early: %v %v", r.out, r.err)
			case <-timeout:
				t.Fatalf("%s: the listener saw %v", what, seen)
			}
		}
	}
	collect(3, "the first environment's connections", busy)
	if seen[firstIP] != 3 {
		t.Fatalf("connections came from %v, want three from the first interface %s", seen, firstIP)
	}

	// Its interface carries more than two connections: the second
	// environment gets a new interface, and its connections leave from it.
	out := invoke(t, lc, "holder", map[string]any{"host": dbIP, "port": 7000, "n": 3}, invokeOpts{})
	var got struct{ Open int }
	if err := json.Unmarshal(out.Payload, &got); err != nil || out.FunctionError != nil || got.Open != 3 {
		t.Fatalf("second invocation: %s %v", out.Payload, err)
	}
	collect(3, "the second environment's connections", nil)
	r := <-busy
	if r.err != nil || r.out.FunctionError != nil {
		t.Fatalf("the busy invocation: %v %v", r.out, r.err)
	}

	// The CLI shows both interfaces, for the same subnet and group set.
	desc := s.cliJSON(t, "ec2", "describe-network-interfaces", "--filters",
		"Name=interface-type,Values=lambda", "Name=vpc-id,Values="+fx.vpc)
	enis, _ := desc["NetworkInterfaces"].([]any)
	if len(enis) != 2 {
		t.Fatalf("describe-network-interfaces shows %d Lambda interfaces, want 2: %v", len(enis), desc)
	}
	var ips []string
	for _, e := range enis {
		groups, _ := jget(e, "Groups").([]any)
		if jstr(e, "SubnetId") != fx.subnetA || len(groups) != 1 || jstr(groups[0], "GroupId") != fx.groupA ||
			jstr(e, "Status") != "in-use" || jstr(e, "InterfaceType") != "lambda" {
			t.Fatalf("interface %v", e)
		}
		ips = append(ips, jstr(e, "PrivateIpAddress"))
	}
	if !slices.Contains(ips, firstIP) {
		t.Fatalf("the first interface %s is gone: %v", firstIP, ips)
	}
	second := ips[0]
	if second == firstIP {
		second = ips[1]
	}
	if seen[second] != 3 || len(seen) != 2 {
		t.Fatalf("connections came from %v, want three from the added interface %s", seen, second)
	}
}
