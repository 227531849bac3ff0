// Package vpcdns runs the DNS servers of the data plane: the resolver of a
// VPC (at the VPC base plus two and 169.254.169.253), which answers the
// Amazon-provided names of the VPC and forwards everything else, and the
// authoritative server of the simulated internet, which answers the public
// names and nothing else.
//
// What a server answers is a Zone: an immutable value that a Server swaps
// atomically on Update, so a query always sees one whole zone.
package vpcdns

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// TTL is the time to live of every record a zone answers with.
const TTL = 60

// Zone is what a Server answers. It is immutable once built; a nil *Zone
// answers nothing at all, like the resolver of a VPC whose
// enableDnsSupport is off.
type Zone struct {
	silent        bool
	authoritative bool
	upstream      netip.AddrPort

	// Keys are canonical names: lowercase, fully qualified.
	hosts map[string][]netip.Addr
	ptrs  map[string][]string
	// apexes are the domains the zone owns without being authoritative
	// for everything: what it does not hold below them does not exist.
	apexes map[string]bool
	// present holds every owner name and every ancestor of one, so that a
	// name with records only below it (an empty non-terminal) is told
	// apart from a name that does not exist.
	present map[string]bool
}

// ZoneConfig is the plain content of a zone, for NewZone.
type ZoneConfig struct {
	// Hosts maps a name to its addresses, answered as A (IPv4) and AAAA
	// (IPv6) records.
	Hosts map[string][]netip.Addr
	// PTR maps an address to the name its in-addr.arpa (or ip6.arpa) name
	// points to.
	PTR map[netip.Addr]string
	// Domains are names the zone owns (as a Route 53 private hosted zone
	// owns its apex): a name at or below one of them that Hosts and PTR do
	// not hold gets NXDOMAIN, never the upstream's answer.
	Domains []string
	// Upstream is where names outside the zone are forwarded. The zero
	// value means there is none: such names then get SERVFAIL, which is
	// what a recursive resolver answers when it cannot reach the servers
	// it depends on.
	Upstream netip.AddrPort
	// Authoritative makes the zone own every name: unknown names get
	// NXDOMAIN, answers carry the AA flag, nothing is forwarded, and
	// Upstream must be unset.
	Authoritative bool
}

// NewZone checks and copies c into a Zone.
func NewZone(c ZoneConfig) (*Zone, error) {
	if c.Authoritative && c.Upstream.IsValid() {
		return nil, errors.New("vpcdns: an authoritative zone forwards nothing and takes no upstream")
	}
	if c.Upstream.IsValid() && c.Upstream.Port() == 0 {
		return nil, fmt.Errorf("vpcdns: upstream %s has no port", c.Upstream)
	}
	z := &Zone{
		authoritative: c.Authoritative,
		upstream:      c.Upstream,
		hosts:         make(map[string][]netip.Addr, len(c.Hosts)),
		ptrs:          make(map[string][]string, len(c.PTR)),
		apexes:        make(map[string]bool, len(c.Domains)),
		present:       make(map[string]bool),
	}
	for name, addrs := range c.Hosts {
		key, err := canonical(name)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if !a.IsValid() {
				return nil, fmt.Errorf("vpcdns: name %q has an invalid address", name)
			}
			a = a.Unmap()
			if !slices.Contains(z.hosts[key], a) {
				z.hosts[key] = append(z.hosts[key], a)
			}
		}
		z.addPresent(key)
	}
	for addr, name := range c.PTR {
		if !addr.IsValid() {
			return nil, fmt.Errorf("vpcdns: PTR to %q has an invalid address", name)
		}
		target, err := canonical(name)
		if err != nil {
			return nil, err
		}
		key, err := dns.ReverseAddr(addr.Unmap().String())
		if err != nil {
			return nil, fmt.Errorf("vpcdns: reverse name of %s: %w", addr, err)
		}
		if !slices.Contains(z.ptrs[key], target) {
			z.ptrs[key] = append(z.ptrs[key], target)
		}
		z.addPresent(key)
	}
	for _, d := range c.Domains {
		key, err := canonical(d)
		if err != nil {
			return nil, err
		}
		z.apexes[key] = true
	}
	// Map iteration order must not leak into answers.
	for _, addrs := range z.hosts {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
	for _, names := range z.ptrs {
		slices.Sort(names)
	}
	return z, nil
}

func canonical(name string) (string, error) {
	if name == "" || name == "." {
		return "", fmt.Errorf("vpcdns: name %q is not a host name", name)
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return "", fmt.Errorf("vpcdns: %q is not a domain name", name)
	}
	return dns.CanonicalName(name), nil
}

func (z *Zone) addPresent(name string) {
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		z.present[name[off:]] = true
	}
}

// Answers reports whether a server with this zone answers queries at all.
func (z *Zone) Answers() bool { return z != nil && !z.silent }

// Upstream is where the zone forwards names it does not hold; it is the
// zero value when it forwards nothing.
func (z *Zone) Upstream() netip.AddrPort {
	if z == nil {
		return netip.AddrPort{}
	}
	return z.upstream
}

// Host is one private IPv4 address of a VPC with an Amazon-provided name
// (the primary or a secondary address of an instance's or any other ENI),
// and the public IPv4 address associated with it, if any.
type Host struct {
	Private netip.Addr
	Public  netip.Addr // zero when none
}

// VPCConfig is what the resolver of one VPC answers, from the VPC's state.
type VPCConfig struct {
	Region             string
	EnableDNSSupport   bool
	EnableDNSHostnames bool
	Hosts              []Host
	// PrivateDNS holds the private hosted names of the VPC: for an
	// interface endpoint with PrivateDnsEnabled, the service's default name
	// (lambda.REGION.amazonaws.com) mapped to the endpoint ENIs' addresses.
	PrivateDNS map[string][]netip.Addr
	// Upstream is the simulated internet's DNS server, reached from the
	// namespace the resolver serves in; zero when there is none.
	Upstream netip.AddrPort
}

// VPCZone builds the resolver zone of a VPC, by the rules of "DNS
// attributes for your VPC" (Amazon VPC User Guide):
//
//   - "If this attribute [enableDnsSupport] is true, queries to the Amazon
//     provided DNS server succeed." Off, the zone answers nothing.
//   - "If both attributes are set to true ... The Route 53 Resolver server
//     can resolve Amazon-provided private DNS hostnames", and instances with
//     public IP addresses receive public DNS hostnames. "If at least one of
//     the attributes is set to false ... The Route 53 Resolver cannot
//     resolve Amazon-provided private DNS hostnames", and there are no
//     public DNS hostnames: with enableDnsHostnames off the zone holds no
//     names and only forwards.
//   - Private DNS of interface endpoints (like any private hosted zone)
//     needs both attributes too: "If you use custom DNS domain names defined
//     in a private hosted zone ..., or use private DNS with interface VPC
//     endpoints (AWS PrivateLink), you must set both the enableDnsHostnames
//     and enableDnsSupport attributes to true."
//   - "The public IPv4 DNS hostname of an instance resolves to its public
//     IPv4 address (outside the network of the instance) or its private
//     IPv4 address (inside the network of the instance)": inside the VPC the
//     public name answers with the private address.
//
// Reverse (PTR) records follow the names: the private address points to
// the private name and the public address to the public name.
func VPCZone(c VPCConfig) (*Zone, error) {
	if !c.EnableDNSSupport {
		return &Zone{silent: true}, nil
	}
	zc := ZoneConfig{Upstream: c.Upstream}
	if c.EnableDNSHostnames {
		if c.Region == "" {
			return nil, errors.New("vpcdns: a VPC zone needs its region")
		}
		zc.Hosts = make(map[string][]netip.Addr)
		zc.PTR = make(map[netip.Addr]string)
		for _, h := range c.Hosts {
			name := PrivateHostname(c.Region, h.Private)
			if name == "" {
				return nil, fmt.Errorf("vpcdns: private address %v is not IPv4", h.Private)
			}
			zc.Hosts[name] = append(zc.Hosts[name], h.Private)
			zc.PTR[h.Private] = name
			if !h.Public.IsValid() {
				continue
			}
			public := PublicHostname(c.Region, h.Public)
			if public == "" {
				return nil, fmt.Errorf("vpcdns: public address %v is not IPv4", h.Public)
			}
			zc.Hosts[public] = append(zc.Hosts[public], h.Private)
			zc.PTR[h.Public] = public
		}
		for name, addrs := range c.PrivateDNS {
			zc.Hosts[name] = append(zc.Hosts[name], addrs...)
			zc.Domains = append(zc.Domains, name)
		}
	}
	return NewZone(zc)
}

// PublicHost is a public IPv4 address that has a public DNS name: an
// Elastic IP or auto-assigned public address of an interface whose VPC has
// both DNS attributes on.
type PublicHost struct {
	Region string
	Public netip.Addr
}

// InternetConfig is what the simulated internet's DNS server answers.
type InternetConfig struct {
	Hosts []PublicHost
	// Names holds the other public names, such as lambdaplane's own API
	// endpoints under their AWS names (lambda.us-east-1.amazonaws.com).
	Names map[string][]netip.Addr
	// Upstream, when set, is where names the zone does not hold go: with
	// a real uplink the real internet's names resolve too. The zone then
	// answers as a resolver, not authoritatively. Zero keeps the
	// simulated internet closed.
	Upstream netip.AddrPort
}

// InternetZone builds the authoritative zone of the simulated internet:
// public names resolve to public addresses (from outside a VPC, that is
// what a public DNS name means), public addresses point back to their
// names, and every other name does not exist, or with an Upstream is
// forwarded there.
func InternetZone(c InternetConfig) (*Zone, error) {
	zc := ZoneConfig{
		Authoritative: !c.Upstream.IsValid(),
		Upstream:      c.Upstream,
		Hosts:         make(map[string][]netip.Addr, len(c.Hosts)+len(c.Names)),
		PTR:           make(map[netip.Addr]string, len(c.Hosts)),
	}
	for _, h := range c.Hosts {
		name := PublicHostname(h.Region, h.Public)
		if name == "" {
			return nil, fmt.Errorf("vpcdns: public address %v is not IPv4", h.Public)
		}
		if h.Region == "" {
			return nil, fmt.Errorf("vpcdns: public address %v has no region", h.Public)
		}
		zc.Hosts[name] = append(zc.Hosts[name], h.Public)
		zc.PTR[h.Public] = name
	}
	for name, addrs := range c.Names {
		zc.Hosts[name] = append(zc.Hosts[name], addrs...)
	}
	return NewZone(zc)
}

// result is what a zone says about one question.
type result int

const (
	forward  result = iota // not the zone's: ask the upstream
	answered               // the zone's name; the records may be none (NODATA)
	nxdomain               // the zone's domain, no such name
	refused                // not the zone's and nowhere to send it
)

// lookup answers question q, naming the records as q names them so that a
// client's letter case (0x20 randomisation) comes back unchanged.
func (z *Zone) lookup(q dns.Question) (result, []dns.RR) {
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		if z.authoritative {
			return refused, nil
		}
		return forward, nil
	}
	name := dns.CanonicalName(q.Name)
	addrs, isHost := z.hosts[name]
	targets, isPTR := z.ptrs[name]
	if isHost || isPTR {
		hdr := func(t uint16) dns.RR_Header {
			return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: TTL}
		}
		var rrs []dns.RR
		for _, a := range addrs {
			switch {
			case a.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
				rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			case a.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
				rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
		if q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY {
			for _, t := range targets {
				rrs = append(rrs, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: t})
			}
		}
		return answered, rrs
	}
	if !z.owns(name) {
		return forward, nil
	}
	if z.present[name] {
		return answered, nil
	}
	return nxdomain, nil
}

func (z *Zone) owns(name string) bool {
	if z.authoritative {
		return true
	}
	if len(z.apexes) == 0 {
		return false
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if z.apexes[name[off:]] {
			return true
		}
	}
	return false
}
