package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// fuzzAction is one action of the IAM or STS API.
type fuzzAction struct {
	name string
	sts  bool
}

// fuzzActions lists every action the two handlers serve, in a stable order
// so that a fuzzed index names the same action in every run.
var fuzzActions = func() []fuzzAction {
	var out []fuzzAction
	for _, n := range slices.Sorted(maps.Keys(iamHandlers)) {
		out = append(out, fuzzAction{n, false})
	}
	for _, n := range slices.Sorted(maps.Keys(stsHandlers)) {
		out = append(out, fuzzAction{n, true})
	}
	return out
}()

func fuzzActionIndex(name string) uint16 {
	for i, a := range fuzzActions {
		if a.name == name {
			return uint16(i)
		}
	}
	panic("no action " + name)
}

// The placeholder a fuzzed body uses for the seeded user's access key id,
// which is random and so cannot be written into a seed.
const fuzzKeyPlaceholder = "USERKEYID"

const (
	fuzzAccount = DefaultAccountID
	fuzzUser    = "fuzz-user"
	fuzzRole    = "fuzz-role"
	fuzzGroup   = "fuzz-group"
	fuzzPolicy  = "fuzz-policy"
	fuzzProfile = "fuzz-profile"
	fuzzUserARN = "arn:aws:iam::" + fuzzAccount + ":user/" + fuzzUser
	fuzzRoleARN = "arn:aws:iam::" + fuzzAccount + ":role/" + fuzzRole
	fuzzPolARN  = "arn:aws:iam::" + fuzzAccount + ":policy/" + fuzzPolicy
	fuzzTrust   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["` + fuzzUserARN + `","` + fuzzRoleARN + `"]},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	fuzzPerms   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"},{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"` + fuzzUserARN + `"}]}`
)

// fuzzWorld is a Service on a fresh store holding a user with an access key
// in a group, a role it may assume, an instance profile and a customer
// managed policy attached to both, plus the principals requests come from.
type fuzzWorld struct {
	st       store.Store
	accounts *Accounts
	svc      *Service
	userKey  string
	// principals: the account root, the IAM user, and a session of the role.
	principals [3]gateway.Principal
}

func newFuzzWorld(t *testing.T) *fuzzWorld {
	t.Helper()
	accounts, err := NewAccounts()
	if err != nil {
		t.Fatal(err)
	}
	w := &fuzzWorld{st: store.NewMemory(), accounts: accounts}
	t.Cleanup(func() { w.st.Close() })
	if w.svc, err = New(Options{Store: w.st, Accounts: accounts}); err != nil {
		t.Fatal(err)
	}
	root, err := w.svc.LookupAccessKey(context.Background(), DefaultAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	w.principals[0] = root.Principal
	setup := []url.Values{
		{"Action": {"CreatePolicy"}, "PolicyName": {fuzzPolicy}, "PolicyDocument": {fuzzPerms}},
		{"Action": {"CreateUser"}, "UserName": {fuzzUser}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"a"}},
		{"Action": {"AttachUserPolicy"}, "UserName": {fuzzUser}, "PolicyArn": {fuzzPolARN}},
		{"Action": {"CreateGroup"}, "GroupName": {fuzzGroup}},
		{"Action": {"AddUserToGroup"}, "GroupName": {fuzzGroup}, "UserName": {fuzzUser}},
		{"Action": {"CreateRole"}, "RoleName": {fuzzRole}, "AssumeRolePolicyDocument": {fuzzTrust}},
		{"Action": {"AttachRolePolicy"}, "RoleName": {fuzzRole}, "PolicyArn": {fuzzPolARN}},
		{"Action": {"PutRolePolicy"}, "RoleName": {fuzzRole}, "PolicyName": {"inline"}, "PolicyDocument": {fuzzPerms}},
		{"Action": {"CreateInstanceProfile"}, "InstanceProfileName": {fuzzProfile}},
		{"Action": {"AddRoleToInstanceProfile"}, "InstanceProfileName": {fuzzProfile}, "RoleName": {fuzzRole}},
	}
	for _, form := range setup {
		form.Set("Version", iamVersion)
		if code, body := w.send(false, root.Principal, form.Encode()); code != http.StatusOK {
			t.Fatalf("%s: %d %s", form.Get("Action"), code, body)
		}
	}
	code, body := w.send(false, root.Principal, url.Values{"Action": {"CreateAccessKey"}, "Version": {iamVersion}, "UserName": {fuzzUser}}.Encode())
	var key struct {
		ID string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	}
	if code != http.StatusOK || xml.Unmarshal(body, &key) != nil {
		t.Fatalf("CreateAccessKey: %d %s", code, body)
	}
	w.userKey = key.ID
	user, err := w.svc.LookupAccessKey(context.Background(), key.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.principals[1] = user.Principal
	code, body = w.send(true, user.Principal, url.Values{"Action": {"AssumeRole"}, "Version": {stsVersion},
		"RoleArn": {fuzzRoleARN}, "RoleSessionName": {"fuzz"}}.Encode())
	var creds struct {
		ID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	}
	if code != http.StatusOK || xml.Unmarshal(body, &creds) != nil {
		t.Fatalf("AssumeRole: %d %s", code, body)
	}
	session, err := w.svc.LookupAccessKey(context.Background(), creds.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.principals[2] = session.Principal
	return w
}

// send runs one request through the IAM or STS handler as the gateway would
// after verifying its signature.
func (w *fuzzWorld) send(sts bool, p gateway.Principal, body string) (int, []byte) {
	return fuzzSend(w.svc, sts, p, body)
}

func fuzzSend(svc *Service, sts bool, p gateway.Principal, body string) (int, []byte) {
	gs, service := svc.IAMService(), "iam"
	if sts {
		gs, service = svc.STSService(), "sts"
	}
	r := httptest.NewRequest(http.MethodPost, "http://"+service+".test/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req := &gateway.Request{ID: "fuzz-request", Service: service, Region: "us-east-1", Principal: p,
		Received: time.Now(), Body: []byte(body), SourceIP: "127.0.0.1"}
	r = r.WithContext(gateway.WithRequest(r.Context(), req))
	rec := httptest.NewRecorder()
	gs.Handler.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes()
}

// checkXML decodes the whole body and returns the name of its root element.
func checkXML(body []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	root, depth := "", 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root == "" || depth != 0 {
				return "", errors.New("no complete root element")
			}
			return root, nil
		}
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					return "", errors.New("second root element")
				}
				root = tok.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return "", errors.New("text outside the root element")
			}
		}
	}
}

// check sends one request and checks its answer and that a refused one
// wrote nothing.
func (w *fuzzWorld) check(t *testing.T, sts bool, p gateway.Principal, body string) {
	t.Helper()
	before := w.st.Rev()
	code, resp := w.send(sts, p, body)
	root, err := checkXML(resp)
	if err != nil {
		t.Fatalf("%q: status %d, body not XML (%v): %q", body, code, err, resp)
	}
	switch {
	case code == http.StatusOK:
		if !strings.HasSuffix(root, "Response") || root == "ErrorResponse" {
			t.Fatalf("%q: 200 with root element %s: %s", body, root, resp)
		}
	case code >= 400 && code <= 599:
		var e struct {
			Code string `xml:"Error>Code"`
		}
		if root != "ErrorResponse" || xml.Unmarshal(resp, &e) != nil || e.Code == "" {
			t.Fatalf("%q: %d without an error code: %s", body, code, resp)
		}
		if after := w.st.Rev(); after != before {
			t.Fatalf("%q: %d %s changed the store revision %d -> %d", body, code, e.Code, before, after)
		}
	default:
		t.Fatalf("%q: status %d: %s", body, code, resp)
	}
}

// fuzzSnapshot is what a root caller reads of the seeded state: it must be
// the same from the running service and from one loaded from its store.
var fuzzSnapshot = []url.Values{
	{"Action": {"ListUsers"}},
	{"Action": {"ListRoles"}},
	{"Action": {"ListGroups"}},
	{"Action": {"ListPolicies"}, "Scope": {"Local"}},
	{"Action": {"ListInstanceProfiles"}},
	{"Action": {"GetUser"}, "UserName": {fuzzUser}},
	{"Action": {"ListAccessKeys"}, "UserName": {fuzzUser}},
	{"Action": {"ListUserTags"}, "UserName": {fuzzUser}},
	{"Action": {"ListUserPolicies"}, "UserName": {fuzzUser}},
	{"Action": {"ListAttachedUserPolicies"}, "UserName": {fuzzUser}},
	{"Action": {"ListGroupsForUser"}, "UserName": {fuzzUser}},
	{"Action": {"GetGroup"}, "GroupName": {fuzzGroup}},
	{"Action": {"GetRole"}, "RoleName": {fuzzRole}},
	{"Action": {"ListRolePolicies"}, "RoleName": {fuzzRole}},
	{"Action": {"ListAttachedRolePolicies"}, "RoleName": {fuzzRole}},
	{"Action": {"GetPolicy"}, "PolicyArn": {fuzzPolARN}},
	{"Action": {"ListPolicyVersions"}, "PolicyArn": {fuzzPolARN}},
	{"Action": {"GetInstanceProfile"}, "InstanceProfileName": {fuzzProfile}},
}

// FuzzIAMAPI sends arbitrary query-protocol requests, for a real action or
// none, from the root, an IAM user and a role session. Each must be answered
// with well-formed XML; a refused one must write nothing; and whatever was
// written must load again into a service that reads the same as the running one.
func FuzzIAMAPI(f *testing.F) {
	add := func(action string, who uint8, params url.Values) {
		f.Add(fuzzActionIndex(action), who, params.Encode())
	}
	add("CreateUser", 0, url.Values{"UserName": {"u2"}, "Path": {"/a/b/"}, "Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"},
		"PermissionsBoundary": {fuzzPolARN}})
	add("GetUser", 1, nil)
	add("ListUsers", 0, url.Values{"MaxItems": {"1"}, "Marker": {"a"}, "PathPrefix": {"/"}})
	add("UpdateUser", 0, url.Values{"UserName": {fuzzUser}, "NewUserName": {"renamed"}, "NewPath": {"/x/"}})
	add("DeleteUser", 0, url.Values{"UserName": {fuzzUser}})
	add("CreateAccessKey", 1, nil)
	add("ListAccessKeys", 0, url.Values{"UserName": {fuzzUser}})
	add("UpdateAccessKey", 0, url.Values{"UserName": {fuzzUser}, "AccessKeyId": {fuzzKeyPlaceholder}, "Status": {"Inactive"}})
	add("DeleteAccessKey", 1, url.Values{"AccessKeyId": {fuzzKeyPlaceholder}})
	add("CreateRole", 0, url.Values{"RoleName": {"r2"}, "AssumeRolePolicyDocument": {fuzzTrust}, "MaxSessionDuration": {"7200"},
		"Description": {"d"}, "Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"}})
	add("GetRole", 2, url.Values{"RoleName": {fuzzRole}})
	add("ListRoles", 0, url.Values{"MaxItems": {"1000"}})
	add("UpdateRole", 0, url.Values{"RoleName": {fuzzRole}, "MaxSessionDuration": {"43200"}, "Description": {""}})
	add("UpdateRoleDescription", 0, url.Values{"RoleName": {fuzzRole}, "Description": {"x"}})
	add("UpdateAssumeRolePolicy", 0, url.Values{"RoleName": {fuzzRole}, "PolicyDocument": {fuzzTrust}})
	add("DeleteRole", 0, url.Values{"RoleName": {fuzzRole}})
	add("PutUserPolicy", 1, url.Values{"UserName": {fuzzUser}, "PolicyName": {"p"}, "PolicyDocument": {fuzzPerms}})
	add("GetRolePolicy", 0, url.Values{"RoleName": {fuzzRole}, "PolicyName": {"inline"}})
	add("DeleteRolePolicy", 0, url.Values{"RoleName": {fuzzRole}, "PolicyName": {"inline"}})
	add("ListRolePolicies", 0, url.Values{"RoleName": {fuzzRole}, "MaxItems": {"1"}})
	add("PutGroupPolicy", 0, url.Values{"GroupName": {fuzzGroup}, "PolicyName": {"g"}, "PolicyDocument": {`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b/*","Condition":{"StringLike":{"aws:username":"${aws:username}"}}}}`}})
	add("AttachUserPolicy", 0, url.Values{"UserName": {fuzzUser}, "PolicyArn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}})
	add("DetachRolePolicy", 0, url.Values{"RoleName": {fuzzRole}, "PolicyArn": {fuzzPolARN}})
	add("ListAttachedGroupPolicies", 0, url.Values{"GroupName": {fuzzGroup}, "PathPrefix": {"/"}})
	add("PutRolePermissionsBoundary", 0, url.Values{"RoleName": {fuzzRole}, "PermissionsBoundary": {fuzzPolARN}})
	add("DeleteUserPermissionsBoundary", 0, url.Values{"UserName": {fuzzUser}})
	add("CreatePolicy", 0, url.Values{"PolicyName": {"p2"}, "Path": {"/p/"}, "PolicyDocument": {fuzzPerms}, "Description": {"d"}})
	add("GetPolicy", 0, url.Values{"PolicyArn": {"arn:aws:iam::aws:policy/AdministratorAccess"}})
	add("CreatePolicyVersion", 0, url.Values{"PolicyArn": {fuzzPolARN}, "PolicyDocument": {fuzzPerms}, "SetAsDefault": {"true"}})
	add("GetPolicyVersion", 0, url.Values{"PolicyArn": {fuzzPolARN}, "VersionId": {"v1"}})
	add("SetDefaultPolicyVersion", 0, url.Values{"PolicyArn": {fuzzPolARN}, "VersionId": {"v1"}})
	add("DeletePolicyVersion", 0, url.Values{"PolicyArn": {fuzzPolARN}, "VersionId": {"v1"}})
	add("ListPolicyVersions", 0, url.Values{"PolicyArn": {fuzzPolARN}})
	add("DeletePolicy", 0, url.Values{"PolicyArn": {fuzzPolARN}})
	add("ListPolicies", 0, url.Values{"Scope": {"AWS"}, "OnlyAttached": {"true"}, "MaxItems": {"2"}})
	add("GetGroup", 0, url.Values{"GroupName": {fuzzGroup}})
	add("RemoveUserFromGroup", 0, url.Values{"GroupName": {fuzzGroup}, "UserName": {fuzzUser}})
	add("DeleteGroup", 0, url.Values{"GroupName": {fuzzGroup}})
	add("ListGroupsForUser", 1, url.Values{"UserName": {fuzzUser}})
	add("GetInstanceProfile", 0, url.Values{"InstanceProfileName": {fuzzProfile}})
	add("RemoveRoleFromInstanceProfile", 0, url.Values{"InstanceProfileName": {fuzzProfile}, "RoleName": {fuzzRole}})
	add("DeleteInstanceProfile", 0, url.Values{"InstanceProfileName": {fuzzProfile}})
	add("TagRole", 0, url.Values{"RoleName": {fuzzRole}, "Tags.member.1.Key": {"a"}, "Tags.member.1.Value": {"b"}, "Tags.member.2.Key": {"A"}})
	add("UntagUser", 0, url.Values{"UserName": {fuzzUser}, "TagKeys.member.1": {"team"}})
	add("ListRoleTags", 0, url.Values{"RoleName": {fuzzRole}})
	add("SimulatePrincipalPolicy", 0, url.Values{"PolicySourceArn": {fuzzUserARN}, "ActionNames.member.1": {"iam:DeleteUser"},
		"ResourceArns.member.1": {fuzzUserARN}})
	add("GetContextKeysForPrincipalPolicy", 0, url.Values{"PolicySourceArn": {fuzzRoleARN}})
	add("AssumeRole", 1, url.Values{"RoleArn": {fuzzRoleARN}, "RoleSessionName": {"s1"}, "DurationSeconds": {"900"},
		"Policy": {fuzzPerms}, "PolicyArns.member.1.arn": {fuzzPolARN}, "ExternalId": {"ext"}, "SourceIdentity": {"src"},
		"Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"}, "TransitiveTagKeys.member.1": {"k"}})
	add("AssumeRole", 2, url.Values{"RoleArn": {fuzzRoleARN}, "RoleSessionName": {"chained"}})
	add("GetSessionToken", 1, url.Values{"DurationSeconds": {"129600"}})
	add("GetSessionToken", 0, nil)
	add("GetCallerIdentity", 2, nil)
	add("GetAccessKeyInfo", 0, url.Values{"AccessKeyId": {fuzzKeyPlaceholder}})
	// Deletions that succeed once earlier requests (later lines, sent first) cleared the way.
	then := func(action string, params url.Values, before ...url.Values) {
		body := params.Encode()
		for _, b := range before {
			b.Set("Version", iamVersion)
			body += "\n" + b.Encode()
		}
		f.Add(fuzzActionIndex(action), uint8(0), body)
	}
	then("DeleteUser", url.Values{"UserName": {"u2"}}, url.Values{"Action": {"CreateUser"}, "UserName": {"u2"}})
	then("DeleteAccessKey", url.Values{"UserName": {fuzzUser}, "AccessKeyId": {fuzzKeyPlaceholder}},
		url.Values{"Action": {"UpdateAccessKey"}, "UserName": {fuzzUser}, "AccessKeyId": {fuzzKeyPlaceholder}, "Status": {"Inactive"}})
	then("DeleteRole", url.Values{"RoleName": {fuzzRole}},
		url.Values{"Action": {"DeleteRolePolicy"}, "RoleName": {fuzzRole}, "PolicyName": {"inline"}},
		url.Values{"Action": {"DetachRolePolicy"}, "RoleName": {fuzzRole}, "PolicyArn": {fuzzPolARN}},
		url.Values{"Action": {"RemoveRoleFromInstanceProfile"}, "RoleName": {fuzzRole}, "InstanceProfileName": {fuzzProfile}})
	then("DeletePolicyVersion", url.Values{"PolicyArn": {fuzzPolARN}, "VersionId": {"v1"}},
		url.Values{"Action": {"CreatePolicyVersion"}, "PolicyArn": {fuzzPolARN}, "PolicyDocument": {fuzzPerms}, "SetAsDefault": {"true"}})
	then("DeletePolicy", url.Values{"PolicyArn": {fuzzPolARN}},
		url.Values{"Action": {"DetachRolePolicy"}, "RoleName": {fuzzRole}, "PolicyArn": {fuzzPolARN}},
		url.Values{"Action": {"DetachUserPolicy"}, "UserName": {fuzzUser}, "PolicyArn": {fuzzPolARN}})
	then("DeleteGroup", url.Values{"GroupName": {fuzzGroup}},
		url.Values{"Action": {"RemoveUserFromGroup"}, "GroupName": {fuzzGroup}, "UserName": {fuzzUser}})
	then("DeleteInstanceProfile", url.Values{"InstanceProfileName": {fuzzProfile}},
		url.Values{"Action": {"RemoveRoleFromInstanceProfile"}, "RoleName": {fuzzRole}, "InstanceProfileName": {fuzzProfile}})
	// Past the action list: the body alone, Action and Version included or not.
	f.Add(uint16(len(fuzzActions)), uint8(0), "Action=ListUsers&Version=2010-05-08")
	f.Add(uint16(len(fuzzActions)+1), uint8(1), "Action=GetCallerIdentity&Version=2011-06-15")
	f.Add(uint16(len(fuzzActions)), uint8(0), "Action=ListUsers")
	f.Add(uint16(len(fuzzActions)), uint8(0), "Version=2010-05-08&%zz")
	f.Add(uint16(0), uint8(0), "")
	// Bytes that are not UTF-8 would be stored as U+FFFD, so they are refused.
	add("TagUser", 0, url.Values{"UserName": {fuzzUser}, "Tags.member.1.Key": {"\xff"}})
	add("UpdateRoleDescription", 0, url.Values{"RoleName": {fuzzRole}, "Description": {"a\x00\xffb"}})

	f.Fuzz(func(t *testing.T, sel uint16, who uint8, body string) {
		w := newFuzzWorld(t)
		body = strings.ReplaceAll(body, fuzzKeyPlaceholder, w.userKey)
		// Further lines are whole requests of their own, sent first, so that
		// an action can meet the state earlier ones leave (a user without
		// keys, a policy with two versions, ...).
		lines := strings.Split(body, "\n")
		if len(lines) > 4 {
			lines = lines[:4]
		}
		p := w.principals[int(who)%len(w.principals)]
		for _, line := range lines[1:] {
			w.check(t, strings.Contains(line, "Version="+stsVersion), p, line)
		}
		body = lines[0]
		sts := (int(sel)-len(fuzzActions))%2 == 1
		if int(sel) < len(fuzzActions) {
			a := fuzzActions[sel]
			version := iamVersion
			if a.sts {
				version = stsVersion
			}
			sts = a.sts
			// First, so that it is what the handler sees whatever the body repeats.
			body = "Action=" + a.name + "&Version=" + version + "&" + body
		}
		w.check(t, sts, p, body)
		reopened, err := New(Options{Store: w.st, Accounts: w.accounts})
		if err != nil {
			t.Fatalf("after %q: reload: %v", body, err)
		}
		if diff := indexRecordsDiff(w.svc, reopened); diff != "" {
			t.Fatalf("after %q, the stored records differ from the running ones: %s", body, diff)
		}
		for _, form := range fuzzSnapshot {
			q := url.Values{"Version": {iamVersion}}
			for k, v := range form {
				q[k] = v
			}
			c1, b1 := w.send(false, w.principals[0], q.Encode())
			c2, b2 := fuzzSend(reopened, false, w.principals[0], q.Encode())
			if c1 != c2 || !bytes.Equal(b1, b2) {
				t.Fatalf("after %q, %s differs once reloaded:\nrunning %d %s\nreloaded %d %s", body, q.Get("Action"), c1, b1, c2, b2)
			}
		}
		for _, id := range []string{w.userKey, w.principals[2].AccessKeyID} {
			c1, err1 := w.svc.LookupAccessKey(context.Background(), id)
			c2, err2 := reopened.LookupAccessKey(context.Background(), id)
			if c1 != c2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("after %q, key %s differs once reloaded: %+v %v / %+v %v", body, id, c1, err1, c2, err2)
			}
		}
	})
}

// indexRecordsDiff compares the records two services hold, field by field,
// and names the first that differs: what the store returns must be exactly
// what the running service acted on. Empty and absent lists are the same.
func indexRecordsDiff(a, b *Service) string {
	recs := func(s *Service) map[string]any {
		out := map[string]any{}
		s.read(func(ix *index) {
			for id, ac := range ix.accts {
				for n, u := range ac.users {
					out[storeKey(id, kindUser, n)] = u.userRec
				}
				for n, r := range ac.roles {
					out[storeKey(id, kindRole, n)] = r.roleRec
				}
				for n, g := range ac.groups {
					out[storeKey(id, kindGroup, n)] = g.groupRec
				}
				for n, m := range ac.policies {
					out[storeKey(id, kindPolicy, n)] = m.policyRec
				}
				for n, p := range ac.profiles {
					out[storeKey(id, kindProfile, n)] = p.profileRec
				}
			}
			for id, ss := range ix.sessions {
				out[storeKey(ss.Account, kindSession, id)] = ss.sessionRec
			}
		})
		return out
	}
	ra, rb := recs(a), recs(b)
	for k, v := range ra {
		if w, ok := rb[k]; !ok {
			return k + " is not stored"
		} else if jv, jw := fuzzJSON(v), fuzzJSON(w); jv != jw || !utf8.ValidString(fmt.Sprint(v)) {
			// Encoding JSON turns invalid UTF-8 into U+FFFD, so a record
			// holding it reads back as something else.
			return fmt.Sprintf("%s: running %q, stored %s", k, fmt.Sprint(v), jw)
		}
	}
	for k := range rb {
		if _, ok := ra[k]; !ok {
			return k + " is stored but not running"
		}
	}
	return ""
}

func fuzzJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
