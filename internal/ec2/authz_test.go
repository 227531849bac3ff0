package ec2_test

import (
	"net/http"
	"strings"
	"testing"

	"errors"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// An IAM user gets exactly what its policies allow, in EC2's words.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ic := iam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: e.ec2.Options().Credentials},
		func(o *iam.Options) { o.BaseEndpoint = aws.String(e.url) })
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("netops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("netops"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("netops")})
	if err != nil {
		t.Fatal(err)
	}
	user := e.client(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")
	if _, err := user.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{}); err != nil {
		t.Fatalf("allowed describe: %v", err)
	}
	_, err = user.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	wantAPIError(t, err, "UnauthorizedOperation", "")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("status: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/netops is not authorized to perform: ec2:CreateVpc on resource: arn:aws:ec2:us-east-1:123456789012:vpc/*") {
		t.Fatalf("message: %s", msg)
	}
	// DryRun answers the permission question without doing anything.
	_, err = user.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "UnauthorizedOperation", "")
	_, err = user.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	out, _ := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{})
	if len(out.Vpcs) != 1 {
		t.Fatalf("a refused or dry-run create left %d VPCs", len(out.Vpcs))
	}
}
