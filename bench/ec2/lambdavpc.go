package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// benchFunctionsInVpc times CreateFunction to Active for functions
// connected to a VPC, on a subnet and group combination that needs new
// interfaces and on one that shares existing ones, against functions
// without a VpcConfig, in the same run (target: under 50 ms with the
// server's zero delays).
func benchFunctionsInVpc(ctx context.Context, url string, rounds int) error {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(url) })
	ec := client(url)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lpbench-vpc-role"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return err
	}
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lpbench-vpc-role"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")}); err != nil {
		return err
	}
	v, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.200.0.0/16")})
	if err != nil {
		return err
	}
	var subnets []string
	for i := 0; i < 2; i++ {
		s, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.200." + strconv.Itoa(i) + ".0/24")})
		if err != nil {
			return err
		}
		subnets = append(subnets, *s.Subnet.SubnetId)
	}
	code, err := nodeZip()
	if err != nil {
		return err
	}
	n := 0
	createActive := func(vpc *types.VpcConfig) (time.Duration, error) {
		n++
		name := "lpbench-vpc-" + strconv.Itoa(n)
		start := time.Now()
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs20x,
			Handler: aws.String("index.handler"), Role: role.Role.Arn, Code: &types.FunctionCode{ZipFile: code}, VpcConfig: vpc}); err != nil {
			return 0, err
		}
		for {
			out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
			if err != nil {
				return 0, err
			}
			switch out.State {
			case types.StateActive:
				return time.Since(start), nil
			case types.StateFailed:
				return 0, fmt.Errorf("%s failed: %s", name, aws.ToString(out.StateReason))
			}
			time.Sleep(time.Millisecond)
		}
	}
	var plain, fresh, shared []time.Duration
	for r := 0; r < rounds; r++ {
		d, err := createActive(nil)
		if err != nil {
			return err
		}
		plain = append(plain, d)
		// A new group per round: a combination nobody uses yet.
		g, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: v.Vpc.VpcId, GroupName: aws.String("lpbench-fn-" + strconv.Itoa(r)), Description: aws.String("bench")})
		if err != nil {
			return err
		}
		vpc := &types.VpcConfig{SubnetIds: subnets, SecurityGroupIds: []string{*g.GroupId}}
		if d, err = createActive(vpc); err != nil {
			return err
		}
		fresh = append(fresh, d)
		if d, err = createActive(vpc); err != nil {
			return err
		}
		shared = append(shared, d)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CreateFunction to Active (%d each)\tp50\tp90\tvs no VpcConfig (p50)\n", rounds)
	base := median(plain)
	for _, row := range []struct {
		label string
		d     []time.Duration
	}{{"no VpcConfig (baseline)", plain}, {"VpcConfig, new subnet+group combination (target < 50 ms)", fresh}, {"VpcConfig, shared combination", shared}} {
		slices.Sort(row.d)
		fmt.Fprintf(tw, "%s\t%v\t%v\t%.2fx\n", row.label, median(row.d).Round(10*time.Microsecond), row.d[len(row.d)*9/10].Round(10*time.Microsecond), float64(median(row.d))/float64(base))
	}
	return tw.Flush()
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func nodeZip() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("index.js")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte("exports.handler = async (e) => e;\n")); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
