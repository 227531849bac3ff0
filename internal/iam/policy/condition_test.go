package policy

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// condResult evaluates one condition block of a 2012-10-17 statement against
// a context.
func condResult(t *testing.T, op, key string, values any, ctx Context) bool {
	t.Helper()
	doc := js(t, v12(stmt("Effect", "Allow", "Action", "s3:GetObject", "Resource", "*", "Condition", obj{op: obj{key: values}})))
	p, err := ParseIdentity(doc)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	d := Evaluate(Request{
		Principal: Principal{Type: User, ARN: "arn:aws:iam::123456789012:user/u", Account: "123456789012", Name: "u"},
		Action:    "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx,
	}, Inputs{Identity: []*Policy{p}})
	return d.Allowed
}

func TestConditionOperators(t *testing.T) {
	ip := Context{"aws:sourceip": {"203.0.113.7"}}
	ip6 := Context{"aws:sourceip": {"2001:db8:1234:5678::1"}}
	bin := base64.StdEncoding.EncodeToString([]byte("BinaryValueInBase64"))
	cases := []struct {
		op, key string
		values  any
		ctx     Context
		want    bool
	}{
		{"StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", Context{"aws:principaltag/job-category": {"iamuser-admin"}}, true},
		{"StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", Context{"aws:principaltag/job-category": {"IAMUSER-ADMIN"}}, false},
		{"StringEquals", "k", "a*", Context{"k": {"abc"}}, false}, // no wildcards in StringEquals
		{"StringEquals", "k", "a*", Context{"k": {"a*"}}, true},
		{"StringNotEquals", "k", "a", Context{"k": {"b"}}, true},
		{"StringNotEquals", "k", "a", Context{"k": {"a"}}, false},
		{"StringEqualsIgnoreCase", "k", "Admin", Context{"k": {"aDMIN"}}, true},
		{"StringNotEqualsIgnoreCase", "k", "Admin", Context{"k": {"aDMIN"}}, false},
		{"StringLike", "s3:prefix", arr{"", "home/", "home/${aws:username}/*"}, Context{"s3:prefix": {"home/u/docs"}}, true},
		{"StringLike", "s3:prefix", arr{"", "home/", "home/${aws:username}/*"}, Context{"s3:prefix": {"home/other/docs"}}, false},
		{"StringLike", "s3:prefix", arr{"", "home/"}, Context{"s3:prefix": {""}}, true}, // listing the bucket root
		{"StringNotLike", "k", "a*", Context{"k": {"ba"}}, true},
		{"NumericLessThanEquals", "s3:max-keys", "10", Context{"s3:max-keys": {"10"}}, true},
		{"NumericLessThanEquals", "s3:max-keys", "10", Context{"s3:max-keys": {"11"}}, false},
		{"NumericLessThan", "k", "10", Context{"k": {"9.5"}}, true},
		{"NumericGreaterThan", "k", "10", Context{"k": {"10"}}, false},
		{"NumericGreaterThanEquals", "k", 10, Context{"k": {"10.0"}}, true},
		{"NumericEquals", "k", "10", Context{"k": {"1e1"}}, true},
		{"NumericNotEquals", "k", "10", Context{"k": {"11"}}, true},
		{"NumericEquals", "k", "10", Context{"k": {"ten"}}, false},
		{"DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z", Context{"aws:tokenissuetime": {"2020-06-01T00:00:00Z"}}, true},
		{"DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z", Context{"aws:tokenissuetime": {"2019-06-01T00:00:00Z"}}, false},
		{"DateLessThan", "aws:EpochTime", "1600000000", Context{"aws:epochtime": {"1500000000"}}, true},
		{"DateLessThan", "aws:CurrentTime", "2020-01-01", Context{"aws:currenttime": {"1577836799"}}, true}, // epoch against ISO
		{"DateEquals", "k", "2020-01-01T01:00:00+01:00", Context{"k": {"2020-01-01T00:00:00Z"}}, true},
		{"DateNotEquals", "k", "2020-01-01T00:00:00Z", Context{"k": {"2020-01-01T00:00:01Z"}}, true},
		{"DateLessThanEquals", "k", "2020-01-01T00:00:00.5Z", Context{"k": {"2020-01-01T00:00:00.500Z"}}, true},
		{"Bool", "aws:SecureTransport", "false", Context{"aws:securetransport": {"false"}}, true},
		{"Bool", "aws:SecureTransport", false, Context{"aws:securetransport": {"FALSE"}}, true},
		{"Bool", "aws:SecureTransport", "false", Context{"aws:securetransport": {"true"}}, false},
		{"BinaryEquals", "key", bin, Context{"key": {"BinaryValueInBase64"}}, true},
		{"BinaryEquals", "key", bin, Context{"key": {"other"}}, false},
		{"IpAddress", "aws:SourceIp", "203.0.113.0/24", ip, true},
		{"IpAddress", "aws:SourceIp", "203.0.114.0/24", ip, false},
		{"IpAddress", "aws:SourceIp", "203.0.113.7", ip, true}, // no prefix means /32
		{"IpAddress", "aws:SourceIp", "203.0.113.8", ip, false},
		{"IpAddress", "aws:SourceIp", arr{"203.0.113.0/24", "2001:DB8:1234:5678::/64"}, ip6, true},
		{"IpAddress", "aws:SourceIp", "203.0.113.0/24", Context{"aws:sourceip": {"::ffff:203.0.113.9"}}, true},
		{"NotIpAddress", "aws:SourceIp", "203.0.113.0/24", ip, false},
		{"NotIpAddress", "aws:SourceIp", "10.0.0.0/8", ip, true},
		{"ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:TOPIC-ID", Context{"aws:sourcearn": {"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}}, true},
		{"ArnLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*", Context{"aws:sourcearn": {"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}}, true},
		{"ArnLike", "aws:SourceArn", "arn:aws:someservice:*:111122223333:finance/*", Context{"aws:sourcearn": {"arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}}, false},
		{"StringLike", "aws:SourceArn", "arn:aws:someservice:*:111122223333:finance/*", Context{"aws:sourcearn": {"arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}}, true},
		{"ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:*", Context{"aws:sourcearn": {"arn:aws:sqs:us-east-1:1:q"}}, true},
		{"ArnLike", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:user/*", nil, true},
		{"Null", "aws:TokenIssueTime", "true", nil, true},
		{"Null", "aws:TokenIssueTime", "true", Context{"aws:tokenissuetime": {"2020-01-01T00:00:00Z"}}, false},
		{"Null", "aws:TokenIssueTime", "false", Context{"aws:tokenissuetime": {"2020-01-01T00:00:00Z"}}, true},
		{"StringEquals", "aws:username", "u", nil, true}, // derived from the principal
		{"StringEquals", "aws:PrincipalAccount", "123456789012", nil, true},
		{"StringEquals", "aws:PrincipalType", "User", nil, true},
		{"StringEquals", "AWS:SOURCEVPCE", "vpce-1a2b3c4d", Context{"aws:SourceVpce": {"vpce-1a2b3c4d"}}, true}, // key names are case-insensitive
		{"StringEquals", "aws:SourceVpce", arr{"vpce-1", "vpce-2"}, Context{"aws:sourcevpce": {"vpce-2"}}, true},
		// Several keys under one operator must all hold.
		{"StringEquals", "ec2:ResourceTag/Project", "DataAnalytics", Context{"ec2:resourcetag/project": {"DataAnalytics"}}, true},
	}
	for _, c := range cases {
		if got := condResult(t, c.op, c.key, c.values, c.ctx); got != c.want {
			t.Errorf("%s {%s: %v} with %v = %v, want %v", c.op, c.key, c.values, c.ctx, got, c.want)
		}
	}
}

func TestConditionKeysAndValuesCombine(t *testing.T) {
	doc := js(t, v12(stmt("Effect", "Allow", "Action", "ec2:StartInstances", "Resource", "*", "Condition", obj{
		"StringEquals": obj{"ec2:ResourceTag/Project": "DataAnalytics", "aws:PrincipalTag/Department": "Data"},
	})))
	p, err := ParseIdentity(doc)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Principal: Principal{Type: User, ARN: "arn:aws:iam::123456789012:user/u", Account: "123456789012"}, Action: "ec2:StartInstances", Resource: "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}
	for _, c := range []struct {
		ctx  Context
		want bool
	}{
		{Context{"ec2:resourcetag/project": {"DataAnalytics"}, "aws:principaltag/department": {"Data"}}, true},
		{Context{"ec2:resourcetag/project": {"DataAnalytics"}}, false},
		{Context{"ec2:resourcetag/project": {"Other"}, "aws:principaltag/department": {"Data"}}, false},
	} {
		req.Context = c.ctx
		if got := Evaluate(req, Inputs{Identity: []*Policy{p}}).Allowed; got != c.want {
			t.Errorf("%v: allowed = %v, want %v", c.ctx, got, c.want)
		}
	}
}

// The examples of the IAM guide's "Creating a condition that tests multiple
// key values (set operations)".
func TestSetOperators(t *testing.T) {
	allowed := arr{"PostDateTime", "Message", "Tags"}
	forbidden := arr{"ID", "PostDateTime"}
	attrs := func(v ...string) Context { return Context{"dynamodb:requestedattributes": v} }
	cases := []struct {
		op     string
		values any
		ctx    Context
		want   bool
	}{
		{"ForAllValues:StringLike", allowed, attrs("PostDateTime", "Message"), true},
		{"ForAllValues:StringLike", allowed, attrs("PostDateTime", "UserName"), false},
		{"ForAllValues:StringLike", allowed, attrs("PostDateTime", "ID"), false},
		{"ForAllValues:StringLike", allowed, nil, true}, // the empty set
		{"ForAnyValue:StringLike", forbidden, attrs("UserName", "Message", "PostDateTime"), true},
		{"ForAnyValue:StringLike", forbidden, attrs("UserName"), false},
		{"ForAnyValue:StringLike", forbidden, nil, false},
		// Negated operators are negated per request value.
		{"ForAllValues:StringNotEquals", forbidden, attrs("UserName", "Message"), true},
		{"ForAllValues:StringNotEquals", forbidden, attrs("UserName", "ID"), false},
		{"ForAnyValue:StringNotEquals", forbidden, attrs("ID", "UserName"), true},
		{"ForAnyValue:StringNotEquals", forbidden, attrs("ID", "PostDateTime"), false},
		// Without a qualifier: any value matching makes the positive operator
		// true and the negated operator false.
		{"StringEquals", forbidden, attrs("UserName", "ID"), true},
		{"StringNotEquals", forbidden, attrs("UserName", "ID"), false},
		{"StringNotEquals", forbidden, attrs("UserName", "Message"), true},
	}
	for _, c := range cases {
		if got := condResult(t, c.op, "dynamodb:requestedAttributes", c.values, c.ctx); got != c.want {
			t.Errorf("%s %v with %v = %v, want %v", c.op, c.values, c.ctx, got, c.want)
		}
	}
}

// Property from the condition operator reference: with the key missing from
// the request, every positive operator is false, every negated operator is
// true, every ...IfExists form is true, ForAllValues is true and ForAnyValue is
// false, whatever the policy's values.
func TestMissingKeys(t *testing.T) {
	values := map[opKind]string{
		opStringEquals: "x", opStringEqualsIgnoreCase: "x", opStringLike: "*", opNumeric: "1",
		opDate: "2020-01-01T00:00:00Z", opBool: "true", opBinary: "eA==", opIP: "0.0.0.0/0", opArn: "*",
	}
	for name, info := range operators {
		if info.op == opNull {
			continue
		}
		v := values[info.op]
		for _, ctx := range []Context{nil, {"other": {"x"}}, {"k": {}}} {
			if got := condResult(t, name, "k", v, ctx); got != info.neg {
				t.Errorf("%s on a missing key = %v, want %v", name, got, info.neg)
			}
			if !condResult(t, name+"IfExists", "k", v, ctx) {
				t.Errorf("%sIfExists on a missing key is false", name)
			}
			if !condResult(t, "ForAllValues:"+name, "k", v, ctx) {
				t.Errorf("ForAllValues:%s on a missing key is false", name)
			}
			if condResult(t, "ForAnyValue:"+name, "k", v, ctx) {
				t.Errorf("ForAnyValue:%s on a missing key is true", name)
			}
		}
	}
	if !condResult(t, "Null", "k", "true", nil) || condResult(t, "Null", "k", "false", nil) {
		t.Error("Null on a missing key")
	}
}

// IfExists only skips a missing key: a present key is tested (the IAM guide's
// ec2:InstanceType example).
func TestIfExists(t *testing.T) {
	vals := arr{"t1.*", "t2.*", "m3.*"}
	for _, c := range []struct {
		ctx  Context
		want bool
	}{
		{Context{"ec2:instancetype": {"t2.micro"}}, true},
		{Context{"ec2:instancetype": {"c5.large"}}, false},
		{nil, true},
	} {
		if got := condResult(t, "StringLikeIfExists", "ec2:InstanceType", vals, c.ctx); got != c.want {
			t.Errorf("%v: %v, want %v", c.ctx, got, c.want)
		}
	}
	if got := condResult(t, "StringLike", "ec2:InstanceType", vals, nil); got {
		t.Error("StringLike without IfExists matched a missing key")
	}
}

// A policy variable without a value makes the condition fail whatever its
// operator; the default value syntax fills it in.
func TestUnresolvedVariable(t *testing.T) {
	if condResult(t, "StringNotEquals", "k", "${aws:PrincipalTag/none}", Context{"k": {"a"}}) {
		t.Error("negated operator with an unresolved variable applied")
	}
	if !condResult(t, "StringEquals", "k", "${aws:PrincipalTag/none, 'a'}", Context{"k": {"a"}}) {
		t.Error("default value not used")
	}
	// Version 2008-10-17 (or none): variables are literal text.
	p, err := ParseIdentity(`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":"${aws:username}"}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Principal: Principal{Type: User, Name: "u", Account: "1"}, Action: "s3:x", Resource: "*", Context: Context{"k": {"${aws:username}"}}}
	if !Evaluate(req, Inputs{Identity: []*Policy{p}}).Allowed {
		t.Error("without Version a variable is not literal")
	}
}

func TestTimeKeys(t *testing.T) {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		op, key, value string
		want           bool
	}{
		{"DateGreaterThan", "aws:CurrentTime", "2024-01-01T00:00:00Z", true},
		{"DateLessThan", "aws:CurrentTime", "2024-01-01T00:00:00Z", false},
		{"DateGreaterThan", "aws:EpochTime", fmt.Sprint(at.Unix() - 1), true},
		{"DateEquals", "aws:EpochTime", fmt.Sprint(at.Unix()), true},
	} {
		doc := js(t, v12(stmt("Effect", "Allow", "Action", "s3:*", "Resource", "*", "Condition", obj{c.op: obj{c.key: c.value}})))
		p, err := ParseIdentity(doc)
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Principal: Principal{Type: User, Account: "1"}, Action: "s3:x", Resource: "*", Time: at}
		if got := Evaluate(req, Inputs{Identity: []*Policy{p}}).Allowed; got != c.want {
			t.Errorf("%s %s %s at %v = %v", c.op, c.key, c.value, at, got)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // RFC3339Nano in UTC; "" for invalid
	}{
		{"2020", "1970-01-01T00:33:40Z"}, // no T and no dash: epoch seconds
		{"2020-07", "2020-07-01T00:00:00Z"},
		{"2020-07-04", "2020-07-04T00:00:00Z"},
		{"2020-07-04T10:30", "2020-07-04T10:30:00Z"},
		{"2020-07-04T10:30:05.25-02:00", "2020-07-04T12:30:05.25Z"},
		{"2016-12-13t2:00:00.593194+23", "2016-12-12T03:00:00.593194Z"},
		{"0", "1970-01-01T00:00:00Z"},
		{"1700000000", "2023-11-14T22:13:20Z"},
		{"", ""},
		{"1.5", ""},
		{"2020-13-01", ""},
		{"2020-01-01T24:00", ""},
		{"2020-01-01T10:00:00+1", ""},
	} {
		tm, ok := parseDate(c.in)
		got := ""
		if ok {
			got = tm.UTC().Format(time.RFC3339Nano)
		}
		if got != c.want {
			t.Errorf("parseDate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if !strings.Contains(fmt.Sprint(parseDate("-5")), "-0005") {
		t.Error("negative year")
	}
}
