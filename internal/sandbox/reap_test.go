package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A killed server leaves its environments frozen in their cgroups; the
// next manager owning the same parent kills them and removes the groups.
func TestManagerReapsLeftoverCgroups(t *testing.T) {
	requireRoot(t)
	b := make([]byte, 4)
	rand.Read(b)
	parent := "lambdaplane/lptest" + hex.EncodeToString(b)
	dead, err := newCgroupRoot(parent, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.remove) // it made the parent; runs last, once it is empty
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill() })
	exited := make(chan struct{})
	go func() { sleeper.Wait(); close(exited) }()
	var leftovers []string
	for c, dir := range dead.parents {
		d := filepath.Join(dir, "lpleftover")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		leftovers = append(leftovers, d)
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
		switch {
		case dead.v2:
			os.WriteFile(filepath.Join(d, "cgroup.freeze"), []byte("1"), 0)
		case c == "freezer":
			os.WriteFile(filepath.Join(d, "freezer.state"), v1Frozen, 0)
		}
	}
	// A dead run's frozen sentinel is a leftover too.
	if !dead.v2 {
		s := filepath.Join(dead.parents["freezer"], "frozen-sentinel-999999999")
		if err := os.Mkdir(s, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(s, "freezer.state"), v1Frozen, 0)
		leftovers = append(leftovers, s)
	}

	r, err := newCgroupRoot(parent, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.remove()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the leftover environment's process is still running")
	}
	for _, d := range leftovers {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("leftover cgroup %s still there (%v)", d, err)
		}
	}
}
