package awswire

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const rid = "5a6b7c8d-0000-4000-8000-000000000001"

func TestWriteErrorRestJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		body string
	}{
		{"user", Errorf(404, "ResourceNotFoundException", "Function not found: %s", "arn:aws:lambda:us-east-1:123456789012:function:f"),
			`{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:f"}`},
		{"message key", &Error{Status: 404, Code: "ResourceNotFoundException", Message: "x", Sender: true, MessageKey: "Message"},
			`{"Type":"User","Message":"x"}`},
		{"no type", &Error{Status: 400, Code: "ValidationException", Message: `1 validation error detected: Value 'a"b' at 'x' failed`, Sender: true, OmitType: true},
			`{"message":"1 validation error detected: Value 'a\"b' at 'x' failed"}`},
		{"fields", &Error{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded", Sender: true,
			Fields: map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "A": "<&>"}, Headers: map[string]string{"Retry-After": "1"}},
			`{"Type":"User","message":"Rate exceeded","A":"<&>","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`},
		{"service", &Error{Status: 502, Code: "ResourceNotReadyException", Message: "m"}, `{"Type":"Service","message":"m"}`},
		{"not an *Error", errors.New("disk on fire"),
			`{"Type":"Service","Message":"The request processing has failed because of an unknown error, exception or failure."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, RestJSON, rid, tc.err)
			var want *Error
			if !errors.As(tc.err, &want) {
				want = &Error{Status: 500, Code: "ServiceException"}
			}
			if w.Code != want.Status || w.Body.String() != tc.body || w.Header().Get("x-amzn-ErrorType") != want.Code ||
				w.Header().Get("Content-Type") != "application/json" || w.Header().Get("x-amzn-RequestId") != rid ||
				w.Header().Get("Content-Length") != itoa(len(tc.body)) {
				t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
			}
			for k, v := range want.Headers {
				if w.Header().Get(k) != v {
					t.Fatalf("header %s = %q", k, w.Header().Get(k))
				}
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestWriteErrorJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, JSON, rid, Errorf(400, "ResourceNotFoundException", "The specified log group does not exist."))
	if w.Code != 400 || w.Body.String() != `{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}` ||
		w.Header().Get("Content-Type") != "application/x-amz-json-1.1" || w.Header().Get("x-amzn-RequestId") != rid {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	WriteError(w, JSON, rid, errors.New("boom"))
	if w.Code != 500 || w.Body.String() != `{"__type":"InternalFailure","message":"The request processing has failed because of an unknown error, exception or failure."}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestWriteQueryError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteQueryError(w, "https://sts.amazonaws.com/doc/2011-06-15/", rid, Errorf(403, "InvalidClientTokenId", "The security token included in the request is invalid."))
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidClientTokenId</Code>
    <Message>The security token included in the request is invalid.</Message>
  </Error>
  <RequestId>` + rid + `</RequestId>
</ErrorResponse>
`
	if w.Code != 403 || w.Body.String() != want || w.Header().Get("Content-Type") != "text/xml" || w.Header().Get("x-amzn-RequestId") != rid {
		t.Fatalf("%d %v\n%s", w.Code, w.Header(), w.Body)
	}

	w = httptest.NewRecorder()
	WriteError(w, Query, rid, &Error{Status: 500, Code: "ServiceFailure", Message: "a < b & c"})
	var got struct {
		Error     struct{ Type, Code, Message string }
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.Body.String(), "xmlns") || got.Error.Type != "Receiver" || got.Error.Message != "a < b & c" || got.RequestID != rid {
		t.Fatalf("%s", w.Body)
	}
}

func TestWriteErrorEC2(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, EC2, rid, Errorf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", "vpc-1"))
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &#39;vpc-1&#39; does not exist</Message></Error></Errors><RequestID>` + rid + `</RequestID></Response>`
	if w.Code != 400 || w.Body.String() != want || w.Header().Get("Content-Type") != "text/xml;charset=UTF-8" {
		t.Fatalf("%d %v\n%s", w.Code, w.Header(), w.Body)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, 201, map[string]string{"FunctionName": "f"})
	if w.Code != 201 || w.Body.String() != `{"FunctionName":"f"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	WriteJSON(w, 200, struct{}{})
	if w.Header().Get("Content-Type") != "application/x-amz-json-1.1" || w.Body.String() != `{}` {
		t.Fatalf("%v %s", w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	WriteJSON(w, 200, func() {})
	if w.Code != 500 || w.Header().Get("x-amzn-ErrorType") != "ServiceException" {
		t.Fatalf("unencodable value: %d %s", w.Code, w.Body)
	}
}

func TestWriteQueryResult(t *testing.T) {
	type result struct {
		XMLName xml.Name `xml:"Ignored"`
		Arn     string
		UserID  string `xml:"UserId"`
	}
	w := httptest.NewRecorder()
	WriteQueryResult(w, "GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/", rid, result{Arn: "arn:aws:iam::123456789012:root", UserID: "a&b"})
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:root</Arn>
    <UserId>a&amp;b</UserId>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>` + rid + `</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`
	if w.Code != 200 || w.Body.String() != want || w.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %v\n%s", w.Code, w.Header(), w.Body)
	}

	w = httptest.NewRecorder()
	WriteQueryResult(w, "DeleteUser", "https://iam.amazonaws.com/doc/2010-05-08/", rid, nil)
	want = `<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ResponseMetadata>
    <RequestId>` + rid + `</RequestId>
  </ResponseMetadata>
</DeleteUserResponse>
`
	if w.Body.String() != want {
		t.Fatalf("%s", w.Body)
	}

	w = httptest.NewRecorder()
	WriteQueryResult(w, "X", "ns", rid, map[string]string{}) // encoding/xml cannot marshal maps
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<Code>InternalFailure</Code>") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestParseForm(t *testing.T) {
	r := httptest.NewRequest("POST", "/?Version=2011-06-15&X=q", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	v, err := ParseForm(r, []byte("Action=GetCallerIdentity&X=b+c"))
	if err != nil || v.Get("Action") != "GetCallerIdentity" || v.Get("Version") != "2011-06-15" || strings.Join(v["X"], ",") != "b c,q" {
		t.Fatalf("%v %v", v, err)
	}
	r.Header.Set("Content-Type", "application/json")
	if v, _ := ParseForm(r, []byte("Action=Other")); v.Has("Action") {
		t.Fatal("read a non-form body as a form")
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = ParseForm(r, []byte("Action=%zz"))
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "MalformedQueryString" || e.Message != "The query string contains a syntax error." {
		t.Fatalf("malformed body: %v", err)
	}
}

func FuzzParseForm(f *testing.F) {
	f.Add("Version=2016-11-15", "application/x-www-form-urlencoded; charset=utf-8", "Action=DescribeVpcs&VpcId.1=vpc-1&Filter.1.Value.1=a%20b")
	f.Add("a=%", "application/x-www-form-urlencoded", "b=;c")
	f.Add("", "multipart/form-data; boundary=x", "Action=X")
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		r := &http.Request{Method: "POST", URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{"Content-Type": {contentType}}}
		v, err := ParseForm(r, []byte(body))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "MalformedQueryString" {
				t.Fatalf("error %v is not MalformedQueryString", err)
			}
			return
		}
		q, _ := url.ParseQuery(query)
		for k, vals := range q {
			if got := v[k]; len(got) < len(vals) || strings.Join(got[len(got)-len(vals):], "\x00") != strings.Join(vals, "\x00") {
				t.Fatalf("query values of %q lost: %q vs %q", k, got, vals)
			}
		}
	})
}

func FuzzJSONString(f *testing.F) {
	f.Add("plain")
	f.Add("quote\" backslash\\ newline\n tab\t nul\x00 <&> é \u2028")
	f.Add("\xff\xfe invalid")
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q round-tripped to %q", s, got)
		}
	})
}
