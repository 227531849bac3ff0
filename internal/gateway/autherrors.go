package gateway

import (
	"net/http"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

const (
	tokenInvalid = "The security token included in the request is invalid."
	tokenExpired = "The security token included in the request is expired"
	ec2AuthFail  = "AWS was not able to validate the provided access credentials"
	ec2Expired   = "Request has expired."
)

// authReply is how one protocol answers one kind of authentication failure;
// an empty msg means the failure's own message.
type authReply struct {
	status int
	code   string
	msg    string
}

// authReplies holds each protocol's status, code and text per authKind, as
// AWS's front ends send them: Lambda's 403s with *Exception names, the json
// services' 400s, STS/IAM's query codes and EC2's AuthFailure.
var authReplies = map[awswire.Protocol][authExpiredToken + 1]authReply{
	awswire.RestJSON: {
		authMissing:      {http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		authIncomplete:   {http.StatusForbidden, "IncompleteSignatureException", ""},
		authInvalidToken: {http.StatusForbidden, "UnrecognizedClientException", tokenInvalid},
		authSignature:    {http.StatusForbidden, "InvalidSignatureException", ""},
		authSkew:         {http.StatusForbidden, "InvalidSignatureException", ""},
		authExpiredToken: {http.StatusForbidden, "ExpiredTokenException", tokenExpired},
	},
	awswire.JSON: {
		authMissing:      {http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		authIncomplete:   {http.StatusBadRequest, "IncompleteSignatureException", ""},
		authInvalidToken: {http.StatusBadRequest, "UnrecognizedClientException", tokenInvalid},
		authSignature:    {http.StatusBadRequest, "InvalidSignatureException", ""},
		authSkew:         {http.StatusBadRequest, "InvalidSignatureException", ""},
		authExpiredToken: {http.StatusBadRequest, "ExpiredTokenException", tokenExpired},
	},
	awswire.Query: {
		authMissing:      {http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		authIncomplete:   {http.StatusBadRequest, "IncompleteSignature", ""},
		authInvalidToken: {http.StatusForbidden, "InvalidClientTokenId", tokenInvalid},
		authSignature:    {http.StatusForbidden, "SignatureDoesNotMatch", ""},
		authSkew:         {http.StatusForbidden, "SignatureDoesNotMatch", ""},
		authExpiredToken: {http.StatusForbidden, "ExpiredToken", tokenExpired},
	},
	awswire.EC2: {
		authMissing:      {http.StatusBadRequest, "MissingParameter", "The request must contain the parameter AWSAccessKeyId"},
		authIncomplete:   {http.StatusBadRequest, "IncompleteSignature", ""},
		authInvalidToken: {http.StatusUnauthorized, "AuthFailure", ec2AuthFail},
		authSignature:    {http.StatusUnauthorized, "AuthFailure", ec2AuthFail},
		authSkew:         {http.StatusBadRequest, "RequestExpired", ec2Expired},
		authExpiredToken: {http.StatusBadRequest, "RequestExpired", ec2Expired},
	},
}

// skewWindow is how far a request's time may stray from the server's: five
// minutes on Lambda's and the json services' front ends, fifteen on the
// query ones (STS and EC2 say so in their messages and docs).
func skewWindow(p awswire.Protocol) time.Duration {
	if p == awswire.Query || p == awswire.EC2 {
		return 15 * time.Minute
	}
	return 5 * time.Minute
}

// queryNamespaces are the xmlns query services put on their ErrorResponse.
var queryNamespaces = map[string]string{
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
	"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}

// authFailure turns e into p's error.
func authFailure(p awswire.Protocol, e *authError) *awswire.Error {
	replies, ok := authReplies[p]
	if !ok {
		replies = authReplies[awswire.RestJSON]
	}
	rep := replies[e.kind]
	msg := rep.msg
	if msg == "" {
		msg = e.msg
	}
	if p == awswire.RestJSON && e.canonical != "" {
		// Lambda tells the client what it should have signed.
		msg += "\n\nThe Canonical String for this request should have been\n'" + e.canonical +
			"'\n\nThe String-to-Sign should have been\n'" + e.stringToSign + "'\n"
	}
	return &awswire.Error{Status: rep.status, Code: rep.code, Message: msg, Sender: true, OmitType: true}
}
