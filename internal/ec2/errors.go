package ec2

import (
	"fmt"
	"net/http"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// apiError is an EC2 client error: HTTP 400 with Code and Message in the
// <Response><Errors> envelope.
func apiError(code, format string, args ...any) *awswire.Error {
	return &awswire.Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...), Sender: true}
}

func errInvalidParam(format string, args ...any) *awswire.Error {
	return apiError("InvalidParameterValue", format, args...)
}

func errMissing(param string) *awswire.Error {
	return apiError("MissingParameter", "The request must contain the parameter %s", param)
}

func errCombination(format string, args ...any) *awswire.Error {
	return apiError("InvalidParameterCombination", format, args...)
}

func errDependency(format string, args ...any) *awswire.Error {
	return apiError("DependencyViolation", format, args...)
}

func errNotPermitted(format string, args ...any) *awswire.Error {
	return apiError("OperationNotPermitted", format, args...)
}

// errDryRun is what a request with DryRun=true gets when it would have
// been allowed; AWS sends it with HTTP 412.
func errDryRun() *awswire.Error {
	return &awswire.Error{Status: http.StatusPreconditionFailed, Code: "DryRunOperation",
		Message: "Request would have succeeded, but DryRun flag is set.", Sender: true}
}

func errUnauthorized(msg string) *awswire.Error {
	return &awswire.Error{Status: http.StatusForbidden, Code: "UnauthorizedOperation", Message: msg, Sender: true}
}
