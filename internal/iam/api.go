package iam

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// IAM speaks the query protocol, API version 2010-05-08 (botocore's
// iam/2010-05-08/service-2.json). It is global: any region in the
// credential scope is accepted.
const (
	iamVersion = "2010-05-08"
	iamXMLNS   = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// IAMService is the IAM API behind the gateway's signing name "iam".
func (s *Service) IAMService() gateway.Service {
	return gateway.Service{SigningName: "iam", Protocol: awswire.Query, Handler: http.HandlerFunc(s.serveIAM)}
}

// apiCall is one query-protocol request being served.
type apiCall struct {
	s    *Service
	ctx  context.Context
	req  *gateway.Request
	form url.Values
	p    gateway.Principal
	acct string
	now  time.Time
}

type handler func(c *apiCall) (any, error)

var iamHandlers = map[string]handler{
	"CreateUser": createUser, "GetUser": getUser, "ListUsers": listUsers, "DeleteUser": deleteUser,
	"CreateAccessKey": createAccessKey, "ListAccessKeys": listAccessKeys,
	"DeleteAccessKey": deleteAccessKey, "UpdateAccessKey": updateAccessKey,
	"CreateRole": createRole, "GetRole": getRole, "ListRoles": listRoles, "DeleteRole": deleteRole,
	"UpdateAssumeRolePolicy": updateAssumeRolePolicy,
	"UpdateRole":             updateRole, "UpdateRoleDescription": updateRoleDescription,
	"UpdateUser":    updateUser,
	"PutUserPolicy": putInline(kindUser), "GetUserPolicy": getInline(kindUser),
	"DeleteUserPolicy": deleteInline(kindUser), "ListUserPolicies": listInline(kindUser),
	"PutRolePolicy": putInline(kindRole), "GetRolePolicy": getInline(kindRole),
	"DeleteRolePolicy": deleteInline(kindRole), "ListRolePolicies": listInline(kindRole),
	"PutGroupPolicy": putInline(kindGroup), "GetGroupPolicy": getInline(kindGroup),
	"DeleteGroupPolicy": deleteInline(kindGroup), "ListGroupPolicies": listInline(kindGroup),
	"AttachUserPolicy": attach(kindUser, true), "DetachUserPolicy": attach(kindUser, false),
	"ListAttachedUserPolicies": listAttached(kindUser),
	"AttachRolePolicy":         attach(kindRole, true), "DetachRolePolicy": attach(kindRole, false),
	"ListAttachedRolePolicies": listAttached(kindRole),
	"AttachGroupPolicy":        attach(kindGroup, true), "DetachGroupPolicy": attach(kindGroup, false),
	"ListAttachedGroupPolicies":        listAttached(kindGroup),
	"PutUserPermissionsBoundary":       putBoundary(kindUser, true),
	"DeleteUserPermissionsBoundary":    putBoundary(kindUser, false),
	"PutRolePermissionsBoundary":       putBoundary(kindRole, true),
	"DeleteRolePermissionsBoundary":    putBoundary(kindRole, false),
	"CreatePolicy":                     createPolicy,
	"GetPolicy":                        getPolicy,
	"GetPolicyVersion":                 getPolicyVersion,
	"CreatePolicyVersion":              createPolicyVersion,
	"DeletePolicyVersion":              deletePolicyVersion,
	"ListPolicyVersions":               listPolicyVersions,
	"SetDefaultPolicyVersion":          setDefaultPolicyVersion,
	"DeletePolicy":                     deletePolicy,
	"ListPolicies":                     listPolicies,
	"CreateGroup":                      createGroup,
	"GetGroup":                         getGroup,
	"ListGroups":                       listGroups,
	"DeleteGroup":                      deleteGroup,
	"AddUserToGroup":                   addUserToGroup,
	"RemoveUserFromGroup":              removeUserFromGroup,
	"ListGroupsForUser":                listGroupsForUser,
	"CreateInstanceProfile":            createInstanceProfile,
	"GetInstanceProfile":               getInstanceProfile,
	"AddRoleToInstanceProfile":         addRoleToInstanceProfile,
	"RemoveRoleFromInstanceProfile":    removeRoleFromInstanceProfile,
	"DeleteInstanceProfile":            deleteInstanceProfile,
	"ListInstanceProfiles":             listInstanceProfiles,
	"TagUser":                          tagEntity(kindUser),
	"UntagUser":                        untagEntity(kindUser),
	"ListUserTags":                     listTags(kindUser),
	"TagRole":                          tagEntity(kindRole),
	"UntagRole":                        untagEntity(kindRole),
	"ListRoleTags":                     listTags(kindRole),
	"SimulatePrincipalPolicy":          simulatePrincipalPolicy,
	"GetContextKeysForPrincipalPolicy": getContextKeysForPrincipalPolicy,
}

func (s *Service) serveIAM(w http.ResponseWriter, r *http.Request) {
	// GetSessionToken credentials without MFA may not call IAM (IAM user
	// guide, "Permissions for GetSessionToken"); AWS refuses their token.
	if req := gateway.FromContext(r.Context()); req != nil {
		if ss := s.sessionOf(req.Principal.AccessKeyID); ss != nil && !ss.roleSession() {
			awswire.WriteQueryError(w, iamXMLNS, req.ID, &awswire.Error{Status: http.StatusForbidden, Code: "InvalidClientTokenId",
				Message: "The security token included in the request is invalid", Sender: true})
			return
		}
	}
	s.serveQuery(w, r, iamXMLNS, iamVersion, iamHandlers)
}

// serveQuery decodes a query-protocol request and runs its handler.
func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request, xmlns, apiVersion string, handlers map[string]handler) {
	req := gateway.FromContext(r.Context())
	form, err := awswire.ParseForm(r, req.Body)
	if err != nil {
		awswire.WriteQueryError(w, xmlns, req.ID, err)
		return
	}
	action, version := form.Get("Action"), form.Get("Version")
	if action == "" {
		awswire.WriteQueryError(w, xmlns, req.ID, awswire.Errorf(http.StatusBadRequest, "MissingAction", "Missing Action"))
		return
	}
	if version == "" {
		version = "NO_VERSION_SPECIFIED"
	}
	h := handlers[action]
	if h == nil || version != apiVersion {
		awswire.WriteQueryError(w, xmlns, req.ID, awswire.Errorf(http.StatusBadRequest, "InvalidAction",
			"Could not find operation %s for version %s", action, version))
		return
	}
	c := &apiCall{s: s, ctx: r.Context(), req: req, form: form, p: req.Principal, acct: req.Principal.Account, now: s.now().UTC().Truncate(time.Second)}
	out, err := h(c)
	if err != nil {
		if _, ok := err.(*awswire.Error); !ok {
			s.log.Error("iam request failed", "id", req.ID, "action", action, "err", err)
		}
		awswire.WriteQueryError(w, xmlns, req.ID, err)
		return
	}
	awswire.WriteQueryResult(w, action, xmlns, req.ID, out)
}

// authorize asks whether the caller may perform action on resource and
// turns a denial into IAM's AccessDenied.
func (c *apiCall) authorize(action, resource string) error {
	d, req := c.s.Authorize(c.ctx, c.p, Check{Action: action, Resource: resource})
	if d.Allowed {
		return nil
	}
	return accessDenied(policy.DenialMessage(req, d, policy.StyleStandard))
}

func accessDenied(msg string) error {
	return &awswire.Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: msg, Sender: true}
}

// Parameters.

func (c *apiCall) str(name string) string { return c.form.Get(name) }

func (c *apiCall) has(name string) bool { return c.form.Has(name) }

// members returns the list parameter name (name.member.1, name.member.2, ...).
func (c *apiCall) members(name string) []string {
	var out []string
	for i := 1; ; i++ {
		k := name + ".member." + strconv.Itoa(i)
		if !c.form.Has(k) {
			return out
		}
		out = append(out, c.form.Get(k))
	}
}

func (c *apiCall) tags(name string) ([]tag, error) {
	var out []tag
	for i := 1; ; i++ {
		k := name + ".member." + strconv.Itoa(i)
		if !c.form.Has(k+".Key") && !c.form.Has(k+".Value") {
			break
		}
		t := tag{Key: c.form.Get(k + ".Key"), Value: c.form.Get(k + ".Value")}
		if t.Key == "" {
			return nil, constraintErr("", lowerFirst(name)+".member."+strconv.Itoa(i)+".member.key", "Member must not be null")
		}
		if len(t.Key) > 128 {
			return nil, constraintErr(t.Key, lowerFirst(name)+".member."+strconv.Itoa(i)+".member.key", "Member must have length less than or equal to 128")
		}
		if len(t.Value) > 256 {
			return nil, constraintErr(t.Value, lowerFirst(name)+".member."+strconv.Itoa(i)+".member.value", "Member must have length less than or equal to 256")
		}
		// The patterns also keep out bytes that are not UTF-8 (IndexFunc sees
		// them as U+FFFD, which is no letter), which the store could not keep.
		if strings.IndexFunc(t.Key, notTagChar) >= 0 {
			return nil, constraintErr(t.Key, lowerFirst(name)+".member."+strconv.Itoa(i)+".member.key", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		if strings.IndexFunc(t.Value, notTagChar) >= 0 {
			return nil, constraintErr(t.Value, lowerFirst(name)+".member."+strconv.Itoa(i)+".member.value", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		out = append(out, t)
	}
	if len(out) > 50 {
		return nil, constraintErr("", lowerFirst(name), "Member must have length less than or equal to 50")
	}
	return out, nil
}

func notTagChar(r rune) bool {
	return r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.In(r, unicode.Z) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func validationErr(format string, args ...any) error {
	return awswire.Errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

// constraintErr is AWS's text for a parameter that fails its model
// constraint. An empty value is written as null, as for a missing one.
func constraintErr(value, field, constraint string) error {
	v := "null"
	if value != "" {
		v = "'" + value + "'"
	}
	return validationErr("1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", v, field, constraint)
}

const namePattern = `[\w+=,.@-]+`

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)
}

// name returns a required entity name parameter, checked against IAM's
// pattern and length limit.
func (c *apiCall) name(param string, max int) (string, error) {
	v := c.str(param)
	field := lowerFirst(param)
	switch {
	case v == "":
		return "", constraintErr("", field, "Member must not be null")
	case len(v) > max:
		return "", constraintErr(v, field, fmt.Sprintf("Member must have length less than or equal to %d", max))
	case strings.IndexFunc(v, func(r rune) bool { return !isNameChar(r) }) >= 0:
		return "", constraintErr(v, field, "Member must satisfy regular expression pattern: "+namePattern)
	}
	return v, nil
}

// optName is name for an optional parameter: "" when absent.
func (c *apiCall) optName(param string, max int) (string, error) {
	if !c.has(param) {
		return "", nil
	}
	return c.name(param, max)
}

// path returns the Path parameter, "/" when absent.
func (c *apiCall) path(param string) (string, error) {
	if !c.has(param) {
		return "/", nil
	}
	v := c.str(param)
	field := lowerFirst(param)
	if len(v) > 512 {
		return "", constraintErr(v, field, "Member must have length less than or equal to 512")
	}
	ok := v == "/" || len(v) >= 3 && v[0] == '/' && v[len(v)-1] == '/' &&
		strings.IndexFunc(v, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
	if !ok {
		return "", constraintErr(v, field, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return v, nil
}

// document returns a required policy document parameter.
func (c *apiCall) document(param string) (string, error) {
	v := c.str(param)
	if v == "" {
		return "", constraintErr("", lowerFirst(param), "Member must not be null")
	}
	if len(v) > 131072 {
		return "", constraintErr("", lowerFirst(param), "Member must have length less than or equal to 131072")
	}
	return v, nil
}

// arnParam returns a required ARN parameter.
func (c *apiCall) arnParam(param string) (string, error) {
	v := c.str(param)
	if v == "" {
		return "", constraintErr("", lowerFirst(param), "Member must not be null")
	}
	if len(v) < 20 {
		return "", constraintErr(v, lowerFirst(param), "Member must have length greater than or equal to 20")
	}
	return v, nil
}

// intParam returns an optional integer parameter within [min, max].
func (c *apiCall) intParam(param string, min, max, def int) (int, error) {
	if !c.has(param) {
		return def, nil
	}
	v := c.str(param)
	n, err := strconv.Atoi(v)
	field := lowerFirst(param)
	if err != nil {
		return 0, validationErr("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a number", v, field)
	}
	if n < min {
		return 0, constraintErr(v, field, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if n > max {
		return 0, constraintErr(v, field, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return n, nil
}

func (c *apiCall) boolParam(param string) bool { return strings.EqualFold(c.str(param), "true") }

func malformed(err error) error {
	if pe, ok := err.(*policy.ParseError); ok {
		return awswire.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "%s", pe.Message)
	}
	return err
}

func noSuchEntity(format string, args ...any) error {
	return awswire.Errorf(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func alreadyExists(format string, args ...any) error {
	return awswire.Errorf(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func deleteConflict(msg string) error {
	return awswire.Errorf(http.StatusConflict, "DeleteConflict", "%s", msg)
}

func limitExceeded(format string, args ...any) error {
	return awswire.Errorf(http.StatusConflict, "LimitExceeded", format, args...)
}

// Pagination: Marker is the name of the first item of the next page.

type page struct {
	Marker      string `xml:",omitempty"`
	IsTruncated bool
}

// paginate returns the range of names (sorted) that the request's Marker
// and MaxItems select.
func (c *apiCall) paginate(names []string) (lo, hi int, pg page, err error) {
	max, err := c.intParam("MaxItems", 1, 1000, 100)
	if err != nil {
		return 0, 0, page{}, err
	}
	if m := c.str("Marker"); m != "" {
		lo = sort.SearchStrings(names, m)
	}
	hi = len(names)
	if hi-lo > max {
		hi = lo + max
		pg = page{Marker: names[hi], IsTruncated: true}
	}
	return lo, hi, pg, nil
}

// list is a query-protocol list: <Name><member>...</member></Name>. It is
// written even when empty, as AWS does.
type list[T any] struct {
	Member []T `xml:"member"`
}

func tagList(tags []tag) *list[tag] {
	if len(tags) == 0 {
		return nil
	}
	return &list[tag]{Member: tags}
}

// urlEncode writes a policy document the way IAM returns them: percent
// encoded (RFC 3986), which the CLI and boto3 decode.
func urlEncode(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
