package vpcdns

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

var (
	upstream    = netip.MustParseAddrPort("127.0.0.1:5353")
	instance    = Host{Private: netip.MustParseAddr("10.0.1.5"), Public: netip.MustParseAddr("198.51.100.5")}
	privateOnly = Host{Private: netip.MustParseAddr("10.0.2.9")}
	endpointIPs = []netip.Addr{netip.MustParseAddr("10.0.1.20"), netip.MustParseAddr("10.0.2.20")}
)

func vpcConfig(support, hostnames bool) VPCConfig {
	return VPCConfig{
		Region: "us-east-1", EnableDNSSupport: support, EnableDNSHostnames: hostnames,
		Hosts:      []Host{instance, privateOnly},
		PrivateDNS: map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": endpointIPs},
		Upstream:   upstream,
	}
}

// look asks z one question and renders the records' data.
func look(t *testing.T, z *Zone, name string, qtype uint16) (result, []string) {
	t.Helper()
	res, rrs := z.lookup(dns.Question{Name: dns.Fqdn(name), Qtype: qtype, Qclass: dns.ClassINET})
	var data []string
	for _, rr := range rrs {
		if rr.Header().Name != dns.Fqdn(name) || rr.Header().Ttl != TTL {
			t.Errorf("%s: record %v: want owner %q, TTL %d", name, rr, dns.Fqdn(name), TTL)
		}
		switch rr := rr.(type) {
		case *dns.A:
			data = append(data, rr.A.String())
		case *dns.AAAA:
			data = append(data, rr.AAAA.String())
		case *dns.PTR:
			data = append(data, rr.Ptr)
		}
	}
	return res, data
}

func expect(t *testing.T, z *Zone, name string, qtype uint16, want result, wantData ...string) {
	t.Helper()
	res, data := look(t, z, name, qtype)
	if res != want || !slices.Equal(data, wantData) {
		t.Errorf("%s %s: got %v %q, want %v %q", name, dns.TypeToString[qtype], res, data, want, wantData)
	}
}

func TestVPCZoneBothAttributes(t *testing.T) {
	z, err := VPCZone(vpcConfig(true, true))
	if err != nil {
		t.Fatal(err)
	}
	if !z.Answers() || z.Upstream() != upstream {
		t.Fatalf("Answers %v, Upstream %v", z.Answers(), z.Upstream())
	}
	expect(t, z, "ip-10-0-1-5.ec2.internal", dns.TypeA, answered, "10.0.1.5")
	expect(t, z, "ip-10-0-2-9.ec2.internal", dns.TypeA, answered, "10.0.2.9")
	// Inside the VPC the public name is the private address.
	expect(t, z, "ec2-198-51-100-5.compute-1.amazonaws.com", dns.TypeA, answered, "10.0.1.5")
	expect(t, z, "5.1.0.10.in-addr.arpa", dns.TypePTR, answered, "ip-10-0-1-5.ec2.internal.")
	expect(t, z, "5.100.51.198.in-addr.arpa", dns.TypePTR, answered, "ec2-198-51-100-5.compute-1.amazonaws.com.")
	expect(t, z, "IP-10-0-1-5.EC2.internal", dns.TypeA, answered, "10.0.1.5")
	// A name the zone holds has no other records: NODATA, not forwarded.
	expect(t, z, "ip-10-0-1-5.ec2.internal", dns.TypeAAAA, answered)
	expect(t, z, "lambda.us-east-1.amazonaws.com", dns.TypeA, answered, "10.0.1.20", "10.0.2.20")
	expect(t, z, "lambda.us-east-1.amazonaws.com", dns.TypeAAAA, answered)
	// The private hosted zone owns its apex and what is below it.
	expect(t, z, "x.lambda.us-east-1.amazonaws.com", dns.TypeA, nxdomain)
	// Everything else belongs to the internet.
	expect(t, z, "sts.us-east-1.amazonaws.com", dns.TypeA, forward)
	expect(t, z, "us-east-1.amazonaws.com", dns.TypeA, forward)
	expect(t, z, "ip-10-0-3-3.ec2.internal", dns.TypeA, forward)
	expect(t, z, "example.com", dns.TypeA, forward)
}

func TestVPCZoneHostnamesOff(t *testing.T) {
	z, err := VPCZone(vpcConfig(true, false))
	if err != nil {
		t.Fatal(err)
	}
	if !z.Answers() {
		t.Fatal("a VPC with DNS support answers")
	}
	for _, name := range []string{"ip-10-0-1-5.ec2.internal", "ec2-198-51-100-5.compute-1.amazonaws.com", "lambda.us-east-1.amazonaws.com"} {
		expect(t, z, name, dns.TypeA, forward)
	}
	expect(t, z, "5.1.0.10.in-addr.arpa", dns.TypePTR, forward)
}

func TestVPCZoneSupportOff(t *testing.T) {
	for _, hostnames := range []bool{false, true} {
		z, err := VPCZone(vpcConfig(false, hostnames))
		if err != nil {
			t.Fatal(err)
		}
		if z.Answers() {
			t.Errorf("hostnames %v: a VPC without DNS support answers", hostnames)
		}
	}
	var nilZone *Zone
	if nilZone.Answers() || nilZone.Upstream().IsValid() {
		t.Error("a nil zone answers")
	}
}

func TestVPCZoneRegions(t *testing.T) {
	c := vpcConfig(true, true)
	c.Region = "eu-west-1"
	c.PrivateDNS = nil
	z, err := VPCZone(c)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, z, "ip-10-0-1-5.eu-west-1.compute.internal", dns.TypeA, answered, "10.0.1.5")
	expect(t, z, "ec2-198-51-100-5.eu-west-1.compute.amazonaws.com", dns.TypeA, answered, "10.0.1.5")
	expect(t, z, "ip-10-0-1-5.ec2.internal", dns.TypeA, forward)

	c.Region = ""
	if _, err := VPCZone(c); err == nil {
		t.Error("a VPC zone without a region was built")
	}
	c.Region = "us-east-1"
	c.Hosts = []Host{{Private: netip.MustParseAddr("fd00::5")}}
	if _, err := VPCZone(c); err == nil {
		t.Error("an IPv6 private address got an IPv4 name")
	}
}

func TestInternetZone(t *testing.T) {
	api := netip.MustParseAddr("203.0.113.10")
	z, err := InternetZone(InternetConfig{
		Hosts: []PublicHost{{Region: "us-east-1", Public: instance.Public}, {Region: "eu-west-1", Public: netip.MustParseAddr("198.51.100.6")}},
		Names: map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": {api}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if z.Upstream().IsValid() {
		t.Error("the internet zone forwards")
	}
	expect(t, z, "ec2-198-51-100-5.compute-1.amazonaws.com", dns.TypeA, answered, "198.51.100.5")
	expect(t, z, "ec2-198-51-100-6.eu-west-1.compute.amazonaws.com", dns.TypeA, answered, "198.51.100.6")
	expect(t, z, "5.100.51.198.in-addr.arpa", dns.TypePTR, answered, "ec2-198-51-100-5.compute-1.amazonaws.com.")
	expect(t, z, "Lambda.US-East-1.amazonaws.com", dns.TypeA, answered, "203.0.113.10")
	expect(t, z, "lambda.us-east-1.amazonaws.com", dns.TypeANY, answered, "203.0.113.10")
	// An empty non-terminal exists; unknown names do not.
	expect(t, z, "us-east-1.amazonaws.com", dns.TypeA, answered)
	expect(t, z, "sts.us-east-1.amazonaws.com", dns.TypeA, nxdomain)
	expect(t, z, "example.com", dns.TypeA, nxdomain)
	expect(t, z, "6.1.0.10.in-addr.arpa", dns.TypePTR, nxdomain)
	if res, _ := z.lookup(dns.Question{Name: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS}); res != refused {
		t.Errorf("CHAOS class: got %v, want refused", res)
	}

	if _, err := InternetZone(InternetConfig{Hosts: []PublicHost{{Public: instance.Public}}}); err == nil {
		t.Error("a public address without a region was named")
	}
}

func TestInternetZoneUpstream(t *testing.T) {
	up := netip.MustParseAddrPort("127.0.0.53:53")
	z, err := InternetZone(InternetConfig{
		Hosts:    []PublicHost{{Region: "us-east-1", Public: instance.Public}},
		Names:    map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": {netip.MustParseAddr("203.0.113.10")}},
		Upstream: up,
	})
	if err != nil {
		t.Fatal(err)
	}
	if z.Upstream() != up {
		t.Errorf("upstream %v, want %v", z.Upstream(), up)
	}
	// Its own names stay its own; everything else is the real world's.
	expect(t, z, "lambda.us-east-1.amazonaws.com", dns.TypeA, answered, "203.0.113.10")
	expect(t, z, "5.100.51.198.in-addr.arpa", dns.TypePTR, answered, "ec2-198-51-100-5.compute-1.amazonaws.com.")
	expect(t, z, "example.com", dns.TypeA, forward)
	expect(t, z, "s3.amazonaws.com", dns.TypeA, forward)
	if res, _ := z.lookup(dns.Question{Name: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS}); res != forward {
		t.Errorf("CHAOS class: got %v, want forward", res)
	}
}

func TestNewZone(t *testing.T) {
	z, err := NewZone(ZoneConfig{
		Hosts: map[string][]netip.Addr{
			"host.example": {netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.1")},
		},
		PTR: map[netip.Addr]string{netip.MustParseAddr("2001:db8::2"): "host.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted, deduplicated, IPv4-mapped addresses as IPv4.
	expect(t, z, "host.example", dns.TypeA, answered, "192.0.2.1", "192.0.2.2")
	expect(t, z, "host.example", dns.TypeAAAA, answered, "2001:db8::2")
	expect(t, z, "host.example", dns.TypeANY, answered, "192.0.2.1", "192.0.2.2", "2001:db8::2")
	expect(t, z, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", dns.TypePTR, answered, "host.example.")
	// No upstream: everything else is forwarded nowhere, which the server
	// answers with SERVFAIL.
	expect(t, z, "other.example", dns.TypeA, forward)

	for name, c := range map[string]ZoneConfig{
		"authoritative with upstream": {Authoritative: true, Upstream: upstream},
		"upstream without port":       {Upstream: netip.AddrPortFrom(upstream.Addr(), 0)},
		"empty name":                  {Hosts: map[string][]netip.Addr{"": {upstream.Addr()}}},
		"root name":                   {Hosts: map[string][]netip.Addr{".": {upstream.Addr()}}},
		"bad name":                    {Hosts: map[string][]netip.Addr{"a..b": {upstream.Addr()}}},
		"invalid address":             {Hosts: map[string][]netip.Addr{"a.example": {{}}}},
		"invalid PTR address":         {PTR: map[netip.Addr]string{{}: "a.example"}},
		"bad PTR target":              {PTR: map[netip.Addr]string{upstream.Addr(): "a..b"}},
		"bad domain":                  {Domains: []string{""}},
	} {
		if _, err := NewZone(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
