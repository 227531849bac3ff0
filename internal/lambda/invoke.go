package lambda

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
)

const (
	invokeRequestResponse = "RequestResponse"
	invokeEvent           = "Event"
	invokeDryRun          = "DryRun"
	logTail               = 4096
)

type invokeInput struct {
	FunctionName  string
	Qualifier     string
	Type          string
	LogType       string
	ClientContext string
	Payload       []byte
	RequestID     string
}

type invokeOutput struct {
	Status          int
	Payload         []byte
	FunctionError   string
	LogResult       string // base64 of the last 4 KB of the log, when asked for
	ExecutedVersion string
}

// invokeTarget is what an invocation runs: resolved at admission so that
// later changes to the function do not affect it.
type invokeTarget struct {
	id       fnID
	cfg      Config
	invoked  string // the ARN as the caller named it
	reserved *int
}

func (s *Service) validateInvoke(in *invokeInput) error {
	var v validator
	if in.Type != invokeRequestResponse && in.Type != invokeEvent && in.Type != invokeDryRun {
		v.add(in.Type, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if in.LogType != "None" && in.LogType != "Tail" {
		v.add(in.LogType, "logType", "Member must satisfy enum value set: [Tail, None]")
	}
	if err := v.err(); err != nil {
		return err
	}
	switch {
	case in.Type == invokeEvent && len(in.Payload) > maxAsyncPayload:
		return errRequestTooLarge("%d byte payload is too large for the Event invocation type (limit %d bytes)", len(in.Payload), maxAsyncPayload)
	case len(in.Payload) > maxSyncPayload:
		return errRequestTooLarge("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload)
	}
	if in.ClientContext != "" {
		raw, err := base64.StdEncoding.DecodeString(in.ClientContext)
		if err != nil || len(in.ClientContext) > 3583 || !json.Valid(raw) {
			return errInvalidParameter("Client context must be a valid Base64-encoded JSON object.")
		}
		in.ClientContext = string(raw)
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		var x any
		err := json.Unmarshal(in.Payload, &x)
		return errInvalidContent("Could not parse request body into json: Could not parse payload into json: %v", err)
	}
	return nil
}

// admit resolves the configuration the target names and checks that the
// function can run now.
func (s *Service) admit(t target) (*invokeTarget, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(t)
	if err != nil {
		return nil, err
	}
	cfg, alias, err := s.resolve(st, t)
	if err != nil {
		return nil, err
	}
	if alias != nil {
		for v, w := range alias.Weights {
			if rand.Float64() < w {
				var vc *Config
				if vc, _, err = s.resolve(st, target{id: t.id, qualifier: v}); err != nil {
					return nil, err
				}
				cfg = vc
			}
		}
	}
	if cfg.Version == latest && cfg.LastUpdateStatus == updateInProgress && st.fn.Previous != nil {
		cfg = st.fn.Previous
	}
	if cfg.State == stateInactive {
		return nil, &inactiveError{version: cfg.Version}
	}
	if cfg.State != stateActive {
		return nil, errInvokeState(cfg.State)
	}
	if cfg.VPC.connected() {
		s.activity.touch(activityKey(t.id, cfg.Version), time.Now())
	}
	return &invokeTarget{id: t.id, cfg: *cfg, invoked: t.id.qualifiedARN(t.qualifier), reserved: st.fn.ReservedConcurrency}, nil
}

// Invoke runs a function: synchronously, queued for asynchronous execution,
// or only checked (DryRun).
func (s *Service) Invoke(ctx context.Context, c caller, in *invokeInput) (*invokeOutput, error) {
	if err := s.validateInvoke(in); err != nil {
		return nil, err
	}
	t, err := s.namedQualified(c, in.FunctionName, in.Qualifier, "lambda:InvokeFunction", true)
	if err != nil {
		return nil, err
	}
	tg, err := s.admitOrRestore(t)
	if err != nil {
		return nil, err
	}
	if len(in.Payload) == 0 {
		// Lambda hands the runtime an empty JSON object when the caller sent no payload.
		in.Payload = []byte("{}")
	}
	switch in.Type {
	case invokeDryRun:
		return &invokeOutput{Status: http.StatusNoContent}, nil
	case invokeEvent:
		if err := s.async.enqueue(tg, in); err != nil {
			return nil, err
		}
		return &invokeOutput{Status: http.StatusAccepted}, nil
	}
	res, err := s.run(ctx, tg, sandbox.Invocation{
		RequestID:     in.RequestID,
		Payload:       in.Payload,
		InvokedArn:    tg.invoked,
		ClientContext: in.ClientContext,
		TraceID:       newTraceID(),
		WantLog:       in.LogType == "Tail",
	})
	if err != nil {
		return nil, err
	}
	out := &invokeOutput{Status: http.StatusOK, Payload: res.Payload, FunctionError: res.FunctionError, ExecutedVersion: tg.cfg.Version}
	if in.LogType == "Tail" {
		log := res.Log
		if len(log) > logTail {
			log = log[len(log)-logTail:]
		}
		out.LogResult = base64.StdEncoding.EncodeToString(log)
	}
	return out, nil
}

// run executes one invocation in a warm or new environment of tg's pool.
func (s *Service) run(ctx context.Context, tg *invokeTarget, inv sandbox.Invocation) (sandbox.Result, error) {
	// The caller hanging up does not stop a running function on Lambda.
	ctx = context.WithoutCancel(ctx)
	inv.Deadline = time.Now().Add(time.Duration(tg.cfg.Timeout) * time.Second)
	key := poolKey{id: tg.id, version: tg.cfg.Version, revision: tg.cfg.RevisionID}
	// A warm environment can die between invocations (a runtime that exits
	// after reporting an error); the invocation was not delivered then, so it
	// goes to another environment.
	for attempt := 0; ; attempt++ {
		l, err := s.sched.acquire(ctx, key, func() (*sandbox.Spec, error) { return s.spec(ctx, tg) })
		if err != nil {
			return s.admissionFailure(l, err, tg, inv)
		}
		res, err := l.env.Invoke(ctx, inv)
		if err != nil {
			s.sched.release(l, true)
			if !l.cold && attempt < 2 {
				continue
			}
			return sandbox.Result{}, errService("The execution environment failed: %v", err)
		}
		s.sched.release(l, res.EnvFailed)
		return res, nil
	}
}

// admissionFailure turns a failed acquire into the invocation's answer.
func (s *Service) admissionFailure(l *lease, err error, tg *invokeTarget, inv sandbox.Invocation) (sandbox.Result, error) {
	var initErr *sandbox.InitError
	var thr errThrottled
	switch {
	case errors.As(err, &initErr):
		s.sched.release(l, true)
		return initErr.Result(inv), nil
	case errors.As(err, &thr):
		return sandbox.Result{}, errTooManyRequests(thr.reason, 1)
	case errors.Is(err, errStopped):
		return sandbox.Result{}, errService("The Lambda service is shutting down.")
	}
	var aerr *awswire.Error
	if errors.As(err, &aerr) {
		return sandbox.Result{}, aerr
	}
	s.log.Error("start execution environment", "function", tg.invoked, "err", err)
	return sandbox.Result{}, errService("Lambda could not start an execution environment for the function: %v", err)
}

// spec describes a new execution environment for tg.
func (s *Service) spec(ctx context.Context, tg *invokeTarget) (*sandbox.Spec, error) {
	cfg := &tg.cfg
	sp := &sandbox.Spec{
		FunctionName: tg.id.Name,
		FunctionArn:  tg.id.arn(),
		Version:      cfg.Version,
		Region:       tg.id.Region,
		Account:      tg.id.Account,
		Runtime:      cfg.Runtime,
		Handler:      cfg.Handler,
		CodeDir:      s.code.treeDir(hexFromB64(cfg.CodeSha256)),
		MemoryMB:     cfg.MemorySize,
		Timeout:      time.Duration(cfg.Timeout) * time.Second,
		EphemeralMB:  cfg.EphemeralStorage,
		Environment:  cfg.Environment,
		EndpointURL:  s.cfg.EndpointURL,
		LogGroup:     "/aws/lambda/" + tg.id.Name,
		LogStream:    logStreamName(cfg.Version),
	}
	if s.cfg.Roles != nil {
		cred, err := s.roleSession(ctx, tg.id, cfg.Role)
		if err != nil {
			return nil, errInvalidParameter("The role defined for the function cannot be assumed by Lambda.")
		}
		sp.AccessKeyID, sp.SecretAccessKey, sp.SessionToken = cred.Principal.AccessKeyID, cred.Secret, cred.SessionToken
	}
	if err := s.placer.place(ctx, tg.id, cfg, sp); err != nil {
		return nil, err
	}
	return sp, nil
}

// roleSession returns execution-role credentials for a new environment of
// the function. Lambda reuses one session for a function's environments
// while it has most of its life left, so a cold start rarely waits for a new
// session to be stored.
func (s *Service) roleSession(ctx context.Context, id fnID, role string) (gateway.Credential, error) {
	key := id.arn() + "|" + role
	s.sessMu.Lock()
	cred, ok := s.sessions[key]
	s.sessMu.Unlock()
	if ok && (cred.Expires.IsZero() || time.Until(cred.Expires) > time.Hour) {
		// Like Lambda, a session stays in use until near its end even if
		// the role's policies change; its permissions are evaluated live.
		return cred, nil
	}
	cred, err := s.cfg.Roles.AssumeRoleForService(ctx, role, lambdaPrincipal, id.Name)
	if err != nil {
		return cred, err
	}
	s.sessMu.Lock()
	s.sessions[key] = cred
	s.sessMu.Unlock()
	return cred, nil
}

// logStreamName is Lambda's: date, version in brackets, a random id.
func logStreamName(version string) string {
	var b [16]byte
	crand.Read(b[:])
	return fmt.Sprintf("%s/[%s]%s", time.Now().UTC().Format("2006/01/02"), version, hex.EncodeToString(b[:]))
}

// newTraceID makes an X-Ray trace header value for the invocation.
func newTraceID() string {
	var r [20]byte
	crand.Read(r[:])
	buf := make([]byte, 0, 76)
	buf = append(buf, "Root=1-"...)
	buf = appendHex8(buf, uint32(time.Now().Unix()))
	buf = append(buf, '-')
	buf = hex.AppendEncode(buf, r[:12])
	buf = append(buf, ";Parent="...)
	buf = hex.AppendEncode(buf, r[12:])
	buf = append(buf, ";Sampled=0"...)
	return string(buf)
}

func appendHex8(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}
