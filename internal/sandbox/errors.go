package sandbox

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

var (
	// ErrClosed is returned by Invoke on a closed environment and by Start
	// on a closed manager.
	ErrClosed = errors.New("sandbox: environment closed")
	// ErrBusy is returned by Invoke while another invocation runs in the
	// same environment.
	ErrBusy = errors.New("sandbox: environment is running another invocation")
	// ErrExited is returned by Invoke when the runtime exited between
	// invocations. Nothing ran: the caller discards the environment and
	// runs the invocation in a new one (on Lambda this is a cold start).
	ErrExited = errors.New("sandbox: runtime exited between invocations")
)

// maxPayloadBytes is the largest response a runtime may post: 6 MB as
// Lambda counts it (6 MiB + 100 bytes, the figure its error message shows).
const maxPayloadBytes = 6*1024*1024 + 100

// Error types Lambda reports for failures of the environment itself.
const (
	errTypeTimedOut          = "Sandbox.Timedout"
	errTypeExit              = "Runtime.ExitError"
	errTypeOutOfMemory       = "Runtime.OutOfMemory"
	errTypeInvalidEntrypoint = "Runtime.InvalidEntrypoint"
	errTypeUnknown           = "Runtime.Unknown"
	errTypeResponseTooLarge  = "Function.ResponseSizeTooLarge"
)

// functionError is the payload Lambda returns for a failure it detects
// itself (as opposed to an error the runtime posts).
type functionError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func errorPayload(errorType, message string) []byte {
	b, _ := json.Marshal(functionError{ErrorType: errorType, ErrorMessage: message})
	return b
}

// requestError is Lambda's wording for an environment failure seen by one request.
func requestError(reqID, msg string) string {
	return "RequestId: " + reqID + " Error: " + msg
}

func timedOutMessage(timeout time.Duration) string {
	return "Task timed out after " + timeoutSeconds(timeout) + " seconds"
}

func responseTooLargeMessage(size int64) string {
	return "Response payload size (" + strconv.FormatInt(size, 10) +
		" bytes) exceeded maximum allowed payload size (" + strconv.Itoa(maxPayloadBytes) + " bytes)."
}

// InitError is returned by Start when the runtime's init phase fails: it
// posted /init/error, exited, could not be started, or did not reach
// /invocation/next within the init timeout. The environment is already gone.
type InitError struct {
	// ErrorType is the error type Lambda reports (the runtime's own, e.g.
	// Runtime.ImportModuleError, or Runtime.ExitError, Runtime.InvalidEntrypoint, ...).
	ErrorType string
	// Message describes the failure for the operator's logs.
	Message string
	// Log is what the runtime printed during init followed by the
	// INIT_REPORT line (at most the last 4 KB).
	Log          []byte
	InitDuration time.Duration

	// runtimePayload is the body the runtime posted to /init/error; nil when
	// Lambda itself words the error (then it names the request).
	runtimePayload []byte
	// detail is the error text after "RequestId: … Error: ", for errors
	// Lambda words itself.
	detail string
	spec   *Spec
	sink   LogSink
	maxMB  int
}

func (e *InitError) Error() string {
	return "sandbox: init failed: " + e.ErrorType + ": " + e.Message
}

// Result is what the invocation that triggered the failed start returns:
// the error payload with FunctionError "Unhandled", and the invocation's
// log. It also writes the invocation's START, error, END and REPORT lines
// to the log sink, so call it once per invocation.
func (e *InitError) Result(inv Invocation) Result {
	payload := e.runtimePayload
	var lines [][]byte
	lines = append(lines, startLine(inv.RequestID, e.spec.Version))
	if payload == nil {
		msg := requestError(inv.RequestID, e.detail)
		payload = errorPayload(e.ErrorType, msg)
		if e.ErrorType == errTypeTimedOut {
			lines = append(lines, stampedLine(time.Now(), inv.RequestID, e.detail))
		} else {
			lines = append(lines, []byte(msg), []byte(e.ErrorType))
		}
	}
	rep := report{reqID: inv.RequestID, memoryMB: e.spec.MemoryMB, maxUsedMB: e.maxMB, status: "error", errorType: e.ErrorType}
	if e.ErrorType == errTypeTimedOut {
		rep.status, rep.errorType = "timeout", ""
	}
	lines = append(lines, endLine(inv.RequestID), rep.line())
	var t *tail
	if inv.WantLog {
		t = newTail()
		t.write(e.Log)
	}
	for _, l := range lines {
		if e.sink != nil {
			e.sink(e.spec, l)
		}
		if t != nil {
			t.writeLine(l)
		}
	}
	r := Result{
		Payload:       payload,
		FunctionError: "Unhandled",
		InitDuration:  e.InitDuration,
		MaxMemoryMB:   e.maxMB,
		EnvFailed:     true,
	}
	if t != nil {
		r.Log = t.bytes()
	}
	return r
}
