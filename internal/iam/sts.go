package iam

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// STS speaks the query protocol, API version 2011-06-15 (botocore's
// sts/2011-06-15/service-2.json).
const (
	stsVersion = "2011-06-15"
	stsXMLNS   = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// STSService is the STS API behind the gateway's signing name "sts".
func (s *Service) STSService() gateway.Service {
	return gateway.Service{SigningName: "sts", Protocol: awswire.Query, Handler: http.HandlerFunc(s.serveSTS)}
}

var stsHandlers = map[string]handler{
	"GetCallerIdentity": getCallerIdentity,
	"AssumeRole":        assumeRole,
}

func (s *Service) serveSTS(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, stsXMLNS, stsVersion, stsHandlers)
}

type callerIdentity struct {
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

// getCallerIdentity needs no permission, as on AWS.
func getCallerIdentity(c *apiCall) (any, error) {
	return callerIdentity{Arn: c.p.ARN, UserID: c.p.UserID, Account: c.p.Account}, nil
}

type credentialsXML struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

type assumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

// chainedMaxSession limits sessions that a role session starts (role
// chaining), whatever the role allows.
const chainedMaxSession = 3600

// serviceSession is how long a service's session of a role lasts. Lambda
// hands it to execution environments, which live for hours, so it is the
// longest a role may allow rather than the one hour of AssumeRole.
const serviceSession = 12 * time.Hour

func assumeRole(c *apiCall) (any, error) {
	roleARN := c.str("RoleArn")
	switch {
	case roleARN == "":
		return nil, constraintErr("", "roleArn", "Member must not be null")
	case len(roleARN) < 20:
		return nil, constraintErr(roleARN, "roleArn", "Member must have length greater than or equal to 20")
	}
	sessionName := c.str("RoleSessionName")
	switch {
	case sessionName == "":
		return nil, constraintErr("", "roleSessionName", "Member must not be null")
	case len(sessionName) < 2:
		return nil, constraintErr(sessionName, "roleSessionName", "Member must have length greater than or equal to 2")
	case len(sessionName) > 64:
		return nil, constraintErr(sessionName, "roleSessionName", "Member must have length less than or equal to 64")
	case strings.IndexFunc(sessionName, func(r rune) bool { return !isNameChar(r) }) >= 0:
		return nil, constraintErr(sessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	duration, err := c.intParam("DurationSeconds", 900, 43200, 3600)
	if err != nil {
		return nil, err
	}
	var sessionPolicy string
	if c.has("Policy") {
		sessionPolicy = c.str("Policy")
		if _, err := policy.ParseIdentity(sessionPolicy); err != nil {
			return nil, malformed(err)
		}
	}
	pp := policyPrincipal(c.p)
	denied := accessDenied("User: " + c.p.ARN + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN)
	if pp.Type == policy.Root {
		return nil, accessDenied("Roles may not be assumed by root accounts.")
	}
	account := accountOf(roleARN)
	rname := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	var r *role
	c.s.read(func(ix *index) {
		if rl := ix.account(account).roles[rname]; rl != nil && rl.arn == roleARN {
			r = rl
		}
	})
	if r == nil || !strings.HasPrefix(roleARN, "arn:aws:iam::") {
		return nil, denied
	}
	req, in := c.s.prepare(c.ctx, c.p, &Check{Action: "sts:AssumeRole", Resource: roleARN, ResourceAccount: account, ResourcePolicy: r.trust})
	in.ResourceMustAllow = true
	if d := policy.Check(req, in); !d.Allowed {
		return nil, denied
	}
	switch {
	case pp.Type == policy.AssumedRole && duration > chainedMaxSession:
		return nil, validationErr("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case duration > r.MaxSession:
		return nil, validationErr("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	ss, err := c.s.newRoleSession(r, account, sessionName, sessionPolicy, time.Duration(duration)*time.Second)
	if err != nil {
		return nil, err
	}
	return struct {
		Credentials     credentialsXML
		AssumedRoleUser assumedRoleUser
	}{
		credentialsXML{AccessKeyId: ss.AccessKeyID, SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expiration: ss.Expires},
		assumedRoleUser{AssumedRoleId: ss.cred.Principal.UserID, Arn: ss.cred.Principal.ARN},
	}, nil
}

// newRoleSession makes and stores a session of r, dropping sessions expired
// past their grace in the same transaction.
func (s *Service) newRoleSession(r *role, account, name, sessionPolicy string, d time.Duration) (*session, error) {
	now := s.now().UTC().Truncate(time.Second)
	rec := sessionRec{
		AccessKeyID: newAccessKeyID(prefixSessionKey), Secret: newSecret(), Token: newSessionToken(),
		Account: account, RoleName: r.Name, RoleID: r.ID, SessionName: name,
		Created: now, Expires: now.Add(d), Policy: sessionPolicy,
	}
	ss, err := newSession(rec)
	if err != nil {
		return nil, malformed(err)
	}
	err = s.write(func(t *txn) error {
		for id, old := range t.s.ix.sessions {
			if now.After(old.Expires.Add(sessionGrace)) {
				t.del(storeKey(old.Account, kindSession, id), func(ix *index) { ix.dropSession(id) })
			}
		}
		return t.put(storeKey(account, kindSession, rec.AccessKeyID), rec, func(ix *index) { ix.putSession(ss) })
	})
	if err != nil {
		return nil, err
	}
	return ss, nil
}

// AssumeRoleForService implements ServiceRoles: a session of roleARN for a
// service such as lambda.amazonaws.com, if the role's trust policy allows it.
func (s *Service) AssumeRoleForService(ctx context.Context, roleARN, servicePrincipal, sessionName string) (gateway.Credential, error) {
	r, err := s.assumableBy(roleARN, servicePrincipal)
	if err != nil {
		return gateway.Credential{}, err
	}
	ss, err := s.newRoleSession(r, accountOf(roleARN), sessionName, "", serviceSession)
	if err != nil {
		return gateway.Credential{}, err
	}
	return ss.cred, nil
}

// CheckAssumableBy implements ServiceRoles: it answers like
// AssumeRoleForService without creating a session.
func (s *Service) CheckAssumableBy(ctx context.Context, roleARN, servicePrincipal string) error {
	_, err := s.assumableBy(roleARN, servicePrincipal)
	return err
}

// assumableBy finds the role and checks that its trust policy lets the service assume it.
func (s *Service) assumableBy(roleARN, servicePrincipal string) (*role, error) {
	account := accountOf(roleARN)
	rname := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	var r *role
	s.read(func(ix *index) {
		if rl := ix.account(account).roles[rname]; rl != nil && rl.arn == roleARN {
			r = rl
		}
	})
	if r == nil {
		return nil, ErrRoleNotAssumable
	}
	req := policy.Request{
		Principal: policy.Principal{Type: policy.Service, ARN: servicePrincipal},
		Action:    "sts:AssumeRole", Resource: roleARN, ResourceAccount: account, Time: s.now(),
	}
	if d := policy.Check(req, policy.Inputs{Resource: r.trust, ResourceMustAllow: true}); !d.Allowed {
		return nil, ErrRoleNotAssumable
	}
	return r, nil
}
