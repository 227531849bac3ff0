package policy

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	vpcAccessExecutionRole,
	basicExecutionRole,
	seedEndpointPolicy,
	readOnlyLike,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/Bob","444455556666"]},"NotAction":"s3:*","NotResource":"arn:aws:s3:::b/*"}}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAnyValue:StringLikeIfExists":{"s3:prefix":["${*}",""]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"Null":{"aws:TokenIssueTime":true},"NumericEquals":{"k":1.5}}}]}`,
	`{"Statement":[{"Sid":"","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
	`{"Version":"2008-10-17","Id":"x","Statement":[{"Effect":"Allow","Principal":{"AWS":"*","CanonicalUser":"79a5","Federated":"accounts.google.com"},"Action":"*","Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"a:b","Resource":"arn:aws:s3::x"}]}`,
	`not json`,
	`[]`,
}

// FuzzParse: no input makes any parser panic; every accepted document
// marshals to a document that parses back, as the same kind, to an equal
// policy; and evaluating against it does not panic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	req := Request{
		Principal: session, Action: "lambda:InvokeFunction",
		Resource: "arn:aws:lambda:us-east-1:123456789012:function:f:1", ResourceAccount: acctB,
		Context: Context{"aws:sourceip": {"10.1.2.3"}, "s3:prefix": {"a", "b"}, "k": {"1.5"}},
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for kind := KindGeneric; kind <= KindEndpoint; kind++ {
			p, err := ParseAs(doc, kind)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Message == "" {
					t.Fatalf("kind %d: error %T %v", kind, err, err)
				}
				continue
			}
			out := p.String()
			q, err := ParseAs(out, kind)
			if err != nil {
				t.Fatalf("kind %d: %s\nmarshals to %s\nwhich does not parse: %v", kind, doc, out, err)
			}
			if !samePolicy(p, q) {
				t.Fatalf("kind %d: %s\nround trip differs:\n%s\n%s", kind, doc, out, q.String())
			}
			if again := q.String(); again != out {
				t.Fatalf("kind %d: marshal not stable:\n%s\n%s", kind, out, again)
			}
			Evaluate(req, Inputs{Identity: []*Policy{p}, PermissionsBoundary: p, Session: []*Policy{p}, Resource: p, Endpoint: p})
		}
	})
}
