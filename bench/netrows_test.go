package main

import (
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// The data-plane rows name everything with lpName's prefixes, which
// netplane must accept (Apply and Teardown refuse anything else) and which
// must differ from run to run.
func TestLpNameIsAValidFreshPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := lpName(5)
		if err := netplane.ValidatePrefix(p); err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("prefix %s came twice in 200 draws", p)
		}
		seen[p] = true
	}
}
