package netplane

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func fwPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// fwTestVeth names router ends after the ENI id, as the driver would.
func fwTestVeth(id string) string { return "v" + strings.TrimPrefix(id, "eni-") }

func TestCompileFirewallGolden(t *testing.T) {
	vpc := VPC{
		ID: "vpc-1",
		Subnets: []Subnet{
			{ID: "subnet-1", CIDR: netip.MustParsePrefix("10.0.1.0/24"), ACL: "acl-1"},
			{ID: "subnet-2", CIDR: netip.MustParsePrefix("10.0.2.0/24"), ACL: "acl-1"},
		},
		ENIs: []ENI{
			{ID: "eni-a", SubnetID: "subnet-1", Groups: []string{"sg-web", "sg-ssh"}},
			{ID: "eni-b", SubnetID: "subnet-1", Groups: []string{"sg-web"}},
			{ID: "eni-c", SubnetID: "subnet-2", Groups: []string{"sg-ssh"}},
		},
		Groups: []SecurityGroup{
			{ID: "sg-web",
				Ingress: []Rule{{Protocol: "tcp", FromPort: 80, ToPort: 80, Prefixes: fwPrefixes("0.0.0.0/0")}},
				Egress:  []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: fwPrefixes("0.0.0.0/0")}}},
			{ID: "sg-ssh",
				Ingress: []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: fwPrefixes("10.0.1.5/32", "10.0.2.0/24")}}},
		},
		ACLs: []NetworkACL{{ID: "acl-1", Entries: []ACLEntry{
			{RuleNumber: 32767, Protocol: "-1", CIDR: netip.MustParsePrefix("0.0.0.0/0")},
			{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
			{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
		}}},
	}
	want := `table inet lpt_fw
delete table inet lpt_fw
table inet lpt_fw {
	set sn_subnet_1 {
		type ifname
		elements = { "va", "vb" }
	}
	set sn_subnet_2 {
		type ifname
		elements = { "vc" }
	}
	map eni_out {
		type ifname : verdict
		elements = { "va" : goto eni_eni_a_out, "vb" : goto eni_eni_b_out, "vc" : goto eni_eni_c_out }
	}
	map eni_in {
		type ifname : verdict
		elements = { "va" : goto eni_eni_a_in, "vb" : goto eni_eni_b_in, "vc" : goto eni_eni_c_in }
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname @sn_subnet_1 oifname != @sn_subnet_1 jump acl_acl_1_out
		oifname @sn_subnet_1 iifname != @sn_subnet_1 jump acl_acl_1_in
		iifname @sn_subnet_2 oifname != @sn_subnet_2 jump acl_acl_1_out
		oifname @sn_subnet_2 iifname != @sn_subnet_2 jump acl_acl_1_in
		ct state established,related accept
		iifname vmap @eni_out
		goto to_eni
	}
	chain to_eni {
		oifname vmap @eni_in
		accept
	}
	chain eni_eni_a_out {
		jump sg_sg_web_out
		jump sg_sg_ssh_out
		drop
	}
	chain eni_eni_a_in {
		jump sg_sg_web_in
		jump sg_sg_ssh_in
		drop
	}
	chain eni_eni_b_out {
		jump sg_sg_web_out
		drop
	}
	chain eni_eni_b_in {
		jump sg_sg_web_in
		drop
	}
	chain eni_eni_c_out {
		jump sg_sg_ssh_out
		drop
	}
	chain eni_eni_c_in {
		jump sg_sg_ssh_in
		drop
	}
	chain sg_sg_web_out {
		meta nfproto ipv4 goto to_eni
	}
	chain sg_sg_web_in {
		meta nfproto ipv4 tcp dport 80 accept
	}
	chain sg_sg_ssh_out {
	}
	chain sg_sg_ssh_in {
		ip saddr { 10.0.1.5, 10.0.2.0/24 } tcp dport 22 accept
	}
	chain acl_acl_1_out {
		meta nfproto ipv4 return
		drop
	}
	chain acl_acl_1_in {
		meta nfproto ipv4 return
		meta nfproto ipv4 drop
		drop
	}
}
`
	got := CompileFirewall("lpt", vpc, fwTestVeth)
	if got != want {
		t.Fatalf("script differs.\n--- got\n%s\n--- want\n%s", got, want)
	}
	if again := CompileFirewall("lpt", vpc, fwTestVeth); again != got {
		t.Fatal("CompileFirewall is not deterministic")
	}
	nftCheck(t, got)
}

func TestFirewallSGRules(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
		want []string
	}{
		{"all", Rule{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: fwPrefixes("10.0.0.0/16")},
			[]string{"ip saddr 10.0.0.0/16 accept"}},
		{"tcp range", Rule{Protocol: "tcp", FromPort: 8000, ToPort: 8100, Prefixes: fwPrefixes("10.0.0.0/16")},
			[]string{"ip saddr 10.0.0.0/16 tcp dport 8000-8100 accept"}},
		{"tcp by number", Rule{Protocol: "6", FromPort: 443, ToPort: 443, Prefixes: fwPrefixes("10.0.0.7/32")},
			[]string{"ip saddr 10.0.0.7 tcp dport 443 accept"}},
		{"udp all ports", Rule{Protocol: "udp", FromPort: 0, ToPort: 65535, Prefixes: fwPrefixes("10.0.0.0/8")},
			[]string{"ip saddr 10.0.0.0/8 meta l4proto udp accept"}},
		{"udp single", Rule{Protocol: "17", FromPort: 53, ToPort: 53, Prefixes: fwPrefixes("10.0.0.0/8")},
			[]string{"ip saddr 10.0.0.0/8 udp dport 53 accept"}},
		{"icmp any", Rule{Protocol: "icmp", FromPort: -1, ToPort: -1, Prefixes: fwPrefixes("0.0.0.0/0")},
			[]string{"meta nfproto ipv4 meta l4proto icmp accept"}},
		{"icmp type", Rule{Protocol: "icmp", FromPort: 8, ToPort: -1, Prefixes: fwPrefixes("10.1.0.0/16")},
			[]string{"ip saddr 10.1.0.0/16 icmp type 8 accept"}},
		{"icmp type and code", Rule{Protocol: "1", FromPort: 3, ToPort: 4, Prefixes: fwPrefixes("10.1.0.0/16")},
			[]string{"ip saddr 10.1.0.0/16 icmp type 3 icmp code 4 accept"}},
		{"icmp does not match v6", Rule{Protocol: "icmp", FromPort: -1, ToPort: -1, Prefixes: fwPrefixes("::/0")}, nil},
		{"icmpv6", Rule{Protocol: "58", FromPort: 128, ToPort: -1, Prefixes: fwPrefixes("::/0", "10.0.0.0/8")},
			[]string{"meta nfproto ipv6 icmpv6 type 128 accept"}},
		{"other protocol", Rule{Protocol: "47", FromPort: -1, ToPort: -1, Prefixes: fwPrefixes("192.168.0.0/16")},
			[]string{"ip saddr 192.168.0.0/16 meta l4proto 47 accept"}},
		{"both families", Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: fwPrefixes("fd00::/8", "10.0.0.0/8")},
			[]string{"ip saddr 10.0.0.0/8 tcp dport 22 accept", "ip6 saddr fd00::/8 tcp dport 22 accept"}},
		// nft refuses overlapping intervals; a covered prefix adds nothing.
		{"overlap merged", Rule{Protocol: "-1", Prefixes: fwPrefixes("10.0.1.0/24", "10.0.0.0/16", "10.0.1.5/32", "10.2.0.0/16", "10.0.0.0/16")},
			[]string{"ip saddr { 10.0.0.0/16, 10.2.0.0/16 } accept"}},
		{"no prefixes", Rule{Protocol: "-1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sgRules([]Rule{c.rule}, "saddr", "accept")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	// Every kind of rule together, both directions, must load.
	var all []Rule
	for _, c := range cases {
		all = append(all, c.rule)
	}
	nftCheck(t, CompileFirewall("lpk", VPC{
		ENIs:   []ENI{{ID: "eni-1", Groups: []string{"sg-1"}}},
		Groups: []SecurityGroup{{ID: "sg-1", Ingress: all, Egress: all}},
	}, fwTestVeth))

	egress := sgRules([]Rule{{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Prefixes: fwPrefixes("10.0.2.0/24")}}, "daddr", "goto to_eni")
	if want := "ip daddr 10.0.2.0/24 tcp dport 5432 goto to_eni"; len(egress) != 1 || egress[0] != want {
		t.Fatalf("egress: got %q, want %q", egress, want)
	}
}

func TestFirewallACLOrder(t *testing.T) {
	entries := []ACLEntry{
		{RuleNumber: 200, Protocol: "-1", Allow: true, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
		{RuleNumber: 100, Protocol: "6", Allow: true, FromPort: 443, ToPort: 443, CIDR: netip.MustParsePrefix("10.0.0.0/16")},
		{RuleNumber: 50, Protocol: "6", Allow: false, FromPort: 1024, ToPort: 65535, CIDR: netip.MustParsePrefix("10.0.9.9/32")},
		{RuleNumber: 150, Protocol: "17", Allow: true, CIDR: netip.MustParsePrefix("fd00::/8")},
		{RuleNumber: 120, Protocol: "1", Allow: false, CIDR: netip.MustParsePrefix("10.0.0.0/8")},
		{RuleNumber: 10, Egress: true, Protocol: "-1", Allow: false, CIDR: netip.MustParsePrefix("10.5.0.0/16")},
		{RuleNumber: 20, Egress: true, Protocol: "6", Allow: true, FromPort: 0, ToPort: 0, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
	}
	in := aclRules(entries, true, false)
	wantIn := []string{
		"ip saddr 10.0.9.9 tcp dport 1024-65535 drop",
		"ip saddr 10.0.0.0/16 tcp dport 443 return",
		"ip saddr 10.0.0.0/8 meta l4proto icmp drop",
		"ip6 saddr fd00::/8 meta l4proto udp return",
		"meta nfproto ipv4 return",
		"drop",
	}
	if strings.Join(in, "\n") != strings.Join(wantIn, "\n") {
		t.Fatalf("ingress:\n%s\nwant:\n%s", strings.Join(in, "\n"), strings.Join(wantIn, "\n"))
	}
	out := aclRules(entries, true, true)
	wantOut := []string{
		"ip daddr 10.5.0.0/16 drop",
		"meta nfproto ipv4 meta l4proto tcp return",
		"drop",
	}
	if strings.Join(out, "\n") != strings.Join(wantOut, "\n") {
		t.Fatalf("egress:\n%s\nwant:\n%s", strings.Join(out, "\n"), strings.Join(wantOut, "\n"))
	}
	if got := aclRules(entries, false, false); len(got) != 1 || got[0] != "drop" {
		t.Fatalf("unknown ACL must deny everything, got %q", got)
	}
}

// ENIs without a router end, without groups, or with groups the VPC does
// not define, and subnets without an ACL id.
func TestFirewallEdgeCases(t *testing.T) {
	vpc := VPC{
		Subnets: []Subnet{
			{ID: "subnet-1", CIDR: netip.MustParsePrefix("10.0.1.0/24")},
			{ID: "subnet-2", CIDR: netip.MustParsePrefix("10.0.2.0/24"), ACL: "acl-missing"},
			{ID: "subnet-3", CIDR: netip.MustParsePrefix("10.0.3.0/24"), ACL: "acl-unused"},
		},
		ENIs: []ENI{
			{ID: "eni-nat", SubnetID: "subnet-1"},
			{ID: "eni-ghost", SubnetID: "subnet-2", Groups: []string{"sg-gone", "sg-1", "sg-1"}},
			{ID: "eni-unplugged", SubnetID: "subnet-3", Groups: []string{"sg-1"}},
		},
		Groups: []SecurityGroup{{ID: "sg-1"}, {ID: "sg-unused", Ingress: []Rule{{Protocol: "-1", Prefixes: fwPrefixes("0.0.0.0/0")}}}},
	}
	got := CompileFirewall("lpe", vpc, func(id string) string {
		if id == "eni-unplugged" {
			return ""
		}
		return fwTestVeth(id)
	})
	for _, want := range []string{
		"\tchain eni_eni_ghost_out {\n\t\tjump sg_sg_1_out\n\t\tdrop\n\t}\n",
		"\tchain acl_acl_missing_in {\n\t\tdrop\n\t}\n",
		`elements = { "vghost" : goto eni_eni_ghost_out }`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("script lacks %q:\n%s", want, got)
		}
	}
	for _, absent := range []string{"eni_eni_nat", "sn_subnet_1", "sn_subnet_3", "acl_unused", "sg_sg_unused", "sg_gone", "unplugged"} {
		if strings.Contains(got, absent) {
			t.Errorf("script mentions %q:\n%s", absent, got)
		}
	}
	nftCheck(t, got)

	empty := CompileFirewall("lpe", VPC{}, fwTestVeth)
	if strings.Contains(empty, "to_eni") || !strings.Contains(empty, "ct state established,related accept") {
		t.Errorf("empty VPC script:\n%s", empty)
	}
	nftCheck(t, empty)
}

func TestFirewallNames(t *testing.T) {
	for in, want := range map[string]string{"lpab12": "lpab12_fw", "lp-x.y": "lp_x_y_fw", "9lp": "x9lp_fw"} {
		if got := FirewallTable(in); got != want {
			t.Errorf("FirewallTable(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"weird protocol": "255", "300": "255", "ALL": "all", "132": "132", "ICMPv6": "icmpv6"} {
		if got := protoName(in); got != want {
			t.Errorf("protoName(%q) = %q, want %q", in, got, want)
		}
	}
}

// nftRoot skips a test that needs root, except in CI where it must run.
func nftRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("test needs root and CI=true")
		}
		t.Skip("needs root")
	}
	for _, bin := range []string{"nft", "ip", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found", bin)
			}
			t.Skipf("%s not found", bin)
		}
	}
}

// nftCheck has the kernel validate a script without committing it
// (nft -c), in a throwaway network namespace so the host's ruleset is
// never involved; it is skipped like any privileged test.
func nftCheck(t *testing.T, script string) {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		return
	}
	nftRoot(t)
	cmd := exec.Command("unshare", "--net", "nft", "-c", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -c rejects the script: %v\n%s\n%s", err, out, script)
	}
}
