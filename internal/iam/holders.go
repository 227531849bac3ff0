package iam

import (
	"slices"
	"sort"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// Users, roles and groups all hold inline and attached policies; users and
// roles also a permissions boundary and tags. The actions on those are the
// same for the three kinds but for their names.

// holderTitle is the kind as it appears in action names.
var holderTitle = map[string]string{kindUser: "User", kindRole: "Role", kindGroup: "Group"}

// holderName returns the UserName, RoleName or GroupName parameter.
func (c *apiCall) holderName(kind string) (string, error) {
	max := 128
	if kind == kindRole {
		max = 64
	}
	return c.name(holderTitle[kind]+"Name", max)
}

func errNoHolder(kind, name string) error {
	switch kind {
	case kindUser:
		return errNoUser(name)
	case kindRole:
		return errNoRole(name)
	}
	return errNoGroup(name)
}

// holderState is what the three kinds share, as pointers into a record.
type holderState struct {
	inline   *map[string]string
	attached *[]string
	boundary *string
	tags     *[]tag
}

// readHolder returns the named entity's shared state, for reading only.
func (c *apiCall) readHolder(kind, name string) (holderState, bool) {
	var h holderState
	found := false
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		switch kind {
		case kindUser:
			if u := a.users[name]; u != nil {
				r := u.userRec
				h, found = holderState{&r.Inline, &r.Attached, &r.Boundary, &r.Tags}, true
			}
		case kindRole:
			if rl := a.roles[name]; rl != nil {
				r := rl.roleRec
				h, found = holderState{&r.Inline, &r.Attached, &r.Boundary, &r.Tags}, true
			}
		case kindGroup:
			if g := a.groups[name]; g != nil {
				r := g.groupRec
				h, found = holderState{inline: &r.Inline, attached: &r.Attached}, true
			}
		}
	})
	return h, found
}

// changeHolder changes the named entity inside a write.
func (c *apiCall) changeHolder(t *txn, kind, name string, change func(h holderState) error) error {
	var err error
	switch kind {
	case kindUser:
		_, err = c.changeUser(t, name, func(r *userRec) error {
			return change(holderState{&r.Inline, &r.Attached, &r.Boundary, &r.Tags})
		})
	case kindRole:
		_, err = c.changeRole(t, name, func(r *roleRec) error {
			return change(holderState{&r.Inline, &r.Attached, &r.Boundary, &r.Tags})
		})
	case kindGroup:
		_, err = c.changeGroup(t, name, func(r *groupRec) error {
			return change(holderState{inline: &r.Inline, attached: &r.Attached})
		})
	}
	return err
}

func putInline(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		pname, err := c.name("PolicyName", 128)
		if err != nil {
			return nil, err
		}
		doc, err := c.document("PolicyDocument")
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:Put"+holderTitle[kind]+"Policy", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		if _, err := policy.ParseIdentity(doc); err != nil {
			return nil, malformed(err)
		}
		return nil, c.s.write(func(t *txn) error {
			return c.changeHolder(t, kind, name, func(h holderState) error {
				if *h.inline == nil {
					*h.inline = map[string]string{}
				}
				(*h.inline)[pname] = doc
				return nil
			})
		})
	}
}

func errNoInline(kind, pname string) error {
	return noSuchEntity("The %s policy with name %s cannot be found.", kind, pname)
}

func getInline(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		pname, err := c.name("PolicyName", 128)
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:Get"+holderTitle[kind]+"Policy", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		h, ok := c.readHolder(kind, name)
		if !ok {
			return nil, errNoHolder(kind, name)
		}
		doc, ok := (*h.inline)[pname]
		if !ok {
			return nil, errNoInline(kind, pname)
		}
		switch kind {
		case kindUser:
			return struct{ UserName, PolicyName, PolicyDocument string }{name, pname, urlEncode(doc)}, nil
		case kindRole:
			return struct{ RoleName, PolicyName, PolicyDocument string }{name, pname, urlEncode(doc)}, nil
		}
		return struct{ GroupName, PolicyName, PolicyDocument string }{name, pname, urlEncode(doc)}, nil
	}
}

func deleteInline(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		pname, err := c.name("PolicyName", 128)
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:Delete"+holderTitle[kind]+"Policy", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		return nil, c.s.write(func(t *txn) error {
			return c.changeHolder(t, kind, name, func(h holderState) error {
				if _, ok := (*h.inline)[pname]; !ok {
					return errNoInline(kind, pname)
				}
				delete(*h.inline, pname)
				return nil
			})
		})
	}
}

func listInline(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:List"+holderTitle[kind]+"Policies", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		h, ok := c.readHolder(kind, name)
		if !ok {
			return nil, errNoHolder(kind, name)
		}
		names := make([]string, 0, len(*h.inline))
		for n := range *h.inline {
			names = append(names, n)
		}
		sort.Strings(names)
		lo, hi, pg, err := c.paginate(names)
		if err != nil {
			return nil, err
		}
		return struct {
			PolicyNames list[string]
			page
		}{list[string]{names[lo:hi]}, pg}, nil
	}
}

// maxAttached is IAM's default quota of managed policies per user, role
// and group.
const maxAttached = 10

func attach(kind string, on bool) handler {
	verb := "Detach"
	if on {
		verb = "Attach"
	}
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		arn, err := c.arnParam("PolicyArn")
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:"+verb+holderTitle[kind]+"Policy", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		return nil, c.s.write(func(t *txn) error {
			return c.changeHolder(t, kind, name, func(h holderState) error {
				i := slices.Index(*h.attached, arn)
				switch {
				case !on && i < 0:
					return noSuchEntity("Policy %s was not found.", arn)
				case !on:
					*h.attached = slices.Delete(*h.attached, i, i+1)
				case t.s.ix.account(c.acct).managedPolicy(arn) == nil:
					return noSuchEntity("Policy %s does not exist or is not attachable.", arn)
				case i >= 0:
				case len(*h.attached) >= maxAttached:
					return limitExceeded("Cannot exceed quota for PoliciesPer%s: %d", holderTitle[kind], maxAttached)
				default:
					*h.attached = append(*h.attached, arn)
				}
				return nil
			})
		})
	}
}

type attachedXML struct {
	PolicyName string
	PolicyArn  string
}

func listAttached(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		prefix := c.str("PathPrefix")
		if err := c.authorize("iam:ListAttached"+holderTitle[kind]+"Policies", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		h, ok := c.readHolder(kind, name)
		if !ok {
			return nil, errNoHolder(kind, name)
		}
		var all []attachedXML
		c.s.read(func(ix *index) {
			a := ix.account(c.acct)
			for _, arn := range *h.attached {
				if m := a.managedPolicy(arn); m != nil && strings.HasPrefix(m.Path, prefix) {
					all = append(all, attachedXML{PolicyName: m.Name, PolicyArn: arn})
				}
			}
		})
		sort.Slice(all, func(i, j int) bool { return all[i].PolicyName < all[j].PolicyName })
		names := make([]string, len(all))
		for i, a := range all {
			names[i] = a.PolicyName
		}
		lo, hi, pg, err := c.paginate(names)
		if err != nil {
			return nil, err
		}
		return struct {
			AttachedPolicies list[attachedXML]
			page
		}{list[attachedXML]{all[lo:hi]}, pg}, nil
	}
}

func putBoundary(kind string, on bool) handler {
	verb := "Delete"
	if on {
		verb = "Put"
	}
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		arn := ""
		if on {
			if arn, err = c.arnParam("PermissionsBoundary"); err != nil {
				return nil, err
			}
		}
		if err := c.authorize("iam:"+verb+holderTitle[kind]+"PermissionsBoundary", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		return nil, c.s.write(func(t *txn) error {
			if on && t.s.ix.account(c.acct).managedPolicy(arn) == nil {
				return noSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)
			}
			return c.changeHolder(t, kind, name, func(h holderState) error {
				*h.boundary = arn
				return nil
			})
		})
	}
}

// maxTags is IAM's limit of tags per user or role.
const maxTags = 50

func tagEntity(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		tags, err := c.tags("Tags")
		if err != nil {
			return nil, err
		}
		if tags == nil {
			return nil, constraintErr("", "tags", "Member must not be null")
		}
		if err := c.authorize("iam:Tag"+holderTitle[kind], c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		return nil, c.s.write(func(t *txn) error {
			return c.changeHolder(t, kind, name, func(h holderState) error {
				for _, nt := range tags {
					i := slices.IndexFunc(*h.tags, func(t tag) bool { return strings.EqualFold(t.Key, nt.Key) })
					if i >= 0 {
						(*h.tags)[i] = nt
					} else {
						*h.tags = append(*h.tags, nt)
					}
				}
				if len(*h.tags) > maxTags {
					return limitExceeded("The number of tags has reached the maximum limit.")
				}
				return nil
			})
		})
	}
}

func untagEntity(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		keys := c.members("TagKeys")
		if keys == nil {
			return nil, constraintErr("", "tagKeys", "Member must not be null")
		}
		if err := c.authorize("iam:Untag"+holderTitle[kind], c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		return nil, c.s.write(func(t *txn) error {
			return c.changeHolder(t, kind, name, func(h holderState) error {
				*h.tags = slices.DeleteFunc(*h.tags, func(t tag) bool {
					return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
				})
				return nil
			})
		})
	}
}

func listTags(kind string) handler {
	return func(c *apiCall) (any, error) {
		name, err := c.holderName(kind)
		if err != nil {
			return nil, err
		}
		if err := c.authorize("iam:List"+holderTitle[kind]+"Tags", c.existingARN(kind, name)); err != nil {
			return nil, err
		}
		h, ok := c.readHolder(kind, name)
		if !ok {
			return nil, errNoHolder(kind, name)
		}
		return struct {
			Tags list[tag]
			page
		}{Tags: list[tag]{*h.tags}}, nil
	}
}
