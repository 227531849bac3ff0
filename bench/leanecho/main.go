// Command leanecho is the benchmark's lean provided.al2023 function. Like
// echofn it returns its event unchanged, but it speaks the Runtime API itself:
// one kept-open connection, each request sent in a single write, responses
// parsed in place, nothing allocated per invocation and one OS thread running
// Go code. aws-lambda-go spends a few hundred microseconds of CPU per invoke,
// which would hide the cost of the service around the function; this one
// spends as little as a runtime client can.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"
)

func main() {
	// One P: an echo has no parallel work, and idle Ps only spin looking for some.
	runtime.GOMAXPROCS(1)
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		fmt.Fprintln(os.Stderr, "leanecho: AWS_LAMBDA_RUNTIME_API is not set")
		os.Exit(1)
	}
	err := newClient(api, dialTCP).run()
	fmt.Fprintln(os.Stderr, "leanecho:", err)
	os.Exit(1)
}

func dialTCP(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 5*time.Second)
}

const invocationPath = "/2018-06-01/runtime/invocation/"

// client is the runtime's side of the Runtime API. Its buffers grow to the
// largest event seen and are reused.
type client struct {
	host string
	dial func(string) (net.Conn, error)
	conn net.Conn
	br   *bufio.Reader
	// fresh is set from dialling until the first exchange on the connection
	// completes: failing then means the Runtime API is gone, not a drop.
	fresh bool

	next    []byte // the whole GET .../invocation/next request
	post    []byte // the whole response POST, event included
	pending bool   // post holds a response not yet acknowledged
	id      []byte // the current request id
	body    []byte // the event, or an acknowledgement's body
}

func newClient(host string, dial func(string) (net.Conn, error)) *client {
	return &client{
		host: host,
		dial: dial,
		// Big enough for any header line the Runtime API sends (a client
		// context header may carry a few kilobytes).
		br:   bufio.NewReaderSize(nil, 16<<10),
		next: []byte("GET " + invocationPath + "next HTTP/1.1\r\nHost: " + host + "\r\n\r\n"),
	}
}

// statusError is an answer the Runtime API gave on purpose and that the
// runtime cannot go on from: it exits, as the API asks.
type statusError struct {
	call   string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %.200s", e.call, e.status, e.body)
}

// run serves invocations until the Runtime API tells the runtime to stop or
// cannot be reached again after a dropped connection.
func (c *client) run() error {
	for {
		err := c.serveOne()
		if err == nil {
			continue
		}
		fresh := c.fresh
		c.drop()
		var se *statusError
		if errors.As(err, &se) || fresh {
			return err
		}
		// The connection dropped under an exchange: the next one reconnects
		// and repeats it.
	}
}

// serveOne takes the next event and posts it back as the response. After a
// dropped connection it resumes where it failed: a response not yet
// acknowledged is posted again rather than lost.
func (c *client) serveOne() error {
	if !c.pending {
		status, err := c.exchange(c.next, true)
		if err != nil {
			return err
		}
		if status != 200 {
			return &statusError{"next invocation", status, string(c.body)}
		}
		if err := c.buildPost(); err != nil {
			return err
		}
		c.pending = true
	}
	status, err := c.exchange(c.post, false)
	if err != nil {
		return err
	}
	c.pending = false
	// 400 (a request id the API no longer knows, as after a repeated post)
	// and 413 (too large) reject only this response; 500 asks the runtime
	// to exit, and anything else is not the Runtime API.
	switch status {
	case 202, 400, 413:
		return nil
	}
	return &statusError{"response", status, string(c.body)}
}

// buildPost writes the response request for the event in c.body.
func (c *client) buildPost() error {
	if !validID(c.id) {
		return &statusError{"next invocation", 200, fmt.Sprintf("request id %q unusable", c.id)}
	}
	p := append(c.post[:0], "POST "+invocationPath...)
	p = append(p, c.id...)
	p = append(p, "/response HTTP/1.1\r\nHost: "...)
	p = append(p, c.host...)
	p = append(p, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	p = strconv.AppendInt(p, int64(len(c.body)), 10)
	p = append(p, "\r\n\r\n"...)
	c.post = append(p, c.body...)
	return nil
}

// validID accepts a non-empty id that can stand in a path as it is.
func validID(id []byte) bool {
	for _, b := range id {
		if b <= ' ' || b >= 0x7f || b == '/' || b == '?' || b == '#' || b == '%' {
			return false
		}
	}
	return len(id) > 0
}

func (c *client) connect() error {
	c.fresh = true
	conn, err := c.dial(c.host)
	if err != nil {
		return err
	}
	c.conn = conn
	c.br.Reset(conn)
	return nil
}

func (c *client) drop() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// exchange sends one request and reads the answer's body into c.body,
// the request id into c.id when wantID. It returns the status.
func (c *client) exchange(req []byte, wantID bool) (int, error) {
	if c.conn == nil {
		if err := c.connect(); err != nil {
			return 0, err
		}
	}
	if _, err := c.conn.Write(req); err != nil {
		return 0, err
	}
	h, err := c.readHeader(wantID)
	if err != nil {
		return 0, err
	}
	if err := c.readBody(&h); err != nil {
		return 0, err
	}
	c.fresh = false
	if h.close {
		c.drop()
	}
	return h.status, nil
}

// header is what the client needs from a response's header block.
type header struct {
	status  int
	length  int64 // -1 without Content-Length
	chunked bool
	close   bool // the server closes the connection after this response
}

var errMalformed = errors.New("malformed response from the Runtime API")

// readHeader reads a status line and header fields, skipping interim (1xx)
// responses.
func (c *client) readHeader(wantID bool) (header, error) {
	for {
		line, err := c.readLine()
		if err != nil {
			return header{}, err
		}
		// "HTTP/1.x NNN reason"
		if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
			return header{}, errMalformed
		}
		status := 0
		for _, b := range line[9:12] {
			if b < '0' || b > '9' {
				return header{}, errMalformed
			}
			status = status*10 + int(b-'0')
		}
		h := header{status: status, length: -1, close: line[7] == '0'}
		if wantID {
			c.id = c.id[:0]
		}
		for {
			line, err := c.readLine()
			if err != nil {
				return header{}, err
			}
			if len(line) == 0 {
				break
			}
			i := indexByte(line, ':')
			if i < 0 {
				return header{}, errMalformed
			}
			name, value := line[:i], trimSpace(line[i+1:])
			switch {
			case equalFold(name, "content-length"):
				n, ok := parseUint(value, 10)
				if !ok {
					return header{}, errMalformed
				}
				h.length = n
			case equalFold(name, "transfer-encoding"):
				h.chunked = equalFold(value, "chunked")
			case equalFold(name, "connection"):
				if equalFold(value, "close") {
					h.close = true
				} else if equalFold(value, "keep-alive") {
					h.close = false
				}
			case wantID && equalFold(name, "lambda-runtime-aws-request-id"):
				c.id = append(c.id, value...)
			}
		}
		if status >= 200 {
			return h, nil
		}
	}
}

// readBody reads the response body into c.body.
func (c *client) readBody(h *header) error {
	c.body = c.body[:0]
	switch {
	case h.status == 204 || h.status == 304:
		return nil
	case h.chunked:
		return c.readChunked()
	case h.length >= 0:
		return c.readN(h.length)
	}
	// Neither length nor chunks: the body runs to the end of the connection.
	h.close = true
	for {
		c.body = slices.Grow(c.body, 4096)
		n, err := c.br.Read(c.body[len(c.body):cap(c.body)])
		c.body = c.body[:len(c.body)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readN appends the next n bytes of the stream to c.body.
func (c *client) readN(n int64) error {
	start := len(c.body)
	c.body = slices.Grow(c.body, int(n))[:start+int(n)]
	_, err := io.ReadFull(c.br, c.body[start:])
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readChunked decodes a chunked body into c.body and skips its trailer.
func (c *client) readChunked() error {
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if i := indexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, ok := parseUint(trimSpace(line), 16)
		if !ok {
			return errMalformed
		}
		if size == 0 {
			break
		}
		if err := c.readN(size); err != nil {
			return err
		}
		if line, err := c.readLine(); err != nil {
			return err
		} else if len(line) != 0 {
			return errMalformed
		}
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine returns the next line without its CRLF (or LF). It is valid
// until the next read.
func (c *client) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errMalformed
	}
	if err == io.EOF && len(line) > 0 {
		err = io.ErrUnexpectedEOF
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

// The helpers below work on the bufio slices in place, where the bytes and
// strconv equivalents would need a string conversion or a []byte literal.

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b is lower, ASCII-only, in any case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, x := range b {
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != lower[i] {
			return false
		}
	}
	return true
}

// parseUint parses a non-empty unsigned number in base 10 or 16 that fits
// in an int32, which covers any Runtime API body.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var n int64
	for _, x := range b {
		var d int64
		switch {
		case '0' <= x && x <= '9':
			d = int64(x - '0')
		case base == 16 && 'a' <= x|0x20 && x|0x20 <= 'f':
			d = int64(x|0x20-'a') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, n <= 1<<31-1
}
