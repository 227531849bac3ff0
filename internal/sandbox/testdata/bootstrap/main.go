// Command bootstrap is a provided-runtime bootstrap for the sandbox tests. It
// speaks the Runtime API directly with net/http, as a custom runtime does,
// and does what each invocation's payload asks ({"op": ...}).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	api    = "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/"
	ticks  atomic.Int64
	probes []probe // Runtime API answers recorded after a response, for "report"
)

type probe struct {
	Call   string `json:"call"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type request struct {
	Op    string `json:"op"`
	MS    int    `json:"ms"`
	Code  int    `json:"code"`
	Lines int    `json:"lines"`
	Size  int    `json:"size"`
	MB    int    `json:"mb"`
	N     int    `json:"n"`
	Token string `json:"token"`
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "child" {
		// A process the function leaves behind; args[2] is a token the
		// test finds it by.
		time.Sleep(time.Hour)
		return
	}
	switch os.Getenv("BOOT_INIT") {
	case "error":
		fmt.Println("init: failing with an import error")
		post("init/error", "Runtime.ImportModuleError",
			[]byte(`{"errorMessage":"Unable to import module 'x'","errorType":"Runtime.ImportModuleError","stackTrace":[]}`))
		os.Exit(1)
	case "exit":
		fmt.Println("init: exiting")
		os.Exit(3)
	case "hang":
		fmt.Println("init: hanging")
		time.Sleep(time.Hour)
	case "print":
		fmt.Println("hello from init")
	}
	for {
		resp, err := http.Get(api + "invocation/next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(2)
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		handle(id, resp.Header, payload)
	}
}

func handle(id string, h http.Header, payload []byte) {
	var req request
	_ = json.Unmarshal(payload, &req)
	respond := func(v any) {
		b, _ := json.Marshal(v)
		post("invocation/"+id+"/response", "", b)
	}
	switch req.Op {
	case "echo", "":
		post("invocation/"+id+"/response", "", payload)
	case "sleep":
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
		respond(map[string]int{"slept": req.MS})
	case "exit":
		fmt.Println("exiting with", req.Code)
		os.Exit(req.Code)
	case "exitafter":
		respond("bye")
		os.Exit(0)
	case "slownext":
		respond("later")
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
	case "error":
		post("invocation/"+id+"/error", "MyError",
			[]byte(`{"errorMessage":"boom","errorType":"MyError","stackTrace":["main.go:1"]}`))
	case "print":
		for i := range req.Lines {
			fmt.Printf("line %d %s\n", i, strings.Repeat("x", req.Size))
		}
		respond(map[string]int{"printed": req.Lines})
	case "partial":
		fmt.Print("no newline at the end")
		respond("ok")
	case "alloc":
		b := make([]byte, req.MB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		respond(map[string]int{"allocated": len(b) >> 20})
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		cwd, _ := os.Getwd()
		env["(cwd)"] = cwd
		respond(env)
	case "headers":
		out := map[string]string{}
		for k := range h {
			out[k] = h.Get(k)
		}
		respond(out)
	case "stat":
		respond(stat())
	case "ticker":
		go func() {
			for {
				time.Sleep(5 * time.Millisecond)
				ticks.Add(1)
			}
		}()
		respond("started")
	case "ticks":
		respond(map[string]int64{"ticks": ticks.Load()})
	case "spawn":
		cmd := exec.Command("/proc/self/exe", "child", req.Token)
		if err := cmd.Start(); err != nil {
			respond(err.Error())
			return
		}
		respond(map[string]int{"pid": cmd.Process.Pid})
	case "big":
		b := make([]byte, req.N)
		for i := range b {
			b[i] = 'a'
		}
		st, body := post("invocation/"+id+"/response", "", b)
		probes = []probe{{Call: "big response", Status: st, Body: body}}
	case "misuse":
		var got []probe
		for _, c := range []struct{ call, path string }{
			{"unknown id", "invocation/not-the-id/response"},
			{"unknown id error", "invocation/not-the-id/error"},
			{"init error after init", "init/error"},
		} {
			st, body := post(c.path, "", []byte(`{}`))
			got = append(got, probe{Call: c.call, Status: st, Body: body})
		}
		respond(got)
		st, body := post("invocation/"+id+"/response", "", []byte(`"again"`))
		probes = []probe{{Call: "second response", Status: st, Body: body}}
	case "report":
		respond(probes)
	default:
		respond("unknown op " + req.Op)
	}
}

func stat() map[string]any {
	out := map[string]any{"pid": os.Getpid()}
	out["hostname"], _ = os.Hostname()
	out["cwd"], _ = os.Getwd()
	if err := os.WriteFile("/var/task/probe", []byte("x"), 0o644); err != nil {
		out["taskWrite"] = err.Error()
	} else {
		out["taskWrite"] = "ok"
	}
	if err := os.WriteFile("/tmp/probe", []byte("x"), 0o644); err != nil {
		out["tmpWrite"] = err.Error()
	} else {
		out["tmpWrite"] = "ok"
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/tmp", &fs); err == nil {
		out["tmpBytes"] = fs.Blocks * uint64(fs.Bsize)
	}
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			n++
		}
	}
	out["procs"] = n
	return out
}

// post sends body to the Runtime API and returns the answer.
func post(path, errorType string, body []byte) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, api+path, bytes.NewReader(body))
	if errorType != "" {
		req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "post:", err)
		os.Exit(2)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}
