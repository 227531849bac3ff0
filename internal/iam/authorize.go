package iam

import (
	"context"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// Authorize implements Authorizer. It reads only the in-memory index.
func (s *Service) Authorize(ctx context.Context, p gateway.Principal, c Check) (policy.Decision, policy.Request) {
	req, in := s.prepare(ctx, p, &c)
	return policy.Check(req, in), req
}

// prepare builds the engine's request and gathers the policies that apply to
// it, for Authorize, AssumeRole and the simulator.
func (s *Service) prepare(ctx context.Context, p gateway.Principal, c *Check) (policy.Request, policy.Inputs) {
	req := policy.Request{
		Principal:       policyPrincipal(p),
		Action:          c.Action,
		Resource:        c.Resource,
		ResourceAccount: c.ResourceAccount,
		Context:         c.Context,
	}
	if gr := gateway.FromContext(ctx); gr != nil {
		req.Time = gr.Received
		req.Context = withGlobalKeys(c.Context, gr)
	} else {
		req.Time = s.now()
	}
	in := policy.Inputs{Resource: c.ResourcePolicy, Endpoint: c.Endpoint, IsRoot: p.IsRoot}
	if !p.IsRoot {
		s.mu.RLock()
		s.ix.identityInputs(&req, p.AccessKeyID, &in)
		s.mu.RUnlock()
	}
	return req, in
}

// noAllow is the session policy of a session whose managed session policies
// were all deleted: such a session may do nothing, not everything its role may.
var noAllow = func() *policy.Policy {
	p, err := policy.ParseIdentity(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"*","Resource":"*"}]}`)
	if err != nil {
		panic(err)
	}
	return p
}()

// withPrincipalKeys adds the principal's tags (aws:PrincipalTag/KEY) and
// source identity to the request's condition keys. Session tags replace
// the role's tags of the same key, as on AWS; keys are case-insensitive.
func withPrincipalKeys(req *policy.Request, tags, sessionTags []tag, sourceIdentity string) {
	if len(tags)+len(sessionTags) == 0 && sourceIdentity == "" {
		return
	}
	c := make(policy.Context, len(req.Context)+len(tags)+len(sessionTags)+1)
	for k, v := range req.Context {
		c[k] = v
	}
	for _, t := range tags {
		c.Set("aws:PrincipalTag/"+t.Key, t.Value)
	}
	for _, t := range sessionTags {
		c.Set("aws:PrincipalTag/"+t.Key, t.Value)
	}
	if sourceIdentity != "" {
		c.Set("aws:SourceIdentity", sourceIdentity)
	}
	req.Context = c
}

var (
	trueValue  = []string{"true"}
	falseValue = []string{"false"}
)

// withGlobalKeys returns the request's condition keys: the service's plus
// the global keys the gateway knows. The principal and time keys the engine
// derives from the Request itself.
func withGlobalKeys(svc policy.Context, gr *gateway.Request) policy.Context {
	c := make(policy.Context, len(svc)+3)
	for k, v := range svc {
		c[k] = v
	}
	if gr.SourceIP != "" {
		c["aws:sourceip"] = []string{gr.SourceIP}
	}
	if gr.Secure {
		c["aws:securetransport"] = trueValue
	} else {
		c["aws:securetransport"] = falseValue
	}
	if gr.Region != "" {
		c["aws:requestedregion"] = []string{gr.Region}
	}
	return c
}

// policyPrincipal derives the engine's view of a caller from its ARN.
func policyPrincipal(p gateway.Principal) policy.Principal {
	pp := policy.Principal{ARN: p.ARN, Account: p.Account, UserID: p.UserID}
	_, resource, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(p.ARN, "arn:aws:iam::"), "arn:aws:sts::"), ":")
	switch {
	case p.IsRoot:
		pp.Type = policy.Root
	case strings.HasPrefix(resource, "user/"):
		pp.Type = policy.User
		pp.Name = resource[strings.LastIndexByte(resource, '/')+1:]
	case strings.HasPrefix(resource, "assumed-role/"):
		pp.Type = policy.AssumedRole
	case strings.HasPrefix(resource, "role/"):
		pp.Type = policy.Role
	}
	return pp
}

// identityInputs fills in the identity side of a user or role session: its
// policies, boundary and session policy. A principal whose user, role or
// session no longer exists (or was recreated under the same name) gets
// none, so it is denied. Callers hold mu for reading.
func (ix *index) identityInputs(req *policy.Request, accessKey string, in *policy.Inputs) {
	pp := &req.Principal
	a := ix.account(pp.Account)
	switch pp.Type {
	case policy.User:
		u := a.users[pp.Name]
		if u == nil || u.ID != pp.UserID {
			return
		}
		n := len(u.inline) + len(u.Attached)
		for _, g := range u.Groups {
			if gr := a.groups[g]; gr != nil {
				n += len(gr.inline) + len(gr.Attached)
			}
		}
		ids := make([]*policy.Policy, 0, n)
		ids = appendPolicies(ids, a, u.inline, u.Attached)
		for _, g := range u.Groups {
			if gr := a.groups[g]; gr != nil {
				ids = appendPolicies(ids, a, gr.inline, gr.Attached)
			}
		}
		in.Identity = ids
		in.PermissionsBoundary = a.resolve(u.Boundary)
		withPrincipalKeys(req, u.Tags, nil, "")
	case policy.AssumedRole:
		ss := ix.sessions[accessKey]
		if ss == nil || ss.Account != pp.Account || !ss.roleSession() {
			return
		}
		r := a.roles[ss.RoleName]
		if r == nil || r.ID != ss.RoleID {
			return
		}
		pp.RoleARN = r.arn
		in.Identity = appendPolicies(make([]*policy.Policy, 0, len(r.inline)+len(r.Attached)), a, r.inline, r.Attached)
		in.PermissionsBoundary = a.resolve(r.Boundary)
		if ss.policy != nil || len(ss.PolicyArns) > 0 {
			sp := make([]*policy.Policy, 0, 1+len(ss.PolicyArns))
			if ss.policy != nil {
				sp = append(sp, ss.policy)
			}
			for _, arn := range ss.PolicyArns {
				if p := a.resolve(arn); p != nil {
					sp = append(sp, p)
				}
			}
			if len(sp) == 0 {
				sp = append(sp, noAllow)
			}
			in.Session = sp
		}
		withPrincipalKeys(req, r.Tags, ss.Tags, ss.SourceIdentity)
	}
}

func appendPolicies(ids []*policy.Policy, a *acct, inline []named, attached []string) []*policy.Policy {
	for _, n := range inline {
		ids = append(ids, n.doc)
	}
	for _, arn := range attached {
		if p := a.resolve(arn); p != nil {
			ids = append(ids, p)
		}
	}
	return ids
}

// resolve returns the default version of a managed policy, nil if arn is ""
// or names no policy.
func (a *acct) resolve(arn string) *policy.Policy {
	if m := a.managedPolicy(arn); m != nil {
		return m.doc
	}
	return nil
}

// managedPolicy finds an AWS managed policy or one of the account's.
func (a *acct) managedPolicy(arn string) *managed {
	if arn == "" {
		return nil
	}
	if strings.HasPrefix(arn, awsPolicyPrefix) {
		return awsManaged[arn]
	}
	m := a.policies[arn[strings.LastIndexByte(arn, '/')+1:]]
	if m == nil || m.arn != arn {
		return nil
	}
	return m
}
