package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// coldVpc times the first invoke of n new functions of f connected to one
// subnet and group of a fresh VPC: the same cold start as coldLambdaplane
// plus putting the environment behind its Hyperplane ENI (a namespace, a
// veth pair, routes, SNAT). Only meaningful with the linux data plane.
func coldVpc(ctx context.Context, c *lambda.Client, serverURL string, f *echoFunction, n int) ([]time.Duration, error) {
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(serverURL) })
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lambda-role"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")}); err != nil {
		return nil, err
	}
	ec := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(serverURL) })
	v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.99.0.0/16")})
	if err != nil {
		return nil, err
	}
	sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.99.1.0/24")})
	if err != nil {
		return nil, err
	}
	g, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: v.Vpc.VpcId, GroupName: aws.String("lpbench-fn"), Description: aws.String("bench")})
	if err != nil {
		return nil, err
	}
	vpc := &types.VpcConfig{SubnetIds: []string{*sn.Subnet.SubnetId}, SecurityGroupIds: []string{*g.GroupId}}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-vpc-%d", f.name, i)
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(names[i]), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: f.zip}, VpcConfig: vpc}); err != nil {
			return nil, fmt.Errorf("create %s: %w", names[i], err)
		}
	}
	if err := waitActive(ctx, c, names...); err != nil {
		return nil, err
	}
	// The data plane follows the store asynchronously: give the shared
	// interface's namespace a moment to exist before timing.
	time.Sleep(500 * time.Millisecond)
	return timeFirstInvokes(ctx, serverURL, names)
}
