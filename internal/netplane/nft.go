package netplane

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The firewall of a VPC router namespace is one nftables table. Everything
// is evaluated in the forward hook, because every packet to or from an ENI
// crosses the router; traffic to the router itself (the resolver, the
// gateway address) is not filtered, as AWS does not filter traffic to its
// DNS resolver either.
//
// Shape of the forward chain:
//
//  1. network ACLs: for each subnet, packets leaving it jump to the egress
//     chain of its ACL, packets entering it to the ingress chain. An allow
//     entry returns (so the next check runs), a deny entry or the end of
//     the list drops. This runs before conntrack, so replies are checked too.
//  2. ct state established,related accept: replies of allowed flows.
//  3. security groups: a packet from an ENI goes to that ENI's egress chain,
//     which jumps to each group's egress chain; a matching rule there does
//     "goto to_eni" so that the destination's ingress check still runs, and if
//     no group matches the ENI chain drops. The to_eni chain sends packets for
//     an ENI to its ingress chain (groups accept, else drop) and accepts the
//     rest (destinations that are not filtered ENIs: gateways, peerings).
//
// ENIs without groups (NAT gateway interfaces, which have none on AWS)
// are not filtered by groups.
//
// Before all of that, the edges (the internet gateway link and peering
// links): nothing transits from one edge to another, nor from an edge
// through a NAT gateway (AWS routes neither), and only addresses with a
// public address cross the internet gateway, which maps them one to one
// (DNAT in prerouting, SNAT in postrouting).

// FirewallTable is the name of the inet table that CompileFirewall writes.
func FirewallTable(prefix string) string {
	return nftIdent(prefix) + "_fw"
}

// CompileFirewall returns an nft script that atomically replaces the
// firewall table of one VPC router namespace. vethOf gives the router-side
// interface name of an ENI ("" when it has none yet); a non-empty
// vpc.Gateway means the router has its internet gateway link, and
// peeringLinks are its ends of peering links.
func CompileFirewall(prefix string, vpc VPC, vethOf func(eniID string) string, peeringLinks ...string) string {
	return compileFirewall(prefix, vpc, vethOf, peeringLinks, netip.Addr{})
}

// compileFirewall is CompileFirewall with the VPC's gateway endpoint link,
// when endpoint (the address its traffic leaves as) is valid: the services
// see that address and answer; nothing opens a connection the other way.
func compileFirewall(prefix string, vpc VPC, vethOf func(eniID string) string, peeringLinks []string, endpoint netip.Addr) string {
	var b strings.Builder
	table := FirewallTable(prefix)
	// Declaring before deleting makes the delete succeed when the table does
	// not exist yet; the whole file is one transaction, so no packet ever
	// sees a half-built table.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", table, table)
	fmt.Fprintf(&b, "table inet %s {\n", table)

	groups := map[string]SecurityGroup{}
	for _, g := range vpc.Groups {
		groups[g.ID] = g
	}
	acls := map[string]NetworkACL{}
	for _, a := range vpc.ACLs {
		acls[a.ID] = a
	}

	type eniRef struct {
		veth string
		eni  ENI
	}
	var enis []eniRef
	subnetVeths := map[string][]string{}
	for _, e := range vpc.ENIs {
		v := vethOf(e.ID)
		if v == "" {
			continue
		}
		enis = append(enis, eniRef{v, e})
		subnetVeths[e.SubnetID] = append(subnetVeths[e.SubnetID], v)
	}

	var forward []string
	edges := slices.Clone(peeringLinks)
	if endpoint.IsValid() {
		link := endpointLinkName(prefix, vpc.ID)
		edges = append(edges, link)
		forward = append(forward, fmt.Sprintf("iifname %q ct state new drop", link))
		b.WriteString(chain("endpoint_snat", []string{
			"type nat hook postrouting priority srcnat; policy accept;",
			fmt.Sprintf("oifname %q snat ip to %s", link, endpoint),
		}))
	}
	igw := ""
	if vpc.Gateway != "" {
		igw = gatewayLinkName(prefix, vpc.ID)
		edges = append(edges, igw)
	}
	slices.Sort(edges)
	if len(edges) > 0 {
		fmt.Fprintf(&b, "\tset edges {\n\t\ttype ifname\n\t\telements = { %s }\n\t}\n", quoteList(edges))
		forward = append(forward, "iifname @edges oifname @edges drop")
		var nats []string
		for _, r := range enis {
			if r.eni.NAT {
				nats = append(nats, r.veth)
			}
		}
		if len(nats) > 0 {
			fmt.Fprintf(&b, "\tset nat_gateways {\n\t\ttype ifname\n\t\telements = { %s }\n\t}\n", quoteList(nats))
			forward = append(forward, "iifname @edges oifname @nat_gateways ct state new drop")
		}
	}
	if igw != "" {
		var priv, pub2priv, priv2pub []string
		for _, p := range vpc.PublicIPs {
			priv = append(priv, p.Private.String())
			pub2priv = append(pub2priv, p.Public.String()+" : "+p.Private.String())
			priv2pub = append(priv2pub, p.Private.String()+" : "+p.Public.String())
		}
		b.WriteString(nftSet("public_private", "ipv4_addr", priv))
		b.WriteString(nftSet("public_to_private", "ipv4_addr : ipv4_addr", pub2priv))
		b.WriteString(nftSet("private_to_public", "ipv4_addr : ipv4_addr", priv2pub))
		forward = append(forward,
			fmt.Sprintf("oifname %q ip saddr != @public_private drop", igw),
			fmt.Sprintf("iifname %q ip daddr != @public_private drop", igw),
			fmt.Sprintf("oifname %q meta nfproto ipv6 drop", igw),
			fmt.Sprintf("iifname %q meta nfproto ipv6 drop", igw))
		b.WriteString(chain("gateway_dnat", []string{
			"type nat hook prerouting priority dstnat; policy accept;",
			fmt.Sprintf("iifname %q dnat ip to ip daddr map @public_to_private", igw),
		}))
		b.WriteString(chain("gateway_snat", []string{
			"type nat hook postrouting priority srcnat; policy accept;",
			fmt.Sprintf("oifname %q snat ip to ip saddr map @private_to_public", igw),
		}))
	}

	// Subnets with ENIs, in input order; an empty ACL id means the subnet is
	// not filtered by an ACL, an unknown one fails closed.
	usedACLs := map[string]bool{}
	for _, s := range vpc.Subnets {
		veths := subnetVeths[s.ID]
		if len(veths) == 0 || s.ACL == "" {
			continue
		}
		set := "sn_" + nftIdent(s.ID)
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype ifname\n\t\telements = { %s }\n\t}\n", set, quoteList(veths))
		acl := nftIdent(s.ACL)
		usedACLs[s.ACL] = true
		forward = append(forward,
			fmt.Sprintf("iifname @%s oifname != @%s jump acl_%s_out", set, set, acl),
			fmt.Sprintf("oifname @%s iifname != @%s jump acl_%s_in", set, set, acl))
	}
	forward = append(forward, "ct state established,related accept")

	var outMap, inMap []string
	var eniChains []string
	usedGroups := map[string]bool{}
	for _, r := range enis {
		if len(r.eni.Groups) == 0 {
			continue
		}
		id := nftIdent(r.eni.ID)
		var out, in []string
		seen := map[string]bool{}
		for _, g := range r.eni.Groups {
			// A group the VPC does not define contributes no rules; if
			// none are known the ENI's traffic is dropped.
			if _, ok := groups[g]; !ok || seen[g] {
				continue
			}
			seen[g] = true
			usedGroups[g] = true
			out = append(out, "jump sg_"+nftIdent(g)+"_out")
			in = append(in, "jump sg_"+nftIdent(g)+"_in")
		}
		eniChains = append(eniChains, chain("eni_"+id+"_out", append(out, "drop")), chain("eni_"+id+"_in", append(in, "drop")))
		outMap = append(outMap, fmt.Sprintf("%q : goto eni_%s_out", r.veth, id))
		inMap = append(inMap, fmt.Sprintf("%q : goto eni_%s_in", r.veth, id))
	}
	if len(outMap) > 0 {
		fmt.Fprintf(&b, "\tmap eni_out {\n\t\ttype ifname : verdict\n\t\telements = { %s }\n\t}\n", strings.Join(outMap, ", "))
		fmt.Fprintf(&b, "\tmap eni_in {\n\t\ttype ifname : verdict\n\t\telements = { %s }\n\t}\n", strings.Join(inMap, ", "))
		forward = append(forward, "iifname vmap @eni_out", "goto to_eni")
	}

	b.WriteString(chainHook("forward", forward))
	if len(outMap) > 0 {
		b.WriteString(chain("to_eni", []string{"oifname vmap @eni_in", "accept"}))
	}
	for _, c := range eniChains {
		b.WriteString(c)
	}
	for _, g := range vpc.Groups {
		if !usedGroups[g.ID] {
			continue
		}
		id := nftIdent(g.ID)
		b.WriteString(chain("sg_"+id+"_out", sgRules(g.Egress, "daddr", "goto to_eni")))
		b.WriteString(chain("sg_"+id+"_in", sgRules(g.Ingress, "saddr", "accept")))
	}
	aclIDs := make([]string, 0, len(usedACLs))
	for id := range usedACLs {
		aclIDs = append(aclIDs, id)
	}
	slices.Sort(aclIDs)
	for _, id := range aclIDs {
		a, ok := acls[id]
		b.WriteString(chain("acl_"+nftIdent(id)+"_out", aclRules(a.Entries, ok, true)))
		b.WriteString(chain("acl_"+nftIdent(id)+"_in", aclRules(a.Entries, ok, false)))
	}
	b.WriteString("}\n")
	return b.String()
}

// nftSet declares a set (or a map, when typ has a " : ") with elems.
func nftSet(name, typ string, elems []string) string {
	kind := "set"
	if strings.Contains(typ, " : ") {
		kind = "map"
	}
	s := fmt.Sprintf("\t%s %s {\n\t\ttype %s\n", kind, name, typ)
	if len(elems) > 0 {
		s += fmt.Sprintf("\t\telements = { %s }\n", strings.Join(elems, ", "))
	}
	return s + "\t}\n"
}

func chainHook(name string, rules []string) string {
	return chain(name, append([]string{"type filter hook forward priority filter; policy accept;"}, rules...))
}

func chain(name string, rules []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tchain %s {\n", name)
	for _, r := range rules {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n")
	return b.String()
}

// sgRules turns group rules into nft rules; dir is "saddr" for ingress
// (the rule's prefixes are sources) and "daddr" for egress.
func sgRules(rules []Rule, dir, verdict string) []string {
	var out []string
	for _, r := range rules {
		v4, v6 := splitPrefixes(r.Prefixes)
		for _, fam := range []struct {
			ip       string
			prefixes []netip.Prefix
		}{{"ip", v4}, {"ip6", v6}} {
			if len(fam.prefixes) == 0 {
				continue
			}
			proto, ok := sgProto(r, fam.ip == "ip6")
			if !ok {
				continue
			}
			out = append(out, joinMatch(addrMatch(fam.ip, dir, fam.prefixes), proto, verdict))
		}
	}
	return out
}

// sgProto is the protocol part of a group rule's match; ok is false when
// the rule cannot match the family (icmp is IPv4 only, icmpv6 IPv6 only).
func sgProto(r Rule, v6 bool) (string, bool) {
	switch p := protoName(r.Protocol); p {
	case "all":
		return "", true
	case "tcp", "udp":
		return portMatch(p, r.FromPort, r.ToPort, true), true
	case "icmp", "icmpv6":
		if (p == "icmpv6") != v6 {
			return "", false
		}
		m := "meta l4proto " + p
		if r.FromPort >= 0 {
			m = fmt.Sprintf("%s type %d", p, r.FromPort)
			if r.ToPort >= 0 {
				m += fmt.Sprintf(" %s code %d", p, r.ToPort)
			}
		}
		return m, true
	default:
		return "meta l4proto " + p, true
	}
}

// aclRules is the ordered entry list of one direction of an ACL. An allow
// returns to the forward chain so that the other checks still run.
func aclRules(entries []ACLEntry, known, egress bool) []string {
	var out []string
	if known {
		es := slices.Clone(entries)
		slices.SortStableFunc(es, func(a, b ACLEntry) int { return int(a.RuleNumber) - int(b.RuleNumber) })
		dir := "saddr"
		if egress {
			dir = "daddr"
		}
		for _, e := range es {
			if e.Egress != egress || !e.CIDR.IsValid() {
				continue
			}
			ip := "ip"
			if e.CIDR.Addr().Is6() {
				ip = "ip6"
			}
			var proto string
			switch p := protoName(e.Protocol); p {
			case "all":
			case "tcp", "udp":
				// ACL port ranges are destination ports in both
				// directions; 0-0 means every port.
				proto = portMatch(p, e.FromPort, e.ToPort, !(e.FromPort == 0 && e.ToPort == 0))
			default:
				proto = "meta l4proto " + p
			}
			verdict := "drop"
			if e.Allow {
				verdict = "return"
			}
			out = append(out, joinMatch(addrMatch(ip, dir, []netip.Prefix{e.CIDR.Masked()}), proto, verdict))
		}
	}
	// The "*" entry (32767): whatever no entry allowed is denied.
	return append(out, "drop")
}

// protoName normalizes an AWS protocol ("-1", a name or an IANA number)
// to what nft understands; the well-known numbers become names so that
// port and icmp matches can be used on them.
func protoName(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all", "":
		return "all"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return strconv.Itoa(n)
	}
	// Anything else would be an nft syntax error that takes the whole
	// table down; a protocol number that cannot exist matches nothing.
	return "255"
}

func portMatch(proto string, from, to int32, limit bool) string {
	if !limit || from < 0 || (from <= 0 && to >= 65535) {
		return "meta l4proto " + proto
	}
	if to < from {
		to = from
	}
	if from == to {
		return fmt.Sprintf("%s dport %d", proto, from)
	}
	return fmt.Sprintf("%s dport %d-%d", proto, from, to)
}

// addrMatch matches any of prefixes (all of one family); a /0 matches the
// whole family.
func addrMatch(ip, dir string, prefixes []netip.Prefix) string {
	for _, p := range prefixes {
		if p.Bits() == 0 {
			if ip == "ip6" {
				return "meta nfproto ipv6"
			}
			return "meta nfproto ipv4"
		}
	}
	if len(prefixes) == 1 {
		return fmt.Sprintf("%s %s %s", ip, dir, prefixString(prefixes[0]))
	}
	s := make([]string, len(prefixes))
	for i, p := range prefixes {
		s[i] = prefixString(p)
	}
	return fmt.Sprintf("%s %s { %s }", ip, dir, strings.Join(s, ", "))
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// splitPrefixes separates the families and drops prefixes covered by
// another one, because nft refuses overlapping intervals in a set.
func splitPrefixes(ps []netip.Prefix) (v4, v6 []netip.Prefix) {
	var all []netip.Prefix
	for _, p := range ps {
		if p.IsValid() {
			all = append(all, p.Masked())
		}
	}
	// Shorter prefixes first, so that a prefix is only compared with the
	// ones that could cover it.
	slices.SortFunc(all, func(a, b netip.Prefix) int {
		if a.Bits() != b.Bits() {
			return a.Bits() - b.Bits()
		}
		return a.Addr().Compare(b.Addr())
	})
	var kept []netip.Prefix
	for _, p := range all {
		covered := false
		for _, k := range kept {
			if k.Addr().Is4() == p.Addr().Is4() && k.Bits() <= p.Bits() && k.Contains(p.Addr()) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		kept = append(kept, p)
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	byAddr := func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) }
	slices.SortFunc(v4, byAddr)
	slices.SortFunc(v6, byAddr)
	return v4, v6
}

func joinMatch(addr, proto, verdict string) string {
	parts := []string{addr}
	if proto != "" {
		parts = append(parts, proto)
	}
	return strings.Join(append(parts, verdict), " ")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// nftIdent turns an AWS id into an nft identifier: letters, digits and
// underscores only (AWS ids have no underscores, so this is injective on
// them).
func nftIdent(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		return "x" + string(b)
	}
	return string(b)
}
