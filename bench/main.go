// Command bench measures lambdaplane against baselines taken in the same run:
// warm invoke latency at concurrency 1, throughput at concurrency 16, and cold
// start, each for two echo functions: a lean Runtime API client, which leaves
// lambdaplane's own cost visible and is held to the targets, and an
// aws-lambda-go one for reference. It reports; it is not a test, and exits 0
// whether targets are met or not. Run it from the repository root with
// `go run ./bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambdaplane/lambdaplane/bench/internal/repo"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

type config struct {
	n           int
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	cold        int
	dataplane   string
	workDir     string
	keep        bool
	// -rows: the invoke rows (which need the server), the data-plane rows,
	// or both.
	invokeRows, netRows bool
	attaches            int
	stream              time.Duration
}

func main() {
	if os.Getenv(echoEnv) == "1" {
		if err := serveEcho(); err != nil {
			fmt.Fprintln(os.Stderr, "bench echo server:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.IntVar(&c.n, "n", 3000, "invokes timed at concurrency 1, per function and for the baselines")
	flag.IntVar(&c.rounds, "rounds", 3, "alternate the functions and the baselines this many times at concurrency 1, so drift hits all alike")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long each throughput run lasts")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "load before each throughput run, so every environment exists")
	flag.IntVar(&c.concurrency, "concurrency", 16, "invokes in flight in the throughput runs")
	flag.IntVar(&c.cold, "cold", 20, "new functions whose first invoke is timed, and bare starts of the bootstrap, per echo function")
	flag.StringVar(&c.dataplane, "dataplane", "auto", "passed to lambdaplane serve: auto, linux or none")
	flag.StringVar(&c.workDir, "work-dir", "", "parent of the run's scratch directory (default $HOME/.cache); not under /tmp, which environments replace with their own")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory (binaries, data dir, server.log)")
	rows := flag.String("rows", "all", "rows to measure: all, invoke (the server's rows) or net (the data plane's, as root)")
	flag.IntVar(&c.attaches, "attaches", 30, "environments attached and detached through netplane, and by raw netlink")
	flag.DurationVar(&c.stream, "stream", 2*time.Second, "how long each TCP stream of the data-plane throughput row lasts")
	flag.Parse()
	switch *rows {
	case "all":
		c.invokeRows, c.netRows = true, true
	case "invoke":
		c.invokeRows = true
	case "net":
		c.netRows = true
	default:
		fmt.Fprintf(os.Stderr, "bench: -rows %q: want all, invoke or net\n", *rows)
		os.Exit(2)
	}
	if c.n < c.rounds || c.rounds < 1 || c.concurrency < 1 || c.cold < 1 || c.duration <= 0 || c.attaches < 1 || c.stream <= 0 {
		fmt.Fprintln(os.Stderr, "bench: need -rounds >= 1, -n >= -rounds, -concurrency >= 1, -cold >= 1, -duration > 0, -attaches >= 1, -stream > 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// results is everything the table shows.
type results struct {
	fns []*fnResult // in the order of echoFunctions
	// coldVpc is the lean echo's cold start in a VPC (linux data plane only).
	coldVpc dist
	// The baselines, shared by both functions' rows but for the bare cold
	// start, which is per function.
	warmBase      dist
	warmInProcess dist
	cpu1Base      cpuSample // during the runs at concurrency 1
	tputBase      throughputResult
	cpuTputBase   cpuSample // during the run at concurrency c.concurrency
	signCost      time.Duration
	isolation     string
	authz         authzResult
}

// authzBlock is how many invokes the root and the IAM user take in turn.
const authzBlock = 100

// authzResult compares the lean echo invoked by the account root, which
// skips policy evaluation, with the same function invoked by an IAM user,
// whose every invoke is evaluated against its policies.
type authzResult struct {
	root, user             dist
	rootServer, userServer time.Duration // the server's CPU over all c=1 invokes, per thread from schedstat
	userCPU1               cpuSample     // the user's invokes, for the CPU lines
}

// fnResult is one echo function's measurements in lambdaplane.
type fnResult struct {
	fn       *echoFunction
	warm     dist
	cpu1     cpuSample
	tput     throughputResult
	cpuTput  cpuSample
	cold     dist
	coldBase dist // fork/exec of the same bootstrap
	envs     int  // its execution environments after its throughput run
}

func run(ctx context.Context, c config, out io.Writer) error {
	// The data-plane rows come first, while no server loads the machine.
	var nr *netResults
	if c.netRows {
		var err error
		if nr, err = measureNet(ctx, c); err != nil {
			return err
		}
	}
	var r *results
	if c.invokeRows {
		var err error
		if r, err = runInvoke(ctx, c); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "lambdaplane bench  %s\n", time.Now().Format(time.DateTime))
	fmt.Fprintf(out, "machine: nproc=%d  %s  kernel %s  %s\n", runtime.NumCPU(), cpuModel(), kernel(), runtime.Version())
	if r != nil {
		report(out, c, r)
	}
	if nr != nil {
		reportNet(out, nr)
	}
	return nil
}

// runInvoke measures the rows that need lambdaplane serving.
func runInvoke(ctx context.Context, c config) (r *results, err error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	parent := c.workDir
	if parent == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		parent = filepath.Join(home, ".cache")
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(parent, "lambdaplane-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if c.keep {
			progress("kept %s", work)
			return
		}
		if rerr := os.RemoveAll(work); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", work, rerr))
		}
	}()

	progress("building lambdaplane and the echo functions into %s", work)
	art, err := build(root, work)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(work, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(work, "server.log")
	srv, err := startServer(art.server, dataDir, logPath, c.dataplane)
	if err != nil {
		return nil, err
	}
	progress("lambdaplane serving on %s (pid %d)", srv.url, srv.pid())
	runErr := createExecutionRole(ctx, srv.url)
	if runErr == nil {
		r, runErr = measure(ctx, c, srv, art)
	}
	if serr := srv.stop(); serr != nil {
		runErr = errors.Join(runErr, serr)
	}
	// The server keeps its VPC namespaces for a restart that will not come.
	if srv.isolated {
		if abs, err := filepath.Abs(dataDir); err == nil {
			runErr = errors.Join(runErr, netplane.Teardown(netplane.PrefixFor(abs)))
		}
	}
	if runErr != nil {
		if log, err := os.ReadFile(logPath); err == nil {
			runErr = fmt.Errorf("%w\nserver log tail:\n%s", runErr, tail(log, 3000))
		}
		return nil, runErr
	}
	r.isolation = "none (plain processes)"
	if srv.isolated {
		r.isolation = "linux (namespaces, cgroups)"
	}
	return r, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func measure(ctx context.Context, c config, srv *server, art *artifacts) (*results, error) {
	r := &results{}
	echo, err := startEcho()
	if err != nil {
		return nil, err
	}
	defer echo.stop()
	inURL, stopIn, err := inProcessEcho()
	if err != nil {
		return nil, err
	}
	defer stopIn()

	ctl := controlClient(srv.url)
	for _, f := range art.fns {
		if err := createFunction(ctx, ctl, f.name, f.zip); err != nil {
			return nil, fmt.Errorf("create %s: %w", f.name, err)
		}
		r.fns = append(r.fns, &fnResult{fn: f})
	}
	for _, f := range art.fns {
		if err := waitActive(ctx, ctl, f.name); err != nil {
			return nil, err
		}
	}
	// One invoker per function, then the two baselines.
	var ivs []*invoker
	for _, f := range art.fns {
		ivs = append(ivs, lambdaInvoker(srv.url, f.name, 1))
	}
	base1 := newInvoker(echo.url, false, 1)
	in1 := newInvoker(inURL, false, 1)
	// The lean echo once more, invoked by an IAM user, against its invokes by the root.
	lean, err := ctl.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(art.fns[0].name)})
	if err != nil {
		return nil, err
	}
	userCreds, err := createBenchUser(ctx, srv.url, aws.ToString(lean.FunctionArn))
	if err != nil {
		return nil, err
	}
	user1 := lambdaInvoker(srv.url, art.fns[0].name, 1)
	user1.creds = userCreds
	all := append(slices.Clone(ivs), user1, base1, in1)
	for _, iv := range all {
		if err := iv.check(ctx); err != nil {
			return nil, err
		}
	}
	for _, f := range art.fns[1:] {
		denied := lambdaInvoker(srv.url, f.name, 1)
		denied.creds = userCreds
		if err := checkDenied(ctx, denied); err != nil {
			return nil, err
		}
	}
	r.signCost = signCost(ivs[0], 2000)

	progress("warm latency at concurrency 1: %d invokes each, %d rounds", c.n, c.rounds)
	warmup := max(c.n/10, 50)
	for _, iv := range all {
		if _, err := sequential(ctx, iv, warmup); err != nil {
			return nil, fmt.Errorf("warm-up of %s: %w", iv.url, err)
		}
	}
	lat := make([][]time.Duration, len(ivs))
	var latBase, latIn, latUser []time.Duration
	// timed runs per invokes of iv and adds the CPU the processes spent
	// meanwhile to coarse (ticks, like every CPU line) and, unless nil, the
	// server's alone to precise (nanoseconds).
	timed := func(iv *invoker, per int, coarse *cpuSample, precise *time.Duration) ([]time.Duration, error) {
		before, beforeThreads := sampleCPU(srv.pid()), sampleThreads(srv.pid())
		l, err := sequential(ctx, iv, per)
		if err != nil {
			return nil, err
		}
		if precise != nil {
			d, err := sampleThreads(srv.pid()).since(beforeThreads)
			if err != nil {
				return nil, err
			}
			*precise += d
		}
		*coarse = coarse.add(sampleCPU(srv.pid()).sub(before))
		return l, nil
	}
	for i := range c.rounds {
		per := c.n / c.rounds
		if i == c.rounds-1 {
			per = c.n - per*(c.rounds-1)
		}
		for j, iv := range ivs {
			fr := r.fns[j]
			if j > 0 {
				l, err := timed(iv, per, &fr.cpu1, nil)
				if err != nil {
					return nil, fmt.Errorf("lambdaplane, %s: %w", fr.fn.label, err)
				}
				lat[j] = append(lat[j], l...)
				continue
			}
			// The lean echo by the root and by the IAM user alternate in
			// short blocks, root, user, user, root, ..., so that drift and
			// bursts of other load on the machine hit both alike.
			for b, root, user := 0, per, per; root+user > 0; b++ {
				byUser := (b%4 == 1 || b%4 == 2) && user > 0 || root == 0
				if byUser {
					part := min(authzBlock, user)
					user -= part
					l, err := timed(user1, part, &r.authz.userCPU1, &r.authz.userServer)
					if err != nil {
						return nil, fmt.Errorf("lambdaplane, %s invoked by IAM user %s: %w", fr.fn.label, benchUser, err)
					}
					latUser = append(latUser, l...)
					continue
				}
				part := min(authzBlock, root)
				root -= part
				l, err := timed(iv, part, &fr.cpu1, &r.authz.rootServer)
				if err != nil {
					return nil, fmt.Errorf("lambdaplane, %s: %w", fr.fn.label, err)
				}
				lat[j] = append(lat[j], l...)
			}
		}

		before := sampleCPU(echo.pid())
		l, err := sequential(ctx, base1, per)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		r.cpu1Base = r.cpu1Base.add(sampleCPU(echo.pid()).sub(before))
		latBase = append(latBase, l...)

		if l, err = sequential(ctx, in1, per); err != nil {
			return nil, fmt.Errorf("in-process echo: %w", err)
		}
		latIn = append(latIn, l...)
	}
	for j, fr := range r.fns {
		fr.warm = summarize(lat[j])
	}
	r.warmBase, r.warmInProcess = summarize(latBase), summarize(latIn)
	r.authz.root, r.authz.user = r.fns[0].warm, summarize(latUser)

	for _, fr := range r.fns {
		progress("throughput of %s at concurrency %d: %s warm-up, then %s", fr.fn.label, c.concurrency, c.warmup, c.duration)
		iv := lambdaInvoker(srv.url, fr.fn.name, c.concurrency)
		if w := concurrent(ctx, iv, c.concurrency, c.warmup); w.firstErr != nil && w.ok == 0 {
			return nil, fmt.Errorf("lambdaplane warm-up of %s at concurrency %d: %w", fr.fn.label, c.concurrency, w.firstErr)
		}
		before := sampleCPU(srv.pid())
		fr.tput = concurrent(ctx, iv, c.concurrency, c.duration)
		fr.cpuTput = sampleCPU(srv.pid()).sub(before)
		fr.envs = environments(srv.pid(), fr.fn.name)
	}
	progress("throughput of the baseline at concurrency %d: %s warm-up, then %s", c.concurrency, c.warmup, c.duration)
	baseN := newInvoker(echo.url, false, c.concurrency)
	concurrent(ctx, baseN, c.concurrency, c.warmup)
	before := sampleCPU(echo.pid())
	r.tputBase = concurrent(ctx, baseN, c.concurrency, c.duration)
	r.cpuTputBase = sampleCPU(echo.pid()).sub(before)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	for _, fr := range r.fns {
		progress("cold start of %s: %d new functions, %d bare starts of its bootstrap", fr.fn.label, c.cold, c.cold)
		cold, err := coldLambdaplane(ctx, ctl, srv.url, fr.fn, c.cold)
		if err != nil {
			return nil, err
		}
		coldBase, err := coldBare(ctx, fr.fn.bootstrap, c.cold)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fr.fn.label, err)
		}
		fr.cold, fr.coldBase = summarize(cold), summarize(coldBase)
		if fr == r.fns[0] && srv.isolated {
			progress("cold start of %s in a VPC: %d new functions behind one Hyperplane ENI", fr.fn.label, c.cold)
			vc, err := coldVpc(ctx, ctl, srv.url, fr.fn, c.cold)
			if err != nil {
				return nil, fmt.Errorf("cold start in a VPC: %w", err)
			}
			r.coldVpc = summarize(vc)
		}
	}
	return r, nil
}

func report(out io.Writer, c config, r *results) {
	fmt.Fprintf(out, "isolation: %s\n\n", r.isolation)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "function\tmetric\tlambdaplane\tbaseline\tratio\ttarget\tresult\t")
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	baseRate := r.tputBase.rate()
	for i, fr := range r.fns {
		// The targets are about lambdaplane's own cost, which only the first
		// (lean) function leaves visible; the others are for reference.
		target := func(t string, met bool) string {
			if i > 0 {
				return "(reference)\t"
			}
			return t + "\t" + verdict(met)
		}
		name := fr.fn.label
		w50 := ratio(fr.warm.p50, r.warmBase.p50)
		fmt.Fprintf(tw, "%s\twarm invoke c=1 p50\t%s\t%s\t%.2fx\t%s\t\n", name, ms(fr.warm.p50), ms(r.warmBase.p50), w50, target("<= 3x baseline", w50 <= 3))
		fmt.Fprintf(tw, "%s\twarm invoke c=1 p99\t%s\t%s\t%.2fx\t\t\t\n", name, ms(fr.warm.p99), ms(r.warmBase.p99), ratio(fr.warm.p99, r.warmBase.p99))
		rate := fr.tput.rate()
		fmt.Fprintf(tw, "%s\tthroughput c=%d\t%.0f/s\t%.0f/s\t%.2fx\t%s\t\n", name, c.concurrency, rate, baseRate, rate/baseRate, target(">= 10000/s", rate >= 10000))
		fmt.Fprintf(tw, "%s\tcold start p50\t%s\t%s\t%.2fx\t%s\t\n", name, ms(fr.cold.p50), ms(fr.coldBase.p50), ratio(fr.cold.p50, fr.coldBase.p50), target("< 10ms", fr.cold.p50 < 10*time.Millisecond))
		fmt.Fprintf(tw, "%s\tcold start p99\t%s\t%s\t%.2fx\t\t\t\n", name, ms(fr.cold.p99), ms(fr.coldBase.p99), ratio(fr.cold.p99, fr.coldBase.p99))
		if fr == r.fns[0] && r.coldVpc.p50 > 0 {
			extra := r.coldVpc.p50 - fr.cold.p50
			fmt.Fprintf(tw, "%s\tcold start in a VPC p50\t%s\t%s (no VPC)\t%+.2fms\t%s\t\n", name, ms(r.coldVpc.p50), ms(fr.cold.p50),
				float64(extra)/float64(time.Millisecond), target("<= 2ms more", extra <= 2*time.Millisecond))
			fmt.Fprintf(tw, "%s\tcold start in a VPC p99\t%s\t%s (no VPC)\t\t\t\n", name, ms(r.coldVpc.p99), ms(fr.cold.p99))
		}
	}
	a := r.authz
	over := overhead(a.user.p50, a.root.p50)
	fmt.Fprintf(tw, "%s\tauthorization overhead p50\t%s (IAM user)\t%s (root)\t%+.1f%%\t< 5%% of a warm invoke\t%s\t\n",
		r.fns[0].fn.label, ms(a.user.p50), ms(a.root.p50), over, verdict(over < 5))
	fmt.Fprintf(tw, "%s\tauthorization overhead p99\t%s (IAM user)\t%s (root)\t%+.1f%%\t\t\t\n",
		r.fns[0].fn.label, ms(a.user.p99), ms(a.root.p99), overhead(a.user.p99, a.root.p99))
	tw.Flush()
	rootCPU, userCPU := a.rootServer/time.Duration(c.n), a.userServer/time.Duration(c.n)
	fmt.Fprintf(out, "authorization: server CPU per invoke at c=1 (schedstat, ns resolution): IAM user %.1fµs, root %.1fµs, %+.1f%%; the user has an inline policy of 3 statements and AWSLambda_ReadOnlyAccess attached, the root skips policy evaluation\n",
		micro(userCPU), micro(rootCPU), overhead(userCPU, rootCPU))

	cores := runtime.NumCPU()
	fmt.Fprintf(out, "\nCPU per invoke (bench client | server | execution environments), and other processes' share of the machine meanwhile:\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	cpuRow := func(name string, one cpuSample, n1 int64, many cpuSample, nN int64, envs bool) {
		a, b := one.perOp(n1), many.perOp(nN)
		cols := func(s cpuSample) string {
			if envs {
				return fmt.Sprintf("%s | %s | %s", us(s.self), us(s.server), us(s.functions))
			}
			return fmt.Sprintf("%s | %s", us(s.self), us(s.server))
		}
		fmt.Fprintf(tw, "  %s\tc=1: %s\tc=%d: %s\tothers %.0f%% / %.0f%%\t\n", name, cols(a), c.concurrency, cols(b),
			100*one.otherShare(cores), 100*many.otherShare(cores))
	}
	for _, fr := range r.fns {
		cpuRow(fr.fn.label, fr.cpu1, int64(c.n), fr.cpuTput, fr.tput.ok, true)
	}
	u := r.authz.userCPU1.perOp(int64(c.n))
	fmt.Fprintf(tw, "  %s, IAM user\tc=1: %s | %s | %s\t\tothers %.0f%%\t\n", r.fns[0].fn.label,
		us(u.self), us(u.server), us(u.functions), 100*r.authz.userCPU1.otherShare(cores))
	cpuRow("baseline", r.cpu1Base, int64(c.n), r.cpuTputBase, r.tputBase.ok, false)
	tw.Flush()

	fmt.Fprintf(out, "baseline: one echo server in its own process for both functions' warm and throughput rows; with client and server in one process the round trip is p50 %s, p99 %s\n",
		ms(r.warmInProcess.p50), ms(r.warmInProcess.p99))
	fmt.Fprintf(out, "cold-start baseline: fork/exec of the same function's bootstrap against a minimal Runtime API in the bench\n")
	fmt.Fprintf(out, "client SigV4 signing alone: %s per request (included in lambdaplane's numbers, not the baseline's)\n", us(r.signCost))
	envs := make([]string, len(r.fns))
	for i, fr := range r.fns {
		envs[i] = fmt.Sprintf("%s %d", fr.fn.label, fr.envs)
	}
	fmt.Fprintf(out, "samples: %d invokes each at c=1, %s each at c=%d (environments: %s), %d cold starts each (p99 of so few is about their maximum)\n",
		c.n, c.duration, c.concurrency, strings.Join(envs, ", "), c.cold)
	for _, fr := range r.fns {
		reportFailures(out, c, fr.fn.label, fr.tput)
	}
	reportFailures(out, c, "baseline", r.tputBase)
}

func reportFailures(out io.Writer, c config, name string, t throughputResult) {
	if t.failed > 0 {
		fmt.Fprintf(out, "%s: %d invokes failed at c=%d (first: %v)\n", name, t.failed, c.concurrency, t.firstErr)
	}
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return us(d)
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func micro(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func us(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
