package lambda

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// BenchmarkInvokeHandler measures the Lambda side of a warm invoke: routing,
// admission, scheduling and the response, with an in-process environment.
func BenchmarkInvokeHandler(b *testing.B) {
	h := &harness{t: &testing.T{}, sb: &fakeSandbox{}, st: store.NewMemory(), dir: b.TempDir(), c: caller{Account: "123456789012", Region: "us-east-1"}}
	h.start()
	defer h.svc.Close()
	h.create("bench")
	h.waitSettled("bench", "")
	handler := h.svc.GatewayService().Handler
	body := `{"op":"noop","k":"v"}`
	req := &gateway.Request{ID: "bench", Service: "lambda", Region: "us-east-1", Body: []byte(body), Received: time.Now(),
		Principal: gateway.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", IsRoot: true}}
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "http://lambda.test/2015-03-31/functions/bench/invocations", strings.NewReader(body))
		r = r.WithContext(gateway.WithRequest(r.Context(), req))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
