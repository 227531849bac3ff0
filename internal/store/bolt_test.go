package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBoltReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, s, fmt.Sprintf("k/%02d", i), fmt.Sprint(i))
	}
	put(t, s, "k/03", "changed")
	del(t, s, "k/07")
	before := list(t, s, "")
	rev := s.Rev()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Rev() != rev {
		t.Fatalf("Rev after reopen %d, want %d", s.Rev(), rev)
	}
	after := list(t, s, "")
	if len(after) != len(before) {
		t.Fatalf("%d keys after reopen, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.Key != b.Key || string(a.Value) != string(b.Value) || a.CreateRev != b.CreateRev || a.ModRev != b.ModRev {
			t.Errorf("after reopen %+v, want %+v", a, b)
		}
	}
	// History does not survive a restart, but watching from now does.
	if _, err := s.Watch(t.Context(), "", rev-1); !errors.Is(err, ErrCompacted) {
		t.Errorf("Watch(rev-1) after reopen: %v, want ErrCompacted", err)
	}
	ch, err := s.Watch(t.Context(), "", rev)
	if err != nil {
		t.Fatal(err)
	}
	if got := put(t, s, "new", "x"); got != rev+1 {
		t.Errorf("first rev after reopen %d, want %d", got, rev+1)
	}
	if ev := recv(t, ch); ev.Rev != rev+1 || ev.KV.CreateRev != rev+1 {
		t.Errorf("event after reopen %+v", ev)
	}
}

func TestBoltSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if d := time.Since(start); d > defaultOptions.lockTimeout+2*time.Second {
		t.Errorf("second Open took %v", d)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "another lambdaplane") {
		t.Errorf("error %q should name the file and say another lambdaplane may be running", msg)
	}
	// The first store is unaffected.
	if rev := put(t, s, "a", "1"); rev != 1 {
		t.Errorf("put after failed second open: rev %d", rev)
	}
}
