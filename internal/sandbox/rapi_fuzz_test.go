package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The environment states the fuzzer starts the Runtime API in.
const (
	fuzzInit      = iota // Started, an invocation already queued
	fuzzPending          // Ready, an invocation queued for /next
	fuzzDelivered        // Ready, the runtime holds the invocation
	fuzzModes
)

const fuzzRequestID = "rid-1"

func fuzzSeeds() []struct {
	mode uint8
	data string
} {
	const (
		next    = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
		resp    = "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
		errPost = "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/error HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Error-Type: E\r\nContent-Length: 2\r\n\r\n{}"
		initErr = "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"errorType\":\"Boom.X\"}"
		chunked = "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
		notFnd  = "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
	)
	return []struct {
		mode uint8
		data string
	}{
		{fuzzInit, next + resp},
		{fuzzInit, initErr + initErr + next},
		{fuzzInit, "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n16\r\n{\"errorType\":\"Boom.X\"}\r\n0\r\n\r\n" + next},
		{fuzzPending, next + resp + notFnd},
		{fuzzPending, next + errPost + next},
		{fuzzPending, resp + next + resp + resp},
		{fuzzPending, next + chunked + notFnd},
		{fuzzPending, next + strings.Replace(resp, fuzzRequestID, "rid-12", 1) + strings.Replace(resp, fuzzRequestID, "rid", 1)},
		{fuzzDelivered, resp},
		{fuzzDelivered, chunked},
		{fuzzDelivered, errPost + resp + errPost},
		{fuzzDelivered, strings.Replace(resp, fuzzRequestID, "other", 1) + resp},
		{fuzzDelivered, initErr + resp},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}" + notFnd},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{}"},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nContent-Length: " + strconv.Itoa(maxPayloadBytes) + "\r\n\r\n{}"},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nContent-Length: -1\r\n\r\n"},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab"},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{fuzzDelivered, "POST /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n"},
		{fuzzDelivered, "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", maxHeaderLines+1) + "\r\n"},
		{fuzzDelivered, "DELETE /2018-06-01/runtime/invocation/" + fuzzRequestID + "/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" + resp},
		{fuzzPending, "POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\nContent-Length: 1\r\n\r\nx" + next},
		{fuzzPending, "NONSENSE\r\n\r\n" + next},
		{fuzzPending, "GET /2018-06-01/runtime/invocation/next HTTP/2.0\r\n\r\n"},
		{fuzzPending, "\n\n\n"},
		{fuzzPending, ""},
	}
}

// FuzzRuntimeAPI feeds arbitrary bytes, as one runtime connection, to the
// Runtime API of an environment with an invocation in flight. The runtime is
// untrusted code: nothing it sends may crash, wedge or bloat the server, or
// complete an invocation it was not given.
func FuzzRuntimeAPI(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.mode, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		mode %= fuzzModes
		e := newEnv(nil, testSpec())
		c := &call{
			inv:      Invocation{RequestID: fuzzRequestID, Payload: []byte(`{"k":1}`), TraceID: "Root=1-x"},
			deadline: time.Now().Add(time.Minute),
			done:     make(chan outcome, 1),
		}
		e.cur = c
		switch mode {
		case fuzzInit:
			e.pending <- c
		case fuzzPending:
			e.state = stReady
			e.pending <- c
		case fuzzDelivered:
			e.state = stReady
			c.state = callDelivered
		}

		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := newRAPIServer(e, ln)
		envClosed := false
		closeEnv := func() {
			if !envClosed {
				envClosed = true
				close(e.closed)
			}
		}
		defer func() {
			closeEnv()
			stopped := make(chan struct{})
			go func() { srv.close(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(2 * time.Second):
				t.Errorf("server did not stop")
			}
		}()

		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		conn, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go func() {
			conn.Write(data)
			conn.(*net.TCPConn).CloseWrite()
		}()

		// Every read is bounded. A /next with no work left parks for good
		// (that is the long poll); only then does the environment close to
		// let it go. Anything else that outlasts the deadline is a hang.
		var got bytes.Buffer
		buf := make([]byte, 4096)
		limit := time.Now().Add(2 * time.Second)
		for {
			if time.Now().After(limit) {
				t.Fatalf("no answer and no close within 2s; read %q", got.Bytes())
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
			n, err := conn.Read(buf)
			got.Write(buf[:n])
			if err == nil {
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				e.mu.Lock()
				parked := e.parked > 0
				e.mu.Unlock()
				if parked {
					closeEnv()
				}
				continue
			}
			break // EOF or reset: the server is done with the connection
		}

		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		// What the server keeps per connection (buffers, goroutine) plus a
		// small multiple of what was sent and answered; never what a header
		// merely claims.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20+uint64(16*(len(data)+got.Len())) {
			t.Errorf("allocated %d bytes for %d bytes in, %d out", grew, len(data), got.Len())
		}

		checkResponses(t, got.Bytes())
		checkEnv(t, e, c, mode, data)
	})
}

// checkResponses parses what the server sent as a series of HTTP/1.1
// responses.
func checkResponses(t *testing.T, raw []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("malformed response stream %q: %v", raw, err)
		}
		switch resp.StatusCode {
		case 100, 200, 202, 400, 403, 404, 405, 413:
		default:
			t.Errorf("status %d in %q", resp.StatusCode, raw)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response body in %q: %v", raw, err)
		}
		if resp.StatusCode == 200 && (resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != fuzzRequestID || string(body) != `{"k":1}`) {
			t.Errorf("delivery %v %q", resp.Header, body)
		}
	}
}

// checkEnv checks the environment's invariants once the connection is over.
func checkEnv(t *testing.T, e *env, c *call, mode uint8, data []byte) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == stInvocationResponse || e.state == stInvocationErrorResponse {
		t.Errorf("runtime left in transient state %v", e.state)
	}
	if e.parked != 0 {
		t.Errorf("parked = %d after the connection ended", e.parked)
	}
	if c.state == callDelivered && mode != fuzzDelivered && !bytes.Contains(data, []byte("invocation/next")) {
		t.Errorf("invocation delivered without a /next")
	}
	var o outcome
	completed := false
	select {
	case o = <-c.done:
		completed = true
	default:
	}
	if completed {
		if c.state != callDelivered {
			t.Errorf("invocation completed in call state %v", c.state)
		}
		if !bytes.Contains(data, []byte("/invocation/"+fuzzRequestID+"/")) {
			t.Errorf("invocation completed without a post for its request id")
		}
		if e.cur != nil {
			t.Errorf("completed invocation still current")
		}
		if e.state != stResponseSent && e.state != stReady {
			t.Errorf("state %v after a response", e.state)
		}
		switch {
		case o.kind == outTooLarge && (o.size <= maxPayloadBytes || o.payload != nil):
			t.Errorf("too large: size %d, %d bytes kept", o.size, len(o.payload))
		case o.kind != outTooLarge && len(o.payload) > maxPayloadBytes:
			t.Errorf("kept a %d-byte payload", len(o.payload))
		}
	} else if c.state == callDelivered && e.cur != c {
		t.Errorf("delivered invocation lost without completing")
	}

	readyClosed := isDone(e.ready)
	initFailed := isDone(e.initFailed)
	if (e.posted != nil) != initFailed || initFailed != (e.state == stInitError) {
		t.Errorf("init error: posted %v, signalled %v, state %v", e.posted, initFailed, e.state)
	}
	if mode == fuzzInit {
		if readyClosed != (e.state != stStarted && e.state != stInitError) {
			t.Errorf("ready signalled %v in state %v", readyClosed, e.state)
		}
	} else if readyClosed || initFailed {
		t.Errorf("init signalled after init: ready %v, failed %v", readyClosed, initFailed)
	}
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
