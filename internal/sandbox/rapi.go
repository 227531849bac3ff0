package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"
)

// The Runtime API (2018-06-01), as Lambda serves it to a runtime.
//
// It speaks just enough HTTP/1.1 for runtime clients (keep-alive,
// Content-Length and chunked bodies, Expect: 100-continue) with one
// goroutine per connection and nothing per request: net/http's server
// starts a goroutine and moves read deadlines on every request, which is
// most of what a warm invocation costs on this side.

const (
	rapiPrefix     = "/2018-06-01/runtime/"
	maxHeaderLines = 100
)

var (
	acceptedBody = []byte(`{"status":"OK"}` + "\n")
	notFoundBody = []byte("404 page not found\n")
	errMalformed = errors.New("malformed request")
)

// rapiServer serves one environment's Runtime API.
type rapiServer struct {
	e  *env
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   sync.WaitGroup
}

func newRAPIServer(e *env, ln net.Listener) *rapiServer {
	s := &rapiServer{e: e, ln: ln, conns: map[net.Conn]struct{}{}}
	s.done.Add(1)
	go s.serve()
	return s
}

func (s *rapiServer) serve() {
	defer s.done.Done()
	for {
		nc, err := s.ln.Accept()
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if err != nil {
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or the like: the runtime retries, so
			// should we.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.done.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

func (s *rapiServer) serveConn(nc net.Conn) {
	defer s.done.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	rc := &rapiConn{e: s.e, br: bufio.NewReaderSize(nc, 8192), bw: bufio.NewWriterSize(nc, 8192)}
	for rc.serveOne() == nil {
	}
}

// close stops the listener and drops every connection, then waits for the
// connection goroutines (parked long polls end when the env closes).
func (s *rapiServer) close() {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.done.Wait()
}

type route int

const (
	routeNotFound route = iota
	routeNext
	routeResponse
	routeError
	routeInitError
)

// rapiRequest is the part of a request the Runtime API looks at.
type rapiRequest struct {
	route         route
	methodOK      bool
	id            string // request id in /invocation/{id}/...
	contentLength int64
	chunked       bool
	expect100     bool
	close         bool
	errorType     string // Lambda-Runtime-Function-Error-Type
}

// rapiConn is one runtime connection.
type rapiConn struct {
	e   *env
	br  *bufio.Reader
	bw  *bufio.Writer
	req rapiRequest
}

// serveOne handles one request; an error ends the connection.
func (rc *rapiConn) serveOne() error {
	if err := rc.readHeader(); err != nil {
		if errors.Is(err, errMalformed) {
			rc.req.close = true
			rc.writeResponse(http.StatusBadRequest, "text/plain; charset=utf-8", []byte("400 Bad Request\n"))
		}
		return err
	}
	r := &rc.req
	if !r.methodOK && r.route != routeNotFound {
		if err := rc.discardBody(); err != nil {
			return err
		}
		return rc.writeResponse(http.StatusMethodNotAllowed, "", nil)
	}
	switch r.route {
	case routeNext:
		if err := rc.discardBody(); err != nil {
			return err
		}
		return rc.e.handleNext(rc)
	case routeResponse, routeError:
		return rc.e.handleResult(rc, r.id, r.route == routeError)
	case routeInitError:
		return rc.e.handleInitError(rc)
	default:
		if err := rc.discardBody(); err != nil {
			return err
		}
		return rc.writeResponse(http.StatusNotFound, "text/plain; charset=utf-8", notFoundBody)
	}
}

// readHeader reads a request line and headers into rc.req.
func (rc *rapiConn) readHeader() error {
	rc.req = rapiRequest{}
	r := &rc.req
	line, err := rc.readLine()
	if err != nil {
		return err
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return errMalformed
	}
	r.close = string(proto) == "HTTP/1.0"
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	r.route, r.id = parseTarget(target)
	switch r.route {
	case routeNext:
		r.methodOK = string(method) == http.MethodGet
	default:
		r.methodOK = string(method) == http.MethodPost
	}
	for n := 0; ; n++ {
		line, err := rc.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if n == maxHeaderLines {
			return errMalformed
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case headerIs(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return errMalformed
			}
			r.contentLength = n
		case headerIs(name, "Transfer-Encoding"):
			r.chunked = bytes.EqualFold(value, []byte("chunked"))
		case headerIs(name, "Expect"):
			r.expect100 = bytes.EqualFold(value, []byte("100-continue"))
		case headerIs(name, "Connection"):
			r.close = bytes.EqualFold(value, []byte("close"))
		case headerIs(name, "Lambda-Runtime-Function-Error-Type"):
			r.errorType = string(value)
		}
	}
}

func headerIs(name []byte, want string) bool {
	return bytes.EqualFold(bytes.TrimSpace(name), []byte(want))
}

// readLine returns one CRLF- (or LF-) terminated line without its ending.
// The slice is valid until the next read.
func (rc *rapiConn) readLine() ([]byte, error) {
	line, err := rc.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errMalformed
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseTarget maps a request path onto the Runtime API's routes.
func parseTarget(p []byte) (route, string) {
	rest, ok := bytes.CutPrefix(p, []byte(rapiPrefix))
	if !ok {
		return routeNotFound, ""
	}
	switch string(rest) {
	case "invocation/next":
		return routeNext, ""
	case "init/error":
		return routeInitError, ""
	}
	inv, ok := bytes.CutPrefix(rest, []byte("invocation/"))
	if !ok {
		return routeNotFound, ""
	}
	id, action, ok := bytes.Cut(inv, []byte{'/'})
	if !ok || len(id) == 0 {
		return routeNotFound, ""
	}
	switch string(action) {
	case "response":
		return routeResponse, string(id)
	case "error":
		return routeError, string(id)
	}
	return routeNotFound, ""
}

// bodyReader returns the request body, first telling a client that waits
// for it to go ahead.
func (rc *rapiConn) bodyReader() (io.Reader, int64, error) {
	r := &rc.req
	if !r.chunked && r.contentLength == 0 {
		return bytes.NewReader(nil), 0, nil
	}
	if r.expect100 {
		rc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := rc.bw.Flush(); err != nil {
			return nil, 0, err
		}
	}
	if r.chunked {
		return &chunkedBody{rc: rc, r: httputil.NewChunkedReader(rc.br)}, -1, nil
	}
	return io.LimitReader(rc.br, r.contentLength), r.contentLength, nil
}

// readBody reads the whole body; past the payload limit it only counts the
// bytes (so the connection stays usable) and returns no body.
func (rc *rapiConn) readBody() ([]byte, int64, error) {
	br, n, err := rc.bodyReader()
	if err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return []byte{}, 0, nil
	}
	return readPayload(br, n)
}

// chunkedBody decodes a chunked body and, at its end, consumes the trailer
// section the decoder leaves in the stream.
type chunkedBody struct {
	rc *rapiConn
	r  io.Reader
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		for {
			line, lerr := b.rc.readLine()
			if lerr != nil {
				return n, lerr
			}
			if len(line) == 0 {
				break
			}
		}
	}
	return n, err
}

func (rc *rapiConn) discardBody() error {
	if !rc.req.chunked && rc.req.contentLength == 0 {
		return nil
	}
	br, _, err := rc.bodyReader()
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, br)
	return err
}

func readPayload(r io.Reader, contentLength int64) ([]byte, int64, error) {
	if contentLength > maxPayloadBytes {
		n, err := io.Copy(io.Discard, r)
		if err == nil && n < contentLength {
			err = io.ErrUnexpectedEOF
		}
		return nil, n, err
	}
	if contentLength >= 0 {
		b, err := readLength(r, int(contentLength))
		return b, contentLength, err
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPayloadBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(b) > maxPayloadBytes {
		n, err := io.Copy(io.Discard, r)
		return nil, int64(len(b)) + n, err
	}
	return b, int64(len(b)), nil
}

// initialBodyCap is the most memory a body's declared length earns before
// any of it arrives.
const initialBodyCap = 64 << 10

// readLength reads exactly n bytes. The buffer grows with the bytes that
// arrive, not with the header's claim: a runtime that announces megabytes and
// sends nothing, on many connections at once, must not make the host
// allocate them.
func readLength(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, min(n, initialBodyCap))
	got := 0
	for {
		m, err := io.ReadFull(r, b[got:])
		got += m
		if err != nil {
			if err == io.EOF && got > 0 {
				err = io.ErrUnexpectedEOF
			}
			return b[:got], err
		}
		if got == n {
			return b, nil
		}
		b = append(b, make([]byte, min(n-got, len(b)))...)
	}
}

// writeStatusLine starts a response.
func (rc *rapiConn) writeStatusLine(status int) {
	bw := rc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(status))
	bw.WriteString("\r\n")
}

// endHeader finishes the header block and sends the response with body.
func (rc *rapiConn) endHeader(body []byte) error {
	bw := rc.bw
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	if rc.req.close {
		bw.WriteString("\r\nConnection: close")
	}
	bw.WriteString("\r\n\r\n")
	bw.Write(body)
	if err := bw.Flush(); err != nil {
		return err
	}
	if rc.req.close {
		return io.EOF
	}
	return nil
}

func (rc *rapiConn) writeHeader(name, value string) {
	rc.bw.WriteString(name)
	rc.bw.WriteString(": ")
	rc.bw.WriteString(value)
	rc.bw.WriteString("\r\n")
}

func (rc *rapiConn) writeResponse(status int, contentType string, body []byte) error {
	rc.writeStatusLine(status)
	if contentType != "" {
		rc.writeHeader("Content-Type", contentType)
	}
	return rc.endHeader(body)
}

func (rc *rapiConn) writeAccepted() error {
	return rc.writeResponse(http.StatusAccepted, "application/json", acceptedBody)
}

// writeStateError is the Runtime API's answer to a call the runtime's
// current state does not allow.
func (rc *rapiConn) writeStateError(from, to rtState) error {
	return rc.writeAPIError(http.StatusForbidden, "InvalidStateTransition",
		"State transition from "+from.String()+" to "+to.String()+" failed for runtime. Error: State transition is not allowed")
}

func (rc *rapiConn) writeAPIError(status int, errorType, message string) error {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
	return rc.writeResponse(status, "application/json", append(b, '\n'))
}

// handleNext is the runtime's long poll for its next invocation. The first
// call ends the init phase. While the runtime waits with no work, its
// environment is frozen (after freezeGrace); Invoke thaws it.
func (e *env) handleNext(rc *rapiConn) error {
	e.mu.Lock()
	initDone := false
	switch e.state {
	case stStarted:
		e.state = stReady
		initDone = true
	case stResponseSent:
		e.state = stReady
	case stReady:
	default:
		from := e.state
		e.mu.Unlock()
		return rc.writeStateError(from, stReady)
	}
	var c *call
	for {
		select {
		case c = <-e.pending:
		default:
			e.parked++
			if e.cur == nil && !e.failed {
				e.scheduleFreeze()
			}
			e.mu.Unlock()
			if initDone {
				close(e.ready)
				initDone = false
			}
			select {
			case c = <-e.pending:
			case <-e.closed:
				e.mu.Lock()
				e.parked--
				e.mu.Unlock()
				return io.EOF
			}
			e.mu.Lock()
			e.parked--
		}
		if c.state == callPending {
			break
		}
	}
	c.state = callDelivered
	c.started = time.Now()
	e.mu.Unlock()
	if initDone {
		close(e.ready)
	}

	if c.logged() {
		e.lc.switchTo(c.log, startLine(c.inv.RequestID, e.spec.Version))
	}

	rc.writeStatusLine(http.StatusOK)
	rc.writeHeader("Content-Type", "application/json")
	rc.writeHeader("Lambda-Runtime-Aws-Request-Id", c.inv.RequestID)
	rc.bw.WriteString("Lambda-Runtime-Deadline-Ms: ")
	rc.bw.Write(strconv.AppendInt(rc.bw.AvailableBuffer(), c.deadline.UnixMilli(), 10))
	rc.bw.WriteString("\r\n")
	arn := c.inv.InvokedArn
	if arn == "" {
		arn = e.spec.FunctionArn
	}
	rc.writeHeader("Lambda-Runtime-Invoked-Function-Arn", arn)
	if c.inv.TraceID != "" {
		rc.writeHeader("Lambda-Runtime-Trace-Id", c.inv.TraceID)
	}
	if c.inv.ClientContext != "" {
		rc.writeHeader("Lambda-Runtime-Client-Context", c.inv.ClientContext)
	}
	if c.inv.CognitoIdentity != "" {
		rc.writeHeader("Lambda-Runtime-Cognito-Identity", c.inv.CognitoIdentity)
	}
	return rc.endHeader(c.inv.Payload)
}

// handleResult takes the runtime's response (or error) for an invocation.
func (e *env) handleResult(rc *rapiConn, id string, isError bool) error {
	target := stInvocationResponse
	if isError {
		target = stInvocationErrorResponse
	}
	// The body comes first: every answer below keeps the connection in
	// step with the client.
	body, size, err := rc.readBody()
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.state != stReady {
		from := e.state
		e.mu.Unlock()
		return rc.writeStateError(from, target)
	}
	c := e.cur
	if c == nil || c.state != callDelivered || c.inv.RequestID != id {
		e.mu.Unlock()
		return rc.writeAPIError(http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
	}
	e.state = stResponseSent
	e.cur = nil
	e.mu.Unlock()

	o := outcome{kind: outResponse, payload: body}
	switch {
	case size > maxPayloadBytes:
		o = outcome{kind: outTooLarge, size: size}
	case isError:
		o.kind = outError
	}
	c.done <- o
	if o.kind == outTooLarge {
		return rc.writeAPIError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"Exceeded maximum allowed payload size ("+strconv.Itoa(maxPayloadBytes)+" bytes).")
	}
	return rc.writeAccepted()
}

// handleInitError records the runtime's report that its init failed.
func (e *env) handleInitError(rc *rapiConn) error {
	body, size, err := rc.readBody()
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.state != stStarted {
		from := e.state
		e.mu.Unlock()
		return rc.writeStateError(from, stInitError)
	}
	e.state = stInitError
	e.mu.Unlock()

	errorType := rc.req.errorType
	if errorType == "" {
		var b struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(body, &b) == nil {
			errorType = b.ErrorType
		}
	}
	if errorType == "" {
		errorType = errTypeUnknown
	}
	switch {
	case size > maxPayloadBytes:
		body = errorPayload(errTypeResponseTooLarge, responseTooLargeMessage(size))
	case len(body) == 0:
		body = errorPayload(errorType, "")
	}
	e.mu.Lock()
	e.posted = &postedInitError{errorType: errorType, body: body}
	e.mu.Unlock()
	close(e.initFailed)
	return rc.writeAccepted()
}
