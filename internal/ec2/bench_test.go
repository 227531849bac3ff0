package ec2

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// noXMLCheck measures the encoder alone, without the tests' comparison.
func noXMLCheck(b *testing.B) {
	verifyXML = false
	b.Cleanup(func() { verifyXML = true })
}

func benchCall(b *testing.B, svc *Service, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req := &gateway.Request{ID: "bench", Service: "ec2", Region: "us-east-1", Body: []byte(body), Received: time.Now(),
		Principal: gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", IsRoot: true}}
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r.WithContext(gateway.WithRequest(context.Background(), req)))
	if w.Code != 200 {
		b.Fatalf("%s: %d %s", body, w.Code, w.Body.String())
	}
	return w
}

// BenchmarkDescribeSubnets answers filtered DescribeSubnets over 1,000
// subnets, for answers of 1 and 1,000 subnets.
func BenchmarkDescribeSubnets(b *testing.B) {
	noXMLCheck(b)
	svc, err := New(Options{Store: store.NewMemory()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	var vpc string
	for v := 0; v < 4; v++ {
		w := benchCall(b, svc, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10."+strconv.Itoa(v)+".0.0/16")
		s := w.Body.String()
		i := strings.Index(s, "<vpcId>")
		vpc = s[i+7 : i+7+21]
		for i := 0; i < 250; i++ {
			benchCall(b, svc, "Action=CreateSubnet&Version=2016-11-15&VpcId="+vpc+"&CidrBlock=10."+strconv.Itoa(v)+"."+strconv.Itoa(i)+".0/24"+
				"&TagSpecification.1.ResourceType=subnet&TagSpecification.1.Tag.1.Key=idx&TagSpecification.1.Tag.1.Value="+strconv.Itoa(v*250+i))
		}
	}
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			benchCall(b, svc, "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag:idx&Filter.1.Value.1=37")
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			benchCall(b, svc, "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag-key&Filter.1.Value.1=idx")
		}
	})
}

// BenchmarkDescribeSecurityGroups answers DescribeSecurityGroups by name
// over 1,000 groups.
func BenchmarkDescribeSecurityGroups(b *testing.B) {
	noXMLCheck(b)
	svc, err := New(Options{Store: store.NewMemory()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	w := benchCall(b, svc, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16")
	s := w.Body.String()
	i := strings.Index(s, "<vpcId>")
	vpc := s[i+7 : i+7+21]
	for i := 0; i < 1000; i++ {
		benchCall(b, svc, "Action=CreateSecurityGroup&Version=2016-11-15&VpcId="+vpc+"&GroupName=g"+strconv.Itoa(i)+"&GroupDescription=d"+
			"&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=b100&TagSpecification.1.Tag.1.Value="+strconv.Itoa(i/100))
	}
	b.Run("name", func(b *testing.B) {
		for b.Loop() {
			benchCall(b, svc, "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=g7")
		}
	})
	b.Run("hundred", func(b *testing.B) {
		for b.Loop() {
			benchCall(b, svc, "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=tag:b100&Filter.1.Value.1=3")
		}
	})
}
