package iam

import (
	"slices"
	"sort"
	"strings"
	"time"
)

type profileXML struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          time.Time
	Roles               list[roleXML]
	Tags                *list[tag] `xml:",omitempty"`
}

// xml renders the profile with its roles; callers hold mu or wmu.
func (p *profile) xml(a *acct) profileXML {
	x := profileXML{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileId: p.ID, Arn: p.arn, CreateDate: p.Created, Tags: tagList(p.Tags)}
	for _, rn := range p.Roles {
		if r := a.roles[rn]; r != nil {
			x.Roles.Member = append(x.Roles.Member, r.xml(false))
		}
	}
	return x
}

func errNoProfile(name string) error {
	return noSuchEntity("Instance Profile %s cannot be found.", name)
}

func createInstanceProfile(c *apiCall) (any, error) {
	name, err := c.name("InstanceProfileName", 128)
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
	if err := c.authorize("iam:CreateInstanceProfile", entityARN(c.acct, kindProfile, path, name)); err != nil {
		return nil, err
	}
	var x profileXML
	err = c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		if nameTaken(a.profiles, name) {
			return alreadyExists("Instance Profile %s already exists.", name)
		}
		rec := profileRec{Name: name, Path: path, ID: newUniqueID(prefixProfile), Created: c.now, Tags: tags}
		p := newProfile(c.acct, rec)
		x = p.xml(a)
		return t.put(storeKey(c.acct, kindProfile, name), rec, func(ix *index) { ix.mutable(c.acct).profiles[name] = p })
	})
	if err != nil {
		return nil, err
	}
	return struct{ InstanceProfile profileXML }{x}, nil
}

func getInstanceProfile(c *apiCall) (any, error) {
	name, err := c.name("InstanceProfileName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetInstanceProfile", c.existingARN(kindProfile, name)); err != nil {
		return nil, err
	}
	var x *profileXML
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		if p := a.profiles[name]; p != nil {
			px := p.xml(a)
			x = &px
		}
	})
	if x == nil {
		return nil, errNoProfile(name)
	}
	return struct{ InstanceProfile profileXML }{*x}, nil
}

func listInstanceProfiles(c *apiCall) (any, error) {
	prefix := c.str("PathPrefix")
	if err := c.authorize("iam:ListInstanceProfiles", entityARN(c.acct, kindProfile, "/", "")); err != nil {
		return nil, err
	}
	var all []profileXML
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		for _, p := range a.profiles {
			if strings.HasPrefix(p.Path, prefix) {
				all = append(all, p.xml(a))
			}
		}
	})
	sort.Slice(all, func(i, j int) bool { return all[i].InstanceProfileName < all[j].InstanceProfileName })
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.InstanceProfileName
	}
	lo, hi, pg, err := c.paginate(names)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfiles list[profileXML]
		page
	}{list[profileXML]{all[lo:hi]}, pg}, nil
}

// profileRole changes an instance profile's role, inside a write.
func profileRole(c *apiCall, action string, add bool) error {
	name, err := c.name("InstanceProfileName", 128)
	if err != nil {
		return err
	}
	rname, err := c.name("RoleName", 64)
	if err != nil {
		return err
	}
	if err := c.authorize(action, c.existingARN(kindProfile, name)); err != nil {
		return err
	}
	return c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		old := a.profiles[name]
		if old == nil {
			return errNoProfile(name)
		}
		if a.roles[rname] == nil {
			return errNoRole(rname)
		}
		rec := clone(old.profileRec)
		i := slices.Index(rec.Roles, rname)
		switch {
		case add && len(rec.Roles) >= 1:
			// One role per instance profile, a quota AWS does not raise.
			return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		case add:
			rec.Roles = append(rec.Roles, rname)
		case i < 0:
			return errNoRole(rname)
		default:
			rec.Roles = slices.Delete(rec.Roles, i, i+1)
		}
		p := newProfile(c.acct, rec)
		return t.put(storeKey(c.acct, kindProfile, name), rec, func(ix *index) { ix.mutable(c.acct).profiles[name] = p })
	})
}

func addRoleToInstanceProfile(c *apiCall) (any, error) {
	return nil, profileRole(c, "iam:AddRoleToInstanceProfile", true)
}

func removeRoleFromInstanceProfile(c *apiCall) (any, error) {
	return nil, profileRole(c, "iam:RemoveRoleFromInstanceProfile", false)
}

func deleteInstanceProfile(c *apiCall) (any, error) {
	name, err := c.name("InstanceProfileName", 128)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeleteInstanceProfile", c.existingARN(kindProfile, name)); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		p := t.s.ix.account(c.acct).profiles[name]
		if p == nil {
			return errNoProfile(name)
		}
		if len(p.Roles) > 0 {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		t.del(storeKey(c.acct, kindProfile, name), func(ix *index) { delete(ix.mutable(c.acct).profiles, name) })
		return nil
	})
}
