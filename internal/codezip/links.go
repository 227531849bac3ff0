package codezip

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// linkWalkBudget bounds the bytes of path built while following symlinks, so
// an archive of deep, chained links cannot make validation take long. Real
// packages (node_modules/.bin, versioned .so links) use a tiny fraction.
const linkWalkBudget = 256 << 20

var (
	errEscapes = errors.New("resolves outside the archive root")
	errLoop    = errors.New("symlink loop")
	errComplex = errors.New("symlinks too deep or too many to check")
)

// checkLinks follows every symlink the way the kernel would, through the
// other symlinks of the archive, and refuses any that leaves the root. All
// links are known here, before any is created, so the check is about the
// final tree and the order of entries does not matter. Components that do
// not exist are walked lexically, which only ever refuses more.
func checkLinks(entries []entry) error {
	c := &linkChecker{
		links:    map[string]string{},
		resolved: map[string][]string{},
		active:   map[string]bool{},
		budget:   linkWalkBudget,
	}
	for _, e := range entries {
		if e.kind == kindLink {
			c.links[e.rel] = e.target
		}
	}
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		if _, err := c.resolve(e.rel); err != nil {
			return fmt.Errorf("%w: symlink %q -> %q: %v", ErrUnsafe, e.f.Name, e.target, err)
		}
	}
	return nil
}

type linkChecker struct {
	links    map[string]string   // link path -> target
	resolved map[string][]string // link path -> components of where it leads
	active   map[string]bool     // links being resolved, to catch loops
	budget   int
}

func (c *linkChecker) resolve(link string) ([]string, error) {
	if r, ok := c.resolved[link]; ok {
		return r, nil
	}
	if c.active[link] {
		return nil, errLoop
	}
	c.active[link] = true
	defer delete(c.active, link)
	var start []string
	if dir := path.Dir(link); dir != "." {
		start = strings.Split(dir, "/")
	}
	r, err := c.walk(start, c.links[link])
	if err != nil {
		return nil, err
	}
	c.resolved[link] = r
	return r, nil
}

// walk applies target to the directory given as components from the root.
func (c *linkChecker) walk(dir []string, target string) ([]string, error) {
	at := slices.Clone(dir)
	for _, comp := range strings.Split(target, "/") {
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return nil, errEscapes
			}
			at = at[:len(at)-1]
			continue
		}
		at = append(at, comp)
		p := strings.Join(at, "/")
		if c.budget -= len(p) + 1; c.budget < 0 || len(p) > maxPath {
			return nil, errComplex
		}
		if _, isLink := c.links[p]; isLink {
			r, err := c.resolve(p)
			if err != nil {
				return nil, err
			}
			at = slices.Clone(r)
		}
	}
	return at, nil
}
