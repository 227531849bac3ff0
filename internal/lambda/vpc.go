package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// VPCNetwork is what Lambda needs of EC2 to connect functions to VPCs:
// checking a VpcConfig, holding and releasing Hyperplane interfaces, and
// adding one to a subnet whose interfaces are busy.
type VPCNetwork interface {
	ResolveLambdaVpc(acct, region string, subnetIDs, groupIDs []string) (string, error)
	AcquireLambdaENIs(acct, region, holder, requesterID, functionName string, subnetIDs, groupIDs []string) ([]ec2.LambdaENI, error)
	ReleaseLambdaENIs(acct, region, holder string) error
	LambdaENIsOf(acct, region, holder string) []ec2.LambdaENI
	AddLambdaENI(acct, region, subnetID string, groupIDs []string) (ec2.LambdaENI, error)
}

// VpcConfig is a function version's connection to a VPC. A function that
// was never connected has none; a disconnected one keeps empty lists.
type VpcConfig struct {
	SubnetIDs               []string `json:"subnets"`
	SecurityGroupIDs        []string `json:"groups"`
	VpcID                   string   `json:"vpc"`
	Ipv6AllowedForDualStack bool     `json:"ipv6,omitempty"`
}

func (v *VpcConfig) connected() bool { return v != nil && len(v.SubnetIDs) > 0 }

// sameNetwork reports whether two configurations use the same interfaces.
func (v *VpcConfig) sameNetwork(o *VpcConfig) bool {
	if !v.connected() || !o.connected() {
		return v.connected() == o.connected()
	}
	return slices.Equal(sortedCopy(v.SubnetIDs), sortedCopy(o.SubnetIDs)) &&
		slices.Equal(sortedCopy(v.SecurityGroupIDs), sortedCopy(o.SecurityGroupIDs))
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

type vpcConfigOut struct {
	SubnetIDs               []string `json:"SubnetIds"`
	SecurityGroupIDs        []string `json:"SecurityGroupIds"`
	VpcID                   string   `json:"VpcId"`
	Ipv6AllowedForDualStack bool     `json:"Ipv6AllowedForDualStack"`
}

func renderVpc(v *VpcConfig) *vpcConfigOut {
	if v == nil {
		return nil
	}
	out := &vpcConfigOut{SubnetIDs: v.SubnetIDs, SecurityGroupIDs: v.SecurityGroupIDs, VpcID: v.VpcID, Ipv6AllowedForDualStack: v.Ipv6AllowedForDualStack}
	if out.SubnetIDs == nil {
		out.SubnetIDs = []string{}
	}
	if out.SecurityGroupIDs == nil {
		out.SecurityGroupIDs = []string{}
	}
	return out
}

const (
	patSubnetID = "subnet-[0-9a-z]*"
	patGroupID  = "sg-[0-9a-zA-Z]*"
)

var (
	reSubnetID = anchored(patSubnetID)
	reGroupID  = anchored(patGroupID)
)

// eniActions are what an execution role must be allowed for Lambda to
// manage a function's interfaces, in the order Lambda checks them.
var eniActions = []string{"CreateNetworkInterface", "DescribeNetworkInterfaces", "DeleteNetworkInterface"}

// checkVpcConfig validates a VpcConfig as CreateFunction and
// UpdateFunctionConfiguration do, and returns what to store: its shape, the
// caller's permission to describe the resources, the execution role's
// permission to manage interfaces, and EC2's view of the resources.
func (s *Service) checkVpcConfig(c caller, role string, in *vpcConfigInput) (*VpcConfig, error) {
	var v validator
	listField(&v, "vpcConfig.subnetIds", in.SubnetIDs, 16, reSubnetID, patSubnetID)
	listField(&v, "vpcConfig.securityGroupIds", in.SecurityGroupIDs, 5, reGroupID, patGroupID)
	if err := v.err(); err != nil {
		return nil, err
	}
	if (len(in.SubnetIDs) == 0) != (len(in.SecurityGroupIDs) == 0) {
		return nil, errInvalidParameter("SubnetIds and SecurityIds must coexist or be both empty list.")
	}
	out := &VpcConfig{SubnetIDs: dedupe(in.SubnetIDs), SecurityGroupIDs: dedupe(in.SecurityGroupIDs), Ipv6AllowedForDualStack: in.Ipv6AllowedForDualStack != nil && *in.Ipv6AllowedForDualStack}
	if !out.connected() {
		out.SubnetIDs, out.SecurityGroupIDs = []string{}, []string{}
		return out, nil
	}
	if out.Ipv6AllowedForDualStack {
		return nil, errInvalidParameter("Ipv6AllowedForDualStack is not supported by lambdaplane yet.")
	}
	if s.cfg.VPC == nil {
		return nil, errInvalidParameter("VpcConfig needs the EC2 service, which this server does not run.")
	}
	for _, g := range out.SecurityGroupIDs {
		if err := s.callerMayDescribe(c, "DescribeSecurityGroups", g); err != nil {
			return nil, err
		}
	}
	for _, sn := range out.SubnetIDs {
		if err := s.callerMayDescribe(c, "DescribeSubnets", sn); err != nil {
			return nil, err
		}
	}
	if s.cfg.Roles != nil {
		ctx := c.ctxOrBackground()
		for _, a := range eniActions {
			if !s.cfg.Roles.RoleAllows(ctx, role, "ec2:"+a, "*") {
				return nil, errInvalidParameter("The provided execution role does not have permissions to call %s on EC2", a)
			}
		}
	}
	vpcID, err := s.cfg.VPC.ResolveLambdaVpc(c.Account, c.Region, out.SubnetIDs, out.SecurityGroupIDs)
	if err != nil {
		var ce *ec2.VpcConfigError
		var p *ec2.VpcConfigProblem
		switch {
		case errors.As(err, &ce), errors.As(err, &p):
			return nil, errInvalidParameter("%s", err.Error())
		}
		return nil, err
	}
	if err := s.callerMayDescribe(c, "DescribeVpcs", vpcID); err != nil {
		return nil, err
	}
	out.VpcID = vpcID
	return out, nil
}

func (c caller) ctxOrBackground() context.Context {
	if c.ctx != nil {
		return c.ctx
	}
	return context.Background()
}

// callerMayDescribe asks whether the caller may make the EC2 Describe call
// Lambda makes on its behalf, and words a refusal as Lambda passes EC2's on.
func (s *Service) callerMayDescribe(c caller, op, id string) error {
	if c.principal == nil || s.cfg.Authorizer == nil {
		return nil
	}
	d, _ := s.cfg.Authorizer.Authorize(c.ctxOrBackground(), *c.principal, iam.Check{Action: "ec2:" + op, Resource: "*"})
	if d.Allowed {
		return nil
	}
	return awswire.Errorf(http.StatusForbidden, "AccessDeniedException",
		"Your access has been denied by EC2, please make sure your request credentials have permission to %s for %s. EC2 Error Code: UnauthorizedOperation. EC2 Error Message: You are not authorized to perform this operation.", op, id)
}

// listField checks a list of ids: its length and each member's pattern,
// reported as Lambda's Coral validation words them.
func listField(v *validator, field string, ids []string, max int, re *regexp.Regexp, pat string) {
	value := "[" + strings.Join(ids, ", ") + "]"
	if len(ids) > max {
		v.add(value, field, fmt.Sprintf("Member must have length less than or equal to %d", max))
		return
	}
	for _, id := range ids {
		if len(id) > 1024 || !re.MatchString(id) {
			v.add(value, field, "Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: "+pat+"]")
			return
		}
	}
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// eniHolder names a function version's use of interfaces: the version and
// its network, so that $LATEST moving to another network holds the new
// interfaces before it lets go of the old ones.
func eniHolder(id fnID, c *Config) string {
	sum := sha256.Sum256([]byte(strings.Join(sortedCopy(c.VPC.SubnetIDs), ",") + "|" + strings.Join(sortedCopy(c.VPC.SecurityGroupIDs), ",")))
	return id.arn() + ":" + c.Version + "#" + hex.EncodeToString(sum[:6])
}

// connectVpc gives a configuration its interfaces, after the configured
// creation delay; the error carries the reason code the function fails with.
func (s *Service) connectVpc(id fnID, c *Config) (reason string, err error) {
	if !c.VPC.connected() || s.cfg.VPC == nil {
		return "", nil
	}
	if d := s.cfg.EniCreateDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-s.ctx.Done():
			return "", errStopped
		}
	}
	requester := id.Name
	if s.cfg.Roles != nil {
		if rid := s.cfg.Roles.RoleID(context.Background(), c.Role); rid != "" {
			requester = rid + ":" + id.Name
		}
	}
	if s.cfg.Roles != nil {
		for _, a := range eniActions {
			if !s.cfg.Roles.RoleAllows(context.Background(), c.Role, "ec2:"+a, "*") {
				return "InsufficientRolePermissions", fmt.Errorf("The function's execution role does not have permissions to call %s on EC2.", a)
			}
		}
	}
	_, err = s.cfg.VPC.AcquireLambdaENIs(id.Account, id.Region, eniHolder(id, c), requester, id.Name, c.VPC.SubnetIDs, c.VPC.SecurityGroupIDs)
	var ee *ec2.ENIError
	if errors.As(err, &ee) {
		return ee.Reason, err
	}
	if err != nil {
		return "InternalError", err
	}
	return "", nil
}

// disconnectVpc releases what a configuration held.
func (s *Service) disconnectVpc(id fnID, c *Config) {
	if s.cfg.VPC == nil || c == nil || !c.VPC.connected() {
		return
	}
	if err := s.cfg.VPC.ReleaseLambdaENIs(id.Account, id.Region, eniHolder(id, c)); err != nil {
		s.log.Error("release function network interfaces", "function", id.arn(), "version", c.Version, "err", err)
	}
}

// vpcKeys are the condition keys CreateFunction and
// UpdateFunctionConfiguration carry when the request has a VpcConfig, so
// that policies can require (or forbid) VPCs, subnets and groups.
func vpcKeys(v *VpcConfig) policy.Context {
	if v == nil {
		return nil
	}
	ctx := policy.Context{"lambda:subnetids": v.SubnetIDs, "lambda:securitygroupids": v.SecurityGroupIDs}
	if v.VpcID != "" {
		ctx["lambda:vpcids"] = []string{v.VpcID}
	}
	return ctx
}
