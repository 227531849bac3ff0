package netctl_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The console keeps the most recent 64 KiB, as AWS does.
func TestAppendConsoleOutputKeepsTail(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	sub := e.subnet(vpc, "10.0.1.0/24")
	out := must(e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(sub)}))
	id := aws.ToString(out.Instances[0].InstanceId)

	head := strings.Repeat("a", 10<<10)
	tail := strings.Repeat("b", 60<<10) + "end\n"
	for _, s := range []string{head, tail} {
		if err := e.svc.AppendConsoleOutput(id, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got := must(e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id)}))
	b, err := base64.StdEncoding.DecodeString(aws.ToString(got.Output))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 64<<10 || !strings.HasSuffix(string(b), tail) || !strings.HasPrefix(string(b), "aaa") {
		t.Fatalf("console output: %d bytes, starts %q, ends %q", len(b), b[:8], b[len(b)-8:])
	}
	if got.Timestamp == nil || got.Timestamp.IsZero() {
		t.Fatal("no console timestamp")
	}
	if err := e.svc.AppendConsoleOutput("i-0123456789abcdef0", []byte("x")); err == nil {
		t.Fatal("appending to an unknown instance succeeded")
	}
}
