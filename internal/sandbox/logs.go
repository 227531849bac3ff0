package sandbox

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tailLimit is how much of an invocation's log X-Amz-Log-Result carries.
const tailLimit = 4096

// maxLineBytes splits runaway lines the way CloudWatch Logs bounds one event.
const maxLineBytes = 256 * 1024

// tail keeps the last tailLimit bytes written to it, in bounded memory
// however much a function prints.
type tail struct{ buf []byte }

func newTail() *tail { return &tail{buf: make([]byte, 0, 2*tailLimit)} }

func (t *tail) write(p []byte) {
	if len(p) >= tailLimit {
		t.buf = append(t.buf[:0], p[len(p)-tailLimit:]...)
		return
	}
	if len(t.buf)+len(p) > 2*tailLimit {
		keep := tailLimit - len(p)
		n := copy(t.buf, t.buf[len(t.buf)-keep:])
		t.buf = t.buf[:n]
	}
	t.buf = append(t.buf, p...)
}

func (t *tail) writeLine(line []byte) {
	t.write(line)
	t.write(newline)
}

// bytes returns a copy of the last tailLimit bytes.
func (t *tail) bytes() []byte {
	b := t.buf
	if len(b) > tailLimit {
		b = b[len(b)-tailLimit:]
	}
	return bytes.Clone(b)
}

var newline = []byte{'\n'}

// logCapture reads what an environment's processes write to stdout and
// stderr (one pipe for both, as on Lambda), splits it into lines and hands
// every line to the sink and to the log of the invocation it belongs to.
//
// The pipe is read both by a goroutine, as output arrives, and synchronously
// by the invoke path before it writes START, END and REPORT: everything the
// function printed before it answered is in the pipe by then, so draining it
// puts each line on the right side of those markers.
type logCapture struct {
	f    *os.File
	rc   syscall.RawConn
	sink func(line []byte)

	mu      sync.Mutex
	cur     *tail // the log lines currently belong to, or nil
	partial []byte
	buf     []byte
	eof     bool
	done    chan struct{} // closed when the reader goroutine ends
}

func newLogCapture(r *os.File, sink func(line []byte)) (*logCapture, error) {
	rc, err := r.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &logCapture{f: r, rc: rc, sink: sink, buf: make([]byte, 32*1024), done: make(chan struct{})}, nil
}

// run reads until every writer has closed the pipe or the capture is closed.
func (lc *logCapture) run() {
	defer close(lc.done)
	_ = lc.rc.Read(func(fd uintptr) bool {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		return lc.drainLocked(int(fd))
	})
	lc.mu.Lock()
	lc.flushPartialLocked()
	lc.mu.Unlock()
}

// drainLocked reads everything the pipe holds now. It reports whether the
// pipe is finished (EOF or a read error).
func (lc *logCapture) drainLocked(fd int) bool {
	if lc.eof {
		return true
	}
	for {
		n, err := unix.Read(fd, lc.buf)
		if n > 0 {
			lc.consumeLocked(lc.buf[:n])
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return false
		}
		lc.eof = true
		return true
	}
}

// drained runs fn under the capture's lock after reading everything the
// pipe holds now, so output the function wrote before this point lands
// before whatever fn writes.
func (lc *logCapture) drained(fn func()) {
	// Control holds a reference on the descriptor, so a concurrent close
	// cannot make us read a reused fd number.
	err := lc.rc.Control(func(fd uintptr) {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		lc.drainLocked(int(fd))
		fn()
	})
	if err != nil {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		fn()
	}
}

func (lc *logCapture) consumeLocked(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lc.partial = append(lc.partial, data...)
			for len(lc.partial) >= maxLineBytes {
				lc.emitLocked(lc.partial[:maxLineBytes])
				lc.partial = append(lc.partial[:0], lc.partial[maxLineBytes:]...)
			}
			return
		}
		if len(lc.partial) > 0 {
			lc.partial = append(lc.partial, data[:i]...)
			for len(lc.partial) > maxLineBytes {
				lc.emitLocked(lc.partial[:maxLineBytes])
				lc.partial = append(lc.partial[:0], lc.partial[maxLineBytes:]...)
			}
			lc.emitLocked(lc.partial)
			lc.partial = lc.partial[:0]
		} else {
			line := data[:i]
			for len(line) > maxLineBytes {
				lc.emitLocked(line[:maxLineBytes])
				line = line[maxLineBytes:]
			}
			lc.emitLocked(line)
		}
		data = data[i+1:]
	}
}

func (lc *logCapture) flushPartialLocked() {
	if len(lc.partial) > 0 {
		lc.emitLocked(lc.partial)
		lc.partial = lc.partial[:0]
	}
}

func (lc *logCapture) emitLocked(line []byte) {
	if lc.sink != nil {
		lc.sink(bytes.Clone(line))
	}
	if lc.cur != nil {
		lc.cur.writeLine(line)
	}
}

// switchTo ends any unterminated line, directs further lines to t (nil:
// only the sink) and then writes lines, in that order.
func (lc *logCapture) switchTo(t *tail, lines ...[]byte) {
	lc.drained(func() {
		lc.flushPartialLocked()
		lc.cur = t
		for _, l := range lines {
			lc.emitLocked(l)
		}
	})
}

// finish writes lines to the current log and detaches it.
func (lc *logCapture) finish(lines ...[]byte) {
	lc.drained(func() {
		lc.flushPartialLocked()
		for _, l := range lines {
			lc.emitLocked(l)
		}
		lc.cur = nil
	})
}

// close stops reading; lines still in the pipe are dropped.
func (lc *logCapture) close() {
	lc.f.Close()
	<-lc.done
}

// Lambda's platform lines.

func startLine(reqID, version string) []byte {
	b := make([]byte, 0, 64+len(reqID)+len(version))
	b = append(b, "START RequestId: "...)
	b = append(b, reqID...)
	b = append(b, " Version: "...)
	return append(b, version...)
}

func endLine(reqID string) []byte {
	return append([]byte("END RequestId: "), reqID...)
}

// report holds what a REPORT line says.
type report struct {
	reqID     string
	duration  time.Duration
	init      time.Duration // zero unless this is the environment's first invocation
	memoryMB  int
	maxUsedMB int
	status    string // "", "timeout" or "error"
	errorType string // with status "error"
}

func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// billedMillis rounds up to the next millisecond, as Lambda bills; the init
// phase is billed with the first invocation.
func billedMillis(duration, init time.Duration) int64 {
	return int64(math.Ceil(float64(duration+init) / float64(time.Millisecond)))
}

// line renders the REPORT line in Lambda's text format: tab-separated fields,
// "Init Duration" after the memory figures on a cold start, and for a failed
// invocation a Status (and Error Type) at the end.
func (r report) line() []byte {
	b := make([]byte, 0, 200)
	b = append(b, "REPORT RequestId: "...)
	b = append(b, r.reqID...)
	b = append(b, "\tDuration: "...)
	b = appendMillis(b, r.duration)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, billedMillis(r.duration, r.init), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(r.memoryMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(r.maxUsedMB), 10)
	b = append(b, " MB\t"...)
	if r.init > 0 {
		b = append(b, "Init Duration: "...)
		b = appendMillis(b, r.init)
		b = append(b, " ms\t"...)
	}
	if r.status != "" {
		b = append(b, "Status: "...)
		b = append(b, r.status...)
		if r.errorType != "" {
			b = append(b, "\tError Type: "...)
			b = append(b, r.errorType...)
		}
	}
	return b
}

// initReportLine is the INIT_REPORT line Lambda writes when the init phase fails.
func initReportLine(d time.Duration, status, errorType string) []byte {
	b := append([]byte("INIT_REPORT Init Duration: "), appendMillis(nil, d)...)
	b = append(b, " ms\tPhase: init\tStatus: "...)
	b = append(b, status...)
	if errorType != "" {
		b = append(b, "\tError Type: "...)
		b = append(b, errorType...)
	}
	return b
}

// timeoutLine is what Lambda logs when it stops an invocation at its timeout.
func timeoutLine(now time.Time, reqID string, timeout time.Duration) []byte {
	return stampedLine(now, reqID, timedOutMessage(timeout))
}

// stampedLine is a platform message in the "<time> <request id> <text>" form.
func stampedLine(now time.Time, reqID, text string) []byte {
	b := now.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z")
	b = append(b, ' ')
	b = append(b, reqID...)
	b = append(b, ' ')
	return append(b, text...)
}

func timeoutSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
}

// bytesToMB converts a memory figure to the whole megabytes REPORT shows.
func bytesToMB(n int64) int {
	return int((n + 1<<20 - 1) >> 20)
}
