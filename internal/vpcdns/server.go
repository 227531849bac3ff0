package vpcdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

const (
	// forwardTimeout bounds one forwarded query, the UDP try and the TCP
	// retry together; a stub resolver gives up after about as long.
	forwardTimeout = 2 * time.Second
	// ednsSize is the UDP payload size the server offers in its EDNS0
	// answers and reads queries with.
	ednsSize = dns.DefaultMsgSize
)

// Server answers DNS over UDP and TCP on a set of addresses from a Zone
// that Update replaces.
type Server struct {
	zone atomic.Pointer[Zone]
	ns   *netNS // nil: the namespace of the process
	// fwd, when set, is where forwarded queries leave from instead of ns.
	fwd   atomic.Pointer[netNS]
	addrs []netip.AddrPort
	srvs  []*dns.Server

	closeOnce sync.Once
	closeErr  error
}

// Serve starts a server for zone on UDP and TCP at every address of addrs,
// in the network namespace at netnsPath (/run/netns/NAME). Its sockets,
// including those it forwards queries through, are made in that
// namespace, so the upstream needs to be reachable only from there.
//
// An empty netnsPath serves in the caller's own namespace; tests use it
// on 127.0.0.1. A port of 0 picks a free one, the same for UDP and TCP.
// Addresses need not be assigned in the namespace yet (the sockets are
// bound with IP_FREEBIND): they receive as soon as they are.
func Serve(netnsPath string, addrs []netip.AddrPort, zone *Zone) (*Server, error) {
	if len(addrs) == 0 {
		return nil, errors.New("vpcdns: no address to serve on")
	}
	for _, ap := range addrs {
		if !ap.Addr().IsValid() {
			return nil, fmt.Errorf("vpcdns: invalid address %v", ap)
		}
	}
	s := &Server{}
	s.zone.Store(zone)
	if netnsPath != "" {
		ns, err := openNetNS(netnsPath)
		if err != nil {
			return nil, err
		}
		s.ns = ns
	}
	var pcs []net.PacketConn
	var lns []net.Listener
	err := s.ns.do(func() error {
		for _, ap := range addrs {
			pc, ln, err := listenPair(ap)
			if err != nil {
				return fmt.Errorf("vpcdns: listen on %v: %w", ap, err)
			}
			pcs, lns = append(pcs, pc), append(lns, ln)
		}
		return nil
	})
	if err != nil {
		for i := range pcs {
			pcs[i].Close()
			lns[i].Close()
		}
		s.ns.close()
		return nil, err
	}
	handler := dns.HandlerFunc(s.serveDNS)
	for i := range pcs {
		s.addrs = append(s.addrs, pcs[i].LocalAddr().(*net.UDPAddr).AddrPort())
		s.srvs = append(s.srvs,
			&dns.Server{PacketConn: pcs[i], Handler: handler, UDPSize: ednsSize, MsgAcceptFunc: accept},
			&dns.Server{Listener: lns[i], Handler: handler, MsgAcceptFunc: accept})
	}
	for i, srv := range s.srvs {
		if err := start(srv); err != nil {
			for _, started := range s.srvs[:i] {
				started.Shutdown()
			}
			for _, notStarted := range s.srvs[i:] {
				if notStarted.PacketConn != nil {
					notStarted.PacketConn.Close()
				} else {
					notStarted.Listener.Close()
				}
			}
			s.ns.close()
			return nil, fmt.Errorf("vpcdns: start: %w", err)
		}
	}
	return s, nil
}

// ForwardFrom makes forwarded queries leave from the namespace at
// netnsPath rather than the one the server listens in: a VPC's resolver
// answers inside the VPC but, like AWS's, reaches its upstream from
// outside it, whatever the VPC's routes say.
func (s *Server) ForwardFrom(netnsPath string) error {
	ns, err := openNetNS(netnsPath)
	if err != nil {
		return err
	}
	s.fwd.Swap(ns).close()
	return nil
}

// listenPair opens the UDP and TCP sockets of one address; with port 0
// both get the same port, retrying when TCP finds the UDP one taken.
func listenPair(ap netip.AddrPort) (net.PacketConn, net.Listener, error) {
	lc := net.ListenConfig{Control: freebind}
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", ap.String())
		if err != nil {
			return nil, nil, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		ln, err := lc.Listen(ctx, "tcp", netip.AddrPortFrom(ap.Addr(), port).String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if ap.Port() != 0 || attempt == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// start runs srv in the background once it is ready to be shut down.
func start(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return err
	}
}

// accept is the library's filter, minus NOTIFY, which only a secondary
// authoritative server needs.
func accept(dh dns.Header) dns.MsgAcceptAction {
	action := dns.DefaultMsgAcceptFunc(dh)
	if action == dns.MsgAccept && int(dh.Bits>>11)&0xF == dns.OpcodeNotify {
		return dns.MsgRejectNotImplemented
	}
	return action
}

// Addrs are the addresses the server listens on, with the ports chosen
// for those given as 0.
func (s *Server) Addrs() []netip.AddrPort {
	return append([]netip.AddrPort(nil), s.addrs...)
}

// Update makes the server answer from zone from the next query on.
func (s *Server) Update(zone *Zone) { s.zone.Store(zone) }

// Close stops the server once the queries in flight are answered.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, srv := range s.srvs {
			errs = append(errs, srv.Shutdown())
		}
		// Only now: the forwarders of queries in flight used it.
		errs = append(errs, s.ns.close(), s.fwd.Swap(nil).close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	defer func() {
		// A query comes from code in the VPC, which must never bring the
		// whole server down.
		if v := recover(); v != nil {
			slog.Default().Error("vpcdns: panic answering a query", "panic", v, "stack", string(debug.Stack()))
			w.WriteMsg(failure(s.zone.Load(), req, dns.RcodeServerFailure))
		}
	}()
	resp := s.respond(context.Background(), s.zone.Load(), req, tcp)
	if resp == nil {
		if tcp {
			w.Close()
		}
		return
	}
	w.WriteMsg(resp)
}

// respond is the answer of zone to req, nil for none at all.
func (s *Server) respond(ctx context.Context, zone *Zone, req *dns.Msg, tcp bool) *dns.Msg {
	if !zone.Answers() {
		return nil
	}
	limit := dns.MaxMsgSize
	opt := req.IsEdns0()
	if !tcp {
		limit = dns.MinMsgSize
		if opt != nil && int(opt.UDPSize()) > limit {
			limit = int(opt.UDPSize())
		}
	}
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return failure(zone, req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return failure(zone, req, dns.RcodeFormatError)
	case opt != nil && opt.Version() != 0:
		return failure(zone, req, dns.RcodeBadVers)
	}
	res, rrs := zone.lookup(req.Question[0])
	if res == forward {
		if !zone.upstream.IsValid() {
			return failure(zone, req, dns.RcodeServerFailure)
		}
		resp, err := s.forward(ctx, zone.upstream, req)
		if err != nil {
			return failure(zone, req, dns.RcodeServerFailure)
		}
		// The answer is ours now, as a recursive resolver's: not
		// authoritative, and under the client's id.
		resp.Id = req.Id
		resp.Authoritative = false
		resp.RecursionAvailable = true
		resp.Truncate(limit)
		return resp
	}
	resp := new(dns.Msg).SetReply(req)
	resp.Authoritative = zone.authoritative
	resp.RecursionAvailable = !zone.authoritative
	switch res {
	case answered:
		resp.Answer = rrs
	case nxdomain:
		resp.Rcode = dns.RcodeNameError
	case refused:
		resp.Rcode = dns.RcodeRefused
	}
	if opt != nil {
		resp.SetEdns0(ednsSize, opt.Do())
	}
	resp.Truncate(limit)
	return resp
}

// failure is zone's answer with rcode and nothing else; it keeps EDNS0
// when the query had it, as the extended rcodes need it.
func failure(zone *Zone, req *dns.Msg, rcode int) *dns.Msg {
	resp := new(dns.Msg).SetRcode(req, rcode)
	resp.RecursionAvailable = zone == nil || !zone.authoritative
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(ednsSize, opt.Do())
	}
	return resp
}

// forward asks the upstream over UDP, and over TCP when the UDP answer is
// truncated.
func (s *Server) forward(ctx context.Context, upstream netip.AddrPort, req *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	q := req.Copy()
	q.Id = dns.Id()
	resp, err := s.exchange(ctx, "udp", upstream, q)
	if err == nil && resp.Truncated {
		resp, err = s.exchange(ctx, "tcp", upstream, q)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Question) != 1 || !sameQuestion(resp.Question[0], q.Question[0]) {
		return nil, fmt.Errorf("vpcdns: upstream %v answered another question", upstream)
	}
	return resp, nil
}

func sameQuestion(a, b dns.Question) bool {
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// exchange sends q to upstream from a socket made in the server's
// namespace.
func (s *Server) exchange(ctx context.Context, network string, upstream netip.AddrPort, q *dns.Msg) (*dns.Msg, error) {
	var conn net.Conn
	from := s.ns
	if f := s.fwd.Load(); f != nil {
		from = f
	}
	err := from.do(func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, upstream.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := dns.Client{Net: network}
	resp, _, err := client.ExchangeWithConnContext(ctx, q, &dns.Conn{Conn: conn})
	return resp, err
}
