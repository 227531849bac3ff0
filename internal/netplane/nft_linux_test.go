//go:build linux

package netplane

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fwLab is a hand-built VPC router: one router namespace and one namespace
// per ENI, joined by veth pairs, routed at L3 with /32 routes.
type fwLab struct {
	t      *testing.T
	id     string
	router string
	ns     map[string]string // eni id -> workload namespace
	veth   map[string]string // eni id -> router end
	ip     map[string]netip.Addr
}

func fwRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newFwLab(t *testing.T, enis []ENI, gateways map[string]string) *fwLab {
	nftRoot(t)
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	l := &fwLab{t: t, id: "lp" + hex.EncodeToString(b), ns: map[string]string{}, veth: map[string]string{}, ip: map[string]netip.Addr{}}
	l.router = l.id + "r"
	created := []string{}
	t.Cleanup(func() {
		for _, ns := range created {
			// Deleting a namespace destroys the veth ends inside it.
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	addNS := func(name string) {
		fwRun(t, "ip", "netns", "add", name)
		created = append(created, name)
		fwRun(t, "ip", "-n", name, "link", "set", "lo", "up")
	}
	addNS(l.router)
	fwRun(t, "ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for i, e := range enis {
		ns := fmt.Sprintf("%s%d", l.id, i)
		veth := fmt.Sprintf("%sv%d", l.id, i)
		gw := gateways[e.SubnetID]
		addNS(ns)
		fwRun(t, "ip", "-n", l.router, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		fwRun(t, "ip", "-n", l.router, "addr", "add", gw+"/32", "dev", veth)
		fwRun(t, "ip", "-n", l.router, "link", "set", veth, "up")
		fwRun(t, "ip", "-n", l.router, "route", "add", e.IP.String()+"/32", "dev", veth)
		fwRun(t, "ip", "-n", ns, "addr", "add", e.IP.String()+"/32", "dev", "eth0")
		fwRun(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		fwRun(t, "ip", "-n", ns, "route", "add", gw+"/32", "dev", "eth0")
		fwRun(t, "ip", "-n", ns, "route", "add", "default", "via", gw, "dev", "eth0")
		l.ns[e.ID], l.veth[e.ID], l.ip[e.ID] = ns, veth, e.IP
	}
	return l
}

// fwInNetns runs fn on a thread that has entered the namespace. The thread
// is never unlocked, so Go discards it when fn returns and no other
// goroutine ever runs in the namespace.
func fwInNetns(ns string, fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		fn()
		errc <- nil
	}()
	return <-errc
}

// listen starts a TCP server in an ENI's namespace that answers each
// connection with its port, closed in cleanup.
func (l *fwLab) listen(eni string, port int) {
	var ln net.Listener
	var lerr error
	if err := fwInNetns(l.ns[eni], func() {
		ln, lerr = net.Listen("tcp", fmt.Sprintf("%s:%d", l.ip[eni], port))
	}); err != nil || lerr != nil {
		l.t.Fatalf("listen in %s: %v %v", eni, err, lerr)
	}
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%d\n", port)
			c.Close()
		}
	}()
}

// dial connects from one ENI to another and reports "ok", "timeout",
// "refused" or the error; the short timeout stands for AWS's silent drop.
func (l *fwLab) dial(from, to string, port int) string {
	res := ""
	if err := fwInNetns(l.ns[from], func() {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", l.ip[to], port), 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				res = "refused"
			case errors.As(err, &ne) && ne.Timeout():
				res = "timeout"
			default:
				res = err.Error()
			}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			res = "read: " + err.Error()
			return
		}
		if line != fmt.Sprintf("%d\n", port) {
			res = "unexpected answer " + line
			return
		}
		res = "ok"
	}); err != nil {
		return err.Error()
	}
	return res
}

func (l *fwLab) apply(t *testing.T, vpc VPC) {
	t.Helper()
	script := CompileFirewall(l.id, vpc, func(id string) string { return l.veth[id] })
	if err := ApplyFirewall(l.router, script); err != nil {
		t.Fatalf("%v\n%s", err, script)
	}
}

type fwCase struct {
	from, to string
	port     int
	want     string
}

func (l *fwLab) expect(t *testing.T, name string, cases []fwCase) {
	t.Helper()
	for _, c := range cases {
		if got := l.dial(c.from, c.to, c.port); got != c.want {
			t.Errorf("%s: %s -> %s:%d = %s, want %s", name, c.from, c.to, c.port, got, c.want)
		}
	}
}

func TestFirewallKernel(t *testing.T) {
	a := ENI{ID: "eni-a", SubnetID: "subnet-1", IP: netip.MustParseAddr("10.77.1.10")}
	b := ENI{ID: "eni-b", SubnetID: "subnet-1", IP: netip.MustParseAddr("10.77.1.11")}
	c := ENI{ID: "eni-c", SubnetID: "subnet-2", IP: netip.MustParseAddr("10.77.2.10")}
	lab := newFwLab(t, []ENI{a, b, c}, map[string]string{"subnet-1": "10.77.1.1", "subnet-2": "10.77.2.1"})
	lab.listen("eni-a", 8080)
	for _, p := range []int{8080, 9090} {
		lab.listen("eni-b", p)
		lab.listen("eni-c", p)
	}

	everywhere := fwPrefixes("0.0.0.0/0")
	all := []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: everywhere}}
	openACL := NetworkACL{ID: "acl-open", Entries: []ACLEntry{
		{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
		{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
	}}
	subnets := func(acl1, acl2 string) []Subnet {
		return []Subnet{
			{ID: "subnet-1", CIDR: netip.MustParsePrefix("10.77.1.0/24"), ACL: acl1},
			{ID: "subnet-2", CIDR: netip.MustParsePrefix("10.77.2.0/24"), ACL: acl2},
		}
	}
	withGroups := func(e ENI, gs ...string) ENI { e.Groups = gs; return e }
	tcp := func(from, to int32, ps ...string) Rule {
		return Rule{Protocol: "tcp", FromPort: from, ToPort: to, Prefixes: fwPrefixes(ps...)}
	}

	// No firewall at all: the lab routes, and a closed port is refused.
	lab.expect(t, "no firewall", []fwCase{
		{"eni-a", "eni-b", 8080, "ok"}, {"eni-a", "eni-c", 9090, "ok"}, {"eni-c", "eni-a", 8080, "ok"},
		{"eni-a", "eni-b", 7070, "refused"},
	})

	t.Run("groups", func(t *testing.T) {
		lab.apply(t, VPC{
			Subnets: subnets("acl-open", "acl-open"),
			ACLs:    []NetworkACL{openACL},
			ENIs: []ENI{
				withGroups(a, "sg-client"),
				withGroups(b, "sg-web", "sg-admin"),
				withGroups(c, "sg-web"),
			},
			Groups: []SecurityGroup{
				// No ingress rules: replies to a's connections still come back.
				{ID: "sg-client", Egress: all},
				// No egress rules on b: its replies still leave.
				{ID: "sg-web", Ingress: []Rule{tcp(8080, 8080, "10.77.0.0/16")}},
				{ID: "sg-admin", Ingress: []Rule{tcp(9000, 9100, "10.77.1.10/32")}},
			},
		})
		lab.expect(t, "groups", []fwCase{
			{"eni-a", "eni-b", 8080, "ok"},      // sg-web
			{"eni-a", "eni-b", 9090, "ok"},      // second group of b
			{"eni-a", "eni-c", 8080, "ok"},      // across subnets
			{"eni-a", "eni-c", 9090, "timeout"}, // c has no sg-admin
			{"eni-a", "eni-b", 7070, "timeout"}, // dropped, not refused
			{"eni-c", "eni-a", 8080, "timeout"}, // c's groups allow no egress
			{"eni-b", "eni-a", 8080, "timeout"}, // and a allows no ingress
		})
	})

	t.Run("egress rules", func(t *testing.T) {
		lab.apply(t, VPC{
			Subnets: subnets("acl-open", "acl-open"),
			ACLs:    []NetworkACL{openACL},
			ENIs:    []ENI{withGroups(a, "sg-narrow"), withGroups(b, "sg-open"), withGroups(c, "sg-open")},
			Groups: []SecurityGroup{
				{ID: "sg-narrow", Egress: []Rule{tcp(8080, 8080, "10.77.1.11/32")}},
				{ID: "sg-open", Ingress: all, Egress: all},
			},
		})
		lab.expect(t, "egress", []fwCase{
			{"eni-a", "eni-b", 8080, "ok"},
			{"eni-a", "eni-b", 9090, "timeout"},
			{"eni-a", "eni-c", 8080, "timeout"},
			{"eni-b", "eni-c", 9090, "ok"},
		})
	})

	t.Run("group reference", func(t *testing.T) {
		// sg-db allows 8080 from the members of sg-app, resolved by the
		// controller to their addresses; membership changes recompile.
		vpc := func(appMembers ...ENI) VPC {
			var ps []string
			enis := []ENI{withGroups(c, "sg-db")}
			for _, m := range appMembers {
				ps = append(ps, m.IP.String()+"/32")
				enis = append(enis, withGroups(m, "sg-app"))
			}
			if len(appMembers) == 1 {
				enis = append(enis, withGroups(b, "sg-other"))
			}
			return VPC{
				Subnets: subnets("acl-open", "acl-open"),
				ACLs:    []NetworkACL{openACL},
				ENIs:    enis,
				Groups: []SecurityGroup{
					{ID: "sg-db", Ingress: []Rule{tcp(8080, 8080, ps...)}},
					{ID: "sg-app", Egress: all},
					{ID: "sg-other", Egress: all},
				},
			}
		}
		lab.apply(t, vpc(a))
		lab.expect(t, "a member", []fwCase{{"eni-a", "eni-c", 8080, "ok"}, {"eni-b", "eni-c", 8080, "timeout"}})
		lab.apply(t, vpc(a, b))
		lab.expect(t, "b joined", []fwCase{{"eni-a", "eni-c", 8080, "ok"}, {"eni-b", "eni-c", 8080, "ok"}})
	})

	open := []SecurityGroup{{ID: "sg-open", Ingress: all, Egress: all}}
	openENIs := []ENI{withGroups(a, "sg-open"), withGroups(b, "sg-open"), withGroups(c, "sg-open")}

	t.Run("acl deny beats group allow", func(t *testing.T) {
		lab.apply(t, VPC{
			Subnets: subnets("acl-deny-all", "acl-2"),
			ACLs: []NetworkACL{openACL,
				{ID: "acl-2", Entries: []ACLEntry{
					{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
					{RuleNumber: 90, Protocol: "6", FromPort: 8080, ToPort: 8080, CIDR: netip.MustParsePrefix("10.77.1.10/32")},
					{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
				}},
				// Only entry 32767: nothing crosses the boundary of subnet-1.
				{ID: "acl-deny-all"},
			},
			ENIs:   openENIs,
			Groups: open,
		})
		lab.expect(t, "acl", []fwCase{
			{"eni-a", "eni-c", 8080, "timeout"}, // denied by the ACL of subnet-1 and by entry 90
			{"eni-a", "eni-b", 8080, "ok"},      // same subnet: no ACL
			{"eni-b", "eni-a", 8080, "ok"},
		})
		lab.apply(t, VPC{
			Subnets: subnets("acl-open", "acl-2"),
			ACLs: []NetworkACL{openACL, {ID: "acl-2", Entries: []ACLEntry{
				{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
				{RuleNumber: 90, Protocol: "6", FromPort: 8080, ToPort: 8080, CIDR: netip.MustParsePrefix("10.77.1.10/32")},
				{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
			}}},
			ENIs:   openENIs,
			Groups: open,
		})
		lab.expect(t, "acl entry 90", []fwCase{
			{"eni-a", "eni-c", 8080, "timeout"}, // entry 90 before entry 100
			{"eni-a", "eni-c", 9090, "ok"},
			{"eni-b", "eni-c", 8080, "ok"},
		})
	})

	t.Run("acl is stateless", func(t *testing.T) {
		// subnet-1 lets in only port 8080: replies to its own connections
		// (to an ephemeral port) are dropped until they are allowed too.
		acl := func(ephemeral bool) NetworkACL {
			n := NetworkACL{ID: "acl-1", Entries: []ACLEntry{
				{RuleNumber: 100, Protocol: "6", Allow: true, FromPort: 8080, ToPort: 8080, CIDR: everywhere[0]},
				{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: everywhere[0]},
			}}
			if ephemeral {
				n.Entries = append(n.Entries, ACLEntry{RuleNumber: 110, Protocol: "6", Allow: true, FromPort: 1024, ToPort: 65535, CIDR: everywhere[0]})
			}
			return n
		}
		lab.apply(t, VPC{Subnets: subnets("acl-1", "acl-open"), ACLs: []NetworkACL{openACL, acl(false)}, ENIs: openENIs, Groups: open})
		lab.expect(t, "no return rule", []fwCase{
			{"eni-a", "eni-c", 8080, "timeout"},
			{"eni-c", "eni-a", 8080, "ok"}, // in to 8080 and out: both allowed
			{"eni-a", "eni-b", 8080, "ok"},
		})
		lab.apply(t, VPC{Subnets: subnets("acl-1", "acl-open"), ACLs: []NetworkACL{openACL, acl(true)}, ENIs: openENIs, Groups: open})
		lab.expect(t, "return rule", []fwCase{{"eni-a", "eni-c", 8080, "ok"}})
	})

	t.Run("remove", func(t *testing.T) {
		if err := RemoveFirewall(lab.router, FirewallTable(lab.id)); err != nil {
			t.Fatal(err)
		}
		if err := RemoveFirewall(lab.router, FirewallTable(lab.id)); err != nil {
			t.Fatalf("second remove: %v", err)
		}
		lab.expect(t, "removed", []fwCase{{"eni-a", "eni-b", 7070, "refused"}, {"eni-a", "eni-c", 8080, "ok"}})
		if err := ApplyFirewall(lab.router, "this is not nft"); err == nil {
			t.Fatal("a bad script was accepted")
		}
	})
}
