// Command ec2 measures lambdaplane's EC2 control plane against moto's server,
// started side by side in the same run: filtered DescribeSubnets and
// DescribeSecurityGroups over 1,000 subnets and 1,000 security groups,
// requests per second for each, and lambdaplane's latency as the answer
// grows from 1 to 1,000 items. Both servers are filled through the SDK and
// measured with the same signed raw HTTP requests. A last table times
// CreateFunction to Active for functions connected to a VPC (new and
// shared subnet and group combinations) against functions without one. It reports; it is not a test. Run it from
// the repository root with `go run ./bench/ec2` (moto_server must be on
// PATH; -moto=false measures lambdaplane alone).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/bench/internal/repo"
)

type config struct {
	subnets     int
	groups      int
	duration    time.Duration
	concurrency int
	moto        bool
	samples     int
	functions   int
}

func main() {
	var c config
	flag.IntVar(&c.subnets, "subnets", 1000, "subnets to create (in VPCs of 250)")
	flag.IntVar(&c.groups, "groups", 1000, "security groups to create")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "how long each throughput run lasts")
	flag.IntVar(&c.concurrency, "concurrency", 4, "requests in flight in the throughput runs")
	flag.BoolVar(&c.moto, "moto", true, "measure moto_server side by side")
	flag.IntVar(&c.samples, "samples", 200, "requests timed for each answer size")
	flag.IntVar(&c.functions, "functions", 20, "functions created for each row of the Lambda-in-VPC table (0 skips it)")
	flag.Parse()
	if c.subnets < 1 || c.groups < 1 || c.concurrency < 1 || c.duration <= 0 {
		fmt.Fprintln(os.Stderr, "ec2 bench: need positive -subnets, -groups, -concurrency and -duration")
		os.Exit(2)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "ec2 bench:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ec2 bench: "+format+"\n", args...)
}

// target is one server under test: the SDK client fills it, a lean
// signed-HTTP client measures it, so that the numbers are the servers'
// and not the SDK's XML decoding (which costs more than lambdaplane's
// answer on this machine).
type target struct {
	name string
	c    *ec2.Client
	raw  *rawClient
	vpcs []string
}

// rawClient sends SigV4-signed EC2 query requests and returns the body of
// a 200 answer.
type rawClient struct {
	url    string
	http   *http.Client
	signer *v4.Signer
}

func newRawClient(url string) *rawClient {
	return &rawClient{url: url, signer: v4.NewSigner(),
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (c *rawClient) do(ctx context.Context, body string) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := c.signer.SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

// countItems counts the subnets or groups of an answer.
func countItems(action string, answer []byte) (int, error) {
	switch action {
	case "DescribeSubnets":
		var out struct {
			Items []struct{} `xml:"subnetSet>item"`
		}
		err := xml.Unmarshal(answer, &out)
		return len(out.Items), err
	case "DescribeSecurityGroups":
		var out struct {
			Items []struct{} `xml:"securityGroupInfo>item"`
		}
		err := xml.Unmarshal(answer, &out)
		return len(out.Items), err
	}
	return 0, fmt.Errorf("no counter for %s", action)
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "lpbench-ec2-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, stopLP, err := startLambdaplane(dir)
	if err != nil {
		return err
	}
	defer stopLP()
	targets := []*target{{name: "lambdaplane", c: client(lp), raw: newRawClient(lp)}}
	if c.moto {
		mu, stopMoto, err := startMoto(dir)
		if err != nil {
			return fmt.Errorf("moto_server: %w (run with -moto=false to measure lambdaplane alone)", err)
		}
		defer stopMoto()
		targets = append(targets, &target{name: "moto", c: client(mu), raw: newRawClient(mu)})
	}
	for _, t := range targets {
		start := time.Now()
		if err := populate(ctx, t, c); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		progress("%s: %d subnets and %d groups made in %v", t.name, c.subnets, c.groups, time.Since(start).Round(time.Millisecond))
	}

	queries := []struct {
		label  string
		action string
		form   func(t *target) string
		want   int
	}{
		{"DescribeSubnets vpc-id (250 of 1,000)", "DescribeSubnets",
			func(t *target) string { return "Filter.1.Name=vpc-id&Filter.1.Value.1=" + t.vpcs[0] }, min(250, c.subnets)},
		{"DescribeSubnets tag:b10 (10 of 1,000)", "DescribeSubnets",
			func(t *target) string { return "Filter.1.Name=tag:b10&Filter.1.Value.1=7" }, min(10, max(c.subnets-70, 0))},
		{"DescribeSecurityGroups group-name (1 of 1,000)", "DescribeSecurityGroups",
			func(t *target) string { return "Filter.1.Name=group-name&Filter.1.Value.1=lpbench-sg-7" }, 1},
		{"DescribeSecurityGroups tag:b100 (100 of 1,000)", "DescribeSecurityGroups",
			func(t *target) string { return "Filter.1.Name=tag:b100&Filter.1.Value.1=3" }, min(100, max(c.groups-300, 0))},
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "query\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s req/s\t", t.name)
	}
	if c.moto {
		fmt.Fprintf(tw, "ratio (target >= 100x)\t")
	}
	fmt.Fprintln(tw)
	for _, q := range queries {
		fmt.Fprintf(tw, "%s\t", q.label)
		var rates []float64
		for _, t := range targets {
			body := "Action=" + q.action + "&Version=2016-11-15&" + q.form(t)
			answer, err := t.raw.do(ctx, body)
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.name, q.label, err)
			}
			if n, err := countItems(q.action, answer); err != nil || n != q.want {
				return fmt.Errorf("%s %s: %d items (%v), want %d", t.name, q.label, n, err, q.want)
			}
			rate, err := throughput(ctx, t, c, body)
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.name, q.label, err)
			}
			progress("%s: %s: %.1f req/s", t.name, q.label, rate)
			rates = append(rates, rate)
			fmt.Fprintf(tw, "%.1f\t", rate)
		}
		if c.moto {
			fmt.Fprintf(tw, "%.0fx\t", rates[0]/rates[1])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	fmt.Println()
	if err := latencyBySize(ctx, targets[0], c); err != nil {
		return err
	}
	if c.functions > 0 {
		fmt.Println()
		return benchFunctionsInVpc(ctx, lp, c.functions)
	}
	return nil
}

// latencyBySize times DescribeSubnets whose answers hold 1, 10, 100 and
// 1,000 subnets out of the same 1,000: the cost should follow the answer,
// not the number of subnets that exist.
func latencyBySize(ctx context.Context, t *target, c config) error {
	sizes := []struct {
		label string
		form  string
	}{
		{"1", "Filter.1.Name=tag:idx&Filter.1.Value.1=37"},
		{"10", "Filter.1.Name=tag:b10&Filter.1.Value.1=3"},
		{"100", "Filter.1.Name=tag:b100&Filter.1.Value.1=3"},
		{"all", "Filter.1.Name=tag-key&Filter.1.Value.1=idx"},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "lambdaplane DescribeSubnets, answer size\tp50\tp90\tper subnet in the answer (p50)\n")
	for _, s := range sizes {
		var lat []time.Duration
		n := 0
		body := "Action=DescribeSubnets&Version=2016-11-15&" + s.form
		for i := 0; i < c.samples; i++ {
			start := time.Now()
			answer, err := t.raw.do(ctx, body)
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
			if i == 0 {
				if n, err = countItems("DescribeSubnets", answer); err != nil {
					return err
				}
			}
		}
		slices.Sort(lat)
		p50, p90 := lat[len(lat)/2], lat[len(lat)*9/10]
		fmt.Fprintf(tw, "%s (%d)\t%v\t%v\t%v\n", s.label, n, p50.Round(time.Microsecond), p90.Round(time.Microsecond),
			(p50 / time.Duration(max(n, 1))).Round(100*time.Nanosecond))
	}
	return tw.Flush()
}

// throughput sends body from c.concurrency goroutines for c.duration and
// returns completed requests per second.
func throughput(ctx context.Context, t *target, c config, body string) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(c.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < c.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := t.raw.do(ctx, body); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// populate makes the VPCs, subnets and groups, tagged so that filters can
// select answers of known sizes: idx = i, b10 = i/10, b100 = i/100.
func populate(ctx context.Context, t *target, c config) error {
	nVpc := (c.subnets + 249) / 250
	for v := 0; v < nVpc; v++ {
		out, err := t.c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", v))})
		if err != nil {
			return err
		}
		t.vpcs = append(t.vpcs, aws.ToString(out.Vpc.VpcId))
	}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := makeOne(ctx, t, c, i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < max(c.subnets, c.groups); i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func benchTags(resource types.ResourceType, i int) []types.TagSpecification {
	return []types.TagSpecification{{ResourceType: resource, Tags: []types.Tag{
		{Key: aws.String("idx"), Value: aws.String(strconv.Itoa(i))},
		{Key: aws.String("b10"), Value: aws.String(strconv.Itoa(i / 10))},
		{Key: aws.String("b100"), Value: aws.String(strconv.Itoa(i / 100))},
	}}}
}

func makeOne(ctx context.Context, t *target, c config, i int) error {
	if i < c.subnets {
		vpc, within := i/250, i%250
		_, err := t.c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(t.vpcs[vpc]),
			CidrBlock:         aws.String(fmt.Sprintf("10.%d.%d.0/24", vpc, within)),
			TagSpecifications: benchTags(types.ResourceTypeSubnet, i)})
		if err != nil {
			return err
		}
	}
	if i < c.groups {
		_, err := t.c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("lpbench-sg-%d", i)),
			Description: aws.String("bench"), VpcId: aws.String(t.vpcs[i%len(t.vpcs)]),
			TagSpecifications: benchTags(types.ResourceTypeSecurityGroup, i)})
		if err != nil {
			return err
		}
	}
	return nil
}

func client(url string) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startLambdaplane builds and starts the server on a free loopback port
// with its own data directory.
func startLambdaplane(dir string) (string, func(), error) {
	root, err := repo.Root()
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "lambdaplane")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lambdaplane")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--data-dir", filepath.Join(dir, "data"), "--dataplane", "none", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		log.Close()
	}
	if err := waitHTTP(url + "/_lambdaplane/health"); err != nil {
		stop()
		return "", nil, err
	}
	return url, stop, nil
}

// startMoto starts moto's server on a free loopback port.
func startMoto(dir string) (string, func(), error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		log.Close()
	}
	if err := waitHTTP(url + "/moto-api/"); err != nil {
		stop()
		return "", nil, err
	}
	return url, stop, nil
}

func waitHTTP(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no answer from " + url)
}
