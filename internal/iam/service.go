package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// Options configure a Service.
type Options struct {
	Store    store.Store
	Accounts *Accounts
	Logger   *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now
}

// Service is IAM and STS: users, roles, groups, managed policies, access
// keys and role sessions, kept in the store under "iam/<account>/..." and
// mirrored in memory, because every request of every service resolves its
// access key and asks for authorization here. It implements
// gateway.CredentialSource, Authorizer and ServiceRoles.
type Service struct {
	st       store.Store
	accounts *Accounts
	log      *slog.Logger
	now      func() time.Time

	// wmu serializes writers, so that a writer can validate against the
	// index and then commit without the index changing underneath it; mu
	// guards the index itself and is write-held only while a committed
	// change is applied, never across store I/O.
	wmu sync.Mutex
	mu  sync.RWMutex
	ix  index
}

var (
	_ gateway.CredentialSource = (*Service)(nil)
	_ Authorizer               = (*Service)(nil)
	_ ServiceRoles             = (*Service)(nil)
)

// index is the in-memory mirror of the stored state. Entities in it are
// never modified once published: a change replaces the pointer, so readers
// may use what they found after releasing mu.
type index struct {
	accts    map[string]*acct
	keys     map[string]gateway.Credential // IAM users' active keys and STS sessions
	sessions map[string]*session           // by access key id
}

type acct struct {
	users    map[string]*user
	roles    map[string]*role
	groups   map[string]*group
	policies map[string]*managed // customer managed, by name
	profiles map[string]*profile
}

func newAcct() *acct {
	return &acct{users: map[string]*user{}, roles: map[string]*role{}, groups: map[string]*group{},
		policies: map[string]*managed{}, profiles: map[string]*profile{}}
}

var emptyAcct = newAcct()

// account returns the account's state for reading; never nil.
func (ix *index) account(id string) *acct {
	if a := ix.accts[id]; a != nil {
		return a
	}
	return emptyAcct
}

// mutable returns the account's state for applying a change, creating it.
func (ix *index) mutable(id string) *acct {
	a := ix.accts[id]
	if a == nil {
		a = newAcct()
		ix.accts[id] = a
	}
	return a
}

// sessionGrace is how long an expired session is kept so that its use is
// answered with ExpiredToken rather than as an unknown key.
const sessionGrace = 12 * time.Hour

// New loads the IAM state from the store.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Accounts == nil {
		return nil, errors.New("iam: Options need a Store and Accounts")
	}
	s := &Service{st: o.Store, accounts: o.Accounts, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ix = index{accts: map[string]*acct{}, keys: map[string]gateway.Credential{}, sessions: map[string]*session{}}
	var stale []string
	err := s.st.View(func(tx store.ReadTx) error {
		for _, kv := range tx.List(keyPrefix) {
			gone, err := s.load(kv)
			if err != nil {
				return fmt.Errorf("iam: %s: %w", kv.Key, err)
			}
			if gone {
				stale = append(stale, kv.Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 {
		// Sessions long expired are dropped here and when new ones are made.
		if _, err := s.st.Update(func(tx store.Tx) error {
			for _, k := range stale {
				tx.Delete(k)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

const keyPrefix = "iam/"

// Kinds of stored entities: the third element of their keys.
const (
	kindUser    = "user"
	kindRole    = "role"
	kindGroup   = "group"
	kindPolicy  = "policy"
	kindProfile = "instance-profile"
	kindSession = "session"
)

func storeKey(account, kind, name string) string {
	return keyPrefix + account + "/" + kind + "/" + name
}

// load adds one stored entity to the index; gone reports a session expired
// past its grace, which is not loaded.
func (s *Service) load(kv store.KV) (gone bool, err error) {
	parts := strings.SplitN(strings.TrimPrefix(kv.Key, keyPrefix), "/", 3)
	if len(parts) != 3 {
		return false, errors.New("unexpected key")
	}
	account, kind := parts[0], parts[1]
	a := s.ix.mutable(account)
	switch kind {
	case kindUser:
		var r userRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		u, err := newUser(account, r)
		if err != nil {
			return false, err
		}
		s.ix.putUser(a, nil, u)
	case kindRole:
		var r roleRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		rl, err := newRole(account, r)
		if err != nil {
			return false, err
		}
		a.roles[r.Name] = rl
	case kindGroup:
		var r groupRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		g, err := newGroup(account, r)
		if err != nil {
			return false, err
		}
		a.groups[r.Name] = g
	case kindPolicy:
		var r policyRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		m, err := newManaged(account, r)
		if err != nil {
			return false, err
		}
		a.policies[r.Name] = m
	case kindProfile:
		var r profileRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		a.profiles[r.Name] = newProfile(account, r)
	case kindSession:
		var r sessionRec
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return false, err
		}
		if s.now().After(r.Expires.Add(sessionGrace)) {
			return true, nil
		}
		ss, err := newSession(r)
		if err != nil {
			return false, err
		}
		s.ix.putSession(ss)
	default:
		return false, errors.New("unknown kind " + kind)
	}
	return false, nil
}

// putUser replaces old (nil for a new user) with u (nil to delete), keeping
// the access key map in step.
func (ix *index) putUser(a *acct, old, u *user) {
	if old != nil {
		for _, k := range old.Keys {
			delete(ix.keys, k.ID)
		}
		delete(a.users, old.Name)
	}
	if u == nil {
		return
	}
	a.users[u.Name] = u
	for _, k := range u.Keys {
		if k.Status == statusActive {
			ix.keys[k.ID] = gateway.Credential{Secret: k.Secret, Principal: u.principal(k.ID)}
		}
	}
}

func (ix *index) putSession(ss *session) {
	ix.sessions[ss.AccessKeyID] = ss
	ix.keys[ss.AccessKeyID] = ss.cred
}

func (ix *index) dropSession(id string) {
	delete(ix.sessions, id)
	delete(ix.keys, id)
}

// LookupAccessKey implements gateway.CredentialSource: account roots, IAM
// users' active keys and STS sessions. An expired session is still returned
// (for a while) so that the gateway answers ExpiredToken.
func (s *Service) LookupAccessKey(ctx context.Context, accessKeyID string) (gateway.Credential, error) {
	if c, err := s.accounts.LookupAccessKey(ctx, accessKeyID); err == nil {
		return c, nil
	}
	s.mu.RLock()
	c, ok := s.ix.keys[accessKeyID]
	s.mu.RUnlock()
	if !ok {
		return gateway.Credential{}, gateway.ErrUnknownAccessKey
	}
	return c, nil
}

// txn collects the writes of one API call: each is a store write and the
// matching index change, applied only once the store has committed them all.
type txn struct {
	s   *Service
	ops []txnOp
}

type txnOp struct {
	key   string
	val   []byte // nil deletes key
	apply func(ix *index)
}

func (t *txn) put(key string, v any, apply func(ix *index)) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("iam: encode %s: %w", key, err)
	}
	t.ops = append(t.ops, txnOp{key: key, val: b, apply: apply})
	return nil
}

func (t *txn) del(key string, apply func(ix *index)) {
	t.ops = append(t.ops, txnOp{key: key, apply: apply})
}

// write runs fn, which validates against the index and stages its changes,
// then commits them in one store transaction and applies them to the index.
// If fn fails nothing is written.
func (s *Service) write(fn func(t *txn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := &txn{s: s}
	if err := fn(t); err != nil {
		return err
	}
	if len(t.ops) == 0 {
		return nil
	}
	if _, err := s.st.Update(func(tx store.Tx) error {
		for _, op := range t.ops {
			if op.val == nil {
				tx.Delete(op.key)
			} else {
				tx.Put(op.key, op.val)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	s.mu.Lock()
	for _, op := range t.ops {
		op.apply(&s.ix)
	}
	s.mu.Unlock()
	return nil
}
