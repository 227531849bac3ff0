package netplane

import (
	"strings"
	"testing"
)

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"lpa", "lp12345", "lpz0z0z"} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"", "lp", "xpabc", "lp123456", "lpA", "lp-a", "lp/a", "lp.a"} {
		if ValidatePrefix(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestNames(t *testing.T) {
	const prefix = "lp12345" // the longest prefix
	names := map[string]string{}
	for _, id := range []string{"vpc-0123456789abcdef0", "eni-0123456789abcdef0", "eni-1", "x"} {
		for _, n := range []string{
			RouterNetns(prefix, id), ENINetns(prefix, id),
			routerLinkName(prefix, id), workloadLinkName(prefix, id),
		} {
			if len(n) > 15 {
				t.Errorf("%s is longer than an interface name may be", n)
			}
			if !owned(prefix, n) {
				t.Errorf("%s is not owned by %s", n, prefix)
			}
			if prev, dup := names[n]; dup {
				t.Errorf("%s derived twice (%s)", n, prev)
			}
			names[n] = id
		}
	}
	if RouterNetns(prefix, "vpc-1") != RouterNetns(prefix, "vpc-1") {
		t.Error("names are not stable")
	}
	// A prefix that is a prefix of another never owns the other's objects.
	if owned("lpa", RouterNetns("lpab", "vpc-1")) {
		t.Error("lpa owns lpab's namespace")
	}
	if got := RouterNetns("lpab", "vpc-1"); !strings.HasPrefix(got, "lpab-r") || len(got) != len("lpab-r")+6 {
		t.Errorf("RouterNetns = %q", got)
	}
}

func TestENIMAC(t *testing.T) {
	m := eniMAC("eni-1")
	if m != eniMAC("eni-1") || m == eniMAC("eni-2") {
		t.Errorf("MACs not stable or not distinct: %s", m)
	}
	if !strings.HasPrefix(m, "02:") {
		t.Errorf("%s is not locally administered unicast", m)
	}
}

func TestPrefixFor(t *testing.T) {
	a, b := PrefixFor("/var/lib/lambdaplane"), PrefixFor("/tmp/other")
	if a == b || PrefixFor("/var/lib/lambdaplane") != a {
		t.Fatalf("%s %s", a, b)
	}
	for _, p := range []string{a, b} {
		if err := ValidatePrefix(p); err != nil {
			t.Fatal(err)
		}
	}
}
