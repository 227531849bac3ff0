package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/sandbox/runtimes"
)

// doctor reports what this machine gives lambdaplane: isolation, cgroups,
// runtimes and SDKs. It changes nothing but the runtimes directory it probes.
func doctor(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	sdkDir := fs.String("sdk-dir", runtimes.DefaultSDKDir(), "SDK directory to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(out, "lambdaplane %s\n", version)
	if os.Geteuid() == 0 {
		fmt.Fprintln(out, "isolation:  available (running as root: namespaces and cgroups)")
	} else {
		fmt.Fprintln(out, "isolation:  NONE (not root): --dataplane=none, functions run as plain processes")
	}
	fmt.Fprintf(out, "cgroups:    %s\n", sandbox.DescribeCgroups())
	tmp, err := os.MkdirTemp("", "lp-doctor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rts, err := runtimes.Install(filepath.Join(tmp, "runtimes"), *sdkDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "runtimes:   %s\n", strings.Join(runtimes.Names(), ", "))
	for _, w := range rts.Warnings() {
		fmt.Fprintf(out, "warning:    %s\n", w)
	}
	return nil
}
