package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const (
	region    = "us-east-1"
	accessKey = "test"
	secretKey = "test"
	role      = "arn:aws:iam::123456789012:role/lambda-role"
)

func goBuild(root string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// echoFunction is one of the echo functions the bench measures.
type echoFunction struct {
	label     string // its rows in the table
	name      string // its lambdaplane function name, and the prefix of its cold-start functions
	pkg       string // its Go package
	tags      string // its build tags
	bootstrap string // the built binary, for the bare cold-start baseline
	zip       []byte // the deployment package holding that bootstrap
}

// echoFunctions are measured in this order; the first is the one the
// targets are about.
func echoFunctions() []*echoFunction {
	return []*echoFunction{
		{label: "lean echo", name: "lpbench-lean", pkg: "./bench/leanecho"},
		{label: "aws-lambda-go echo", name: "lpbench-awslg", pkg: "./bench/echofn", tags: "lambda.norpc"},
	}
}

// artifacts are what the bench builds before measuring anything.
type artifacts struct {
	server string // the lambdaplane binary
	fns    []*echoFunction
}

func build(root, dir string) (*artifacts, error) {
	a := &artifacts{server: filepath.Join(dir, "lambdaplane"), fns: echoFunctions()}
	if err := goBuild(root, nil, "-o", a.server, "./cmd/lambdaplane"); err != nil {
		return nil, err
	}
	for _, f := range a.fns {
		// Each in a directory of its own, as both must be named bootstrap:
		// the name provided.al2023 runs, and the process name the bench
		// counts environments by.
		if err := os.Mkdir(filepath.Join(dir, f.name), 0o755); err != nil {
			return nil, err
		}
		f.bootstrap = filepath.Join(dir, f.name, "bootstrap")
		// Built the way Lambda's documentation builds a Go function for
		// provided.al2023; not stripped, so that perf can name its functions.
		if err := goBuild(root, []string{"CGO_ENABLED=0"}, "-tags", f.tags, "-o", f.bootstrap, f.pkg); err != nil {
			return nil, err
		}
		var err error
		if f.zip, err = zipBootstrap(f.bootstrap); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func zipBootstrap(path string) ([]byte, error) {
	boot, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(boot)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// server is one `lambdaplane serve` process started by the bench.
type server struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	err    error
	log    *os.File
	// isolated is what the server chose for --dataplane, from its start-up log line.
	isolated bool
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startServer(bin, dataDir, logPath, dataplane string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// The idle timeout outlasts the run so that warm environments stay warm.
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dataDir,
		"--dataplane", dataplane, "--env-idle-timeout", "30m")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, exited: make(chan struct{}), log: logf}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/_lambdaplane/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				b, _ := os.ReadFile(logPath)
				s.isolated = bytes.Contains(b, []byte(" isolation=true"))
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("lambdaplane exited before it was healthy: %v (log: %s)", s.err, logf.Name())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("lambdaplane not healthy after 30s: %v", err)
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the server's PID and waits for a clean exit.
func (s *server) stop() error {
	defer s.log.Close()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		if s.err != nil {
			return fmt.Errorf("lambdaplane exited with %v on SIGTERM", s.err)
		}
		return nil
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("lambdaplane did not exit within 15s of SIGTERM; killed it")
	}
}

func controlClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

// createExecutionRole creates the role the echo functions run with: Lambda
// refuses a role that does not exist or does not trust it.
func createExecutionRole(ctx context.Context, url string) error {
	_, err := iamClient(url).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("lambda-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		return fmt.Errorf("create execution role: %w", err)
	}
	return nil
}

func createFunction(ctx context.Context, c *lambda.Client, name string, zip []byte) error {
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         aws.String(role),
		Code:         &types.FunctionCode{ZipFile: zip},
	})
	return err
}

// waitActive polls more often than the SDK's waiter, whose delays would
// dominate the run time with many functions.
func waitActive(ctx context.Context, c *lambda.Client, names ...string) error {
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range names {
		for {
			out, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
			if err != nil {
				return err
			}
			if out.State == types.StateActive {
				break
			}
			if out.State == types.StateFailed {
				return fmt.Errorf("function %s failed: %s", name, aws.ToString(out.StateReason))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("function %s not Active after 60s (state %s)", name, out.State)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
