package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// payload is the ~100-byte event every invoke and echo carries.
var payload = []byte(`{"op":"echo","id":"00000000-0000-4000-8000-000000000000","message":"hello from the lambdaplane bench"}`)

// invoker is the lean client: one keep-alive transport, and for lambdaplane
// a SigV4 signature on every request, as an SDK would send it.
type invoker struct {
	client *http.Client
	url    string
	sign   bool
	signer *v4.Signer
	creds  aws.Credentials
	hash   string
}

func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
	}
}

func newInvoker(url string, sign bool, conns int) *invoker {
	sum := sha256.Sum256(payload)
	return &invoker{
		client: &http.Client{Transport: newTransport(conns), Timeout: 30 * time.Second},
		url:    url,
		sign:   sign,
		signer: v4.NewSigner(),
		creds:  aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		hash:   hex.EncodeToString(sum[:]),
	}
}

func lambdaInvoker(serverURL, function string, conns int) *invoker {
	return newInvoker(serverURL+"/2015-03-31/functions/"+function+"/invocations", true, conns)
}

// invoke sends one request and leaves the response body in body; a non-200 answer
// or a function error is an error, so a broken run cannot pass for a fast one.
func (iv *invoker) invoke(ctx context.Context, body *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iv.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if iv.sign {
		if err := iv.signer.SignHTTP(ctx, iv.creds, req, iv.hash, "lambda", region, time.Now()); err != nil {
			return err
		}
	}
	resp, err := iv.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body.Reset()
	if _, err := io.Copy(body, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &httpError{status: resp.StatusCode, errorType: resp.Header.Get("X-Amzn-ErrorType"), body: body.String()}
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return fmt.Errorf("function error %s: %.200s", fe, body.Bytes())
	}
	return nil
}

// httpError is an answer other than 200. Lambda names the error in the
// X-Amzn-ErrorType header; some of its error bodies do not.
type httpError struct {
	status    int
	errorType string
	body      string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %.200s", e.status, e.errorType, e.body)
}

// check makes sure the target really echoes before it is timed.
func (iv *invoker) check(ctx context.Context) error {
	var body bytes.Buffer
	if err := iv.invoke(ctx, &body); err != nil {
		return err
	}
	if !bytes.Equal(bytes.TrimSpace(body.Bytes()), payload) {
		return fmt.Errorf("%s answered %.200q, not the payload", iv.url, body.Bytes())
	}
	return nil
}

// echoHandler is the whole of the baseline server: read the body, write it back.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
})

const echoPath = "/2015-03-31/functions/echo/invocations"

// echoEnv marks the bench re-executed as the baseline echo server.
const echoEnv = "LAMBDAPLANE_BENCH_ECHO_SERVER"

// serveEcho is the child's side: it prints its address and serves until killed.
func serveEcho() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	return http.Serve(ln, echoHandler)
}

// echoProcess is the warm baseline: a bare net/http echo server on loopback,
// in a process of its own as lambdaplane is, so that both round trips cross
// between processes.
type echoProcess struct {
	cmd *exec.Cmd
	url string
}

func startEcho() (*echoProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), echoEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("baseline echo server: %w", err)
	}
	return &echoProcess{cmd: cmd, url: "http://" + strings.TrimSpace(addr) + echoPath}, nil
}

func (e *echoProcess) pid() int { return e.cmd.Process.Pid }

func (e *echoProcess) stop() {
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
}

// inProcessEcho serves the same echo inside the bench, for the reference
// line: a round trip that never leaves one Go runtime.
func inProcessEcho() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: echoHandler}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + echoPath, func() { srv.Close() }, nil
}

// sequential times n invokes, one at a time.
func sequential(ctx context.Context, iv *invoker, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	var body bytes.Buffer
	for range n {
		t0 := time.Now()
		if err := iv.invoke(ctx, &body); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// throughputResult is what a fixed-duration concurrent run achieved.
type throughputResult struct {
	ok, failed int64
	elapsed    time.Duration
	firstErr   error
}

func (r throughputResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// concurrent keeps conc invokes in flight for d and counts completions.
func concurrent(ctx context.Context, iv *invoker, conc int, d time.Duration) throughputResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok, failed atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range conc {
		wg.Go(func() {
			var body bytes.Buffer
			for ctx.Err() == nil {
				if err := iv.invoke(ctx, &body); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return throughputResult{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(t0), firstErr: firstErr}
}

// signCost is the client's own SigV4 cost per request, so the reader can
// tell how much of the gap to the unsigned baseline the client spends.
func signCost(iv *invoker, n int) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	for range n {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, iv.url, bytes.NewReader(payload))
		iv.signer.SignHTTP(ctx, iv.creds, req, iv.hash, "lambda", region, time.Now())
	}
	return time.Since(t0) / time.Duration(n)
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

type dist struct{ p50, p99 time.Duration }

func summarize(samples []time.Duration) dist {
	s := slices.Clone(samples)
	slices.Sort(s)
	return dist{percentile(s, 50), percentile(s, 99)}
}
