package runtimes

import (
	"slices"
	"testing"
	"time"
)

// TestColdStart measures process start to the first /next request, the
// part of a cold start the bootstrap is responsible for, and reports it in
// -v output. The bound only catches a bootstrap that became pathologically
// slow (for instance a pyenv shim in the path again).
func TestColdStart(t *testing.T) {
	for _, w := range testSet.Warnings() {
		t.Log("install warning:", w)
	}
	cases := []struct {
		name, runtime, handler string
		files                  map[string]string
	}{
		{"node-cjs", "nodejs20.x", "index.handler", map[string]string{"index.js": "exports.handler = async () => 1;"}},
		{"node-esm", "nodejs20.x", "index.handler", map[string]string{"index.mjs": "export const handler = async () => 1;"}},
		{"python", defaultPythonRuntime(t).Name, "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return 1\n"}},
	}
	const runs = 5
	for _, c := range cases {
		root := writeFiles(t, c.files)
		var samples []time.Duration
		for i := 0; i < runs; i++ {
			api := newFakeAPI(t)
			p := startRuntime(t, testSet, api, mustRuntime(t, c.runtime), c.handler, root)
			select {
			case <-api.nextSeen:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no /next within 10s", c.name)
			}
			api.mu.Lock()
			samples = append(samples, api.firstNext.Sub(p.start))
			api.mu.Unlock()
			expectResponse(t, api.invoke(&fakeInvocation{}), "1")
		}
		slices.Sort(samples)
		median := samples[runs/2]
		t.Logf("%-9s %-11s start→first /next: median %v, min %v, max %v", c.name, c.runtime,
			median.Round(time.Millisecond), samples[0].Round(time.Millisecond), samples[runs-1].Round(time.Millisecond))
		if median > 2*time.Second {
			t.Errorf("%s cold start median %v", c.name, median)
		}
	}
}
