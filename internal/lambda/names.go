package lambda

import (
	"strings"
)

// target is a function reference as a request gives it: a name, a partial
// ARN or a full ARN, optionally qualified.
type target struct {
	id        fnID
	qualifier string
}

// parseFunctionName resolves a FunctionName path or body value against the
// caller's account and region. pattern and re choose which of the model's
// name patterns applies to the operation.
func parseFunctionName(raw, account, region string, re bool) (target, error) {
	if plainName(raw) {
		// The common case, a bare name, needs none of the patterns below
		// (they cost microseconds on the invoke path).
		return target{id: fnID{Account: account, Region: region, Name: raw}}, nil
	}
	var v validator
	rx, pat := reFunctionName, patFunctionName
	if re {
		rx, pat = reNamespacedName, patNamespacedName
	}
	v.length("functionName", raw, 1, 140)
	v.pattern("functionName", raw, rx, pat)
	if err := v.err(); err != nil {
		return target{}, err
	}
	t := target{id: fnID{Account: account, Region: region}}
	rest := raw
	if strings.HasPrefix(rest, "arn:") {
		// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		parts := strings.Split(rest, ":")
		if len(parts) < 7 {
			return target{}, errInvalidParameter("Unrecognized function name: %s", raw)
		}
		t.id.Region, t.id.Account = parts[3], parts[4]
		rest = strings.Join(parts[6:], ":")
	} else if parts := strings.Split(rest, ":"); len(parts) >= 3 && parts[1] == "function" {
		t.id.Account = parts[0]
		rest = strings.Join(parts[2:], ":")
	} else if len(parts) >= 2 && parts[0] == "function" {
		rest = strings.Join(parts[1:], ":")
	}
	name, qual, hasQual := strings.Cut(rest, ":")
	t.id.Name = name
	if hasQual {
		t.qualifier = qual
	}
	if len(name) > 64 {
		v.add(raw, "functionName", "Member must have length less than or equal to 64")
		return target{}, v.err()
	}
	if t.id.Region != region {
		// Another region's functions live behind that region's endpoint.
		return target{}, errFunctionNotFound(t.id.qualifiedARN(t.qualifier))
	}
	return t, nil
}

// withQualifier merges a Qualifier parameter with one derived from the name.
func (t target) withQualifier(q string) (target, error) {
	if q == "" {
		return t, nil
	}
	var v validator
	v.length("qualifier", q, 1, 128)
	v.pattern("qualifier", q, reQualifier, patQualifier)
	if err := v.err(); err != nil {
		return t, err
	}
	if t.qualifier != "" && t.qualifier != q {
		return t, errInvalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
	}
	t.qualifier = q
	return t, nil
}

// plainName reports whether s is a bare function name of at most 64 characters.
func plainName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
