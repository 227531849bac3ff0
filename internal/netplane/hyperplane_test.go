package netplane

import (
	"net/netip"
	"strings"
	"testing"
)

func TestEnvLinkNames(t *testing.T) {
	const prefix = "lp12345" // the longest prefix
	seen := map[string]string{}
	for _, id := range []string{"eni-1", "eni-2", "vpc-1"} {
		for _, n := range []string{RouterNetns(prefix, id), ENINetns(prefix, id), routerLinkName(prefix, id), workloadLinkName(prefix, id)} {
			seen[n] = "topology " + id
		}
	}
	for _, env := range []string{prefix + "-env1", prefix + "-env2", "lp12345-x", "eni-1"} {
		for _, n := range []string{envHostLinkName(prefix, env), envPeerLinkName(prefix, env)} {
			if len(n) > 15 {
				t.Errorf("%s is longer than an interface name may be", n)
			}
			if !owned(prefix, n) {
				t.Errorf("%s is not owned by %s", n, prefix)
			}
			if prev, dup := seen[n]; dup {
				t.Errorf("%s (environment %s) also names %s", n, env, prev)
			}
			seen[n] = "environment " + env
		}
		if envHostLinkName(prefix, env) != envHostLinkName(prefix, env) {
			t.Error("names are not stable")
		}
		if !strings.HasPrefix(envHostLinkName(prefix, env), strings.TrimSuffix(envHostLinkPattern(prefix), "*")) {
			t.Errorf("nft pattern %s misses %s", envHostLinkPattern(prefix), envHostLinkName(prefix, env))
		}
		if strings.HasPrefix(envPeerLinkName(prefix, env), strings.TrimSuffix(envHostLinkPattern(prefix), "*")) {
			t.Errorf("nft pattern %s matches the environment end %s", envHostLinkPattern(prefix), envPeerLinkName(prefix, env))
		}
	}
	// The ENI's own link never matches the environments' pattern.
	if strings.HasPrefix(workloadLinkName(prefix, "eni-1"), strings.TrimSuffix(envHostLinkPattern(prefix), "*")) {
		t.Error("the ENI link matches the environment pattern")
	}
}

func TestAllocEnvPair(t *testing.T) {
	used := map[netip.Addr]bool{}
	envs := map[netip.Addr]bool{}
	for range 300 {
		gw, env, err := allocEnvPair(used)
		if err != nil {
			t.Fatal(err)
		}
		p := netip.PrefixFrom(gw, envLinkBits).Masked()
		if p.Addr() != gw || !p.Contains(env) || env == gw {
			t.Fatalf("%s and %s do not share a /31 as gateway and host", gw, env)
		}
		if !envBlock.Contains(gw) || !envBlock.Contains(env) || gw == envBlock.Addr() {
			t.Fatalf("%s/%s outside %s", gw, env, envBlock)
		}
		if used[gw] || envs[env] {
			t.Fatalf("%s handed out twice", gw)
		}
		used[gw], envs[env] = true, true
	}
	if gw, env := envPair(1); gw.String() != "169.254.0.2" || env.String() != "169.254.0.3" {
		t.Errorf("slot 1 = %s, %s", gw, env)
	}
	if gw, env := envPair(maxEnvSlot); gw.String() != "169.254.127.254" || env.String() != "169.254.127.255" {
		t.Errorf("last slot = %s, %s", gw, env)
	}
	// A freed pair is reused first.
	delete(used, netip.MustParseAddr("169.254.0.10"))
	if gw, _, _ := allocEnvPair(used); gw.String() != "169.254.0.10" {
		t.Errorf("allocated %s, want the freed 169.254.0.10", gw)
	}
	for slot := 1; slot <= maxEnvSlot; slot++ {
		gw, _ := envPair(slot)
		used[gw] = true
	}
	if _, _, err := allocEnvPair(used); err == nil {
		t.Error("allocated from a full block")
	}
}

func TestCompileHyperplane(t *testing.T) {
	s := compileHyperplane("lpab", "lpab-w123456")
	for _, want := range []string{
		"table inet lpab_hp {",
		"delete table inet lpab_hp",
		"type filter hook forward priority filter; policy drop;",
		`iifname "lpab-h*" oifname "lpab-w123456" ct state new accept`,
		`iifname "lpab-h*" oifname "lpab-w123456" masquerade`,
		`iifname "lpab-h*" drop`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}
