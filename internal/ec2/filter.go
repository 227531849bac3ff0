package ec2

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Filter is one Filter.N parameter of a Describe call.
type Filter struct {
	Name   string
	Values []string `ec2:"Value"`
}

// filters maps the filter names a Describe call accepts to the values a
// resource has for them: a func(T) string for a single value (no
// allocation per resource, which matters when a filter scans thousands) or
// a func(T) []string. tag:KEY, tag-key and tag-value come for free.
type filters[T resource] map[string]any

func one(s string) []string { return []string{s} }

func boolValue(b bool) []string {
	if b {
		return one("true")
	}
	return one("false")
}

// check refuses filter names the call does not know and filters with no
// values, before any resource is looked at.
func (fs filters[T]) check(in []Filter) error {
	for _, f := range in {
		if f.Name == "" {
			return errInvalidParam("The filter 'null' is invalid")
		}
		if strings.HasPrefix(f.Name, "tag:") || f.Name == "tag-key" || f.Name == "tag-value" {
			continue
		}
		if _, ok := fs[f.Name]; !ok {
			return errInvalidParam("The filter '%s' is invalid", f.Name)
		}
	}
	return nil
}

// match reports whether r passes every filter: filters are ANDed, the
// values of one filter ORed, and values may use * and ? wildcards.
func (fs filters[T]) match(in []Filter, r T) bool {
	return fs.compile(in)(r)
}

// compile resolves the filters once, for matching many resources.
func (fs filters[T]) compile(in []Filter) func(T) bool {
	type step struct {
		values func(T) []string
		value  func(T) string
		tagKey string // for tag:KEY
		kind   byte   // 'f' field, 't' tag:KEY, 'k' tag-key, 'v' tag-value
		want   []string
	}
	steps := make([]step, 0, len(in))
	for _, f := range in {
		st := step{want: f.Values}
		switch {
		case strings.HasPrefix(f.Name, "tag:"):
			st.kind, st.tagKey = 't', f.Name[len("tag:"):]
		case f.Name == "tag-key":
			st.kind = 'k'
		case f.Name == "tag-value":
			st.kind = 'v'
		default:
			switch v := fs[f.Name].(type) {
			case func(T) string:
				st.kind, st.value = '1', v
			case func(T) []string:
				st.kind, st.values = 'f', v
			default:
				panic(fmt.Sprintf("ec2: filter %q has a value of type %T", f.Name, v))
			}
		}
		steps = append(steps, st)
	}
	return func(r T) bool {
		for i := range steps {
			st := &steps[i]
			matched := false
			switch st.kind {
			case '1':
				matched = anyMatchOne(st.want, st.value(r))
			case 'f':
				matched = anyMatch(st.want, st.values(r))
			default:
				for _, tag := range r.meta().Tags {
					var v string
					switch st.kind {
					case 't':
						if tag.Key != st.tagKey {
							continue
						}
						v = tag.Value
					case 'k':
						v = tag.Key
					case 'v':
						v = tag.Value
					}
					if anyMatchOne(st.want, v) {
						matched = true
						break
					}
				}
			}
			if !matched {
				return false
			}
		}
		return true
	}
}

func anyMatchOne(patterns []string, value string) bool {
	for _, p := range patterns {
		if globMatch(p, value) {
			return true
		}
	}
	return false
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if globMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// globMatch matches EC2's filter wildcards: * is any run of characters, ?
// any one character, and a backslash makes the next character literal.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			c := pattern[px]
			switch {
			case c == '*':
				starPx, starSx = px, sx
				px++
				continue
			case c == '?':
				px++
				sx++
				continue
			case c == '\\' && px+1 < len(pattern):
				if pattern[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			case c == s[sx]:
				px++
				sx++
				continue
			}
		}
		if starPx < 0 {
			return false
		}
		starSx++
		px, sx = starPx+1, starSx
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// selectResources returns the resources of kind k in the caller's account
// and region that have one of ids (all of them when ids is empty; an id
// that does not exist is an error, as on AWS) and pass the filters.
func selectResources[T resource](c *call, t *txn, k kind, ids []string, in []Filter, fs filters[T]) ([]T, error) {
	if err := fs.check(in); err != nil {
		return nil, err
	}
	var out []T
	match := fs.compile(in)
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			r, ok := findAs[T](c, t, k, id)
			if !ok {
				return nil, errNotFound(k, id)
			}
			if match(r) {
				out = append(out, r)
			}
		}
		return out, nil
	}
	visit := func(r resource) bool {
		m := r.meta()
		if v, ok := r.(T); ok && m.Owner == c.acct && m.Region == c.region && match(v) {
			out = append(out, v)
		}
		return true
	}
	if cands, ok := indexed(t, k, in, fs); ok {
		for _, r := range cands {
			visit(r)
		}
		return out, nil
	}
	t.each(k, visit)
	return out, nil
}

// indexable are the kinds whose filter values change only with writes;
// the others show states that move with time (pending → available), which
// an index built earlier would not see.
var indexable = map[kind]bool{kindVpc: true, kindSubnet: true, kindSG: true, kindACL: true, kindRTB: true, kindIGW: true, kindEIP: true}

// indexed returns, in id order, the resources of kind k that can pass the
// first filter that names exact values of a single-valued field or a tag;
// ok is false when no filter can use an index (or the txn has changes of
// its own, which the shared indexes do not see).
func indexed[T resource](t *txn, k kind, in []Filter, fs filters[T]) ([]resource, bool) {
	if len(t.changed) > 0 || !indexable[k] {
		return nil, false
	}
	for _, f := range in {
		if slices.ContainsFunc(f.Values, func(v string) bool { return strings.ContainsAny(v, "*?\\") }) {
			continue
		}
		var key func(r resource) []string
		if tagKey, isTag := strings.CutPrefix(f.Name, "tag:"); isTag {
			key = func(r resource) []string {
				var out []string
				for _, tag := range r.meta().Tags {
					if tag.Key == tagKey {
						out = append(out, tag.Value)
					}
				}
				return out
			}
		} else if get, single := fs[f.Name].(func(T) string); single {
			key = func(r resource) []string {
				if v, ok := r.(T); ok {
					return []string{get(v)}
				}
				return nil
			}
		} else {
			continue
		}
		ix := t.base.index(k, f.Name, func() map[string][]resource {
			ix := map[string][]resource{}
			for _, r := range t.base.sorted[k] {
				for _, v := range key(r) {
					ix[v] = append(ix[v], r)
				}
			}
			return ix
		})
		var out []resource
		for _, v := range f.Values {
			out = append(out, ix[v]...)
		}
		if len(f.Values) > 1 {
			slices.SortFunc(out, func(a, b resource) int { return strings.Compare(a.meta().ID, b.meta().ID) })
			out = slices.CompactFunc(out, func(a, b resource) bool { return a == b })
		}
		return out, true
	}
	return nil, false
}

// findAs returns the resource with id if the caller's account owns it in
// the caller's region.
func findAs[T resource](c *call, t *txn, k kind, id string) (T, bool) {
	var zero T
	if kindOf(id) != k {
		return zero, false
	}
	r, ok := getAs[T](t, id)
	if !ok {
		return zero, false
	}
	m := r.meta()
	if m.Owner != c.acct || m.Region != c.region {
		return zero, false
	}
	return r, true
}

// mustFind is findAs with the kind's NotFound error (or Malformed error for
// an id that cannot be one of the kind).
func mustFind[T resource](c *call, t *txn, k kind, id string) (T, error) {
	if r, ok := findAs[T](c, t, k, id); ok {
		return r, nil
	}
	var zero T
	if !validID(k, id) {
		return zero, errMalformed(k, id)
	}
	return zero, errNotFound(k, id)
}

// mustEdit is mustFind returning a private copy to change.
func mustEdit[T resource](c *call, t *txn, k kind, id string) (T, error) {
	if _, err := mustFind[T](c, t, k, id); err != nil {
		var zero T
		return zero, err
	}
	return editAs[T](t, id), nil
}

// page cuts one page out of items (in id order): NextToken is the last id
// of the previous page, base64 so clients treat it as opaque.
func page[T resource](items []T, maxResults *int32, nextToken string, lo, hi int32) ([]T, string, error) {
	start := 0
	if nextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(nextToken)
		if err != nil {
			return nil, "", errInvalidParam("The token '%s' is invalid.", nextToken)
		}
		after := string(b)
		for start < len(items) && items[start].meta().ID <= after {
			start++
		}
	}
	items = items[start:]
	if maxResults == nil {
		return items, "", nil
	}
	n := *maxResults
	if n < lo || n > hi {
		return nil, "", errInvalidParam("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %s and %s.", n, strconv.Itoa(int(lo)), strconv.Itoa(int(hi)))
	}
	if int(n) >= len(items) {
		return items, "", nil
	}
	last := items[n-1].meta().ID
	return items[:n], base64.RawURLEncoding.EncodeToString([]byte(last)), nil
}
