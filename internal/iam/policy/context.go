package policy

import (
	"strconv"
	"strings"
	"time"
)

// Context holds a request's condition keys and their values ("aws:SourceIp",
// "aws:SourceVpce", "lambda:FunctionArn", ...). Key names are case-insensitive,
// as on AWS; Set stores them in lower case, which is also the fastest form to
// look up. A key with no values counts as absent.
//
// Keys that describe the principal, the resource account and the time need not
// be set: when the Context lacks them, Evaluate derives aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:username, aws:userid,
// aws:ResourceAccount, aws:CurrentTime and aws:EpochTime from the Request.
type Context map[string][]string

// Set stores values under key, replacing what was there.
func (c Context) Set(key string, values ...string) {
	c[strings.ToLower(key)] = values
}

// Get returns the values of key, matching the name case-insensitively.
func (c Context) Get(key string) []string {
	return c.get(key, strings.ToLower(key))
}

func (c Context) get(key, lower string) []string {
	if v, ok := c[lower]; ok {
		return v
	}
	if key != lower {
		if v, ok := c[key]; ok {
			return v
		}
	}
	for k, v := range c {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// evalState is what one Evaluate call needs while it walks the policies. It
// lives on Evaluate's stack.
type evalState struct {
	req      *Request
	boundary bool // the principal has a permissions boundary
	record   bool // collect Decision.Matched
	// The request's resource split into ARN parts, once, on first use.
	resParts [6]string
	resSplit bool
}

// values returns the request's values for a condition key. A derived key's
// value is put in buf, which the caller keeps on its stack, so that no
// allocation is needed and nothing of st escapes.
func (st *evalState) values(key, lower string, buf *[1]string) []string {
	if v := st.req.Context.get(key, lower); v != nil {
		return v
	}
	if d, ok := st.derived(lower); ok {
		buf[0] = d
		return buf[:]
	}
	return nil
}

// variable resolves a policy variable to its single value. A key with several
// values does not resolve: AWS substitutes single values only.
func (st *evalState) variable(t *token) (string, bool) {
	if st != nil {
		if v := st.req.Context.get(t.key, t.lit); v != nil {
			if len(v) == 1 {
				return v[0], true
			}
		} else if d, ok := st.derived(t.lit); ok {
			return d, true
		}
	}
	if t.hasDef {
		return t.def, true
	}
	return "", false
}

// derived computes global keys from the request when the caller did not put
// them in the Context. Which keys exist for which principal follows the IAM
// user guide's table of principal key values: aws:username only for IAM users,
// aws:PrincipalArn is the role's ARN (not the session's) for role sessions.
func (st *evalState) derived(lower string) (string, bool) {
	p := &st.req.Principal
	switch lower {
	case "aws:principalarn":
		switch p.Type {
		case AssumedRole:
			if p.RoleARN != "" {
				return p.RoleARN, true
			}
			if name := sessionRoleName(p.ARN); name != "" && p.Account != "" {
				// Without the role's path; RoleARN carries it when known.
				return "arn:aws:iam::" + p.Account + ":role/" + name, true
			}
		case User, Role, Root:
			return p.ARN, p.ARN != ""
		}
	case "aws:principalaccount":
		if p.Type != Service && p.Type != Anonymous && p.Account != "" {
			return p.Account, true
		}
	case "aws:principaltype":
		switch p.Type {
		case User:
			return "User", true
		case Role, AssumedRole:
			return "AssumedRole", true
		case Root:
			return "Account", true
		case Anonymous:
			return "Anonymous", true
		}
	case "aws:username":
		if p.Type == User && p.Name != "" {
			return p.Name, true
		}
	case "aws:userid":
		if p.UserID != "" {
			return p.UserID, true
		}
	case "aws:resourceaccount":
		if st.req.ResourceAccount != "" {
			return st.req.ResourceAccount, true
		}
	case "aws:currenttime":
		return st.now().UTC().Format("2006-01-02T15:04:05Z"), true
	case "aws:epochtime":
		return strconv.FormatInt(st.now().Unix(), 10), true
	}
	return "", false
}

func (st *evalState) now() time.Time {
	if st.req.Time.IsZero() {
		return time.Now()
	}
	return st.req.Time
}
