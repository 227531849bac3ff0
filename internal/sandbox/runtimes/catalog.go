package runtimes

import (
	"fmt"
	"strings"
)

// catalog lists the supported identifiers in the order Names reports them:
// by family, then by language version (numerically, so python3.8 comes
// before python3.10).
var catalog = []Runtime{
	{Name: "nodejs12.x", Family: NodeJS, Version: "12"},
	{Name: "nodejs14.x", Family: NodeJS, Version: "14"},
	{Name: "nodejs16.x", Family: NodeJS, Version: "16"},
	{Name: "nodejs18.x", Family: NodeJS, Version: "18"},
	{Name: "nodejs20.x", Family: NodeJS, Version: "20"},
	{Name: "nodejs22.x", Family: NodeJS, Version: "22"},
	{Name: "provided", Family: Provided},
	{Name: "provided.al2", Family: Provided},
	{Name: "provided.al2023", Family: Provided},
	{Name: "python3.8", Family: Python, Version: "3.8"},
	{Name: "python3.9", Family: Python, Version: "3.9"},
	{Name: "python3.10", Family: Python, Version: "3.10"},
	{Name: "python3.11", Family: Python, Version: "3.11"},
	{Name: "python3.12", Family: Python, Version: "3.12"},
	{Name: "python3.13", Family: Python, Version: "3.13"},
}

// Lookup returns the runtime with this exact identifier (identifiers are
// case-sensitive on AWS too).
func Lookup(name string) (Runtime, bool) {
	for _, rt := range catalog {
		if rt.Name == name {
			return rt, true
		}
	}
	return Runtime{}, false
}

// Names returns every supported identifier, grouped by family and ordered by
// version within a family.
func Names() []string {
	names := make([]string, len(catalog))
	for i, rt := range catalog {
		names[i] = rt.Name
	}
	return names
}

// retired maps identifiers AWS once accepted and has since blocked for
// CreateFunction/UpdateFunctionConfiguration to the family whose newest
// runtime AWS's message recommends instead. go1.x's successor is the OS-only
// runtime, as AWS documents for Go.
var retired = map[string]string{
	"nodejs":         "nodejs",
	"nodejs4.3":      "nodejs",
	"nodejs4.3-edge": "nodejs",
	"nodejs6.10":     "nodejs",
	"nodejs8.10":     "nodejs",
	"nodejs10.x":     "nodejs",
	"python2.7":      "python",
	"python3.6":      "python",
	"python3.7":      "python",
	"go1.x":          "provided",
}

// UnsupportedError is the InvalidParameterValueException message for a
// Runtime value lambdaplane cannot run.
//
// AWS answers a deprecated identifier with "The runtime parameter of X is no
// longer supported for creating or updating AWS Lambda functions. We
// recommend you use the new runtime (Y) while creating or updating
// functions." and any other unknown value with "Value X at 'runtime' failed
// to satisfy constraint: Member must satisfy enum value set: [...] or be a
// valid ARN" (both InvalidParameterValueException, the value unquoted).
// Here the enum set is the runtimes lambdaplane supports.
func UnsupportedError(name string) string {
	if family, ok := retired[name]; ok {
		return fmt.Sprintf("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. "+
			"We recommend you use the new runtime (%s) while creating or updating functions.", name, newest(family))
	}
	return fmt.Sprintf("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN",
		name, strings.Join(Names(), ", "))
}

// newest is the recommended replacement in a family: the last one listed,
// since the catalogue is in version order.
func newest(family string) string {
	name := ""
	for _, rt := range catalog {
		if string(rt.Family) == family {
			name = rt.Name
		}
	}
	return name
}
