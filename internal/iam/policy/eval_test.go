package policy

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

func mustParse(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := ParseAs(doc, kind)
	if err != nil {
		t.Fatalf("ParseAs(%s, %d): %v", doc, kind, err)
	}
	return p
}

func allow(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q}]}`, action, resource)
}

const (
	acctA = "123456789012"
	acctB = "111122223333"
)

var (
	carlos = Principal{Type: User, ARN: "arn:aws:iam::" + acctA + ":user/carlossalazar", Account: acctA, Name: "carlossalazar", UserID: "AIDACARLOSEXAMPLE001"}
	myUser = Principal{Type: User, ARN: "arn:aws:iam::" + acctB + ":user/MyUser", Account: acctB, Name: "MyUser", UserID: "AIDAMYUSEREXAMPLE001"}
	// A session of role "examplerole" (path /app/) of account A.
	session = Principal{Type: AssumedRole, ARN: "arn:aws:sts::" + acctA + ":assumed-role/examplerole/examplerolesessionname", Account: acctA,
		UserID: "AROAEXAMPLEROLEID001:examplerolesessionname", RoleARN: "arn:aws:iam::" + acctA + ":role/app/examplerole"}
	root = Principal{Type: Root, ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA, UserID: acctA}
)

// The IAM guide's "Example identity-based and resource-based policy
// evaluation": Carlos may write to his bucket but not to a bucket with "log"
// in its name, even though his bucket policy names him.
func TestCarlosExample(t *testing.T) {
	identity := mustParse(t, KindIdentity, `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "AllowS3ListRead", "Effect": "Allow",
	     "Action": ["s3:GetBucketLocation","s3:GetAccountPublicAccessBlock","s3:ListAccessPoints","s3:ListAllMyBuckets"],
	     "Resource": "arn:aws:s3:::*"},
	    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
	     "Resource": ["arn:aws:s3:::carlossalazar/*","arn:aws:s3:::carlossalazar"]},
	    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}
	  ]}`)
	bucket := mustParse(t, KindResource, `{
	  "Version": "2012-10-17",
	  "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/carlossalazar"},
	    "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*","arn:aws:s3:::carlossalazar"]}]}`)

	logs := Request{Principal: carlos, Action: "s3:PutObject", Resource: "arn:aws:s3:::carlossalazar-logs/file.txt"}
	d := Evaluate(logs, Inputs{Identity: []*Policy{identity}, Resource: bucket})
	if d.Allowed || d.Reason != ExplicitDeny || d.DeniedBy != IdentityPolicy {
		t.Fatalf("logs bucket: %+v", d)
	}
	if len(d.Matched) != 1 || d.Matched[0].Sid != "DenyS3Logs" || d.Matched[0].Policy != identity || d.Matched[0].Index != 2 {
		t.Fatalf("matched %+v", d.Matched)
	}
	want := "User: arn:aws:iam::123456789012:user/carlossalazar is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::carlossalazar-logs/file.txt with an explicit deny in an identity-based policy"
	if got := DenialMessage(logs, d, StyleStandard); got != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}

	own := Request{Principal: carlos, Action: "s3:PutObject", Resource: "arn:aws:s3:::carlossalazar/file.txt"}
	d = Evaluate(own, Inputs{Identity: []*Policy{identity}, Resource: bucket})
	if !d.Allowed || len(d.Matched) != 2 {
		t.Fatalf("own bucket: %+v", d)
	}
	// "If one of the policy types allows the request and the other doesn't,
	// the request is still allowed."
	if !Evaluate(own, Inputs{Resource: bucket}).Allowed {
		t.Fatal("bucket policy alone does not allow")
	}
	if !Evaluate(own, Inputs{Identity: []*Policy{identity}}).Allowed {
		t.Fatal("identity policy alone does not allow")
	}
	d = Evaluate(own, Inputs{})
	if d.Allowed || d.Reason != NoIdentityAllow || d.Matched != nil {
		t.Fatalf("no policies: %+v", d)
	}
}

// The IAM guide's "The difference between explicit and implicit denies".
func TestExplicitAndImplicitDeny(t *testing.T) {
	p := mustParse(t, KindIdentity, `{"Version":"2012-10-17","Statement":[
	  {"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"},
	  {"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}]}`)
	more := mustParse(t, KindIdentity, allow("iam:GenerateCredentialReport", "*"))
	in := Inputs{Identity: []*Policy{p, more}}
	req := func(a string) Request { return Request{Principal: carlos, Action: a, Resource: "*"} }
	for _, c := range []struct {
		action string
		reason Reason
	}{
		{"iam:GetUser", Allowed},
		{"iam:ListRoles", Allowed},
		{"iam:CreatePolicy", NoIdentityAllow},
		{"iam:GetOrganizationsAccessReport", ExplicitDeny},
		{"iam:GenerateCredentialReport", ExplicitDeny},
	} {
		if d := Evaluate(req(c.action), in); d.Reason != c.reason || d.Allowed != (c.reason == Allowed) {
			t.Errorf("%s: %+v, want %v", c.action, d, c.reason)
		}
	}
	d := Evaluate(req("iam:CreatePolicy"), in)
	want := "User: arn:aws:iam::123456789012:user/carlossalazar is not authorized to perform: iam:CreatePolicy because no identity-based policy allows the iam:CreatePolicy action"
	if got := DenialMessage(req("iam:CreatePolicy"), d, StyleStandard); got != want {
		t.Errorf("got %s", got)
	}
	if got := DenialMessage(req("iam:CreatePolicy"), d, StyleEC2); got != "You are not authorized to perform this operation. "+want {
		t.Errorf("got %s", got)
	}
}

// The seed's scenario: MyUser of account B invokes my-function of account A
// through an interface endpoint whose policy is the Lambda guide's example.
func TestCrossAccountInvokeThroughEndpoint(t *testing.T) {
	endpoint := mustParse(t, KindEndpoint, seedEndpointPolicy)
	fnPolicy := mustParse(t, KindResource, `{"Version":"2012-10-17","Id":"default","Statement":[
	  {"Sid":"xaccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction",
	   "Resource":"arn:aws:lambda:us-east-2:123456789012:function:my-function"},
	  {"Sid":"xaccountQualified","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"lambda:InvokeFunction",
	   "Resource":"arn:aws:lambda:us-east-2:123456789012:function:my-function:*"}]}`)
	identity := mustParse(t, KindIdentity, allow("lambda:InvokeFunction", "*"))
	fn := "arn:aws:lambda:us-east-2:123456789012:function:my-function"
	req := func(p Principal, res string) Request {
		return Request{Principal: p, Action: "lambda:InvokeFunction", Resource: res, ResourceAccount: acctA}
	}
	full := Inputs{Identity: []*Policy{identity}, Resource: fnPolicy, Endpoint: endpoint}
	for _, c := range []struct {
		name string
		req  Request
		in   Inputs
		want Reason
	}{
		{"unqualified", req(myUser, fn), full, Allowed},
		{"version", req(myUser, fn+":1"), full, Allowed},
		{"alias", req(myUser, fn+":PROD"), full, Allowed},
		{"other function", req(myUser, fn+"-2"), full, NoEndpointAllow},
		{"other user", req(Principal{Type: User, ARN: "arn:aws:iam::111122223333:user/Other", Account: acctB}, fn), full, NoEndpointAllow},
		{"no identity policy", req(myUser, fn), Inputs{Resource: fnPolicy, Endpoint: endpoint}, NoIdentityAllow},
		{"no function policy", req(myUser, fn), Inputs{Identity: []*Policy{identity}, Endpoint: endpoint}, NoResourceAllow},
		{"not through the endpoint", req(myUser, fn+"-2"), Inputs{Identity: []*Policy{identity}, Resource: fnPolicy}, NoResourceAllow},
	} {
		d := Evaluate(c.req, c.in)
		if d.Reason != c.want || d.Allowed != (c.want == Allowed) {
			t.Errorf("%s: %+v, want %v", c.name, d, c.want)
		}
	}
	// The denial text of issue 3.
	r := req(myUser, fn)
	d := Evaluate(r, Inputs{Resource: fnPolicy, Endpoint: endpoint})
	want := "User: arn:aws:iam::111122223333:user/MyUser is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-2:123456789012:function:my-function because no identity-based policy allows the lambda:InvokeFunction action"
	if got := DenialMessage(r, d, StyleStandard); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r = req(myUser, fn+"-2")
	d = Evaluate(r, full)
	want = "User: arn:aws:iam::111122223333:user/MyUser is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-2:123456789012:function:my-function-2 because no VPC endpoint policy allows the lambda:InvokeFunction action"
	if got := DenialMessage(r, d, StyleStandard); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An explicit deny in the endpoint policy.
	deny := mustParse(t, KindEndpoint, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
	  {"Effect":"Deny","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"123456789012"}}}]}`)
	r = req(myUser, fn)
	d = Evaluate(r, Inputs{Identity: []*Policy{identity}, Resource: fnPolicy, Endpoint: deny})
	if d.Reason != ExplicitDeny || d.DeniedBy != EndpointPolicy {
		t.Fatalf("%+v", d)
	}
	if got := DenialMessage(r, d, StyleStandard); !strings.HasSuffix(got, " with an explicit deny in a VPC endpoint policy") {
		t.Errorf("got %s", got)
	}
}

// The IAM guide's table "Resource-based policies and implicit denies in other
// policy types (same account)".
func TestSameAccountResourcePolicyPrincipals(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:123456789012:function:f"
	grantTo := func(principal string) *Policy {
		return mustParse(t, KindResource, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"lambda:GetFunction","Resource":%q}]}`, principal, fn))
	}
	boundaryEC2 := mustParse(t, KindIdentity, allow("ec2:*", "*"))
	sessionEC2 := mustParse(t, KindIdentity, allow("ec2:*", "*"))
	identityLambda := mustParse(t, KindIdentity, allow("lambda:*", "*"))
	roleARN := "arn:aws:iam::123456789012:role/app/examplerole"
	user := Principal{Type: User, ARN: "arn:aws:iam::123456789012:user/exampleuser", Account: acctA, Name: "exampleuser"}
	for _, c := range []struct {
		name      string
		principal Principal
		grantee   string
		in        Inputs
		want      Reason
	}{
		{"user ARN, no identity policy", user, user.ARN, Inputs{}, Allowed},
		{"user ARN, boundary denies implicitly", user, user.ARN, Inputs{PermissionsBoundary: boundaryEC2}, Allowed},
		{"account, no identity policy", user, acctA, Inputs{}, NoIdentityAllow},
		{"account root ARN, no identity policy", user, "arn:aws:iam::123456789012:root", Inputs{}, NoIdentityAllow},
		{"account, identity policy", user, acctA, Inputs{Identity: []*Policy{identityLambda}}, Allowed},
		{"role ARN, no identity policy", session, roleARN, Inputs{}, Allowed},
		{"role ARN without path", session, "arn:aws:iam::123456789012:role/examplerole", Inputs{}, Allowed},
		{"role ARN, boundary denies implicitly", session, roleARN, Inputs{PermissionsBoundary: boundaryEC2}, NoBoundaryAllow},
		{"role ARN, session policy denies implicitly", session, roleARN, Inputs{Session: []*Policy{sessionEC2}}, NoSessionAllow},
		{"session ARN, boundary denies implicitly", session, session.ARN, Inputs{PermissionsBoundary: boundaryEC2}, Allowed},
		{"session ARN, session policy denies implicitly", session, session.ARN, Inputs{Session: []*Policy{sessionEC2}}, Allowed},
		{"role unique id", session, "AROAEXAMPLEROLEID001", Inputs{PermissionsBoundary: boundaryEC2}, NoBoundaryAllow},
		{"other role", session, "arn:aws:iam::123456789012:role/other", Inputs{}, NoIdentityAllow},
		{"same role name, other account", session, "arn:aws:iam::111122223333:role/examplerole", Inputs{}, NoIdentityAllow},
		{"everyone", session, "*", Inputs{PermissionsBoundary: boundaryEC2}, Allowed},
		{"identity allows, boundary does not", user, acctA, Inputs{Identity: []*Policy{identityLambda}, PermissionsBoundary: boundaryEC2}, NoBoundaryAllow},
	} {
		c.in.Resource = grantTo(c.grantee)
		d := Evaluate(Request{Principal: c.principal, Action: "lambda:GetFunction", Resource: fn}, c.in)
		if d.Reason != c.want || d.Allowed != (c.want == Allowed) {
			t.Errorf("%s: %+v, want %v", c.name, d, c.want)
		}
	}
}

func TestBoundaryAndSessionPolicies(t *testing.T) {
	identity := mustParse(t, KindIdentity, allow("*", "*"))
	boundary := mustParse(t, KindIdentity, allow("s3:*", "*"))
	sessA := mustParse(t, KindIdentity, allow("s3:GetObject", "*"))
	sessB := mustParse(t, KindIdentity, allow("s3:PutObject", "*"))
	req := func(a string) Request {
		return Request{Principal: session, Action: a, Resource: "arn:aws:s3:::b/k"}
	}
	in := Inputs{Identity: []*Policy{identity}, PermissionsBoundary: boundary, Session: []*Policy{sessA, sessB}}
	for action, want := range map[string]Reason{
		"s3:GetObject":     Allowed,
		"s3:PutObject":     Allowed, // any of the session policies
		"s3:DeleteObject":  NoSessionAllow,
		"ec2:RunInstances": NoBoundaryAllow,
	} {
		d := Evaluate(req(action), in)
		if d.Reason != want {
			t.Errorf("%s: %v, want %v", action, d.Reason, want)
		}
	}
	r := req("s3:DeleteObject")
	want := "User: arn:aws:sts::123456789012:assumed-role/examplerole/examplerolesessionname is not authorized to perform: s3:DeleteObject on resource: arn:aws:s3:::b/k because no session policy allows the s3:DeleteObject action"
	if got := DenialMessage(r, Evaluate(r, in), StyleStandard); got != want {
		t.Errorf("got %s", got)
	}
	r = req("ec2:RunInstances")
	if got := DenialMessage(r, Evaluate(r, in), StyleStandard); !strings.HasSuffix(got, "because no permissions boundary allows the ec2:RunInstances action") {
		t.Errorf("got %s", got)
	}
	denyB := mustParse(t, KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`)
	d := Evaluate(req("s3:GetObject"), Inputs{Identity: []*Policy{identity}, PermissionsBoundary: denyB})
	if d.Reason != ExplicitDeny || d.DeniedBy != BoundaryPolicy {
		t.Errorf("%+v", d)
	}
	if got := DenialMessage(req("s3:GetObject"), d, StyleStandard); !strings.HasSuffix(got, "with an explicit deny in a permissions boundary") {
		t.Errorf("got %s", got)
	}
}

// The execution role of a VPC function: AWSLambdaVPCAccessExecutionRole
// (aws-semantics.md §6) lets it manage its ENIs but not look at security
// groups.
func TestVPCAccessExecutionRole(t *testing.T) {
	managed := mustParse(t, KindManaged, vpcAccessExecutionRole)
	basic := mustParse(t, KindManaged, basicExecutionRole)
	role := Principal{Type: AssumedRole, ARN: "arn:aws:sts::123456789012:assumed-role/fn-role/my-function", Account: acctA}
	in := Inputs{Identity: []*Policy{basic, managed}}
	for action, want := range map[string]bool{
		"ec2:CreateNetworkInterface":    true,
		"ec2:DescribeNetworkInterfaces": true,
		"ec2:DeleteNetworkInterface":    true,
		"ec2:AssignPrivateIpAddresses":  true,
		"logs:PutLogEvents":             true,
		"ec2:DescribeSecurityGroups":    false,
		"ec2:CreateVpc":                 false,
		"lambda:InvokeFunction":         false,
	} {
		d := Evaluate(Request{Principal: role, Action: action, Resource: "*"}, in)
		if d.Allowed != want {
			t.Errorf("%s: %+v", action, d)
		}
	}
	d := Evaluate(Request{Principal: role, Action: "ec2:DeleteNetworkInterface", Resource: "arn:aws:ec2:us-west-2:123456789012:network-interface/eni-1"}, in)
	if !d.Allowed || len(d.Matched) != 1 || d.Matched[0].Sid != "AWSLambdaVPCAccessExecutionPermissions" {
		t.Errorf("%+v", d)
	}
}

func TestTrustPolicy(t *testing.T) {
	lambdaTrust := mustParse(t, KindTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	assume := func(p Principal) Request {
		return Request{Principal: p, Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/fn-role", ResourceAccount: acctA}
	}
	lambda := Principal{Type: Service, ARN: "lambda.amazonaws.com"}
	if d := Evaluate(assume(lambda), Inputs{Resource: lambdaTrust, ResourceMustAllow: true}); !d.Allowed {
		t.Errorf("lambda cannot assume its role: %+v", d)
	}
	ec2 := Principal{Type: Service, ARN: "ec2.amazonaws.com"}
	if d := Evaluate(assume(ec2), Inputs{Resource: lambdaTrust, ResourceMustAllow: true}); d.Allowed || d.Reason != NoResourceAllow {
		t.Errorf("ec2 assumed lambda's role: %+v", d)
	}
	// A user of the same account with sts:AssumeRole on the role still needs
	// the trust policy.
	canAssume := mustParse(t, KindIdentity, allow("sts:AssumeRole", "*"))
	if d := Evaluate(assume(carlos), Inputs{Identity: []*Policy{canAssume}, Resource: lambdaTrust, ResourceMustAllow: true}); d.Reason != NoResourceAllow {
		t.Errorf("%+v", d)
	}
	// Trusting the account delegates to identity policies; trusting the user
	// by ARN does not need them.
	trustAccount := mustParse(t, KindTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	if d := Evaluate(assume(carlos), Inputs{Resource: trustAccount, ResourceMustAllow: true}); d.Reason != NoIdentityAllow {
		t.Errorf("%+v", d)
	}
	if d := Evaluate(assume(carlos), Inputs{Identity: []*Policy{canAssume}, Resource: trustAccount, ResourceMustAllow: true}); !d.Allowed {
		t.Errorf("%+v", d)
	}
	trustUser := mustParse(t, KindTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/carlossalazar"},"Action":"sts:AssumeRole"}]}`)
	if d := Evaluate(assume(carlos), Inputs{Resource: trustUser, ResourceMustAllow: true}); !d.Allowed {
		t.Errorf("%+v", d)
	}
	// Across accounts the caller's identity policy is required as well.
	xTrust := mustParse(t, KindTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/MyUser"},"Action":"sts:AssumeRole"}]}`)
	if d := Evaluate(assume(myUser), Inputs{Resource: xTrust, ResourceMustAllow: true}); d.Reason != NoIdentityAllow {
		t.Errorf("%+v", d)
	}
	if d := Evaluate(assume(myUser), Inputs{Identity: []*Policy{canAssume}, Resource: xTrust, ResourceMustAllow: true}); !d.Allowed {
		t.Errorf("%+v", d)
	}
}

func TestRootAndAnonymous(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:123456789012:function:f"
	get := Request{Principal: root, Action: "lambda:GetFunction", Resource: fn}
	if d := Evaluate(get, Inputs{IsRoot: true}); !d.Allowed {
		t.Errorf("root: %+v", d)
	}
	denyAll := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"*"}]}`)
	if d := Evaluate(get, Inputs{IsRoot: true, Resource: denyAll}); d.Reason != ExplicitDeny || d.DeniedBy != ResourcePolicy {
		t.Errorf("root past a resource Deny: %+v", d)
	}
	other := get
	other.ResourceAccount = acctB
	if d := Evaluate(other, Inputs{IsRoot: true}); d.Reason != NoResourceAllow {
		t.Errorf("root of another account: %+v", d)
	}
	anon := Request{Principal: Principal{Type: Anonymous}, Action: "lambda:InvokeFunctionUrl", Resource: fn, ResourceAccount: acctA}
	public := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`)
	accountOnly := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`)
	if d := Evaluate(anon, Inputs{Resource: public}); !d.Allowed {
		t.Errorf("anonymous with a public policy: %+v", d)
	}
	if d := Evaluate(anon, Inputs{Resource: accountOnly}); d.Reason != NoResourceAllow {
		t.Errorf("anonymous with an account policy: %+v", d)
	}
	if got := DenialMessage(anon, Evaluate(anon, Inputs{}), StyleStandard); !strings.HasPrefix(got, "User: anonymous is not authorized") {
		t.Errorf("got %s", got)
	}
}

// The NotPrincipal page's examples: with Deny, every principal except the
// listed chain is denied.
func TestNotPrincipal(t *testing.T) {
	allowAll := mustParse(t, KindIdentity, allow("s3:*", "*"))
	denyExceptBob := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
	  "NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]},
	  "Action":"s3:*","Resource":["arn:aws:s3:::BUCKETNAME","arn:aws:s3:::BUCKETNAME/*"]}]}`)
	denyExceptBobOnly := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
	  "NotPrincipal":{"AWS":"arn:aws:iam::444455556666:user/Bob"},"Action":"s3:*","Resource":"*"}]}`)
	denyExceptAudit := mustParse(t, KindResource, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
	  "NotPrincipal":{"AWS":["arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app",
	    "arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]},
	  "Action":"s3:*","Resource":"*"}]}`)
	bob := Principal{Type: User, ARN: "arn:aws:iam::444455556666:user/Bob", Account: "444455556666"}
	alice := Principal{Type: User, ARN: "arn:aws:iam::444455556666:user/Alice", Account: "444455556666"}
	audit := Principal{Type: AssumedRole, ARN: "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app", Account: "444455556666"}
	otherSession := Principal{Type: AssumedRole, ARN: "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/other", Account: "444455556666"}
	for _, c := range []struct {
		name   string
		p      Principal
		policy *Policy
		denied bool
	}{
		{"Bob", bob, denyExceptBob, false},
		{"Alice", alice, denyExceptBob, true},
		{"Bob without his account listed", bob, denyExceptBobOnly, true},
		{"audit session", audit, denyExceptAudit, false},
		{"other session of the role", otherSession, denyExceptAudit, true},
	} {
		d := Evaluate(Request{Principal: c.p, Action: "s3:GetObject", Resource: "arn:aws:s3:::BUCKETNAME/x"}, Inputs{Identity: []*Policy{allowAll}, Resource: c.policy})
		if got := d.Reason == ExplicitDeny; got != c.denied {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
	// "The NotPrincipal element with a Deny effect will always deny any IAM
	// principal that has a permissions boundary policy attached."
	d := Evaluate(Request{Principal: bob, Action: "s3:GetObject", Resource: "arn:aws:s3:::BUCKETNAME/x"},
		Inputs{Identity: []*Policy{allowAll}, PermissionsBoundary: allowAll, Resource: denyExceptBob})
	if d.Reason != ExplicitDeny {
		t.Errorf("boundary: %+v", d)
	}
}

func TestPolicyVariablesInResources(t *testing.T) {
	p := mustParse(t, KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}]}`)
	old := mustParse(t, KindIdentity, `{"Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}]}`)
	own := Request{Principal: carlos, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/carlossalazar"}
	other := own
	other.Resource = "arn:aws:iam::123456789012:user/David"
	if !Evaluate(own, Inputs{Identity: []*Policy{p}}).Allowed {
		t.Error("own user")
	}
	if Evaluate(other, Inputs{Identity: []*Policy{p}}).Allowed {
		t.Error("other user")
	}
	if Evaluate(own, Inputs{Identity: []*Policy{old}}).Allowed {
		t.Error("a 2008-10-17 policy substituted a variable")
	}
	// Role sessions have no aws:username: the resource matches nothing.
	sess := own
	sess.Principal = session
	if Evaluate(sess, Inputs{Identity: []*Policy{p}}).Allowed {
		t.Error("session matched ${aws:username}")
	}
}

// Property: an applicable explicit Deny wins, whatever the other statements
// and policies say.
func TestExplicitDenyAlwaysWins(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	actions := []string{"*", "lambda:*", "lambda:Invoke*", "lambda:InvokeFunction", "lambda:Get*", "ec2:*", "s3:GetObject"}
	resources := []string{"*", "arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:*", "arn:aws:s3:::b/*"}
	principals := []string{`"*"`, `{"AWS":"123456789012"}`, `{"AWS":"arn:aws:iam::123456789012:user/u"}`, `{"AWS":"arn:aws:iam::111122223333:root"}`, `{"Service":"lambda.amazonaws.com"}`}
	pick := func(s []string) string { return s[rng.Intn(len(s))] }
	randomStatements := func(withPrincipal bool) []string {
		var out []string
		for n := rng.Intn(4); n >= 0; n-- {
			effect := "Allow"
			if rng.Intn(4) == 0 {
				effect = "Deny"
			}
			s := fmt.Sprintf(`{"Effect":%q,"Action":%q,"Resource":%q`, effect, pick(actions), pick(resources))
			if withPrincipal {
				s += `,"Principal":` + pick(principals)
			}
			out = append(out, s+"}")
		}
		return out
	}
	doc := func(stmts []string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + "]}"
	}
	user := Principal{Type: User, ARN: "arn:aws:iam::123456789012:user/u", Account: acctA, Name: "u"}
	req := Request{Principal: user, Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:123456789012:function:f"}
	denyStmt := `{"Effect":"Deny","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f"`
	for iter := 0; iter < 2000; iter++ {
		kinds := []Kind{KindIdentity, KindIdentity, KindIdentity, KindResource, KindEndpoint}
		stmts := make([][]string, len(kinds))
		for i, k := range kinds {
			stmts[i] = randomStatements(k != KindIdentity)
		}
		target := rng.Intn(len(kinds)) // identity, boundary, session, resource, endpoint
		ds := denyStmt
		if kinds[target] != KindIdentity {
			ds += `,"Principal":"*"`
		}
		stmts[target] = append(stmts[target], ds+"}")
		rng.Shuffle(len(stmts[target]), func(i, j int) { stmts[target][i], stmts[target][j] = stmts[target][j], stmts[target][i] })
		ps := make([]*Policy, len(kinds))
		for i, k := range kinds {
			ps[i] = mustParse(t, k, doc(stmts[i]))
		}
		in := Inputs{Identity: []*Policy{ps[0]}, PermissionsBoundary: ps[1], Session: []*Policy{ps[2]}, Resource: ps[3], Endpoint: ps[4], IsRoot: rng.Intn(2) == 0}
		r := req
		if rng.Intn(2) == 0 {
			r.ResourceAccount = acctB
		}
		d := Evaluate(r, in)
		if d.Allowed || d.Reason != ExplicitDeny {
			t.Fatalf("deny in policy %d ignored: %+v\n%v", target, d, stmts)
		}
		for _, m := range d.Matched {
			if m.Effect != Deny {
				t.Fatalf("matched an Allow with an explicit deny: %+v", d.Matched)
			}
		}
	}
}

func TestContext(t *testing.T) {
	c := Context{}
	c.Set("aws:SourceVpce", "vpce-1")
	if got := c.Get("AWS:SOURCEVPCE"); len(got) != 1 || got[0] != "vpce-1" {
		t.Fatalf("Get = %v", got)
	}
	c["Lambda:FunctionArn"] = []string{"arn"} // set without Set
	if got := c.Get("lambda:functionarn"); len(got) != 1 {
		t.Fatalf("Get = %v", got)
	}
	st := &evalState{req: &Request{Principal: session}}
	if got := st.values("aws:PrincipalArn", "aws:principalarn", new([1]string)); len(got) != 1 || got[0] != session.RoleARN {
		t.Errorf("aws:PrincipalArn of a session = %v", got)
	}
	noPath := session
	noPath.RoleARN = ""
	st.req.Principal = noPath
	if got := st.values("aws:PrincipalArn", "aws:principalarn", new([1]string)); len(got) != 1 || got[0] != "arn:aws:iam::123456789012:role/examplerole" {
		t.Errorf("aws:PrincipalArn of a session without RoleARN = %v", got)
	}
	if got := st.values("aws:username", "aws:username", new([1]string)); got != nil {
		t.Errorf("a session has aws:username %v", got)
	}
}

// A parsed policy is shared by every request; Evaluate must not write to it.
func TestConcurrentEvaluate(t *testing.T) {
	identity := mustParse(t, KindIdentity, readOnlyLike)
	endpoint := mustParse(t, KindEndpoint, seedEndpointPolicy)
	req := Request{Principal: myUser, Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-2:123456789012:function:my-function:1"}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for i := 0; i < 200; i++ {
				ok = ok && Evaluate(req, Inputs{Identity: []*Policy{identity}, Endpoint: endpoint}).Allowed &&
					Check(req, Inputs{Identity: []*Policy{identity}, Endpoint: endpoint}).Allowed
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("a concurrent evaluation was denied")
		}
	}
}
