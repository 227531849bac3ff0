package netplane

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kernel object names are <prefix>-<kind><6 hex of sha256(id)>. The "-"
// cannot occur in a prefix, so ownership is exact: prefix "lpa" never
// claims the objects of prefix "lpab". Interface names must fit in 15
// bytes (IFNAMSIZ-1), which bounds the prefix to 7 bytes.
const (
	maxPrefixLen = 15 - len("-k") - 6

	kindRouterNS  = 'r' // VPC router namespace
	kindENINS     = 'n' // workload namespace made for an ENI without one
	kindRouterEnd = 'e' // router side of an ENI's veth pair
	kindWorkEnd   = 'w' // workload side of an ENI's veth pair
	kindEnvNS     = 'x' // an execution environment's namespace
)

// ValidatePrefix reports whether prefix can name kernel objects: "lp"
// followed by 1 to 5 lowercase letters or digits.
func ValidatePrefix(prefix string) error {
	if len(prefix) < 3 || len(prefix) > maxPrefixLen || !strings.HasPrefix(prefix, "lp") {
		return fmt.Errorf("netplane: prefix %q must be \"lp\" followed by 1 to %d characters", prefix, maxPrefixLen-2)
	}
	for _, c := range prefix {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("netplane: prefix %q may hold only a-z and 0-9", prefix)
		}
	}
	return nil
}

func shortHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:3])
}

func objectName(prefix string, kind byte, id string) string {
	return prefix + "-" + string(kind) + shortHash(id)
}

// owned reports whether name was made by objectName with prefix.
func owned(prefix, name string) bool {
	return strings.HasPrefix(name, prefix+"-")
}

// RouterNetns is the name of the router namespace of VPC vpcID.
func RouterNetns(prefix, vpcID string) string { return objectName(prefix, kindRouterNS, vpcID) }

// ENINetns is the namespace name Apply uses for an ENI whose Netns is empty;
// controllers use it to find where a workload must run.
func ENINetns(prefix, eniID string) string { return objectName(prefix, kindENINS, eniID) }

// EnvNetns names the namespace of an execution environment. Apply never
// removes these (their life is the environment's, which Lambda manages);
// Teardown does.
func EnvNetns(prefix, envID string) string { return objectName(prefix, kindEnvNS, envID) }

func isEnvNetns(prefix, name string) bool {
	return strings.HasPrefix(name, prefix+"-"+string(kindEnvNS))
}

func routerLinkName(prefix, eniID string) string { return objectName(prefix, kindRouterEnd, eniID) }

func workloadLinkName(prefix, eniID string) string { return objectName(prefix, kindWorkEnd, eniID) }

// eniMAC derives a stable, locally administered unicast MAC for an ENI
// that was given none.
func eniMAC(eniID string) string {
	sum := sha256.Sum256([]byte("mac:" + eniID))
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])
}

// PrefixFor is the prefix of a server's kernel objects, derived from its
// data directory so that a restarted server finds (and converges) what
// the previous run made, and two servers on one machine never share one.
func PrefixFor(dataDir string) string {
	sum := sha256.Sum256([]byte("lambdaplane:" + dataDir))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return "lp" + string(b)
}
