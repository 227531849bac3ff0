package netctl

import (
	"context"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/lambda"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/vpcdns"
)

// EnvNetwork puts Lambda execution environments behind their Hyperplane
// ENIs in the network the Controller with the same prefix realizes.
type EnvNetwork struct {
	Prefix string
}

// AttachEnv implements lambda.EnvNetwork. The interface may be moments old,
// its namespace not made yet by the controller: it waits for it a while.
// Environments in a VPC ask the VPC's resolver (through their ENI, which
// its router answers at 169.254.169.253); the others the internet's.
func (n EnvNetwork) AttachEnv(ctx context.Context, eniID, envID string) (lambda.EnvAttachment, error) {
	nameserver := vpcdns.ResolverLinkLocal.String()
	if eniID == "" {
		eniID, nameserver = netplane.LambdaNetworkID, netplane.InternetDNSAddr.String()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		link, err := netplane.AttachEnvironment(n.Prefix, eniID, netplane.EnvNetns(n.Prefix, envID))
		if err == nil {
			return lambda.EnvAttachment{NetNS: "/run/netns/" + link.Netns, Nameservers: []string{nameserver}}, nil
		}
		select {
		case <-ctx.Done():
			return lambda.EnvAttachment{}, err
		case <-time.After(wait):
		}
	}
}

// DetachEnv implements lambda.EnvNetwork.
func (n EnvNetwork) DetachEnv(eniID, envID string) error {
	if eniID == "" {
		eniID = netplane.LambdaNetworkID
	}
	return netplane.DetachEnvironment(n.Prefix, eniID, netplane.EnvNetns(n.Prefix, envID))
}

// ConnectionCount implements lambda.EnvNetwork.
func (n EnvNetwork) ConnectionCount(eniID string) (int, error) {
	return netplane.ConnectionCount(n.Prefix, eniID)
}
