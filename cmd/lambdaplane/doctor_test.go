package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/store"
)

// doctor reaches the store only as root, with ip and nft.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("privileged test needs root, and CI=true")
	}
	t.Skip("needs root")
}

func TestDoctorWithoutStore(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "data")
	var out bytes.Buffer
	if err := doctor([]string{"--data-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no server has run with this data dir") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("doctor made the data dir: %v", err)
	}
}

func TestDoctorLeavesRunningServerAlone(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	// Holding the store open is what a running server does.
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out bytes.Buffer
	if err := doctor([]string{"--data-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "a server is running with this data dir") ||
		strings.Contains(out.String(), "kernel matches") {
		t.Errorf("output:\n%s", out.String())
	}
}
