package policy

import "strings"

// PrincipalType is the kind of identity that makes a request.
type PrincipalType uint8

// Principal types.
const (
	Anonymous   PrincipalType = iota // unsigned request
	Root                             // the account's root user
	User                             // an IAM user
	Role                             // an IAM role acting as itself (rare: services)
	AssumedRole                      // a role session from sts:AssumeRole
	Service                          // an AWS service principal such as lambda.amazonaws.com
	Federated                        // a web identity or SAML provider, for AssumeRoleWith* trust checks
)

// Principal is who makes a request.
type Principal struct {
	// ARN is the caller's ARN as GetCallerIdentity reports it: the user ARN,
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION for role sessions,
	// arn:aws:iam::ACCOUNT:root for root. For Service it is the service
	// principal name and for Federated the provider, both as written in
	// policies.
	ARN     string
	Account string
	Type    PrincipalType
	// UserID is the unique id (aws:userid): AIDA... for users,
	// AROA...:SESSION for role sessions, the account id for root.
	UserID string
	// Name is the user's friendly name (aws:username) for users.
	Name string
	// RoleARN is, for role sessions, the IAM ARN of the role with its path:
	// aws:PrincipalArn.
	RoleARN string
}

// grant is how directly a resource-based policy statement names the caller. It
// decides which implicit denies the statement overrides in the same account.
type grant uint8

const (
	grantNone grant = iota
	// grantAccount: the statement names the caller's account (or its root).
	// That delegates to the account; the caller's identity policies must still
	// allow.
	grantAccount
	// grantRole: the statement names the role of a role session. Identity
	// policies are not needed, but the boundary and session policies still
	// limit it.
	grantRole
	// grantDirect: the statement names the caller itself (user, session,
	// service) or everyone ("*"). Nothing else is needed in the same account.
	grantDirect
)

type awsPrincipalKind uint8

const (
	apAll awsPrincipalKind = iota
	apAccount
	apRole
	apARN      // user, assumed-role session, federated user: exact ARN
	apUniqueID // AIDA..., AROA...: what IAM stores for deleted or renamed entities
	apInvalid
)

type awsPrincipal struct {
	kind    awsPrincipalKind
	raw     string
	account string
	name    string // apRole: the role name (last element of its path)
}

type principalSet struct {
	all       bool
	aws       []awsPrincipal
	service   []string
	federated []string
}

func compilePrincipals(p *Principals) *principalSet {
	ps := &principalSet{all: p.Wildcard, service: p.Service, federated: p.Federated}
	for _, v := range p.AWS {
		ap := classifyAWSPrincipal(v)
		if ap.kind == apAll {
			ps.all = true
		}
		ps.aws = append(ps.aws, ap)
	}
	return ps
}

// classifyAWSPrincipal reads one value of an "AWS" principal.
func classifyAWSPrincipal(v string) awsPrincipal {
	ap := awsPrincipal{raw: v, kind: apInvalid}
	switch {
	case v == "*":
		ap.kind = apAll
	case isAccountID(v):
		ap.kind, ap.account = apAccount, v
	case strings.HasPrefix(v, "arn:aws:iam::") || strings.HasPrefix(v, "arn:aws:sts::"):
		segs := splitARN(v)
		if !isAccountID(segs[4]) || segs[3] != "" {
			return ap
		}
		ap.account = segs[4]
		res := segs[5]
		switch {
		case segs[2] == "iam" && res == "root":
			ap.kind = apAccount
		case segs[2] == "iam" && strings.HasPrefix(res, "role/") && len(res) > len("role/"):
			ap.kind = apRole
			ap.name = res[strings.LastIndexByte(res, '/')+1:]
		case segs[2] == "iam" && strings.HasPrefix(res, "user/") && len(res) > len("user/"),
			segs[2] == "sts" && strings.HasPrefix(res, "assumed-role/") && strings.Count(res, "/") == 2,
			segs[2] == "sts" && strings.HasPrefix(res, "federated-user/") && len(res) > len("federated-user/"):
			ap.kind = apARN
		}
		if ap.name == "" && ap.kind == apRole {
			ap.kind = apInvalid
		}
	case isUniqueID(v):
		ap.kind = apUniqueID
	}
	return ap
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID recognizes IAM unique ids: a four-letter prefix such as AIDA or
// AROA followed by upper-case letters and digits.
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// sessionRoleName returns ROLE from arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
func sessionRoleName(arn string) string {
	segs := splitARN(arn)
	rest, ok := strings.CutPrefix(segs[5], "assumed-role/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// match returns how directly ps names p.
func (ps *principalSet) match(p *Principal) grant {
	if ps.all {
		return grantDirect
	}
	best := grantNone
	for i := range ps.aws {
		if g := ps.aws[i].match(p); g > best {
			best = g
		}
	}
	switch p.Type {
	case Service:
		for _, s := range ps.service {
			if s == p.ARN {
				return grantDirect
			}
		}
	case Federated:
		for _, f := range ps.federated {
			if f == p.ARN {
				return grantDirect
			}
		}
	}
	return best
}

func (ap *awsPrincipal) match(p *Principal) grant {
	switch ap.kind {
	case apAll:
		return grantDirect
	case apAccount:
		if isIAMPrincipal(p.Type) && p.Account == ap.account {
			return grantAccount
		}
	case apRole:
		switch p.Type {
		case AssumedRole:
			if p.Account == ap.account && sessionRoleName(p.ARN) == ap.name {
				return grantRole
			}
		case Role:
			if p.ARN == ap.raw {
				return grantRole
			}
		}
	case apARN:
		if isIAMPrincipal(p.Type) && p.ARN == ap.raw {
			return grantDirect
		}
	case apUniqueID:
		if p.UserID == ap.raw {
			return grantDirect
		}
		if p.Type == AssumedRole && strings.HasPrefix(p.UserID, ap.raw) && len(p.UserID) > len(ap.raw) && p.UserID[len(ap.raw)] == ':' {
			return grantRole
		}
	}
	return grantNone
}

func isIAMPrincipal(t PrincipalType) bool {
	return t == Root || t == User || t == Role || t == AssumedRole
}

// excludes reports whether a NotPrincipal element lists p. AWS checks the
// caller's whole chain (the account, then the role, then the session), so the
// caller is excluded only if every link is listed: NotPrincipal naming only a
// session still applies to that session, as the NotPrincipal page warns.
func (ps *principalSet) excludes(p *Principal) bool {
	if ps.all {
		return true
	}
	switch p.Type {
	case Service:
		for _, s := range ps.service {
			if s == p.ARN {
				return true
			}
		}
		return false
	case Federated:
		for _, f := range ps.federated {
			if f == p.ARN {
				return true
			}
		}
		return false
	case Anonymous:
		return false
	}
	var account, role, self bool
	for i := range ps.aws {
		ap := &ps.aws[i]
		switch ap.kind {
		case apAccount:
			account = account || ap.account == p.Account
		case apRole:
			role = role || ap.match(p) == grantRole
		case apARN:
			self = self || ap.raw == p.ARN
		case apUniqueID:
			self = self || ap.match(p) == grantDirect
		}
	}
	switch p.Type {
	case Root:
		return account
	case User:
		return account && self
	case Role:
		return account && role
	default: // AssumedRole
		return account && role && self
	}
}
