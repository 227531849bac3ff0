package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/sandbox/runtimes"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// doctor reports what this machine gives lambdaplane (isolation, tools,
// cgroups, runtimes and SDKs) and, for the data directory of a server that
// is not running, converges the kernel network to the stored state as a
// starting server would, saying what it repaired. It changes nothing else
// but the runtimes directory it probes.
func doctor(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	sdkDir := fs.String("sdk-dir", runtimes.DefaultSDKDir(), "SDK directory to check")
	dataDir := fs.String("data-dir", defaultDataDir(), "the data directory of the server whose network to check and repair")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("doctor takes no arguments, got %q", fs.Args())
	}
	fmt.Fprintf(out, "lambdaplane %s\n", version)
	root := os.Geteuid() == 0
	tools := describeTools(out)
	switch {
	case root && tools:
		fmt.Fprintln(out, "data plane: linux (root: namespaces, cgroups and the VPC network)")
	case root:
		fmt.Fprintln(out, "data plane: linux (root: namespaces and cgroups), but the VPC network needs both ip and nft")
	default:
		fmt.Fprintln(out, "data plane: NONE (not root: driver none)")
		fmt.Fprintln(out, "  !!! WITHOUT ROOT THERE IS NO ISOLATION: lambdaplane serve runs with --dataplane=none.")
		fmt.Fprintln(out, "  !!! Functions run as plain processes: nothing limits what they reach, their memory")
		fmt.Fprintln(out, "  !!! or their files, and VPCs get no network. Run as root for isolation.")
	}
	fmt.Fprintf(out, "cgroups:    %s\n", sandbox.DescribeCgroups())
	if err := describeRuntimes(out, *sdkDir); err != nil {
		return err
	}

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	prefix := netplane.PrefixFor(dir)
	fmt.Fprintf(out, "data dir:   %s\n", dir)
	fmt.Fprintf(out, "prefix:     %s (kernel objects %s-*)\n", prefix, prefix)
	if !root || !tools {
		fmt.Fprintln(out, "network:    not checked: it needs root, ip and nft")
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return doctorNetwork(ctx, out, dir, prefix)
}

// describeTools reports the programs the VPC network runs; it tells whether
// all are there.
func describeTools(out io.Writer) bool {
	ok := true
	var parts []string
	for _, name := range []string{"ip", "nft"} {
		if p, err := exec.LookPath(name); err == nil {
			parts = append(parts, name+" "+p)
		} else {
			ok = false
			parts = append(parts, name+" MISSING")
		}
	}
	fmt.Fprintf(out, "tools:      %s\n", strings.Join(parts, ", "))
	return ok
}

func describeRuntimes(out io.Writer, sdkDir string) error {
	tmp, err := os.MkdirTemp("", "lp-doctor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rts, err := runtimes.Install(filepath.Join(tmp, "runtimes"), sdkDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "runtimes:   %s\n", strings.Join(runtimes.Names(), ", "))
	for _, w := range rts.Warnings() {
		fmt.Fprintf(out, "warning:    %s\n", w)
	}
	return nil
}

// doctorNetwork converges the network of the server whose data directory
// is dir, unless that server is running: then its controller owns the
// network and doctor leaves it alone.
func doctorNetwork(ctx context.Context, out io.Writer, dir, prefix string) error {
	path := filepath.Join(dir, "state.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "store:      none at %s: no server has run with this data dir\n", path)
		return nil
	}
	// A running server holds the file's lock. A shared (read-only) open
	// fails fast against it and, unlike store.Open, writes nothing.
	probe, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 300 * time.Millisecond})
	if errors.Is(err, bolt.ErrTimeout) {
		fmt.Fprintf(out, "store:      %s is locked: a server is running with this data dir\n", path)
		fmt.Fprintln(out, "network:    not touched: the running server's controller keeps it converged")
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := probe.Close(); err != nil {
		return err
	}
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := ec2.New(ec2.Options{Store: st})
	if err != nil {
		return err
	}
	snap := svc.SettledSnapshot()
	svc.Close()
	topo := netctl.Topology(prefix, snap)
	enis := 0
	for _, v := range topo.VPCs {
		enis += len(v.ENIs)
	}
	fmt.Fprintf(out, "store:      %s (%d VPCs, %d network interfaces)\n", path, len(topo.VPCs), enis)

	// As at a server's start: environments died with the server that ran
	// them.
	envs, envErr := netplane.RemoveEnvironmentsReport(prefix)
	if len(envs) == 0 && envErr == nil {
		fmt.Fprintln(out, "environments: no namespace of a dead execution environment")
	} else {
		fmt.Fprintf(out, "environments: removed %d namespace(s) of dead execution environments\n", len(envs))
	}
	lines, err := netplane.ApplyReport(ctx, topo)
	switch {
	case len(lines) == 0 && err == nil:
		fmt.Fprintln(out, "network:    kernel matches the stored state")
	case len(lines) > 0:
		fmt.Fprintf(out, "network:    found and fixed %d differences from the stored state:\n", len(lines))
		for _, l := range lines {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	return errors.Join(envErr, err)
}
