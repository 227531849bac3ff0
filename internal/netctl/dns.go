package netctl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/vpcdns"
)

// publicServices are lambdaplane's APIs that the simulated internet names
// as AWS does (SERVICE.REGION.amazonaws.com), all served by this server.
var publicServices = []string{"lambda", "ec2", "sts", "logs", "iam"}

// globalServices have one name for every region.
var globalServices = []string{"sts.amazonaws.com", "iam.amazonaws.com"}

const netnsDir = "/run/netns"

// dnsServers runs the simulated internet's DNS server and one resolver
// per VPC in its router namespace, answering from the EC2 state.
type dnsServers struct {
	prefix   string
	log      *slog.Logger
	internet *served
	vpcs     map[string]*served
	// upstreamFrom, with a real uplink, is the host namespace the
	// internet's server forwards from, to the first resolver of resolvConf.
	upstreamFrom, resolvConf string
	upstreamErr              string // the last one logged, so each is logged once
}

// served is one running server and what it was started with; a namespace
// made again (a crash, a Teardown) has another inode and gets a new one.
type served struct {
	srv   *vpcdns.Server
	ino   uint64
	addrs []netip.AddrPort
	zone  any // the config the zone was built from, to skip unchanged updates
}

func newDNSServers(prefix string, log *slog.Logger) *dnsServers {
	return &dnsServers{prefix: prefix, log: log, vpcs: map[string]*served{}}
}

// internetZoneConfig: public names of addresses whose VPC has both DNS
// attributes on, and the APIs' names.
func internetZoneConfig(s ec2.Snapshot) vpcdns.InternetConfig {
	c := vpcdns.InternetConfig{Names: map[string][]netip.Addr{}}
	for _, r := range ec2.Regions() {
		for _, svc := range publicServices {
			c.Names[svc+"."+r+".amazonaws.com"] = []netip.Addr{netplane.ServiceAddr}
		}
	}
	for _, n := range globalServices {
		c.Names[n] = []netip.Addr{netplane.ServiceAddr}
	}
	named := map[string]bool{}
	for _, v := range s.Vpcs {
		named[v.ID] = v.DNSSupport && v.DNSHostnames
	}
	for _, e := range s.NetworkInterfaces {
		if pub, err := netip.ParseAddr(e.PublicIP); err == nil && named[e.VpcID] {
			c.Hosts = append(c.Hosts, vpcdns.PublicHost{Region: e.Region, Public: pub})
		}
	}
	return c
}

// vpcZoneConfig is what a VPC's resolver answers: its interfaces' names,
// the private DNS of its interface endpoints, and the internet beyond.
func vpcZoneConfig(v *ec2.Vpc, s ec2.Snapshot) vpcdns.VPCConfig {
	c := vpcdns.VPCConfig{
		Region: v.Region, EnableDNSSupport: v.DNSSupport, EnableDNSHostnames: v.DNSHostnames,
		Upstream:   netip.AddrPortFrom(netplane.InternetDNSAddr, 53),
		PrivateDNS: map[string][]netip.Addr{},
	}
	ips := map[string]netip.Addr{}
	for _, e := range s.NetworkInterfaces {
		priv, err := netip.ParseAddr(e.PrivateIP)
		if err != nil {
			continue
		}
		ips[e.ID] = priv
		if e.VpcID != v.ID {
			continue
		}
		h := vpcdns.Host{Private: priv}
		if pub, err := netip.ParseAddr(e.PublicIP); err == nil {
			h.Public = pub
		}
		c.Hosts = append(c.Hosts, h)
	}
	for _, ep := range s.Endpoints {
		if ep.VpcID != v.ID || ep.Type != "Interface" || !ep.PrivateDNS || ep.State != "available" {
			continue
		}
		name := ep.PrivateDNSName()
		for _, i := range ep.Interfaces {
			if ip, ok := ips[i.NetworkInterfaceID]; ok {
				c.PrivateDNS[name] = append(c.PrivateDNS[name], ip)
			}
		}
	}
	return c
}

// resolverAddrs are where a VPC's resolver listens: base+2 of its primary
// range and 169.254.169.253; none when its DNS support is off.
func resolverAddrs(v *ec2.Vpc) []netip.Addr {
	if !v.DNSSupport {
		return nil
	}
	p, err := netip.ParsePrefix(v.CidrBlock)
	if err != nil || !p.Addr().Is4() {
		return nil
	}
	return []netip.Addr{vpcdns.ResolverAddr(p), vpcdns.ResolverLinkLocal}
}

func nsInode(name string) (uint64, error) {
	fi, err := os.Stat(filepath.Join(netnsDir, name))
	if err != nil {
		return 0, err
	}
	return fi.Sys().(*syscall.Stat_t).Ino, nil
}

// ensure keeps one server for (namespace, addrs) answering zone config
// cfg, (re)starting it when the namespace or the addresses changed;
// forwardFrom is the path of the namespace it forwards from, if not ns.
func ensure(cur *served, ns string, addrs []netip.AddrPort, cfg any, build func() (*vpcdns.Zone, error), forwardFrom string) (*served, error) {
	ino, err := nsInode(ns)
	if err != nil {
		return cur, err
	}
	if cur != nil && cur.ino == ino && reflect.DeepEqual(cur.addrs, addrs) {
		if reflect.DeepEqual(cur.zone, cfg) {
			return cur, nil
		}
		zone, err := build()
		if err != nil {
			return cur, err
		}
		cur.srv.Update(zone)
		cur.zone = cfg
		return cur, nil
	}
	if cur != nil {
		cur.srv.Close()
	}
	zone, err := build()
	if err != nil {
		return nil, err
	}
	srv, err := vpcdns.Serve(filepath.Join(netnsDir, ns), addrs, zone)
	if err != nil {
		return nil, err
	}
	if forwardFrom != "" {
		if err := srv.ForwardFrom(forwardFrom); err != nil {
			srv.Close()
			return nil, err
		}
	}
	return &served{srv: srv, ino: ino, addrs: addrs, zone: cfg}, nil
}

// sync makes the servers follow the snapshot t was made from; t has been
// applied, so its namespaces exist.
func (d *dnsServers) sync(s ec2.Snapshot, t netplane.Topology) error {
	var errs []error
	inet := netplane.InternetNetns(d.prefix)
	icfg := internetZoneConfig(s)
	if d.upstreamFrom != "" {
		// Read each time: a laptop's resolver changes with its network.
		up, err := hostResolver(d.resolvConf)
		if msg := fmt.Sprint(err); err != nil && msg != d.upstreamErr {
			d.log.Warn("netctl: the internet's DNS cannot forward to the host's resolver", "err", err)
			d.upstreamErr = msg
		} else if err == nil {
			d.upstreamErr = ""
		}
		icfg.Upstream = up
	}
	var err error
	d.internet, err = ensure(d.internet, inet, []netip.AddrPort{netip.AddrPortFrom(netplane.InternetDNSAddr, 53)}, icfg,
		func() (*vpcdns.Zone, error) { return vpcdns.InternetZone(icfg) }, d.upstreamFrom)
	if err != nil {
		errs = append(errs, fmt.Errorf("internet DNS: %w", err))
	}
	keep := map[string]bool{}
	for _, v := range s.Vpcs {
		addrs := resolverAddrs(v)
		if len(addrs) == 0 || !slices.ContainsFunc(t.VPCs, func(tv netplane.VPC) bool { return tv.ID == v.ID }) {
			continue
		}
		keep[v.ID] = true
		var aps []netip.AddrPort
		for _, a := range addrs {
			aps = append(aps, netip.AddrPortFrom(a, 53))
		}
		cfg := vpcZoneConfig(v, s)
		srv, err := ensure(d.vpcs[v.ID], netplane.RouterNetns(d.prefix, v.ID), aps, cfg,
			func() (*vpcdns.Zone, error) { return vpcdns.VPCZone(cfg) }, filepath.Join(netnsDir, inet))
		if err != nil {
			errs = append(errs, fmt.Errorf("resolver of %s: %w", v.ID, err))
		}
		if srv == nil {
			delete(d.vpcs, v.ID)
		} else {
			d.vpcs[v.ID] = srv
		}
	}
	for id, srv := range d.vpcs {
		if !keep[id] {
			srv.srv.Close()
			delete(d.vpcs, id)
		}
	}
	return errors.Join(errs...)
}

// close stops every server.
func (d *dnsServers) close() {
	if d.internet != nil {
		d.internet.srv.Close()
		d.internet = nil
	}
	for id, srv := range d.vpcs {
		srv.srv.Close()
		delete(d.vpcs, id)
	}
}
