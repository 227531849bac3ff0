package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Kind is the role a document plays. It decides which elements are required or
// forbidden and which of IAM's messages a violation gets.
type Kind uint8

// Document kinds.
const (
	// KindGeneric checks the grammar and IAM's checks common to all
	// documents; Principal and Resource are optional.
	KindGeneric Kind = iota
	// KindIdentity is an inline user, group or role policy, a session policy
	// or a permissions boundary: no Principal, Resource required, Sids
	// alphanumeric.
	KindIdentity
	// KindManaged is a customer managed policy (CreatePolicy,
	// CreatePolicyVersion): KindIdentity plus Version 2012-10-17.
	KindManaged
	// KindTrust is a role trust policy (AssumeRolePolicyDocument): Principal
	// required, no Resource, only STS AssumeRole actions.
	KindTrust
	// KindResource is a resource-based policy such as a Lambda function
	// policy: Principal and Resource required.
	KindResource
	// KindEndpoint is a VPC endpoint policy: Resource required, Principal
	// optional (a statement without one applies to every principal).
	KindEndpoint
)

// ParseError is a document IAM would reject; Message is the text AWS returns
// with the MalformedPolicyDocument error code.
type ParseError struct {
	Message string
}

func (e *ParseError) Error() string { return e.Message }

// The messages below were seen from real IAM (CreatePolicy, PutUserPolicy,
// CreateRole, ...) in public bug reports, or reverse-engineered against IAM by
// moto's policy validator tests; the trust-policy ones marked "emulator" come
// from another emulator's tests only.
const (
	msgSyntax              = "Syntax errors in policy."
	msgInvalidJSONTrust    = "This policy contains invalid Json"
	msgVersion             = "Policy document must be version 2012-10-17 or greater."
	msgLegacy              = "The policy failed legacy parsing"
	msgSidAlnum            = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgSidUnique           = "Statement IDs (SID) in a single policy must be unique."
	msgNoActions           = "Policy statement must contain actions."
	msgNoResources         = "Policy statement must contain resources."
	msgPrincipalInIdentity = "Policy document should not specify a principal."
	msgMissingPrincipal    = "Missing required field Principal"
	msgTrustResource       = "Has prohibited field Resource"
	msgTrustNotResource    = "AssumeRole policy must not contain resources."              // emulator
	msgTrustActions        = "AssumeRole policy may only specify STS AssumeRole actions." // emulator
	msgTrustAllowNotPrinc  = "Allow with NotPrincipal is not allowed."                    // emulator
	msgNoVendor            = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon            = "Actions/Condition can contain only one colon."
	msgResourceVendor      = "Resource vendor must be fully qualified and cannot contain regexes."
)

// Parse parses doc as a KindGeneric document.
func Parse(doc string) (*Policy, error) { return ParseAs(doc, KindGeneric) }

// ParseIdentity parses an inline identity policy, session policy or boundary.
func ParseIdentity(doc string) (*Policy, error) { return ParseAs(doc, KindIdentity) }

// ParseManaged parses a customer managed policy document.
func ParseManaged(doc string) (*Policy, error) { return ParseAs(doc, KindManaged) }

// ParseTrust parses a role trust policy.
func ParseTrust(doc string) (*Policy, error) { return ParseAs(doc, KindTrust) }

// ParseResource parses a resource-based policy.
func ParseResource(doc string) (*Policy, error) { return ParseAs(doc, KindResource) }

// ParseEndpoint parses a VPC endpoint policy.
func ParseEndpoint(doc string) (*Policy, error) { return ParseAs(doc, KindEndpoint) }

// ParseAs parses doc as a document of the given kind. Errors are *ParseError.
// IAM checks in phases and reports the first phase that fails; the phases and
// their order follow what IAM is observed to do: JSON and grammar ("Syntax
// errors in policy."), the elements the kind requires or forbids, the Version
// of managed policies, "legacy parsing" (Effect spelled exactly, Date values,
// ARN shapes), Sids, missing actions and resources, principals, resource ARN
// format, action names.
func ParseAs(doc string, kind Kind) (*Policy, error) {
	p, effects, err := decode(doc, kind)
	if err != nil {
		return nil, err
	}
	if msg := validate(p, effects, kind); msg != "" {
		return nil, &ParseError{Message: msg}
	}
	vars := p.Version == Version2012
	for i := range p.Statements {
		compileStatement(&p.Statements[i], vars)
	}
	return p, nil
}

func errSyntax() *ParseError { return &ParseError{Message: msgSyntax} }

func decode(doc string, kind Kind) (*Policy, []string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		// Anything after the document makes it invalid JSON too.
		_, err = dec.Token()
		if err == io.EOF {
			err = nil
		} else if err == nil {
			err = errSyntax()
		}
	}
	if err != nil {
		if kind == KindTrust {
			return nil, nil, &ParseError{Message: msgInvalidJSONTrust}
		}
		return nil, nil, errSyntax()
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, nil, errSyntax()
	}
	p := &Policy{}
	var stmts []any
	for k, val := range top {
		switch k {
		case "Version":
			s, ok := val.(string)
			if !ok || (s != Version2012 && s != Version2008) {
				return nil, nil, errSyntax()
			}
			p.Version = s
		case "Id":
			s, ok := val.(string)
			if !ok {
				return nil, nil, errSyntax()
			}
			p.ID = s
		case "Statement":
			switch sv := val.(type) {
			case map[string]any:
				stmts = []any{sv}
			case []any:
				stmts = sv
			}
			if len(stmts) == 0 {
				return nil, nil, errSyntax()
			}
		default:
			return nil, nil, errSyntax()
		}
	}
	if stmts == nil {
		return nil, nil, errSyntax()
	}
	p.Statements = make([]Statement, len(stmts))
	effects := make([]string, len(stmts))
	for i, raw := range stmts {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, nil, errSyntax()
		}
		e, ok := decodeStatement(m, &p.Statements[i])
		if !ok {
			return nil, nil, errSyntax()
		}
		effects[i] = e
	}
	return p, effects, nil
}

// decodeStatement fills s from m and returns the Effect as written.
func decodeStatement(m map[string]any, s *Statement) (string, bool) {
	var effect string
	for k, val := range m {
		var ok bool
		switch k {
		case "Sid":
			s.Sid, ok = val.(string)
		case "Effect":
			effect, ok = val.(string)
			switch strings.ToLower(effect) {
			case "allow":
				s.Effect = Allow
			case "deny":
				s.Effect = Deny
			default:
				ok = false
			}
		case "Principal":
			s.Principal, ok = decodePrincipals(val)
		case "NotPrincipal":
			s.NotPrincipal, ok = decodePrincipals(val)
		case "Action":
			s.Action, ok = stringList(val)
		case "NotAction":
			s.NotAction, ok = stringList(val)
		case "Resource":
			s.Resource, ok = stringList(val)
		case "NotResource":
			s.NotResource, ok = stringList(val)
		case "Condition":
			s.Condition, ok = decodeConditions(val)
		}
		if !ok {
			return "", false
		}
	}
	switch {
	case s.Effect == 0,
		s.Action != nil && s.NotAction != nil,
		s.Resource != nil && s.NotResource != nil,
		s.Principal != nil && s.NotPrincipal != nil:
		return "", false
	}
	return effect, true
}

// stringList reads a string or a list of strings. A present list is never
// nil, so an empty list stays distinguishable from an absent element.
func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func decodePrincipals(v any) (*Principals, bool) {
	switch t := v.(type) {
	case string:
		return &Principals{Wildcard: true}, t == "*"
	case map[string]any:
		if len(t) == 0 {
			return nil, false
		}
		p := &Principals{}
		for k, val := range t {
			list, ok := stringList(val)
			if !ok || len(list) == 0 {
				return nil, false
			}
			switch k {
			case "AWS":
				p.AWS = list
			case "Service":
				p.Service = list
			case "Federated":
				p.Federated = list
			case "CanonicalUser":
				p.CanonicalUser = list
			default:
				return nil, false
			}
		}
		return p, true
	}
	return nil, false
}

// decodeConditions reads operator → key → value-or-list. JSON numbers and
// booleans are accepted as values and kept as their text. An operator IAM does
// not know is a syntax error unless its block is empty, which IAM ignores.
func decodeConditions(v any) ([]Condition, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	var out []Condition
	for op, block := range m {
		keys, ok := block.(map[string]any)
		if !ok {
			return nil, false
		}
		if _, _, _, known := parseOperator(op); !known {
			if len(keys) > 0 {
				return nil, false
			}
			continue
		}
		for key, val := range keys {
			vals, ok := conditionValues(val)
			if !ok {
				return nil, false
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Operator != out[j].Operator {
			return out[i].Operator < out[j].Operator
		}
		return out[i].Key < out[j].Key
	})
	return out, true
}

func conditionValues(v any) ([]string, bool) {
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := scalarText(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := scalarText(v)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// validate runs IAM's checks after the grammar and returns the message of the
// first that fails, or "".
func validate(p *Policy, effects []string, kind Kind) string {
	for i := range p.Statements {
		if msg := kindElements(&p.Statements[i], kind); msg != "" {
			return msg
		}
	}
	if kind == KindManaged && p.Version != Version2012 {
		return msgVersion
	}

	// Legacy parsing; ARN format errors are held back until later phases,
	// as IAM reports them after missing actions and resources.
	var resourceErr string
	for i := range p.Statements {
		s := &p.Statements[i]
		if effects[i] != "Allow" && effects[i] != "Deny" {
			return msgLegacy
		}
		for _, c := range s.Condition {
			info, _, _, _ := parseOperator(c.Operator)
			if info.op != opDate {
				continue
			}
			for _, v := range c.Values {
				if _, ok := parseDate(v); !ok {
					return msgLegacy
				}
			}
		}
		for _, r := range append(s.Resource[:len(s.Resource):len(s.Resource)], s.NotResource...) {
			if r == "*" {
				continue
			}
			if msg := resourceFormat(r); msg != "" {
				if resourceErr == "" {
					resourceErr = msg
				}
				continue
			}
			if !legacyARN(r) {
				return msgLegacy
			}
		}
	}

	iamKind := kind == KindIdentity || kind == KindManaged || kind == KindTrust
	if iamKind {
		for i := range p.Statements {
			if !alnum(p.Statements[i].Sid) {
				return msgSidAlnum
			}
		}
	}
	if kind != KindGeneric {
		seen := make(map[string]bool, len(p.Statements))
		for i := range p.Statements {
			sid := p.Statements[i].Sid
			if sid != "" && seen[sid] {
				return msgSidUnique
			}
			seen[sid] = true
		}
	}
	for i := range p.Statements {
		s := &p.Statements[i]
		if len(s.Action) == 0 && len(s.NotAction) == 0 {
			return msgNoActions
		}
	}
	switch kind {
	case KindIdentity, KindManaged, KindResource, KindEndpoint:
		for i := range p.Statements {
			s := &p.Statements[i]
			if len(s.Resource) == 0 && len(s.NotResource) == 0 {
				return msgNoResources
			}
		}
	}
	if kind == KindTrust {
		for i := range p.Statements {
			if !trustActions(&p.Statements[i]) {
				return msgTrustActions
			}
		}
	}
	if kind == KindTrust || kind == KindResource || kind == KindEndpoint {
		for i := range p.Statements {
			s := &p.Statements[i]
			for _, ps := range []*Principals{s.Principal, s.NotPrincipal} {
				if msg := principalValues(ps); msg != "" {
					return msg
				}
			}
		}
	}
	if resourceErr != "" {
		return resourceErr
	}
	for i := range p.Statements {
		s := &p.Statements[i]
		for _, a := range append(s.Action[:len(s.Action):len(s.Action)], s.NotAction...) {
			if msg := actionName(a); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// kindElements checks the elements a document kind requires or forbids.
func kindElements(s *Statement, kind Kind) string {
	hasPrincipal := s.Principal != nil || s.NotPrincipal != nil
	switch kind {
	case KindIdentity, KindManaged:
		if hasPrincipal {
			return msgPrincipalInIdentity
		}
	case KindTrust:
		switch {
		case !hasPrincipal:
			return msgMissingPrincipal
		case s.Resource != nil:
			return msgTrustResource
		case s.NotResource != nil:
			return msgTrustNotResource
		case s.NotPrincipal != nil && s.Effect == Allow:
			return msgTrustAllowNotPrinc
		}
	case KindResource:
		if !hasPrincipal {
			return msgMissingPrincipal
		}
	}
	return ""
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// The actions a trust policy may name.
var assumeRoleActions = []string{
	"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
	"sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext",
}

func trustActions(s *Statement) bool {
	if s.NotAction != nil {
		return false
	}
	for _, a := range s.Action {
		if len(a) < 4 || !strings.EqualFold(a[:4], "sts:") {
			return false
		}
		pat := compilePattern(strings.ToLower(a), true, false)
		ok := false
		for _, name := range assumeRoleActions {
			if m, _ := pat.match(name, caseLower, nil); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// principalValues checks the shape of principal values. Whether a named user
// or role exists is for the caller to check (IAM answers the same "Invalid
// principal in policy" then).
func principalValues(ps *Principals) string {
	if ps == nil {
		return ""
	}
	for _, v := range ps.AWS {
		if classifyAWSPrincipal(v).kind == apInvalid {
			return InvalidPrincipalMessage("AWS", v)
		}
	}
	for _, v := range ps.Service {
		name, ok := strings.CutSuffix(v, ".amazonaws.com")
		if !ok {
			name, ok = strings.CutSuffix(v, ".amazonaws.com.cn")
		}
		if !ok || name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			return InvalidPrincipalMessage("Service", v)
		}
	}
	for _, v := range ps.Federated {
		if v == "" {
			return InvalidPrincipalMessage("Federated", v)
		}
	}
	return ""
}

// InvalidPrincipalMessage is IAM's text for a principal it cannot resolve, as
// in `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/x"`.
// IAM writes the element name in upper case for services ("SERVICE").
func InvalidPrincipalMessage(element, value string) string {
	if element != "AWS" {
		element = strings.ToUpper(element)
	}
	return fmt.Sprintf("Invalid principal in policy: %q:%q", element, value)
}

// resourceFormat returns IAM's message for a Resource that is not an ARN.
func resourceFormat(r string) string {
	_, rest, ok := strings.Cut(r, ":")
	if !ok {
		return fmt.Sprintf(`Resource %s must be in ARN format or "*".`, r)
	}
	partition, rest, hasService := strings.Cut(rest, ":")
	if partition != "aws" {
		// IAM echoes the resource as a six-part ARN, "*" for parts it lacks.
		parts := strings.Split(rest, ":")
		part := func(i int) string {
			if i < len(parts) && (i > 0 || parts[0] != "" || len(parts) > 1) {
				return parts[i]
			}
			return "*"
		}
		last := "*"
		if len(parts) > 3 {
			last = strings.Join(parts[3:], ":")
		}
		return fmt.Sprintf(`Partition "%s" is not valid for resource "arn:%s:%s:%s:%s:%s".`,
			partition, partition, part(0), part(1), part(2), last)
	}
	if !hasService {
		return msgResourceVendor
	}
	service, rest, _ := strings.Cut(rest, ":")
	region, rest, _ := strings.Cut(rest, ":")
	switch service {
	case "iam":
		if region != "" {
			return fmt.Sprintf("IAM resource %s cannot contain region information.", r)
		}
		_, path, _ := strings.Cut(rest, ":")
		if path != "*" && !hasAnyPrefix(path, iamResourcePrefixes) {
			return `IAM resource path must either be "*" or start with ` + strings.Join(iamResourcePrefixes, ", ") + "."
		}
	case "s3":
		if region != "" {
			return fmt.Sprintf("Resource %s can not contain region information.", r)
		}
	}
	return ""
}

var iamResourcePrefixes = []string{
	"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
	"server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/",
	"report/", "access-report/",
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// legacyARN is the ARN shape IAM's older parser insists on: a service part,
// and no empty part unless all six parts are there.
func legacyARN(r string) bool {
	if strings.Count(r, ":") < 5 && strings.Contains(r, "::") {
		return false
	}
	parts := strings.SplitN(r, ":", 4)
	return len(parts) > 2 && parts[2] != ""
}

// actionName returns IAM's message for a malformed action name.
func actionName(a string) string {
	if a == "*" {
		return ""
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok {
		return msgNoVendor
	}
	if strings.Contains(name, ":") {
		return msgOneColon
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Sprintf("Vendor %s is not valid", vendor)
		}
	}
	return ""
}
