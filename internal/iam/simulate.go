package iam

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// source is a policy as the simulator reports it: where it came from and
// its text, for the positions of matched statements.
type source struct {
	doc  *policy.Policy
	id   string // SourcePolicyId: the inline policy's name, the managed policy's name
	typ  string // SourcePolicyType: user, group, role, aws-managed, user-managed, none
	text string
}

// simSubject is the principal a simulation is about, with its policies.
type simSubject struct {
	principal policy.Principal
	identity  []source
	boundary  *source
}

func inlineSources(typ string, inline []named, texts map[string]string) []source {
	out := make([]source, 0, len(inline))
	for _, n := range inline {
		out = append(out, source{doc: n.doc, id: n.name, typ: typ, text: texts[n.name]})
	}
	return out
}

func (a *acct) managedSource(arn string) *source {
	m := a.managedPolicy(arn)
	if m == nil {
		return nil
	}
	typ := "user-managed"
	if m.aws {
		typ = "aws-managed"
	}
	return &source{doc: m.doc, id: m.Name, typ: typ, text: m.version(m.Default).Document}
}

func (a *acct) managedSources(arns []string) []source {
	var out []source
	for _, arn := range arns {
		if s := a.managedSource(arn); s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// subject resolves PolicySourceArn: a user, group or role of the caller's
// account. Callers hold mu for reading.
func (c *apiCall) subject(a *acct, arn string) (*simSubject, bool) {
	if accountOf(arn) != c.acct || !strings.HasPrefix(arn, "arn:aws:iam::") {
		return nil, false
	}
	res := arn[strings.LastIndexByte(arn, ':')+1:]
	name := res[strings.LastIndexByte(res, '/')+1:]
	switch {
	case strings.HasPrefix(res, "user/"):
		u := a.users[name]
		if u == nil || u.arn != arn {
			return nil, false
		}
		s := &simSubject{principal: policy.Principal{Type: policy.User, ARN: arn, Account: c.acct, UserID: u.ID, Name: u.Name}}
		s.identity = append(inlineSources("user", u.inline, u.Inline), a.managedSources(u.Attached)...)
		for _, gn := range u.Groups {
			if g := a.groups[gn]; g != nil {
				s.identity = append(s.identity, inlineSources("group", g.inline, g.Inline)...)
				s.identity = append(s.identity, a.managedSources(g.Attached)...)
			}
		}
		s.boundary = a.managedSource(u.Boundary)
		return s, true
	case strings.HasPrefix(res, "group/"):
		g := a.groups[name]
		if g == nil || g.arn != arn {
			return nil, false
		}
		s := &simSubject{principal: policy.Principal{Type: policy.User, ARN: arn, Account: c.acct}}
		s.identity = append(inlineSources("group", g.inline, g.Inline), a.managedSources(g.Attached)...)
		return s, true
	case strings.HasPrefix(res, "role/"):
		r := a.roles[name]
		if r == nil || r.arn != arn {
			return nil, false
		}
		s := &simSubject{principal: policy.Principal{Type: policy.Role, ARN: arn, Account: c.acct, UserID: r.ID, RoleARN: arn}}
		s.identity = append(inlineSources("role", r.inline, r.Inline), a.managedSources(r.Attached)...)
		s.boundary = a.managedSource(r.Boundary)
		return s, true
	}
	return nil, false
}

// inputPolicies parses PolicyInputList (or another list of documents).
func (c *apiCall) inputPolicies(param string) ([]source, error) {
	var out []source
	for i, doc := range c.members(param) {
		p, err := policy.ParseIdentity(doc)
		if err != nil {
			return nil, malformed(err)
		}
		out = append(out, source{doc: p, id: param + "." + strconv.Itoa(i+1), typ: "none", text: doc})
	}
	return out, nil
}

// contextEntries reads ContextEntries.member.N.{ContextKeyName,
// ContextKeyValues.member.M, ContextKeyType}.
func (c *apiCall) contextEntries() (policy.Context, error) {
	ctx := policy.Context{}
	for i := 1; ; i++ {
		k := "ContextEntries.member." + strconv.Itoa(i)
		if !c.has(k + ".ContextKeyName") {
			return ctx, nil
		}
		name := c.str(k + ".ContextKeyName")
		if name == "" {
			return nil, constraintErr("", "contextEntries.member."+strconv.Itoa(i)+".member.contextKeyName", "Member must not be null")
		}
		ctx.Set(name, c.members(k+".ContextKeyValues")...)
	}
}

type positionXML struct {
	Line   int
	Column int
}

type statementXML struct {
	SourcePolicyId   string
	SourcePolicyType string
	StartPosition    *positionXML `xml:",omitempty"`
	EndPosition      *positionXML `xml:",omitempty"`
}

type evalResultXML struct {
	EvalActionName       string
	EvalResourceName     string
	EvalDecision         string
	MatchedStatements    list[statementXML]
	MissingContextValues list[string]
}

func simulatePrincipalPolicy(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicySourceArn")
	if err != nil {
		return nil, err
	}
	actions := c.members("ActionNames")
	if len(actions) == 0 {
		return nil, constraintErr("", "actionNames", "Member must not be null")
	}
	resources := c.members("ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	extra, err := c.inputPolicies("PolicyInputList")
	if err != nil {
		return nil, err
	}
	boundaries, err := c.inputPolicies("PermissionsBoundaryPolicyInputList")
	if err != nil {
		return nil, err
	}
	ctxKeys, err := c.contextEntries()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:SimulatePrincipalPolicy", arn); err != nil {
		return nil, err
	}
	var subj *simSubject
	var found bool
	c.s.read(func(ix *index) { subj, found = c.subject(ix.account(c.acct), arn) })
	if !found {
		return nil, noSuchEntity("The entity with ARN %s cannot be found.", arn)
	}
	sources := append(subj.identity, extra...)
	in := policy.Inputs{}
	for _, s := range sources {
		in.Identity = append(in.Identity, s.doc)
	}
	switch {
	case len(boundaries) > 0:
		// A boundary passed in replaces the principal's own, as in AWS.
		in.PermissionsBoundary = boundaries[0].doc
		sources = append(sources, boundaries[0])
	case subj.boundary != nil:
		in.PermissionsBoundary = subj.boundary.doc
		sources = append(sources, *subj.boundary)
	}
	bySource := map[*policy.Policy]source{}
	for _, s := range sources {
		bySource[s.doc] = s
	}
	missing := missingKeys(sources, ctxKeys)

	out := struct {
		EvaluationResults list[evalResultXML]
		page
	}{}
	for _, action := range actions {
		for _, res := range resources {
			req := policy.Request{Principal: subj.principal, Action: action, Resource: res, Context: ctxKeys, Time: c.now}
			d := policy.Evaluate(req, in)
			r := evalResultXML{EvalActionName: action, EvalResourceName: res, EvalDecision: evalDecision(d),
				MissingContextValues: list[string]{missing}}
			for _, m := range d.Matched {
				s, ok := bySource[m.Policy]
				if !ok || (!d.Allowed && d.Reason != policy.ExplicitDeny) {
					continue
				}
				st := statementXML{SourcePolicyId: s.id, SourcePolicyType: s.typ}
				if spans := statementSpans(s.text); m.Index < len(spans) {
					st.StartPosition, st.EndPosition = &spans[m.Index][0], &spans[m.Index][1]
				}
				r.MatchedStatements.Member = append(r.MatchedStatements.Member, st)
			}
			out.EvaluationResults.Member = append(out.EvaluationResults.Member, r)
		}
	}
	return out, nil
}

func evalDecision(d policy.Decision) string {
	switch {
	case d.Allowed:
		return "allowed"
	case d.Reason == policy.ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// derivedKeys are the keys the engine fills in from the request, which a
// simulation needs no value for.
var derivedKeys = []string{"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username",
	"aws:userid", "aws:currenttime", "aws:epochtime"}

// contextKeys lists the condition keys the policies read, each once.
func contextKeys(sources []source) []string {
	var out []string
	for _, s := range sources {
		for _, k := range s.doc.ContextKeys() {
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, k) }) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// missingKeys lists the condition keys the policies read that the caller
// gave no value for and the engine cannot derive.
func missingKeys(sources []source, given policy.Context) []string {
	var out []string
	for _, k := range contextKeys(sources) {
		if given.Get(k) == nil && !slices.Contains(derivedKeys, strings.ToLower(k)) {
			out = append(out, k)
		}
	}
	return out
}

// statementSpans returns the start and end (1-based line and column) of each
// statement of a policy document, in order, for MatchedStatements.
func statementSpans(doc string) [][2]positionXML {
	dec := json.NewDecoder(strings.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "Statement" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		var spans [][2]positionXML
		one := func() bool {
			// InputOffset is just past the ':' or ',' before the value.
			start := int(dec.InputOffset())
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return false
			}
			end := int(dec.InputOffset())
			for start < end && strings.ContainsRune(" \t\r\n,:", rune(doc[start])) {
				start++
			}
			spans = append(spans, [2]positionXML{position(doc, start), position(doc, end)})
			return true
		}
		// Peek: a list of statements or a single one.
		rest := strings.TrimLeft(doc[dec.InputOffset():], " \t\r\n:")
		if strings.HasPrefix(rest, "[") {
			if _, err := dec.Token(); err != nil {
				return nil
			}
			for dec.More() {
				if !one() {
					return nil
				}
			}
		} else if !one() {
			return nil
		}
		return spans
	}
	return nil
}

func position(doc string, offset int) positionXML {
	line := 1 + strings.Count(doc[:offset], "\n")
	col := offset - strings.LastIndexByte(doc[:offset], '\n')
	return positionXML{Line: line, Column: col}
}

func getContextKeysForPrincipalPolicy(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicySourceArn")
	if err != nil {
		return nil, err
	}
	extra, err := c.inputPolicies("PolicyInputList")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetContextKeysForPrincipalPolicy", arn); err != nil {
		return nil, err
	}
	var subj *simSubject
	var found bool
	c.s.read(func(ix *index) { subj, found = c.subject(ix.account(c.acct), arn) })
	if !found {
		return nil, noSuchEntity("The entity with ARN %s cannot be found.", arn)
	}
	return struct{ ContextKeyNames list[string] }{list[string]{contextKeys(append(subj.identity, extra...))}}, nil
}
