// Command lambdaplane is a self-hosted, AWS-compatible Lambda service with a
// real VPC data plane. This file holds flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/lambda"
	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/sandbox/runtimes"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `lambdaplane: AWS Lambda with a real VPC data plane, on your machine.

Usage:
  lambdaplane serve [flags]    start the server (flags: lambdaplane serve -h)
  lambdaplane doctor [flags]   report what this machine supports; repair a stopped server's network
  lambdaplane teardown [flags] remove the network namespaces a server made for its VPCs
  lambdaplane version          print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "doctor":
		err = doctor(os.Args[2:], os.Stdout)
	case "teardown":
		err = teardown(os.Args[2:])
	case "version", "--version", "-version":
		fmt.Println("lambdaplane", version)
	case "help", "-h", "--help", "usage":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "lambdaplane: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdaplane:", err)
		os.Exit(1)
	}
}

type accountFlags []string

func (a *accountFlags) String() string     { return strings.Join(*a, ",") }
func (a *accountFlags) Set(v string) error { *a = append(*a, v); return nil }

// options are serve's flags.
type options struct {
	listen              string
	dataDir             string
	accounts            accountFlags
	dataplane           string
	internet            string
	sdkDir              string
	envIdleTimeout      time.Duration
	asyncRetryBase      time.Duration
	natCreateDelay      time.Duration
	endpointCreateDelay time.Duration
	eniCreateDelay      time.Duration
	eniDeleteDelay      time.Duration
	eniMaxConnections   int
	idleReclaimAfter    time.Duration
	logLevel            string
}

func parseServe(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:4566", "address for every service's endpoint")
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "where state, deployment packages and environments live")
	fs.Var(&o.accounts, "account", "extra account as `ID:ACCESS_KEY:SECRET` (repeatable); account 123456789012 with key test/test always exists")
	fs.StringVar(&o.dataplane, "dataplane", "auto", "auto, linux (namespaces and cgroups; needs root) or none (plain processes, no isolation)")
	fs.StringVar(&o.internet, "internet", "simulated", "simulated (nothing leaves the machine) or host (the simulated internet gets a real uplink through the host's masquerade; linux data plane only)")
	fs.StringVar(&o.sdkDir, "sdk-dir", runtimes.DefaultSDKDir(), "where the AWS SDKs that functions import without bundling are installed (scripts/install-sdks.sh)")
	fs.DurationVar(&o.envIdleTimeout, "env-idle-timeout", 10*time.Minute, "stop a warm execution environment nobody invoked for this long")
	fs.DurationVar(&o.asyncRetryBase, "async-retry-base", time.Minute, "wait before retrying a failed asynchronous invocation; the second retry waits twice as long")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.natCreateDelay, "nat-create-delay", 0, "how long a new NAT gateway stays pending (AWS: a minute or two); 0 = available at once")
	fs.DurationVar(&o.endpointCreateDelay, "endpoint-create-delay", 0, "how long a new interface VPC endpoint stays pending; 0 = available at once")
	fs.DurationVar(&o.eniCreateDelay, "eni-create-delay", 0, "how long Lambda takes to make a function's network interfaces (AWS: about a minute for a new subnet and group combination); the function is Pending meanwhile")
	fs.DurationVar(&o.idleReclaimAfter, "idle-reclaim-after", 14*24*time.Hour, "a VPC function version nobody invoked for this long loses its network interfaces and becomes Inactive (AWS: weeks); 0 = never")
	fs.IntVar(&o.eniMaxConnections, "eni-max-connections", 65000, "how many concurrent connections a Lambda network interface carries before Lambda adds another for the same subnet and security groups (AWS: 65,000)")
	fs.DurationVar(&o.eniDeleteDelay, "eni-delete-delay", 0, "how long a Lambda network interface no function uses is kept before it is deleted (AWS: up to 20 minutes)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	switch o.dataplane {
	case "auto", "linux", "none":
	default:
		return nil, fmt.Errorf("--dataplane must be auto, linux or none, not %q", o.dataplane)
	}
	switch o.internet {
	case "simulated", "host":
	default:
		return nil, fmt.Errorf("--internet must be simulated or host, not %q", o.internet)
	}
	return o, nil
}

// defaultDataDir follows the XDG base directory convention for data.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "lambdaplane")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "lambdaplane")
	}
	return ".lambdaplane"
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// isolation decides the --dataplane mode: linux needs root.
func isolation(mode string, log *slog.Logger) (bool, error) {
	root := os.Geteuid() == 0
	switch mode {
	case "linux":
		if !root {
			return false, errors.New("--dataplane=linux needs root (namespaces and cgroups); use --dataplane=none to run without isolation")
		}
		return true, nil
	case "none":
		log.Warn("DATAPLANE NONE: functions run as plain processes without isolation; nothing limits what they reach, their memory or their files")
		return false, nil
	}
	if root {
		return true, nil
	}
	log.Warn("DATAPLANE NONE (not root): functions run as plain processes without isolation; run as root for namespaces and cgroups")
	return false, nil
}

func serve(args []string) error {
	o, err := parseServe(args, os.Stderr)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The server's live heap is small and the invoke path allocates per
		// request; collecting less often buys throughput for little memory.
		debug.SetGCPercent(400)
	}
	log, err := newLogger(o.logLevel)
	if err != nil {
		return err
	}
	var specs []iam.AccountSpec
	for _, a := range o.accounts {
		spec, err := iam.ParseAccountSpec(a)
		if err != nil {
			return fmt.Errorf("--account: %w", err)
		}
		specs = append(specs, spec)
	}
	accounts, err := iam.NewAccounts(specs...)
	if err != nil {
		return err
	}
	isolate, err := isolation(o.dataplane, log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(o.dataDir, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	identities, err := iam.New(iam.Options{Store: st, Accounts: accounts, Logger: log})
	if err != nil {
		return err
	}

	rts, err := runtimes.Install(filepath.Join(o.dataDir, "runtimes"), o.sdkDir)
	if err != nil {
		return err
	}
	for _, w := range rts.Warnings() {
		log.Warn(w)
	}
	absDataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	// The environments' cgroups sit under a parent of this data directory's
	// own (the store's lock makes it this server's alone), so that what a
	// killed run left there is recognized and cleared.
	sb, err := sandbox.NewManager(sandbox.Config{
		Isolate:      isolate,
		BaseDir:      filepath.Join(o.dataDir, "sandboxes"),
		Launcher:     launcher(rts),
		SharedPaths:  []string{filepath.Join(o.dataDir, "runtimes"), o.sdkDir},
		Logger:       log,
		LogSink:      functionOutput(log),
		CgroupParent: "lambdaplane/" + netplane.PrefixFor(absDataDir),
		OwnParent:    true,
	})
	if err != nil {
		return err
	}
	defer sb.Close()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	vpcs, err := ec2.New(ec2.Options{Store: st, Authorizer: identities, Logger: log,
		NatCreateDelay: o.natCreateDelay, EndpointCreateDelay: o.endpointCreateDelay, EniDeleteDelay: o.eniDeleteDelay})
	if err != nil {
		ln.Close()
		return err
	}
	defer vpcs.Close()

	var envNet lambda.EnvNetwork
	netPrefix := ""
	if isolate {
		netPrefix = netplane.PrefixFor(absDataDir)
		// Environments of a previous run (a crash, kill -9) died with it;
		// their namespaces go before any new one is made.
		if err := netplane.RemoveEnvironments(netPrefix); err != nil {
			log.Warn("removing the network namespaces of a previous run's environments", "err", err)
		}
		envNet = netctl.EnvNetwork{Prefix: netPrefix}
	}
	svc, err := lambda.New(lambda.Options{
		Store:            st,
		CodeDir:          filepath.Join(o.dataDir, "code"),
		Sandbox:          sb,
		Roles:            identities,
		Authorizer:       identities,
		EndpointURL:      "http://" + ln.Addr().String(),
		Logger:           log,
		EnvIdleTimeout:   o.envIdleTimeout,
		AsyncRetryBase:   o.asyncRetryBase,
		VPC:              vpcs,
		Network:          envNet,
		EniCreateDelay:   o.eniCreateDelay,
		IdleReclaimAfter: o.idleReclaimAfter,

		EniMaxConnections: o.eniMaxConnections,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer svc.Close()

	gw := gateway.New(gateway.Config{Credentials: identities, Logger: log})
	gw.Register(svc.GatewayService())
	gw.Register(vpcs.Gateway())
	gw.Register(identities.IAMService())
	gw.Register(identities.STSService())
	gw.HandleUnsigned("/_lambdaplane/code/", svc.CodeHandler())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if isolate {
		// The VPCs of the EC2 state, realized in network namespaces; a
		// restart converges what the last run left, so stopping tears
		// nothing down.
		prefix := netPrefix
		// Instances' UserData runs as processes on their interfaces.
		insts := netctl.NewInstances(prefix, vpcs, log).WithStateDir(filepath.Join(absDataDir, "instances"))
		defer insts.Close()
		nets := netctl.New(prefix, vpcs, log).WithInstances(insts)
		if o.internet == "host" {
			nets.WithUplink(hostNetns)
			log.Warn("INTERNET HOST: the simulated internet reaches the real network through this host's masquerade")
		}
		nets.ServeAPI(ln.Addr().String())
		go nets.Run(ctx)
		defer nets.Close()
		log.Info("VPC data plane on", "prefix", prefix)
	}
	if o.internet == "host" && !isolate {
		log.Warn("--internet=host needs the linux data plane; without it functions use the host's network directly")
	}
	log.Info("lambdaplane serving", "listen", ln.Addr().String(), "dataDir", o.dataDir, "isolation", isolate, "version", version)
	return gw.Serve(ctx, ln)
}

// functionOutput logs what functions print at debug level; it runs for every
// line on the invoke path, so it does nothing unless debug is on.
func functionOutput(log *slog.Logger) sandbox.LogSink {
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	return func(spec *sandbox.Spec, line []byte) {
		log.Debug("function output", "function", spec.FunctionName, "line", string(line))
	}
}

// launcher adapts the runtime catalogue to the sandbox.
func launcher(rts *runtimes.Set) func(spec *sandbox.Spec, taskRoot string) ([]string, []string, error) {
	return func(spec *sandbox.Spec, taskRoot string) ([]string, []string, error) {
		rt, ok := runtimes.Lookup(spec.Runtime)
		if !ok {
			return nil, nil, errors.New(runtimes.UnsupportedError(spec.Runtime))
		}
		if rt.Family == runtimes.Provided {
			// The bootstrap is looked for where the environment sees the
			// code; if it is missing the sandbox reports Lambda's
			// Runtime.InvalidEntrypoint for the failed exec.
			return []string{filepath.Join(taskRoot, "bootstrap")}, nil, nil
		}
		l, err := rts.Launch(rt, spec.Handler, taskRoot)
		if err != nil {
			return nil, nil, err
		}
		return l.Argv, l.Env, nil
	}
}

// teardown removes the kernel objects of the VPC data plane of the server
// whose --data-dir is given: a server keeps them across restarts, so this
// is how a user (or a test) drops them for good.
func teardown(args []string) error {
	fs := flag.NewFlagSet("teardown", flag.ContinueOnError)
	dataDir := fs.String("data-dir", defaultDataDir(), "the data directory of the server whose network to remove")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	prefix := netplane.PrefixFor(dir)
	// A server run with --internet=host may have left its uplink's table
	// in the host; on a host without one this only looks.
	return errors.Join(netplane.DisconnectUplink(prefix, hostNetns), netplane.Teardown(prefix))
}

// hostNetns is the server's own network namespace as the uplink's host.
// The thread's, not /proc/self's: that is the main thread's, which may be
// inside a VPC namespace for a moment (netplane.Do runs on any thread),
// while the thread of a goroutine not locked to it never is.
const hostNetns = "/proc/thread-self/ns/net"
