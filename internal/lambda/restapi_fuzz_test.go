package lambda

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// FuzzRestAPI sends arbitrary requests through the Lambda router and
// handlers. Whatever arrives, the service must answer with a status and, for
// errors, a rest-json error naming its type, and the store must stay
// readable by the service after a restart.
func FuzzRestAPI(f *testing.F) {
	zip := makeZip(f, map[string]string{"bootstrap": "#!/bin/sh\n"})
	create, _ := json.Marshal(map[string]any{
		"FunctionName": "fz", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Role": "arn:aws:iam::123456789012:role/r", "Code": map[string]any{"ZipFile": zip},
	})
	seeds := []struct{ method, path, body string }{
		{"POST", "/2015-03-31/functions", string(create)},
		{"GET", "/2015-03-31/functions?MaxItems=1", ""},
		{"GET", "/2015-03-31/functions/fz", ""},
		{"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afz/configuration?Qualifier=%24LATEST", ""},
		{"PUT", "/2015-03-31/functions/fz/configuration", `{"MemorySize":256,"Environment":{"Variables":{"AB":"c"}}}`},
		{"PUT", "/2015-03-31/functions/fz/code", `{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}`},
		{"POST", "/2015-03-31/functions/fz/invocations", `{"a":1}`},
		{"POST", "/2015-03-31/functions/fz/versions", `{}`},
		{"POST", "/2015-03-31/functions/fz/aliases", `{"Name":"live","FunctionVersion":"1"}`},
		{"PUT", "/2015-03-31/functions/fz/aliases/live", `{"RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}}`},
		{"PUT", "/2017-10-31/functions/fz/concurrency", `{"ReservedConcurrentExecutions":5}`},
		{"POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:123456789012:function:fz", `{"Tags":{"a":"b"}}`},
		{"DELETE", "/2017-03-31/tags/arn:aws:lambda:us-east-1:123456789012:function:fz?tagKeys=a", ""},
		{"DELETE", "/2015-03-31/functions/fz?Qualifier=1", ""},
		{"GET", "/2016-08-19/account-settings", ""},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"x","Code":{"ZipFile":"!!"}}`},
		{"POST", "/2015-03-31/functions", `[1,2`},
		{"PUT", "/2015-03-31/functions/fz/configuration", `{"VpcConfig":{"SubnetIds":["subnet-0a1b2c3d"],"SecurityGroupIds":["sg-0a1b2c3d"],"Ipv6AllowedForDualStack":false}}`},
		{"PUT", "/2015-03-31/functions/fz/configuration", `{"VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[]}}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		st := store.NewMemory()
		h := &harness{t: t, sb: &fakeSandbox{}, st: st, dir: t.TempDir(), c: caller{Account: "123456789012", Region: "us-east-1"}}
		h.start()
		handler := h.svc.GatewayService().Handler
		send := func(method, target, body string) *httptest.ResponseRecorder {
			r, err := http.NewRequest(method, "http://lambda.test"+target, strings.NewReader(body))
			if err != nil {
				return nil
			}
			req := &gateway.Request{ID: "fuzz", Service: "lambda", Region: "us-east-1", Body: []byte(body), Received: time.Now(),
				Principal: gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", IsRoot: true}}
			r = r.WithContext(gateway.WithRequest(r.Context(), req))
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			return w
		}
		send("POST", "/2015-03-31/functions", string(create))
		w := send(method, path, body)
		if w == nil {
			return
		}
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 && w.Code != http.StatusMethodNotAllowed && w.Code != http.StatusMovedPermanently {
			if w.Header().Get("x-amzn-ErrorType") == "" || !json.Valid(bytes.TrimSpace(w.Body.Bytes())) {
				t.Fatalf("%d without a rest-json error: %q", w.Code, w.Body.String())
			}
		}
		h.svc.Close()
		// Whatever was acknowledged must load again.
		h.start()
	})
}
