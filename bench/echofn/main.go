// Command echofn is the benchmark's provided.al2023 function: it returns its
// event unchanged, so what is measured is the path around the handler.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		return ev, nil
	})
}
