package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// netResults are the data-plane rows: what netplane costs next to the same
// kernel work done directly, measured in the same run.
type netResults struct {
	// skipped says why the rows were not measured (not root).
	skipped string

	// One sample is AttachEnvironment and DetachEnvironment of one new
	// environment; the baseline does the same kernel work with netlink
	// calls of its own.
	attach, attachRaw              []time.Duration
	attachOnly, attachOnlyRaw      []time.Duration // the attach half of each sample
	attachEnvs                     int
	tputNetplane, tputVeth         float64 // bytes per second received by the sink
	tputDuration                   time.Duration
	tputSlices                     int
	tputWrite                      int
	tputPeer                       string // the address the instance saw the function's connection come from
	tputNetplaneDesc, tputVethDesc string
}

// tputTarget is the share of bare-veth throughput that the path from a
// function through its Hyperplane ENI, SNAT, the router and two sets of
// security groups must keep.
const tputTarget = 80.0

// lpName is "lp" and n random lowercase letters or digits: the prefix of
// every kernel object a row makes, so that it can neither meet another
// run's objects nor outlive this one unnoticed.
func lpName(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "lp" + string(b)
}

// pct returns the p-th percentile of samples.
func pct(samples []time.Duration, p float64) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	return percentile(s, p)
}

func reportNet(out io.Writer, nr *netResults) {
	fmt.Fprintf(out, "\ndata plane (netplane, as root):\n")
	if nr.skipped != "" {
		fmt.Fprintf(out, "  skipped: %s\n", nr.skipped)
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tnetplane\tbaseline\tratio\ttarget\tresult\t")
	for _, p := range []float64{50, 90} {
		a, b := pct(nr.attach, p), pct(nr.attachRaw, p)
		fmt.Fprintf(tw, "environment attach+detach p%.0f\t%s\t%s (raw netlink)\t%.2fx\t(none)\t\t\n", p, ms(a), ms(b), float64(a)/float64(b))
	}
	share := 100 * nr.tputNetplane / nr.tputVeth
	fmt.Fprintf(tw, "TCP function->instance\t%.0f MB/s\t%.0f MB/s (bare veth)\t%.1f%%\t>= %.0f%%\t%s\t\n",
		nr.tputNetplane/1e6, nr.tputVeth/1e6, share, tputTarget, verdict(share >= tputTarget))
	tw.Flush()
	fmt.Fprintf(out, "attach alone p50: netplane %s, raw %s (p50 of each part; %d environments each, alternating)\n",
		ms(pct(nr.attachOnly, 50)), ms(pct(nr.attachOnlyRaw, 50)), nr.attachEnvs)
	fmt.Fprintf(out, "TCP: one connection per path, %d KiB writes, %s measured per path in %d turns taken alternately; netplane: %s (the instance saw %s); baseline: %s\n",
		nr.tputWrite/1024, nr.tputDuration, nr.tputSlices, nr.tputNetplaneDesc, nr.tputPeer, nr.tputVethDesc)
}
