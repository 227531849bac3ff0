// Package policy parses IAM JSON policy documents and decides requests against
// them the way AWS does. It is the only place in lambdaplane that answers "may
// this principal do this action on this resource": identity policies, permissions
// boundaries, session policies, resource-based policies (Lambda function
// policies, role trust policies) and VPC endpoint policies all go through it.
//
// A *Policy is immutable once parsed and safe for concurrent use; Evaluate does
// no I/O and, on the common paths, no allocation beyond the Decision's list of
// matched statements.
package policy

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// The two policy language versions IAM accepts in the Version element.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is a statement's Effect element.
type Effect uint8

// Effects of a statement.
const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return ""
}

// Policy is a parsed policy document. Its exported fields describe the document
// (for display, SimulatePrincipalPolicy and re-marshaling); treat them as
// read-only, because the matchers compiled from them at parse time are what
// Evaluate uses.
type Policy struct {
	// Version is the Version element, "" when the document has none. Only
	// Version2012 enables policy variables; without it "${aws:username}" is
	// literal text, as on AWS.
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one element of the Statement list. Exactly one of Action and
// NotAction is non-nil, at most one of Resource and NotResource, at most one of
// Principal and NotPrincipal. A present but empty list is non-nil and empty.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition holds one entry per operator and key, sorted by operator and
	// then key, since JSON objects carry no order.
	Condition []Condition

	c compiled
}

// Principals is a Principal or NotPrincipal element.
type Principals struct {
	// Wildcard is the bare form "Principal": "*". The equivalent {"AWS": "*"}
	// is kept as written, in AWS.
	Wildcard      bool
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one condition key under one operator. Values are the policy's
// values as text: JSON numbers and booleans keep their JSON spelling.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// MarshalJSON renders the policy as a document that Parse accepts and that
// parses back to an equal Policy. Single values are written as strings, the
// Statement element always as a list.
func (p *Policy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if p.Version != "" {
		b.WriteString(`"Version":`)
		writeJSONString(&b, p.Version)
		b.WriteByte(',')
	}
	if p.ID != "" {
		b.WriteString(`"Id":`)
		writeJSONString(&b, p.ID)
		b.WriteByte(',')
	}
	b.WriteString(`"Statement":[`)
	for i := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		p.Statements[i].marshal(&b)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// String returns the document as compact JSON.
func (p *Policy) String() string {
	b, _ := p.MarshalJSON()
	return string(b)
}

func (s *Statement) marshal(b *bytes.Buffer) {
	b.WriteByte('{')
	if s.Sid != "" {
		b.WriteString(`"Sid":`)
		writeJSONString(b, s.Sid)
		b.WriteByte(',')
	}
	b.WriteString(`"Effect":`)
	writeJSONString(b, s.Effect.String())
	if s.Principal != nil {
		b.WriteString(`,"Principal":`)
		s.Principal.marshal(b)
	}
	if s.NotPrincipal != nil {
		b.WriteString(`,"NotPrincipal":`)
		s.NotPrincipal.marshal(b)
	}
	writeListElement(b, "Action", s.Action)
	writeListElement(b, "NotAction", s.NotAction)
	writeListElement(b, "Resource", s.Resource)
	writeListElement(b, "NotResource", s.NotResource)
	if len(s.Condition) > 0 {
		b.WriteString(`,"Condition":{`)
		// Conditions are sorted by operator: each run is one operator block.
		for start := 0; start < len(s.Condition); {
			op := s.Condition[start].Operator
			if start > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, op)
			b.WriteString(":{")
			end := start
			for ; end < len(s.Condition) && s.Condition[end].Operator == op; end++ {
				if end > start {
					b.WriteByte(',')
				}
				writeJSONString(b, s.Condition[end].Key)
				b.WriteByte(':')
				writeStringOrList(b, s.Condition[end].Values)
			}
			b.WriteByte('}')
			start = end
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func (p *Principals) marshal(b *bytes.Buffer) {
	if p.Wildcard {
		b.WriteString(`"*"`)
		return
	}
	b.WriteByte('{')
	first := true
	for _, kv := range [...]struct {
		k string
		v []string
	}{{"AWS", p.AWS}, {"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}} {
		if kv.v == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(b, kv.k)
		b.WriteByte(':')
		writeStringOrList(b, kv.v)
	}
	b.WriteByte('}')
}

func writeListElement(b *bytes.Buffer, name string, v []string) {
	if v == nil {
		return
	}
	b.WriteString(`,"`)
	b.WriteString(name)
	b.WriteString(`":`)
	writeStringOrList(b, v)
}

func writeStringOrList(b *bytes.Buffer, v []string) {
	if len(v) == 1 {
		writeJSONString(b, v[0])
		return
	}
	b.WriteByte('[')
	for i, s := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, s)
	}
	b.WriteByte(']')
}

func writeJSONString(b *bytes.Buffer, s string) {
	// json.Marshal of a string cannot fail; HTML escaping is harmless here.
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// ContextKeys lists the condition keys the policy reads, in the keys of its
// Condition elements and in its policy variables: each key once (compared
// case-insensitively, in the spelling first met), sorted. It is what
// GetContextKeysForCustomPolicy reports and what SimulatePrincipalPolicy asks
// callers to supply.
func (p *Policy) ContextKeys() []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if l := strings.ToLower(k); !seen[l] {
			seen[l] = true
			keys = append(keys, k)
		}
	}
	addVars := func(pt *pattern) {
		for _, t := range pt.toks {
			if t.kind == tokVar {
				add(t.key)
			}
		}
	}
	for i := range p.Statements {
		c := &p.Statements[i].c
		for j := range c.resources {
			for k := range c.resources[j].segs {
				addVars(&c.resources[j].segs[k])
			}
		}
		for j := range c.conds {
			cd := &c.conds[j]
			add(cd.key)
			for k := range cd.pats {
				addVars(&cd.pats[k])
			}
			for k := range cd.arns {
				for m := range cd.arns[k].segs {
					addVars(&cd.arns[k].segs[m])
				}
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return strings.ToLower(keys[i]) < strings.ToLower(keys[j]) })
	return keys
}
