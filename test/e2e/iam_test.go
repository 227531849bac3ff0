package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestIAMEnforcement drives the IAM issue's proof through the SDK against
// the real server: users get exactly what their policies allow, roles assumed
// with AssumeRole get exactly the role's permissions, and a function's policy
// opens it to another account.
func TestIAMEnforcement(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(o *serverOptions) {
		o.extraArgs = append(o.extraArgs, "--account", "111122223333:AKIDOTHERACCOUNT:othersecret")
	})
	admin := iam.NewFromConfig(s.awsConfig("test", "test"))
	ctx := ctxT(t)
	createFunction(t, s.lambda(), fnSpec{name: "guarded", runtime: "provided.al2023", handler: "bootstrap", zip: goZip})

	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("MyUser")}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("MyUser")})
	if err != nil {
		t.Fatal(err)
	}
	userCfg := s.awsConfig(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey))
	asUser := lambda.NewFromConfig(userCfg)
	userARN := "arn:aws:iam::123456789012:user/MyUser"
	fn := fnARN("guarded")

	t.Run("a user without policies is denied", func(t *testing.T) {
		_, err := asUser.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("guarded")})
		checkAPIError(t, err, "AccessDeniedException", 403,
			"User: "+userARN+" is not authorized to perform: lambda:GetFunction on resource: "+fn+" because no identity-based policy allows the lambda:GetFunction action")
		id, err := sts.NewFromConfig(userCfg).GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != userARN {
			t.Fatalf("GetCallerIdentity as the user: %v %v", id, err)
		}
	})

	t.Run("AWSLambda_ReadOnlyAccess allows reading, not creating", func(t *testing.T) {
		if _, err := admin.AttachUserPolicy(ctxT(t), &iam.AttachUserPolicyInput{UserName: aws.String("MyUser"),
			PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")}); err != nil {
			t.Fatal(err)
		}
		if _, err := asUser.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("guarded")}); err != nil {
			t.Fatalf("GetFunction with read-only access: %v", err)
		}
		_, err := asUser.CreateFunction(ctxT(t), &lambda.CreateFunctionInput{FunctionName: aws.String("mine"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: goZip}})
		checkAPIError(t, err, "AccessDeniedException", 403,
			"User: "+userARN+" is not authorized to perform: lambda:CreateFunction on resource: "+fnARN("mine")+" because no identity-based policy allows the lambda:CreateFunction action")
		_, err = asUser.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("guarded")})
		checkAPIError(t, err, "AccessDeniedException", 403, "")
	})

	t.Run("an assumed role has exactly the role's permissions", func(t *testing.T) {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
		if _, err := admin.CreateRole(ctxT(t), &iam.CreateRoleInput{RoleName: aws.String("invoker"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.PutRolePolicy(ctxT(t), &iam.PutRolePolicyInput{RoleName: aws.String("invoker"), PolicyName: aws.String("invoke"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"` + fn + `"}]}`)}); err != nil {
			t.Fatal(err)
		}
		// Roots may not assume roles: a user allowed sts:AssumeRole does.
		if _, err := admin.PutUserPolicy(ctxT(t), &iam.PutUserPolicyInput{UserName: aws.String("MyUser"), PolicyName: aws.String("assume"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/invoker"}]}`)}); err != nil {
			t.Fatal(err)
		}
		out, err := sts.NewFromConfig(userCfg).AssumeRole(ctxT(t), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::123456789012:role/invoker"), RoleSessionName: aws.String("e2e")})
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.awsConfig(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey))
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
			aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		asRole := lambda.NewFromConfig(cfg)
		if _, err := asRole.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("guarded"), Payload: []byte(`{}`)}); err != nil {
			t.Fatalf("invoke as the role: %v", err)
		}
		_, err = asRole.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("guarded")})
		checkAPIError(t, err, "AccessDeniedException", 403,
			"User: arn:aws:sts::123456789012:assumed-role/invoker/e2e is not authorized to perform: lambda:GetFunction on resource: "+fn+" because no identity-based policy allows the lambda:GetFunction action")
	})

	t.Run("a function policy opens the function to another account", func(t *testing.T) {
		other := lambda.NewFromConfig(s.awsConfig("AKIDOTHERACCOUNT", "othersecret"))
		_, err := other.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)})
		checkAPIError(t, err, "AccessDeniedException", 403, "")
		if _, err := s.lambda().AddPermission(ctxT(t), &lambda.AddPermissionInput{FunctionName: aws.String("guarded"),
			StatementId: aws.String("other"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("111122223333")}); err != nil {
			t.Fatal(err)
		}
		// The other account's root needs no identity policy of its own.
		if _, err := other.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)}); err != nil {
			t.Fatalf("cross-account invoke allowed by the function policy: %v", err)
		}
		pol, err := s.lambda().GetPolicy(ctxT(t), &lambda.GetPolicyInput{FunctionName: aws.String("guarded")})
		if err != nil || aws.ToString(pol.RevisionId) == "" {
			t.Fatalf("GetPolicy: %v %v", pol, err)
		}
	})

	t.Run("a role Lambda cannot assume is refused", func(t *testing.T) {
		_, err := s.lambda().CreateFunction(ctxT(t), &lambda.CreateFunctionInput{FunctionName: aws.String("norole"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::123456789012:role/missing"), Code: &types.FunctionCode{ZipFile: goZip}})
		checkAPIError(t, err, "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.")
		_, err = s.lambda().CreateFunction(ctxT(t), &lambda.CreateFunctionInput{FunctionName: aws.String("norole"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::123456789012:role/invoker"), Code: &types.FunctionCode{ZipFile: goZip}})
		checkAPIError(t, err, "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.")
	})
}
