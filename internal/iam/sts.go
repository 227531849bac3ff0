package iam

import (
	"net/http"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
)

// STS speaks the query protocol, API version 2011-06-15 (botocore's
// sts/2011-06-15/service-2.json).
const (
	stsVersion = "2011-06-15"
	stsXMLNS   = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// STSService is the STS API behind the gateway's signing name "sts".
func STSService() gateway.Service {
	return gateway.Service{SigningName: "sts", Protocol: awswire.Query, Handler: http.HandlerFunc(serveSTS)}
}

type callerIdentity struct {
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

func serveSTS(w http.ResponseWriter, r *http.Request) {
	req := gateway.FromContext(r.Context())
	form, err := awswire.ParseForm(r, req.Body)
	if err != nil {
		awswire.WriteQueryError(w, stsXMLNS, req.ID, err)
		return
	}
	action, version := form.Get("Action"), form.Get("Version")
	if action == "" {
		awswire.WriteQueryError(w, stsXMLNS, req.ID, awswire.Errorf(http.StatusBadRequest, "MissingAction", "Missing Action"))
		return
	}
	if version == "" {
		version = "NO_VERSION_SPECIFIED"
	}
	if action != "GetCallerIdentity" || version != stsVersion {
		awswire.WriteQueryError(w, stsXMLNS, req.ID, awswire.Errorf(http.StatusBadRequest, "InvalidAction",
			"Could not find operation %s for version %s", action, version))
		return
	}
	p := req.Principal
	awswire.WriteQueryResult(w, action, stsXMLNS, req.ID, callerIdentity{Arn: p.ARN, UserID: p.UserID, Account: p.Account})
}
