package ec2

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

type fuzzNested struct {
	Name   string
	Values []string `ec2:"Value"`
	Port   *int32
	Deep   []struct {
		CidrIP string `ec2:"CidrIp"`
		On     *bool
	} `ec2:"Deep"`
}

type fuzzInput struct {
	DryRun  bool
	Count   int
	IDs     []string `ec2:"Id"`
	Filters []Filter `ec2:"Filter"`
	Nested  []fuzzNested
	Attr    *vpcAttrValue
	Single  fuzzNested
}

// The decoder faces every request: whatever the form, it fills the struct
// or returns an AWS error, never panics, and keeps list order by index.
func FuzzDecodeForm(f *testing.F) {
	f.Add("Action=X&Id.1=a&Id.3=c&Id.2=b")
	f.Add("Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.2.Name=tag:k&Filter.2.Value.10=x")
	f.Add("Nested.1.Deep.1.CidrIp=10.0.0.0/8&Nested.1.Deep.2.On=true&Nested.1.Port=-1&Attr.Value=false")
	f.Add("Count=99999999999999999999&DryRun=maybe")
	f.Add("Id.0=x&Id.-1=y&Id.99999999=z&Id.1.2=w&Single.Values.1=q")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var in fuzzInput
		if err := decodeForm(form, &in); err != nil {
			if !strings.HasPrefix(err.Error(), "InvalidParameterValue: ") {
				t.Fatalf("decode error is not an AWS error: %v", err)
			}
			return
		}
		if len(form.Get("Id.1")) > 0 && (len(in.IDs) == 0 || in.IDs[0] != form.Get("Id.1")) {
			t.Fatalf("Id.1=%q decoded as %q", form.Get("Id.1"), in.IDs)
		}
	})
}

// globMatch agrees with a regular expression built from the same pattern.
func FuzzGlobMatch(f *testing.F) {
	f.Add("vpc-*", "vpc-0123")
	f.Add("a?c", "abc")
	f.Add(`a\*b`, "a*b")
	f.Add("**x*", "yyx")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 64 {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for i := 0; i < len(pattern); i++ {
			switch c := pattern[i]; {
			case c == '*':
				re.WriteString(`.*`)
			case c == '?':
				re.WriteString(`.`)
			case c == '\\' && i+1 < len(pattern):
				i++
				re.WriteString(regexp.QuoteMeta(string(pattern[i])))
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString(`\z`)
		// Byte-wise: the filter values are compared as bytes, as the regexp
		// is over the same bytes only when both are valid UTF-8.
		if !isASCII(pattern) || !isASCII(s) {
			return
		}
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := globMatch(pattern, s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Every action, whatever its parameters: an answer in EC2's XML (success
// or an error envelope), never a panic or a server fault.
func FuzzQueryAPI(f *testing.F) {
	f.Add("Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16")
	f.Add("Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag:x&Filter.1.Value.1=*&MaxResults=5&NextToken=zzz")
	f.Add("Action=CreateSubnet&Version=2016-11-15&VpcId=vpc-1&CidrBlock=10.0.0.0/24")
	f.Add("Action=CreateTags&Version=2016-11-15&ResourceId.1=vpc-12345678&Tag.1.Key=a&Tag.1.Value=b")
	f.Add("Action=DescribeTags&Version=2016-11-15&Filter.1.Name=key&Filter.1.Value.1=a")
	f.Add("Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=0")
	f.Add("Action=CreateRoute&Version=2016-11-15&RouteTableId=rtb-1&DestinationCidrBlock=0.0.0.0/0&GatewayId=igw-1")
	f.Add("Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=1&MaxCount=1")
	f.Add("Action=CreateVpcEndpoint&Version=2016-11-15&VpcId=vpc-1&ServiceName=com.amazonaws.us-east-1.s3")
	f.Add("Action=CreateVpcPeeringConnection&Version=2016-11-15&VpcId=vpc-1&PeerVpcId=vpc-2")
	svc, err := New(Options{Store: store.NewMemory()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req := &gateway.Request{ID: "fuzz", Service: "ec2", Region: "us-east-1", Body: []byte(body), Received: time.Now(),
			Principal: gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", IsRoot: true}}
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r.WithContext(gateway.WithRequest(context.Background(), req)))
		if w.Code >= 500 {
			t.Fatalf("server fault %d for %q: %s", w.Code, body, w.Body.String())
		}
		var anyXML struct{ XMLName xml.Name }
		if err := xml.Unmarshal(w.Body.Bytes(), &anyXML); err != nil {
			t.Fatalf("answer is not XML for %q: %v\n%s", body, err, w.Body.String())
		}
	})
}
