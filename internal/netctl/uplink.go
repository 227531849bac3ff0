package netctl

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// resolvConf is where the host's resolvers are listed.
const resolvConf = "/etc/resolv.conf"

// WithUplink gives the simulated internet a real uplink (--internet=host)
// through the network namespace at hostNetnsPath: after every apply the
// controller connects it (netplane.ConnectUplink), and the internet's DNS
// server forwards the names it does not hold to the host's first resolver,
// asked from that namespace. Close and Teardown disconnect it, so that the
// host keeps nothing of the server once it stops. Call it before Run or
// Sync.
func (c *Controller) WithUplink(hostNetnsPath string) *Controller {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uplink = hostNetnsPath
	c.dns.upstreamFrom = hostNetnsPath
	c.dns.resolvConf = resolvConf
	return c
}

// syncUplink runs after each successful apply. Without an uplink, the
// first one removes what a previous run with --internet=host may have
// left: the link, from the internet namespace alone (its host end goes
// with it), so the host is not touched.
func (c *Controller) syncUplink() error {
	if c.uplink != "" {
		return netplane.ConnectUplink(c.prefix, c.uplink)
	}
	if c.uplinkCleared {
		return nil
	}
	if err := netplane.DisconnectUplink(c.prefix, ""); err != nil {
		return err
	}
	c.uplinkCleared = true
	return nil
}

// disconnectUplink removes the uplink from the host, if there is one.
func (c *Controller) disconnectUplink() error {
	if c.uplink == "" {
		return nil
	}
	return netplane.DisconnectUplink(c.prefix, c.uplink)
}

func uplinkError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("netctl: uplink: %w", err)
}

// hostResolver is the first usable nameserver of a resolv.conf file.
func hostResolver(path string) (netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(fields[1]); err == nil {
			return netip.AddrPortFrom(a, 53), nil
		}
	}
	if err := sc.Err(); err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPort{}, errors.New("netctl: no nameserver in " + path)
}
