package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// step is one event the fake Runtime API hands out, and how it misbehaves.
type step struct {
	id, event string
	chunked   bool // the event is sent in chunks, with an extension and a trailer
	interim   bool // a 100 Continue precedes the event
	closeNext bool // the event's answer carries Connection: close
	dropNext  bool // the first GET for this event is read and the connection closed unanswered
	dropAck   bool // the first POST of its response is read and the connection closed unanswered
}

// fakeAPI serves steps in order, then answers 500 to the next GET.
type fakeAPI struct {
	t     *testing.T
	ln    net.Listener
	steps []step

	mu        sync.Mutex
	i         int // current step
	nextDrops map[int]bool
	ackDrops  map[int]bool
	answered  map[int]int         // step -> polls answered with its event
	posts     map[string][]string // request id -> bodies posted
	conns     int
	badReqs   []string
}

func newFakeAPI(t *testing.T, steps []step) *fakeAPI {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{t: t, ln: ln, steps: steps, nextDrops: map[int]bool{}, ackDrops: map[int]bool{}, answered: map[int]int{}, posts: map[string][]string{}}
	go f.serve()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *fakeAPI) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns++
		f.mu.Unlock()
		go f.serveConn(c)
	}
}

func (f *fakeAPI) serveConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		if !f.answer(c, req, body) {
			return
		}
	}
}

// answer writes the reply to one request; false closes the connection.
func (f *fakeAPI) answer(c net.Conn, req *http.Request, body []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Host == "" || req.ProtoMinor != 1 {
		f.badReqs = append(f.badReqs, fmt.Sprintf("%s %s %s host=%q", req.Method, req.URL, req.Proto, req.Host))
	}
	path := req.URL.Path
	if req.Method == http.MethodGet && path == invocationPath+"next" {
		if f.i == len(f.steps) {
			fmt.Fprintf(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nbye\r\n")
			return true
		}
		s := f.steps[f.i]
		if s.dropNext && !f.nextDrops[f.i] {
			f.nextDrops[f.i] = true
			return false
		}
		f.answered[f.i]++
		var w strings.Builder
		if s.interim {
			w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
		fmt.Fprintf(&w, "lambda-runtime-aws-request-id:  %s \r\nLambda-Runtime-Deadline-Ms: 1700000000000\r\n", s.id)
		if s.closeNext {
			w.WriteString("Connection: close\r\n")
		}
		if s.chunked {
			half := len(s.event) / 2
			fmt.Fprintf(&w, "Transfer-Encoding: chunked\r\n\r\n%X;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n",
				half, s.event[:half], len(s.event)-half, s.event[half:])
		} else {
			fmt.Fprintf(&w, "Content-Length: %d\r\n\r\n%s", len(s.event), s.event)
		}
		io.WriteString(c, w.String())
		return !s.closeNext
	}
	id, ok := strings.CutPrefix(path, invocationPath)
	id, ok2 := strings.CutSuffix(id, "/response")
	if req.Method != http.MethodPost || !ok || !ok2 || f.i == len(f.steps) {
		f.badReqs = append(f.badReqs, req.Method+" "+path)
		io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return true
	}
	if req.Header.Get("Content-Length") == "" {
		f.badReqs = append(f.badReqs, "POST without Content-Length")
	}
	f.posts[id] = append(f.posts[id], string(body))
	if f.steps[f.i].dropAck && !f.ackDrops[f.i] {
		f.ackDrops[f.i] = true
		return false
	}
	if id == f.steps[f.i].id {
		f.i++
	}
	io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
	return true
}

func TestEchoesThroughFramingsAndDrops(t *testing.T) {
	steps := []step{
		{id: "a-1", event: `{"n":1}`},
		{id: "b-2", event: `{"n":2,"chunked":true}`, chunked: true},
		{id: "c-3", event: `"after a dropped poll"`, dropNext: true},
		{id: "d-4", event: `{"n":4}`, interim: true, closeNext: true},
		{id: "e-5", event: `{"n":5,"dropped":"ack"}`, dropAck: true},
		{id: "f-6", event: ``},
		{id: "g-7", event: strings.Repeat("x", 100<<10), chunked: true},
		{id: "h-8", event: `{"n":8}`},
	}
	f := newFakeAPI(t, steps)
	err := newClient(f.ln.Addr().String(), dialTCP).run()
	var se *statusError
	if !errors.As(err, &se) || se.status != 500 {
		t.Fatalf("run returned %v, want the 500 from the final poll", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range steps {
		if n := f.answered[i]; n != 1 {
			t.Errorf("%s: handed out %d times, want once", s.id, n)
		}
		want := 1
		if s.dropAck {
			want = 2 // posted again on the new connection
		}
		got := f.posts[s.id]
		if len(got) != want {
			t.Errorf("%s: %d responses posted, want %d", s.id, len(got), want)
		}
		for _, b := range got {
			if b != s.event {
				t.Errorf("%s: posted %.60q, want %.60q", s.id, b, s.event)
			}
		}
	}
	// One connection, plus one after each drop and after Connection: close.
	if f.conns != 4 {
		t.Errorf("%d connections, want 4", f.conns)
	}
	if len(f.badReqs) > 0 {
		t.Errorf("bad requests: %q", f.badReqs)
	}
}

func TestExitsWhenAPIGone(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		// Read the poll, then go away for good: the client's reconnect
		// fails and run must return rather than retry forever.
		bufio.NewReader(c).ReadString('\n')
		c.Close()
	}()
	if err := newClient(addr, dialTCP).run(); err == nil {
		t.Fatal("run returned nil")
	}
}

func TestMalformedAnswerStops(t *testing.T) {
	for name, answer := range map[string]string{
		"status line":    "HTP/1.1 200 OK\r\n\r\n",
		"header":         "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"content length": "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"chunk size":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"request id":     "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a/b\r\nContent-Length: 0\r\n\r\n",
		"no request id":  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"forbidden":      "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv, cli := net.Pipe()
			defer srv.Close()
			go func() {
				bufio.NewReader(srv).ReadString('\n')
				io.WriteString(srv, answer)
				io.Copy(io.Discard, srv)
			}()
			dialed := false
			dial := func(string) (net.Conn, error) {
				if dialed {
					return nil, errors.New("dialled twice")
				}
				dialed = true
				return cli, nil
			}
			err := newClient("api", dial).run()
			if err == nil || err.Error() == "dialled twice" {
				t.Fatalf("run returned %v, want it to stop on the first connection", err)
			}
		})
	}
}

// TestNoAllocationsPerInvoke feeds the client a stream of events and
// acknowledgements prepared in advance, so that only the client's own
// allocations are counted.
func TestNoAllocationsPerInvoke(t *testing.T) {
	const runs = 500
	event := `{"op":"echo","id":"00000000-0000-4000-8000-000000000000","message":"hello from the lambdaplane bench"}`
	var script strings.Builder
	for range runs + 2 {
		fmt.Fprintf(&script, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: 8f3e0a2c-0000-4000-8000-000000000000\r\nContent-Length: %d\r\n\r\n%s", len(event), event)
		script.WriteString("HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
	}
	srv, cli := net.Pipe()
	defer srv.Close()
	go io.WriteString(srv, script.String())
	go io.Copy(io.Discard, srv)
	c := newClient("api", func(string) (net.Conn, error) { return cli, nil })
	var err error
	allocs := testing.AllocsPerRun(runs, func() {
		if e := c.serveOne(); e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per invoke, want 0", allocs)
	}
	if !strings.HasSuffix(string(c.post), "\r\n\r\n"+event) {
		t.Errorf("last response %q does not carry the event", c.post)
	}
}
