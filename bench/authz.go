package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// benchUser is the IAM user whose invokes pay for policy evaluation; the
// account root's skip it.
const benchUser = "lpbench-invoker"

const readOnlyPolicy = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"

func iamClient(url string) *iam.Client {
	return iam.New(iam.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

// userPolicy is the bench user's inline policy: shaped like a real one, with
// a Deny whose condition is evaluated on every request and an unrelated
// Allow ahead of the statement that grants the invoke, so the engine has
// more to do than match a single statement.
func userPolicy(functionARN string) (string, error) {
	arn := strings.Split(functionARN, ":")
	if len(arn) < 7 || arn[0] != "arn" || arn[2] != "lambda" || arn[5] != "function" {
		return "", fmt.Errorf("%q is not a function ARN", functionARN)
	}
	partition, region, account := arn[1], arn[3], arn[4]
	type stmt struct {
		Sid       string
		Effect    string
		Action    []string
		Resource  string
		Condition map[string]map[string]string `json:",omitempty"`
	}
	doc := struct {
		Version   string
		Statement []stmt
	}{"2012-10-17", []stmt{
		{
			Sid: "DenyOtherRegions", Effect: "Deny", Action: []string{"lambda:*"}, Resource: "*",
			Condition: map[string]map[string]string{"StringNotEquals": {"aws:RequestedRegion": region}},
		},
		{
			Sid: "WriteBenchLogs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/lambda/lpbench-*:*", partition, region, account),
		},
		{Sid: "InvokeBenchFunction", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: functionARN},
	}}
	b, err := json.Marshal(doc)
	return string(b), err
}

// createBenchUser creates the IAM user through the IAM API, as an operator
// would, and returns its access key.
func createBenchUser(ctx context.Context, url, functionARN string) (aws.Credentials, error) {
	c := iamClient(url)
	doc, err := userPolicy(functionARN)
	if err != nil {
		return aws.Credentials{}, err
	}
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(benchUser)}); err != nil {
		return aws.Credentials{}, fmt.Errorf("create user: %w", err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(benchUser)})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("create access key: %w", err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String(benchUser), PolicyName: aws.String("lpbench-invoke"), PolicyDocument: aws.String(doc),
	}); err != nil {
		return aws.Credentials{}, fmt.Errorf("put user policy: %w", err)
	}
	if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{
		UserName: aws.String(benchUser), PolicyArn: aws.String(readOnlyPolicy),
	}); err != nil {
		return aws.Credentials{}, fmt.Errorf("attach %s: %w", readOnlyPolicy, err)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(key.AccessKey.AccessKeyId),
		SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey),
	}, nil
}

// checkDenied makes sure the user's requests really are evaluated: an
// invoke its policies do not allow must come back 403.
func checkDenied(ctx context.Context, iv *invoker) error {
	err := iv.check(ctx)
	if err == nil {
		return fmt.Errorf("%s: user %s was allowed an invoke its policies do not grant; its requests are not evaluated", iv.url, benchUser)
	}
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusForbidden || !strings.HasPrefix(he.errorType, "AccessDeniedException") {
		return fmt.Errorf("%s: want AccessDeniedException for user %s, got %w", iv.url, benchUser, err)
	}
	return nil
}

// threadCPU is the CPU time of each live thread of a process, in
// nanoseconds from /proc/PID/task/TID/schedstat. /proc/PID/stat counts in
// 10 ms ticks, too coarse to tell a few microseconds per invoke apart over
// a few thousand invokes.
type threadCPU map[string]time.Duration

func sampleThreads(pid int) threadCPU {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, _ := os.ReadDir(dir)
	t := make(threadCPU, len(tasks))
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			t[task.Name()] = time.Duration(ns)
		}
	}
	return t
}

// since is the CPU the threads of now spent after before was taken. A thread
// that exited in between is missing from now and its last slice is lost; Go
// keeps its threads, so that is rare during a warm run.
func (now threadCPU) since(before threadCPU) (time.Duration, error) {
	if len(now) == 0 {
		return 0, errors.New("no per-thread CPU times in /proc/PID/task/*/schedstat")
	}
	var d time.Duration
	for tid, t := range now {
		d += t - before[tid]
	}
	return d, nil
}

// overhead is how much longer b took than a, in percent of a.
func overhead(b, a time.Duration) float64 {
	return 100 * (float64(b) - float64(a)) / float64(a)
}
