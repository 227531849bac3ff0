package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// coldLambdaplane creates n functions from f's zip, waits until all are
// Active, then times the first invoke of each, one after the other.
func coldLambdaplane(ctx context.Context, c *lambda.Client, serverURL string, f *echoFunction, n int) ([]time.Duration, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-cold-%d", f.name, i)
		if err := createFunction(ctx, c, names[i], f.zip); err != nil {
			return nil, fmt.Errorf("create %s: %w", names[i], err)
		}
	}
	if err := waitActive(ctx, c, names...); err != nil {
		return nil, err
	}
	return timeFirstInvokes(ctx, serverURL, names)
}

// timeFirstInvokes times the first invoke of each function, one after the
// other.
func timeFirstInvokes(ctx context.Context, serverURL string, names []string) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, len(names))
	var body bytes.Buffer
	for _, name := range names {
		// A fresh client per function, with its connection already open, so
		// that only the invoke is timed.
		iv := lambdaInvoker(serverURL, name, 1)
		if err := preconnect(ctx, iv, serverURL); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := iv.invoke(ctx, &body); err != nil {
			return nil, fmt.Errorf("first invoke of %s: %w", name, err)
		}
		lat = append(lat, time.Since(t0))
		if !bytes.Equal(bytes.TrimSpace(body.Bytes()), payload) {
			return nil, fmt.Errorf("%s answered %.200q, not the payload", name, body.Bytes())
		}
	}
	return lat, nil
}

// preconnect opens the client's keep-alive connection with an unsigned health check.
func preconnect(ctx context.Context, iv *invoker, serverURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+"/_lambdaplane/health", nil)
	if err != nil {
		return err
	}
	resp, err := iv.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// runtimeAPI is the cold baseline's minimal Runtime API: it hands out one
// event and reports when its response arrives.
type runtimeAPI struct {
	requestID string
	served    atomic.Bool
	done      chan time.Time // receives the zero time for a wrong answer
}

func (r *runtimeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	path, ok := strings.CutPrefix(req.URL.Path, prefix)
	if !ok {
		http.NotFound(w, req)
		return
	}
	if path == "next" && req.Method == http.MethodGet {
		if r.served.Swap(true) {
			// The process is killed once it has answered; its next poll waits for that.
			<-req.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", r.requestID)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(3*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:baseline")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		w.Write(payload)
		return
	}
	id, verb, _ := strings.Cut(path, "/")
	body, _ := io.ReadAll(req.Body)
	if id != r.requestID || req.Method != http.MethodPost {
		http.NotFound(w, req)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	var at time.Time
	if verb == "response" && bytes.Equal(bytes.TrimSpace(body), payload) {
		at = time.Now()
	}
	select {
	case r.done <- at:
	default:
	}
}

// coldBare times n bare starts of the bootstrap.
func coldBare(ctx context.Context, bootstrap string, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		d, err := bareStart(ctx, bootstrap, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		if err != nil {
			return nil, fmt.Errorf("bare bootstrap: %w", err)
		}
		lat = append(lat, d)
	}
	return lat, nil
}

// bareStart runs the bootstrap once against a Runtime API of its own (so a
// killed predecessor's last poll cannot take its event) and returns the
// time from fork/exec until the response arrives.
func bareStart(ctx context.Context, bootstrap, requestID string) (time.Duration, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	api := &runtimeAPI{requestID: requestID, done: make(chan time.Time, 1)}
	srv := &http.Server{Handler: api}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.Command(bootstrap)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=baseline", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_REGION=" + region, "_HANDLER=bootstrap",
		"PATH=/usr/bin:/bin", "TZ=:UTC",
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	// Dies with the bench, should the bench be interrupted.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	var t1 time.Time
	select {
	case t1 = <-api.done:
		if t1.IsZero() {
			err = errors.New("it did not echo the payload")
		}
	case <-exited:
		err = fmt.Errorf("it exited before answering: %v\n%s", cmd.ProcessState, stderr.Bytes())
	case <-time.After(10 * time.Second):
		err = errors.New("no response within 10s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if err != nil {
		return 0, err
	}
	return t1.Sub(t0), nil
}
