// Package iam holds identities and decides what they may do: the accounts
// given with --account and their root credentials, IAM users, groups, roles,
// managed policies and access keys, STS role sessions, and the IAM and STS
// APIs over them. Every authorization decision goes through Authorize and
// the engine in iam/policy.
package iam

import (
	"context"
	"fmt"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
)

// The account that always exists, with the root keys the AWS tooling's
// local-endpoint conventions expect.
const (
	DefaultAccountID = "123456789012"
	DefaultAccessKey = "test"
	DefaultSecret    = "test"
)

// AccountSpec is one --account ID:ACCESS_KEY:SECRET: an account and the
// access key of its root user.
type AccountSpec struct {
	ID        string
	AccessKey string
	Secret    string
}

// ParseAccountSpec parses "ACCOUNT_ID:ACCESS_KEY:SECRET". The secret is
// everything after the second colon.
func ParseAccountSpec(s string) (AccountSpec, error) {
	id, rest, ok1 := strings.Cut(s, ":")
	key, secret, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		// The spec holds a secret, so it stays out of the message.
		return AccountSpec{}, fmt.Errorf("account spec has %d field(s); want ACCOUNT_ID:ACCESS_KEY:SECRET", strings.Count(s, ":")+1)
	}
	spec := AccountSpec{ID: id, AccessKey: key, Secret: secret}
	return spec, spec.validate()
}

func (s AccountSpec) validate() error {
	if len(s.ID) != 12 || strings.Trim(s.ID, "0123456789") != "" {
		return fmt.Errorf("account id %q: want 12 digits", s.ID)
	}
	if s.AccessKey == "" {
		return fmt.Errorf("account %s: access key is empty", s.ID)
	}
	if len(s.AccessKey) > 128 {
		return fmt.Errorf("account %s: access key is longer than 128 characters", s.ID)
	}
	for _, c := range s.AccessKey {
		// The key travels inside SigV4's Credential=AK/date/... element.
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("account %s: access key %q may hold only letters, digits, '_', '-' and '.'", s.ID, s.AccessKey)
		}
	}
	if s.Secret == "" {
		return fmt.Errorf("account %s: secret is empty", s.ID)
	}
	return nil
}

// Accounts resolves the root access keys of the configured accounts. It is
// immutable once built, so lookups take no lock.
type Accounts struct {
	byKey map[string]gateway.Credential
}

// NewAccounts returns the accounts of specs plus the default account
// 123456789012 with key test/test, unless a spec takes the key "test" itself.
// A key given twice is an error.
func NewAccounts(specs ...AccountSpec) (*Accounts, error) {
	a := &Accounts{byKey: make(map[string]gateway.Credential, len(specs)+1)}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return nil, err
		}
		if _, dup := a.byKey[s.AccessKey]; dup {
			return nil, fmt.Errorf("access key %q is given to more than one account", s.AccessKey)
		}
		a.byKey[s.AccessKey] = rootCredential(s)
	}
	if _, taken := a.byKey[DefaultAccessKey]; !taken {
		a.byKey[DefaultAccessKey] = rootCredential(AccountSpec{ID: DefaultAccountID, AccessKey: DefaultAccessKey, Secret: DefaultSecret})
	}
	return a, nil
}

func rootCredential(s AccountSpec) gateway.Credential {
	return gateway.Credential{
		Secret: s.Secret,
		Principal: gateway.Principal{
			Account:     s.ID,
			ARN:         "arn:aws:iam::" + s.ID + ":root",
			UserID:      s.ID,
			AccessKeyID: s.AccessKey,
			IsRoot:      true,
		},
	}
}

// LookupAccessKey implements gateway.CredentialSource.
func (a *Accounts) LookupAccessKey(_ context.Context, accessKeyID string) (gateway.Credential, error) {
	c, ok := a.byKey[accessKeyID]
	if !ok {
		return gateway.Credential{}, gateway.ErrUnknownAccessKey
	}
	return c, nil
}
