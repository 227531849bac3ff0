package iam

import (
	"crypto/sha256"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// managedFS holds AWS's managed policies, one file per policy; where each
// document comes from is in managed/README.md.
//
//go:embed managed/*.json
var managedFS embed.FS

// catalogEntry is one file of managed/.
type catalogEntry struct {
	PolicyName       string
	Arn              string
	Path             string
	DefaultVersionId string
	Description      string
	CreateDate       time.Time
	UpdateDate       time.Time
	Document         json.RawMessage
}

const awsPolicyPrefix = "arn:aws:iam::aws:policy"

// awsManaged holds AWS's managed policies by ARN, and awsManagedList the
// same sorted by name, as ListPolicies returns them.
var awsManaged, awsManagedList = loadCatalog()

func loadCatalog() (map[string]*managed, []*managed) {
	files, err := managedFS.ReadDir("managed")
	if err != nil {
		panic(err)
	}
	byARN := map[string]*managed{}
	var list []*managed
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		m, err := catalogPolicy(path.Join("managed", f.Name()))
		if err != nil {
			panic(fmt.Sprintf("iam: managed policy %s: %v", f.Name(), err))
		}
		byARN[m.arn] = m
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return byARN, list
}

func catalogPolicy(file string) (*managed, error) {
	b, err := managedFS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var e catalogEntry
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if e.Arn != awsPolicyPrefix+e.Path+e.PolicyName {
		return nil, fmt.Errorf("ARN %s does not match path %s and name %s", e.Arn, e.Path, e.PolicyName)
	}
	// AWS's own policy ids are not published with the documents; this one
	// is stable across restarts and installations, as a real id is.
	sum := sha256.Sum256([]byte(e.Arn))
	id := make([]byte, 17)
	for i := range id {
		id[i] = base32Upper[sum[i]&31]
	}
	r := policyRec{
		Name: e.PolicyName, Path: e.Path, ID: prefixPolicy + string(id), Description: e.Description,
		Created: e.CreateDate, Updated: e.UpdateDate, Default: e.DefaultVersionId,
		Versions: []versionRec{{ID: e.DefaultVersionId, Document: string(e.Document), Created: e.UpdateDate}},
	}
	m, err := newManaged("aws", r)
	if err != nil {
		return nil, err
	}
	m.aws = true
	return m, nil
}
