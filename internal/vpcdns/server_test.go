package vpcdns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func serve(t testing.TB, zone *Zone) *Server {
	t.Helper()
	s, err := Serve("", []netip.AddrPort{loopback}, zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func newQuery(name string, qtype uint16) *dns.Msg {
	return new(dns.Msg).SetQuestion(name, qtype)
}

func exchange(t testing.TB, s *Server, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := dns.Client{Net: network, Timeout: 3 * time.Second}
	resp, _, err := c.Exchange(m, s.Addrs()[0].String())
	if err != nil {
		t.Fatalf("%s %v over %s: %v", m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], network, err)
	}
	if resp.Id != m.Id {
		t.Fatalf("answer id %d, query id %d", resp.Id, m.Id)
	}
	return resp
}

// data renders the answer section's record data.
func data(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.PTR:
			out = append(out, rr.Ptr)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

func check(t testing.TB, resp *dns.Msg, rcode int, aa bool, want ...string) {
	t.Helper()
	if resp.Rcode != rcode || resp.Authoritative != aa || strings.Join(data(resp), ",") != strings.Join(want, ",") {
		t.Errorf("%s: got %s aa=%v %q, want %s aa=%v %q", resp.Question[0].Name, dns.RcodeToString[resp.Rcode],
			resp.Authoritative, data(resp), dns.RcodeToString[rcode], aa, want)
	}
	if resp.RecursionAvailable == aa {
		t.Errorf("%s: ra=%v in a %s answer", resp.Question[0].Name, resp.RecursionAvailable, map[bool]string{true: "authoritative", false: "recursive"}[aa])
	}
	for _, rr := range resp.Answer {
		if rr.Header().Ttl != TTL {
			t.Errorf("%v: TTL %d", rr, rr.Header().Ttl)
		}
	}
}

// internet serves the simulated internet's zone.
func internet(t testing.TB, extra map[string][]netip.Addr) *Server {
	t.Helper()
	names := map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": {netip.MustParseAddr("203.0.113.10")}}
	for k, v := range extra {
		names[k] = v
	}
	z, err := InternetZone(InternetConfig{Hosts: []PublicHost{{Region: "us-east-1", Public: instance.Public}}, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, z)
}

// resolver serves a VPC zone forwarding to up (none when nil).
func resolver(t testing.TB, up *Server) *Server {
	t.Helper()
	c := vpcConfig(true, true)
	c.Upstream = netip.AddrPort{}
	if up != nil {
		c.Upstream = up.Addrs()[0]
	}
	z, err := VPCZone(c)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, z)
}

func TestServeAuthoritative(t *testing.T) {
	s := internet(t, nil)
	for _, network := range []string{"udp", "tcp"} {
		check(t, exchange(t, s, network, newQuery("ec2-198-51-100-5.compute-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, true, "198.51.100.5")
		check(t, exchange(t, s, network, newQuery("5.100.51.198.in-addr.arpa.", dns.TypePTR)), dns.RcodeSuccess, true, "ec2-198-51-100-5.compute-1.amazonaws.com.")
		check(t, exchange(t, s, network, newQuery("www.example.com.", dns.TypeA)), dns.RcodeNameError, true)
		check(t, exchange(t, s, network, newQuery("amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, true)
	}
}

func TestServeResolver(t *testing.T) {
	s := resolver(t, internet(t, nil))
	for _, network := range []string{"udp", "tcp"} {
		check(t, exchange(t, s, network, newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.5")
		check(t, exchange(t, s, network, newQuery("ec2-198-51-100-5.compute-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.5")
		check(t, exchange(t, s, network, newQuery("5.1.0.10.in-addr.arpa.", dns.TypePTR)), dns.RcodeSuccess, false, "ip-10-0-1-5.ec2.internal.")
		check(t, exchange(t, s, network, newQuery("lambda.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.20", "10.0.2.20")
		check(t, exchange(t, s, network, newQuery("x.lambda.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeNameError, false)
	}
}

func TestServeCaseInsensitive(t *testing.T) {
	s := resolver(t, internet(t, nil))
	for _, name := range []string{"IP-10-0-1-5.Ec2.InTeRnAl.", "5.1.0.10.IN-ADDR.ARPA."} {
		resp := exchange(t, s, "udp", newQuery(name, dns.TypeANY))
		if len(resp.Answer) != 1 || resp.Answer[0].Header().Name != name || resp.Question[0].Name != name {
			t.Errorf("%s: answer %v: the name must come back as asked", name, resp.Answer)
		}
	}
}

func TestServeForwards(t *testing.T) {
	s := resolver(t, internet(t, nil))
	// The internet's public name of another VPC's address, its PTR, its
	// own names and its NXDOMAIN, all through the resolver: not
	// authoritative there.
	check(t, exchange(t, s, "udp", newQuery("LAMBDA.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.20", "10.0.2.20")
	check(t, exchange(t, s, "udp", newQuery("sts.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeNameError, false)
	check(t, exchange(t, s, "tcp", newQuery("www.example.com.", dns.TypeA)), dns.RcodeNameError, false)
	check(t, exchange(t, s, "udp", newQuery("5.100.51.198.in-addr.arpa.", dns.TypePTR)), dns.RcodeSuccess, false, "ec2-198-51-100-5.compute-1.amazonaws.com.")

	c := vpcConfig(true, false)
	c.Upstream = s.zone.Load().upstream
	off, err := VPCZone(c)
	if err != nil {
		t.Fatal(err)
	}
	s.Update(off)
	// Without DNS hostnames the names are the internet's: the public name
	// is the public address, the private name does not exist.
	check(t, exchange(t, s, "udp", newQuery("ec2-198-51-100-5.compute-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "198.51.100.5")
	check(t, exchange(t, s, "udp", newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)), dns.RcodeNameError, false)
	check(t, exchange(t, s, "udp", newQuery("lambda.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "203.0.113.10")
}

// With an upstream (a real uplink), the internet's server answers its own
// names and forwards the rest, as a resolver: no answer is authoritative.
func TestServeInternetUpstream(t *testing.T) {
	world, err := NewZone(ZoneConfig{Authoritative: true, Hosts: map[string][]netip.Addr{"www.example.com": {netip.MustParseAddr("192.0.2.80")}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := InternetZone(InternetConfig{
		Names:    map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": {netip.MustParseAddr("203.0.113.10")}},
		Upstream: serve(t, world).Addrs()[0],
	})
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, z)
	check(t, exchange(t, s, "udp", newQuery("lambda.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "203.0.113.10")
	check(t, exchange(t, s, "udp", newQuery("www.example.com.", dns.TypeA)), dns.RcodeSuccess, false, "192.0.2.80")
	check(t, exchange(t, s, "tcp", newQuery("nope.example.com.", dns.TypeA)), dns.RcodeNameError, false)
	// And a VPC's resolver gets the real world's names through it.
	check(t, exchange(t, resolver(t, s), "udp", newQuery("www.example.com.", dns.TypeA)), dns.RcodeSuccess, false, "192.0.2.80")
}

func TestServeForwardTruncated(t *testing.T) {
	many := make([]netip.Addr, 100) // 100 A records: about 1.6 kB
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	s := resolver(t, internet(t, map[string][]netip.Addr{"big.example.": many}))

	// Over UDP without EDNS0 the client gets the first 512 bytes and TC.
	resp := exchange(t, s, "udp", newQuery("big.example.", dns.TypeA))
	if !resp.Truncated || len(resp.Answer) == 0 || len(resp.Answer) >= 100 {
		t.Errorf("UDP: tc=%v, %d records", resp.Truncated, len(resp.Answer))
	}
	// Over TCP without EDNS0, the forwarder's UDP query is truncated too:
	// it must retry over TCP to get them all.
	resp = exchange(t, s, "tcp", newQuery("big.example.", dns.TypeA))
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("TCP: tc=%v, %d records", resp.Truncated, len(resp.Answer))
	}
	// With EDNS0 the whole answer fits in UDP, and OPT comes back.
	m := newQuery("big.example.", dns.TypeA)
	m.SetEdns0(4096, true)
	resp = exchange(t, s, "udp", m)
	if resp.Truncated || len(resp.Answer) != 100 || resp.IsEdns0() == nil {
		t.Errorf("EDNS0: tc=%v, %d records, opt %v", resp.Truncated, len(resp.Answer), resp.IsEdns0())
	}
}

func TestServeNoUpstream(t *testing.T) {
	s := resolver(t, nil)
	check(t, exchange(t, s, "udp", newQuery("www.example.com.", dns.TypeA)), dns.RcodeServerFailure, false)
	check(t, exchange(t, s, "udp", newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.5")
}

func TestServeUpstreamUnreachable(t *testing.T) {
	// An upstream that never answers: the forwarder gives up on time.
	mute, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	// One that is not there at all: the kernel says so at once.
	gone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	for _, up := range []net.Addr{mute.LocalAddr(), gone.LocalAddr()} {
		z, err := NewZone(ZoneConfig{Upstream: up.(*net.UDPAddr).AddrPort()})
		if err != nil {
			t.Fatal(err)
		}
		s := serve(t, z)
		start := time.Now()
		check(t, exchange(t, s, "udp", newQuery("www.example.com.", dns.TypeA)), dns.RcodeServerFailure, false)
		if took := time.Since(start); took > forwardTimeout+time.Second {
			t.Errorf("upstream %v: SERVFAIL after %v", up, took)
		}
	}
}

func TestServeEDNS(t *testing.T) {
	s := resolver(t, nil)
	m := newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)
	m.SetEdns0(1232, true)
	resp := exchange(t, s, "udp", m)
	opt := resp.IsEdns0()
	if opt == nil || !opt.Do() || opt.Version() != 0 || len(resp.Answer) != 1 {
		t.Errorf("EDNS0 answer: opt %v, answer %v", opt, resp.Answer)
	}
	m = newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	if resp := exchange(t, s, "udp", m); resp.Rcode != dns.RcodeBadVers || resp.IsEdns0() == nil {
		t.Errorf("EDNS version 1: rcode %s, opt %v", dns.RcodeToString[resp.Rcode], resp.IsEdns0())
	}
}

func TestServeRejects(t *testing.T) {
	s := resolver(t, nil)
	m := newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeSOA)
	m.Opcode = dns.OpcodeNotify
	if resp := exchange(t, s, "udp", m); resp.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: rcode %s", dns.RcodeToString[resp.Rcode])
	}
	m = newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)
	m.Question = append(m.Question, m.Question[0])
	if resp := exchange(t, s, "udp", m); resp.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: rcode %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestServeSilentAndUpdate(t *testing.T) {
	silent, err := VPCZone(vpcConfig(false, true))
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, silent)
	for _, network := range []string{"udp", "tcp"} {
		c := dns.Client{Net: network, Timeout: 300 * time.Millisecond}
		if resp, _, err := c.Exchange(newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA), s.Addrs()[0].String()); err == nil {
			t.Errorf("%s: a VPC without DNS support answered %v", network, resp)
		}
	}
	s.Update(nil)
	c := dns.Client{Timeout: 300 * time.Millisecond}
	if _, _, err := c.Exchange(newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA), s.Addrs()[0].String()); err == nil {
		t.Error("a nil zone answered")
	}

	first, second := twoZones(t, netip.AddrPort{})
	s.Update(first)
	check(t, exchange(t, s, "udp", newQuery("host.example.", dns.TypeA)), dns.RcodeSuccess, false, "192.0.2.1")
	s.Update(second)
	check(t, exchange(t, s, "tcp", newQuery("host.example.", dns.TypeA)), dns.RcodeSuccess, false, "192.0.2.2")
}

// twoZones are two zones that tell host.example apart: 192.0.2.1 in the
// first, 192.0.2.2 in the second.
func twoZones(t testing.TB, upstream netip.AddrPort) (*Zone, *Zone) {
	var zones [2]*Zone
	for i := range zones {
		z, err := NewZone(ZoneConfig{Upstream: upstream, Hosts: map[string][]netip.Addr{
			"host.example":  {netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})},
			"other.example": {netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})},
		}})
		if err != nil {
			t.Fatal(err)
		}
		zones[i] = z
	}
	return zones[0], zones[1]
}

func TestServeConcurrent(t *testing.T) {
	first, second := twoZones(t, internet(t, nil).Addrs()[0])
	s := serve(t, first)
	stop := make(chan struct{})
	var updates sync.WaitGroup
	updates.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			s.Update([]*Zone{first, second}[i%2])
		}
	})
	var clients sync.WaitGroup
	errs := make(chan error, 8*40)
	for g := range 8 {
		clients.Go(func() {
			c := dns.Client{Net: []string{"udp", "tcp"}[g%2], Timeout: 3 * time.Second}
			for i := range 40 {
				name := []string{"host.example.", "lambda.us-east-1.amazonaws.com.", "nothing.example."}[i%3]
				resp, _, err := c.Exchange(newQuery(name, dns.TypeA), s.Addrs()[0].String())
				if err != nil {
					errs <- err
					continue
				}
				got := strings.Join(data(resp), ",")
				switch {
				case i%3 == 0 && got != "192.0.2.1" && got != "192.0.2.2",
					i%3 == 1 && got != "203.0.113.10",
					i%3 == 2 && resp.Rcode != dns.RcodeNameError:
					errs <- fmt.Errorf("%s: %s %q", name, dns.RcodeToString[resp.Rcode], got)
				}
			}
		})
	}
	clients.Wait()
	close(stop)
	updates.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServeTwoAddresses(t *testing.T) {
	z, _ := twoZones(t, netip.AddrPort{})
	s, err := Serve("", []netip.AddrPort{loopback, netip.MustParseAddrPort("127.0.0.2:0")}, z)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addrs := s.Addrs()
	if len(addrs) != 2 || addrs[0].Port() == 0 || addrs[1].Addr().String() != "127.0.0.2" {
		t.Fatalf("Addrs() = %v", addrs)
	}
	for _, a := range addrs {
		for _, network := range []string{"udp", "tcp"} {
			c := dns.Client{Net: network, Timeout: 3 * time.Second}
			resp, _, err := c.Exchange(newQuery("host.example.", dns.TypeA), a.String())
			if err != nil || len(resp.Answer) != 1 {
				t.Errorf("%s %v: %v %v", network, a, resp, err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Closed means the port is free again.
	pc, err := net.ListenPacket("udp", addrs[0].String())
	if err != nil {
		t.Fatalf("port still taken after Close: %v", err)
	}
	pc.Close()
}

func TestServeErrors(t *testing.T) {
	z, _ := twoZones(t, netip.AddrPort{})
	if _, err := Serve("", nil, z); err == nil {
		t.Error("served on no address")
	}
	if _, err := Serve("", []netip.AddrPort{{}}, z); err == nil {
		t.Error("served on an invalid address")
	}
	if _, err := Serve(filepath.Join(t.TempDir(), "missing"), []netip.AddrPort{loopback}, z); err == nil {
		t.Error("served in a namespace that does not exist")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Serve(file, []netip.AddrPort{loopback}, z); err == nil {
		t.Error("served in a plain file")
	}
	taken := serve(t, z)
	if _, err := Serve("", taken.Addrs(), z); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second server on a taken address: %v", err)
	}
}
