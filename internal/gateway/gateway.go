// Package gateway is lambdaplane's one HTTP endpoint for every AWS service:
// it verifies SigV4 (header or presigned), picks the service from the
// credential scope, answers authentication failures in that service's
// protocol with AWS's codes and texts, and hands verified requests on with
// a Request in their context.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

const (
	// InternalPrefix starts lambdaplane's own unsigned paths.
	InternalPrefix = "/_lambdaplane/"

	defaultMaxBody = 10 << 20
	shutdownGrace  = 10 * time.Second
	hdrRequestID   = "X-Amzn-Requestid"
)

// Config configures a Gateway.
type Config struct {
	Credentials CredentialSource
	Logger      *slog.Logger // nil: discard
	// Now is the gateway's clock (nil: time.Now). When set, responses also
	// carry it in their Date header, as the SDKs use that to correct skew.
	Now func() time.Time
}

// Gateway routes signed AWS requests to the services registered with it.
type Gateway struct {
	creds    CredentialSource
	log      *slog.Logger
	now      func() time.Time
	sendDate bool

	mu       sync.Mutex // serializes Register
	services atomic.Pointer[map[string]*Service]
	internal *http.ServeMux
	keys     keyCache
}

// New returns a gateway with no services; its health endpoint is
// GET /_lambdaplane/health.
func New(cfg Config) *Gateway {
	g := &Gateway{creds: cfg.Credentials, log: cfg.Logger, now: cfg.Now, sendDate: cfg.Now != nil, internal: http.NewServeMux()}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.services.Store(&map[string]*Service{})
	g.internal.HandleFunc("GET "+InternalPrefix+"health", g.health)
	return g
}

// Register adds a service under its signing name. It panics on a service
// without a name or handler, or a name registered twice: those are wiring
// mistakes.
func (g *Gateway) Register(s Service) {
	if s.SigningName == "" || s.Handler == nil {
		panic("gateway: Register needs a SigningName and a Handler")
	}
	if s.MaxBody <= 0 {
		s.MaxBody = defaultMaxBody
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := *g.services.Load()
	if _, dup := old[s.SigningName]; dup {
		panic("gateway: service " + s.SigningName + " registered twice")
	}
	m := maps.Clone(old)
	m[s.SigningName] = &s
	g.services.Store(&m)
}

// HandleUnsigned serves pattern (a net/http ServeMux pattern whose path lies
// under /_lambdaplane/) without authentication, e.g. code downloads.
func (g *Gateway) HandleUnsigned(pattern string, h http.Handler) {
	path := pattern
	if i := strings.IndexByte(path, ' '); i >= 0 {
		path = strings.TrimLeft(path[i:], " ")
	}
	if !strings.HasPrefix(path, InternalPrefix) {
		panic("gateway: unsigned pattern " + pattern + " is not under " + InternalPrefix)
	}
	g.internal.Handle(pattern, h)
}

func (g *Gateway) health(w http.ResponseWriter, r *http.Request) {
	names := slices.Sorted(maps.Keys(*g.services.Load()))
	awswire.WriteJSON(w, http.StatusOK, struct {
		Status   string   `json:"status"`
		Services []string `json:"services"`
	}{"running", names})
}

// Serve serves HTTP on ln until ctx ends, then stops accepting and lets
// requests in flight finish for up to 10s before closing what remains.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("gateway: requests still running after %s were cut off: %w", shutdownGrace, err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// call is everything one request needs on the heap, in one allocation.
type call struct {
	auth authInfo
	req  Request
	body bodyReader
}

// bodyReader replaces r.Body with the bytes the gateway already read.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// ServeHTTP authenticates r and passes it to its service.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	h := w.Header()
	h[hdrRequestID] = []string{id}
	if g.sendDate {
		h["Date"] = []string{g.now().UTC().Format(http.TimeFormat)}
	}
	if !g.log.Enabled(r.Context(), slog.LevelDebug) {
		g.route(w, r, id)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	service := g.route(sw, r, id)
	g.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
		slog.String("id", id), slog.String("service", service), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
}

// route serves r and returns the signing name it was addressed to.
func (g *Gateway) route(w http.ResponseWriter, r *http.Request, id string) string {
	if strings.HasPrefix(r.URL.Path, InternalPrefix) {
		g.internal.ServeHTTP(w, r)
		return ""
	}
	c := &call{}
	a := &c.auth
	services := *g.services.Load()
	if aerr := parseAuth(r, a); aerr != nil {
		p, ns := protocolFor(r, services[a.service], a.service)
		g.authFailed(w, r, id, p, ns, a, aerr)
		return a.service
	}
	svc := services[a.service]
	if svc == nil {
		p, ns := protocolFor(r, nil, a.service)
		writeError(w, p, ns, id, &awswire.Error{
			Status: http.StatusNotImplemented, Code: "NotImplemented", Sender: true,
			Message: fmt.Sprintf("lambdaplane does not implement the service '%s' named in the credential scope %s; it serves: %s",
				a.service, a.scope, strings.Join(slices.Sorted(maps.Keys(services)), ", ")),
		})
		return a.service
	}
	ns := queryNamespaces[svc.SigningName]
	body, err := readBody(r, svc.MaxBody)
	if err != nil {
		var werr *awswire.Error
		switch {
		case !errors.As(err, &werr):
			werr = &awswire.Error{Status: http.StatusBadRequest, Code: "IncompleteBody", Sender: true,
				Message: "The request body terminated unexpectedly"}
		case svc.TooLarge != nil:
			werr = svc.TooLarge
		}
		writeError(w, svc.Protocol, ns, id, werr)
		return svc.SigningName
	}

	cred, err := g.creds.LookupAccessKey(r.Context(), a.accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			g.authFailed(w, r, id, svc.Protocol, ns, a, &authError{kind: authInvalidToken, msg: "unknown access key"})
		} else {
			g.log.Error("access key lookup failed", "id", id, "access_key", a.accessKey, "err", err)
			writeError(w, svc.Protocol, ns, id, err)
		}
		return svc.SigningName
	}
	now := g.now()
	if aerr := checkCredential(&cred, a, now); aerr != nil {
		g.authFailed(w, r, id, svc.Protocol, ns, a, aerr)
		return svc.SigningName
	}
	if aerr := a.checkTime(now, skewWindow(svc.Protocol)); aerr != nil {
		g.authFailed(w, r, id, svc.Protocol, ns, a, aerr)
		return svc.SigningName
	}
	if aerr := a.verify(r, body, g.keys.get(cred.Secret, a.scopeDate, a.region, a.service)); aerr != nil {
		g.authFailed(w, r, id, svc.Protocol, ns, a, aerr)
		return svc.SigningName
	}

	c.req = Request{
		ID:        id,
		Service:   svc.SigningName,
		Region:    a.region,
		Principal: cred.Principal,
		Received:  now,
		Body:      body,
		SourceIP:  remoteIP(r.RemoteAddr),
		Secure:    r.TLS != nil,
	}
	if c.req.Principal.AccessKeyID == "" {
		c.req.Principal.AccessKeyID = a.accessKey
	}
	c.body.Reset(body)
	r = r.WithContext(WithRequest(r.Context(), &c.req))
	r.Body = &c.body
	r.ContentLength = int64(len(body))
	svc.Handler.ServeHTTP(w, r)
	return svc.SigningName
}

// checkCredential applies the rules of temporary credentials: the session
// token must be the one issued with the key (and long-term keys take none),
// and the credentials must not have expired.
func checkCredential(cred *Credential, a *authInfo, now time.Time) *authError {
	if subtle.ConstantTimeCompare([]byte(cred.SessionToken), []byte(a.securityToken)) != 1 {
		if a.securityToken == "" {
			return &authError{kind: authInvalidToken, msg: "temporary credentials used without their session token"}
		}
		return &authError{kind: authInvalidToken, msg: "session token does not belong to the access key"}
	}
	if !cred.Expires.IsZero() && now.After(cred.Expires) {
		return &authError{kind: authExpiredToken, msg: "temporary credentials expired at " + cred.Expires.UTC().Format(time.RFC3339)}
	}
	return nil
}

func (g *Gateway) authFailed(w http.ResponseWriter, r *http.Request, id string, p awswire.Protocol, ns string, a *authInfo, e *authError) {
	aerr := authFailure(p, e)
	g.log.LogAttrs(r.Context(), slog.LevelWarn, "authentication failed",
		slog.String("id", id), slog.String("service", a.service), slog.String("access_key", a.accessKey),
		slog.String("code", aerr.Code), slog.String("reason", e.msg), slog.String("remote", r.RemoteAddr))
	writeError(w, p, ns, id, aerr)
}

func writeError(w http.ResponseWriter, p awswire.Protocol, ns, id string, err error) {
	if p == awswire.Query {
		awswire.WriteQueryError(w, ns, id, err)
		return
	}
	awswire.WriteError(w, p, id, err)
}

// readBody reads the whole body, refusing one over max with an *awswire.Error
// (413) before reading it when its length is declared.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil
	}
	tooLarge := func() error {
		return &awswire.Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Sender: true,
			Message: fmt.Sprintf("Request must be smaller than %d bytes", max)}
	}
	if r.ContentLength > max {
		return nil, tooLarge()
	}
	if r.ContentLength > 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, tooLarge()
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// newRequestID returns a random (version 4) UUID, with one allocation.
func newRequestID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails on Linux (getrandom)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// knownProtocols answers for AWS services lambdaplane may not serve, so that
// even a refusal reaches their SDKs in a form they parse.
var knownProtocols = map[string]awswire.Protocol{
	"lambda": awswire.RestJSON, "logs": awswire.JSON, "sts": awswire.Query, "iam": awswire.Query,
	"cloudformation": awswire.Query, "ec2": awswire.EC2,
}

// versionNamespaces maps query API versions to their service's xmlns.
var versionNamespaces = map[string]string{
	"2011-06-15": queryNamespaces["sts"],
	"2010-05-08": queryNamespaces["iam"],
}

const ec2Version = "2016-11-15"

// protocolFor picks the protocol (and query xmlns) to answer r in: svc's
// when the scope named a registered service, else the scope's service's
// when AWS has it, else a guess from the request's shape — json services
// send X-Amz-Target, query and EC2 requests carry Action, Lambda's REST
// paths neither.
func protocolFor(r *http.Request, svc *Service, service string) (awswire.Protocol, string) {
	if svc != nil {
		return svc.Protocol, queryNamespaces[service]
	}
	if p, ok := knownProtocols[service]; ok {
		return p, queryNamespaces[service]
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return awswire.JSON, ""
	}
	vals, _ := url.ParseQuery(r.URL.RawQuery)
	if !vals.Has("Action") && r.Body != nil {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			// Only this error path reads the body here, and only its start.
			b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			vals, _ = url.ParseQuery(string(b))
		}
	}
	if !vals.Has("Action") {
		return awswire.RestJSON, ""
	}
	v := vals.Get("Version")
	if v == ec2Version {
		return awswire.EC2, ""
	}
	return awswire.Query, versionNamespaces[v]
}

// statusWriter remembers the status for the debug log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (Invoke with response streaming) flush
// through the wrapper.
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
