package iam

import (
	"context"
	"net/http"
	"slices"
	"strconv"
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
	"GetSessionToken":   getSessionToken,
	"GetAccessKeyInfo":  getAccessKeyInfo,
}

func (s *Service) serveSTS(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, stsXMLNS, stsVersion, stsHandlers)
}

// sessionOf returns the session behind an access key, nil for long-term keys.
func (s *Service) sessionOf(accessKey string) *session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ix.sessions[accessKey]
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
	opt, err := c.sessionOptions()
	if err != nil {
		return nil, err
	}
	pp := policyPrincipal(c.p)
	denied := func(action string) error {
		return accessDenied("User: " + c.p.ARN + " is not authorized to perform: " + action + " on resource: " + roleARN)
	}
	if pp.Type == policy.Root {
		return nil, accessDenied("Roles may not be assumed by root accounts.")
	}
	if ss := c.s.sessionOf(c.p.AccessKeyID); ss != nil && ss.roleSession() {
		opt.inherit(ss)
	}
	account := accountOf(roleARN)
	rname := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	var r *role
	var missing string
	c.s.read(func(ix *index) {
		if rl := ix.account(account).roles[rname]; rl != nil && rl.arn == roleARN {
			r = rl
		}
		for _, arn := range opt.policyArns {
			if ix.account(account).managedPolicy(arn) == nil && missing == "" {
				missing = arn
			}
		}
	})
	if r == nil || !strings.HasPrefix(roleARN, "arn:aws:iam::") {
		return nil, denied("sts:AssumeRole")
	}
	// The trust policy sees the request's keys: sts:ExternalId,
	// sts:RoleSessionName, sts:SourceIdentity and the session tags as
	// aws:RequestTag/KEY, aws:TagKeys and sts:TransitiveTagKeys.
	ctx := policy.Context{}
	ctx.Set("sts:RoleSessionName", sessionName)
	if opt.externalID != "" {
		ctx.Set("sts:ExternalId", opt.externalID)
	}
	if opt.sourceIdentity != "" {
		ctx.Set("sts:SourceIdentity", opt.sourceIdentity)
	}
	if len(opt.tags) > 0 {
		keys := make([]string, len(opt.tags))
		for i, t := range opt.tags {
			ctx.Set("aws:RequestTag/"+t.Key, t.Value)
			keys[i] = t.Key
		}
		ctx.Set("aws:TagKeys", keys...)
	}
	if len(opt.transitive) > 0 {
		ctx.Set("sts:TransitiveTagKeys", opt.transitive...)
	}
	trusted := func(action string) bool {
		req, in := c.s.prepare(c.ctx, c.p, &Check{Action: action, Resource: roleARN, ResourceAccount: account, ResourcePolicy: r.trust, Context: ctx})
		in.ResourceMustAllow = true
		return policy.Check(req, in).Allowed
	}
	if !trusted("sts:AssumeRole") {
		return nil, denied("sts:AssumeRole")
	}
	if opt.tagsRequested && !trusted("sts:TagSession") {
		return nil, denied("sts:TagSession")
	}
	if opt.sourceRequested && !trusted("sts:SetSourceIdentity") {
		return nil, denied("sts:SetSourceIdentity")
	}
	if missing != "" {
		return nil, awswire.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "Policy %s does not exist or is not attachable.", missing)
	}
	switch {
	case pp.Type == policy.AssumedRole && duration > chainedMaxSession:
		return nil, validationErr("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case duration > r.MaxSession:
		return nil, validationErr("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	rec := sessionRec{
		Account: account, RoleName: r.Name, RoleID: r.ID, SessionName: sessionName, Policy: sessionPolicy,
		PolicyArns: opt.policyArns, Tags: opt.tags, Transitive: opt.transitive, SourceIdentity: opt.sourceIdentity,
	}
	ss, err := c.s.newSession(rec, time.Duration(duration)*time.Second)
	if err != nil {
		return nil, err
	}
	return struct {
		Credentials     credentialsXML
		AssumedRoleUser assumedRoleUser
		SourceIdentity  string `xml:",omitempty"`
	}{
		credentialsXML{AccessKeyId: ss.AccessKeyID, SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expiration: ss.Expires},
		assumedRoleUser{AssumedRoleId: ss.cred.Principal.UserID, Arn: ss.cred.Principal.ARN},
		ss.SourceIdentity,
	}, nil
}

// sessionOptions are AssumeRole's optional parameters beyond the inline
// session policy.
type sessionOptions struct {
	policyArns      []string
	externalID      string
	tags            []tag
	transitive      []string
	sourceIdentity  string
	tagsRequested   bool // Tags given in this request, which needs sts:TagSession
	sourceRequested bool // SourceIdentity given, which needs sts:SetSourceIdentity
}

func (c *apiCall) sessionOptions() (sessionOptions, error) {
	var o sessionOptions
	for i := 1; ; i++ {
		k := "PolicyArns.member." + strconv.Itoa(i) + ".arn"
		if !c.has(k) {
			if c.has("PolicyArns.member." + strconv.Itoa(i)) {
				continue
			}
			break
		}
		v := c.str(k)
		if len(v) < 20 {
			return o, constraintErr(v, "policyArns.member."+strconv.Itoa(i)+".member.arn", "Member must have length greater than or equal to 20")
		}
		o.policyArns = append(o.policyArns, v)
	}
	if c.has("ExternalId") {
		v := c.str("ExternalId")
		switch {
		case len(v) < 2:
			return o, constraintErr(v, "externalId", "Member must have length greater than or equal to 2")
		case len(v) > 1224:
			return o, constraintErr(v, "externalId", "Member must have length less than or equal to 1224")
		case strings.IndexFunc(v, func(r rune) bool { return !isNameChar(r) && r != ':' && r != '/' }) >= 0:
			return o, constraintErr(v, "externalId", `Member must satisfy regular expression pattern: [\w+=,.@:\/-]*`)
		}
		o.externalID = v
	}
	if c.has("SourceIdentity") {
		v := c.str("SourceIdentity")
		switch {
		case len(v) < 2:
			return o, constraintErr(v, "sourceIdentity", "Member must have length greater than or equal to 2")
		case len(v) > 64:
			return o, constraintErr(v, "sourceIdentity", "Member must have length less than or equal to 64")
		case strings.IndexFunc(v, func(r rune) bool { return !isNameChar(r) }) >= 0:
			return o, constraintErr(v, "sourceIdentity", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
		}
		o.sourceIdentity, o.sourceRequested = v, true
	}
	tags, err := c.tags("Tags")
	if err != nil {
		return o, err
	}
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return o, validationErr("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	o.tags, o.tagsRequested = tags, len(tags) > 0
	o.transitive = c.members("TransitiveTagKeys")
	if len(o.transitive) > 50 {
		return o, constraintErr("", "transitiveTagKeys", "Member must have length less than or equal to 50")
	}
	for _, k := range o.transitive {
		if !seen[strings.ToLower(k)] {
			return o, validationErr("The specified transitive tag key must be included in the requested tags.")
		}
	}
	return o, nil
}

// inherit carries a chaining session's transitive tags and its source
// identity over to the session it starts; neither may be changed on the way.
func (o *sessionOptions) inherit(from *session) {
	if from.SourceIdentity != "" {
		o.sourceIdentity = from.SourceIdentity
	}
	for _, k := range from.Transitive {
		for _, t := range from.Tags {
			if !strings.EqualFold(t.Key, k) {
				continue
			}
			o.tags = slices.DeleteFunc(o.tags, func(x tag) bool { return strings.EqualFold(x.Key, k) })
			o.tags = append(o.tags, t)
			if !slices.ContainsFunc(o.transitive, func(x string) bool { return strings.EqualFold(x, k) }) {
				o.transitive = append(o.transitive, t.Key)
			}
		}
	}
}

// getSessionToken gives an IAM user or the root temporary credentials with
// their own permissions. No policy governs it (IAM user guide, "Permissions
// for GetSessionToken").
func getSessionToken(c *apiCall) (any, error) {
	pp := policyPrincipal(c.p)
	if c.s.sessionOf(c.p.AccessKeyID) != nil || pp.Type != policy.User && pp.Type != policy.Root {
		return nil, accessDenied("Cannot call GetSessionToken with session credentials")
	}
	duration, err := c.intParam("DurationSeconds", 900, 129600, 43200)
	if err != nil {
		return nil, err
	}
	rec := sessionRec{Account: c.p.Account}
	if pp.Type == policy.Root {
		// The root's sessions last at most an hour, and that long by default.
		duration = min(duration, 3600)
		rec.Root = true
	} else {
		rec.UserARN, rec.UserID = c.p.ARN, c.p.UserID
	}
	ss, err := c.s.newSession(rec, time.Duration(duration)*time.Second)
	if err != nil {
		return nil, err
	}
	return struct{ Credentials credentialsXML }{
		credentialsXML{AccessKeyId: ss.AccessKeyID, SecretAccessKey: ss.Secret, SessionToken: ss.Token, Expiration: ss.Expires},
	}, nil
}

// getAccessKeyInfo names the account of any access key this server knows:
// roots', users' (active or not) and temporary ones.
func getAccessKeyInfo(c *apiCall) (any, error) {
	id := c.str("AccessKeyId")
	switch {
	case id == "":
		return nil, constraintErr("", "accessKeyId", "Member must not be null")
	case len(id) < 16:
		return nil, constraintErr(id, "accessKeyId", "Member must have length greater than or equal to 16")
	case len(id) > 128:
		return nil, constraintErr(id, "accessKeyId", "Member must have length less than or equal to 128")
	}
	if err := c.authorize("sts:GetAccessKeyInfo", "*"); err != nil {
		return nil, err
	}
	account := ""
	if cred, err := c.s.accounts.LookupAccessKey(c.ctx, id); err == nil {
		account = cred.Principal.Account
	}
	c.s.read(func(ix *index) {
		if account != "" {
			return
		}
		if ss := ix.sessions[id]; ss != nil {
			account = ss.Account
			return
		}
		for aid, a := range ix.accts {
			for _, u := range a.users {
				if slices.ContainsFunc(u.Keys, func(k accessKeyRec) bool { return k.ID == id }) {
					account = aid
					return
				}
			}
		}
	})
	if account == "" {
		// AWS decodes the account from the key itself; keys this server did
		// not issue carry none it could decode.
		return nil, awswire.Errorf(http.StatusBadRequest, "InvalidParameterValue", "The access key ID %s does not exist in our records.", id)
	}
	return struct{ Account string }{account}, nil
}

// newSession stores a session of rec's principal lasting d, dropping
// sessions expired past their grace in the same transaction.
func (s *Service) newSession(rec sessionRec, d time.Duration) (*session, error) {
	now := s.now().UTC().Truncate(time.Second)
	rec.AccessKeyID, rec.Secret, rec.Token = newAccessKeyID(prefixSessionKey), newSecret(), newSessionToken()
	rec.Created, rec.Expires = now, now.Add(d)
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
		return t.put(storeKey(rec.Account, kindSession, rec.AccessKeyID), rec, func(ix *index) { ix.putSession(ss) })
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
	ss, err := s.newSession(sessionRec{Account: accountOf(roleARN), RoleName: r.Name, RoleID: r.ID, SessionName: sessionName}, serviceSession)
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

// RoleAllows implements ServiceRoles.
func (s *Service) RoleAllows(ctx context.Context, roleARN, action, resource string) bool {
	acct := accountOf(roleARN)
	var subj *simSubject
	found := false
	s.read(func(ix *index) { subj, found = (&apiCall{acct: acct}).subject(ix.account(acct), roleARN) })
	if !found || subj.principal.Type != policy.Role {
		return false
	}
	in := policy.Inputs{}
	for _, src := range subj.identity {
		in.Identity = append(in.Identity, src.doc)
	}
	if subj.boundary != nil {
		in.PermissionsBoundary = subj.boundary.doc
	}
	req := policy.Request{Principal: subj.principal, Action: action, Resource: resource, ResourceAccount: acct, Time: s.now()}
	return policy.Evaluate(req, in).Allowed
}

// RoleID implements ServiceRoles.
func (s *Service) RoleID(ctx context.Context, roleARN string) string {
	acct := accountOf(roleARN)
	name := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	id := ""
	s.read(func(ix *index) {
		if r := ix.account(acct).roles[name]; r != nil && r.arn == roleARN {
			id = r.ID
		}
	})
	return id
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
