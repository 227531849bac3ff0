package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// A function's resource-based policy: one document per qualifier ("" is the
// unqualified function), built from AddPermission statements and evaluated
// by the IAM engine for every call on the function.

const maxPolicyBytes = 20480

var (
	reStatementID   = anchored(`([a-zA-Z0-9-_]+)`)
	rePermAction    = anchored(`(lambda:[*]|lambda:[a-zA-Z]+|[*])`)
	reSourceArn     = anchored(`arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
	reAccountID     = regexp.MustCompile(`^\d{12}$`)
	rePrincipalOrg  = anchored(`o-[a-z0-9]{10,32}`)
	reEventSourceTk = anchored(`[a-zA-Z0-9._\-]+`)
)

// ResourcePolicy is one qualifier's stored policy.
type ResourcePolicy struct {
	Document string `json:"document"`
	Revision string `json:"revision"`
}

type addPermissionInput struct {
	StatementID         string  `json:"StatementId"`
	Action              string  `json:"Action"`
	Principal           string  `json:"Principal"`
	SourceArn           string  `json:"SourceArn"`
	SourceAccount       string  `json:"SourceAccount"`
	EventSourceToken    string  `json:"EventSourceToken"`
	RevisionID          *string `json:"RevisionId"`
	PrincipalOrgID      string  `json:"PrincipalOrgID"`
	FunctionURLAuthType string  `json:"FunctionUrlAuthType"`
}

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id"`
	Statement []json.RawMessage `json:"Statement"`
}

func errPolicyNotFound() *awswire.Error {
	return errNotFound("No policy is associated with the given resource.")
}

// statementFor renders an AddPermission request as Lambda writes it into the
// function policy.
func statementFor(in *addPermissionInput, resource string) (json.RawMessage, error) {
	var principal any
	switch {
	case in.Principal == "*":
		principal = "*"
	case reAccountID.MatchString(in.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + in.Principal + ":root"}
	case strings.HasPrefix(in.Principal, "arn:"):
		principal = map[string]string{"AWS": in.Principal}
	case strings.Contains(in.Principal, "."):
		principal = map[string]string{"Service": in.Principal}
	default:
		return nil, errInvalidParameter("The provided principal was invalid. Please check the principal and try again.")
	}
	cond := map[string]map[string]string{}
	add := func(op, key, val string) {
		if val == "" {
			return
		}
		if cond[op] == nil {
			cond[op] = map[string]string{}
		}
		cond[op][key] = val
	}
	add("StringEquals", "AWS:SourceAccount", in.SourceAccount)
	add("ArnLike", "AWS:SourceArn", in.SourceArn)
	add("StringEquals", "aws:PrincipalOrgID", in.PrincipalOrgID)
	add("StringEquals", "lambda:EventSourceToken", in.EventSourceToken)
	add("StringEquals", "lambda:FunctionUrlAuthType", in.FunctionURLAuthType)
	st := struct {
		Sid       string                       `json:"Sid"`
		Effect    string                       `json:"Effect"`
		Principal any                          `json:"Principal"`
		Action    string                       `json:"Action"`
		Resource  string                       `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition,omitempty"`
	}{in.StatementID, "Allow", principal, in.Action, resource, cond}
	if len(cond) == 0 {
		st.Condition = nil
	}
	return json.Marshal(st)
}

func validatePermission(in *addPermissionInput) error {
	var v validator
	v.length("statementId", in.StatementID, 1, 100)
	v.pattern("statementId", in.StatementID, reStatementID, `([a-zA-Z0-9-_]+)`)
	v.pattern("action", in.Action, rePermAction, `(lambda:[*]|lambda:[a-zA-Z]+|[*])`)
	if in.Principal == "" || strings.ContainsAny(in.Principal, " \t\n") {
		v.add(in.Principal, "principal", `Member must satisfy regular expression pattern: [^\s]+`)
	}
	if in.SourceArn != "" {
		v.pattern("sourceArn", in.SourceArn, reSourceArn, `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
	}
	if in.SourceAccount != "" && !reAccountID.MatchString(in.SourceAccount) {
		v.add(in.SourceAccount, "sourceAccount", `Member must satisfy regular expression pattern: \d{12}`)
	}
	if in.PrincipalOrgID != "" {
		v.pattern("principalOrgID", in.PrincipalOrgID, rePrincipalOrg, `o-[a-z0-9]{10,32}`)
	}
	if in.EventSourceToken != "" {
		v.pattern("eventSourceToken", in.EventSourceToken, reEventSourceTk, `[a-zA-Z0-9._\-]+`)
	}
	return v.err()
}

// permissionTarget resolves the qualifier a permission call applies to and
// checks it exists.
func (s *Service) permissionTarget(st *fnState, t target) error {
	if t.qualifier == "" {
		return nil
	}
	_, _, err := s.resolve(st, t)
	return err
}

// AddPermission adds a statement to the function policy of the qualifier.
func (s *Service) AddPermission(c caller, name, qualifier string, in *addPermissionInput) (json.RawMessage, error) {
	t, err := parseFunctionName(name, c.Account, c.Region, true)
	if err != nil {
		return nil, err
	}
	if t, err = t.withQualifier(qualifier); err != nil {
		return nil, err
	}
	if err := validatePermission(in); err != nil {
		return nil, err
	}
	if err := s.authorize(c, "lambda:AddPermission", t); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, err
	}
	if err := s.permissionTarget(st, t); err != nil {
		return nil, err
	}
	cur := st.fn.Policies[t.qualifier]
	if in.RevisionID != nil && *in.RevisionID != "" && cur != nil && *in.RevisionID != cur.Revision {
		return nil, errPrecondition()
	}
	doc := policyDoc{Version: "2012-10-17", ID: "default"}
	if cur != nil {
		if err := json.Unmarshal([]byte(cur.Document), &doc); err != nil {
			return nil, errService("stored function policy is unreadable: %v", err)
		}
		for _, raw := range doc.Statement {
			var sid struct{ Sid string }
			json.Unmarshal(raw, &sid)
			if sid.Sid == in.StatementID {
				return nil, errConflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementID)
			}
		}
	}
	stmt, err := statementFor(in, t.id.qualifiedARN(t.qualifier))
	if err != nil {
		return nil, err
	}
	doc.Statement = append(doc.Statement, stmt)
	text, _ := json.Marshal(doc)
	if len(text) > maxPolicyBytes {
		e := awswire.Errorf(http.StatusBadRequest, "PolicyLengthExceededException", "The final policy size (%d) is bigger than the limit (%d).", len(text), maxPolicyBytes)
		return nil, e
	}
	if _, err := policy.ParseResource(string(text)); err != nil {
		return nil, errInvalidParameter("The policy this permission would create is not valid: %v", err)
	}
	f := st.fn
	f.Policies = copyPolicies(f.Policies)
	f.Policies[t.qualifier] = &ResourcePolicy{Document: string(text), Revision: newRevision()}
	if err := s.write(t.id, change{put: &f}); err != nil {
		return nil, err
	}
	return stmt, nil
}

// RemovePermission removes one statement.
func (s *Service) RemovePermission(c caller, name, qualifier, sid string, revision string) error {
	t, err := s.namedQualified(c, name, qualifier, "lambda:RemovePermission", true)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return err
	}
	if err := s.permissionTarget(st, t); err != nil {
		return err
	}
	cur := st.fn.Policies[t.qualifier]
	if cur == nil {
		return errPolicyNotFound()
	}
	if revision != "" && revision != cur.Revision {
		return errPrecondition()
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(cur.Document), &doc); err != nil {
		return errService("stored function policy is unreadable: %v", err)
	}
	kept := doc.Statement[:0]
	found := false
	for _, raw := range doc.Statement {
		var st struct{ Sid string }
		json.Unmarshal(raw, &st)
		if st.Sid == sid {
			found = true
			continue
		}
		kept = append(kept, raw)
	}
	if !found {
		return errNotFound("Statement %s is not found in resource policy.", sid)
	}
	f := st.fn
	f.Policies = copyPolicies(f.Policies)
	if len(kept) == 0 {
		delete(f.Policies, t.qualifier)
	} else {
		doc.Statement = kept
		text, _ := json.Marshal(doc)
		f.Policies[t.qualifier] = &ResourcePolicy{Document: string(text), Revision: newRevision()}
	}
	return s.write(t.id, change{put: &f})
}

// GetPolicy returns the function policy of a qualifier.
func (s *Service) GetPolicy(c caller, name, qualifier string) (*ResourcePolicy, error) {
	t, err := s.namedQualified(c, name, qualifier, "lambda:GetPolicy", true)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, err
	}
	if err := s.permissionTarget(st, t); err != nil {
		return nil, err
	}
	p := st.fn.Policies[t.qualifier]
	if p == nil {
		return nil, errPolicyNotFound()
	}
	out := *p
	return &out, nil
}

func copyPolicies(m map[string]*ResourcePolicy) map[string]*ResourcePolicy {
	out := make(map[string]*ResourcePolicy, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
