package iam_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

func TestManagedCatalog(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	var arns []string
	pg := awsiam.NewListPoliciesPaginator(e.root(), &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAws})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Policies {
			arns = append(arns, *p.Arn)
		}
	}
	for _, want := range []string{
		"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
		"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
		"arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess",
		"arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
		"arn:aws:iam::aws:policy/AWSLambda_FullAccess",
		"arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess",
		"arn:aws:iam::aws:policy/AmazonVPCFullAccess",
		"arn:aws:iam::aws:policy/AmazonVPCReadOnlyAccess",
		"arn:aws:iam::aws:policy/AmazonEC2FullAccess",
		"arn:aws:iam::aws:policy/IAMFullAccess",
		"arn:aws:iam::aws:policy/AdministratorAccess",
		"arn:aws:iam::aws:policy/ReadOnlyAccess",
	} {
		if !slices.Contains(arns, want) {
			t.Errorf("catalog lacks %s", want)
		}
	}
	v, err := e.root().GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"), VersionId: aws.String("v3")})
	if err != nil || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("%+v %v", v, err)
	}

	// AWSLambda_ReadOnlyAccess allows GetFunction but not CreateFunction.
	e.user("reader")
	if _, err := e.root().AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("reader"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	k, _, _ := keyOf(t, e, "reader")
	cred, err := e.svc.LookupAccessKey(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:123456789012:function:hello"
	rctx := gateway.WithRequest(ctx, &gateway.Request{Region: "us-east-1", Principal: cred.Principal})
	if d, _ := e.svc.Authorize(rctx, cred.Principal, iam.Check{Action: "lambda:GetFunction", Resource: fn}); !d.Allowed {
		t.Fatalf("GetFunction: %v", d.Reason)
	}
	if d, _ := e.svc.Authorize(rctx, cred.Principal, iam.Check{Action: "lambda:CreateFunction", Resource: fn}); d.Allowed {
		t.Fatal("CreateFunction allowed by a read-only policy")
	}
}

// ReadOnlyAccess is the largest document of the catalog (about 1,350
// actions); it must parse and grant reads across services, never writes.
func TestReadOnlyAccess(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	const arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	v, err := e.root().GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v90")})
	if err != nil || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("%+v %v", v, err)
	}
	e.user("auditor")
	if _, err := e.root().AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("auditor"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	k, _, _ := keyOf(t, e, "auditor")
	cred, err := e.svc.LookupAccessKey(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:123456789012:function:hello"
	rctx := gateway.WithRequest(ctx, &gateway.Request{Region: "us-east-1", Principal: cred.Principal})
	for _, c := range []struct {
		action, resource string
		allowed          bool
	}{
		{"lambda:GetFunction", fn, true},
		{"lambda:ListFunctions", "*", true},
		{"ec2:DescribeVpcs", "*", true},
		{"iam:GetRole", "arn:aws:iam::123456789012:role/r", true},
		{"sts:GetSessionToken", "*", true},
		{"lambda:CreateFunction", fn, false},
		{"lambda:InvokeFunction", fn, false},
		{"ec2:CreateVpc", "*", false},
		{"iam:CreateRole", "arn:aws:iam::123456789012:role/r", false},
	} {
		if d, _ := e.svc.Authorize(rctx, cred.Principal, iam.Check{Action: c.action, Resource: c.resource}); d.Allowed != c.allowed {
			t.Errorf("%s allowed=%v, want %v (%v)", c.action, d.Allowed, c.allowed, d.Reason)
		}
	}
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	root := e.root()
	e.user("sim")
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Deny\", \"Action\": \"iam:DeleteRole\", \"Resource\": \"*\"},\n    {\"Sid\": \"Tagged\", \"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\",\n     \"Condition\": {\"StringEquals\": {\"aws:PrincipalTag/team\": \"a\"}}}\n  ]\n}"
	if _, err := root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("sim"), PolicyName: aws.String("mine"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("sim"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}); err != nil {
		t.Fatal(err)
	}
	out, err := root.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/sim"),
		ActionNames:     []string{"iam:CreateRole", "iam:DeleteRole", "s3:GetObject", "ec2:DescribeVpcs"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]iamtypes.PolicyEvaluationDecisionType{"iam:CreateRole": "allowed", "iam:DeleteRole": "explicitDeny", "s3:GetObject": "implicitDeny", "ec2:DescribeVpcs": "implicitDeny"}
	for _, r := range out.EvaluationResults {
		if r.EvalDecision != want[*r.EvalActionName] || *r.EvalResourceName != "*" {
			t.Errorf("%s: %s", *r.EvalActionName, r.EvalDecision)
		}
		switch *r.EvalActionName {
		case "iam:CreateRole":
			if len(r.MatchedStatements) != 1 || *r.MatchedStatements[0].SourcePolicyId != "IAMFullAccess" || r.MatchedStatements[0].SourcePolicyType != "aws-managed" {
				t.Errorf("CreateRole matched %+v", r.MatchedStatements)
			}
		case "iam:DeleteRole":
			m := r.MatchedStatements
			if len(m) != 1 || *m[0].SourcePolicyId != "mine" || m[0].SourcePolicyType != "user" ||
				m[0].StartPosition.Line != 4 || m[0].StartPosition.Column != 5 || m[0].EndPosition.Line != 4 {
				t.Errorf("DeleteRole matched %+v", m)
			}
		case "s3:GetObject":
			if !slices.Equal(r.MissingContextValues, []string{"aws:PrincipalTag/team"}) {
				t.Errorf("missing context values %v", r.MissingContextValues)
			}
		}
	}
	// With the key given, and an extra policy in the input list.
	out, err = root.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/sim"),
		ActionNames:     []string{"s3:GetObject", "ec2:DescribeVpcs"},
		ContextEntries:  []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:PrincipalTag/team"), ContextKeyValues: []string{"a"}, ContextKeyType: iamtypes.ContextKeyTypeEnumString}},
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.EvaluationResults {
		if r.EvalDecision != "allowed" {
			t.Errorf("%s: %s", *r.EvalActionName, r.EvalDecision)
		}
	}
	if id := out.EvaluationResults[1].MatchedStatements[0].SourcePolicyId; *id != "PolicyInputList.1" {
		t.Errorf("input policy id %s", *id)
	}
	_, err = root.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/nobody"), ActionNames: []string{"s3:GetObject"}})
	apiError(t, err, "NoSuchEntity", "")
}
