package ec2

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Filter is one Filter.N parameter of a Describe call.
type Filter struct {
	Name   string
	Values []string `ec2:"Value"`
}

// filters maps the filter names a Describe call accepts to the values a
// resource has for them. tag:KEY, tag-key and tag-value come for free.
type filters[T resource] map[string]func(T) []string

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
	for _, f := range in {
		var have []string
		switch {
		case strings.HasPrefix(f.Name, "tag:"):
			key := f.Name[len("tag:"):]
			for _, tag := range r.meta().Tags {
				if tag.Key == key {
					have = append(have, tag.Value)
				}
			}
		case f.Name == "tag-key":
			for _, tag := range r.meta().Tags {
				have = append(have, tag.Key)
			}
		case f.Name == "tag-value":
			for _, tag := range r.meta().Tags {
				have = append(have, tag.Value)
			}
		default:
			have = fs[f.Name](r)
		}
		if !anyMatch(f.Values, have) {
			return false
		}
	}
	return true
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
			if fs.match(in, r) {
				out = append(out, r)
			}
		}
		return out, nil
	}
	for _, r := range all[T](t, k, c.acct, c.region) {
		if fs.match(in, r) {
			out = append(out, r)
		}
	}
	return out, nil
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
