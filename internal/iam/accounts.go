// Package iam holds identities: the accounts given with --account and their
// root credentials, and the STS API that reports who a caller is.
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

// RootCredentials hands a function its account's root key pair. It stands in
// for the execution role's session until roles exist; the role ARN is only
// checked for belonging to the account.
func (a *Accounts) RootCredentials(_ context.Context, account, roleARN string) (string, string, string, error) {
	if !strings.HasPrefix(roleARN, "arn:aws:iam::"+account+":role/") {
		return "", "", "", fmt.Errorf("role %s is not in account %s", roleARN, account)
	}
	for key, c := range a.byKey {
		if c.Principal.Account == account {
			return key, c.Secret, "", nil
		}
	}
	return "", "", "", fmt.Errorf("no credentials for account %s", account)
}
