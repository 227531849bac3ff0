package policy

import "testing"

// A read-only Lambda policy shaped like AWSLambda_ReadOnlyAccess: several
// statements of wildcard actions.
const readOnlyLike = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "LambdaRead", "Effect": "Allow",
     "Action": ["lambda:Get*", "lambda:List*", "lambda:InvokeFunction", "lambda:InvokeAsync"],
     "Resource": "*"},
    {"Sid": "VPCRead", "Effect": "Allow",
     "Action": ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
     "Resource": "*"},
    {"Sid": "Logs", "Effect": "Allow",
     "Action": ["logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
     "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*"},
    {"Sid": "NoDelete", "Effect": "Deny", "Action": "lambda:Delete*", "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}}
  ]
}`

// BenchmarkEvaluate is the per-call cost of authorization: a user of one
// account invoking a qualified function of another through an interface
// endpoint, checked against an identity policy, the function policy and the
// endpoint policy.
func BenchmarkEvaluate(b *testing.B) {
	identity := mustParse(b, KindIdentity, readOnlyLike)
	fnPolicy := mustParse(b, KindResource, `{"Version":"2012-10-17","Id":"default","Statement":[
	  {"Sid":"xaccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction",
	   "Resource":"arn:aws:lambda:us-east-2:123456789012:function:my-function:*",
	   "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0f89a33420c1931d7"}}}]}`)
	endpoint := mustParse(b, KindEndpoint, seedEndpointPolicy)
	req := Request{
		Principal:       myUser,
		Action:          "lambda:InvokeFunction",
		Resource:        "arn:aws:lambda:us-east-2:123456789012:function:my-function:PROD",
		ResourceAccount: acctA,
		Context:         Context{"aws:sourcevpce": {"vpce-0f89a33420c1931d7"}, "aws:securetransport": {"true"}},
	}
	in := Inputs{Identity: []*Policy{identity}, Resource: fnPolicy, Endpoint: endpoint}
	if d := Evaluate(req, in); !d.Allowed {
		b.Fatalf("%+v", d)
	}
	b.Run("Evaluate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Evaluate(req, in)
		}
	})
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Check(req, in)
		}
	})
}

// BenchmarkEvaluateDenied is the implicit-deny path, which records no
// statements.
func BenchmarkEvaluateDenied(b *testing.B) {
	identity := mustParse(b, KindIdentity, readOnlyLike)
	req := Request{Principal: carlos, Action: "lambda:CreateFunction", Resource: "arn:aws:lambda:us-east-1:123456789012:function:f"}
	in := Inputs{Identity: []*Policy{identity}}
	b.ReportAllocs()
	for b.Loop() {
		Check(req, in)
	}
}
