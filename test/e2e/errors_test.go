package e2e

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const patFunctionName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// TestAPIErrors checks the Lambda API's errors through aws-sdk-go-v2's typed
// exceptions: code, HTTP status and the exact message.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.lambda()

	t.Run("bad creates leave nothing behind", func(t *testing.T) {
		create := func(name, runtime string, zip []byte) error {
			_, err := c.CreateFunction(ctxT(t), &lambda.CreateFunctionInput{
				FunctionName: aws.String(name), Runtime: types.Runtime(runtime), Handler: aws.String("index.handler"),
				Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip},
			})
			return err
		}

		err := create("badzip", "nodejs20.x", []byte("this is not a zip file"))
		checkAPIError(t, err, "InvalidParameterValueException", 400, "Could not unzip uploaded file. Please check your file, then try to upload again.")
		var ipv *types.InvalidParameterValueException
		if errors.As(err, &ipv) && aws.ToString(ipv.Type) != "User" {
			t.Errorf("InvalidParameterValueException Type = %q, want User", aws.ToString(ipv.Type))
		}

		err = create("badruntime", "cobol1.x", nodeEchoZip)
		checkAPIError(t, err, "InvalidParameterValueException", 400, "")
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "Value cobol1.x at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [") ||
				!strings.Contains(msg, "nodejs20.x") || !strings.Contains(msg, "provided.al2023") || !strings.HasSuffix(msg, "] or be a valid ARN") {
				t.Errorf("unsupported runtime message: %s", msg)
			}
		}

		err = create("bad name!", "nodejs20.x", nodeEchoZip)
		checkAPIError(t, err, "ValidationException", 400,
			"1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "+patFunctionName)

		evil := "lp-e2e-escaped-" + filepath.Base(s.dataDir)
		traversal, zerr := makeZip(
			zipEntry{"index.js", []byte("exports.handler = async () => 1;"), 0o644},
			zipEntry{"../../../../" + evil, []byte("escaped"), 0o644},
		)
		if zerr != nil {
			t.Fatal(zerr)
		}
		err = create("traversal", "nodejs20.x", traversal)
		checkAPIError(t, err, "InvalidParameterValueException", 400, "")
		filepath.WalkDir(s.dataDir, func(p string, de os.DirEntry, err error) error {
			if err == nil && de.Name() == evil {
				t.Errorf("a zip entry escaped to %s", p)
			}
			return nil
		})
		for d := filepath.Dir(s.dataDir); ; d = filepath.Dir(d) {
			if _, err := os.Lstat(filepath.Join(d, evil)); err == nil {
				t.Errorf("a zip entry escaped to %s", filepath.Join(d, evil))
			}
			if d == "/" {
				break
			}
		}

		out, err := c.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 0 {
			var names []string
			for _, f := range out.Functions {
				names = append(names, aws.ToString(f.FunctionName))
			}
			t.Errorf("functions after failed creates: %v", names)
		}
		for _, name := range []string{"badzip", "badruntime", "traversal"} {
			_, err := c.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
			checkAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+fnARN(name))
		}
	})

	createFunction(t, c, fnSpec{name: "dup", runtime: "provided.al2023", handler: "bootstrap", zip: goZip})

	t.Run("ResourceNotFoundException", func(t *testing.T) {
		_, err := c.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
		checkAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+fnARN("nope"))
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("not a *types.ResourceNotFoundException: %T", err)
		} else if aws.ToString(nf.Type) != "User" {
			t.Errorf("Type = %q, want User", aws.ToString(nf.Type))
		}
		_, err = c.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("dup"), Qualifier: aws.String("7")})
		checkAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+fnARN("dup")+":7")
		_, err = tryInvoke(t, c, "nope", `{}`, invokeOpts{})
		checkAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+fnARN("nope"))
		_, err = c.DeleteFunction(ctxT(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("nope")})
		checkAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+fnARN("nope"))
	})

	t.Run("ResourceConflictException", func(t *testing.T) {
		_, err := c.CreateFunction(ctxT(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String("dup"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String(role), Code: &types.FunctionCode{ZipFile: goZip},
		})
		checkAPIError(t, err, "ResourceConflictException", 409, "Function already exist: dup")
		var rc *types.ResourceConflictException
		if !errors.As(err, &rc) {
			t.Errorf("not a *types.ResourceConflictException: %T", err)
		}
	})

	// Lambda answers oversized invocations with RequestEntityTooLargeException
	// on the wire (the model's RequestTooLargeException is never sent).
	t.Run("RequestEntityTooLargeException", func(t *testing.T) {
		big := make([]byte, 6<<20+1)
		for i := range big {
			big[i] = ' '
		}
		copy(big, `{"k":"v"}`)
		_, err := tryInvoke(t, c, "dup", big, invokeOpts{})
		checkAPIError(t, err, "RequestEntityTooLargeException", 413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		_, err = tryInvoke(t, c, "dup", big[:256<<10+1], invokeOpts{invokeType: types.InvocationTypeEvent})
		checkAPIError(t, err, "RequestEntityTooLargeException", 413, "262145 byte payload is too large for the Event invocation type (limit 262144 bytes)")
	})

	t.Run("TooManyRequestsException with reserved concurrency 0", func(t *testing.T) {
		if _, err := c.PutFunctionConcurrency(ctxT(t), &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String("dup"), ReservedConcurrentExecutions: aws.Int32(0),
		}); err != nil {
			t.Fatal(err)
		}
		_, err := tryInvoke(t, c, "dup", `{}`, invokeOpts{})
		checkAPIError(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
		var tmr *types.TooManyRequestsException
		if !errors.As(err, &tmr) {
			t.Fatalf("not a *types.TooManyRequestsException: %T", err)
		}
		if tmr.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
			t.Errorf("Reason = %q, want ReservedFunctionConcurrentInvocationLimitExceeded", tmr.Reason)
		}
		if _, err := c.DeleteFunctionConcurrency(ctxT(t), &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("dup")}); err != nil {
			t.Fatal(err)
		}
		okGo(t, c, "dup", `{}`, invokeOpts{})
	})

	t.Run("DryRun", func(t *testing.T) {
		out := invoke(t, c, "dup", `{}`, invokeOpts{invokeType: types.InvocationTypeDryRun})
		if out.StatusCode != 204 || len(out.Payload) != 0 {
			t.Errorf("DryRun: status %d payload %q, want 204 and nothing", out.StatusCode, out.Payload)
		}
	})

	t.Run("ListFunctions paging", func(t *testing.T) {
		createFunction(t, c, fnSpec{name: "dup2", runtime: "provided.al2023", handler: "bootstrap", zip: goZip})
		p1, err := c.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p1.Functions) != 1 || p1.NextMarker == nil {
			t.Fatalf("first page: %d functions, NextMarker %v", len(p1.Functions), p1.NextMarker)
		}
		p2, err := c.ListFunctions(ctxT(t), &lambda.ListFunctionsInput{MaxItems: aws.Int32(1), Marker: p1.NextMarker})
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Functions) != 1 || p2.NextMarker != nil {
			t.Fatalf("second page: %d functions, NextMarker %v", len(p2.Functions), aws.ToString(p2.NextMarker))
		}
		if a, b := aws.ToString(p1.Functions[0].FunctionName), aws.ToString(p2.Functions[0].FunctionName); a != "dup" || b != "dup2" {
			t.Errorf("pages list %s then %s, want dup then dup2", a, b)
		}
	})

	t.Run("UnrecognizedClientException", func(t *testing.T) {
		bad := lambda.NewFromConfig(s.awsConfig("AKIDNOTAKEY", "test"))
		_, err := bad.GetAccountSettings(ctxT(t), &lambda.GetAccountSettingsInput{})
		checkAPIError(t, err, "UnrecognizedClientException", 403, "The security token included in the request is invalid.")
		_, err = sts.NewFromConfig(s.awsConfig("AKIDNOTAKEY", "test")).GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
		checkAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	})

	t.Run("InvalidSignatureException", func(t *testing.T) {
		bad := lambda.NewFromConfig(s.awsConfig("test", "not-the-secret"))
		_, err := bad.GetAccountSettings(ctxT(t), &lambda.GetAccountSettingsInput{})
		checkAPIError(t, err, "InvalidSignatureException", 403, "")
		const want = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("message does not start with AWS's text: %v", err)
		}
		_, err = sts.NewFromConfig(s.awsConfig("test", "not-the-secret")).GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
		checkAPIError(t, err, "SignatureDoesNotMatch", 403, "")
	})

	t.Run("unsigned request", func(t *testing.T) {
		resp, err := http.Get(s.url + "/2015-03-31/functions")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" ||
			!bytes.Contains(body, []byte("Missing Authentication Token")) {
			t.Errorf("unsigned ListFunctions: %d %q %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("no x-amzn-RequestId on an error response")
		}
	})

	t.Run("sts GetCallerIdentity", func(t *testing.T) {
		out, err := s.sts().GetCallerIdentity(ctxT(t), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Account) != account || aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(out.UserId) != account {
			t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
		}
		if requestID(out.ResultMetadata) == "" {
			t.Errorf("no request id")
		}
	})
}
