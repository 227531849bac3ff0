package policy

import "strings"

// Style selects how a service words its access-denied message around the
// common IAM text.
type Style uint8

// Message styles.
const (
	// StyleStandard is the text Lambda's AccessDeniedException, IAM's and
	// STS's AccessDenied carry: "User: ARN is not authorized to perform:
	// ACTION on resource: RES because ...".
	StyleStandard Style = iota
	// StyleEC2 prefixes the standard text with EC2's UnauthorizedOperation
	// sentence "You are not authorized to perform this operation.".
	StyleEC2
)

// DenialMessage words a denied Decision as AWS does, following the formats in
// the IAM user guide's "Troubleshooting access denied error messages":
//
//	User: ARN is not authorized to perform: ACTION on resource: RES because no identity-based policy allows the ACTION action
//	User: ARN is not authorized to perform: ACTION on resource: RES with an explicit deny in a VPC endpoint policy
//
// The "on resource" part is left out for "*", as AWS does for actions without
// resource-level permissions. It returns "" for an allowed Decision.
func DenialMessage(req Request, d Decision, style Style) string {
	if d.Allowed {
		return ""
	}
	var b strings.Builder
	if style == StyleEC2 {
		b.WriteString("You are not authorized to perform this operation. ")
	}
	b.WriteString("User: ")
	who := req.Principal.ARN
	if who == "" && req.Principal.Type == Anonymous {
		who = "anonymous"
	}
	b.WriteString(who)
	b.WriteString(" is not authorized to perform: ")
	b.WriteString(req.Action)
	if req.Resource != "" && req.Resource != "*" {
		b.WriteString(" on resource: ")
		b.WriteString(req.Resource)
	}
	var kind PolicyKind
	switch d.Reason {
	case ExplicitDeny:
		b.WriteString(" with an explicit deny in ")
		if d.DeniedBy == IdentityPolicy {
			b.WriteString("an ")
		} else {
			b.WriteString("a ")
		}
		b.WriteString(d.DeniedBy.String())
		return b.String()
	case NoIdentityAllow:
		kind = IdentityPolicy
	case NoBoundaryAllow:
		kind = BoundaryPolicy
	case NoSessionAllow:
		kind = SessionPolicy
	case NoResourceAllow:
		kind = ResourcePolicy
	case NoEndpointAllow:
		kind = EndpointPolicy
	}
	b.WriteString(" because no ")
	b.WriteString(kind.String())
	b.WriteString(" allows the ")
	b.WriteString(req.Action)
	b.WriteString(" action")
	return b.String()
}
