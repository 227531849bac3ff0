package netctl_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

const webServer = "#!/bin/bash\necho hello from $(hostname -I)\necho name $(hostname)\ngrep nameserver /etc/resolv.conf\nexec python3 -m http.server 8080 --bind 0.0.0.0\n"

func TestInstancesRunUserData(t *testing.T) {
	requireRoot(t)
	prefix := kernelPrefix(t)
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	sub := e.subnet(vpc, "10.0.1.0/24")
	out := must(e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(sub),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(webServer)))}))
	inst := out.Instances[0]
	id, ip := aws.ToString(inst.InstanceId), aws.ToString(inst.PrivateIpAddress)
	instNS := netplane.ENINetns(prefix, aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId))
	// Same subnet, default group: the default group's self reference
	// lets it reach the instance.
	clientNS := netplane.ENINetns(prefix, e.eni(sub, ""))

	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	hostResolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	m := netctl.NewInstances(prefix, e.svc, log).WithStateDir(t.TempDir())
	c := netctl.New(prefix, e.svc, log).WithInstances(m)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	var ns nsKey
	t.Cleanup(func() {
		cancel()
		<-done
		// Whatever happened, nothing the test started may outlive it:
		// what is still in the instance's namespace came from its script.
		if ns != (nsKey{}) {
			for _, pid := range processesIn(ns) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		m.Close()
	})

	console := func() string {
		out, err := e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hello := "hello from " + ip
	eventually(t, "user data prints to the console", func() bool { return strings.Contains(console(), hello) })
	eventually(t, "user data's server reachable from the subnet", func() bool {
		return dialFrom(clientNS, ip+":8080", 200*time.Millisecond) == nil
	})
	ns = netnsInode(t, instNS)
	if len(processesIn(ns)) == 0 {
		t.Fatal("no process in the instance's namespace")
	}
	// Its own name and its VPC's resolver, as DHCP gives them on AWS; the
	// host's resolv.conf is untouched.
	wantName := "name ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
	if c := console(); !strings.Contains(c, wantName) || !strings.Contains(c, "nameserver 10.0.0.2") {
		t.Errorf("console %q: want %q and the VPC's resolver", c, wantName)
	}
	if now, _ := os.ReadFile("/etc/resolv.conf"); string(now) != string(hostResolv) {
		t.Errorf("the host's /etc/resolv.conf changed: %q", now)
	}

	must(e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{id}}))
	eventually(t, "stopped instance's processes gone", func() bool { return len(processesIn(ns)) == 0 })
	if err := dialFrom(clientNS, ip+":8080", 200*time.Millisecond); err == nil {
		t.Fatal("stopped instance still serves")
	}

	// Starting it again boots it again: the script runs a second time.
	must(e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{id}}))
	eventually(t, "restarted instance prints again", func() bool { return strings.Count(console(), hello) == 2 })
	eventually(t, "restarted instance serves again", func() bool {
		return dialFrom(clientNS, ip+":8080", 200*time.Millisecond) == nil
	})

	// A supervisor that did not start them (a server restarted after a
	// crash) stops what is in the namespace and boots the instance afresh.
	old := processesIn(ns)
	m2 := netctl.NewInstances(prefix, e.svc, log)
	t.Cleanup(func() { m2.Close() })
	m2.Reconcile(e.svc.SettledSnapshot())
	eventually(t, "re-booted by the new supervisor", func() bool { return strings.Count(console(), hello) == 3 })
	for _, pid := range old {
		if syscall.Kill(pid, 0) == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(b), ") Z ") {
				t.Errorf("process %d of the previous boot still runs", pid)
			}
		}
	}
	eventually(t, "the new boot serves", func() bool {
		return dialFrom(clientNS, ip+":8080", 200*time.Millisecond) == nil
	})
	m2.Close()

	// Closing the supervisor (server shutdown) stops what it started.
	cancel()
	<-done
	done <- nil
	m.Close()
	if left := processesIn(ns); len(left) != 0 {
		t.Fatalf("processes left after Close: %v", left)
	}
}

type nsKey struct{ dev, ino uint64 }

func netnsInode(t *testing.T, name string) nsKey {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	return nsKey{st.Dev, st.Ino}
}

// processesIn lists the processes whose network namespace is ns.
func processesIn(ns nsKey) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && (nsKey{st.Dev, st.Ino}) == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}
