// Command gofn is the provided.al2023 test function of the end-to-end tests.
// The event's "mode" chooses what it does, so one deployment package covers
// echo, timeouts, crashes, logging, memory pressure and asynchronous markers.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// envID tells execution environments apart; a PID would not, since every
// environment has its own PID namespace.
var envID = func() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var count atomic.Int64

type event struct {
	Mode  string `json:"mode"`
	Ms    int    `json:"ms"`
	Msg   string `json:"msg"`
	Code  int    `json:"code"`
	Lines int    `json:"lines"`
	MB    int    `json:"mb"`
	ID    string `json:"id"`
	Fail  bool   `json:"fail"`
}

var envNames = []string{
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "TZ", "AWS_LAMBDA_RUNTIME_API",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "GREETING",
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	n := count.Add(1)
	var ev event
	// Payloads that are not objects are simply echoed.
	_ = json.Unmarshal(raw, &ev)
	switch ev.Mode {
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "panic":
		panic(ev.Msg)
	case "error":
		return nil, errors.New(ev.Msg)
	case "exit":
		os.Exit(ev.Code)
	case "print":
		for i := range ev.Lines {
			fmt.Printf("line %d of %d\n", i+1, ev.Lines)
		}
	case "alloc":
		b := make([]byte, ev.MB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		return map[string]int{"allocated": len(b)}, nil
	case "marker":
		f, err := os.OpenFile(filepath.Join(os.Getenv("MARKER_DIR"), "marker"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		_, err = fmt.Fprintln(f, ev.ID)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		if ev.Fail {
			return nil, errors.New("marker failure " + ev.ID)
		}
	}
	lc, _ := lambdacontext.FromContext(ctx)
	env := map[string]string{}
	for _, k := range envNames {
		env[k] = os.Getenv(k)
	}
	deadline, _ := ctx.Deadline()
	return map[string]any{
		"event":      raw,
		"env":        env,
		"envId":      envID,
		"count":      n,
		"requestId":  lc.AwsRequestID,
		"invokedArn": lc.InvokedFunctionArn,
		"deadlineIn": time.Until(deadline).Milliseconds(),
	}, nil
}

func main() {
	lambda.Start(handle)
}
