package netctl_test

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/miekg/dns"

	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// lookup asks server (from inside namespace ns) for name's A records.
func lookup(t *testing.T, ns, server, name string) (rcode int, addrs []string) {
	t.Helper()
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeA)
	var in *dns.Msg
	err := netplane.Do(ns, func() error {
		c, err := net.DialTimeout("udp4", server+":53", time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		conn := &dns.Conn{Conn: c}
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if err := conn.WriteMsg(m); err != nil {
			return err
		}
		in, err = conn.ReadMsg()
		return err
	})
	if err != nil {
		return -1, nil
	}
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	return in.Rcode, addrs
}

// The VPC's resolver, at base+2 and 169.254.169.253 and reachable from a
// private subnet without any route out, answers its interfaces' names and
// forwards the rest to the simulated internet, which names lambdaplane's
// APIs; with DNS support off it is silent.
func TestControllerServesVPCDNS(t *testing.T) {
	requireRoot(t)
	prefix := kernelPrefix(t)
	e := newEnv(t)
	vpc := e.vpc("10.7.0.0/16")
	must(e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: aws.String(vpc), EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}))
	sub := e.subnet(vpc, "10.7.1.0/24")
	eni := e.eni(sub, "10.7.1.10")

	c := netctl.New(prefix, e.svc, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	t.Cleanup(func() { c.Close() })
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ns := netplane.ENINetns(prefix, eni)
	for _, server := range []string{"10.7.0.2", "169.254.169.253"} {
		if rc, a := lookup(t, ns, server, "ip-10-7-1-10.ec2.internal"); rc != dns.RcodeSuccess || len(a) != 1 || a[0] != "10.7.1.10" {
			t.Errorf("%s: own name: rcode %d %v", server, rc, a)
		}
	}
	if rc, a := lookup(t, ns, "10.7.0.2", "lambda.us-east-1.amazonaws.com"); rc != dns.RcodeSuccess || len(a) != 1 || a[0] != netplane.ServiceAddr.String() {
		t.Errorf("the API's public name through the internet's DNS: rcode %d %v", rc, a)
	}
	if rc, _ := lookup(t, ns, "10.7.0.2", "nothing.example.com"); rc != dns.RcodeNameError {
		t.Errorf("unknown name: rcode %d, want NXDOMAIN", rc)
	}

	must(e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: aws.String(vpc), EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(false)}}))
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if rc, a := lookup(t, ns, "10.7.0.2", "ip-10-7-1-10.ec2.internal"); rc == dns.RcodeSuccess && len(a) > 0 {
		t.Errorf("DNS hostnames off: the private name still resolves to %v", a)
	}
	must(e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: aws.String(vpc), EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(false)}}))
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if rc, _ := lookup(t, ns, "10.7.0.2", "lambda.us-east-1.amazonaws.com"); rc != -1 {
		t.Errorf("DNS support off: the resolver answered (rcode %d)", rc)
	}
}
