package lambda

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/ec2"
)

// fakeVPC is EC2's side of one account's Hyperplane interfaces: every
// holder of a combination holds all its interfaces, as in ec2.
type fakeVPC struct {
	mu      sync.Mutex
	enis    map[string][]ec2.LambdaENI // by sorted group set
	holders map[string]string          // holder -> group set
	adds    []string                   // subnet|groups of every AddLambdaENI that made one
	addErr  error
	// addDelay keeps AddLambdaENI busy, as EC2's call takes a while.
	addDelay time.Duration
	n        int
}

func newFakeVPC() *fakeVPC {
	return &fakeVPC{enis: map[string][]ec2.LambdaENI{}, holders: map[string]string{}}
}

func groupKey(groups []string) string { return fmt.Sprint(sortedCopy(groups)) }

func (f *fakeVPC) ResolveLambdaVpc(acct, region string, subnetIDs, groupIDs []string) (string, error) {
	return "vpc-0123456789abcdef0", nil
}

func (f *fakeVPC) newENI(subnet string) ec2.LambdaENI {
	f.n++
	return ec2.LambdaENI{ID: fmt.Sprintf("eni-%d", f.n), SubnetID: subnet, PrivateIP: fmt.Sprintf("10.0.0.%d", f.n)}
}

func (f *fakeVPC) AcquireLambdaENIs(acct, region, holder, requesterID, functionName string, subnetIDs, groupIDs []string) ([]ec2.LambdaENI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := groupKey(groupIDs)
	for _, sn := range subnetIDs {
		if !slices.ContainsFunc(f.enis[k], func(e ec2.LambdaENI) bool { return e.SubnetID == sn }) {
			f.enis[k] = append(f.enis[k], f.newENI(sn))
		}
	}
	f.holders[holder] = k
	return slices.Clone(f.enis[k]), nil
}

func (f *fakeVPC) ReleaseLambdaENIs(acct, region, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.holders, holder)
	return nil
}

func (f *fakeVPC) LambdaENIsOf(acct, region, holder string) []ec2.LambdaENI {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.holders[holder]
	if !ok {
		return nil
	}
	return slices.Clone(f.enis[k])
}

func (f *fakeVPC) AddLambdaENI(acct, region, subnetID string, groupIDs []string) (ec2.LambdaENI, error) {
	f.mu.Lock()
	d := f.addDelay
	f.mu.Unlock()
	time.Sleep(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return ec2.LambdaENI{}, f.addErr
	}
	k := groupKey(groupIDs)
	if len(f.enis[k]) == 0 {
		return ec2.LambdaENI{}, errors.New("no function uses the combination")
	}
	e := f.newENI(subnetID)
	f.enis[k] = append(f.enis[k], e)
	f.adds = append(f.adds, subnetID+"|"+k)
	return e, nil
}

func (f *fakeVPC) added() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.adds)
}

// fakeNet is the data plane with connection counts the test sets; an
// interface without one has no namespace yet and cannot be counted.
type fakeNet struct {
	mu       sync.Mutex
	conns    map[string]int
	attached []string // the interface of every environment, in order
	detached int
}

func (n *fakeNet) AttachEnv(ctx context.Context, eniID, envID string) (EnvAttachment, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.attached = append(n.attached, eniID)
	return EnvAttachment{NetNS: "/run/netns/fake-" + envID}, nil
}

func (n *fakeNet) DetachEnv(eniID, envID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.detached++
	return nil
}

func (n *fakeNet) ConnectionCount(eniID string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.conns[eniID]
	if !ok {
		return 0, errors.New("no namespace yet")
	}
	return c, nil
}

func (n *fakeNet) set(eni string, conns int) {
	n.mu.Lock()
	n.conns[eni] = conns
	n.mu.Unlock()
}

func (n *fakeNet) placements() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.attached)
}

type vpcHarness struct {
	*harness
	vpc *fakeVPC
	net *fakeNet
	wg  sync.WaitGroup
}

func newVpcHarness(t *testing.T, max int, subnets ...string) *vpcHarness {
	h := &vpcHarness{vpc: newFakeVPC(), net: &fakeNet{conns: map[string]int{}}}
	h.harness = newHarness(t, func(o *Options) { o.VPC, o.Network, o.EniMaxConnections = h.vpc, h.net, max })
	h.sb.block = make(chan struct{})
	t.Cleanup(func() {
		close(h.sb.block)
		h.wg.Wait()
	})
	h.create("fn", func(in *createFunctionInput) {
		in.VpcConfig = &vpcConfigInput{SubnetIDs: subnets, SecurityGroupIDs: []string{"sg-2", "sg-1"}}
	})
	h.waitSettled("fn", "")
	return h
}

// busy starts an invocation that holds its environment until the test
// ends, and waits until a new environment runs it; it returns the
// interface that environment was put behind.
func (h *vpcHarness) busy() string {
	h.t.Helper()
	want := h.sb.started.Load() + 1
	errs := make(chan error, 1)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		_, err := h.invoke("fn", "", `{"op":"block"}`)
		errs <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for h.sb.started.Load() < want {
		select {
		case err := <-errs:
			h.t.Fatalf("the invocation ended before its environment started: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatal("no new environment started")
		}
		time.Sleep(time.Millisecond)
	}
	p := h.net.placements()
	return p[len(p)-1]
}

func TestPlacementAddsInterfaceWhenBusy(t *testing.T) {
	h := newVpcHarness(t, 2, "subnet-a")
	if got := h.busy(); got != "eni-1" {
		t.Fatalf("first environment behind %s, want the function's interface eni-1", got)
	}
	// Below the limit, the one interface takes every environment.
	h.net.set("eni-1", 1)
	if got := h.busy(); got != "eni-1" {
		t.Fatalf("second environment behind %s, want eni-1 (1 of 2 connections)", got)
	}
	if adds := h.vpc.added(); len(adds) != 0 {
		t.Fatalf("added %v below the limit", adds)
	}
	// At the limit, Lambda asks EC2 for another interface for the same
	// subnet and groups, and uses it even before it can be counted.
	h.net.set("eni-1", 2)
	if got := h.busy(); got != "eni-2" {
		t.Fatalf("environment behind %s, want the added eni-2", got)
	}
	if adds := h.vpc.added(); !slices.Equal(adds, []string{"subnet-a|[sg-1 sg-2]"}) {
		t.Fatalf("added %v", adds)
	}
	// Fewest connections first, among those under the limit.
	h.net.set("eni-1", 0)
	h.net.set("eni-2", 1)
	if got := h.busy(); got != "eni-1" {
		t.Fatalf("environment behind %s, want eni-1 (0 connections, eni-2 has 1)", got)
	}
	h.net.set("eni-1", 1)
	h.net.set("eni-2", 0)
	if got := h.busy(); got != "eni-2" {
		t.Fatalf("environment behind %s, want eni-2 (0 connections, eni-1 has 1)", got)
	}
	// Above the limit (connections opened since) counts as full too.
	h.net.set("eni-1", 7)
	h.net.set("eni-2", 2)
	if got := h.busy(); got != "eni-3" {
		t.Fatalf("environment behind %s, want a third interface", got)
	}
	if n := len(h.vpc.added()); n != 2 {
		t.Fatalf("%d interfaces added, want 2", n)
	}
}

func TestPlacementAddsOneInterfaceForConcurrentStarts(t *testing.T) {
	h := newVpcHarness(t, 2, "subnet-a")
	h.busy()
	h.net.set("eni-1", 2)
	// Every start finds eni-1 full before the first added interface exists.
	h.vpc.mu.Lock()
	h.vpc.addDelay = 50 * time.Millisecond
	h.vpc.mu.Unlock()
	const n = 4
	for range n {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); h.invoke("fn", "", `{"op":"block"}`) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.sb.started.Load() < 1+n {
		if time.Now().After(deadline) {
			t.Fatalf("%d environments started, want %d", h.sb.started.Load(), 1+n)
		}
		time.Sleep(time.Millisecond)
	}
	if adds := h.vpc.added(); len(adds) != 1 {
		t.Fatalf("concurrent starts added %v, want one interface", adds)
	}
	if p := h.net.placements(); slices.Index(p, "eni-2") != 1 || slices.Contains(p[1:], "eni-1") {
		t.Fatalf("placements %v: every new environment belongs behind eni-2", p)
	}
}

// Each subnet scales on its own: a busy interface in one subnet adds an
// interface there, not in the others.
func TestPlacementAddsInTheBusySubnet(t *testing.T) {
	h := newVpcHarness(t, 1, "subnet-a", "subnet-b")
	subnetOf := map[string]string{"eni-1": "subnet-a", "eni-2": "subnet-b"}
	first, second := h.busy(), h.busy()
	if subnetOf[first] == subnetOf[second] {
		t.Fatalf("two environments in one subnet (%s, %s): subnets are used in turn", first, second)
	}
	h.net.set(first, 1)
	h.net.set(second, 0)
	// The next start goes to first's subnet again, whose only interface is full.
	if got := h.busy(); got != "eni-3" {
		t.Fatalf("environment behind %s, want a new interface", got)
	}
	if adds := h.vpc.added(); !slices.Equal(adds, []string{subnetOf[first] + "|[sg-1 sg-2]"}) {
		t.Fatalf("added %v, want one in %s", adds, subnetOf[first])
	}
	if got := h.busy(); got != second {
		t.Fatalf("environment behind %s, want %s (its subnet has room)", got, second)
	}
}

// When EC2 cannot add the interface, the invocation fails as Lambda's do
// when it cannot set up VPC access, and no environment starts.
func TestPlacementCannotAddInterface(t *testing.T) {
	cases := []struct {
		err     error
		code    string
		message string
	}{
		{&ec2.ENIError{Reason: "EniLimitExceeded", Message: "The elastic network interface limit was reached for the function's VPC."},
			"ENILimitReachedException", "The elastic network interface limit was reached for the function's VPC."},
		{&ec2.ENIError{Reason: "SubnetOutOfIPAddresses", Message: "The subnet subnet-a is out of IP addresses."},
			"SubnetIPAddressLimitReachedException", "Lambda couldn't set up VPC access for the Lambda function because one or more configured subnets has no available IP addresses."},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			h := newVpcHarness(t, 2, "subnet-a")
			h.busy()
			h.net.set("eni-1", 2)
			h.vpc.mu.Lock()
			h.vpc.addErr = c.err
			h.vpc.mu.Unlock()
			started := h.sb.started.Load()
			_, err := h.invoke("fn", "", `{}`)
			var e *awswire.Error
			if !errors.As(err, &e) || e.Code != c.code || e.Status != 502 || e.Message != c.message || e.MessageKey != "Message" {
				t.Fatalf("got %#v", err)
			}
			if h.sb.started.Load() != started || len(h.net.placements()) != 1 {
				t.Fatal("an environment started without an interface")
			}
		})
	}
}
