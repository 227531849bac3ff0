package iam

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

type boundaryXML struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

func boundaryOf(arn string) *boundaryXML {
	if arn == "" {
		return nil
	}
	return &boundaryXML{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: arn}
}

type userXML struct {
	Path                string `xml:",omitempty"`
	UserName            string `xml:",omitempty"`
	UserId              string
	Arn                 string
	CreateDate          *time.Time   `xml:",omitempty"`
	PermissionsBoundary *boundaryXML `xml:",omitempty"`
	Tags                *list[tag]   `xml:",omitempty"`
}

func (u *user) xml(withTags bool) userXML {
	x := userXML{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.arn, CreateDate: &u.Created, PermissionsBoundary: boundaryOf(u.Boundary)}
	if withTags {
		x.Tags = tagList(u.Tags)
	}
	return x
}

// read runs fn with the index locked for reading.
func (s *Service) read(fn func(ix *index)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(&s.ix)
}

// existingARN is the ARN of the named entity for authorization: with the
// entity's path if it exists, with "/" if not (AWS names the same resource).
func (c *apiCall) existingARN(kind, name string) string {
	path := "/"
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		switch kind {
		case kindUser:
			if u := a.users[name]; u != nil {
				path = u.Path
			}
		case kindRole:
			if r := a.roles[name]; r != nil {
				path = r.Path
			}
		case kindGroup:
			if g := a.groups[name]; g != nil {
				path = g.Path
			}
		case kindProfile:
			if p := a.profiles[name]; p != nil {
				path = p.Path
			}
		}
	})
	return entityARN(c.acct, kind, path, name)
}

func errNoUser(name string) error {
	return noSuchEntity("The user with name %s cannot be found.", name)
}
func errNoRole(name string) error {
	return noSuchEntity("The role with name %s cannot be found.", name)
}
func errNoGroup(name string) error {
	return noSuchEntity("The group with name %s cannot be found.", name)
}

// nameTaken reports whether a name is used, ignoring case as IAM does.
func nameTaken[T any](m map[string]T, name string) bool {
	for k := range m {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// boundaryParam checks an optional PermissionsBoundary ARN.
func (c *apiCall) boundaryParam(a *acct) (string, error) {
	arn := c.str("PermissionsBoundary")
	if arn == "" {
		return "", nil
	}
	if a.managedPolicy(arn) == nil {
		return "", noSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)
	}
	return arn, nil
}

func createUser(c *apiCall) (any, error) {
	name, err := c.name("UserName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path("Path")
	if err != nil {
		return nil, err
	}
	tags, err := c.tags("Tags")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:CreateUser", entityARN(c.acct, kindUser, path, name)); err != nil {
		return nil, err
	}
	var u *user
	err = c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		if nameTaken(a.users, name) {
			return alreadyExists("User with name %s already exists.", name)
		}
		boundary, err := c.boundaryParam(a)
		if err != nil {
			return err
		}
		rec := userRec{Name: name, Path: path, ID: newUniqueID(prefixUser), Created: c.now, Boundary: boundary, Tags: tags}
		if u, err = newUser(c.acct, rec); err != nil {
			return err
		}
		return t.put(storeKey(c.acct, kindUser, name), rec, func(ix *index) { ix.putUser(ix.mutable(c.acct), nil, u) })
	})
	if err != nil {
		return nil, err
	}
	return struct{ User userXML }{u.xml(true)}, nil
}

// targetUser is the UserName parameter, or the calling user when it is
// absent, as for GetUser and the access key actions.
func (c *apiCall) targetUser() (string, error) {
	if c.has("UserName") {
		return c.name("UserName", 128)
	}
	if pp := policyPrincipal(c.p); pp.Type == policy.User {
		return pp.Name, nil
	}
	return "", validationErr("Must specify userName when calling with non-User credentials")
}

func getUser(c *apiCall) (any, error) {
	if !c.has("UserName") && c.p.IsRoot {
		return struct{ User userXML }{userXML{UserId: c.p.UserID, Arn: c.p.ARN}}, nil
	}
	name, err := c.targetUser()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetUser", c.existingARN(kindUser, name)); err != nil {
		return nil, err
	}
	var u *user
	c.s.read(func(ix *index) { u = ix.account(c.acct).users[name] })
	if u == nil {
		return nil, errNoUser(name)
	}
	return struct{ User userXML }{u.xml(true)}, nil
}

func listUsers(c *apiCall) (any, error) {
	prefix := c.str("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	if err := c.authorize("iam:ListUsers", entityARN(c.acct, kindUser, "/", "")); err != nil {
		return nil, err
	}
	var users []*user
	c.s.read(func(ix *index) {
		for _, u := range ix.account(c.acct).users {
			if strings.HasPrefix(u.Path, prefix) {
				users = append(users, u)
			}
		}
	})
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	lo, hi, pg, err := c.paginate(names)
	if err != nil {
		return nil, err
	}
	out := struct {
		Users list[userXML]
		page
	}{page: pg}
	for _, u := range users[lo:hi] {
		out.Users.Member = append(out.Users.Member, u.xml(false))
	}
	return out, nil
}

func deleteUser(c *apiCall) (any, error) {
	name, err := c.name("UserName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeleteUser", c.existingARN(kindUser, name)); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		u := a.users[name]
		switch {
		case u == nil:
			return errNoUser(name)
		case len(u.Keys) > 0:
			return deleteConflict("Cannot delete entity, must delete access keys first.")
		case len(u.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(u.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		case len(u.Groups) > 0:
			return deleteConflict("Cannot delete entity, must remove user from all groups first.")
		}
		t.del(storeKey(c.acct, kindUser, name), func(ix *index) { ix.putUser(ix.mutable(c.acct), u, nil) })
		return nil
	})
}

// updateUser renames a user or moves it to another path. Everything the
// user holds (access keys, policies, group memberships, tags) lives in its
// record, so it moves with it; its unique id stays.
func updateUser(c *apiCall) (any, error) {
	name, err := c.name("UserName", 128)
	if err != nil {
		return nil, err
	}
	newName, err := c.optName("NewUserName", 64)
	if err != nil {
		return nil, err
	}
	var newPath string
	if c.has("NewPath") {
		if newPath, err = c.path("NewPath"); err != nil {
			return nil, err
		}
	}
	oldARN := c.existingARN(kindUser, name)
	if err := c.authorize("iam:UpdateUser", oldARN); err != nil {
		return nil, err
	}
	var old *user
	c.s.read(func(ix *index) { old = ix.account(c.acct).users[name] })
	if old == nil {
		return nil, errNoUser(name)
	}
	if newName == "" {
		newName = name
	}
	if newPath == "" {
		newPath = old.Path
	}
	// Renaming needs the permission on the new name as well (IAM user
	// guide, "Renaming an IAM user").
	if newARN := entityARN(c.acct, kindUser, newPath, newName); newARN != oldARN {
		if err := c.authorize("iam:UpdateUser", newARN); err != nil {
			return nil, err
		}
	}
	return nil, c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		old := a.users[name]
		if old == nil {
			return errNoUser(name)
		}
		if !strings.EqualFold(newName, name) && nameTaken(a.users, newName) {
			return alreadyExists("User with name %s already exists.", newName)
		}
		rec := clone(old.userRec)
		rec.Name, rec.Path = newName, newPath
		u, err := newUser(c.acct, rec)
		if err != nil {
			return err
		}
		if newName != name {
			t.del(storeKey(c.acct, kindUser, name), func(*index) {})
		}
		return t.put(storeKey(c.acct, kindUser, newName), rec, func(ix *index) { ix.putUser(ix.mutable(c.acct), old, u) })
	})
}

// changeUser replaces the named user with a changed copy, inside a write.
func (c *apiCall) changeUser(t *txn, name string, change func(r *userRec) error) (*user, error) {
	a := t.s.ix.account(c.acct)
	old := a.users[name]
	if old == nil {
		return nil, errNoUser(name)
	}
	rec := clone(old.userRec)
	if err := change(&rec); err != nil {
		return nil, err
	}
	u, err := newUser(c.acct, rec)
	if err != nil {
		return nil, malformed(err)
	}
	return u, t.put(storeKey(c.acct, kindUser, name), rec, func(ix *index) { ix.putUser(ix.mutable(c.acct), old, u) })
}

type accessKeyXML struct {
	UserName        string
	AccessKeyId     string
	Status          string
	SecretAccessKey string `xml:",omitempty"`
	CreateDate      time.Time
}

func createAccessKey(c *apiCall) (any, error) {
	name, err := c.targetUser()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:CreateAccessKey", c.existingARN(kindUser, name)); err != nil {
		return nil, err
	}
	k := accessKeyRec{ID: newAccessKeyID(prefixAccessKey), Secret: newSecret(), Status: statusActive, Created: c.now}
	err = c.s.write(func(t *txn) error {
		_, err := c.changeUser(t, name, func(r *userRec) error {
			if len(r.Keys) >= 2 {
				return limitExceeded("Cannot exceed quota for AccessKeysPerUser: 2")
			}
			r.Keys = append(r.Keys, k)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return struct{ AccessKey accessKeyXML }{accessKeyXML{UserName: name, AccessKeyId: k.ID, Status: k.Status, SecretAccessKey: k.Secret, CreateDate: k.Created}}, nil
}

func listAccessKeys(c *apiCall) (any, error) {
	name, err := c.targetUser()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:ListAccessKeys", c.existingARN(kindUser, name)); err != nil {
		return nil, err
	}
	var u *user
	c.s.read(func(ix *index) { u = ix.account(c.acct).users[name] })
	if u == nil {
		return nil, errNoUser(name)
	}
	out := struct {
		AccessKeyMetadata list[accessKeyXML]
		page
	}{}
	for _, k := range u.Keys {
		out.AccessKeyMetadata.Member = append(out.AccessKeyMetadata.Member, accessKeyXML{UserName: name, AccessKeyId: k.ID, Status: k.Status, CreateDate: k.Created})
	}
	return out, nil
}

func (c *apiCall) accessKeyParam() (string, error) {
	id := c.str("AccessKeyId")
	switch {
	case id == "":
		return "", constraintErr("", "accessKeyId", "Member must not be null")
	case len(id) < 16:
		return "", constraintErr(id, "accessKeyId", "Member must have length greater than or equal to 16")
	}
	return id, nil
}

// changeAccessKey applies change to one of a user's keys.
func (c *apiCall) changeAccessKey(action string, change func(r *userRec, i int)) error {
	name, err := c.targetUser()
	if err != nil {
		return err
	}
	id, err := c.accessKeyParam()
	if err != nil {
		return err
	}
	if action == "iam:UpdateAccessKey" {
		if st := c.str("Status"); st != statusActive && st != statusInactive {
			return constraintErr(st, "status", "Member must satisfy enum value set: [Active, Inactive, Expired]")
		}
	}
	if err := c.authorize(action, c.existingARN(kindUser, name)); err != nil {
		return err
	}
	return c.s.write(func(t *txn) error {
		_, err := c.changeUser(t, name, func(r *userRec) error {
			i := slices.IndexFunc(r.Keys, func(k accessKeyRec) bool { return k.ID == id })
			if i < 0 {
				return noSuchEntity("The Access Key with id %s cannot be found.", id)
			}
			change(r, i)
			return nil
		})
		return err
	})
}

func deleteAccessKey(c *apiCall) (any, error) {
	return nil, c.changeAccessKey("iam:DeleteAccessKey", func(r *userRec, i int) { r.Keys = slices.Delete(r.Keys, i, i+1) })
}

func updateAccessKey(c *apiCall) (any, error) {
	status := c.str("Status")
	return nil, c.changeAccessKey("iam:UpdateAccessKey", func(r *userRec, i int) { r.Keys[i].Status = status })
}
