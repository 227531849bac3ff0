package vpcdns

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func FuzzServeDNS(f *testing.F) {
	for _, m := range []*dns.Msg{
		newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA),
		newQuery("IP-10-0-1-5.EC2.INTERNAL.", dns.TypeANY),
		newQuery("5.1.0.10.in-addr.arpa.", dns.TypePTR),
		newQuery("x.lambda.us-east-1.amazonaws.com.", dns.TypeAAAA),
		newQuery("lambda.us-east-1.amazonaws.com.", dns.TypeA).SetEdns0(4096, true),
		newQuery("www.example.com.", dns.TypeMX),
		newQuery("5.100.51.198.in-addr.arpa.", dns.TypePTR),
		func() *dns.Msg {
			m := newQuery("version.bind.", dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}(),
		func() *dns.Msg { m := newQuery("a.example.", dns.TypeSOA); m.Opcode = dns.OpcodeNotify; return m }(),
		func() *dns.Msg { m := newQuery("a.example.", dns.TypeA); m.Opcode = dns.OpcodeUpdate; return m }(),
		func() *dns.Msg {
			m := newQuery("a.example.", dns.TypeA)
			m.Question = append(m.Question, m.Question[0])
			return m
		}(),
		func() *dns.Msg {
			m := newQuery("a.example.", dns.TypeA)
			m.SetEdns0(512, false)
			m.IsEdns0().SetVersion(3)
			return m
		}(),
		func() *dns.Msg { m := newQuery("a.example.", dns.TypeA); m.Question = nil; return m }(),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 12))
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}) // name pointing at itself

	s := resolver(f, internet(f, nil))
	conn, err := net.Dial("udp", s.Addrs()[0].String())
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close()
	probe := dns.Client{Timeout: 3 * time.Second}

	f.Fuzz(func(t *testing.T, b []byte) {
		// The whole path, socket reader included; a panic there would end
		// the process, and the probe shows the server still answers.
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, _, err := probe.Exchange(newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA), s.Addrs()[0].String()); err != nil {
			t.Fatalf("the server stopped answering: %v", err)
		}

		// The same bytes straight into the handler, with no recover in the
		// way, as the server's reader would hand them over.
		if len(b) < 12 {
			return
		}
		be := binary.BigEndian
		dh := dns.Header{Id: be.Uint16(b), Bits: be.Uint16(b[2:]), Qdcount: be.Uint16(b[4:]),
			Ancount: be.Uint16(b[6:]), Nscount: be.Uint16(b[8:]), Arcount: be.Uint16(b[10:])}
		if accept(dh) != dns.MsgAccept {
			return
		}
		req := new(dns.Msg)
		if err := req.Unpack(b); err != nil {
			return
		}
		for _, tcp := range []bool{false, true} {
			resp := s.respond(context.Background(), s.zone.Load(), req, tcp)
			if resp == nil {
				t.Fatal("an answering zone gave no answer")
			}
			if resp.Id != req.Id || !resp.Response {
				t.Fatalf("answer id %d response %v to query %d", resp.Id, resp.Response, req.Id)
			}
			if _, err := resp.Pack(); err != nil {
				t.Fatalf("answer %v does not pack: %v", resp, err)
			}
		}
	})
}
