package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

const (
	mismatchText = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	invalidToken = "The security token included in the request is invalid."
	functionARN  = "arn:aws:lambda:us-east-1:123456789012:function:f"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// env is a gateway on an httptest server with STS (the real one from iam),
// a stand-in Lambda (rest-json), a stand-in Logs (json) and a stand-in EC2.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	gw     *gateway.Gateway
	mu     sync.Mutex
	seen   []*gateway.Request // requests the stand-in services received
	paths  []string           // their raw request URIs
	bodies [][]byte           // what they read from r.Body
}

type envOpt func(*gateway.Config)

func withNow(now func() time.Time) envOpt { return func(c *gateway.Config) { c.Now = now } }

func withCreds(cs gateway.CredentialSource) envOpt {
	return func(c *gateway.Config) { c.Credentials = cs }
}

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	accounts, err := iam.NewAccounts()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{Credentials: accounts}
	for _, o := range opts {
		o(&cfg)
	}
	identities, err := iam.New(iam.Options{Store: store.NewMemory(), Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, gw: gateway.New(cfg)}
	e.gw.Register(identities.STSService())
	e.gw.Register(gateway.Service{SigningName: "lambda", Protocol: awswire.RestJSON, Handler: http.HandlerFunc(e.lambda),
		MaxBody: 1 << 10, TooLarge: awswire.Errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 1024 bytes for the InvokeFunction operation")})
	e.gw.Register(gateway.Service{SigningName: "logs", Protocol: awswire.JSON, Handler: http.HandlerFunc(e.record)})
	e.gw.Register(gateway.Service{SigningName: "ec2", Protocol: awswire.EC2, Handler: http.HandlerFunc(e.record)})
	e.srv = httptest.NewServer(e.gw)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) note(r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		e.t.Errorf("reading body in service: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, gateway.FromContext(r.Context()))
	e.paths = append(e.paths, r.RequestURI)
	e.bodies = append(e.bodies, b)
}

func (e *env) record(w http.ResponseWriter, r *http.Request) {
	e.note(r)
	w.WriteHeader(http.StatusOK)
}

// lambda answers GetFunction with a minimal configuration.
func (e *env) lambda(w http.ResponseWriter, r *http.Request) {
	e.note(r)
	name := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/")
	awswire.WriteJSON(w, http.StatusOK, map[string]any{"Configuration": map[string]any{"FunctionName": name}})
}

func (e *env) last() (*gateway.Request, string, []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) == 0 {
		e.t.Fatal("no request reached a service")
	}
	n := len(e.seen) - 1
	return e.seen[n], e.paths[n], e.bodies[n]
}

func awsConfig(key, secret, token string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, secret, token)}
}

func (e *env) sts(key, secret string, optFns ...func(*sts.Options)) *sts.Client {
	return sts.NewFromConfig(awsConfig(key, secret, ""), append([]func(*sts.Options){func(o *sts.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
	}}, optFns...)...)
}

func (e *env) lambdaClient(key, secret string) *lambda.Client {
	return lambda.NewFromConfig(awsConfig(key, secret, ""), func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
		o.RetryMaxAttempts = 1
	})
}

func noRetry(o *sts.Options) { o.RetryMaxAttempts = 1 }

// apiError asserts err is an AWS API error with code and HTTP status.
func apiError(t *testing.T, err error, code string, status int) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %q (%q), want %q", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("status: want %d, got %v", status, err)
	}
	return ae
}

func TestSTSGetCallerIdentity(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts("test", "test").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "123456789012" || aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(out.UserId) != "123456789012" {
		t.Fatalf("identity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

func TestSTSUnknownKey(t *testing.T) {
	e := newEnv(t)
	_, err := e.sts("AKIANOBODY", "test", noRetry).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if ae := apiError(t, err, "InvalidClientTokenId", 403); ae.ErrorMessage() != invalidToken {
		t.Fatalf("message = %q", ae.ErrorMessage())
	}
}

func TestSTSWrongSecret(t *testing.T) {
	e := newEnv(t)
	_, err := e.sts("test", "wrong", noRetry).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if ae := apiError(t, err, "SignatureDoesNotMatch", 403); ae.ErrorMessage() != mismatchText {
		t.Fatalf("message = %q", ae.ErrorMessage())
	}
}

func TestSTSClockSkew(t *testing.T) {
	ctx := context.Background()
	ahead := newEnv(t, withNow(func() time.Time { return time.Now().Add(20 * time.Minute) }))
	_, err := ahead.sts("test", "test", noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	ae := apiError(t, err, "SignatureDoesNotMatch", 403)
	if !regexp.MustCompile(`^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$`).MatchString(ae.ErrorMessage()) {
		t.Fatalf("message = %q", ae.ErrorMessage())
	}

	behind := newEnv(t, withNow(func() time.Time { return time.Now().Add(-20 * time.Minute) }))
	_, err = behind.sts("test", "test", noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	ae = apiError(t, err, "SignatureDoesNotMatch", 403)
	if !regexp.MustCompile(`^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$`).MatchString(ae.ErrorMessage()) {
		t.Fatalf("message = %q", ae.ErrorMessage())
	}

	// With retries on, the SDK reads the skew from the Date header, as it
	// does against AWS, and its second attempt succeeds.
	if _, err := ahead.sts("test", "test").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("SDK did not recover from clock skew: %v", err)
	}
}

// queryError is the query protocol's error envelope.
type queryError struct {
	Error struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

func getQueryError(t *testing.T, resp *http.Response) queryError {
	t.Helper()
	defer resp.Body.Close()
	var qe queryError
	if err := xml.NewDecoder(resp.Body).Decode(&qe); err != nil {
		t.Fatal(err)
	}
	return qe
}

func TestSTSPresigned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ps := sts.NewPresignClient(e.sts("test", "test"))
	req, err := ps.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Account>123456789012</Account>")) {
		t.Fatalf("presigned GetCallerIdentity: %d %s", resp.StatusCode, body)
	}

	u, _ := url.Parse(req.URL)
	q := u.Query()
	q.Set("Version", "2011-06-16") // signed parameter changed after signing
	u.RawQuery = q.Encode()
	resp, err = http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	if qe := getQueryError(t, resp); resp.StatusCode != 403 || qe.Error.Code != "SignatureDoesNotMatch" || qe.Error.Type != "Sender" {
		t.Fatalf("tampered URL: %d %+v", resp.StatusCode, qe)
	}

	// STS's presigner sets no X-Amz-Expires: the URL lives for the skew window.
	later := newEnv(t, withNow(func() time.Time { return time.Now().Add(16 * time.Minute) }))
	resp, err = http.Get(strings.Replace(req.URL, e.srv.URL, later.srv.URL, 1))
	if err != nil {
		t.Fatal(err)
	}
	if qe := getQueryError(t, resp); resp.StatusCode != 403 || qe.Error.Code != "SignatureDoesNotMatch" || !strings.HasPrefix(qe.Error.Message, "Signature expired: ") {
		t.Fatalf("expired URL: %d %+v", resp.StatusCode, qe)
	}
}

func TestPresignedExpires(t *testing.T) {
	now := time.Now()
	e := newEnv(t, withNow(func() time.Time { return now.Add(2 * time.Minute) }))
	u := e.srv.URL + "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60"
	r, _ := http.NewRequest("GET", u, nil)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		r, hexSHA256(nil), "sts", "us-east-1", now)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	qe := getQueryError(t, resp)
	want := "Signature expired: " + now.UTC().Format("20060102T150405Z") + " is now earlier than " +
		now.Add(time.Minute).UTC().Format("20060102T150405Z") + " (" + now.Add(2*time.Minute).UTC().Format("20060102T150405Z") + " - 1 min.)"
	if resp.StatusCode != 403 || qe.Error.Code != "SignatureDoesNotMatch" || qe.Error.Message != want {
		t.Fatalf("got %d %+v, want message %q", resp.StatusCode, qe, want)
	}
}

func TestLambdaFunctionARNPath(t *testing.T) {
	e := newEnv(t)
	out, err := e.lambdaClient("test", "test").GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(functionARN)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Configuration.FunctionName); got != functionARN {
		t.Fatalf("FunctionName = %q", got)
	}
	req, uri, _ := e.last()
	// The SDK sends ':' as %3A and signs the path encoded once more (%253A);
	// verifying it proves the gateway double-encodes the same way.
	if !strings.Contains(uri, "arn%3Aaws%3Alambda") {
		t.Fatalf("request URI %q does not carry the encoded ARN", uri)
	}
	if req.Service != "lambda" || req.Region != "us-east-1" || req.Principal.Account != "123456789012" || !req.Principal.IsRoot ||
		req.Principal.AccessKeyID != "test" || req.SourceIP != "127.0.0.1" || req.Secure || !uuidV4.MatchString(req.ID) {
		t.Fatalf("request = %+v", req)
	}
}

func TestLambdaAuthErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := &lambda.GetFunctionInput{FunctionName: aws.String(functionARN)}

	_, err := e.lambdaClient("AKIANOBODY", "x").GetFunction(ctx, in)
	if ae := apiError(t, err, "UnrecognizedClientException", 403); ae.ErrorMessage() != invalidToken {
		t.Fatalf("message = %q", ae.ErrorMessage())
	}

	_, err = e.lambdaClient("test", "wrong").GetFunction(ctx, in)
	ae := apiError(t, err, "InvalidSignatureException", 403)
	msg := ae.ErrorMessage()
	if !strings.HasPrefix(msg, mismatchText+"\n\nThe Canonical String for this request should have been\n'GET\n/2015-03-31/functions/arn%253Aaws%253Alambda") ||
		!strings.Contains(msg, "'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n") {
		t.Fatalf("message = %q", msg)
	}
}

func TestMissingAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string // code
		in                              string // a fragment of the body
	}{
		{"lambda", "GET", "/2015-03-31/functions/f", "", "", 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
		{"sts", "POST", "/", "application/x-www-form-urlencoded", "Action=GetCallerIdentity&Version=2011-06-15", 403, "MissingAuthenticationToken", `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`},
		{"ec2", "POST", "/", "application/x-www-form-urlencoded; charset=utf-8", "Action=DescribeVpcs&Version=2016-11-15", 400, "MissingParameter", "The request must contain the parameter AWSAccessKeyId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code := resp.Header.Get("X-Amzn-Errortype") // rest-json carries it here
			if code == "" {
				var qe queryError
				var ee struct {
					Errors struct{ Error struct{ Code string } }
				}
				xml.Unmarshal(b, &qe)
				xml.Unmarshal(b, &ee)
				code = qe.Error.Code + ee.Errors.Error.Code
			}
			if resp.StatusCode != tc.status || code != tc.want || !bytes.Contains(b, []byte(tc.in)) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if !uuidV4.MatchString(resp.Header.Get("x-amzn-RequestId")) {
				t.Fatalf("request id %q", resp.Header.Get("x-amzn-RequestId"))
			}
		})
	}
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a request signed for service with the SDK's own signer.
func signed(t *testing.T, method, u, service, key, secret, token string, body []byte, hdr map[string]string, at time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hexSHA256(body), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return r
}

func do(t *testing.T, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestEC2AuthFailure(t *testing.T) {
	e := newEnv(t)
	form := []byte("Action=DescribeVpcs&Version=2016-11-15")
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	for _, kv := range [][2]string{{"AKIANOBODY", "test"}, {"test", "wrong"}} {
		resp, b := do(t, signed(t, "POST", e.srv.URL+"/", "ec2", kv[0], kv[1], "", form, hdr, time.Now()))
		var got struct {
			Errors struct {
				Error struct{ Code, Message string }
			}
			RequestID string
		}
		if err := xml.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if resp.StatusCode != 401 || got.Errors.Error.Code != "AuthFailure" ||
			got.Errors.Error.Message != "AWS was not able to validate the provided access credentials" ||
			got.RequestID != resp.Header.Get("X-Amzn-Requestid") || !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
			t.Fatalf("%s: %d %s", kv[0], resp.StatusCode, b)
		}
	}
	resp, _ := do(t, signed(t, "POST", e.srv.URL+"/", "ec2", "test", "test", "", form, hdr, time.Now()))
	if resp.StatusCode != 200 {
		t.Fatalf("good EC2 request: %d", resp.StatusCode)
	}
	if _, _, body := e.last(); !bytes.Equal(body, form) {
		t.Fatalf("service read %q from r.Body", body)
	}
}

func TestJSONProtocolErrors(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{}`)
	hdr := map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}
	for _, tc := range []struct{ key, secret, code, msg string }{
		{"AKIANOBODY", "test", "UnrecognizedClientException", invalidToken},
		{"test", "wrong", "InvalidSignatureException", mismatchText},
	} {
		resp, b := do(t, signed(t, "POST", e.srv.URL+"/", "logs", tc.key, tc.secret, "", body, hdr, time.Now()))
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if resp.StatusCode != 400 || got["__type"] != tc.code || got["message"] != tc.msg ||
			resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
}

// tempCreds is a CredentialSource with one temporary credential.
type tempCreds struct{ expires time.Time }

func (c tempCreds) LookupAccessKey(_ context.Context, key string) (gateway.Credential, error) {
	if key != "ASIATEMP" {
		return gateway.Credential{}, gateway.ErrUnknownAccessKey
	}
	return gateway.Credential{Secret: "s3cret", SessionToken: "tok", Expires: c.expires,
		Principal: gateway.Principal{Account: "210987654321", ARN: "arn:aws:sts::210987654321:assumed-role/r/s", UserID: "AROAX:s"}}, nil
}

func TestSessionTokens(t *testing.T) {
	e := newEnv(t, withCreds(tempCreds{expires: time.Now().Add(time.Hour)}))
	u := e.srv.URL + "/2015-03-31/functions/f"
	for _, tc := range []struct {
		token, code string
		status      int
	}{
		{"tok", "", 200},
		{"", "UnrecognizedClientException", 403},
		{"other", "UnrecognizedClientException", 403},
	} {
		resp, b := do(t, signed(t, "GET", u, "lambda", "ASIATEMP", "s3cret", tc.token, nil, nil, time.Now()))
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-Errortype") != tc.code {
			t.Fatalf("token %q: %d %s", tc.token, resp.StatusCode, b)
		}
	}
	req, _, _ := e.last()
	if req.Principal.ARN != "arn:aws:sts::210987654321:assumed-role/r/s" || req.Principal.AccessKeyID != "ASIATEMP" {
		t.Fatalf("principal = %+v", req.Principal)
	}

	expired := newEnv(t, withCreds(tempCreds{expires: time.Now().Add(-time.Minute)}))
	resp, b := do(t, signed(t, "GET", expired.srv.URL+"/2015-03-31/functions/f", "lambda", "ASIATEMP", "s3cret", "tok", nil, nil, time.Now()))
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "ExpiredTokenException" ||
		string(b) != `{"message":"The security token included in the request is expired"}` {
		t.Fatalf("expired: %d %s", resp.StatusCode, b)
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	body := bytes.Repeat([]byte("x"), 2048)
	resp, b := do(t, signed(t, "POST", e.srv.URL+"/2015-03-31/functions/f/invocations", "lambda", "test", "test", "", body, nil, time.Now()))
	if resp.StatusCode != 413 || resp.Header.Get("X-Amzn-Errortype") != "RequestTooLargeException" ||
		string(b) != `{"Type":"User","message":"Request must be smaller than 1024 bytes for the InvokeFunction operation"}` {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestUnknownService(t *testing.T) {
	e := newEnv(t)
	resp, b := do(t, signed(t, "GET", e.srv.URL+"/things", "kinesis", "test", "test", "", nil, nil, time.Now()))
	if resp.StatusCode != 501 || !strings.Contains(string(b), "lambdaplane does not implement the service 'kinesis'") ||
		!strings.Contains(string(b), "it serves: ec2, lambda, logs, sts") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestHealthAndUnsigned(t *testing.T) {
	e := newEnv(t)
	e.gw.HandleUnsigned("GET /_lambdaplane/code/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "code "+r.PathValue("id"))
	}))
	resp, b := do(t, mustGet(t, e.srv.URL+"/_lambdaplane/health"))
	if resp.StatusCode != 200 || string(b) != `{"status":"running","services":["ec2","lambda","logs","sts"]}` ||
		!uuidV4.MatchString(resp.Header.Get("x-amzn-RequestId")) {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, mustGet(t, e.srv.URL+"/_lambdaplane/code/abc"))
	if resp.StatusCode != 200 || string(b) != "code abc" {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, b)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("HandleUnsigned accepted a path outside /_lambdaplane/")
		}
	}()
	e.gw.HandleUnsigned("GET /code", http.NotFoundHandler())
}

func mustGet(t *testing.T, u string) *http.Request {
	r, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSDKSignerAgreement signs awkward requests with aws-sdk-go-v2's signer
// and checks the gateway accepts every one.
func TestSDKSignerAgreement(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path, query string
		hdr                 map[string]string
		body                string
	}{
		{"GET", "/2015-03-31/functions/my-fn/configuration", "", nil, ""},
		{"GET", "/2015-03-31/functions", "MaxItems=10&Marker=a%2Bb%3D%3D&FunctionVersion=ALL", nil, ""},
		{"POST", "/2015-03-31/functions/f/invocations", "Qualifier=%24LATEST", map[string]string{"X-Amz-Invocation-Type": "Event", "X-Amz-Client-Context": "eyJhIjoxfQ=="}, `{"k":"v"}`},
		{"GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", "", nil, ""},
		{"GET", "/2015-03-31/functions/caf%C3%A9", "b=2&a=3&a=1&empty=&sp=a%20b&tilde=~x", nil, ""},
		{"PUT", "/2015-03-31/functions/f/concurrency", "", map[string]string{"X-Custom": "  spaced    out  value ", "Content-Type": "application/json"}, `{"ReservedConcurrentExecutions":1}`},
		{"DELETE", "/2015-03-31/functions/f", "Qualifier=v1", nil, ""},
	} {
		u := e.srv.URL + tc.path
		if tc.query != "" {
			u += "?" + tc.query
		}
		r := signed(t, tc.method, u, "lambda", "test", "test", "", []byte(tc.body), tc.hdr, time.Now())
		if resp, b := do(t, r); resp.StatusCode != 200 {
			t.Errorf("%s %s: %d %s", tc.method, u, resp.StatusCode, b)
		}
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	accounts, _ := iam.NewAccounts()
	gw := gateway.New(gateway.Config{Credentials: accounts})
	started := make(chan struct{})
	gw.Register(gateway.Service{SigningName: "lambda", Protocol: awswire.RestJSON, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		awswire.WriteJSON(w, 200, map[string]string{"done": "yes"})
	})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- gw.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		r := signed(t, "GET", "http://"+ln.Addr().String()+"/2015-03-31/functions/f", "lambda", "test", "test", "", nil, nil, time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if b := <-got; b != `{"done":"yes"}` {
		t.Fatalf("in-flight request during shutdown got %q", b)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}
