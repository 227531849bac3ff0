package runtimes

import (
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	want := map[string]Runtime{
		"nodejs12.x":      {Name: "nodejs12.x", Family: NodeJS, Version: "12"},
		"nodejs22.x":      {Name: "nodejs22.x", Family: NodeJS, Version: "22"},
		"python3.8":       {Name: "python3.8", Family: Python, Version: "3.8"},
		"python3.13":      {Name: "python3.13", Family: Python, Version: "3.13"},
		"provided":        {Name: "provided", Family: Provided},
		"provided.al2023": {Name: "provided.al2023", Family: Provided},
	}
	for name, w := range want {
		got, ok := Lookup(name)
		if !ok || got != w {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", name, got, ok, w)
		}
	}
	for _, name := range []string{"", "nodejs", "nodejs24.x", "python3.7", "Python3.12", "java21", "provided.al1"} {
		if _, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) succeeded", name)
		}
	}
	names := Names()
	wantNames := "nodejs12.x nodejs14.x nodejs16.x nodejs18.x nodejs20.x nodejs22.x provided provided.al2 provided.al2023 " +
		"python3.8 python3.9 python3.10 python3.11 python3.12 python3.13"
	if got := strings.Join(names, " "); got != wantNames {
		t.Errorf("Names() = %s", got)
	}
	names[0] = "changed"
	if Names()[0] != "nodejs12.x" {
		t.Error("Names() shares its backing array")
	}
	for _, name := range Names() {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Names() lists %q but Lookup does not know it", name)
		}
	}
}

func TestUnsupportedError(t *testing.T) {
	set := "nodejs12.x, nodejs14.x, nodejs16.x, nodejs18.x, nodejs20.x, nodejs22.x, provided, provided.al2, provided.al2023, " +
		"python3.8, python3.9, python3.10, python3.11, python3.12, python3.13"
	cases := map[string]string{
		"nodejs10.x": "The runtime parameter of nodejs10.x is no longer supported for creating or updating AWS Lambda functions. " +
			"We recommend you use the new runtime (nodejs22.x) while creating or updating functions.",
		"python2.7": "The runtime parameter of python2.7 is no longer supported for creating or updating AWS Lambda functions. " +
			"We recommend you use the new runtime (python3.13) while creating or updating functions.",
		"go1.x": "The runtime parameter of go1.x is no longer supported for creating or updating AWS Lambda functions. " +
			"We recommend you use the new runtime (provided.al2023) while creating or updating functions.",
		"java21":      "Value java21 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [" + set + "] or be a valid ARN",
		"nodejs20.10": "Value nodejs20.10 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [" + set + "] or be a valid ARN",
	}
	for name, want := range cases {
		if got := UnsupportedError(name); got != want {
			t.Errorf("UnsupportedError(%q) =\n%s\nwant\n%s", name, got, want)
		}
	}
}
