package ec2

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// Lambda's Hyperplane ENIs: one interface per subnet for each distinct
// (account, subnet, security-group set), shared by every function version
// that uses the combination, and more when the ones it has carry all the
// connections they may (AddLambdaENI). Each user of a combination is a
// holder of every interface it has in the subnet; an interface whose last
// holder leaves is detached (status available, so a user may delete it)
// and deleted by the service after EniDeleteDelay.

// lambdaManagedBy marks Lambda's interfaces (NetworkInterface.ManagedBy).
const lambdaManagedBy = "lambda"

// maxENIsPerVpc is AWS's default quota of network interfaces per VPC,
// which Lambda's share with everything else.
const maxENIsPerVpc = 250

// VpcConfigError is an EC2 error met while Lambda checks a VpcConfig: Op is
// the EC2 call that failed (DescribeSecurityGroups, DescribeSubnets), Code
// and Message are EC2's.
type VpcConfigError struct {
	Op, Code, Message string
}

func (e *VpcConfigError) Error() string {
	return fmt.Sprintf("Error occurred while %s. EC2 Error Code: %s. EC2 Error Message: %s", e.Op, e.Code, e.Message)
}

// VpcConfigProblem is a VpcConfig that names existing resources that cannot
// be used together; Message is Lambda's text.
type VpcConfigProblem struct{ Message string }

func (e *VpcConfigProblem) Error() string { return e.Message }

// ENIError is a failure to give a function its interfaces; Reason is the
// Lambda StateReasonCode it becomes (InvalidSubnet, InvalidSecurityGroup,
// SubnetOutOfIPAddresses, EniLimitExceeded).
type ENIError struct{ Reason, Message string }

func (e *ENIError) Error() string { return e.Message }

// LambdaENI is one interface a holder uses.
type LambdaENI struct {
	ID, SubnetID, PrivateIP string
}

// ResolveLambdaVpc checks a function's VpcConfig as Lambda does when it is
// created or updated: the security groups first, then the subnets (as
// DescribeSecurityGroups and DescribeSubnets would answer), then that they
// share one VPC of default tenancy, and that every subnet that still needs
// an interface for this group set has a free address. It returns the VPC id.
func (s *Service) ResolveLambdaVpc(acct, region string, subnetIDs, groupIDs []string) (string, error) {
	c := s.serviceCall(acct, region)
	var vpcID string
	err := s.read(c, func(t *txn) error {
		groups := make([]*SecurityGroup, 0, len(groupIDs))
		for _, id := range groupIDs {
			g, err := mustFind[*SecurityGroup](c, t, kindSG, id)
			if err != nil {
				return ec2Failure("DescribeSecurityGroups", err)
			}
			groups = append(groups, g)
		}
		subnets := make([]*Subnet, 0, len(subnetIDs))
		for _, id := range subnetIDs {
			sn, err := mustFind[*Subnet](c, t, kindSubnet, id)
			if err != nil {
				return ec2Failure("DescribeSubnets", err)
			}
			subnets = append(subnets, sn)
		}
		vpcID = subnets[0].VpcID
		for _, sn := range subnets[1:] {
			if sn.VpcID != vpcID {
				return &VpcConfigProblem{"Subnets are required to be in the same VPC."}
			}
		}
		for _, g := range groups {
			if g.VpcID != vpcID {
				return &VpcConfigProblem{"Security Groups are required to be in the same VPC."}
			}
		}
		if v, ok := getAs[*Vpc](t, vpcID); ok && v.Tenancy == "dedicated" {
			return &VpcConfigProblem{fmt.Sprintf("Lambda functions can't connect to VPC %s because it has dedicated instance tenancy. Peer it to a VPC with default tenancy and connect the function to that one.", vpcID)}
		}
		used := subnetUsage(t)
		for _, sn := range subnets {
			if len(lambdaENIsFor(t, acct, sn.ID, groupIDs)) == 0 && freeAddrs(sn, used[sn.ID]) <= 0 {
				return &VpcConfigProblem{fmt.Sprintf("The subnet %s is out of IP addresses.", sn.ID)}
			}
		}
		return nil
	})
	return vpcID, err
}

func ec2Failure(op string, err error) error {
	var ae *awswire.Error
	if !errors.As(err, &ae) {
		return err
	}
	return &VpcConfigError{Op: op, Code: ae.Code, Message: ae.Message}
}

// AcquireLambdaENIs gives holder (a function version) the interfaces of
// each subnet for the group set, reusing the account's interfaces for the
// same combination when there are some, and making one otherwise. The
// description of an interface made here names functionName, as AWS's
// descriptions name the function that caused the creation.
func (s *Service) AcquireLambdaENIs(acct, region, holder, requesterID, functionName string, subnetIDs, groupIDs []string) ([]LambdaENI, error) {
	c := s.serviceCall(acct, region)
	groups := sortedSet(groupIDs)
	var out []LambdaENI
	err := s.write(c, func(t *txn) error {
		out = out[:0]
		for _, g := range groups {
			if _, ok := findAs[*SecurityGroup](c, t, kindSG, g); !ok {
				return &ENIError{"InvalidSecurityGroup", fmt.Sprintf("The security group %s of the function's VPC configuration does not exist.", g)}
			}
		}
		for _, id := range subnetIDs {
			sn, ok := findAs[*Subnet](c, t, kindSubnet, id)
			if !ok {
				return &ENIError{"InvalidSubnet", fmt.Sprintf("The subnet %s of the function's VPC configuration does not exist.", id)}
			}
			enis := lambdaENIsFor(t, acct, id, groups)
			if len(enis) == 0 {
				e, err := newLambdaENI(c, t, sn, groups, requesterID, "AWS Lambda VPC ENI-"+functionName)
				if err != nil {
					return err
				}
				enis = append(enis, e)
			}
			for _, e := range enis {
				e = editAs[*NetworkInterface](t, e.ID)
				if !slices.Contains(e.Holders, holder) {
					e.Holders = append(e.Holders, holder)
				}
				e.IdleSince = time.Time{}
				if e.Attachment == nil {
					e.Attachment = lambdaAttachment(c.now)
				}
				out = append(out, LambdaENI{ID: e.ID, SubnetID: e.SubnetID, PrivateIP: e.PrivateIP})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddLambdaENI gives the combination of subnet and group set one more
// interface in the subnet, for when the ones it has carry all the
// connections an interface may. It is made as the first one was (an
// address from the subnet, within the VPC's quota of interfaces) and is
// held by the combination's holders, so that it goes when they all have.
func (s *Service) AddLambdaENI(acct, region, subnetID string, groupIDs []string) (LambdaENI, error) {
	c := s.serviceCall(acct, region)
	groups := sortedSet(groupIDs)
	var out LambdaENI
	err := s.write(c, func(t *txn) error {
		sn, ok := findAs[*Subnet](c, t, kindSubnet, subnetID)
		if !ok {
			return &ENIError{"InvalidSubnet", fmt.Sprintf("The subnet %s of the function's VPC configuration does not exist.", subnetID)}
		}
		var holders []string
		var first *NetworkInterface
		for _, e := range lambdaENIsFor(t, acct, subnetID, groups) {
			if first == nil {
				first = e
			}
			for _, h := range e.Holders {
				if !slices.Contains(holders, h) {
					holders = append(holders, h)
				}
			}
		}
		if len(holders) == 0 {
			// An interface nobody holds would never be reclaimed.
			return fmt.Errorf("no function uses subnet %s with security groups %s", subnetID, strings.Join(groups, ","))
		}
		e, err := newLambdaENI(c, t, sn, groups, first.RequesterID, first.Description)
		if err != nil {
			return err
		}
		e.Holders = holders
		out = LambdaENI{ID: e.ID, SubnetID: e.SubnetID, PrivateIP: e.PrivateIP}
		return nil
	})
	return out, err
}

// ReleaseLambdaENIs drops holder from every interface of the account and
// region; interfaces nobody holds any more are detached and deleted after
// EniDeleteDelay.
func (s *Service) ReleaseLambdaENIs(acct, region, holder string) error {
	c := s.serviceCall(acct, region)
	return s.write(c, func(t *txn) error {
		for _, e := range all[*NetworkInterface](t, kindENI, acct, region) {
			if e.ManagedBy != lambdaManagedBy || !slices.Contains(e.Holders, holder) {
				continue
			}
			e = editAs[*NetworkInterface](t, e.ID)
			e.Holders = slices.DeleteFunc(e.Holders, func(h string) bool { return h == holder })
			if len(e.Holders) == 0 {
				if s.opts.EniDeleteDelay <= 0 {
					t.del(e.ID)
					continue
				}
				e.Attachment, e.IdleSince = nil, c.now
			}
		}
		return nil
	})
}

// LambdaENIsOf lists the interfaces holder uses, oldest first.
func (s *Service) LambdaENIsOf(acct, region, holder string) []LambdaENI {
	var held []*NetworkInterface
	s.read(s.serviceCall(acct, region), func(t *txn) error {
		for _, e := range all[*NetworkInterface](t, kindENI, acct, region) {
			if e.ManagedBy == lambdaManagedBy && slices.Contains(e.Holders, holder) {
				held = append(held, e)
			}
		}
		return nil
	})
	slices.SortFunc(held, olderENI)
	out := make([]LambdaENI, 0, len(held))
	for _, e := range held {
		out = append(out, LambdaENI{ID: e.ID, SubnetID: e.SubnetID, PrivateIP: e.PrivateIP})
	}
	return out
}

func newLambdaENI(c *call, t *txn, sn *Subnet, groups []string, requesterID, description string) (*NetworkInterface, error) {
	n := 0
	t.each(kindENI, func(r resource) bool {
		if r.(*NetworkInterface).VpcID == sn.VpcID {
			n++
		}
		return true
	})
	if n >= maxENIsPerVpc {
		return nil, &ENIError{"EniLimitExceeded", "The elastic network interface limit was reached for the function's VPC."}
	}
	e, err := newENI(c, t, sn, eniSpec{Groups: groups, Description: description,
		InterfaceType: "lambda", RequesterID: requesterID, Managed: true, ManagedBy: lambdaManagedBy})
	if err != nil {
		if strings.HasPrefix(err.Error(), "InsufficientFreeAddressesInSubnet") {
			return nil, &ENIError{"SubnetOutOfIPAddresses", fmt.Sprintf("The subnet %s is out of IP addresses.", sn.ID)}
		}
		return nil, err
	}
	return e, nil
}

func lambdaAttachment(now time.Time) *ENIAttachment {
	return &ENIAttachment{ID: elaAttachPrefix + randHex(17), InstanceOwnerID: "amazon-aws", DeviceIndex: 1, Status: "attached", AttachTime: now}
}

// lambdaENIsFor are the account's Lambda interfaces for a subnet and group
// set, oldest first.
func lambdaENIsFor(t *txn, acct, subnetID string, groups []string) []*NetworkInterface {
	want := sortedSet(groups)
	var out []*NetworkInterface
	t.each(kindENI, func(r resource) bool {
		e := r.(*NetworkInterface)
		if e.ManagedBy == lambdaManagedBy && e.Owner == acct && e.SubnetID == subnetID && slices.Equal(sortedSet(e.Groups), want) {
			out = append(out, e)
		}
		return true
	})
	slices.SortFunc(out, olderENI)
	return out
}

func olderENI(a, b *NetworkInterface) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func sortedSet(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// serviceCall is the call an AWS service makes on an account's behalf.
func (s *Service) serviceCall(acct, region string) *call {
	return &call{s: s, acct: acct, region: region, now: s.now().UTC()}
}

// settleLambdaENIs deletes interfaces nobody held for EniDeleteDelay.
func settleLambdaENIs(s *Service, t *txn) time.Time {
	var next time.Time
	t.each(kindENI, func(r resource) bool {
		e := r.(*NetworkInterface)
		if e.ManagedBy != lambdaManagedBy || len(e.Holders) > 0 || e.IdleSince.IsZero() {
			return true
		}
		due := e.IdleSince.Add(s.opts.EniDeleteDelay)
		if !t.now.Before(due) {
			t.del(e.ID)
		} else if next.IsZero() || due.Before(next) {
			next = due
		}
		return true
	})
	return next
}

func init() { registerSettler(settleLambdaENIs) }
