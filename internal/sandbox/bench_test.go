package sandbox

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var echoPayload = []byte(`{"op":"echo","message":"hello"}`)

// BenchmarkLoopbackHTTP is the baseline the warm invoke is measured against:
// one bare Go HTTP echo round trip over loopback.
func BenchmarkLoopbackHTTP(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	client := &http.Client{}
	self0 := cpuTime(0)
	for b.Loop() {
		resp, err := client.Post(url, "application/json", bytes.NewReader(echoPayload))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(cpuTime(0)-self0)/float64(b.N)/float64(time.Microsecond), "cpu-us/op")
}

// BenchmarkWarmInvoke is one invocation of a warm environment running a
// provided-runtime echo function, without and with isolation.
func BenchmarkWarmInvoke(b *testing.B) {
	for _, md := range []mode{{"plain", false}, {"isolated", true}} {
		b.Run(md.name, func(b *testing.B) {
			m := newManager(b, md.isolate, nil)
			e := start(b, m, testSpec())
			inv := Invocation{RequestID: "00000000-0000-4000-8000-000000000000", Payload: echoPayload}
			ctx := context.Background()
			self0, rt0 := cpuTime(0), cpuTime(e.(*env).pid)
			for b.Loop() {
				r, err := e.Invoke(ctx, inv)
				if err != nil || r.FunctionError != "" {
					b.Fatal(err, r.FunctionError)
				}
			}
			// CPU per invocation, on our side and the runtime's: unlike
			// wall time it does not depend on what else the machine runs.
			n := float64(b.N) * float64(time.Microsecond)
			b.ReportMetric(float64(cpuTime(0)-self0)/n, "server-cpu-us/op")
			b.ReportMetric(float64(cpuTime(e.(*env).pid)-rt0)/n, "runtime-cpu-us/op")
		})
	}
}

// BenchmarkWarmInvokeConcurrent16 keeps 16 warm environments busy at once;
// ns/op is the inverse of the throughput.
func BenchmarkWarmInvokeConcurrent16(b *testing.B) {
	sink := func(*Spec, []byte) {}
	m := newManager(b, false, sink)
	const n = 16
	envs := make(chan Env, n)
	var pids []int
	for range n {
		e := start(b, m, testSpec())
		pids = append(pids, e.(*env).pid)
		envs <- e
	}
	runtimeCPU := func() (d time.Duration) {
		for _, pid := range pids {
			d += cpuTime(pid)
		}
		return d
	}
	b.SetParallelism((n + 1) / 2)
	self0, rt0 := cpuTime(0), runtimeCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		e := <-envs
		defer func() { envs <- e }()
		inv := Invocation{RequestID: "00000000-0000-4000-8000-000000000000", Payload: echoPayload}
		for pb.Next() {
			if _, err := e.Invoke(context.Background(), inv); err != nil {
				b.Error(err)
				return
			}
		}
	})
	per := float64(b.N) * float64(time.Microsecond)
	b.ReportMetric(float64(cpuTime(0)-self0)/per, "server-cpu-us/op")
	b.ReportMetric(float64(runtimeCPU()-rt0)/per, "runtime-cpu-us/op")
}

// BenchmarkColdStart is a cold start: Start (for isolated environments:
// namespaces, cgroups, mounts) up to the bootstrap's first /next, and the
// first invocation. It reports the median as p50-ms. "isolated" measures the
// steady state in which a spare init is ready (the manager refills its
// spares between cold starts); "isolated-nospare" pays for creating one.
func BenchmarkColdStart(b *testing.B) {
	cases := []struct {
		name    string
		isolate bool
		prewarm int
	}{{"plain", false, 0}, {"isolated", true, 0}, {"isolated-nospare", true, -1}}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			m := newManager(b, tc.isolate, nil, func(c *Config) { c.Prewarm = tc.prewarm })
			spec := testSpec()
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				e, err := m.Start(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Invoke(context.Background(), Invocation{RequestID: "00000000-0000-4000-8000-000000000000", Payload: echoPayload}); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
				b.StopTimer()
				e.Close()
				for len(m.pool) < cap(m.pool) {
					time.Sleep(time.Millisecond)
				}
				b.StartTimer()
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "p50-ms")
		})
	}
}

// cpuTime is the user+system CPU a process (0: this one) has used.
func cpuTime(pid int) time.Duration {
	name := "/proc/self/stat"
	if pid != 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks of 10ms.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
