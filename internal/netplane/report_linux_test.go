package netplane

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// The report of an Apply names each repair; converged, it is empty.
func TestApplyReportListsRepairs(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	topo := testTopology(prefix)
	ctx := context.Background()
	router := RouterNetns(prefix, "vpc-0a1b2c3d")
	nsB := ENINetns(prefix, "eni-b")

	lines, err := ApplyReport(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	has := func(lines []string, want string) {
		t.Helper()
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("no line with %q in:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	has(lines, "created namespace "+router+" (router of vpc-0a1b2c3d)")
	has(lines, "created namespace "+nsB+" (namespace of eni-b)")
	if lines, err := ApplyReport(ctx, topo); err != nil || len(lines) != 0 {
		t.Fatalf("converged: lines %q, err %v", lines, err)
	}

	// A lost pair (deleting one end takes the other), a lost route of
	// another ENI, a lost rule and a crash's namespace.
	ipIn(t, nsB, "link", "del", workloadLinkName(prefix, "eni-b"))
	ipIn(t, router, "route", "del", "10.23.2.10/32")
	ipIn(t, router, "rule", "del", "from", "10.23.2.0/24")
	stale := prefix + "-rdeadbe"
	if _, err := ensureNS(stale); err != nil {
		t.Fatal(err)
	}
	// An environment's namespace is Lambda's, not Apply's.
	env := EnvNetns(prefix, "env-1")
	if _, err := ensureNS(env); err != nil {
		t.Fatal(err)
	}
	lines, err = ApplyReport(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("repairs:\n%s", strings.Join(lines, "\n"))
	has(lines, "removed stale namespace "+stale)
	has(lines, "created veth "+routerLinkName(prefix, "eni-b")+"/"+workloadLinkName(prefix, "eni-b")+" of eni-b")
	has(lines, "added address 10.23.1.11/24 to "+workloadLinkName(prefix, "eni-b")+" (eni-b) in "+nsB)
	has(lines, "added route table 254 unicast 10.23.2.10/32 dev "+routerLinkName(prefix, "eni-c")+" in "+router)
	has(lines, "added rule 1000: from 10.23.2.0/24 lookup ")
	for _, l := range lines {
		if strings.Contains(l, "eni-a") {
			t.Errorf("eni-a was not touched, yet: %s", l)
		}
	}
	if names, _ := ownedNS(prefix); slices.Contains(names, stale) {
		t.Errorf("%s survived", stale)
	}
	if lines, err := ApplyReport(ctx, topo); err != nil || len(lines) != 0 {
		t.Fatalf("after the repair: lines %q, err %v", lines, err)
	}
	if names, _ := ownedNS(prefix); !slices.Contains(names, env) {
		t.Fatalf("Apply removed the environment namespace %s", env)
	}
	if gone, err := RemoveEnvironmentsReport(prefix); err != nil || !slices.Equal(gone, []string{env}) {
		t.Fatalf("RemoveEnvironmentsReport: %q, %v; want [%s]", gone, err, env)
	}
	if gone, err := RemoveEnvironmentsReport(prefix); err != nil || len(gone) != 0 {
		t.Fatalf("second RemoveEnvironmentsReport: %q, %v", gone, err)
	}
}
