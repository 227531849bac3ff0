package netctl

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// apiProxy is lambdaplane's APIs on the simulated internet: a listener at
// netplane.ServiceAddr:80 inside the internet namespace that relays each
// connection to the server's own listener. Code in a namespace reaches the
// APIs only the way it would reach AWS's public endpoints: through an
// internet gateway, a NAT gateway or the Lambda network.
type apiProxy struct {
	target string // the server's listen address
	log    *slog.Logger

	mu  sync.Mutex
	ln  net.Listener
	ino uint64
	wg  sync.WaitGroup
}

// APIPort is the port the public endpoints answer HTTP on.
const APIPort = 80

// ensure listens in the internet namespace, again if it was made anew.
func (p *apiProxy) ensure(prefix string) error {
	ns := netplane.InternetNetns(prefix)
	ino, err := nsInode(ns)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil && p.ino == ino {
		return nil
	}
	if p.ln != nil {
		p.ln.Close()
	}
	var ln net.Listener
	if err := netplane.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(netplane.ServiceAddr, APIPort).String())
		return err
	}); err != nil {
		return err
	}
	p.ln, p.ino = ln, ino
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

func (p *apiProxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

func (p *apiProxy) relay(in net.Conn) {
	defer in.Close()
	out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.log.Warn("netctl: public API endpoint cannot reach the server", "target", p.target, "err", err)
		return
	}
	defer out.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(out, in)
		out.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(in, out)
	in.(*net.TCPConn).CloseWrite()
	<-done
}

func (p *apiProxy) close() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
}
