package awswire

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"
)

// internalFailure is AWS's text for an unexpected server fault; the cause
// stays in the server's log rather than reaching the client.
const internalFailure = "The request processing has failed because of an unknown error, exception or failure."

// header keys in canonical form, so that setting them costs no allocation
// and http.Header.Get finds them.
const (
	hdrContentType   = "Content-Type"
	hdrContentLength = "Content-Length"
	hdrRequestID     = "X-Amzn-Requestid"
	hdrErrorType     = "X-Amzn-Errortype"
)

// asError turns any error into the *Error to send: services' own errors as
// they are, anything else as an internal failure in p's vocabulary.
func asError(p Protocol, err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	if p == RestJSON {
		return &Error{Status: http.StatusInternalServerError, Code: "ServiceException", Message: internalFailure, MessageKey: "Message"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: internalFailure}
}

// WriteError writes err as p's error envelope. Errors that are not *Error
// become 500s (ServiceException for rest-json, InternalFailure otherwise).
// Query errors carry no xmlns here; services that want one call
// WriteQueryError.
func WriteError(w http.ResponseWriter, p Protocol, requestID string, err error) {
	switch p {
	case Query:
		WriteQueryError(w, "", requestID, err)
	case EC2:
		writeEC2Error(w, requestID, asError(p, err))
	case JSON:
		writeJSONError(w, requestID, asError(p, err))
	default:
		writeRestJSONError(w, requestID, asError(p, err))
	}
}

func setCommon(h http.Header, requestID, contentType string, e *Error, n int) {
	h[hdrContentType] = []string{contentType}
	h[hdrContentLength] = []string{strconv.Itoa(n)}
	if requestID != "" {
		h[hdrRequestID] = []string{requestID}
	}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
}

// writeRestJSONError writes Lambda's shape: the exception name in
// x-amzn-ErrorType and {"Type":"User","message":...} in the body.
func writeRestJSONError(w http.ResponseWriter, requestID string, e *Error) {
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, '{')
	if !e.OmitType {
		if e.Sender {
			b = append(b, `"Type":"User",`...)
		} else {
			b = append(b, `"Type":"Service",`...)
		}
	}
	b = appendJSONMembers(b, e)
	h := w.Header()
	setCommon(h, requestID, "application/json", e, len(b))
	h[hdrErrorType] = []string{e.Code}
	w.WriteHeader(e.Status)
	w.Write(b)
}

// writeJSONError writes the json protocol's shape ({"__type":...}).
func writeJSONError(w http.ResponseWriter, requestID string, e *Error) {
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, `{"__type":`...)
	b = appendJSONString(b, e.Code)
	b = append(b, ',')
	b = appendJSONMembers(b, e)
	setCommon(w.Header(), requestID, "application/x-amz-json-1.1", e, len(b))
	w.WriteHeader(e.Status)
	w.Write(b)
}

// appendJSONMembers appends the message and e.Fields (sorted, for stable
// output) and closes the object.
func appendJSONMembers(b []byte, e *Error) []byte {
	key := e.MessageKey
	if key == "" {
		key = "message"
	}
	b = appendJSONString(b, key)
	b = append(b, ':')
	b = appendJSONString(b, e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, e.Fields[k])
		}
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Unlike encoding/json it does
// not escape <, > and &, which AWS's own bodies leave as they are.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// WriteQueryError writes the query protocol's <ErrorResponse>, with xmlns
// when the service's errors carry one (STS and IAM do).
func WriteQueryError(w http.ResponseWriter, xmlns, requestID string, err error) {
	e := asError(Query, err)
	var buf bytes.Buffer
	buf.Grow(256 + len(e.Message))
	buf.WriteString(`<ErrorResponse`)
	if xmlns != "" {
		buf.WriteString(` xmlns="`)
		xml.EscapeText(&buf, []byte(xmlns))
		buf.WriteByte('"')
	}
	buf.WriteString(">\n  <Error>\n    <Type>")
	if e.Sender {
		buf.WriteString("Sender")
	} else {
		buf.WriteString("Receiver")
	}
	buf.WriteString("</Type>\n    <Code>")
	xml.EscapeText(&buf, []byte(e.Code))
	buf.WriteString("</Code>\n    <Message>")
	xml.EscapeText(&buf, []byte(e.Message))
	buf.WriteString("</Message>\n  </Error>\n  <RequestId>")
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString("</RequestId>\n</ErrorResponse>\n")
	setCommon(w.Header(), requestID, "text/xml", e, buf.Len())
	w.WriteHeader(e.Status)
	w.Write(buf.Bytes())
}

// writeEC2Error writes EC2's <Response><Errors>; note RequestID, not RequestId.
func writeEC2Error(w http.ResponseWriter, requestID string, e *Error) {
	var buf bytes.Buffer
	buf.Grow(192 + len(e.Message))
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
	xml.EscapeText(&buf, []byte(e.Code))
	buf.WriteString("</Code><Message>")
	xml.EscapeText(&buf, []byte(e.Message))
	buf.WriteString("</Message></Error></Errors><RequestID>")
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString("</RequestID></Response>")
	setCommon(w.Header(), requestID, "text/xml;charset=UTF-8", e, buf.Len())
	w.WriteHeader(e.Status)
	w.Write(buf.Bytes())
}

// WriteJSON writes v as a JSON body with status. Content-Type is
// application/json unless the caller already set one (json-protocol services
// set application/x-amz-json-1.1).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, RestJSON, w.Header().Get(hdrRequestID), err)
		return
	}
	h := w.Header()
	if _, ok := h[hdrContentType]; !ok {
		h[hdrContentType] = []string{"application/json"}
	}
	h[hdrContentLength] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

// malformedQuery is what AWS's common errors name a form it cannot parse
// (documented with HTTP 404).
func malformedQuery() *Error {
	return &Error{Status: http.StatusNotFound, Code: "MalformedQueryString", Message: "The query string contains a syntax error.", Sender: true}
}

// ParseForm returns the query protocol's parameters: the URL query string
// merged with a form-encoded body (body values first, as net/http orders
// them). The SDKs POST forms; presigned URLs carry everything in the query.
func ParseForm(r *http.Request, body []byte) (url.Values, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, malformedQuery()
	}
	if len(body) == 0 || !isForm(r.Header.Get(hdrContentType)) {
		return vals, nil
	}
	bodyVals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, malformedQuery()
	}
	for k, v := range vals {
		bodyVals[k] = append(bodyVals[k], v...)
	}
	return bodyVals, nil
}

func isForm(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// WriteQueryResult writes a query-protocol success response:
// <ActionResponse xmlns><ActionResult>result</ActionResult><ResponseMetadata>.
// result's fields become the children of ActionResult (its own XMLName is
// ignored); a nil result leaves the Result element out, as actions without
// output do.
func WriteQueryResult(w http.ResponseWriter, action, xmlns, requestID string, result any) {
	var buf bytes.Buffer
	buf.WriteByte('<')
	buf.WriteString(action)
	buf.WriteString(`Response xmlns="`)
	xml.EscapeText(&buf, []byte(xmlns))
	buf.WriteString("\">\n")
	if result != nil {
		enc := xml.NewEncoder(&buf)
		enc.Indent("  ", "  ")
		err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
		if err == nil {
			err = enc.Close()
		}
		if err != nil {
			WriteQueryError(w, xmlns, requestID, err)
			return
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("  <ResponseMetadata>\n    <RequestId>")
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString("</RequestId>\n  </ResponseMetadata>\n</")
	buf.WriteString(action)
	buf.WriteString("Response>\n")
	h := w.Header()
	h[hdrContentType] = []string{"text/xml"}
	h[hdrContentLength] = []string{strconv.Itoa(buf.Len())}
	if requestID != "" {
		h[hdrRequestID] = []string{requestID}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
