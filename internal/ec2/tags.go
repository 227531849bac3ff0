package ec2

import (
	"slices"
	"strings"
)

// Tag is a resource tag.
type Tag struct {
	Key   string `xml:"key" json:"k"`
	Value string `xml:"value" json:"v"`
}

// TagSpecification is a TagSpecification.N parameter of a Create call.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag `ec2:"Tag"`
}

// resourceTypes are the ResourceType names TagSpecifications and
// DescribeTags use for each kind.
var resourceTypes = map[kind]string{
	kindVpc: "vpc", kindSubnet: "subnet", kindSG: "security-group", kindACL: "network-acl",
	kindRTB: "route-table", kindIGW: "internet-gateway", kindEIP: "elastic-ip", kindNAT: "natgateway",
	kindENI: "network-interface", kindEndpoint: "vpc-endpoint", kindPeering: "vpc-peering-connection",
	kindInstance: "instance", kindSGRule: "security-group-rule",
}

const maxTagsPerResource = 50

// tagsFor returns the tags the specifications give a resource of kind k;
// a specification for another resource type is refused, as AWS does.
func tagsFor(k kind, specs []TagSpecification) ([]Tag, error) {
	var out []Tag
	for _, s := range specs {
		if s.ResourceType == "" {
			return nil, errMissing("TagSpecification.ResourceType")
		}
		if s.ResourceType != resourceTypes[k] {
			return nil, errInvalidParam("'%s' is not a valid taggable resource type for this operation.", s.ResourceType)
		}
		var err error
		if out, err = mergeTags(out, s.Tags); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkTag(t Tag) error {
	if t.Key == "" {
		return errInvalidParam("Tag key must not be empty")
	}
	if len(t.Key) > 128 {
		return errInvalidParam("Tag key exceeds the maximum length of 128 characters")
	}
	if len(t.Value) > 256 {
		return errInvalidParam("Tag value exceeds the maximum length of 256 characters")
	}
	if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
		return errInvalidParam("Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

// mergeTags sets each of add on tags (replacing values of existing keys).
func mergeTags(tags, add []Tag) ([]Tag, error) {
	out := slices.Clone(tags)
	for _, a := range add {
		if err := checkTag(a); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(out, func(t Tag) bool { return t.Key == a.Key })
		if i >= 0 {
			out[i].Value = a.Value
		} else {
			out = append(out, a)
		}
	}
	if len(out) > maxTagsPerResource {
		return nil, apiError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
	}
	return out, nil
}

type tagsInput struct {
	DryRun      bool
	ResourceIds []string `ec2:"ResourceId"`
	Tags        []Tag    `ec2:"Tag"`
}

type tagDescription struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

func init() {
	handle("CreateTags", createTags)
	handle("DeleteTags", deleteTags)
	handle("DescribeTags", describeTags)
}

// tagsOf returns, for changing, the tags of a resource of the caller's or
// of a security group rule (which lives inside its group).
func tagsOf(c *call, t *txn, id string) (*[]Tag, error) {
	if kindOf(id) != kindSGRule {
		if _, err := taggable(c, t, id); err != nil {
			return nil, err
		}
		return &t.edit(id).meta().Tags, nil
	}
	for _, g := range all[*SecurityGroup](t, kindSG, c.acct, c.region) {
		for _, rules := range [][]SGRule{g.Ingress, g.Egress} {
			for i := range rules {
				if rules[i].ID != id {
					continue
				}
				e := editAs[*SecurityGroup](t, g.ID)
				if i < len(e.Ingress) && e.Ingress[i].ID == id {
					return &e.Ingress[i].Tags, nil
				}
				return &e.Egress[i].Tags, nil
			}
		}
	}
	return nil, errNotFound(kindSGRule, id)
}

// taggable finds a resource of the caller's by id, whatever its kind.
func taggable(c *call, t *txn, id string) (resource, error) {
	k := kindOf(id)
	if _, known := resourceTypes[k]; !known {
		return nil, errInvalidParam("Invalid id: \"%s\"", id)
	}
	r := t.get(id)
	if r == nil || r.meta().Owner != c.acct || r.meta().Region != c.region {
		return nil, errNotFound(k, id)
	}
	return r, nil
}

func createTags(c *call) (any, error) {
	var in tagsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.ResourceIds) == 0 {
		return nil, errMissing("ResourceId")
	}
	if len(in.Tags) == 0 {
		return nil, errMissing("Tag")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		for _, id := range in.ResourceIds {
			tp, err := tagsOf(c, t, id)
			if err != nil {
				return err
			}
			tags, err := mergeTags(*tp, in.Tags)
			if err != nil {
				return err
			}
			*tp = tags
		}
		return nil
	})
}

// deleteTags removes the named keys; a tag given with a value is removed
// only if its value matches, as AWS documents.
func deleteTags(c *call) (any, error) {
	var in tagsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.ResourceIds) == 0 {
		return nil, errMissing("ResourceId")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	valueGiven := map[int]bool{}
	for i := range in.Tags {
		_, valueGiven[i] = c.form["Tag."+itoa(i+1)+".Value"]
	}
	return okResult, c.s.write(c, func(t *txn) error {
		for _, id := range in.ResourceIds {
			tp, err := tagsOf(c, t, id)
			if err != nil {
				return err
			}
			if len(in.Tags) == 0 {
				*tp = nil
				continue
			}
			*tp = slices.DeleteFunc(*tp, func(tag Tag) bool {
				for i, d := range in.Tags {
					if d.Key == tag.Key && (!valueGiven[i] || d.Value == tag.Value) {
						return true
					}
				}
				return false
			})
		}
		return nil
	})
}

type describeTagsInput struct {
	DryRun     bool
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32
	NextToken  string
}

type describeTagsOutput struct {
	Tags      List[tagDescription] `xml:"tagSet"`
	NextToken string               `xml:"nextToken,omitempty"`
}

var tagFilterNames = map[string]bool{"key": true, "value": true, "resource-id": true, "resource-type": true}

func describeTags(c *call) (any, error) {
	var in describeTagsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	for _, f := range in.Filters {
		if !tagFilterNames[f.Name] && !strings.HasPrefix(f.Name, "tag:") {
			return nil, errInvalidParam("The filter '%s' is invalid", f.Name)
		}
	}
	var out []tagDescription
	err := c.s.read(c, func(t *txn) error {
		kindsInOrder := make([]kind, 0, len(resourceTypes))
		for k := range resourceTypes {
			kindsInOrder = append(kindsInOrder, k)
		}
		slices.Sort(kindsInOrder)
		add := func(id, typ string, tags []Tag) {
			for _, tag := range tags {
				d := tagDescription{ResourceID: id, ResourceType: typ, Key: tag.Key, Value: tag.Value}
				if tagMatches(in.Filters, d, tags) {
					out = append(out, d)
				}
			}
		}
		for _, k := range kindsInOrder {
			for _, r := range all[resource](t, k, c.acct, c.region) {
				m := r.meta()
				add(m.ID, resourceTypes[k], m.Tags)
				if g, ok := r.(*SecurityGroup); ok {
					for _, rule := range append(slices.Clone(g.Ingress), g.Egress...) {
						add(rule.ID, resourceTypes[kindSGRule], rule.Tags)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		n, perr := parseIndexToken(in.NextToken)
		if perr != nil || n > len(out) {
			return nil, errInvalidParam("The token '%s' is invalid.", in.NextToken)
		}
		start = n
	}
	out = out[start:]
	res := describeTagsOutput{}
	if in.MaxResults != nil && int(*in.MaxResults) < len(out) {
		if *in.MaxResults < 5 || *in.MaxResults > 1000 {
			return nil, errInvalidParam("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *in.MaxResults)
		}
		res.NextToken = indexToken(start + int(*in.MaxResults))
		out = out[:*in.MaxResults]
	}
	res.Tags = out
	return res, nil
}

func tagMatches(fs []Filter, d tagDescription, all []Tag) bool {
	for _, f := range fs {
		var have []string
		switch f.Name {
		case "key":
			have = one(d.Key)
		case "value":
			have = one(d.Value)
		case "resource-id":
			have = one(d.ResourceID)
		case "resource-type":
			have = one(d.ResourceType)
		default:
			key := strings.TrimPrefix(f.Name, "tag:")
			for _, t := range all {
				if t.Key == key {
					have = append(have, t.Value)
				}
			}
		}
		if !anyMatch(f.Values, have) {
			return false
		}
	}
	return true
}
