package policy

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

func TestActionMatching(t *testing.T) {
	cases := []struct {
		pat, action string
		want        bool
	}{
		{"*", "lambda:InvokeFunction", true},
		{"lambda:*", "lambda:InvokeFunction", true},
		{"lambda:Get*", "lambda:GetFunction", true},
		{"lambda:Get*", "lambda:getfunctionconfiguration", true}, // actions are case-insensitive
		{"LAMBDA:GETFUNCTION", "lambda:GetFunction", true},
		{"lambda:Get*", "lambda:ListFunctions", false},
		{"lambda:*", "lambdax:InvokeFunction", false}, // the service prefix must match
		{"lambda*:Invoke", "lambda-edge:Invoke", true},
		{"iam:*AccessKey*", "iam:CreateAccessKey", true},
		{"iam:*Report", "iam:GetOrganizationsAccessReport", true},
		{"iam:*Report", "iam:GetOrganizationsAccessReports", false},
		{"s3:?etObject", "s3:GetObject", true},
		{"s3:?etObject", "s3:etObject", false},
		{"ec2:Describe*", "ec2:DescribeVpcs", true},
		{"ec2:Describe*", "ec2:CreateVpc", false},
	}
	for _, c := range cases {
		s := Statement{Action: []string{c.pat}}
		compileStatement(&s, false)
		if got := s.c.matchAction(c.action); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pat, c.action, got, c.want)
		}
	}
}

func TestGlobMatching(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a*b", "xaxxbyb", true},
		{"*a*b", "xaxxby", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true}, // ? is one character, not one byte
		{"**x", "abcx", true},
		{"a*b*c*d", "aXbYcZd", true},
		{"a*b*c*d", "aXbYcZ", false},
		{"home/${aws:username}/*", "home/${aws:username}/x", true}, // variables off
	}
	for _, c := range cases {
		p := compilePattern(c.pat, true, false)
		if got, _ := p.match(c.s, caseExact, nil); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestResourceMatching(t *testing.T) {
	cases := []struct {
		pat, arn string
		want     bool
	}{
		{"*", "arn:aws:lambda:us-east-1:123456789012:function:f", true},
		{"arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:f:1", true},
		{"arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:f", true},
		{"arn:aws:lambda:us-east-2:123456789012:function:my-function", "arn:aws:lambda:us-east-2:123456789012:function:my-function", true},
		{"arn:aws:lambda:us-east-2:123456789012:function:my-function", "arn:aws:lambda:us-east-2:123456789012:function:my-function:1", false},
		{"arn:aws:lambda:us-east-2:123456789012:function:my-function:*", "arn:aws:lambda:us-east-2:123456789012:function:my-function:PROD", true},
		{"arn:aws:lambda:us-east-2:123456789012:function:my-function:*", "arn:aws:lambda:us-east-2:123456789012:function:my-function", false},
		{"arn:aws:lambda:us-east-2:123456789012:function:my-function:*", "arn:aws:lambda:us-east-2:123456789012:function:my-function-2:1", false},
		{"arn:aws:lambda:us-east-2:123456789012:function:My-Function", "arn:aws:lambda:us-east-2:123456789012:function:my-function", false}, // case-sensitive
		{"arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket/a/b.txt", true},
		{"arn:aws:s3:::*log*", "arn:aws:s3:::carlossalazar-logs", true},
		{"arn:aws:s3:::*log*", "arn:aws:s3:::carlossalazar", false},
		{"arn:aws:iam::*:user/accounting/*", "arn:aws:iam::123456789012:user/accounting/bob", true},
		// The IAM doc's ArnLike example: a star in the region part stops at the colon.
		{"arn:aws:someservice:*:111122223333:finance/*", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt", false},
		{"arn:aws:ec2:us-west-2:123456789012:*/*", "arn:aws:ec2:us-west-2:123456789012:network-interface/eni-1", true},
		{"arn:aws:ec2:*:*:*", "*", false},
		{"arn:aws:ec2:*", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", true}, // missing parts are "*"
		{"arn:aws:e?2:*:*:vpc/*", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", true},
	}
	for _, c := range cases {
		p := compileARNPattern(c.pat, 5)
		if got, _ := p.match(c.arn, nil); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pat, c.arn, got, c.want)
		}
	}
}

func TestPolicyVariables(t *testing.T) {
	st := &evalState{req: &Request{
		Principal: Principal{Type: User, ARN: "arn:aws:iam::123456789012:user/David", Account: "123456789012", Name: "David", UserID: "AIDAEXAMPLE000000001"},
		Context:   Context{"aws:principaltag/team": {"blue"}, "multi": {"a", "b"}},
	}}
	cases := []struct {
		pat, s string
		want   bool
		ok     bool
	}{
		{"home/${aws:username}/*", "home/David/x", true, true},
		{"home/${aws:username}/*", "home/Bob/x", false, true},
		{"home/${AWS:UserName}/*", "home/David/x", true, true}, // key names are case-insensitive
		{"${aws:PrincipalTag/team}", "blue", true, true},
		{"${aws:PrincipalTag/other}", "blue", false, false}, // unresolved
		{"${aws:PrincipalTag/other, 'blue'}", "blue", true, true},
		{"${multi}", "a", false, false}, // several values do not substitute
		{"a${*}b", "a*b", true, true},   // ${*} is a literal star
		{"a${*}b", "axb", false, true},
		{"what${?}", "what?", true, true},
		{"${$}5", "$5", true, true},
		{"x-${aws:userid}", "x-AIDAEXAMPLE000000001", true, true},
		{"${aws:username}", "*", false, true},
	}
	for _, c := range cases {
		p := compilePattern(c.pat, true, true)
		got, ok := p.match(c.s, caseExact, st)
		if got != c.want || ok != c.ok {
			t.Errorf("%q matches %q = %v,%v, want %v,%v", c.pat, c.s, got, ok, c.want, c.ok)
		}
	}
	// A substituted value is literal text even if it holds wildcards.
	st.req.Context["aws:principaltag/team"] = []string{"*"}
	p := compilePattern("${aws:PrincipalTag/team}", true, true)
	if got, _ := p.match("anything", caseExact, st); got {
		t.Error("a substituted * acted as a wildcard")
	}
	// Resource elements read variables only in the resource part.
	ap := compileARNPattern("arn:aws:s3:::${aws:username}/*", 5)
	if got, _ := ap.match("arn:aws:s3:::David/x", st); !got {
		t.Error("variable in the resource part was not substituted")
	}
	ap = compileARNPattern("arn:aws:iam::${aws:PrincipalAccount}:user/x", 5)
	if got, _ := ap.match("arn:aws:iam::123456789012:user/x", st); got {
		t.Error("variable in the account part was substituted")
	}
}

// Property: each of the first five ARN parts is matched on its own. A star
// put in place of one part matches whatever that part holds, and a star put in
// place of several parts (swallowing their colons) never matches, while the
// same text read as a StringLike pattern does.
func TestARNPartsAreSeparate(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	word := func(prefix byte) string {
		n := 1 + rng.Intn(6)
		b := []byte{prefix}
		for i := 0; i < n; i++ {
			b = append(b, "abcdefghijklmnopqrstuvwxyz0123456789-_/"[rng.Intn(39)])
		}
		return string(b)
	}
	for iter := 0; iter < 5000; iter++ {
		// Part k begins with a letter only part k uses, so parts never match
		// one another by accident.
		var segs [6]string
		for k := range segs {
			segs[k] = word("ABCDEF"[k])
		}
		if rng.Intn(2) == 0 {
			segs[5] += ":" + word('F') // resource parts may hold colons
		}
		value := strings.Join(segs[:], ":")

		i := rng.Intn(5)
		one := append([]string(nil), segs[:]...)
		one[i] = "*"
		onePat := compileARNPattern(strings.Join(one, ":"), 5)
		if m, _ := onePat.match(value, nil); !m {
			t.Fatalf("star for part %d: %q does not match %q", i, strings.Join(one, ":"), value)
		}

		j := i + 1 + rng.Intn(5-i) // i < j <= 5
		if j == 5 {
			j = 4
			if i == 4 {
				continue
			}
		}
		merged := append(append(append([]string(nil), segs[:i]...), "*"), segs[j+1:]...)
		pat := strings.Join(merged, ":")
		ap := compileARNPattern(pat, 5)
		if m, _ := ap.match(value, nil); m {
			t.Fatalf("star across parts %d..%d: %q matches %q", i, j, pat, value)
		}
		glob := compilePattern(pat, true, false)
		if m, _ := glob.match(value, caseExact, nil); !m {
			t.Fatalf("as a plain glob %q should match %q", pat, value)
		}
	}
}

// Property: the glob matcher (with its shortcuts for exact, prefix and "*"
// patterns) agrees with a regular expression on random patterns.
func TestGlobAgainstRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	gen := func(alpha string, n int) string {
		b := make([]byte, rng.Intn(n+1))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return string(b)
	}
	for iter := 0; iter < 20000; iter++ {
		pat, s := gen("ab*?:", 7), gen("abAB:", 9)
		var re strings.Builder
		re.WriteString("(?s)^")
		for _, c := range pat {
			switch c {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		want := regexp.MustCompile(re.String()).MatchString(s)
		p := compilePattern(pat, true, false)
		if got, _ := p.match(s, caseExact, nil); got != want {
			t.Fatalf("%q matches %q = %v, want %v", pat, s, got, want)
		}
		wantFold := regexp.MustCompile("(?i)" + re.String()).MatchString(s)
		lp := compilePattern(strings.ToLower(pat), true, false)
		if got, _ := lp.match(s, caseLower, nil); got != wantFold {
			t.Fatalf("%q matches %q case-insensitively = %v, want %v", pat, s, got, wantFold)
		}
	}
}
