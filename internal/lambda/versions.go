package lambda

import (
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"strings"
)

type publishInput struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionID  *string `json:"RevisionId"`
}

// sameConfig says whether publishing cfg would repeat version v: Lambda
// returns the existing version then.
func sameConfig(cfg, v *Config) bool {
	return cfg.CodeSha256 == v.CodeSha256 && cfg.Runtime == v.Runtime && cfg.Role == v.Role &&
		cfg.Handler == v.Handler && cfg.Timeout == v.Timeout && cfg.MemorySize == v.MemorySize &&
		cfg.EphemeralStorage == v.EphemeralStorage && maps.Equal(cfg.Environment, v.Environment) &&
		slices.Equal(cfg.Architectures, v.Architectures) && cfg.TracingMode == v.TracingMode
}

// PublishVersion freezes $LATEST as the next version number.
func (s *Service) PublishVersion(c caller, name string, in *publishInput) (*Config, *Function, error) {
	t, err := s.named(c, name, "lambda:PublishVersion", false)
	if err != nil {
		return nil, nil, err
	}
	if in.Description != nil {
		var v validator
		v.length("description", *in.Description, 0, 256)
		if err := v.err(); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.mutable(t.id, in.RevisionID)
	if err != nil {
		return nil, nil, err
	}
	cur := &st.fn.Latest
	if in.CodeSha256 != nil && *in.CodeSha256 != "" && *in.CodeSha256 != cur.CodeSha256 {
		return nil, nil, errInvalidParameter("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", *in.CodeSha256, cur.CodeSha256)
	}
	if last, ok := st.versions[st.fn.LastPublished]; ok && sameConfig(cur, last) {
		out, fn := *last, st.fn
		return &out, &fn, nil
	}
	f := st.fn
	n := f.LastPublished + 1
	v := publishedCopy(cur, n, deref(in.Description))
	f.LastPublished = n
	if err := s.write(t.id, change{put: &f, versions: map[int]*Config{n: v}}); err != nil {
		return nil, nil, err
	}
	s.afterWrite(t.id)
	out := *v
	return &out, &f, nil
}

// ListVersionsByFunction lists $LATEST then every published version.
func (s *Service) ListVersionsByFunction(c caller, name, marker string, maxItems int) ([]Config, fnID, string, error) {
	t, err := s.named(c, name, "lambda:ListVersionsByFunction", true)
	if err != nil {
		return nil, fnID{}, "", err
	}
	maxItems = pageSize(maxItems)
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, fnID{}, "", err
	}
	all := []Config{st.fn.Latest}
	ns := slices.Sorted(maps.Keys(st.versions))
	for _, n := range ns {
		all = append(all, *st.versions[n])
	}
	page, next, err := paginate(all, marker, maxItems, func(c Config) string { return c.Version })
	return page, t.id, next, err
}

// pageSize is Lambda's page size: at most 50 items whatever MaxItems says.
func pageSize(maxItems int) int {
	if maxItems <= 0 || maxItems > 50 {
		return 50
	}
	return maxItems
}

// paginate pages a list whose order is stable, with an opaque marker holding
// the key of the last item returned.
func paginate[T any](items []T, marker string, maxItems int, key func(T) string) ([]T, string, error) {
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, "", errInvalidParameter("Invalid marker: %s", marker)
		}
		start = len(items)
		for i, it := range items {
			if key(it) == string(raw) {
				start = i + 1
				break
			}
		}
	}
	end := min(start+maxItems, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

type routingInput struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type aliasInput struct {
	Name            *string       `json:"Name"`
	FunctionVersion *string       `json:"FunctionVersion"`
	Description     *string       `json:"Description"`
	RoutingConfig   *routingInput `json:"RoutingConfig"`
	RevisionID      *string       `json:"RevisionId"`
}

func (s *Service) checkAliasTarget(st *fnState, id fnID, version string, weights map[string]float64) error {
	if version != latest {
		n, _ := strconv.Atoi(version)
		if _, ok := st.versions[n]; !ok {
			return errFunctionNotFound(id.qualifiedARN(version))
		}
	}
	if len(weights) > 1 {
		return errInvalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	for v, w := range weights {
		if version == latest || v == latest {
			return errInvalidParameter("$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if v == version {
			return errInvalidParameter("Cannot set alias version to be the same as the primary version in AdditionalVersionWeights")
		}
		if w < 0 || w > 1 {
			return errInvalidParameter("Invalid weight %v: weights must be between 0.0 and 1.0", w)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return errInvalidParameter("Invalid function version %s in AdditionalVersionWeights", v)
		}
		if _, ok := st.versions[n]; !ok {
			return errFunctionNotFound(id.qualifiedARN(v))
		}
	}
	return nil
}

func validateAlias(in *aliasInput, create bool) error {
	var v validator
	if in.Name == nil {
		v.add("null", "name", "Member must not be null")
	} else {
		v.aliasName("name", *in.Name)
	}
	if in.FunctionVersion == nil && create {
		v.add("null", "functionVersion", "Member must not be null")
	} else if in.FunctionVersion != nil {
		v.length("functionVersion", *in.FunctionVersion, 1, 1024)
		v.pattern("functionVersion", *in.FunctionVersion, reVersion, patVersion)
	}
	if in.Description != nil {
		v.length("description", *in.Description, 0, 256)
	}
	return v.err()
}

// CreateAlias names a version.
func (s *Service) CreateAlias(c caller, name string, in *aliasInput) (*Alias, fnID, error) {
	t, err := s.named(c, name, "lambda:CreateAlias", false)
	if err != nil {
		return nil, fnID{}, err
	}
	if err := validateAlias(in, true); err != nil {
		return nil, fnID{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, fnID{}, err
	}
	if _, ok := st.aliases[*in.Name]; ok {
		return nil, fnID{}, errConflict("Alias already exists: %s", t.id.qualifiedARN(*in.Name))
	}
	var weights map[string]float64
	if in.RoutingConfig != nil {
		weights = in.RoutingConfig.AdditionalVersionWeights
	}
	if err := s.checkAliasTarget(st, t.id, *in.FunctionVersion, weights); err != nil {
		return nil, fnID{}, err
	}
	a := &Alias{Name: *in.Name, FunctionVersion: *in.FunctionVersion, Description: deref(in.Description), Weights: weights, RevisionID: newRevision()}
	if err := s.write(t.id, change{aliases: map[string]*Alias{a.Name: a}}); err != nil {
		return nil, fnID{}, err
	}
	out := *a
	return &out, t.id, nil
}

func errAliasNotFound(id fnID, name string) error {
	return errNotFound("Cannot find alias arn: %s", id.qualifiedARN(name))
}

// GetAlias returns one alias.
func (s *Service) GetAlias(c caller, name, alias string) (*Alias, fnID, error) {
	t, err := s.named(c, name, "lambda:GetAlias", false)
	if err != nil {
		return nil, fnID{}, err
	}
	var v validator
	v.aliasName("name", alias)
	if err := v.err(); err != nil {
		return nil, fnID{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, fnID{}, err
	}
	a, ok := st.aliases[alias]
	if !ok {
		return nil, fnID{}, errAliasNotFound(t.id, alias)
	}
	out := *a
	return &out, t.id, nil
}

// UpdateAlias repoints an alias.
func (s *Service) UpdateAlias(c caller, name, alias string, in *aliasInput) (*Alias, fnID, error) {
	t, err := s.named(c, name, "lambda:UpdateAlias", false)
	if err != nil {
		return nil, fnID{}, err
	}
	in.Name = &alias
	if err := validateAlias(in, false); err != nil {
		return nil, fnID{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, fnID{}, err
	}
	cur, ok := st.aliases[alias]
	if !ok {
		return nil, fnID{}, errAliasNotFound(t.id, alias)
	}
	if err := checkRevision(in.RevisionID, cur.RevisionID); err != nil {
		return nil, fnID{}, err
	}
	a := *cur
	if in.FunctionVersion != nil {
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		a.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	if err := s.checkAliasTarget(st, t.id, a.FunctionVersion, a.Weights); err != nil {
		return nil, fnID{}, err
	}
	a.RevisionID = newRevision()
	if err := s.write(t.id, change{aliases: map[string]*Alias{alias: &a}}); err != nil {
		return nil, fnID{}, err
	}
	out := a
	return &out, t.id, nil
}

// DeleteAlias removes an alias; deleting one that does not exist succeeds, as on Lambda.
func (s *Service) DeleteAlias(c caller, name, alias string) error {
	t, err := s.named(c, name, "lambda:DeleteAlias", false)
	if err != nil {
		return err
	}
	var v validator
	v.aliasName("name", alias)
	if err := v.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return err
	}
	if _, ok := st.aliases[alias]; !ok {
		return nil
	}
	return s.write(t.id, change{aliases: map[string]*Alias{alias: nil}})
}

// ListAliases lists a function's aliases by name, optionally only those for one version.
func (s *Service) ListAliases(c caller, name, version, marker string, maxItems int) ([]Alias, fnID, string, error) {
	t, err := s.named(c, name, "lambda:ListAliases", false)
	if err != nil {
		return nil, fnID{}, "", err
	}
	maxItems = pageSize(maxItems)
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, fnID{}, "", err
	}
	var all []Alias
	for _, name := range slices.Sorted(maps.Keys(st.aliases)) {
		a := st.aliases[name]
		if version == "" || a.FunctionVersion == version {
			all = append(all, *a)
		}
	}
	page, next, err := paginate(all, marker, maxItems, func(a Alias) string { return a.Name })
	return page, t.id, next, err
}

// Tags.

func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return errInvalidParameter("Number of tags exceeds resource tag limit.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return errInvalidParameter("Tag keys must be between 1 and 128 characters in length.")
		}
		if len(v) > 256 {
			return errInvalidParameter("Tag values must be no longer than 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errInvalidParameter("Tag keys cannot start with 'aws:'.")
		}
	}
	return nil
}

func (s *Service) taggedFunction(c caller, action, resource string) (fnID, error) {
	var v validator
	v.length("resource", resource, 1, 256)
	v.pattern("resource", resource, reTaggableARN, patTaggableARN)
	if err := v.err(); err != nil {
		return fnID{}, err
	}
	t, err := parseFunctionName(resource, c.Account, c.Region, false)
	if err != nil {
		return fnID{}, err
	}
	if t.qualifier != "" {
		return fnID{}, errInvalidParameter("Tags are not supported on function versions or aliases: %s", resource)
	}
	if err := s.authorize(c, action, target{id: t.id}); err != nil {
		return fnID{}, err
	}
	return t.id, nil
}

// TagResource adds or replaces tags on a function.
func (s *Service) TagResource(c caller, resource string, tags map[string]string) error {
	id, err := s.taggedFunction(c, "lambda:TagResource", resource)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		var v validator
		v.add("null", "tags", "Member must not be null")
		return v.err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: id})
	if err != nil {
		return err
	}
	f := st.fn
	merged := copyMap(f.Tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	if err := checkTags(merged); err != nil {
		return err
	}
	f.Tags = merged
	return s.write(id, change{put: &f})
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(c caller, resource string, keys []string) error {
	id, err := s.taggedFunction(c, "lambda:UntagResource", resource)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: id})
	if err != nil {
		return err
	}
	f := st.fn
	f.Tags = copyMap(f.Tags)
	for _, k := range keys {
		delete(f.Tags, k)
	}
	return s.write(id, change{put: &f})
}

// ListTags returns a function's tags.
func (s *Service) ListTags(c caller, resource string) (map[string]string, error) {
	id, err := s.taggedFunction(c, "lambda:ListTags", resource)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: id})
	if err != nil {
		return nil, err
	}
	out := copyMap(st.fn.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// Concurrency.

// reservedTotal sums reserved concurrency in an account, leaving out one function.
func (s *Service) reservedTotal(account string, except fnID) int {
	total := 0
	for id, st := range s.fns {
		if id.Account == account && id != except && st.fn.ReservedConcurrency != nil {
			total += *st.fn.ReservedConcurrency
		}
	}
	return total
}

// PutFunctionConcurrency reserves concurrency for a function.
func (s *Service) PutFunctionConcurrency(c caller, name string, n *int) (int, error) {
	t, err := s.named(c, name, "lambda:PutFunctionConcurrency", false)
	if err != nil {
		return 0, err
	}
	var v validator
	if n == nil {
		v.add("null", "reservedConcurrentExecutions", "Member must not be null")
	} else {
		v.intRange("reservedConcurrentExecutions", n, 0, 0)
	}
	if err := v.err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return 0, err
	}
	if s.cfg.AccountConcurrency-s.reservedTotal(c.Account, t.id)-*n < minUnreserved {
		return 0, errInvalidParameter("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreserved)
	}
	f := st.fn
	val := *n
	f.ReservedConcurrency = &val
	if err := s.write(t.id, change{put: &f}); err != nil {
		return 0, err
	}
	s.sched.setReserved(t.id, &val)
	return val, nil
}

// GetFunctionConcurrency returns the reservation, or nil.
func (s *Service) GetFunctionConcurrency(c caller, name string) (*int, error) {
	t, err := s.named(c, name, "lambda:GetFunctionConcurrency", false)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return nil, err
	}
	return st.fn.ReservedConcurrency, nil
}

// DeleteFunctionConcurrency removes the reservation.
func (s *Service) DeleteFunctionConcurrency(c caller, name string) error {
	t, err := s.named(c, name, "lambda:DeleteFunctionConcurrency", false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		return err
	}
	f := st.fn
	f.ReservedConcurrency = nil
	if err := s.write(t.id, change{put: &f}); err != nil {
		return err
	}
	s.sched.setReserved(t.id, nil)
	return nil
}

type accountSettings struct {
	TotalCodeSize, FunctionCount int64
	Unreserved                   int
}

// AccountSettings reports the account's limits and usage in a region.
func (s *Service) AccountSettings(c caller) (accountSettings, error) {
	if err := s.authorizeAccount(c, "lambda:GetAccountSettings"); err != nil {
		return accountSettings{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out accountSettings
	for _, st := range s.functionsOf(c.Account, c.Region) {
		out.FunctionCount++
		out.TotalCodeSize += st.fn.Latest.CodeSize
		for _, v := range st.versions {
			out.TotalCodeSize += v.CodeSize
		}
	}
	out.Unreserved = s.cfg.AccountConcurrency - s.reservedTotal(c.Account, fnID{})
	return out, nil
}
