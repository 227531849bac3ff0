package vpcdns

import (
	"net/netip"
	"testing"
)

func TestHostnames(t *testing.T) {
	private := netip.MustParseAddr("10.0.1.5")
	public := netip.MustParseAddr("198.51.100.5")
	for _, c := range []struct{ got, want string }{
		{PrivateHostname("us-east-1", private), "ip-10-0-1-5.ec2.internal"},
		{PrivateHostname("eu-west-1", private), "ip-10-0-1-5.eu-west-1.compute.internal"},
		{PublicHostname("us-east-1", public), "ec2-198-51-100-5.compute-1.amazonaws.com"},
		{PublicHostname("ap-southeast-2", public), "ec2-198-51-100-5.ap-southeast-2.compute.amazonaws.com"},
		{PrivateHostname("us-east-1", netip.MustParseAddr("::ffff:10.0.1.5")), "ip-10-0-1-5.ec2.internal"},
		{PrivateHostname("us-east-1", netip.MustParseAddr("2001:db8::5")), ""},
		{PublicHostname("us-east-1", netip.Addr{}), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestResolverAddr(t *testing.T) {
	for cidr, want := range map[string]string{
		"10.0.0.0/16":    "10.0.0.2",
		"10.0.5.7/16":    "10.0.0.2",
		"172.31.16.0/20": "172.31.16.2",
	} {
		if got := ResolverAddr(netip.MustParsePrefix(cidr)); got.String() != want {
			t.Errorf("ResolverAddr(%s) = %v, want %s", cidr, got, want)
		}
	}
	if ResolverLinkLocal.String() != "169.254.169.253" {
		t.Errorf("ResolverLinkLocal = %v", ResolverLinkLocal)
	}
}
