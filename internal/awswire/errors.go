// Package awswire holds what every AWS protocol lambdaplane speaks shares:
// the error type services return and the codecs that write it as each
// protocol's envelope (rest-json, json, query/XML, ec2).
package awswire

import "fmt"

// Protocol is an AWS wire protocol as botocore's service models name them.
type Protocol string

const (
	RestJSON Protocol = "rest-json" // lambda
	JSON     Protocol = "json"      // logs
	Query    Protocol = "query"     // iam, sts, cloudformation
	EC2      Protocol = "ec2"       // ec2
)

// Error is an AWS error as a service returns it: the HTTP status, the error
// code (the exception name for JSON protocols, the Code for XML ones) and the
// message text, exactly as AWS words them.
type Error struct {
	Status  int
	Code    string
	Message string
	// Sender is true for client faults (Type "User" in Lambda's bodies,
	// <Type>Sender</Type> in query errors); false for service faults.
	Sender bool
	// MessageKey is the JSON member that carries the message in rest-json and
	// json bodies ("message" or "Message", as the service model names it).
	// Empty means "message".
	MessageKey string
	// OmitType leaves Lambda's "Type" member out of rest-json bodies (Coral's
	// ValidationException has none).
	OmitType bool
	// Fields are extra top-level members of a JSON body (e.g. "Reason").
	Fields map[string]string
	// Headers are extra response headers (e.g. Retry-After).
	Headers map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds a client-fault error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Sender: true}
}
