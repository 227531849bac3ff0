package netctl_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

var ctx = context.Background()

// env is an EC2 service behind the real gateway, driven with the SDK as
// the default account's root, so that the state under test is made by the
// same code paths users take.
type env struct {
	t   *testing.T
	svc *ec2.Service
	ec2 *sdk.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := store.NewMemory()
	accounts, err := iam.NewAccounts()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := iam.New(iam.Options{Store: st, Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ec2.New(ec2.Options{Store: st, Authorizer: ids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	g := gateway.New(gateway.Config{Credentials: ids})
	g.Register(svc.Gateway())
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c := sdk.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Transport: bodyGuard{http.DefaultTransport}}},
		func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &env{t: t, svc: svc, ec2: c}
}

// bodyGuard hides the WriteTo of SDK request bodies, whose early close
// net/http would otherwise take for a write error (see ec2's harness).
type bodyGuard struct{ http.RoundTripper }

func (g bodyGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return g.RoundTripper.RoundTrip(r)
}

// must unwraps an SDK call that the test needs to succeed. It panics
// rather than calling t.Fatal so that it can wrap the call directly; the
// test still fails, with the error and the line that made it.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (e *env) vpc(cidr string) string {
	out := must(e.ec2.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String(cidr)}))
	return aws.ToString(out.Vpc.VpcId)
}

func (e *env) subnet(vpc, cidr string) string {
	out := must(e.ec2.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr)}))
	return aws.ToString(out.Subnet.SubnetId)
}

func (e *env) group(vpc, name string) string {
	out := must(e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{VpcId: aws.String(vpc),
		GroupName: aws.String(name), Description: aws.String(name)}))
	return aws.ToString(out.GroupId)
}

func (e *env) eni(subnet, ip string, groups ...string) string {
	in := &sdk.CreateNetworkInterfaceInput{SubnetId: aws.String(subnet), Groups: groups}
	if ip != "" {
		in.PrivateIpAddress = aws.String(ip)
	}
	out := must(e.ec2.CreateNetworkInterface(ctx, in))
	return aws.ToString(out.NetworkInterface.NetworkInterfaceId)
}

func (e *env) routeTable(vpc string) string {
	out := must(e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: aws.String(vpc)}))
	return aws.ToString(out.RouteTable.RouteTableId)
}

// allowFromGroup lets members of src reach dst on one TCP port.
func (e *env) allowFromGroup(dst, src string, port int32) {
	must(e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(dst),
		IpPermissions: tcpFromGroup(src, port)}))
}

func tcpFromGroup(src string, port int32) []types.IpPermission {
	return []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(src)}}}}
}

// eventually polls cond every 50 ms for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 5s", what)
}
