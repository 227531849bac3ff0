package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func js(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type obj = map[string]any
type arr = []any

func stmt(kv ...any) obj {
	m := obj{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func v12(statements any) obj { return obj{"Version": Version2012, "Statement": statements} }

var listBucket = stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")

// Documents that IAM's CreatePolicy rejects, with the message it returns. The
// cases are those moto's IAM policy validator tests pin down against AWS
// (getmoto/moto tests/test_iam/test_iam_policies.py), plus the plain
// "invalid JSON" case seen in many public reports.
func TestParseManagedRejects(t *testing.T) {
	cases := []struct {
		name string
		doc  any // string is used as is
		want string
	}{
		{"not json", "This is not a json document", msgSyntax},
		{"json null", "null", msgSyntax},
		{"trailing data", `{"Version":"2012-10-17","Statement":[]} x`, msgSyntax},
		{"no version", obj{"Statement": listBucket}, msgVersion},
		{"version 2008", obj{"Version": Version2008, "Statement": listBucket}, msgVersion},
		{"unknown version", obj{"Version": "2013-10-17", "Statement": listBucket}, msgSyntax},
		{"no statement", obj{"Version": Version2012}, msgSyntax},
		{"statement not object", v12(arr{"afd"}), msgSyntax},
		{"empty statement list", v12(arr{}), msgSyntax},
		{"unknown top-level field", obj{"Version": Version2012, "Statement": listBucket, "Extra field": "value"}, msgSyntax},
		{"unknown statement field", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Extra field", "value")), msgSyntax},
		{"id list", obj{"Version": Version2012, "Id": arr{"x"}, "Statement": listBucket}, msgSyntax},
		{"id object", obj{"Version": Version2012, "Id": obj{}, "Statement": listBucket}, msgSyntax},
		{"invalid effect", v12(stmt("Effect", "invalid", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"missing effect", v12(stmt("Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"effect wrong case", v12(stmt("Effect", "denY", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), msgLegacy},
		{"effect wrong case before missing action", v12(stmt("Effect", "allow", "Resource", "arn:aws:s3:us-east-1::example_bucket")), msgLegacy},
		{"effect wrong case before duplicate sid", v12(arr{
			stmt("Sid", "sdf", "Effect", "aLLow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket"),
			stmt("Sid", "sdf", "Effect", "Allow"),
		}), msgLegacy},
		{"action without vendor", v12(stmt("Effect", "Allow", "Action", "invalid", "Resource", "arn:aws:s3:::example_bucket")), msgNoVendor},
		{"empty not action", v12(stmt("Effect", "Allow", "NotAction", "", "Resource", "arn:aws:s3:::example_bucket")), msgNoVendor},
		{"vendor with space", v12(stmt("Effect", "Allow", "Action", "a a:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), "Vendor a a is not valid"},
		{"two colons", v12(stmt("Effect", "Allow", "Action", "s3:List:Bucket", "Resource", "arn:aws:s3:::example_bucket")), msgOneColon},
		{"two colons in second statement", v12(arr{
			stmt("Effect", "Allow", "Action", "s3s:ListBucket", "Resource", "arn:aws:s3:::example_bucket"),
			stmt("Effect", "Allow", "Action", "s:3s:ListBucket", "Resource", "arn:aws:s3:::example_bucket"),
		}), msgOneColon},
		{"resource not arn", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "invalid resource")), `Resource invalid resource must be in ARN format or "*".`},
		{"empty resource", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "")), `Resource  must be in ARN format or "*".`},
		{"resource error before action error", v12(stmt("Effect", "Allow", "Action", "s:3:ListBucket", "Resource", "sdfsadf")), `Resource sdfsadf must be in ARN format or "*".`},
		{"resource list not arn", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", arr{"adf"})), `Resource adf must be in ARN format or "*".`},
		{"partition only", v12(stmt("Effect", "Allow", "NotAction", "s3s:ListBucket", "Resource", "a:bsdfdsafsad")), `Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*".`},
		{"short partition", v12(stmt("Effect", "Allow", "NotAction", "s3s:ListBucket", "Resource", "a:b:cadfsdf")), `Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*".`},
		{"long partition", v12(stmt("Effect", "Allow", "NotAction", "s3s:ListBucket", "Resource", "a:b:c:d:e:f:g:h")), `Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h".`},
		{"missing arn prefix", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "aws:s3:::example_bucket")), `Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".`},
		{"bad partition", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", arr{"arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"})), `Partition "error" is not valid for resource "arn:error:s3:::example_bucket".`},
		{"no resource", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket")), msgNoResources},
		{"empty resource list", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", arr{})), msgNoResources},
		{"no resource before bad action", v12(stmt("Effect", "Allow", "Action", "invalid")), msgNoResources},
		{"no action", v12(stmt("Effect", "Allow", "Resource", "arn:aws:s3:::example_bucket")), msgNoActions},
		{"effect only", v12(stmt("Effect", "Allow")), msgNoActions},
		{"empty action list", v12(stmt("Effect", "Allow", "Action", arr{}, "Resource", "arn:aws:s3:::example_bucket")), msgNoActions},
		{"second statement without action", v12(arr{stmt("Effect", "Deny"), listBucket}), msgNoActions},
		{"iam resource path", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:iam:::example_bucket")), `IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.`},
		{"five parts with empty part", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3::example_bucket")), msgLegacy},
		{"legacy before missing action", v12(stmt("Effect", "Allow", "Resource", "arn:aws:s3::example_bucket")), msgLegacy},
		{"legacy not resource", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "NotResource", "arn:aws:s3::example_bucket")), msgLegacy},
		{"empty service", v12(stmt("Effect", "Allow", "NotAction", "s3:ListBucket", "Resource", "arn:aws::::example_bucket")), msgLegacy},
		{"empty service short", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws::fdsasf")), msgLegacy},
		{"no vendor in arn", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws")), msgResourceVendor},
		{"resource object", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", obj{"a": "arn:aws:s3:::example_bucket"})), msgSyntax},
		{"resource list with object", v12(stmt("Effect", "Deny", "Action", "s3:ListBucket", "Resource", arr{"adfdf", obj{}})), msgSyntax},
		{"resource and not resource", v12(stmt("Effect", "Allow", "NotAction", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "NotResource", arr{})), msgSyntax},
		{"nested action list", v12(stmt("Effect", "Deny", "Action", arr{arr{}}, "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"action and not action", v12(stmt("Effect", "Allow", "NotAction", "s3s:ListBucket", "Action", arr{}, "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"action object", v12(stmt("Effect", "Allow", "Action", obj{}, "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"condition list", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", arr{})), msgSyntax},
		{"condition string", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", "a")), msgSyntax},
		{"condition operator string", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"a": "b"})), msgSyntax},
		{"condition block string", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": "b"})), msgSyntax},
		{"condition block list", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": arr{}})), msgSyntax},
		{"condition value object", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": obj{}}})), msgSyntax},
		{"condition value object without action", v12(stmt("Effect", "Allow", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": obj{}}})), msgSyntax},
		{"unknown operator", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"x": obj{"a": "1"}})), msgSyntax},
		{"doubled qualifier colon", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"ForAnyValue::StringEqualsIfExists": obj{"a": "asf"}})), msgSyntax},
		{"condition in a list", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", arr{obj{"ForAllValues:StringEquals": obj{"aws:TagKeys": "Department"}}})), msgSyntax},
		{"NullIfExists", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"NullIfExists": obj{"a": "true"}})), msgSyntax},
		{"iam region", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:iam:us-east-1::example_bucket")), "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."},
		{"s3 region", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:us-east-1::example_bucket")), "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."},
		{"sid object", v12(stmt("Sid", obj{}, "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"sid list", v12(stmt("Sid", arr{}, "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"duplicate sid", v12(arr{
			stmt("Sid", "sdf", "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket"),
			stmt("Sid", "sdf", "Effect", "Allow"),
		}), msgSidUnique},
		{"version before duplicate sid", obj{"Statement": arr{
			stmt("Sid", "sdf", "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket"),
			stmt("Sid", "sdf", "Effect", "Allow"),
		}}, msgVersion},
		{"sid with dash", v12(stmt("Sid", "autogenerated-id", "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::carthage-cache")), msgSidAlnum},
		{"not action and action", v12(stmt("Effect", "Allow", "NotAction", "s3:ListBucket", "Action", "iam:dsf", "Resource", "arn:aws:s3:::example_bucket")), msgSyntax},
		{"resource and not resource star", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "NotResource", "*")), msgSyntax},
		{"bad date", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": "sdfdsf"}})), msgLegacy},
		{"bad date without version", obj{"Statement": stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": "sdfdsf"}})}, msgVersion},
		{"bad effect case without version", obj{"Statement": stmt("Effect", "denY", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")}, msgVersion},
		{"bad date without action", v12(stmt("Effect", "Allow", "Condition", obj{"DateGreaterThan": obj{"a": "sdfdsf"}})), msgLegacy},
		{"month 13", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "234-13"}})), msgLegacy},
		{"one digit zone", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "2016-12-13t2:00:00.593194+1"}})), msgLegacy},
		{"ten digit fraction", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "2016-12-13t2:00:00.1999999999+10:59"}})), msgLegacy},
		{"epoch overflow", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThan": obj{"a": "9223372036854775808"}})), msgLegacy},
		{"bad date beats bad partition", v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:error:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": "sdfdsf"}})), msgLegacy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := c.doc.(string)
			if !ok {
				d = js(t, c.doc)
			}
			p, err := ParseManaged(d)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseManaged(%s) = %v, %v; want *ParseError %q", d, p, err, c.want)
			}
			if pe.Message != c.want {
				t.Fatalf("ParseManaged(%s):\n got %q\nwant %q", d, pe.Message, c.want)
			}
		})
	}
}

// Documents IAM accepts (same source), plus the managed policies of
// aws-semantics.md §6.
func TestParseManagedAccepts(t *testing.T) {
	docs := []any{
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", arr{"arn:aws:s3:::example_bucket"})),
		v12(stmt("Effect", "Allow", "Action", "iam: asdf safdsf af ", "Resource", "arn:aws:s3:::example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", arr{"arn:aws:s3:::example_bucket", "*"})),
		v12(stmt("Effect", "Allow", "Action", "*", "Resource", "arn:aws:s3:::example_bucket")),
		v12(arr{listBucket}),
		v12(stmt("Effect", "Allow", "Action", "service-prefix:action-name", "Resource", "*", "Condition", obj{
			"DateGreaterThan": obj{"aws:CurrentTime": "2017-07-01T00:00:00Z"},
			"DateLessThan":    obj{"aws:CurrentTime": "2017-12-31T23:59:59Z"},
		})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:iam:::user/example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s33:::example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:fdsasf")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"ForAllValues:StringEquals": obj{"aws:TagKeys": "Department"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:cloudwatch:us-east-1::example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:invalid-service:us-east-1::example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": arr{}}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"a": obj{}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"x": obj{}, "y": obj{}})),
		v12(stmt("Effect", "Deny", "Action", "s3:*", "NotResource", arr{"arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"})),
		obj{"Version": Version2012, "Id": "sdfsdfsdf", "Statement": stmt("Effect", "Allow", "NotAction", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket")},
		v12(stmt("Effect", "Allow", "Action", "s3-s:ListBucket", "Resource", "arn:aws:s3:::example_bucket")),
		v12(stmt("Effect", "Allow", "Action", "s3.s:ListBucket", "Resource", "arn:aws:s3:::example_bucket")),
		v12(stmt("Effect", "Allow", "NotAction", "s3:ListBucket", "NotResource", "*")),
		v12(arr{stmt("Sid", "sdf", "Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket"), listBucket}),
		v12(arr{stmt("Sid", "", "Effect", "Allow", "Action", "rds:*", "Resource", arr{"arn:aws:rds:region:*:*"}), stmt("Sid", "", "Effect", "Allow", "Action", arr{"rds:Describe*"}, "Resource", arr{"*"})}),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateGreaterThan": obj{"a": "01T"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"StringEqualsIfExists": obj{"a": "asf"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"ForAnyValue:StringEqualsIfExists": obj{"a": "asf"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "2019-07-01T13:20:15Z"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "2016-12-13T21:20:37.593194+00:00"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThanEquals": obj{"a": "2016-12-13t2:00:00.593194+23"}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "arn:aws:s3:::example_bucket", "Condition", obj{"DateLessThan": obj{"a": "-292275054"}})),
		v12(stmt("Effect", "Allow", "Action", "iam:ChangePassword", "Resource", "arn:aws:iam::*:user/${aws:username}")),
		v12(stmt("Effect", "Deny", "NotAction", arr{"iam:GetUser"}, "Resource", "*", "Condition", obj{"BoolIfExists": obj{"aws:MultiFactorAuthPresent": false}})),
		v12(stmt("Effect", "Allow", "Action", "s3:ListBucket", "Resource", "*", "Condition", obj{"NumericLessThanEquals": obj{"s3:max-keys": 10}})),
		vpcAccessExecutionRole,
		basicExecutionRole,
	}
	for i, d := range docs {
		var doc string
		if s, ok := d.(string); ok {
			doc = s
		} else {
			doc = js(t, d)
		}
		if _, err := ParseManaged(doc); err != nil {
			t.Errorf("case %d: ParseManaged(%s) = %v", i, doc, err)
		}
	}
}

// The two documents of aws-semantics.md §6, as AWS renders them.
const vpcAccessExecutionRole = `{
  "Version" : "2012-10-17",
  "Statement" : [
    {
      "Sid" : "AWSLambdaVPCAccessExecutionPermissions",
      "Effect" : "Allow",
      "Action" : [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses"
      ],
      "Resource" : "*"
    }
  ]
}`

const basicExecutionRole = `{
  "Version" : "2012-10-17",
  "Statement" : [
    {
      "Effect" : "Allow",
      "Action" : [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents"
      ],
      "Resource" : "*"
    }
  ]
}`

// Inline policies accept documents without a Version (they get 2008-10-17
// semantics); only managed policies insist on 2012-10-17.
func TestParseIdentity(t *testing.T) {
	p, err := ParseIdentity(js(t, obj{"Statement": listBucket}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "" || len(p.Statements) != 1 || p.Statements[0].Effect != Allow {
		t.Fatalf("got %+v", p)
	}
	for name, c := range map[string]struct {
		doc  any
		want string
	}{
		"principal":     {v12(stmt("Effect", "Allow", "Principal", obj{"AWS": "arn:aws:iam::123456789012:user/x"}, "Action", "s3:*", "Resource", "*")), msgPrincipalInIdentity},
		"not principal": {v12(stmt("Effect", "Deny", "NotPrincipal", "*", "Action", "s3:*", "Resource", "*")), msgPrincipalInIdentity},
		"no resource":   {v12(stmt("Effect", "Allow", "Action", "s3:*")), msgNoResources},
		"sid":           {v12(stmt("Sid", "has space", "Effect", "Allow", "Action", "s3:*", "Resource", "*")), msgSidAlnum},
	} {
		_, err := ParseIdentity(js(t, c.doc))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func TestParseTrust(t *testing.T) {
	lambdaTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	p, err := ParseTrust(lambdaTrust)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Statements[0].Principal.Service; !reflect.DeepEqual(got, []string{"lambda.amazonaws.com"}) {
		t.Fatalf("Service = %v", got)
	}
	for _, ok := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"]}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"Service":["ecs.amazonaws.com","elasticloadbalancing.amazonaws.com"]},"Action":"sts:AssumeRole"}}`,
	} {
		if _, err := ParseTrust(ok); err != nil {
			t.Errorf("ParseTrust(%s) = %v", ok, err)
		}
	}
	for _, c := range []struct{ doc, want string }{
		{`{invalid`, msgInvalidJSONTrust},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, msgMissingPrincipal},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Resource":"*"}]}`, msgTrustResource},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","NotResource":"*"}]}`, msgTrustNotResource},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"}]}`, msgTrustActions},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject"}]}`, msgTrustActions},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`, msgTrustAllowNotPrinc},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"amazonaws.com"},"Action":"sts:AssumeRole"}]}`, `Invalid principal in policy: "SERVICE":"amazonaws.com"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}]}`, `Invalid principal in policy: "AWS":"bob"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12345:user/x"},"Action":"sts:AssumeRole"}]}`, `Invalid principal in policy: "AWS":"arn:aws:iam::12345:user/x"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root","Action":"sts:AssumeRole"}]}`, msgSyntax},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Bob":"x"},"Action":"sts:AssumeRole"}]}`, msgSyntax},
		{`{"Version":"2012-10-17","Statement":[{"Sid":"a-b","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`, msgSidAlnum},
	} {
		_, err := ParseTrust(c.doc)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseTrust(%s) = %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestParseResourceAndEndpoint(t *testing.T) {
	// A function policy as Lambda's AddPermission writes it.
	fn := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"allow-invoke_1","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-2:123456789012:function:my-function"}]}`
	if _, err := ParseResource(fn); err != nil {
		t.Errorf("function policy: %v", err)
	}
	if _, err := ParseResource(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`); err == nil || err.Error() != msgMissingPrincipal {
		t.Errorf("resource policy without principal: %v", err)
	}
	// Both renderings of the default endpoint policy from aws-semantics.md §4.
	for _, d := range []string{
		`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
		"{\n  \"Statement\": [\n    {\n      \"Action\": \"*\", \n      \"Effect\": \"Allow\", \n      \"Principal\": \"*\", \n      \"Resource\": \"*\"\n    }\n  ]\n}",
		`{"Version":"2008-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
		seedEndpointPolicy,
	} {
		if _, err := ParseEndpoint(d); err != nil {
			t.Errorf("ParseEndpoint(%s) = %v", d, err)
		}
	}
	if _, err := ParseEndpoint(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}`); err == nil || err.Error() != msgNoResources {
		t.Errorf("endpoint policy without resource: %v", err)
	}
}

// The example endpoint policy of the Lambda developer guide
// (reference/seeds/003: "You need to include both the qualified and the
// unqualified function ARN in the resource").
const seedEndpointPolicy = `{
   "Statement":[
      {
         "Principal":
         { 
             "AWS": "arn:aws:iam::111122223333:user/MyUser" 
         },
         "Effect":"Allow",
         "Action":[
            "lambda:InvokeFunction"
         ],
         "Resource": [
               "arn:aws:lambda:us-east-2:123456789012:function:my-function",
               "arn:aws:lambda:us-east-2:123456789012:function:my-function:*"
            ]
      }
   ]
}`

func TestMarshalRoundTrip(t *testing.T) {
	doc := `{"Version":"2012-10-17","Id":"x","Statement":[
	 {"Sid":"A","Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::111122223333:user/u"],"Service":"lambda.amazonaws.com"},
	  "Action":"lambda:*","Resource":["arn:aws:lambda:*:*:function:*"],
	  "Condition":{"StringEquals":{"aws:SourceVpce":["vpce-1","vpce-2"],"aws:username":"bob"},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10.5}}},
	 {"Effect":"Deny","NotPrincipal":"*","NotAction":["s3:*","ec2:*"],"NotResource":"*"}]}`
	p, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := p.String()
	q, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", out, err)
	}
	if !samePolicy(p, q) {
		t.Fatalf("round trip changed the policy:\n%s\n%s", out, q.String())
	}
	c := p.Statements[0].Condition
	want := []Condition{
		{"Bool", "aws:SecureTransport", []string{"true"}},
		{"NumericLessThan", "s3:max-keys", []string{"10.5"}},
		{"StringEquals", "aws:SourceVpce", []string{"vpce-1", "vpce-2"}},
		{"StringEquals", "aws:username", []string{"bob"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("conditions = %#v", c)
	}
}

// samePolicy compares the document parts of two policies.
func samePolicy(a, b *Policy) bool {
	if a.Version != b.Version || a.ID != b.ID || len(a.Statements) != len(b.Statements) {
		return false
	}
	for i := range a.Statements {
		x, y := a.Statements[i], b.Statements[i]
		x.c, y.c = compiled{}, compiled{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestContextKeys(t *testing.T) {
	p := mustParse(t, KindIdentity, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*",
	   "Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
	  {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"AWS:SecureTransport":"false"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:role/x"},"Null":{"aws:sourceip":"true"}}}]}`)
	want := []string{"aws:PrincipalAccount", "aws:PrincipalArn", "AWS:SecureTransport", "aws:SourceIp", "aws:username", "s3:prefix"}
	if got := p.ContextKeys(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ContextKeys = %v, want %v", got, want)
	}
	old := mustParse(t, KindIdentity, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`)
	if got := old.ContextKeys(); got != nil {
		t.Fatalf("a 2008-10-17 policy has variables %v", got)
	}
}
