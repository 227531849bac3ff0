package lambda

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// Lambda's exceptions, with the status codes and message member names of the
// service model (aws-semantics.md §1.5).

func errInvalidParameter(format string, args ...any) *awswire.Error {
	return awswire.Errorf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func errNotFound(format string, args ...any) *awswire.Error {
	e := awswire.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
	e.MessageKey = "Message"
	return e
}

func errFunctionNotFound(arn string) *awswire.Error {
	return errNotFound("Function not found: %s", arn)
}

func errConflict(format string, args ...any) *awswire.Error {
	return awswire.Errorf(http.StatusConflict, "ResourceConflictException", format, args...)
}

func errPrecondition() *awswire.Error {
	return awswire.Errorf(http.StatusPreconditionFailed, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

func errUpdateInProgress(arn string) *awswire.Error {
	return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", arn)
}

func errPendingResource(arn, state, code string) *awswire.Error {
	return errConflict("The operation cannot be performed at this time. The resource %s is currently in the following state: '%s'. StateReasonCode: '%s'", arn, state, code)
}

func errInvokeState(state string) *awswire.Error {
	return errConflict("The operation cannot be performed at this time. The function is currently in the following state: %s", state)
}

func errTooManyRequests(reason string, retryAfter int) *awswire.Error {
	e := awswire.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	e.Fields = map[string]string{"Reason": reason}
	e.Headers = map[string]string{"Retry-After": strconv.Itoa(retryAfter)}
	return e
}

// errRequestTooLarge is what Lambda sends on the wire for oversized
// requests: RequestEntityTooLargeException, not the model's
// RequestTooLargeException.
func errRequestTooLarge(format string, args ...any) *awswire.Error {
	return awswire.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", format, args...)
}

func errInvalidContent(format string, args ...any) *awswire.Error {
	return awswire.Errorf(http.StatusBadRequest, "InvalidRequestContentException", format, args...)
}

// errValidation is Coral's input validation error: no Type member.
func errValidation(problems []string) *awswire.Error {
	msg := fmt.Sprintf("%d validation error", len(problems))
	if len(problems) > 1 {
		msg += "s"
	}
	msg += " detected: "
	for i, p := range problems {
		if i > 0 {
			msg += "; "
		}
		msg += p
	}
	e := awswire.Errorf(http.StatusBadRequest, "ValidationException", "%s", msg)
	e.OmitType = true
	return e
}

func errService(format string, args ...any) *awswire.Error {
	e := awswire.Errorf(http.StatusInternalServerError, "ServiceException", format, args...)
	e.Sender = false
	e.MessageKey = "Message"
	return e
}
