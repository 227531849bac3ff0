package iam

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

type policyXML struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    time.Time
	UpdateDate                    time.Time
	Tags                          *list[tag] `xml:",omitempty"`
}

// usage counts the entities of the account that attach arn and that use it
// as their permissions boundary.
func (a *acct) usage(arn string) (attached, boundary int) {
	for _, u := range a.users {
		attached += count(u.Attached, arn)
		if u.Boundary == arn {
			boundary++
		}
	}
	for _, r := range a.roles {
		attached += count(r.Attached, arn)
		if r.Boundary == arn {
			boundary++
		}
	}
	for _, g := range a.groups {
		attached += count(g.Attached, arn)
	}
	return attached, boundary
}

func count(list []string, s string) int {
	if slices.Contains(list, s) {
		return 1
	}
	return 0
}

func (m *managed) xml(a *acct, withTags bool) policyXML {
	att, bnd := a.usage(m.arn)
	x := policyXML{PolicyName: m.Name, PolicyId: m.ID, Arn: m.arn, Path: m.Path, DefaultVersionId: m.Default,
		AttachmentCount: att, PermissionsBoundaryUsageCount: bnd, IsAttachable: true, Description: m.Description,
		CreateDate: m.Created, UpdateDate: m.Updated}
	if withTags {
		x.Tags = tagList(m.Tags)
	}
	return x
}

type versionXML struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       time.Time
}

func errNoPolicy(arn string) error { return noSuchEntity("Policy %s was not found.", arn) }

// policyPath checks the Path of CreatePolicy, which has its own pattern.
func (c *apiCall) policyPath() (string, error) {
	if !c.has("Path") {
		return "/", nil
	}
	v := c.str("Path")
	ok := strings.HasPrefix(v, "/") && strings.HasSuffix(v, "/") && len(v) <= 512
	for _, seg := range strings.Split(strings.Trim(v, "/"), "/") {
		if v != "/" && (seg == "" || strings.IndexFunc(seg, func(r rune) bool { return !isNameChar(r) }) >= 0) {
			ok = false
		}
	}
	if !ok {
		return "", constraintErr(v, "path", `Member must satisfy regular expression pattern: ((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
	}
	return v, nil
}

func createPolicy(c *apiCall) (any, error) {
	name, err := c.name("PolicyName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.policyPath()
	if err != nil {
		return nil, err
	}
	doc, err := c.document("PolicyDocument")
	if err != nil {
		return nil, err
	}
	// The store keeps JSON, which cannot hold invalid UTF-8: normalize on
	// input so what is served now is what a restart loads.
	desc := strings.ToValidUTF8(c.str("Description"), "\uFFFD")
	if len(desc) > 1000 {
		return nil, constraintErr(desc, "description", "Member must have length less than or equal to 1000")
	}
	tags, err := c.tags("Tags")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:CreatePolicy", entityARN(c.acct, kindPolicy, path, name)); err != nil {
		return nil, err
	}
	if _, err := policy.ParseManaged(doc); err != nil {
		return nil, malformed(err)
	}
	var m *managed
	err = c.s.write(func(t *txn) error {
		a := t.s.ix.account(c.acct)
		if nameTaken(a.policies, name) {
			return alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
		rec := policyRec{Name: name, Path: path, ID: newUniqueID(prefixPolicy), Description: desc, Created: c.now, Updated: c.now,
			Default: "v1", NextVersion: 2, Versions: []versionRec{{ID: "v1", Document: doc, Created: c.now}}, Tags: tags}
		var err error
		if m, err = newManaged(c.acct, rec); err != nil {
			return malformed(err)
		}
		return t.put(storeKey(c.acct, kindPolicy, name), rec, func(ix *index) { ix.mutable(c.acct).policies[name] = m })
	})
	if err != nil {
		return nil, err
	}
	var x policyXML
	c.s.read(func(ix *index) { x = m.xml(ix.account(c.acct), true) })
	return struct{ Policy policyXML }{x}, nil
}

// findPolicy returns the managed policy named by the PolicyArn parameter,
// with its account's state; callers hold mu or wmu.
func (c *apiCall) findPolicy(ix *index, arn string) (*managed, *acct) {
	a := ix.account(c.acct)
	return a.managedPolicy(arn), a
}

func getPolicy(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:GetPolicy", arn); err != nil {
		return nil, err
	}
	var x *policyXML
	c.s.read(func(ix *index) {
		if m, a := c.findPolicy(ix, arn); m != nil {
			px := m.xml(a, true)
			x = &px
		}
	})
	if x == nil {
		return nil, errNoPolicy(arn)
	}
	return struct{ Policy policyXML }{*x}, nil
}

func getPolicyVersion(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	vid := c.str("VersionId")
	if vid == "" {
		return nil, constraintErr("", "versionId", "Member must not be null")
	}
	if err := c.authorize("iam:GetPolicyVersion", arn); err != nil {
		return nil, err
	}
	var m *managed
	c.s.read(func(ix *index) { m, _ = c.findPolicy(ix, arn) })
	if m == nil {
		return nil, errNoPolicy(arn)
	}
	v := m.version(vid)
	if v == nil {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, vid)
	}
	return struct{ PolicyVersion versionXML }{versionXML{Document: urlEncode(v.Document), VersionId: v.ID, IsDefaultVersion: v.ID == m.Default, CreateDate: v.Created}}, nil
}

func listPolicyVersions(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:ListPolicyVersions", arn); err != nil {
		return nil, err
	}
	var m *managed
	c.s.read(func(ix *index) { m, _ = c.findPolicy(ix, arn) })
	if m == nil {
		return nil, errNoPolicy(arn)
	}
	out := struct {
		Versions list[versionXML]
		page
	}{}
	for _, v := range m.Versions {
		out.Versions.Member = append(out.Versions.Member, versionXML{VersionId: v.ID, IsDefaultVersion: v.ID == m.Default, CreateDate: v.Created})
	}
	return out, nil
}

// maxVersions is how many versions a managed policy keeps.
const maxVersions = 5

// changePolicy replaces a customer managed policy with a changed copy.
func (c *apiCall) changePolicy(t *txn, arn string, change func(r *policyRec) error) (*managed, error) {
	old, _ := c.findPolicy(&t.s.ix, arn)
	if old == nil || old.aws {
		return nil, errNoPolicy(arn)
	}
	rec := clone(old.policyRec)
	if err := change(&rec); err != nil {
		return nil, err
	}
	m, err := newManaged(c.acct, rec)
	if err != nil {
		return nil, malformed(err)
	}
	return m, t.put(storeKey(c.acct, kindPolicy, rec.Name), rec, func(ix *index) { ix.mutable(c.acct).policies[rec.Name] = m })
}

func createPolicyVersion(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	doc, err := c.document("PolicyDocument")
	if err != nil {
		return nil, err
	}
	setDefault := c.boolParam("SetAsDefault")
	if err := c.authorize("iam:CreatePolicyVersion", arn); err != nil {
		return nil, err
	}
	if _, err := policy.ParseManaged(doc); err != nil {
		return nil, malformed(err)
	}
	var v versionRec
	err = c.s.write(func(t *txn) error {
		_, err := c.changePolicy(t, arn, func(r *policyRec) error {
			if len(r.Versions) >= maxVersions {
				return limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxVersions)
			}
			v = versionRec{ID: "v" + strconv.Itoa(r.NextVersion), Document: doc, Created: c.now}
			r.NextVersion++
			r.Versions = append([]versionRec{v}, r.Versions...)
			if setDefault {
				r.Default = v.ID
				r.Updated = c.now
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return struct{ PolicyVersion versionXML }{versionXML{VersionId: v.ID, IsDefaultVersion: setDefault, CreateDate: v.Created}}, nil
}

func (c *apiCall) versionParam() (string, error) {
	vid := c.str("VersionId")
	if vid == "" {
		return "", constraintErr("", "versionId", "Member must not be null")
	}
	if len(vid) < 2 || vid[0] != 'v' || vid[1] < '1' || vid[1] > '9' {
		return "", constraintErr(vid, "versionId", `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	return vid, nil
}

func deletePolicyVersion(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	vid, err := c.versionParam()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeletePolicyVersion", arn); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		_, err := c.changePolicy(t, arn, func(r *policyRec) error {
			i := slices.IndexFunc(r.Versions, func(v versionRec) bool { return v.ID == vid })
			switch {
			case i < 0:
				return noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, vid)
			case vid == r.Default:
				return deleteConflict("Cannot delete the default version of a policy.")
			}
			r.Versions = slices.Delete(r.Versions, i, i+1)
			return nil
		})
		return err
	})
}

func setDefaultPolicyVersion(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	vid, err := c.versionParam()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:SetDefaultPolicyVersion", arn); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		_, err := c.changePolicy(t, arn, func(r *policyRec) error {
			if !slices.ContainsFunc(r.Versions, func(v versionRec) bool { return v.ID == vid }) {
				return noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, vid)
			}
			r.Default, r.Updated = vid, c.now
			return nil
		})
		return err
	})
}

func deletePolicy(c *apiCall) (any, error) {
	arn, err := c.arnParam("PolicyArn")
	if err != nil {
		return nil, err
	}
	if err := c.authorize("iam:DeletePolicy", arn); err != nil {
		return nil, err
	}
	return nil, c.s.write(func(t *txn) error {
		m, a := c.findPolicy(&t.s.ix, arn)
		if m == nil || m.aws {
			return errNoPolicy(arn)
		}
		if att, bnd := a.usage(arn); att+bnd > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(m.Versions) > 1 {
			return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		t.del(storeKey(c.acct, kindPolicy, m.Name), func(ix *index) { delete(ix.mutable(c.acct).policies, m.Name) })
		return nil
	})
}

func listPolicies(c *apiCall) (any, error) {
	scope := c.str("Scope")
	switch scope {
	case "":
		scope = "All"
	case "All", "AWS", "Local":
	default:
		return nil, constraintErr(scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]")
	}
	onlyAttached := c.boolParam("OnlyAttached")
	prefix := c.str("PathPrefix")
	if err := c.authorize("iam:ListPolicies", entityARN(c.acct, kindPolicy, "/", "")); err != nil {
		return nil, err
	}
	type item struct {
		key string
		x   policyXML
	}
	var items []item
	c.s.read(func(ix *index) {
		a := ix.account(c.acct)
		add := func(m *managed) {
			if !strings.HasPrefix(m.Path, prefix) {
				return
			}
			x := m.xml(a, false)
			if onlyAttached && x.AttachmentCount == 0 {
				return
			}
			items = append(items, item{m.Name + " " + m.arn, x})
		}
		if scope != "Local" {
			for _, m := range awsManagedList {
				add(m)
			}
		}
		if scope != "AWS" {
			for _, m := range a.policies {
				add(m)
			}
		}
	})
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	lo, hi, pg, err := c.paginate(keys)
	if err != nil {
		return nil, err
	}
	out := struct {
		Policies list[policyXML]
		page
	}{page: pg}
	for _, it := range items[lo:hi] {
		out.Policies.Member = append(out.Policies.Member, it.x)
	}
	return out, nil
}
