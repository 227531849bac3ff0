package iam_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/lambdaplane/lambdaplane/internal/store"
)

// sessionClients returns IAM and STS clients signing with AssumeRole's credentials.
func (e *env) sessionClients(c *ststypes.Credentials) (*awsiam.Client, *sts.Client) {
	return e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken), e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

func (e *env) role(name, trust, inline string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.root().CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		e.t.Fatal(err)
	}
	if inline != "" {
		if _, err := e.root().PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(inline)}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestAssumeRoleManagedSessionPolicies(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("bob")
	bob := e.sts(keyOf(t, e, "bob"))
	e.role("admin", trustFor("arn:aws:iam::123456789012:user/bob"), "")
	if _, err := e.root().AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:iam::123456789012:role/admin"
	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::123456789012:policy/ghost")}}})
	apiError(t, err, "MalformedPolicyDocument", "Policy arn:aws:iam::123456789012:policy/ghost does not exist or is not attachable.")

	// An AWS managed session policy narrows AdministratorAccess to reads.
	out, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("ro"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}})
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := e.sessionClients(out.Credentials)
	if _, err := ro.ListUsers(ctx, &awsiam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = ro.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("x")})
	apiError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/admin/ro is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/x because no session policy allows the iam:CreateUser action")

	// A customer managed session policy together with an inline one: either may allow.
	if _, err := e.root().CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("mk"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("mix"),
		Policy:     aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::123456789012:policy/mk")}}})
	if err != nil {
		t.Fatal(err)
	}
	mix, _ := e.sessionClients(out.Credentials)
	if _, err := mix.ListUsers(ctx, &awsiam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mix.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("made")}); err != nil {
		t.Fatal(err)
	}
	_, err = mix.ListRoles(ctx, &awsiam.ListRolesInput{})
	apiError(t, err, "AccessDenied", "")

	// Deleting the managed session policy does not widen the session.
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("gone"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::123456789012:policy/mk")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.root().DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/mk")}); err != nil {
		t.Fatal(err)
	}
	gone, _ := e.sessionClients(out.Credentials)
	_, err = gone.ListUsers(ctx, &awsiam.ListUsersInput{})
	apiError(t, err, "AccessDenied", "")
}

func TestAssumeRoleExternalID(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("bob")
	bob := e.sts(keyOf(t, e, "bob"))
	e.role("vendor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"Unique-ID_1"}}}]}`, "")
	arn := "arn:aws:iam::123456789012:role/vendor"
	msg := "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: " + arn
	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied", msg)
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("other")})
	apiError(t, err, "AccessDenied", msg)
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("x")})
	apiError(t, err, "ValidationError", "1 validation error detected: Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2")
	if _, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("Unique-ID_1")}); err != nil {
		t.Fatal(err)
	}
}

func TestAssumeRoleSessionTags(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("bob")
	bob := e.sts(keyOf(t, e, "bob"))
	// The role may read roles only for the project its session is tagged with.
	perm := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:GetRole","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"blue"}}},
		{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	e.role("notag", trustFor("arn:aws:iam::123456789012:user/bob"), perm)
	tagTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/bob","arn:aws:iam::123456789012:root"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	e.role("tagged", tagTrust, perm)
	e.role("next", tagTrust, perm)
	tags := []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("blue")}}

	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/notag"), RoleSessionName: aws.String("s1"), Tags: tags})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:TagSession on resource: arn:aws:iam::123456789012:role/notag")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("s1"), Tags: tags, TransitiveTagKeys: []string{"team"}})
	apiError(t, err, "ValidationError", "")

	// Untagged, the condition fails; tagged, it holds.
	out, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := e.sessionClients(out.Credentials)
	_, err = plain.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tagged")})
	apiError(t, err, "AccessDenied", "")
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("blue"), Tags: tags, TransitiveTagKeys: []string{"project"}})
	if err != nil {
		t.Fatal(err)
	}
	blue, blueSTS := e.sessionClients(out.Credentials)
	if _, err := blue.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	// The transitive tag passes on through role chaining.
	out, err = blueSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/next"), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatal(err)
	}
	chained, _ := e.sessionClients(out.Credentials)
	if _, err := chained.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("next")}); err != nil {
		t.Fatal(err)
	}
	// A role's own tag counts too, and a session tag replaces it.
	if _, err := e.root().TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("tagged"), Tags: []iamtypes.Tag{{Key: aws.String("project"), Value: aws.String("blue")}}}); err != nil {
		t.Fatal(err)
	}
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("roletag")})
	if err != nil {
		t.Fatal(err)
	}
	roletag, _ := e.sessionClients(out.Credentials)
	if _, err := roletag.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	out, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("red"),
		Tags: []ststypes.Tag{{Key: aws.String("Project"), Value: aws.String("red")}}})
	if err != nil {
		t.Fatal(err)
	}
	red, _ := e.sessionClients(out.Credentials)
	_, err = red.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tagged")})
	apiError(t, err, "AccessDenied", "")
}

func TestAssumeRoleSourceIdentity(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("bob")
	bob := e.sts(keyOf(t, e, "bob"))
	e.role("plain", trustFor("arn:aws:iam::123456789012:user/bob"), "")
	e.role("audited", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"StringLike":{"sts:SourceIdentity":"bob-*"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:SourceIdentity":"bob-laptop"}}}]}`)
	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/plain"), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("bob-laptop")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:SetSourceIdentity on resource: arn:aws:iam::123456789012:role/plain")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/audited"), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("alice-laptop")})
	apiError(t, err, "AccessDenied", "")
	out, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/audited"), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("bob-laptop")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SourceIdentity) != "bob-laptop" {
		t.Fatalf("SourceIdentity %q", aws.ToString(out.SourceIdentity))
	}
	s, _ := e.sessionClients(out.Credentials)
	if _, err := s.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestGetSessionToken(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	e.user("carol")
	if _, err := e.root().AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("carol"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	k, s, _ := keyOf(t, e, "carol")
	// No policy governs GetSessionToken: a user without any gets one too.
	e.user("nobody")
	if _, err := e.sts(keyOf(t, e, "nobody")).GetSessionToken(ctx, &sts.GetSessionTokenInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sts(k, s, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || c.Expiration.Sub(e.clock.now) > 15*time.Minute+time.Second || c.Expiration.Sub(e.clock.now) < 14*time.Minute {
		t.Fatalf("credentials %+v", c)
	}
	_, tmp := e.sessionClients(c)
	id, err := tmp.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:user/carol" {
		t.Fatalf("GetCallerIdentity %+v %v", id, err)
	}
	// The user's permissions: ReadOnlyAccess allows GetAccessKeyInfo.
	info, err := tmp.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(k)})
	if err != nil || *info.Account != acct {
		t.Fatalf("GetAccessKeyInfo %+v %v", info, err)
	}
	_, err = tmp.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	apiError(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	tmpIAM, _ := e.sessionClients(c)
	_, err = tmpIAM.ListUsers(ctx, &awsiam.ListUsersInput{})
	apiError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid")
	_, err = e.sts(k, s, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(899)})
	apiError(t, err, "ValidationError", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")

	// The root gets sessions of at most an hour, with the root's powers.
	out, err = e.sts("test", "test", "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Credentials.Expiration.Sub(e.clock.now); d > time.Hour+time.Second {
		t.Fatalf("root session lasts %v", d)
	}
	_, rootSTS := e.sessionClients(out.Credentials)
	id, err = rootSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:root" {
		t.Fatalf("root session identity %+v %v", id, err)
	}
	// After expiry the token is refused.
	e.clock.now = e.clock.now.Add(2 * time.Hour)
	_, err = tmp.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	apiError(t, err, "ExpiredToken", "")
}

func TestGetAccessKeyInfo(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	root := e.sts("test", "test", "")
	for key, want := range map[string]string{"AKIAUNKNOWNKEY0000": "", "test": ""} {
		out, err := root.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(key)})
		switch {
		case key == "test":
			apiError(t, err, "ValidationError", "1 validation error detected: Value 'test' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16")
		case want == "":
			apiError(t, err, "InvalidParameterValue", "")
		case err != nil || *out.Account != want:
			t.Fatalf("%s: %+v %v", key, out, err)
		}
	}
	e.user("dan")
	k, _, _ := keyOf(t, e, "dan")
	// Another account's root asks about a key of this account.
	if _, err := e.root().UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("dan"), AccessKeyId: aws.String(k), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sts("OTHERROOT", "other", "").GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(k)})
	if err != nil || *out.Account != acct {
		t.Fatalf("inactive key: %+v %v", out, err)
	}
	e.user("eve")
	_, err = e.sts(keyOf(t, e, "eve")).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(k)})
	apiError(t, err, "AccessDenied", "")
}

func TestUpdateRole(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	root := e.root()
	e.user("bob")
	bob := e.sts(keyOf(t, e, "bob"))
	if _, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), Description: aws.String("old"), AssumeRolePolicyDocument: aws.String(trustFor("arn:aws:iam::123456789012:user/bob"))}); err != nil {
		t.Fatal(err)
	}
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)}
	_, err := bob.AssumeRole(ctx, in)
	apiError(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")

	_, err = root.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("r"), MaxSessionDuration: aws.Int32(100)})
	apiError(t, err, "ValidationError", "1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	_, err = root.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("nope"), MaxSessionDuration: aws.Int32(7200)})
	apiError(t, err, "NoSuchEntity", "")
	// MaxSessionDuration alone leaves the description.
	if _, err := root.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("r"), MaxSessionDuration: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	got, err := root.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("r")})
	if err != nil || *got.Role.MaxSessionDuration != 7200 || aws.ToString(got.Role.Description) != "old" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := bob.AssumeRole(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := root.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("r"), Description: aws.String("new")}); err != nil {
		t.Fatal(err)
	}
	got, err = root.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("r")})
	if err != nil || *got.Role.MaxSessionDuration != 7200 || aws.ToString(got.Role.Description) != "new" {
		t.Fatalf("%+v %v", got, err)
	}
	d, err := root.UpdateRoleDescription(ctx, &awsiam.UpdateRoleDescriptionInput{RoleName: aws.String("r"), Description: aws.String("newer")})
	if err != nil || aws.ToString(d.Role.Description) != "newer" {
		t.Fatalf("%+v %v", d, err)
	}
	// A user needs iam:UpdateRole.
	_, err = e.user("mallory").UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("r"), Description: aws.String("x")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/mallory is not authorized to perform: iam:UpdateRole on resource: arn:aws:iam::123456789012:role/r because no identity-based policy allows the iam:UpdateRole action")
}

func TestUpdateUser(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ctx := context.Background()
	root := e.root()
	old := e.user("alice")
	if _, err := root.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("readers")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AttachGroupPolicy(ctx, &awsiam.AttachGroupPolicyInput{GroupName: aws.String("readers"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("readers"), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	e.user("bob")
	before, err := root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}

	_, err = root.UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("BOB")})
	apiError(t, err, "EntityAlreadyExists", "User with name BOB already exists.")
	_, err = root.UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("nobody"), NewUserName: aws.String("x")})
	apiError(t, err, "NoSuchEntity", "The user with name nobody cannot be found.")
	// Renaming needs the permission on the old and the new name.
	if _, err := root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:UpdateUser","Resource":"arn:aws:iam::123456789012:user/alice"}]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam(keyOf(t, e, "bob")).UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alicia")})
	apiError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:UpdateUser on resource: arn:aws:iam::123456789012:user/alicia because no identity-based policy allows the iam:UpdateUser action")

	if _, err := root.UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alicia"), NewPath: aws.String("/staff/")}); err != nil {
		t.Fatal(err)
	}
	_, err = root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	apiError(t, err, "NoSuchEntity", "")
	after, err := root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alicia")})
	if err != nil || *after.User.UserId != *before.User.UserId || *after.User.Arn != "arn:aws:iam::123456789012:user/staff/alicia" {
		t.Fatalf("%+v %v", after, err)
	}
	keys, err := root.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("alicia")})
	if err != nil || len(keys.AccessKeyMetadata) != 1 {
		t.Fatalf("%+v %v", keys, err)
	}
	groups, err := root.ListGroupsForUser(ctx, &awsiam.ListGroupsForUserInput{UserName: aws.String("alicia")})
	if err != nil || len(groups.Groups) != 1 || *groups.Groups[0].GroupName != "readers" {
		t.Fatalf("%+v %v", groups, err)
	}
	// The old key now signs as the renamed user, with the group's permissions.
	if _, err := old.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
	me, err := old.GetUser(ctx, &awsiam.GetUserInput{})
	if err != nil || *me.User.UserName != "alicia" {
		t.Fatalf("%+v %v", me, err)
	}
	// A change of case only is a rename too.
	if _, err := root.UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("alicia"), NewUserName: aws.String("Alicia")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("Alicia")}); err != nil {
		t.Fatal(err)
	}
	// The rename survives a restart: the old record is gone from the store.
	e2 := newEnv(t, e.st)
	if _, err := e2.root().GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("Alicia")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "alicia"} {
		_, err = e2.root().GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String(n)})
		apiError(t, err, "NoSuchEntity", "")
	}
}
