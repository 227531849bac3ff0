package netctl

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestHostResolver(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := hostResolver(write("# generated\nsearch lan\nnameserver not-an-address\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n"))
	if err != nil || got != netip.MustParseAddrPort("127.0.0.53:53") {
		t.Errorf("got %v, %v; want 127.0.0.53:53", got, err)
	}
	if got, err := hostResolver(write("nameserver fe80::1%eth0\n")); err != nil || got.Addr().String() != "fe80::1%eth0" {
		t.Errorf("IPv6 with zone: %v, %v", got, err)
	}
	if _, err := hostResolver(write("search lan\n")); err == nil {
		t.Error("no nameserver, no error")
	}
	if _, err := hostResolver(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file, no error")
	}
}
