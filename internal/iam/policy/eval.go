package policy

import (
	"strings"
	"time"
)

// Request is one authorization question: may Principal perform Action on
// Resource?
type Request struct {
	Principal Principal
	// Action is "service:Operation", e.g. "lambda:InvokeFunction".
	Action string
	// Resource is the ARN the operation acts on (the qualified function ARN for
	// a qualified call), or "*" for operations without resource-level
	// permissions such as ec2:DescribeVpcs.
	Resource string
	// ResourceAccount owns the resource; "" means the principal's own account.
	// A different account makes the request cross-account: then both the
	// identity side and the resource-based policy must allow.
	ResourceAccount string
	Context         Context
	// Time is the request time for aws:CurrentTime and aws:EpochTime when the
	// Context does not hold them; zero means now.
	Time time.Time
}

// Inputs are the policies that apply to a request, gathered by the caller.
type Inputs struct {
	// Identity holds the principal's identity-based policies: inline and
	// attached managed policies of the user or role and of the user's groups.
	Identity []*Policy
	// PermissionsBoundary is the user's or role's boundary, nil if none.
	PermissionsBoundary *Policy
	// Session holds the session policies passed to AssumeRole (inline and
	// managed); empty if none were passed.
	Session []*Policy
	// Resource is the resource-based policy of the resource (a Lambda function
	// policy, a role trust policy), nil if it has none.
	Resource *Policy
	// Endpoint is the policy of the VPC endpoint the request came through, nil
	// when it did not come through one.
	Endpoint *Policy
	// IsRoot says the caller is the account's root user, which identity
	// policies cannot restrict: the identity side counts as allowing.
	IsRoot bool
	// ResourceMustAllow makes an Allow from the resource-based policy
	// necessary even within one account, as for role trust policies (and KMS
	// key policies), which "must explicitly allow access for principals".
	ResourceMustAllow bool
}

// Reason says why a Decision came out as it did.
type Reason uint8

// Reasons. Each denial names the first policy type, in evaluation order,
// that did not allow.
const (
	Allowed Reason = iota
	ExplicitDeny
	NoEndpointAllow
	NoIdentityAllow
	NoBoundaryAllow
	NoSessionAllow
	NoResourceAllow
)

func (r Reason) String() string {
	switch r {
	case Allowed:
		return "Allowed"
	case ExplicitDeny:
		return "ExplicitDeny"
	case NoEndpointAllow:
		return "NoEndpointAllow"
	case NoIdentityAllow:
		return "NoIdentityAllow"
	case NoBoundaryAllow:
		return "NoBoundaryAllow"
	case NoSessionAllow:
		return "NoSessionAllow"
	case NoResourceAllow:
		return "NoResourceAllow"
	}
	return "Reason(?)"
}

// PolicyKind says which of the Inputs a statement came from.
type PolicyKind uint8

// Policy kinds, in the order explicit denies are reported.
const (
	IdentityPolicy PolicyKind = iota
	BoundaryPolicy
	SessionPolicy
	ResourcePolicy
	EndpointPolicy
)

func (k PolicyKind) String() string {
	switch k {
	case IdentityPolicy:
		return "identity-based policy"
	case BoundaryPolicy:
		return "permissions boundary"
	case SessionPolicy:
		return "session policy"
	case ResourcePolicy:
		return "resource-based policy"
	case EndpointPolicy:
		return "VPC endpoint policy"
	}
	return "policy"
}

// StatementRef points at a statement that applied to the request.
type StatementRef struct {
	Kind   PolicyKind
	Policy *Policy
	Index  int // into Policy.Statements
	Sid    string
	Effect Effect
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed bool
	Reason  Reason
	// DeniedBy is, for ExplicitDeny, the kind of policy whose Deny applied.
	DeniedBy PolicyKind
	// Matched lists the statements behind the outcome: the Deny statements
	// that applied for an explicit deny, otherwise the Allow statements that
	// applied (for an implicit deny, those that were not enough).
	Matched []StatementRef
}

type verdict struct {
	deny, allow bool
	grant       grant // best grant among the Allow statements that applied
}

// Evaluate decides req the way AWS's enforcement code does:
//
//  1. an applicable Deny in any policy denies;
//  2. a request through a VPC endpoint needs an Allow in the endpoint policy;
//  3. within one account, the union of the identity side (identity policies,
//     limited by the permissions boundary and session policies) and the
//     resource-based policy decides, where what a resource policy Allow
//     overrides depends on how it names the caller: naming the caller itself
//     needs nothing else, naming the role of a role session is still limited
//     by the boundary and session policies, naming only the account needs the
//     identity side as well;
//  4. across accounts both the identity side and the resource-based policy
//     must allow;
//  5. everything else is implicitly denied.
//
// Service, federated and anonymous callers have no identity side: only the
// resource-based policy can allow them.
func Evaluate(req Request, in Inputs) Decision {
	return evaluate(&req, &in, true)
}

// Check decides like Evaluate but leaves Decision.Matched nil. It allocates
// nothing, for the authorization that runs on every API call; Evaluate is for
// callers that show which statements decided (SimulatePrincipalPolicy).
func Check(req Request, in Inputs) Decision {
	return evaluate(&req, &in, false)
}

func evaluate(req *Request, in *Inputs, record bool) Decision {
	st := evalState{req: req, boundary: in.PermissionsBoundary != nil, record: record}
	var d Decision
	id := st.evalList(in.Identity, IdentityPolicy, &d)
	var bd, ss, rs, ep verdict
	if in.PermissionsBoundary != nil {
		bd = st.evalPolicy(in.PermissionsBoundary, BoundaryPolicy, &d)
	}
	if len(in.Session) > 0 {
		ss = st.evalList(in.Session, SessionPolicy, &d)
	}
	if in.Resource != nil {
		rs = st.evalPolicy(in.Resource, ResourcePolicy, &d)
	}
	if in.Endpoint != nil {
		ep = st.evalPolicy(in.Endpoint, EndpointPolicy, &d)
	}

	for _, v := range [...]struct {
		deny bool
		kind PolicyKind
	}{{id.deny, IdentityPolicy}, {bd.deny, BoundaryPolicy}, {ss.deny, SessionPolicy}, {rs.deny, ResourcePolicy}, {ep.deny, EndpointPolicy}} {
		if v.deny {
			d.Reason, d.DeniedBy = ExplicitDeny, v.kind
			d.keep(Deny)
			return d
		}
	}
	d.keep(Allow)
	d.Reason = st.decide(in, id, bd, ss, rs, ep)
	d.Allowed = d.Reason == Allowed
	return d
}

func (st *evalState) decide(in *Inputs, id, bd, ss, rs, ep verdict) Reason {
	if in.Endpoint != nil && !ep.allow {
		return NoEndpointAllow
	}
	p := &st.req.Principal
	if p.Type == Service || p.Type == Anonymous || p.Type == Federated {
		if rs.grant == grantNone {
			return NoResourceAllow
		}
		return Allowed
	}
	// The identity side: identity policies, then the limits on them.
	identity := Allowed
	switch {
	case !in.IsRoot && !id.allow:
		identity = NoIdentityAllow
	case in.PermissionsBoundary != nil && !bd.allow:
		identity = NoBoundaryAllow
	case len(in.Session) > 0 && !ss.allow:
		identity = NoSessionAllow
	}
	if in.ResourceMustAllow && rs.grant == grantNone {
		return NoResourceAllow
	}
	if st.req.ResourceAccount != "" && st.req.ResourceAccount != p.Account {
		if identity != Allowed {
			return identity
		}
		if rs.grant == grantNone {
			return NoResourceAllow
		}
		return Allowed
	}
	switch rs.grant {
	case grantDirect:
		return Allowed
	case grantRole:
		switch {
		case in.PermissionsBoundary != nil && !bd.allow:
			return NoBoundaryAllow
		case len(in.Session) > 0 && !ss.allow:
			return NoSessionAllow
		}
		return Allowed
	}
	return identity
}

// keep trims Matched to the statements of one effect, in place.
func (d *Decision) keep(e Effect) {
	n := 0
	for _, r := range d.Matched {
		if r.Effect == e {
			d.Matched[n] = r
			n++
		}
	}
	if n == 0 {
		d.Matched = nil
		return
	}
	d.Matched = d.Matched[:n]
}

func (st *evalState) evalList(ps []*Policy, kind PolicyKind, d *Decision) verdict {
	var v verdict
	for _, p := range ps {
		if p == nil {
			continue
		}
		pv := st.evalPolicy(p, kind, d)
		v.deny = v.deny || pv.deny
		v.allow = v.allow || pv.allow
		if pv.grant > v.grant {
			v.grant = pv.grant
		}
	}
	return v
}

func (st *evalState) evalPolicy(p *Policy, kind PolicyKind, d *Decision) verdict {
	var v verdict
	principals := kind == ResourcePolicy || kind == EndpointPolicy
	for i := range p.Statements {
		s := &p.Statements[i]
		g, ok := st.applies(s, principals)
		if !ok {
			continue
		}
		if s.Effect == Deny {
			v.deny = true
		} else {
			v.allow = true
			if g > v.grant {
				v.grant = g
			}
		}
		if !st.record {
			continue
		}
		if d.Matched == nil {
			d.Matched = make([]StatementRef, 0, 4)
		}
		d.Matched = append(d.Matched, StatementRef{Kind: kind, Policy: p, Index: i, Sid: s.Sid, Effect: s.Effect})
	}
	return v
}

// applies reports whether statement s applies to the request and, for
// resource-based and endpoint policies, how it names the caller.
func (st *evalState) applies(s *Statement, principals bool) (grant, bool) {
	c := &s.c
	if !c.matchAction(st.req.Action) {
		return grantNone, false
	}
	if !c.matchResource(st) {
		return grantNone, false
	}
	g := grantDirect
	if principals {
		p := &st.req.Principal
		switch {
		case c.principal != nil && !c.notPrincipal:
			if g = c.principal.match(p); g == grantNone {
				return grantNone, false
			}
		case c.principal != nil:
			// The IAM user guide: a Deny with NotPrincipal always denies a
			// principal that has a permissions boundary, whatever it lists.
			boundaryQuirk := s.Effect == Deny && st.boundary && isIAMPrincipal(p.Type)
			if !boundaryQuirk && c.principal.excludes(p) {
				return grantNone, false
			}
		}
	}
	for i := range c.conds {
		ok, resolved := c.conds[i].eval(st)
		if !ok || !resolved {
			return grantNone, false
		}
	}
	return g, true
}

// compiled is a statement's matchers.
type compiled struct {
	actions     []pattern
	notAction   bool
	resources   []arnPattern
	notResource bool
	// noResource: the statement has neither element (trust policies).
	noResource   bool
	principal    *principalSet
	notPrincipal bool
	conds        []cond
}

func compileStatement(s *Statement, vars bool) {
	c := &s.c
	acts := s.Action
	if s.NotAction != nil {
		acts, c.notAction = s.NotAction, true
	}
	for _, a := range acts {
		c.actions = append(c.actions, compilePattern(strings.ToLower(a), true, false))
	}
	res := s.Resource
	switch {
	case s.NotResource != nil:
		res, c.notResource = s.NotResource, true
	case s.Resource == nil:
		c.noResource = true
	}
	varsAt := 6
	if vars {
		varsAt = 5
	}
	for _, r := range res {
		c.resources = append(c.resources, compileARNPattern(r, varsAt))
	}
	switch {
	case s.Principal != nil:
		c.principal = compilePrincipals(s.Principal)
	case s.NotPrincipal != nil:
		c.principal, c.notPrincipal = compilePrincipals(s.NotPrincipal), true
	}
	for i := range s.Condition {
		c.conds = append(c.conds, compileCondition(&s.Condition[i], vars))
	}
}

// matchAction compares case-insensitively, as IAM does for actions.
func (c *compiled) matchAction(action string) bool {
	for i := range c.actions {
		if m, _ := c.actions[i].match(action, caseLower, nil); m {
			return !c.notAction
		}
	}
	return c.notAction
}

func (c *compiled) matchResource(st *evalState) bool {
	if c.noResource {
		return true
	}
	for i := range c.resources {
		if c.resources[i].all {
			return !c.notResource
		}
		if !st.resSplit {
			st.resParts, st.resSplit = splitARN(st.req.Resource), true
		}
		m, resolved := c.resources[i].matchParts(&st.resParts, st)
		if !resolved {
			// A resource whose variable has no value matches nothing.
			continue
		}
		if m {
			return !c.notResource
		}
	}
	return c.notResource
}
