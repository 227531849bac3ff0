package lambda

import (
	"context"
	"net/http"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// lambdaPrincipal is the service principal execution roles must trust.
const lambdaPrincipal = "lambda.amazonaws.com"

// checkRole refuses a role Lambda cannot assume: missing, or not trusting
// lambda.amazonaws.com.
func (s *Service) checkRole(c caller, role string) error {
	if s.cfg.Roles == nil {
		return nil
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := s.cfg.Roles.CheckAssumableBy(ctx, role, lambdaPrincipal); err != nil {
		return errInvalidParameter("The role defined for the function cannot be assumed by Lambda.")
	}
	return nil
}

// named resolves a function name and checks that the caller may perform
// action on the (unqualified) function.
func (s *Service) named(c caller, name, action string, namespaced bool) (target, error) {
	t, err := parseFunctionName(name, c.Account, c.Region, namespaced)
	if err != nil {
		return target{}, err
	}
	return t, s.authorize(c, action, target{id: t.id})
}

// namedQualified resolves a function name and qualifier and checks that the
// caller may perform action on that version or alias.
func (s *Service) namedQualified(c caller, name, qualifier, action string, namespaced bool) (target, error) {
	t, err := parseFunctionName(name, c.Account, c.Region, namespaced)
	if err != nil {
		return target{}, err
	}
	if t, err = t.withQualifier(qualifier); err != nil {
		return target{}, err
	}
	return t, s.authorize(c, action, t)
}

// authorize asks IAM whether the caller may perform action on the function
// (qualified when t has a qualifier), with the function's resource policy
// for that qualifier. Calls lambdaplane makes itself (async retries) carry no
// principal and were authorized when accepted.
func (s *Service) authorize(c caller, action string, t target) error {
	return s.authorizeWith(c, action, t, nil)
}

// authorizeWith is authorize with more condition keys (lambda:VpcIds, ...).
func (s *Service) authorizeWith(c caller, action string, t target, keys policy.Context) error {
	if c.principal == nil || s.cfg.Authorizer == nil {
		if t.id.Account != c.Account {
			return errFunctionNotFound(t.id.qualifiedARN(t.qualifier))
		}
		return nil
	}
	s.mu.RLock()
	var rp *policy.Policy
	if st := s.fns[t.id]; st != nil {
		rp = st.policies[t.qualifier]
	}
	s.mu.RUnlock()
	ctx := policy.Context{"lambda:functionarn": {t.id.arn()}}
	for k, v := range keys {
		ctx[k] = v
	}
	return s.check(c, iam.Check{Action: action, Resource: t.id.qualifiedARN(t.qualifier), ResourceAccount: t.id.Account, ResourcePolicy: rp,
		Context: ctx})
}

// authorizeAccount checks an action that has no resource (ListFunctions, GetAccountSettings).
func (s *Service) authorizeAccount(c caller, action string) error {
	if c.principal == nil || s.cfg.Authorizer == nil {
		return nil
	}
	return s.check(c, iam.Check{Action: action, Resource: "*"})
}

// authorizePassRole checks that the caller may hand a role to Lambda.
func (s *Service) authorizePassRole(c caller, role string) error {
	if c.principal == nil || s.cfg.Authorizer == nil {
		return nil
	}
	return s.check(c, iam.Check{Action: "iam:PassRole", Resource: role})
}

func (s *Service) check(c caller, chk iam.Check) error {
	d, req := s.cfg.Authorizer.Authorize(c.ctx, *c.principal, chk)
	if d.Allowed {
		return nil
	}
	e := awswire.Errorf(http.StatusForbidden, "AccessDeniedException", "%s", policy.DenialMessage(req, d, policy.StyleStandard))
	e.MessageKey = "Message"
	e.OmitType = true
	return e
}
