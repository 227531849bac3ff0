package iam_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// benchUser makes a user with an inline policy, a managed policy attached
// and a group policy: three policies to evaluate.
func benchUser(b *testing.B) (*env, gateway.Credential) {
	e := newEnv(b, store.NewMemory())
	ctx := context.Background()
	root := e.root()
	must := func(_ any, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bench")}))
	must(root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bench"), PolicyName: aws.String("inline"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:GetFunction","lambda:ListFunctions"],"Resource":"*"},{"Effect":"Deny","Action":"lambda:DeleteFunction","Resource":"*"}]}`)}))
	must(root.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("bench"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}))
	must(root.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("g")}))
	must(root.PutGroupPolicy(ctx, &awsiam.PutGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String("invoke"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:123456789012:function:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)}))
	must(root.AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("g"), UserName: aws.String("bench")}))
	k, err := root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	cred, err := e.svc.LookupAccessKey(ctx, *k.AccessKey.AccessKeyId)
	if err != nil {
		b.Fatal(err)
	}
	return e, cred
}

func BenchmarkLookupAccessKey(b *testing.B) {
	e, cred := benchUser(b)
	ctx := context.Background()
	key := cred.Principal.AccessKeyID
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.LookupAccessKey(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorize(b *testing.B) {
	e, cred := benchUser(b)
	ctx := gateway.WithRequest(context.Background(), &gateway.Request{Region: "us-east-1", SourceIP: "127.0.0.1", Principal: cred.Principal})
	c := iam.Check{Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:123456789012:function:hello"}
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := e.svc.Authorize(ctx, cred.Principal, c); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
