package iam

import (
	"context"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// Check is one authorization question a service asks: may the caller
// perform Action on Resource?
type Check struct {
	Action string // "lambda:InvokeFunction"
	// Resource is the ARN the action applies to, or "*" for actions without
	// resource-level permissions (ListFunctions, DescribeVpcs, ...).
	Resource string
	// ResourceAccount owns the resource; "" means the caller's account.
	ResourceAccount string
	// ResourcePolicy is the resource's own policy (a Lambda function's
	// policy), nil when it has none.
	ResourcePolicy *policy.Policy
	// Endpoint is the policy of the VPC endpoint the request came through,
	// nil when it did not come through one.
	Endpoint *policy.Policy
	// Context adds service condition keys (lambda:FunctionArn, ...); the
	// global keys (aws:SourceIp, aws:SecureTransport, aws:RequestedRegion,
	// aws:CurrentTime, principal keys) are filled in by the Authorizer.
	Context policy.Context
}

// Authorizer answers Checks for the principal of a verified request. The
// account root is allowed everything in its own account without policies,
// as on AWS. The returned Request is what was evaluated, for building the
// denial message with policy.DenialMessage.
type Authorizer interface {
	Authorize(ctx context.Context, p gateway.Principal, c Check) (policy.Decision, policy.Request)
}

// ServiceRoles is what a service that acts with a customer's role needs:
// Lambda running functions with their execution role.
type ServiceRoles interface {
	// AssumeRoleForService returns temporary credentials of roleARN for
	// servicePrincipal (e.g. "lambda.amazonaws.com"), if the role exists and
	// its trust policy lets that service assume it; otherwise an error
	// (ErrRoleNotAssumable).
	AssumeRoleForService(ctx context.Context, roleARN, servicePrincipal, sessionName string) (gateway.Credential, error)
	// CheckAssumableBy answers the same question without creating a session
	// (for validating a function's role when it is created or updated).
	CheckAssumableBy(ctx context.Context, roleARN, servicePrincipal string) error
	// RoleAllows reports whether the role's own policies (identity policies
	// and permissions boundary) allow action on resource, as they would for
	// a session of the role: Lambda's check that an execution role may
	// manage network interfaces.
	RoleAllows(ctx context.Context, roleARN, action, resource string) bool
	// RoleID is the role's unique id (AROA...), "" if there is no such role.
	RoleID(ctx context.Context, roleARN string) string
}

// ErrRoleNotAssumable is returned by AssumeRoleForService when the role does
// not exist or its trust policy does not allow the service.
var ErrRoleNotAssumable = errRoleNotAssumable{}

type errRoleNotAssumable struct{}

func (errRoleNotAssumable) Error() string { return "the role cannot be assumed by the service" }
