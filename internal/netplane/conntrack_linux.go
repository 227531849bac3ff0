//go:build linux

package netplane

import (
	"fmt"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// ConnectionCount is how many connections the Hyperplane ENI eniID carries
// now, as the limit on an ENI's concurrent connections counts them: the
// flows that environments behind it opened into the VPC, which its
// namespace tracks because it masquerades them to the ENI's address.
//
// A flow counts while it holds its translated source port: TCP until the
// connection is over (TIME_WAIT and CLOSE entries are conntrack's memory of
// finished connections, not connections), UDP and ICMP while conntrack
// keeps them (their only end is a timeout, on AWS too). Flows into the
// ENI's own address are not the environments' and do not count; the
// namespace drops those that come from an environment before conntrack
// confirms them, so they never appear.
func ConnectionCount(prefix, eniID string) (int, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return 0, err
	}
	ns := ENINetns(prefix, eniID)
	if !isNetns(filepath.Join(netnsDir, ns)) {
		return 0, fmt.Errorf("netplane: ENI %s has no namespace %s", eniID, ns)
	}
	var flows []*netlink.ConntrackFlow
	if err := Do(ns, func() (err error) {
		flows, err = retryDump(func() ([]*netlink.ConntrackFlow, error) {
			return netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_V4)
		})
		return err
	}); err != nil {
		return 0, fmt.Errorf("netplane: connections of ENI %s: %w", eniID, err)
	}
	n := 0
	for _, f := range flows {
		if countsAsConnection(f) {
			n++
		}
	}
	return n, nil
}

func countsAsConnection(f *netlink.ConntrackFlow) bool {
	if src := ipAddr(f.Forward.SrcIP); !src.IsValid() || !envBlock.Contains(src) {
		return false
	}
	if tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP); ok {
		return tcp.State != nl.TCP_CONNTRACK_TIME_WAIT && tcp.State != nl.TCP_CONNTRACK_CLOSE
	}
	return true
}
