package netctl

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/vpcdns"
)

const (
	// Console output is written to the store in batches, as a program
	// printing line by line would otherwise make one EC2 write per line.
	consoleFlushEvery = 200 * time.Millisecond
	consoleFlushBytes = 4 << 10
	// killGrace is how long a stopped instance's processes get between
	// SIGTERM and SIGKILL.
	killGrace = 5 * time.Second
	// defaultShell runs UserData that names no interpreter, as cloud-init
	// does for a script without a #! line.
	defaultShell = "/bin/bash"
	// scriptPath is where the child finds its script: the descriptor the
	// supervisor hands it as its first extra file.
	scriptPath = "/dev/fd/3"
)

// Instances runs the UserData of EC2 instances as processes in the network
// namespaces of their primary interfaces, so that an instance is a real
// server in its subnet: what it prints becomes its console output, and
// stopping or terminating it kills what it started.
//
// A script runs once per boot: when it exits it is not run again until
// the instance is stopped and started. A stop and start that both happen
// between two reconciles look like one uninterrupted boot.
//
// Boots are remembered in memory only. After a server restart every
// running instance boots again; processes a previous server started are
// not adopted but stopped first, as a host's crash would have stopped them.
type Instances struct {
	prefix string
	svc    *ec2.Service
	log    *slog.Logger

	stateDir string

	mu     sync.Mutex
	booted map[string]*instanceProc // instance id → this boot's process (nil: none was started)
	closed bool
	work   sync.WaitGroup // output streams and terminations
}

// instanceProc is a started UserData script: its process (the leader of a
// process group of its own) and the namespace it runs in, whose members
// are killed with it so that daemons that left the group still stop.
type instanceProc struct {
	pid      int
	netns    nsID
	exited   chan struct{} // closed once the script's own process is reaped
	out      *os.File      // read end of the processes' stdout and stderr
	streamed chan struct{} // closed once out is drained into the console
}

// NewInstances makes a supervisor for the instances of the network the
// Controller with the same prefix realizes; it does nothing until Reconcile.
func NewInstances(prefix string, svc *ec2.Service, log *slog.Logger) *Instances {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Instances{prefix: prefix, svc: svc, log: log, booted: map[string]*instanceProc{}}
}

// WithInstances makes the controller reconcile m after every apply (an
// unchanged network included, as instance state is not part of it).
func (c *Controller) WithInstances(m *Instances) *Controller {
	c.instances = m
	return c
}

// launch is an instance whose UserData must start now.
type launch struct {
	instanceID string
	netns      string
	argv       []string
	script     []byte
	// hostname and resolvConf are the instance's own, as a VPC's DHCP
	// options give them: its private DNS name and the VPC's resolver
	// ("" for a VPC whose DNS support is off).
	hostname   string
	resolvConf string
}

// planInstances decides, from the EC2 state and the instances booted so
// far, which scripts start and which boots end. An instance boots when it
// is pending or running, has user data and its primary interface's
// namespace exists; a boot ends when its instance is gone or in any other
// state.
func planInstances(prefix string, s ec2.Snapshot, booted map[string]bool, nsExists func(string) bool) (start []launch, stop []string) {
	primary := map[string]string{}
	for _, e := range s.NetworkInterfaces {
		if a := e.Attachment; a != nil && a.InstanceID != "" && a.DeviceIndex == 0 {
			primary[a.InstanceID] = e.ID
		}
	}
	vpcs := map[string]*ec2.Vpc{}
	for _, v := range s.Vpcs {
		vpcs[v.ID] = v
	}
	addr := map[string]string{}
	for _, e := range s.NetworkInterfaces {
		addr[e.ID] = e.PrivateIP
	}
	alive := map[string]bool{}
	for _, i := range s.Instances {
		if i.State != "pending" && i.State != "running" {
			continue
		}
		alive[i.ID] = true
		if booted[i.ID] || i.UserData == "" {
			continue
		}
		eni, ok := primary[i.ID]
		if !ok {
			continue
		}
		ns := netplane.ENINetns(prefix, eni)
		if !nsExists(ns) {
			continue
		}
		// RunInstances accepts only valid base64 (up to 16 KiB decoded).
		script, err := base64.StdEncoding.DecodeString(i.UserData)
		if err != nil {
			continue
		}
		l := launch{instanceID: i.ID, netns: ns, argv: interpreter(script), script: script}
		if ip, err := netip.ParseAddr(addr[eni]); err == nil {
			l.hostname = vpcdns.PrivateHostname(i.Region, ip)
		}
		if v := vpcs[i.VpcID]; v != nil {
			if rs := resolverAddrs(v); len(rs) > 0 {
				l.resolvConf = "search " + searchDomain(i.Region) + "\nnameserver " + rs[0].String() + "\n"
			}
		}
		start = append(start, l)
	}
	for id := range booted {
		if !alive[id] {
			stop = append(stop, id)
		}
	}
	return start, stop
}

// searchDomain is the domain a VPC's default DHCP options give.
func searchDomain(region string) string {
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}

// interpreter is the command that runs script from scriptPath: the #!
// line's interpreter with its one optional argument, as the kernel reads
// it, or bash.
func interpreter(script []byte) []string {
	if !bytes.HasPrefix(script, []byte("#!")) {
		return []string{defaultShell, scriptPath}
	}
	line, _, _ := bytes.Cut(script[2:], []byte("\n"))
	line = bytes.TrimSpace(bytes.TrimSuffix(line, []byte("\r")))
	if len(line) == 0 {
		return []string{defaultShell, scriptPath}
	}
	interp, arg, _ := strings.Cut(strings.ReplaceAll(string(line), "\t", " "), " ")
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{interp, arg, scriptPath}
	}
	return []string{interp, scriptPath}
}

// Reconcile starts and stops instance processes to match s.
func (m *Instances) Reconcile(s ec2.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	booted := make(map[string]bool, len(m.booted))
	for id := range m.booted {
		booted[id] = true
	}
	start, stop := planInstances(m.prefix, s, booted, namespaceExists)
	for _, id := range stop {
		if p := m.booted[id]; p != nil {
			m.terminate(id, p)
		}
		delete(m.booted, id)
	}
	for _, l := range start {
		// Whatever runs in the namespace of an instance that is not booted
		// here was started by a previous run of the server (killed before
		// it could stop it): the instance boots afresh, alone.
		if n := killStale(l.netns); n > 0 {
			m.log.Info("netctl: stopped processes a previous run left in an instance", "instance", l.instanceID, "processes", n)
		}
		p, err := spawn(l.netns, m.withIdentity(l))
		if err != nil {
			// Not recorded as booted: the next reconcile tries again.
			m.log.Error("netctl: starting user data failed", "instance", l.instanceID, "err", err)
			continue
		}
		m.booted[l.instanceID] = p
		m.log.Info("netctl: user data started", "instance", l.instanceID, "pid", p.pid, "netns", l.netns)
		m.work.Add(1)
		go func() {
			defer m.work.Done()
			defer close(p.streamed)
			m.stream(l.instanceID, p.out)
		}()
	}
}

// WithStateDir keeps the files that give instances their resolver (one
// directory per instance) under dir; without it instances use the host's.
func (m *Instances) WithStateDir(dir string) *Instances {
	m.stateDir = dir
	return m
}

// withIdentity is l's command, given its hostname and resolv.conf when a
// state directory can hold the latter.
func (m *Instances) withIdentity(l launch) spawnSpec {
	sp := spawnSpec{argv: l.argv, script: l.script, hostname: l.hostname}
	if m.stateDir == "" || l.resolvConf == "" {
		return sp
	}
	dir := filepath.Join(m.stateDir, l.instanceID)
	path := filepath.Join(dir, "resolv.conf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		m.log.Warn("netctl: instance resolv.conf", "instance", l.instanceID, "err", err)
		return sp
	}
	if err := os.WriteFile(path, []byte(l.resolvConf), 0o644); err != nil {
		m.log.Warn("netctl: instance resolv.conf", "instance", l.instanceID, "err", err)
		return sp
	}
	sp.resolvConf = path
	return sp
}

// Close kills every process the supervisor started and waits for them.
func (m *Instances) Close() error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		for id, p := range m.booted {
			if p != nil {
				m.terminate(id, p)
			}
		}
		m.booted = map[string]*instanceProc{}
	}
	m.mu.Unlock()
	m.work.Wait()
	return nil
}

func (m *Instances) terminate(id string, p *instanceProc) {
	m.work.Add(1)
	go func() {
		defer m.work.Done()
		kill(p, killGrace)
		// A process that left the namespace as well may still hold the
		// output open; what it prints after its instance stopped is lost.
		select {
		case <-p.streamed:
		case <-time.After(time.Second):
			p.out.Close()
		}
		m.log.Info("netctl: instance processes stopped", "instance", id, "pid", p.pid)
	}()
}

// stream copies what an instance prints into its console output until
// every process holding the output open is gone.
func (m *Instances) stream(id string, out *os.File) {
	defer out.Close()
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, consoleFlushBytes)
			n, err := out.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	var buf []byte
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if err := m.svc.AppendConsoleOutput(id, buf); err != nil {
			m.log.Debug("netctl: console output dropped", "instance", id, "err", err)
		}
		buf = buf[:0]
	}
	tick := time.NewTicker(consoleFlushEvery)
	defer tick.Stop()
	for {
		select {
		case b, ok := <-chunks:
			if !ok {
				flush()
				return
			}
			buf = append(buf, b...)
			if len(buf) >= consoleFlushBytes {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func namespaceExists(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}

func (c *Controller) reconcileInstances(s ec2.Snapshot) {
	if c.instances != nil {
		c.instances.Reconcile(s)
	}
}
