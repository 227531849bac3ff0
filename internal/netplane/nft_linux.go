//go:build linux

package netplane

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// ApplyFirewall loads a script from CompileFirewall into the named network
// namespace. The script is one nft transaction: on error nothing changed.
func ApplyFirewall(netnsName, script string) error {
	return nftIn(netnsName, script)
}

// RemoveFirewall deletes the firewall table from the named network
// namespace; removing a table that is not there is not an error, so that
// reconciling a half-removed VPC converges.
func RemoveFirewall(netnsName, table string) error {
	t := nftIdent(table)
	return nftIn(netnsName, fmt.Sprintf("table inet %s\ndelete table inet %s\n", t, t))
}

// nftIn runs nft through "ip netns exec" rather than setns in this
// process, so that no goroutine of the server ever runs in a VPC namespace.
func nftIn(netnsName, script string) error {
	cmd := exec.Command("ip", "netns", "exec", netnsName, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft in netns %s: %v: %s", netnsName, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
