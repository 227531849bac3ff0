package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// TestAWSDocumentationExample verifies the worked example of AWS's SigV4
// documentation (IAM ListUsers), an independent check of the algorithm.
func TestAWSDocumentationExample(t *testing.T) {
	r, _ := http.NewRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.RequestURI = "/?Action=ListUsers&Version=2010-05-08"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	var a authInfo
	if err := parseAuth(r, &a); err != nil {
		t.Fatal(err)
	}
	var kc keyCache
	key := kc.get("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a.scopeDate, a.region, a.service)
	if err := a.verify(r, nil, key); err != nil {
		t.Fatalf("%v\n%s", err, err.canonical)
	}
	bad := kc.get("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEy", a.scopeDate, a.region, a.service)
	err := a.verify(r, nil, bad)
	if err == nil || err.kind != authSignature {
		t.Fatalf("wrong secret verified: %v", err)
	}
	const wantCanonical = "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if err.canonical != wantCanonical {
		t.Fatalf("canonical request:\n%s\nwant:\n%s", err.canonical, wantCanonical)
	}
	if !strings.HasSuffix(err.stringToSign, "\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59") {
		t.Fatalf("string to sign:\n%s", err.stringToSign)
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	const good = "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	for _, tc := range []struct {
		name, authz, date string
		kind              authKind
		msg               string
	}{
		{"basic", "Basic dXNlcjpwdw==", "", authIncomplete,
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic dXNlcjpwdw=="},
		{"no date", good, "", authIncomplete,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + good},
		{"no signature", "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders=host", "20240102T030405Z", authIncomplete,
			"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders=host"},
		{"no equal sign", "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders, Signature=00", "20240102T030405Z", authIncomplete,
			"'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders, Signature=00'."},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/aws4_request, SignedHeaders=host, Signature=00", "20240102T030405Z", authIncomplete,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AK/20240102/us-east-1/aws4_request'"},
		{"terminator", "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws5_request, SignedHeaders=host, Signature=00", "20240102T030405Z", authSignature,
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{"scope date", good, "20240103T030405Z", authSignature,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240102' != '20240103', from '20240103T030405Z'."},
		{"host unsigned", "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=00", "20240102T030405Z", authSignature,
			"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"region", "AWS4-HMAC-SHA256 Credential=AK/20240102//lambda/aws4_request, SignedHeaders=host, Signature=00", "20240102T030405Z", authSignature,
			"Credential should be scoped to a valid region."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "http://h/", nil)
			r.Header.Set("Authorization", tc.authz)
			if tc.date != "" {
				r.Header.Set("X-Amz-Date", tc.date)
			}
			var a authInfo
			err := parseAuth(r, &a)
			if err == nil || err.kind != tc.kind || err.msg != tc.msg {
				t.Fatalf("got %+v\nwant kind %d %q", err, tc.kind, tc.msg)
			}
		})
	}
}

func TestPresignedQueryErrors(t *testing.T) {
	base := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240102%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
	for _, tc := range []struct{ query, msg string }{
		{"X-Amz-Algorithm=AWS4-HMAC-SHA256", "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
		{strings.Replace(base, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1), `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`},
		{base + "&X-Amz-Expires=soon", "X-Amz-Expires should be a number"},
		{base + "&X-Amz-Expires=-1", "X-Amz-Expires must be non-negative"},
		{base + "&X-Amz-Expires=604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
	} {
		r, _ := http.NewRequest("GET", "http://h/?"+tc.query, nil)
		var a authInfo
		if err := parseAuth(r, &a); err == nil || err.kind != authIncomplete || err.msg != tc.msg {
			t.Errorf("%s: got %+v, want %q", tc.query, err, tc.msg)
		}
	}
	r, _ := http.NewRequest("GET", "http://h/?"+base, nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	var a authInfo
	if err := parseAuth(r, &a); err == nil || err.kind != authIncomplete || !strings.HasPrefix(err.msg, "Only one auth mechanism allowed") {
		t.Errorf("both mechanisms: %+v", err)
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *authInfo {
		t := now.Add(d)
		return &authInfo{time: t, amzDate: t.Format(amzDateLayout)}
	}
	if err := at(-5*time.Minute).checkTime(now, 5*time.Minute); err != nil {
		t.Fatalf("edge of window refused: %v", err)
	}
	err := at(-5*time.Minute-time.Second).checkTime(now, 5*time.Minute)
	if want := "Signature expired: 20240102T025904Z is now earlier than 20240102T025905Z (20240102T030405Z - 5 min.)"; err == nil || err.kind != authSkew || err.msg != want {
		t.Fatalf("got %+v, want %q", err, want)
	}
	err = at(16*time.Minute).checkTime(now, 15*time.Minute)
	if want := "Signature not yet current: 20240102T032005Z is still later than 20240102T031905Z (20240102T030405Z + 15 min.)"; err == nil || err.msg != want {
		t.Fatalf("got %+v, want %q", err, want)
	}
	p := at(-2 * time.Minute)
	p.expires, p.hasExpires = 90*time.Second, true
	err = p.checkTime(now, 15*time.Minute)
	if want := "Signature expired: 20240102T030205Z is now earlier than 20240102T030235Z (20240102T030405Z - 90 sec.)"; err == nil || err.msg != want {
		t.Fatalf("got %+v, want %q", err, want)
	}
	p = at(-20 * time.Minute)
	p.expires, p.hasExpires = time.Hour, true
	err = p.checkTime(now, 15*time.Minute)
	if want := "Signature expired: 20240102T024405Z is now earlier than 20240102T024905Z (20240102T030405Z - 15 min.)"; err == nil || err.msg != want {
		t.Fatalf("long X-Amz-Expires outlived the window: got %+v, want %q", err, want)
	}
}

func TestCanonicalURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "/",
		"/":                        "/",
		"/a//b/./c/../d/":          "/a/b/d/",
		"/..":                      "/",
		"/f/arn%3Aaws%3Alambda":    "/f/arn%253Aaws%253Alambda",
		"/a b":                     "/a%20b",
		"/caf%C3%A9/~x-y_z.json":   "/caf%25C3%25A9/~x-y_z.json",
		"/2015-03-31/functions/f/": "/2015-03-31/functions/f/",
		"/.well-known/x":           "/.well-known/x",
	} {
		if got := string(appendCanonicalURI(nil, in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct {
		in        string
		presigned bool
		want      string
	}{
		{"b=2&a=3&a=1&empty=&flag", false, "a=1&a=3&b=2&empty=&flag="},
		{"sp=a+b&t=%7e&u=%2f&&v=%zz", false, "sp=a%20b&t=~&u=%2F&v=%25zz"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", true, "X-Amz-Date=1"},
		{"X-Amz-Signature=abc", false, "X-Amz-Signature=abc"},
		{"k=%E2%9C%93", false, "k=%E2%9C%93"},
	} {
		if got := string(appendCanonicalQuery(nil, tc.in, tc.presigned)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=test/20240102/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123", "20240102T030405Z")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=, Signature", "")
	f.Add("AWS4-HMAC-SHA256 ,,,=,Credential==", "Tue, 02 Jan 2024 03:04:05 GMT")
	f.Add("Bearer x", "x")
	f.Fuzz(func(t *testing.T, authz, date string) {
		h := http.Header{}
		h.Set("X-Amz-Date", date)
		var a authInfo
		if err := parseAuthorization(authz, h, &a); err != nil {
			if err.msg == "" {
				t.Fatalf("error without message: %+v", err)
			}
			return
		}
		if a.accessKey+"/"+a.scope != a.credential || strings.Count(a.credential, "/") != 4 || len(a.amzDate) != len(amzDateLayout) {
			t.Fatalf("inconsistent parse: %+v", a)
		}
		a.checkScope()
	})
}

func FuzzPresignedQuery(f *testing.F) {
	f.Add("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240102%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abcd&X-Amz-Expires=900")
	f.Add("X-Amz-Signature=&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Expires=99999999999999999999")
	f.Add("a=%zz&b=+&&c==&X-Amz-Algorithm")
	f.Fuzz(func(t *testing.T, query string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{}, Host: "h"}
		var a authInfo
		_ = parseAuth(r, &a)
		for _, presigned := range []bool{false, true} {
			canon := appendCanonicalQuery(nil, query, presigned)
			// A canonical query is its own canonical form.
			if again := appendCanonicalQuery(nil, string(canon), presigned); !bytes.Equal(again, canon) {
				t.Fatalf("not idempotent: %q -> %q -> %q", query, canon, again)
			}
		}
	})
}

// recordingWriter notes whether a handler chose a status.
type recordingWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) Header() http.Header { return w.h }
func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.body.Write(b)
}

type staticCreds map[string]string

func (s staticCreds) LookupAccessKey(_ context.Context, key string) (Credential, error) {
	secret, ok := s[key]
	if !ok {
		return Credential{}, ErrUnknownAccessKey
	}
	return Credential{Secret: secret, Principal: Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", UserID: "123456789012", IsRoot: true}}, nil
}

var fuzzTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzGateway() *Gateway {
	g := New(Config{Credentials: staticCreds{"test": "test"}, Now: func() time.Time { return fuzzTime }})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g.Register(Service{SigningName: "lambda", Protocol: awswire.RestJSON, Handler: ok, MaxBody: 64})
	g.Register(Service{SigningName: "sts", Protocol: awswire.Query, Handler: ok})
	g.Register(Service{SigningName: "logs", Protocol: awswire.JSON, Handler: ok})
	g.Register(Service{SigningName: "ec2", Protocol: awswire.EC2, Handler: ok})
	return g
}

// addSignedSeed adds a request signed by the SDK as fuzz arguments.
func addSignedSeed(f *testing.F, method, target, service string, body string) {
	r, _ := http.NewRequest(method, "http://127.0.0.1:4566"+target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), service, "us-east-1", fuzzTime); err != nil {
		f.Fatal(err)
	}
	var hb strings.Builder
	r.Header.Write(&hb)
	f.Add(method, target, hb.String(), body)
}

func FuzzGatewayRequest(f *testing.F) {
	addSignedSeed(f, "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", "lambda", "")
	addSignedSeed(f, "POST", "/", "sts", "Action=GetCallerIdentity&Version=2011-06-15")
	addSignedSeed(f, "POST", "/?x=1&y", "ec2", "Action=DescribeVpcs&Version=2016-11-15")
	addSignedSeed(f, "POST", "/2015-03-31/functions/f/invocations", "lambda", strings.Repeat("x", 100))
	f.Add("GET", "/_lambdaplane/health", "", "")
	f.Add("PUT", "/a/../../b?%zz", "Authorization: AWS4-HMAC-SHA256\r\nX-Amz-Target: x\r\n", "{")
	f.Add("POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test/20240102/us-east-1/sts/aws4_request", "Content-Type: application/x-www-form-urlencoded\r\n", "Action=X&Version=2016-11-15")
	g := fuzzGateway()
	f.Fuzz(func(t *testing.T, method, target, headers, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		h, _ := textprotoHeader(headers)
		r := &http.Request{
			Method: method, URL: u, RequestURI: target, Header: h, Host: "127.0.0.1:4566",
			Body: httpBody(body), ContentLength: int64(len(body)), RemoteAddr: "127.0.0.1:1234",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}
		if len(body)%2 == 1 {
			r.ContentLength = -1 // as for a chunked body
		}
		w := &recordingWriter{h: http.Header{}}
		g.ServeHTTP(w, r)
		if w.status < 100 || w.status > 599 {
			t.Fatalf("no status written (%d) for %s %s", w.status, method, target)
		}
		if w.h.Get("X-Amzn-Requestid") == "" {
			t.Fatal("response without request id")
		}
	})
}

func textprotoHeader(block string) (http.Header, error) {
	h := http.Header{}
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ":")
		if ok {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return h, sc.Err()
}

type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }

func httpBody(s string) nopBody { return nopBody{strings.NewReader(s)} }

// benchRequest is a warm Lambda Invoke as aws-sdk-go-v2 sends it.
func benchRequest(b *testing.B) (*http.Request, []byte) {
	body := []byte(`{"key":"value","n":1234567890,"nested":{"a":[1,2,3],"b":"some text to make it realistic"}}`)
	r, err := benchRequestAt("http://127.0.0.1:4566", body, fuzzTime)
	if err != nil {
		b.Fatal(err)
	}
	return r, body
}

func benchRequestAt(base string, body []byte, at time.Time) (*http.Request, error) {
	r, _ := http.NewRequest("POST", base+"/2015-03-31/functions/my-function/invocations", bytes.NewReader(body))
	r.RequestURI = "/2015-03-31/functions/my-function/invocations"
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Amz-Sdk-Invocation-Id", "6ad26e3b-0c2a-4a8c-9b67-5a9a2f5d1a2e")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.47.7 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/lambda#1.114.2")
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), "lambda", "us-east-1", at)
	return r, err
}

// BenchmarkVerify is the signature check alone: parse, cached key, verify.
func BenchmarkVerify(b *testing.B) {
	r, body := benchRequest(b)
	var kc keyCache
	b.ReportAllocs()
	for b.Loop() {
		var a authInfo
		if err := parseAuth(r, &a); err != nil {
			b.Fatal(err)
		}
		if err := a.verify(r, body, kc.get("test", a.scopeDate, a.region, a.service)); err != nil {
			b.Fatal(err.msg, err.canonical)
		}
	}
}

// BenchmarkServeHTTP is the gateway's whole share of a request, up to the
// service's handler.
func BenchmarkServeHTTP(b *testing.B) {
	r, body := benchRequest(b)
	g := New(Config{Credentials: staticCreds{"test": "test"}, Now: func() time.Time { return fuzzTime }})
	g.Register(Service{SigningName: "lambda", Protocol: awswire.RestJSON,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })})
	w := &recordingWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		w.status = 0
		g.ServeHTTP(w, r)
		if w.status != http.StatusNoContent {
			b.Fatalf("status %d: %s", w.status, w.body.String())
		}
	}
}
