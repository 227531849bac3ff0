package iam_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

func TestParseAccountSpec(t *testing.T) {
	s, err := iam.ParseAccountSpec("111122223333:AKIAEXAMPLE:se:cr:et")
	if err != nil || s != (iam.AccountSpec{ID: "111122223333", AccessKey: "AKIAEXAMPLE", Secret: "se:cr:et"}) {
		t.Fatalf("%+v %v", s, err)
	}
	for spec, want := range map[string]string{
		"hunter2":                  "account spec has 1 field(s); want ACCOUNT_ID:ACCESS_KEY:SECRET",
		"11112222333:ak:hunter2":   `account id "11112222333": want 12 digits`,
		"11112222333x:ak:hunter2":  `account id "11112222333x": want 12 digits`,
		"111122223333::hunter2":    "account 111122223333: access key is empty",
		"111122223333:ak:":         "account 111122223333: secret is empty",
		"111122223333:a/k:hunter2": `account 111122223333: access key "a/k" may hold only letters, digits, '_', '-' and '.'`,
		"111122223333:a k:hunter2": `account 111122223333: access key "a k" may hold only letters, digits, '_', '-' and '.'`,
		"111122223333:" + strings.Repeat("K", 129) + ":hunter2": "account 111122223333: access key is longer than 128 characters",
	} {
		_, err := iam.ParseAccountSpec(spec)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", spec, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error reveals the secret: %v", spec, err)
		}
	}
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	a, err := iam.NewAccounts(iam.AccountSpec{ID: "111122223333", AccessKey: "AKIAOTHER", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.LookupAccessKey(ctx, "test")
	want := gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", UserID: "123456789012", AccessKeyID: "test", IsRoot: true}
	if err != nil || c.Secret != "test" || c.Principal != want || c.SessionToken != "" || !c.Expires.IsZero() {
		t.Fatalf("default account: %+v %v", c, err)
	}
	if c, _ := a.LookupAccessKey(ctx, "AKIAOTHER"); c.Principal.ARN != "arn:aws:iam::111122223333:root" || c.Secret != "s" {
		t.Fatalf("other account: %+v", c)
	}
	if _, err := a.LookupAccessKey(ctx, "nobody"); !errors.Is(err, gateway.ErrUnknownAccessKey) {
		t.Fatalf("unknown key: %v", err)
	}

	a, _ = iam.NewAccounts(iam.AccountSpec{ID: "111122223333", AccessKey: "test", Secret: "other"})
	if c, _ := a.LookupAccessKey(ctx, "test"); c.Principal.Account != "111122223333" || c.Secret != "other" {
		t.Fatalf("spec did not take over key test: %+v", c)
	}
	_, err = iam.NewAccounts(iam.AccountSpec{ID: "111122223333", AccessKey: "k", Secret: "a"}, iam.AccountSpec{ID: "444455556666", AccessKey: "k", Secret: "b"})
	if err == nil || err.Error() != `access key "k" is given to more than one account` {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := iam.NewAccounts(iam.AccountSpec{ID: "1", AccessKey: "k", Secret: "a"}); err == nil {
		t.Fatal("invalid spec accepted")
	}
}

func newServer(t *testing.T, specs ...iam.AccountSpec) *httptest.Server {
	t.Helper()
	accounts, err := iam.NewAccounts(specs...)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := iam.New(iam.Options{Store: store.NewMemory(), Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Config{Credentials: svc})
	g.Register(svc.STSService())
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

func TestGetCallerIdentityOtherAccount(t *testing.T) {
	srv := newServer(t, iam.AccountSpec{ID: "111122223333", AccessKey: "AKIAOTHER", Secret: "s3cret"})
	c := sts.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAOTHER", "s3cret", "")},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "111122223333" || aws.ToString(out.Arn) != "arn:aws:iam::111122223333:root" || aws.ToString(out.UserId) != "111122223333" {
		t.Fatalf("%s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

func TestSTSActionErrors(t *testing.T) {
	srv := newServer(t)
	for form, want := range map[string]string{
		"Action=AssumeRoleX&Version=2011-06-15":       "Could not find operation AssumeRoleX for version 2011-06-15",
		"Action=GetCallerIdentity&Version=2010-05-08": "Could not find operation GetCallerIdentity for version 2010-05-08",
		"Action=GetCallerIdentity":                    "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED",
		"Version=2011-06-15":                          "Missing Action",
	} {
		body := []byte(form)
		r, _ := http.NewRequest("POST", srv.URL+"/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
			r, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			XMLName xml.Name
			Error   struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		code := "InvalidAction"
		if want == "Missing Action" {
			code = "MissingAction"
		}
		if resp.StatusCode != 400 || e.Error.Code != code || e.Error.Message != want || e.Error.Type != "Sender" ||
			e.XMLName.Space != "https://sts.amazonaws.com/doc/2011-06-15/" {
			t.Errorf("%s: %d %s", form, resp.StatusCode, b)
		}
	}
}
