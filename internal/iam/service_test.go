package iam_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

const acct = iam.DefaultAccountID

// env is a gateway with IAM and STS in front of one store.
type env struct {
	t     testing.TB
	st    store.Store
	svc   *iam.Service
	srv   *httptest.Server
	clock *clock
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	accounts, err := iam.NewAccounts(iam.AccountSpec{ID: "111122223333", AccessKey: "OTHERROOT", Secret: "other"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: &clock{now: time.Now()}}
	e.svc, err = iam.New(iam.Options{Store: st, Accounts: accounts, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Config{Credentials: e.svc, Now: e.clock.Now})
	g.Register(e.svc.IAMService())
	g.Register(e.svc.STSService())
	e.srv = httptest.NewServer(g)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) cfg(key, secret, token string) aws.Config {
	// Transport errors (a connection dropped under a loaded -race run) are
	// retried; the API errors these tests assert are not retryable.
	return aws.Config{Region: "eu-central-1", Credentials: credentials.NewStaticCredentialsProvider(key, secret, token), RetryMaxAttempts: 3}
}

func (e *env) iam(key, secret, token string) *awsiam.Client {
	return awsiam.NewFromConfig(e.cfg(key, secret, token), func(o *awsiam.Options) { o.BaseEndpoint = aws.String(e.srv.URL) })
}

func (e *env) sts(key, secret, token string) *sts.Client {
	return sts.NewFromConfig(e.cfg(key, secret, token), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.srv.URL) })
}

func (e *env) root() *awsiam.Client { return e.iam("test", "test", "") }

// user creates a user with an access key and returns a client signing as it.
func (e *env) user(name string) *awsiam.Client {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.root().CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
	k, err := e.root().CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.iam(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
}

func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s %q, got %v", code, msg, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func TestUserPermissions(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	alice := e.user("alice")

	_, err := alice.ListUsers(ctx, &awsiam.ListUsersInput{})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action")
	_, err = alice.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/r because no identity-based policy allows the iam:CreateRole action")

	if _, err := e.root().AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}); err != nil {
		t.Fatal(err)
	}
	out, err := alice.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), Path: aws.String("/svc/"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Role.Arn); got != "arn:aws:iam::123456789012:role/svc/r" || !strings.HasPrefix(*out.Role.RoleId, "AROA") || len(*out.Role.RoleId) != 21 {
		t.Fatalf("role %s %s", got, aws.ToString(out.Role.RoleId))
	}
	if doc, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument)); doc != lambdaTrust {
		t.Fatalf("trust document %q", aws.ToString(out.Role.AssumeRolePolicyDocument))
	}

	// A group's policy reaches its members; an explicit deny in it wins.
	if _, err := e.root().CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("nodelete")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root().PutGroupPolicy(ctx, &awsiam.PutGroupPolicyInput{GroupName: aws.String("nodelete"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root().AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("nodelete"), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("r")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::123456789012:role/svc/r with an explicit deny in an identity-based policy")

	me, err := alice.GetUser(ctx, &awsiam.GetUserInput{})
	if err != nil || aws.ToString(me.User.UserName) != "alice" || !strings.HasPrefix(*me.User.UserId, "AIDA") || len(*me.User.UserId) != 21 {
		t.Fatalf("GetUser of the caller: %+v %v", me, err)
	}
	id, err := e.sts(keyOf(t, e, "alice")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:user/alice" || *id.UserId != *me.User.UserId || *id.Account != acct {
		t.Fatalf("GetCallerIdentity of a user: %+v %v", id, err)
	}
}

// keyOf makes a second access key for a user and returns it.
func keyOf(t *testing.T, e *env, name string) (string, string, string) {
	t.Helper()
	k, err := e.root().CreateAccessKey(context.Background(), &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, ""
}

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func trustFor(arn string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + arn + `"},"Action":"sts:AssumeRole"}]}`
}

func TestAssumeRole(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("bob")
	bobKey, bobSecret, _ := keyOf(t, e, "bob")
	root := e.root()
	if _, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:user/bob"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:ListRoles"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	// Not trusted: the trust policy names bob only.
	if _, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("other"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:user/carol"))}); err != nil {
		t.Fatal(err)
	}
	bob := e.sts(bobKey, bobSecret, "")
	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/other"), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/other")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/nope"), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/nope")
	_, err = e.sts("test", "test", "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied", "Roles may not be assumed by root accounts.")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)})
	apiError(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("bad name")})
	apiError(t, err, "ValidationError", `1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)

	out, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || *c.SessionToken == "" || c.Expiration.Sub(e.clock.now) < 59*time.Minute {
		t.Fatalf("credentials %+v", c)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/reader/s1" || !strings.HasPrefix(*out.AssumedRoleUser.AssumedRoleId, "AROA") || !strings.HasSuffix(*out.AssumedRoleUser.AssumedRoleId, ":s1") {
		t.Fatalf("assumed role user %+v", out.AssumedRoleUser)
	}
	id, err := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != *out.AssumedRoleUser.Arn || *id.UserId != *out.AssumedRoleUser.AssumedRoleId || *id.Account != acct {
		t.Fatalf("GetCallerIdentity of the session: %+v %v", id, err)
	}
	// Exactly the role's permissions.
	sess := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := sess.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	_, err = sess.ListUsers(ctx, &awsiam.ListUsersInput{})
	apiError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/reader/s1 is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action")
	_, err = sess.GetUser(ctx, &awsiam.GetUserInput{})
	apiError(t, err, "ValidationError", "Must specify userName when calling with non-User credentials")
	// Without the session token the key is refused.
	if _, err := e.sts(*c.AccessKeyId, *c.SecretAccessKey, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Fatal("session key accepted without its token")
	}

	// A session policy narrows the session to what both allow.
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	c = out.Credentials
	narrow := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := narrow.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = narrow.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("reader")})
	apiError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/reader/narrow is not authorized to perform: iam:GetRole on resource: arn:aws:iam::123456789012:role/reader because no session policy allows the iam:GetRole action")
	_, err = narrow.ListUsers(ctx, &awsiam.ListUsersInput{})
	apiError(t, err, "AccessDenied", "")

	// Sessions expire.
	e.clock.now = e.clock.now.Add(2 * time.Hour)
	_, err = e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	apiError(t, err, "ExpiredToken", "")
}

func TestAssumeRoleNeedsIdentityPolicyWhenTrustNamesAccount(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("dave")
	k, s, _ := keyOf(t, e, "dave")
	if _, err := e.root().CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("acct"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:root"))}); err != nil {
		t.Fatal(err)
	}
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/acct"), RoleSessionName: aws.String("x1")}
	_, err := e.sts(k, s, "").AssumeRole(ctx, in)
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/dave is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/acct")
	if _, err := e.root().PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("dave"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/acct"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sts(k, s, "").AssumeRole(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func TestAssumeRoleForService(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	if _, err := e.root().CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("exec"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root().CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("notlambda"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:root"))}); err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{"arn:aws:iam::123456789012:role/notlambda", "arn:aws:iam::123456789012:role/missing", "arn:aws:iam::111122223333:role/exec"} {
		if _, err := e.svc.AssumeRoleForService(ctx, arn, "lambda.amazonaws.com", "fn"); !errors.Is(err, iam.ErrRoleNotAssumable) {
			t.Errorf("%s: %v", arn, err)
		}
	}
	cred, err := e.svc.AssumeRoleForService(ctx, "arn:aws:iam::123456789012:role/exec", "lambda.amazonaws.com", "my-function")
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.sts(cred.Principal.AccessKeyID, cred.Secret, cred.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:sts::123456789012:assumed-role/exec/my-function" || !strings.HasSuffix(*id.UserId, ":my-function") {
		t.Fatalf("%+v %v", id, err)
	}
	// The session has the role's permissions: none yet.
	_, err = e.iam(cred.Principal.AccessKeyID, cred.Secret, cred.SessionToken).ListRoles(ctx, &awsiam.ListRolesInput{})
	apiError(t, err, "AccessDenied", "")
	if _, err := e.root().AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("exec"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam(cred.Principal.AccessKeyID, cred.Secret, cred.SessionToken).ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	ctx := context.Background()
	e.user("erin")
	k, s, _ := keyOf(t, e, "erin")
	root := e.root()
	if _, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:user/erin"))}); err != nil {
		t.Fatal(err)
	}
	pol, err := root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sts(k, s, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("persist")})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e = newEnv(t, st)
	if _, err := e.sts(k, s, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal("user key after restart:", err)
	}
	c := out.Credentials
	sess := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	users, err := sess.ListUsers(ctx, &awsiam.ListUsersInput{})
	if err != nil || len(users.Users) != 1 || *users.Users[0].UserName != "erin" {
		t.Fatalf("session after restart: %+v %v", users, err)
	}
	_, err = sess.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("r")})
	apiError(t, err, "AccessDenied", "")
}

func TestValidationWritesNothing(t *testing.T) {
	st := store.NewMemory()
	e := newEnv(t, st)
	ctx := context.Background()
	root := e.root()
	if _, err := root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("frank")}); err != nil {
		t.Fatal(err)
	}
	rev := st.Rev()
	for _, tc := range []struct {
		call       func() error
		code, text string
	}{
		{func() error {
			_, err := root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("frank"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[`)})
			return err
		}, "MalformedPolicyDocument", "Syntax errors in policy."},
		{func() error {
			_, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)})
			return err
		}, "MalformedPolicyDocument", "Missing required field Principal"},
		{func() error {
			_, err := root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater."},
		{func() error {
			_, err := root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bad name")})
			return err
		}, "ValidationError", `1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{func() error {
			_, err := root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("FRANK")})
			return err
		}, "EntityAlreadyExists", "User with name FRANK already exists."},
		{func() error {
			_, err := root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", "The user with name ghost cannot be found."},
		{func() error {
			_, err := root.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", "The role with name ghost cannot be found."},
		{func() error {
			_, err := root.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("frank"), PolicyArn: aws.String("arn:aws:iam::123456789012:policy/ghost")})
			return err
		}, "NoSuchEntity", "Policy arn:aws:iam::123456789012:policy/ghost does not exist or is not attachable."},
		{func() error {
			_, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(lambdaTrust), MaxSessionDuration: aws.Int32(100)})
			return err
		}, "ValidationError", "1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
	} {
		err := tc.call()
		apiError(t, err, tc.code, tc.text)
	}
	if st.Rev() != rev {
		t.Fatalf("failed requests wrote to the store: revision %d → %d", rev, st.Rev())
	}
	pols, err := root.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("frank")})
	if err != nil || len(pols.PolicyNames) != 0 {
		t.Fatalf("%+v %v", pols, err)
	}
}

func TestConflictsAndLimits(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	root := e.root()
	if _, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for i := range 11 {
		p, err := root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *p.Policy.Arn)
	}
	for i, arn := range arns {
		_, err := root.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			apiError(t, err, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")
		}
	}
	att, err := root.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || len(att.AttachedPolicies) != 10 {
		t.Fatalf("%+v %v", att, err)
	}
	_, err = root.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("r")})
	apiError(t, err, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	_, err = root.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arns[0])})
	apiError(t, err, "DeleteConflict", "Cannot delete a policy attached to entities.")
	pol, err := root.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arns[0])})
	if err != nil || *pol.Policy.AttachmentCount != 1 || *pol.Policy.DefaultVersionId != "v1" {
		t.Fatalf("%+v %v", pol, err)
	}

	// Versions: at most five; a new default changes what the policy allows.
	for i := 2; i <= 5; i++ {
		v, err := root.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arns[10]), SetAsDefault: i == 5,
			PolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b%d/*"}]}`, i))})
		if err != nil || *v.PolicyVersion.VersionId != fmt.Sprintf("v%d", i) {
			t.Fatalf("%+v %v", v, err)
		}
	}
	_, err = root.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arns[10]),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
	apiError(t, err, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	v, err := root.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arns[10]), VersionId: aws.String("v5")})
	if err != nil || !v.PolicyVersion.IsDefaultVersion || !strings.Contains(aws.ToString(v.PolicyVersion.Document), "%22arn%3Aaws%3As3%3A%3A%3Ab5%2F%2A%22") {
		t.Fatalf("%+v %v", v, err)
	}

	// Groups with members cannot go.
	if _, err := root.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("g"), UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	_, err = root.DeleteGroup(ctx, &awsiam.DeleteGroupInput{GroupName: aws.String("g")})
	apiError(t, err, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	g, err := root.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String("g")})
	if err != nil || len(g.Users) != 1 || *g.Users[0].UserName != "u" {
		t.Fatalf("%+v %v", g, err)
	}

	// Instance profiles hold one role.
	if _, err := root.CreateInstanceProfile(ctx, &awsiam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ip")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("ip"), RoleName: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	ip, err := root.GetInstanceProfile(ctx, &awsiam.GetInstanceProfileInput{InstanceProfileName: aws.String("ip")})
	if err != nil || len(ip.InstanceProfile.Roles) != 1 || *ip.InstanceProfile.Roles[0].RoleName != "r" || !strings.HasPrefix(*ip.InstanceProfile.InstanceProfileId, "AIPA") {
		t.Fatalf("%+v %v", ip, err)
	}

	// Tags.
	if _, err := root.TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("r"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.UntagRole(ctx, &awsiam.UntagRoleInput{RoleName: aws.String("r"), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := root.ListRoleTags(ctx, &awsiam.ListRoleTagsInput{RoleName: aws.String("r")})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("%+v %v", tags, err)
	}

	// Pagination.
	p1, err := root.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, MaxItems: aws.Int32(4)})
	if err != nil || len(p1.Policies) != 4 || !p1.IsTruncated {
		t.Fatalf("%+v %v", p1, err)
	}
	var n int
	pg := awsiam.NewListPoliciesPaginator(root, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, MaxItems: aws.Int32(4)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Policies)
	}
	if n != 11 {
		t.Fatalf("paginated %d local policies, want 11", n)
	}
}
