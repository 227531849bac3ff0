package sandbox

import (
	"context"
	"time"
)

// Spec describes one execution environment: a function version's code and
// configuration, and what the caller prepared for it.
type Spec struct {
	// FunctionName, FunctionArn (unqualified) and Version ("$LATEST", "1", ...).
	FunctionName string
	FunctionArn  string
	Version      string
	Region       string
	Account      string
	Runtime      string // nodejs20.x, python3.12, provided.al2023, ...
	Handler      string
	// CodeDir is the extracted deployment package. It is mounted read-only at
	// /var/task when the environment is isolated; otherwise it is the task root.
	CodeDir     string
	MemoryMB    int
	Timeout     time.Duration
	EphemeralMB int // size of the writable /tmp
	// Environment holds the function's own variables (Environment.Variables).
	// The sandbox adds the ones Lambda reserves (AWS_LAMBDA_FUNCTION_NAME,
	// AWS_REGION, _HANDLER, AWS_LAMBDA_RUNTIME_API, ...); reserved ones win.
	Environment map[string]string
	// Credentials are put in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
	// AWS_SESSION_TOKEN (the execution role's session).
	AccessKeyID, SecretAccessKey, SessionToken string
	// EndpointURL, when set, becomes AWS_ENDPOINT_URL so SDKs inside the
	// function call lambdaplane.
	EndpointURL string
	LogGroup    string // /aws/lambda/NAME
	LogStream   string
	// NetNS is the path of a prepared network namespace to run in (from the
	// data plane), or "" to share the host's network.
	NetNS string
	// Nameservers, with NetNS, become the environment's /etc/resolv.conf:
	// the host's resolvers are not reachable from its namespace.
	Nameservers []string
}

// Invocation is one request to run the handler.
type Invocation struct {
	RequestID       string
	Payload         []byte
	InvokedArn      string // the ARN the caller used, qualified if it was
	ClientContext   string // the client context JSON (decoded from the caller's base64), as Lambda-Runtime-Client-Context
	CognitoIdentity string
	TraceID         string
	Deadline        time.Time // now + Timeout; the runtime sees it as Lambda-Runtime-Deadline-Ms
	// WantLog asks for the invocation's log (for X-Amz-Log-Type: Tail).
	WantLog bool
}

// Result is what one invocation produced.
type Result struct {
	Payload []byte
	// FunctionError is "Unhandled" when the runtime reported an error or the
	// environment failed (timeout, crash, out of memory); "" on success.
	FunctionError string
	// Log is this invocation's log: START line, what the function printed,
	// END and REPORT lines (only when Invocation.WantLog).
	Log []byte
	// Duration of the invocation and, for the first one of an environment,
	// of its init phase.
	Duration     time.Duration
	InitDuration time.Duration
	// MaxMemoryMB is measured for the REPORT line, so only when the
	// invocation's log is read (WantLog, or a LogSink is set).
	MaxMemoryMB int
	// EnvFailed is true when the environment cannot be used again (timeout,
	// crash, OOM, init failure); the caller discards it.
	EnvFailed bool
}

// Env is one execution environment: a process tree with its Runtime API.
// An Env runs one invocation at a time.
type Env interface {
	ID() string
	// Invoke runs one invocation and returns its result. Errors are returned
	// only for problems outside the function (the environment is closed or
	// ctx ended before the invocation was delivered); function failures are
	// Results with FunctionError set.
	Invoke(ctx context.Context, inv Invocation) (Result, error)
	// Close kills the process tree and releases everything the environment
	// holds (cgroups, mounts, listeners). Safe to call more than once.
	Close() error
}

// LogSink receives every line an environment's processes print and the
// START/END/REPORT lines, for CloudWatch Logs. It must not block.
type LogSink func(spec *Spec, line []byte)
