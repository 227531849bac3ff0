package iam

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// The records below are what the store holds, one JSON value per entity.
// Policy documents are kept as the caller sent them (IAM returns them so)
// and parsed once when the entity enters the index.

type tag struct{ Key, Value string }

type userRec struct {
	Name, Path, ID string
	Created        time.Time
	Boundary       string            `json:",omitempty"`
	Inline         map[string]string `json:",omitempty"`
	Attached       []string          `json:",omitempty"`
	Groups         []string          `json:",omitempty"`
	Keys           []accessKeyRec    `json:",omitempty"`
	Tags           []tag             `json:",omitempty"`
}

type accessKeyRec struct {
	ID, Secret, Status string
	Created            time.Time
}

const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

type roleRec struct {
	Name, Path, ID string
	Description    string `json:",omitempty"`
	Created        time.Time
	MaxSession     int
	Trust          string
	Boundary       string            `json:",omitempty"`
	Inline         map[string]string `json:",omitempty"`
	Attached       []string          `json:",omitempty"`
	Tags           []tag             `json:",omitempty"`
}

type groupRec struct {
	Name, Path, ID string
	Created        time.Time
	Inline         map[string]string `json:",omitempty"`
	Attached       []string          `json:",omitempty"`
}

type policyRec struct {
	Name, Path, ID string
	Description    string `json:",omitempty"`
	Created        time.Time
	Updated        time.Time
	Default        string
	NextVersion    int
	Versions       []versionRec // newest first, as ListPolicyVersions shows them
	Tags           []tag        `json:",omitempty"`
}

type versionRec struct {
	ID, Document string
	Created      time.Time
}

type profileRec struct {
	Name, Path, ID string
	Created        time.Time
	Roles          []string `json:",omitempty"`
	Tags           []tag    `json:",omitempty"`
}

// sessionRec is a set of temporary credentials: a role session
// (AssumeRole) or, when UserARN or Root is set, the GetSessionToken session
// of an IAM user or of the account root, which acts with their permissions.
type sessionRec struct {
	AccessKeyID, Secret, Token string
	Account, RoleName, RoleID  string
	SessionName                string
	Created, Expires           time.Time
	Policy                     string   `json:",omitempty"`
	PolicyArns                 []string `json:",omitempty"`
	// Tags are the session tags, Transitive the keys of those that pass on
	// to the sessions this one starts by role chaining.
	Tags           []tag    `json:",omitempty"`
	Transitive     []string `json:",omitempty"`
	SourceIdentity string   `json:",omitempty"`
	UserARN        string   `json:",omitempty"`
	UserID         string   `json:",omitempty"`
	Root           bool     `json:",omitempty"`
}

// roleSession tells role sessions from GetSessionToken sessions.
func (r *sessionRec) roleSession() bool { return r.UserARN == "" && !r.Root }

// clone deep-copies a record, so that a change is built on a copy while the
// published entity stays as it is.
func clone[T any](r T) T {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // records hold only strings, times and lists of them
	}
	var c T
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}

// named is a parsed inline policy.
type named struct {
	name string
	doc  *policy.Policy
}

func parseInline(m map[string]string) ([]named, error) {
	out := make([]named, 0, len(m))
	for name, doc := range m {
		p, err := policy.ParseIdentity(doc)
		if err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", name, err)
		}
		out = append(out, named{name, p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

type user struct {
	userRec
	arn    string
	inline []named
}

func newUser(account string, r userRec) (*user, error) {
	in, err := parseInline(r.Inline)
	if err != nil {
		return nil, err
	}
	return &user{userRec: r, arn: entityARN(account, "user", r.Path, r.Name), inline: in}, nil
}

func (u *user) principal(accessKey string) gateway.Principal {
	return gateway.Principal{Account: accountOf(u.arn), ARN: u.arn, UserID: u.ID, AccessKeyID: accessKey}
}

type role struct {
	roleRec
	arn    string
	trust  *policy.Policy
	inline []named
}

func newRole(account string, r roleRec) (*role, error) {
	t, err := policy.ParseTrust(r.Trust)
	if err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	in, err := parseInline(r.Inline)
	if err != nil {
		return nil, err
	}
	return &role{roleRec: r, arn: entityARN(account, "role", r.Path, r.Name), trust: t, inline: in}, nil
}

type group struct {
	groupRec
	arn    string
	inline []named
}

func newGroup(account string, r groupRec) (*group, error) {
	in, err := parseInline(r.Inline)
	if err != nil {
		return nil, err
	}
	return &group{groupRec: r, arn: entityARN(account, "group", r.Path, r.Name), inline: in}, nil
}

// managed is a customer managed policy or one of AWS's.
type managed struct {
	policyRec
	arn string
	doc *policy.Policy // the default version
	aws bool
}

func newManaged(account string, r policyRec) (*managed, error) {
	m := &managed{policyRec: r, arn: entityARN(account, "policy", r.Path, r.Name)}
	v := m.version(r.Default)
	if v == nil {
		return nil, fmt.Errorf("default version %s is missing", r.Default)
	}
	p, err := policy.ParseManaged(v.Document)
	if err != nil {
		return nil, err
	}
	m.doc = p
	return m, nil
}

func (m *managed) version(id string) *versionRec {
	for i := range m.Versions {
		if m.Versions[i].ID == id {
			return &m.Versions[i]
		}
	}
	return nil
}

type profile struct {
	profileRec
	arn string
}

func newProfile(account string, r profileRec) *profile {
	return &profile{profileRec: r, arn: entityARN(account, "instance-profile", r.Path, r.Name)}
}

type session struct {
	sessionRec
	policy *policy.Policy // the session policy, nil if none
	cred   gateway.Credential
}

func newSession(r sessionRec) (*session, error) {
	ss := &session{sessionRec: r}
	if r.Policy != "" {
		p, err := policy.ParseIdentity(r.Policy)
		if err != nil {
			return nil, fmt.Errorf("session policy: %w", err)
		}
		ss.policy = p
	}
	p := gateway.Principal{Account: r.Account, AccessKeyID: r.AccessKeyID}
	switch {
	case r.Root:
		p.ARN, p.UserID, p.IsRoot = "arn:aws:iam::"+r.Account+":root", r.Account, true
	case r.UserARN != "":
		p.ARN, p.UserID = r.UserARN, r.UserID
	default:
		p.ARN = "arn:aws:sts::" + r.Account + ":assumed-role/" + r.RoleName + "/" + r.SessionName
		p.UserID = r.RoleID + ":" + r.SessionName
	}
	ss.cred = gateway.Credential{Secret: r.Secret, SessionToken: r.Token, Expires: r.Expires, Principal: p}
	return ss, nil
}

func entityARN(account, kind, path, name string) string {
	return "arn:aws:iam::" + account + ":" + kind + path + name
}

// accountOf returns the account element of an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// Unique ids: IAM's four-letter prefix and 17 characters of base32, like
// AIDAJQABLZS4A3QDU576Q; access key ids have 16.
const (
	prefixUser       = "AIDA"
	prefixRole       = "AROA"
	prefixGroup      = "AGPA"
	prefixPolicy     = "ANPA"
	prefixProfile    = "AIPA"
	prefixAccessKey  = "AKIA"
	prefixSessionKey = "ASIA"
)

const base32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = base32Upper[b[i]&31]
	}
	return prefix + string(b)
}

func newUniqueID(prefix string) string { return randomID(prefix, 17) }

func newAccessKeyID(prefix string) string { return randomID(prefix, 16) }

// newSecret returns a 40-character secret access key.
func newSecret() string {
	b := make([]byte, 30)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func newSessionToken() string {
	b := make([]byte, 180)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
