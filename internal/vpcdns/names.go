package vpcdns

import (
	"net/netip"
	"strings"
)

// ResolverLinkLocal is the address every VPC reaches its resolver at,
// besides the base of its primary CIDR plus two (ResolverAddr).
var ResolverLinkLocal = netip.AddrFrom4([4]byte{169, 254, 169, 253})

// ResolverAddr is the VPC resolver's address inside the VPC: the base of
// the VPC's primary IPv4 CIDR plus two (10.0.0.2 for 10.0.0.0/16).
func ResolverAddr(primaryCIDR netip.Prefix) netip.Addr {
	return primaryCIDR.Masked().Addr().Next().Next()
}

// PrivateHostname is the Amazon-provided private DNS name of a private
// IPv4 address, without the final dot: ip-10-0-1-5.ec2.internal in
// us-east-1, ip-10-0-1-5.REGION.compute.internal in every other region.
// It is "" for an address that is not IPv4.
func PrivateHostname(region string, ip netip.Addr) string {
	label := dashed("ip-", ip)
	if label == "" {
		return ""
	}
	if region == "us-east-1" {
		return label + ".ec2.internal"
	}
	return label + "." + region + ".compute.internal"
}

// PublicHostname is the public DNS name of a public IPv4 address, without
// the final dot: ec2-198-51-100-5.compute-1.amazonaws.com in us-east-1,
// ec2-198-51-100-5.REGION.compute.amazonaws.com in every other region.
// It is "" for an address that is not IPv4.
func PublicHostname(region string, ip netip.Addr) string {
	label := dashed("ec2-", ip)
	if label == "" {
		return ""
	}
	if region == "us-east-1" {
		return label + ".compute-1.amazonaws.com"
	}
	return label + "." + region + ".compute.amazonaws.com"
}

func dashed(prefix string, ip netip.Addr) string {
	ip = ip.Unmap()
	if !ip.Is4() {
		return ""
	}
	return prefix + strings.ReplaceAll(ip.String(), ".", "-")
}
