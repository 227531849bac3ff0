package iam

import (
	"sort"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

type roleXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               time.Time
	AssumeRolePolicyDocument string
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int
	PermissionsBoundary      *boundaryXML `xml:",omitempty"`
	Tags                     *list[tag]   `xml:",omitempty"`
}

func (r *role) xml(withTags bool) roleXML {
	x := roleXML{Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.arn, CreateDate: r.Created,
		AssumeRolePolicyDocument: urlEncode(r.Trust), Description: r.Description, MaxSessionDuration: r.MaxSession,
		PermissionsBoundary: boundaryOf(r.Boundary)}
	if withTags {
		x.Tags = tagList(r.Tags)
	}
	return x
}

const defaultMaxSession = 3600

func createRole(c *apiCall) (any, error) {
	name, err := c.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path("Path")
	if err != nil {
		return nil, err
	}
	doc, err := c.document("AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	maxSession, err := c.intParam("MaxSessionDuration", 3600, 43200, defaultMaxSession)
	if err != nil {
		return nil, err
	}
	desc := c.str("Description")
	if err := roleDescription(desc); err != nil {
		return nil, err
	}
	tags, err := c.tags("Tags")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:CreateRole", entityARN(c.acct, kindRole, path, name)); err != nil {
		return nil, err
	}
	if _, err := policy.ParseTrust(doc); err != nil {
		return nil, malformed(err)
	}
	var r *role
	err = c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		if nameTaken(a.roles, name) {
			return alreadyExists("Role with name %s already exists.", name)
		}
		boundary, err := c.boundaryParam(a)
		if err != nil {
			return err
		}
		rec := roleRec{Name: name, Path: path, ID: newUniqueID(prefixRole), Description: desc, Created: c.now,
			MaxSession: maxSession, Trust: doc, Boundary: boundary, Tags: tags}
		if r, err = newRole(c.acct, rec); err != nil {
			return malformed(err)
		}
		return t.put(storeKey(c.acct, kindRole, name), rec, func(ix *index) { ix.mutable(c.acct).roles[name] = r })
	})
	if err != nil {
		return nil, err
	}
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func getRole(c *apiCall) (any, error) {
	name, err := c.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetRole", c.existingARN(kindRole, name)); err != nil {
		return nil, err
	}
	var r *role
	c.s.read(func(ix *index) { r = ix.account(c.acct).roles[name] })
	if r == nil {
		return nil, errNoRole(name)
	}
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func listRoles(c *apiCall) (any, error) {
	prefix := c.str("PathPrefix")
	if err := c.authorize("iam:ListRoles", entityARN(c.acct, kindRole, "/", "")); err != nil {
		return nil, err
	}
	var roles []*role
	c.s.read(func(ix *index) {
		for _, r := range ix.account(c.acct).roles {
			if strings.HasPrefix(r.Path, prefix) {
				roles = append(roles, r)
			}
		}
	})
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	lo, hi, pg, err := c.paginate(names)
	if err != nil {
		return nil, err
	}
	out := struct {
		Roles list[roleXML]
		page
	}{page: pg}
	for _, r := range roles[lo:hi] {
		out.Roles.Member = append(out.Roles.Member, r.xml(false))
	}
	return out, nil
}

func deleteRole(c *apiCall) (any, error) {
	name, err := c.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeleteRole", c.existingARN(kindRole, name)); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		r := a.roles[name]
		switch {
		case r == nil:
			return errNoRole(name)
		case len(r.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(r.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		for _, p := range a.profiles {
			for _, rn := range p.Roles {
				if rn == name {
					return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
				}
			}
		}
		t.del(storeKey(c.acct, kindRole, name), func(ix *index) { delete(ix.mutable(c.acct).roles, name) })
		return nil
	})
}

// changeRole replaces the named role with a changed copy, inside a write.
func (c *apiCall) changeRole(t *txn, name string, change func(r *roleRec) error) (*role, error) {
	old := t.s.ix.account(c.acct).roles[name]
	if old == nil {
		return nil, errNoRole(name)
	}
	rec := clone(old.roleRec)
	if err := change(&rec); err != nil {
		return nil, err
	}
	r, err := newRole(c.acct, rec)
	if err != nil {
		return nil, malformed(err)
	}
	return r, t.put(storeKey(c.acct, kindRole, name), rec, func(ix *index) { ix.mutable(c.acct).roles[name] = r })
}

// updateRole changes a role's description and maximum session duration;
// a parameter that is absent leaves its value as it is.
func updateRole(c *apiCall) (any, error) {
	if _, err := c.changeRoleSettings("iam:UpdateRole"); err != nil {
		return nil, err
	}
	// UpdateRole's output is an empty structure: the SDKs expect its element.
	return struct{}{}, nil
}

// updateRoleDescription is UpdateRole for the description alone, and answers
// with the changed role.
func updateRoleDescription(c *apiCall) (any, error) {
	if !c.has("Description") {
		return nil, constraintErr("", "description", "Member must not be null")
	}
	r, err := c.changeRoleSettings("iam:UpdateRoleDescription")
	if err != nil {
		return nil, err
	}
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (c *apiCall) changeRoleSettings(action string) (*role, error) {
	name, err := c.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	desc, setDesc := c.str("Description"), c.has("Description")
	if err := roleDescription(desc); err != nil {
		return nil, err
	}
	maxSession, err := c.intParam("MaxSessionDuration", 3600, 43200, 0)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(action, c.existingARN(kindRole, name)); err != nil {
		return nil, err
	}
	var r *role
	err = c.s.write(func(t *txn) error {
		r, err = c.changeRole(t, name, func(rec *roleRec) error {
			if setDesc {
				rec.Description = desc
			}
			if maxSession != 0 {
				rec.MaxSession = maxSession
			}
			return nil
		})
		return err
	})
	return r, err
}

func updateAssumeRolePolicy(c *apiCall) (any, error) {
	name, err := c.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	doc, err := c.document("PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:UpdateAssumeRolePolicy", c.existingARN(kindRole, name)); err != nil {
		return nil, err
	}
	if _, err := policy.ParseTrust(doc); err != nil {
		return nil, malformed(err)
	}
	return nil, c.s.write(func(t *txn) error {
		_, err := c.changeRole(t, name, func(r *roleRec) error { r.Trust = doc; return nil })
		return err
	})
}

type groupXML struct {
	Path       string
	GroupName  string
	GroupId    string
	Arn        string
	CreateDate time.Time
}

func (g *group) xml() groupXML {
	return groupXML{Path: g.Path, GroupName: g.Name, GroupId: g.ID, Arn: g.arn, CreateDate: g.Created}
}

func createGroup(c *apiCall) (any, error) {
	name, err := c.name("GroupName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.path("Path")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:CreateGroup", entityARN(c.acct, kindGroup, path, name)); err != nil {
		return nil, err
	}
	var g *group
	err = c.s.write(func(t *txn) error {
		if nameTaken(t.s.ix.account(c.acct).groups, name) {
			return alreadyExists("Group with name %s already exists.", name)
		}
		rec := groupRec{Name: name, Path: path, ID: newUniqueID(prefixGroup), Created: c.now}
		g, _ = newGroup(c.acct, rec)
		return t.put(storeKey(c.acct, kindGroup, name), rec, func(ix *index) { ix.mutable(c.acct).groups[name] = g })
	})
	if err != nil {
		return nil, err
	}
	return struct{ Group groupXML }{g.xml()}, nil
}

func getGroup(c *apiCall) (any, error) {
	name, err := c.name("GroupName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetGroup", c.existingARN(kindGroup, name)); err != nil {
		return nil, err
	}
	var g *group
	var members []*user
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		if g = a.groups[name]; g == nil {
			return
		}
		for _, u := range a.users {
			for _, gn := range u.Groups {
				if gn == name {
					members = append(members, u)
				}
			}
		}
	})
	if g == nil {
		return nil, errNoGroup(name)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	out := struct {
		Group groupXML
		Users list[userXML]
		page
	}{Group: g.xml()}
	for _, u := range members {
		out.Users.Member = append(out.Users.Member, u.xml(false))
	}
	return out, nil
}

func listGroups(c *apiCall) (any, error) {
	prefix := c.str("PathPrefix")
	if err := c.authorize("iam:ListGroups", entityARN(c.acct, kindGroup, "/", "")); err != nil {
		return nil, err
	}
	var groups []*group
	c.s.read(func(ix *index) {
		for _, g := range ix.account(c.acct).groups {
			if strings.HasPrefix(g.Path, prefix) {
				groups = append(groups, g)
			}
		}
	})
	return groupsResult(c, groups)
}

func groupsResult(c *apiCall, groups []*group) (any, error) {
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	lo, hi, pg, err := c.paginate(names)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups list[groupXML]
		page
	}{page: pg}
	for _, g := range groups[lo:hi] {
		out.Groups.Member = append(out.Groups.Member, g.xml())
	}
	return out, nil
}

func listGroupsForUser(c *apiCall) (any, error) {
	name, err := c.name("UserName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:ListGroupsForUser", c.existingARN(kindUser, name)); err != nil {
		return nil, err
	}
	var u *user
	var groups []*group
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		if u = a.users[name]; u == nil {
			return
		}
		for _, gn := range u.Groups {
			if g := a.groups[gn]; g != nil {
				groups = append(groups, g)
			}
		}
	})
	if u == nil {
		return nil, errNoUser(name)
	}
	return groupsResult(c, groups)
}

func deleteGroup(c *apiCall) (any, error) {
	name, err := c.name("GroupName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeleteGroup", c.existingARN(kindGroup, name)); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		g := a.groups[name]
		if g == nil {
			return errNoGroup(name)
		}
		for _, u := range a.users {
			for _, gn := range u.Groups {
				if gn == name {
					return deleteConflict("Cannot delete entity, must remove users from group first.")
				}
			}
		}
		switch {
		case len(g.Inline) > 0:
			return deleteConflict("Cannot delete entity, must delete policies first.")
		case len(g.Attached) > 0:
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		t.del(storeKey(c.acct, kindGroup, name), func(ix *index) { delete(ix.mutable(c.acct).groups, name) })
		return nil
	})
}

func (c *apiCall) changeGroup(t *txn, name string, change func(r *groupRec) error) (*group, error) {
	old := t.s.ix.account(c.acct).groups[name]
	if old == nil {
		return nil, errNoGroup(name)
	}
	rec := clone(old.groupRec)
	if err := change(&rec); err != nil {
		return nil, err
	}
	g, err := newGroup(c.acct, rec)
	if err != nil {
		return nil, malformed(err)
	}
	return g, t.put(storeKey(c.acct, kindGroup, name), rec, func(ix *index) { ix.mutable(c.acct).groups[name] = g })
}

func membership(c *apiCall, action string, add bool) error {
	gname, err := c.name("GroupName", 128)
	if err != nil {
		return err
	}
	uname, err := c.name("UserName", 128)
	if err != nil {
		return err
	}
	if err := c.authorize(action, c.existingARN(kindGroup, gname)); err != nil {
		return err
	}
	return c.s.write(func(t *txn) error {
		if t.s.ix.account(c.acct).groups[gname] == nil {
			return errNoGroup(gname)
		}
		_, err := c.changeUser(t, uname, func(r *userRec) error {
			i := -1
			for j, g := range r.Groups {
				if g == gname {
					i = j
				}
			}
			switch {
			case add && i < 0:
				r.Groups = append(r.Groups, gname)
			case !add && i < 0:
				return errNoUser(uname)
			case !add:
				r.Groups = append(r.Groups[:i], r.Groups[i+1:]...)
			}
			return nil
		})
		return err
	})
}

func addUserToGroup(c *apiCall) (any, error) {
	return nil, membership(c, "iam:AddUserToGroup", true)
}

func removeUserFromGroup(c *apiCall) (any, error) {
	return nil, membership(c, "iam:RemoveUserFromGroup", false)
}

// roleDescription checks a role description against its model constraints;
// the pattern also keeps out bytes that are not UTF-8, which the store could
// not keep as they are.
func roleDescription(desc string) error {
	if len(desc) > 1000 {
		return constraintErr(desc, "description", "Member must have length less than or equal to 1000")
	}
	if strings.IndexFunc(desc, func(r rune) bool {
		return r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0x7e && r < 0xa1 || r > 0xff)
	}) >= 0 {
		return constraintErr(desc, "description", `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`)
	}
	return nil
}
