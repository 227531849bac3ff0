package lambda

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// engineAuthorizer evaluates identity policies per principal ARN with the
// real policy engine, standing in for the IAM service.
type engineAuthorizer struct {
	identity map[string][]*policy.Policy
}

func (a *engineAuthorizer) Authorize(_ context.Context, p gateway.Principal, c iam.Check) (policy.Decision, policy.Request) {
	typ := policy.User
	if p.IsRoot {
		typ = policy.Root
	}
	req := policy.Request{
		Principal:       policy.Principal{ARN: p.ARN, Account: p.Account, Type: typ},
		Action:          c.Action,
		Resource:        c.Resource,
		ResourceAccount: c.ResourceAccount,
		Context:         c.Context,
	}
	in := policy.Inputs{Identity: a.identity[p.ARN], Resource: c.ResourcePolicy, IsRoot: p.IsRoot}
	return policy.Evaluate(req, in), req
}

func mustIdentity(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.ParseIdentity(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func userCaller(account, name string) caller {
	return caller{Account: account, Region: "us-east-1", ctx: context.Background(),
		principal: &gateway.Principal{Account: account, ARN: "arn:aws:iam::" + account + ":user/" + name}}
}

func TestAuthorizationAndResourcePolicies(t *testing.T) {
	auth := &engineAuthorizer{identity: map[string][]*policy.Policy{}}
	h := newHarness(t, func(o *Options) { o.Authorizer = auth })
	root := caller{Account: "123456789012", Region: "us-east-1", ctx: context.Background(),
		principal: &gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", IsRoot: true}}
	h.c = root
	h.create("guarded")
	h.waitSettled("guarded", "")
	h.svc.PublishVersion(root, "guarded", &publishInput{})
	h.waitSettled("guarded", "1")

	// A user with no policy is denied, with Lambda's error and IAM's text.
	alice := userCaller("123456789012", "alice")
	_, _, err := h.svc.GetFunction(alice, "lambda:GetFunction", "guarded", "")
	wantCode(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:guarded because no identity-based policy allows the lambda:GetFunction action")
	_, err = h.svc.Invoke(context.Background(), alice, &invokeInput{FunctionName: "guarded", Type: invokeRequestResponse, LogType: "None"})
	wantCode(t, err, "AccessDeniedException", "lambda:InvokeFunction")

	// Read-only access: GetFunction yes, CreateFunction no.
	auth.identity[alice.principal.ARN] = []*policy.Policy{mustIdentity(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*"],"Resource":"*"}]}`)}
	if _, _, err := h.svc.GetFunction(alice, "lambda:GetFunction", "guarded", ""); err != nil {
		t.Fatalf("read-only GetFunction: %v", err)
	}
	if _, _, _, err := h.svc.ListFunctions(alice, false, "", 0); err != nil {
		t.Fatalf("read-only ListFunctions: %v", err)
	}
	_, _, err = h.svc.CreateFunction(alice, &createFunctionInput{FunctionName: "nope", Runtime: "provided.al2023", Handler: "x",
		Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: makeZip(t, map[string]string{"bootstrap": "x"})}})
	wantCode(t, err, "AccessDeniedException", "lambda:CreateFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:nope")

	// Lambda's condition key lambda:FunctionArn names the function.
	carol := userCaller("123456789012", "carol")
	auth.identity[carol.principal.ARN] = []*policy.Policy{mustIdentity(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*","Condition":{"ArnLike":{"lambda:FunctionArn":"arn:aws:lambda:*:*:function:guard*"}}}]}`)}
	if _, _, err := h.svc.GetFunction(carol, "lambda:GetFunction", "guarded", ""); err != nil {
		t.Fatalf("GetFunction allowed by a lambda:FunctionArn condition: %v", err)
	}
	auth.identity[carol.principal.ARN] = []*policy.Policy{mustIdentity(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*","Condition":{"ArnLike":{"lambda:FunctionArn":"arn:aws:lambda:*:*:function:other"}}}]}`)}
	_, _, err = h.svc.GetFunction(carol, "lambda:GetFunction", "guarded", "")
	wantCode(t, err, "AccessDeniedException", "lambda:GetFunction")

	// CreateFunction also needs iam:PassRole on the role.
	auth.identity[alice.principal.ARN] = append(auth.identity[alice.principal.ARN], mustIdentity(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:CreateFunction","Resource":"*"}]}`))
	_, _, err = h.svc.CreateFunction(alice, &createFunctionInput{FunctionName: "nope", Runtime: "provided.al2023", Handler: "x",
		Role: "arn:aws:iam::123456789012:role/r", Code: &functionCodeInput{ZipFile: makeZip(t, map[string]string{"bootstrap": "x"})}})
	wantCode(t, err, "AccessDeniedException", "iam:PassRole on resource: arn:aws:iam::123456789012:role/r")

	// The seed's cross-account case: a user of 111122223333 invokes a function
	// of 123456789012 when both its identity policy and the function policy
	// (per qualifier) allow it.
	bob := userCaller("111122223333", "MyUser")
	auth.identity[bob.principal.ARN] = []*policy.Policy{mustIdentity(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)}
	arn := "arn:aws:lambda:us-east-1:123456789012:function:guarded"
	_, err = h.svc.Invoke(context.Background(), bob, &invokeInput{FunctionName: arn, Type: invokeRequestResponse, LogType: "None", Payload: []byte(`{}`)})
	wantCode(t, err, "AccessDeniedException", "because no resource-based policy allows the lambda:InvokeFunction action")
	stmt, err := h.svc.AddPermission(root, "guarded", "", &addPermissionInput{StatementID: "bob", Action: "lambda:InvokeFunction", Principal: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stmt), `"Principal":{"AWS":"arn:aws:iam::111122223333:root"}`) || !strings.Contains(string(stmt), `"Resource":"`+arn+`"`) {
		t.Fatalf("statement %s", stmt)
	}
	if _, err := h.svc.Invoke(context.Background(), bob, &invokeInput{FunctionName: arn, Type: invokeRequestResponse, LogType: "None", Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("cross-account invoke allowed by the function policy: %v", err)
	}
	// The unqualified permission does not cover version 1.
	_, err = h.svc.Invoke(context.Background(), bob, &invokeInput{FunctionName: arn + ":1", Type: invokeRequestResponse, LogType: "None", Payload: []byte(`{}`)})
	wantCode(t, err, "AccessDeniedException", "on resource: "+arn+":1")

	_, err = h.svc.AddPermission(root, "guarded", "", &addPermissionInput{StatementID: "bob", Action: "lambda:InvokeFunction", Principal: "111122223333"})
	wantCode(t, err, "ResourceConflictException", "The statement id (bob) provided already exists.")
	p, err := h.svc.GetPolicy(root, "guarded", "")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version, Id string
		Statement   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(p.Document), &doc); err != nil || doc.Version != "2012-10-17" || doc.Id != "default" || len(doc.Statement) != 1 {
		t.Fatalf("policy %s (%v)", p.Document, err)
	}
	_, err = h.svc.GetPolicy(root, "guarded", "1")
	wantCode(t, err, "ResourceNotFoundException", "No policy is associated with the given resource.")
	if err := h.svc.RemovePermission(root, "guarded", "", "bob", ""); err != nil {
		t.Fatal(err)
	}
	err = h.svc.RemovePermission(root, "guarded", "", "bob", "")
	wantCode(t, err, "ResourceNotFoundException", "No policy is associated with the given resource.")
	_, err = h.svc.Invoke(context.Background(), bob, &invokeInput{FunctionName: arn, Type: invokeRequestResponse, LogType: "None", Payload: []byte(`{}`)})
	wantCode(t, err, "AccessDeniedException", "no resource-based policy allows")

	// Function policies survive a restart.
	if _, err := h.svc.AddPermission(root, "guarded", "1", &addPermissionInput{StatementID: "v1", Action: "lambda:InvokeFunction", Principal: "111122223333"}); err != nil {
		t.Fatal(err)
	}
	h.svc.Close()
	h.start(func(o *Options) { o.Authorizer = auth })
	if _, err := h.svc.Invoke(context.Background(), bob, &invokeInput{FunctionName: arn + ":1", Type: invokeRequestResponse, LogType: "None", Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("version permission after restart: %v", err)
	}
}
