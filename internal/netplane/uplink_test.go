package netplane

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestUplinkAddrs(t *testing.T) {
	taken := []netip.Prefix{envBlock, peeringBlock, endpointBlock,
		netip.MustParsePrefix("169.254.169.0/24"), netip.MustParsePrefix("169.254.170.0/24"),
		netip.PrefixFrom(inetSideAddr, 24)}
	seen := map[netip.Prefix]bool{}
	for i := range 200 {
		prefix := fmt.Sprintf("lp%d", i)
		inet, hostEnd := uplinkAddrs(prefix)
		if inet.Bits() != 30 || inet.Masked() != hostEnd.Masked() || inet.Addr() == hostEnd.Addr() {
			t.Fatalf("%s: %v and %v are not two hosts of one /30", prefix, inet, hostEnd)
		}
		if !uplinkBlock.Contains(inet.Addr()) || !uplinkBlock.Contains(hostEnd.Addr()) {
			t.Fatalf("%s: %v, %v outside %v", prefix, inet, hostEnd, uplinkBlock)
		}
		if base := inet.Masked().Addr(); inet.Addr() != base.Next() || hostEnd.Addr() != base.Next().Next() {
			t.Fatalf("%s: %v, %v are not the /30's two hosts", prefix, inet, hostEnd)
		}
		for _, p := range taken {
			if p.Overlaps(inet) {
				t.Fatalf("%s: %v overlaps %v", prefix, inet, p)
			}
		}
		seen[inet.Masked()] = true
	}
	if len(seen) < 150 {
		t.Errorf("200 prefixes share %d transit networks; the hash spreads badly", len(seen))
	}
	a, _ := uplinkAddrs("lpabc")
	if b, _ := uplinkAddrs("lpabc"); a != b {
		t.Error("transit addresses are not stable for a prefix")
	}
}
