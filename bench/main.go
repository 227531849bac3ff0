// Command bench measures lambdaplane against baselines taken in the same run:
// warm invoke latency at concurrency 1, throughput at concurrency 16, and cold
// start. It reports; it is not a test, and exits 0 whether targets are met or
// not. Run it from the repository root with `go run ./bench`.
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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
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
	flag.IntVar(&c.n, "n", 3000, "invokes timed at concurrency 1, per target")
	flag.IntVar(&c.rounds, "rounds", 3, "alternate lambdaplane and baseline this many times at concurrency 1, so drift hits both alike")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long each throughput run lasts")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "load before each throughput run, so every environment exists")
	flag.IntVar(&c.concurrency, "concurrency", 16, "invokes in flight in the throughput runs")
	flag.IntVar(&c.cold, "cold", 20, "new functions whose first invoke is timed, and bare starts of the bootstrap")
	flag.StringVar(&c.dataplane, "dataplane", "auto", "passed to lambdaplane serve: auto, linux or none")
	flag.StringVar(&c.workDir, "work-dir", "", "parent of the run's scratch directory (default $HOME/.cache); not under /tmp, which environments replace with their own")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory (binaries, data dir, server.log)")
	flag.Parse()
	if c.n < c.rounds || c.rounds < 1 || c.concurrency < 1 || c.cold < 1 || c.duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench: need -rounds >= 1, -n >= -rounds, -concurrency >= 1, -cold >= 1, -duration > 0")
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
	warmLP, warmBase       dist
	warmInProcess          dist
	signCost               time.Duration
	cpu1LP, cpu1Base       cpuSample // during the runs at concurrency 1
	tputLP, tputBase       throughputResult
	cpuTputLP, cpuTputBase cpuSample // during the runs at concurrency c.concurrency
	coldLP, coldBase       dist
	envs                   int // execution environments after the throughput run
	isolation              string
}

func run(ctx context.Context, c config, out io.Writer) (err error) {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	parent := c.workDir
	if parent == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		parent = filepath.Join(home, ".cache")
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(parent, "lambdaplane-bench-")
	if err != nil {
		return err
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

	progress("building lambdaplane and the echo function into %s", work)
	art, err := build(root, work)
	if err != nil {
		return err
	}
	dataDir := filepath.Join(work, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(work, "server.log")
	srv, err := startServer(art.server, dataDir, logPath, c.dataplane)
	if err != nil {
		return err
	}
	progress("lambdaplane serving on %s (pid %d)", srv.url, srv.pid())
	r, runErr := measure(ctx, c, srv, art)
	if serr := srv.stop(); serr != nil {
		runErr = errors.Join(runErr, serr)
	}
	if runErr != nil {
		if log, err := os.ReadFile(logPath); err == nil {
			runErr = fmt.Errorf("%w\nserver log tail:\n%s", runErr, tail(log, 3000))
		}
		return runErr
	}
	r.isolation = "none (plain processes)"
	if srv.isolated {
		r.isolation = "linux (namespaces, cgroups)"
	}
	report(out, c, r)
	return nil
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
	const fn = "lpbench-echo"
	if err := createFunction(ctx, ctl, fn, art.zip); err != nil {
		return nil, fmt.Errorf("create %s: %w", fn, err)
	}
	if err := waitActive(ctx, ctl, fn); err != nil {
		return nil, err
	}
	lp1 := lambdaInvoker(srv.url, fn, 1)
	base1 := newInvoker(echo.url, false, 1)
	in1 := newInvoker(inURL, false, 1)
	for _, iv := range []*invoker{lp1, base1, in1} {
		if err := iv.check(ctx); err != nil {
			return nil, err
		}
	}
	r.signCost = signCost(lp1, 2000)

	progress("warm latency at concurrency 1: %d invokes each, %d rounds", c.n, c.rounds)
	warmup := max(c.n/10, 50)
	for _, iv := range []*invoker{lp1, base1, in1} {
		if _, err := sequential(ctx, iv, warmup); err != nil {
			return nil, fmt.Errorf("warm-up of %s: %w", iv.url, err)
		}
	}
	var latLP, latBase, latIn []time.Duration
	var cpuLP, cpuBase cpuSample
	for i := range c.rounds {
		per := c.n / c.rounds
		if i == c.rounds-1 {
			per = c.n - per*(c.rounds-1)
		}
		before := sampleCPU(srv.pid())
		l, err := sequential(ctx, lp1, per)
		if err != nil {
			return nil, fmt.Errorf("lambdaplane: %w", err)
		}
		cpuLP = cpuLP.add(sampleCPU(srv.pid()).sub(before))
		latLP = append(latLP, l...)

		before = sampleCPU(echo.pid())
		if l, err = sequential(ctx, base1, per); err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		cpuBase = cpuBase.add(sampleCPU(echo.pid()).sub(before))
		latBase = append(latBase, l...)

		if l, err = sequential(ctx, in1, per); err != nil {
			return nil, fmt.Errorf("in-process echo: %w", err)
		}
		latIn = append(latIn, l...)
	}
	r.warmLP, r.warmBase, r.warmInProcess = summarize(latLP), summarize(latBase), summarize(latIn)
	r.cpu1LP, r.cpu1Base = cpuLP, cpuBase

	progress("throughput at concurrency %d: %s warm-up, then %s each", c.concurrency, c.warmup, c.duration)
	lpN := lambdaInvoker(srv.url, fn, c.concurrency)
	baseN := newInvoker(echo.url, false, c.concurrency)
	if w := concurrent(ctx, lpN, c.concurrency, c.warmup); w.firstErr != nil && w.ok == 0 {
		return nil, fmt.Errorf("lambdaplane warm-up at concurrency %d: %w", c.concurrency, w.firstErr)
	}
	before := sampleCPU(srv.pid())
	r.tputLP = concurrent(ctx, lpN, c.concurrency, c.duration)
	r.cpuTputLP = sampleCPU(srv.pid()).sub(before)
	r.envs = walkTree(srv.pid()).bootstraps
	concurrent(ctx, baseN, c.concurrency, c.warmup)
	before = sampleCPU(echo.pid())
	r.tputBase = concurrent(ctx, baseN, c.concurrency, c.duration)
	r.cpuTputBase = sampleCPU(echo.pid()).sub(before)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	progress("cold start: %d new functions, %d bare starts of the bootstrap", c.cold, c.cold)
	coldLP, err := coldLambdaplane(ctx, ctl, srv.url, art.zip, c.cold)
	if err != nil {
		return nil, err
	}
	coldBase, err := coldBare(ctx, art.bootstrap, c.cold)
	if err != nil {
		return nil, err
	}
	r.coldLP, r.coldBase = summarize(coldLP), summarize(coldBase)
	return r, nil
}

func report(out io.Writer, c config, r *results) {
	fmt.Fprintf(out, "lambdaplane bench  %s\n", time.Now().Format(time.DateTime))
	fmt.Fprintf(out, "machine: nproc=%d  %s  kernel %s  %s\n", runtime.NumCPU(), cpuModel(), kernel(), runtime.Version())
	fmt.Fprintf(out, "isolation: %s\n\n", r.isolation)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tlambdaplane\tbaseline\tratio\ttarget\tresult\t")
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	w50 := ratio(r.warmLP.p50, r.warmBase.p50)
	fmt.Fprintf(tw, "warm invoke c=1 p50\t%s\t%s\t%.2fx\t<= 3x baseline\t%s\t\n", ms(r.warmLP.p50), ms(r.warmBase.p50), w50, verdict(w50 <= 3))
	fmt.Fprintf(tw, "warm invoke c=1 p99\t%s\t%s\t%.2fx\t\t\t\n", ms(r.warmLP.p99), ms(r.warmBase.p99), ratio(r.warmLP.p99, r.warmBase.p99))
	lpRate, baseRate := r.tputLP.rate(), r.tputBase.rate()
	fmt.Fprintf(tw, "throughput c=%d\t%.0f/s\t%.0f/s\t%.2fx\t>= 10000/s\t%s\t\n", c.concurrency, lpRate, baseRate, lpRate/baseRate, verdict(lpRate >= 10000))
	fmt.Fprintf(tw, "cold start p50\t%s\t%s\t%.2fx\t< 10ms\t%s\t\n", ms(r.coldLP.p50), ms(r.coldBase.p50), ratio(r.coldLP.p50, r.coldBase.p50), verdict(r.coldLP.p50 < 10*time.Millisecond))
	fmt.Fprintf(tw, "cold start p99\t%s\t%s\t%.2fx\t\t\t\n", ms(r.coldLP.p99), ms(r.coldBase.p99), ratio(r.coldLP.p99, r.coldBase.p99))
	tw.Flush()

	n1 := int64(c.n)
	lp1, b1 := r.cpu1LP.perOp(n1), r.cpu1Base.perOp(n1)
	lpN, bN := r.cpuTputLP.perOp(r.tputLP.ok), r.cpuTputBase.perOp(r.tputBase.ok)
	fmt.Fprintf(out, "\nCPU per invoke: bench client | server | execution environments\n")
	fmt.Fprintf(out, "  c=1:  lambdaplane %s | %s | %s   baseline %s | %s\n",
		us(lp1.self), us(lp1.server), us(lp1.functions), us(b1.self), us(b1.server))
	fmt.Fprintf(out, "  c=%d: lambdaplane %s | %s | %s   baseline %s | %s\n", c.concurrency,
		us(lpN.self), us(lpN.server), us(lpN.functions), us(bN.self), us(bN.server))
	cores := runtime.NumCPU()
	fmt.Fprintf(out, "other processes' share of the machine while measuring: c=1 %.0f%% (lambdaplane) %.0f%% (baseline), c=%d %.0f%% %.0f%%\n",
		100*r.cpu1LP.otherShare(cores), 100*r.cpu1Base.otherShare(cores), c.concurrency,
		100*r.cpuTputLP.otherShare(cores), 100*r.cpuTputBase.otherShare(cores))
	fmt.Fprintf(out, "baseline: echo server in its own process; with client and server in one process the round trip is p50 %s, p99 %s\n",
		ms(r.warmInProcess.p50), ms(r.warmInProcess.p99))
	fmt.Fprintf(out, "client SigV4 signing alone: %s per request (included in lambdaplane's numbers, not the baseline's)\n", us(r.signCost))
	fmt.Fprintf(out, "samples: %d invokes each at c=1, %s each at c=%d (lambdaplane ran %d environments), %d cold starts each (p99 of so few is about their maximum)\n",
		c.n, c.duration, c.concurrency, r.envs, c.cold)
	for _, t := range []struct {
		name string
		r    throughputResult
	}{{"lambdaplane", r.tputLP}, {"baseline", r.tputBase}} {
		if t.r.failed > 0 {
			fmt.Fprintf(out, "%s: %d invokes failed at c=%d (first: %v)\n", t.name, t.r.failed, c.concurrency, t.r.firstErr)
		}
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
