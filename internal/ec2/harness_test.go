package ec2_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// env is an EC2 service behind the real gateway and IAM, with a client
// signed as the default account's root.
type env struct {
	svc *ec2.Service
	iam *iam.Service
	url string
	st  store.Store
	ec2 *sdk.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, store.NewMemory(), ec2.Options{})
}

func newEnvWith(t *testing.T, st store.Store, opts ec2.Options, more ...iam.AccountSpec) *env {
	t.Helper()
	accounts, err := iam.NewAccounts(more...)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := iam.New(iam.Options{Store: st, Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Authorizer = st, ids
	svc, err := ec2.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	g := gateway.New(gateway.Config{Credentials: ids})
	g.Register(svc.Gateway())
	g.Register(ids.IAMService())
	g.Register(ids.STSService())
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	e := &env{svc: svc, iam: ids, url: srv.URL, st: st}
	e.ec2 = e.client("test", "test", "")
	return e
}

// client is an EC2 client with the given credentials, in us-east-1.
func (e *env) client(ak, secret, token string) *sdk.Client {
	return e.clientIn("us-east-1", ak, secret, token)
}

func (e *env) clientIn(region, ak, secret, token string) *sdk.Client {
	return sdk.NewFromConfig(aws.Config{Region: region,
		Credentials:      credentials.NewStaticCredentialsProvider(ak, secret, token),
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Transport: bodyGuard{http.DefaultTransport}}},
		func(o *sdk.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// bodyGuard hides the WriteTo of request bodies. The SDK closes a request
// body as soon as the response arrives, while net/http may still be
// draining it after the write; the SDK's closed body answers WriteTo with
// io.EOF, which the transport takes for a write error, and it closes the
// connection under the response being read (large answers then fail with
// "use of closed network connection"). Read answers io.EOF, which is fine.
type bodyGuard struct{ http.RoundTripper }

func (g bodyGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return g.RoundTripper.RoundTrip(r)
}

var ctx = context.Background()

// wantAPIError fails unless err is an AWS error with code (and, when msg
// is not empty, exactly that message).
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}
