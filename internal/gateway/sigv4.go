package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxPresignAge   = 604800 // seconds; SigV4 signing keys live a week

	// AWS's text for a signature that does not verify.
	signatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// authKind classifies why a request failed authentication; each protocol
// names and words each kind differently (autherrors.go).
type authKind uint8

const (
	authMissing      authKind = iota + 1 // no Authorization header, no presigned query
	authIncomplete                       // malformed Authorization header or presigned query
	authInvalidToken                     // unknown access key, or a session token that does not fit
	authSignature                        // signature or credential scope does not verify
	authSkew                             // request time outside the window, presigned URL expired
	authExpiredToken                     // temporary credentials past their expiry
)

type authError struct {
	kind authKind
	msg  string
	// canonical and stringToSign are set when the signature itself did not
	// match; Lambda quotes them in its message.
	canonical, stringToSign string
}

func incomplete(format string, args ...any) *authError {
	return &authError{kind: authIncomplete, msg: fmt.Sprintf(format, args...)}
}

func badScope(format string, args ...any) *authError {
	return &authError{kind: authSignature, msg: fmt.Sprintf(format, args...)}
}

// authInfo is what a request claims about its signature, before anything is
// verified. Its strings point into the request's header or query.
type authInfo struct {
	presigned     bool
	credential    string // AK/date/region/service/aws4_request
	accessKey     string
	scope         string // date/region/service/aws4_request
	scopeDate     string
	region        string
	service       string
	signedHeaders string
	signature     string
	amzDate       string // the request time in ISO 8601 basic form
	time          time.Time
	expires       time.Duration // presigned with X-Amz-Expires only
	hasExpires    bool
	securityToken string
	contentSHA256 string // X-Amz-Content-Sha256 as sent (header, or query when presigned)
}

// parseAuth reads the SigV4 claims from r: the Authorization header, or the
// X-Amz-* query parameters of a presigned URL.
func parseAuth(r *http.Request, a *authInfo) *authError {
	authz := hget(r.Header, "Authorization")
	presigned := strings.Contains(r.URL.RawQuery, "X-Amz-")
	var q url.Values
	if presigned {
		q, _ = url.ParseQuery(r.URL.RawQuery)
		presigned = q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	}
	switch {
	case presigned && authz != "":
		return incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case presigned:
		if err := parsePresigned(q, a); err != nil {
			return err
		}
		a.contentSHA256 = hget(r.Header, "X-Amz-Content-Sha256")
		if a.contentSHA256 == "" {
			a.contentSHA256 = q.Get("X-Amz-Content-Sha256")
		}
	case authz != "":
		if err := parseAuthorization(authz, r.Header, a); err != nil {
			return err
		}
		a.securityToken = hget(r.Header, "X-Amz-Security-Token")
		a.contentSHA256 = hget(r.Header, "X-Amz-Content-Sha256")
	default:
		return &authError{kind: authMissing}
	}
	return a.checkScope()
}

// hget is h.Get for a key already in canonical form, without Get's
// re-canonicalization on the hot path.
func hget(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AK/20060102/region/service/aws4_request, SignedHeaders=a;b, Signature=hex"
// and the request time from X-Amz-Date (or Date).
func parseAuthorization(authz string, h http.Header, a *authInfo) *authError {
	var haveCred, haveHeaders, haveSig bool
	alg, rest, _ := strings.Cut(authz, " ")
	if alg == algorithm {
		for rest != "" {
			var part string
			part, rest, _ = strings.Cut(rest, ",")
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, authz)
			}
			switch k {
			case "Credential":
				a.credential, haveCred = v, true
			case "SignedHeaders":
				a.signedHeaders, haveHeaders = v, true
			case "Signature":
				a.signature, haveSig = v, true
			}
		}
	}
	haveDate := parseHeaderDate(h, a)
	if !haveCred || !haveHeaders || !haveSig || !haveDate {
		var b strings.Builder
		if !haveCred {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if !haveSig {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if !haveHeaders {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		if !haveDate {
			b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		b.WriteString("Authorization=")
		b.WriteString(authz)
		return &authError{kind: authIncomplete, msg: b.String()}
	}
	return splitCredential(a)
}

func parseHeaderDate(h http.Header, a *authInfo) bool {
	if v := hget(h, "X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateLayout, v)
		if err != nil {
			return false
		}
		a.amzDate, a.time = v, t
		return true
	}
	if v := hget(h, "Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return false
		}
		a.time = t.UTC()
		a.amzDate = a.time.Format(amzDateLayout)
		return true
	}
	return false
}

// parsePresigned reads a presigned URL's X-Amz-* parameters.
func parsePresigned(q url.Values, a *authInfo) *authError {
	for _, k := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		if q.Get(k) == "" {
			return incomplete("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != algorithm {
		return incomplete("X-Amz-Algorithm only supports \"%s\"", algorithm)
	}
	a.presigned = true
	a.credential = q.Get("X-Amz-Credential")
	a.signature = q.Get("X-Amz-Signature")
	a.signedHeaders = q.Get("X-Amz-SignedHeaders")
	a.securityToken = q.Get("X-Amz-Security-Token")
	a.amzDate = q.Get("X-Amz-Date")
	t, err := time.Parse(amzDateLayout, a.amzDate)
	if err != nil {
		return incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	a.time = t
	// STS's own presigner (GetCallerIdentity for EKS-style tokens) sets no
	// X-Amz-Expires; such URLs live as long as the skew window allows.
	if !q.Has("X-Amz-Expires") {
		return splitCredential(a)
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	switch {
	case err != nil:
		return incomplete("X-Amz-Expires should be a number")
	case secs < 0:
		return incomplete("X-Amz-Expires must be non-negative")
	case secs > maxPresignAge:
		return incomplete("X-Amz-Expires must be less than a week (in seconds) that is %d", maxPresignAge)
	}
	a.expires, a.hasExpires = time.Duration(secs)*time.Second, true
	return splitCredential(a)
}

// splitCredential splits AK/date/region/service/aws4_request.
func splitCredential(a *authInfo) *authError {
	c := a.credential
	if strings.Count(c, "/") != 4 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", c)
	}
	a.accessKey, c, _ = strings.Cut(c, "/")
	a.scope = c
	a.scopeDate, c, _ = strings.Cut(c, "/")
	a.region, c, _ = strings.Cut(c, "/")
	a.service, c, _ = strings.Cut(c, "/")
	if c != terminator {
		return badScope("Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, c)
	}
	return nil
}

// checkScope applies AWS's consistency rules between the credential scope,
// the request time and the signed headers.
func (a *authInfo) checkScope() *authError {
	if a.accessKey == "" {
		return &authError{kind: authInvalidToken}
	}
	if a.scopeDate != a.amzDate[:8] {
		return badScope("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.scopeDate, a.amzDate[:8], a.amzDate)
	}
	if !validRegion(a.region) {
		return badScope("Credential should be scoped to a valid region.")
	}
	if !hasSignedHeader(a.signedHeaders, "host") {
		return badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

func validRegion(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func hasSignedHeader(list, name string) bool {
	for list != "" {
		var h string
		h, list, _ = strings.Cut(list, ";")
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// checkTime enforces the clock-skew window, and a presigned URL's expiry,
// in AWS's words.
func (a *authInfo) checkTime(now time.Time, window time.Duration) *authError {
	now = now.UTC()
	// A presigned URL must be used before X-Amz-Expires runs out, and, as
	// STS enforces for its presigned GetCallerIdentity, within the window.
	if a.hasExpires && now.After(a.time.Add(a.expires)) {
		return &authError{kind: authSkew, msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			a.amzDate, now.Add(-a.expires).Format(amzDateLayout), now.Format(amzDateLayout), fmtWindow(a.expires))}
	}
	if a.time.Before(now.Add(-window)) {
		return &authError{kind: authSkew, msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			a.amzDate, now.Add(-window).Format(amzDateLayout), now.Format(amzDateLayout), fmtWindow(window))}
	}
	if a.time.After(now.Add(window)) {
		return &authError{kind: authSkew, msg: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			a.amzDate, now.Add(window).Format(amzDateLayout), now.Format(amzDateLayout), fmtWindow(window))}
	}
	return nil
}

// fmtWindow renders a duration as AWS's skew messages do ("5 min.").
func fmtWindow(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

var unsignedPayloadBytes = []byte(unsignedPayload)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// putBuf returns b to the pool unless an outsized request grew it.
func putBuf(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

// verify recomputes the signature over r and body with the derived key and
// compares it in constant time.
func (a *authInfo) verify(r *http.Request, body []byte, key *signingKey) *authError {
	var hashHex [2 * sha256.Size]byte
	payload := unsignedPayloadBytes
	if !a.presigned || a.contentSHA256 != unsignedPayload {
		sum := sha256.Sum256(body)
		hex.Encode(hashHex[:], sum[:])
		payload = hashHex[:]
	}

	bp := bufPool.Get().(*[]byte)
	buf := a.appendCanonicalRequest((*bp)[:0], r, payload)
	n := len(buf)
	crHash := sha256.Sum256(buf)
	buf = append(buf, algorithm+"\n"...)
	buf = append(buf, a.amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, a.scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])
	canonical, sts := buf[:n], buf[n:]
	// The MAC goes after the string to sign: a stack array would escape
	// through hash.Hash.Sum.
	full := key.sign(buf, sts)
	mac := full[len(buf):]
	defer putBuf(bp, full)
	var got [sha256.Size]byte
	if !decodeHex(got[:], a.signature) || subtle.ConstantTimeCompare(mac, got[:]) != 1 {
		return a.mismatch(canonical, sts)
	}
	return nil
}

// decodeHex decodes a signature's hex into dst, which it must fill exactly.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		if !ishex(s[2*i]) || !ishex(s[2*i+1]) {
			return false
		}
		dst[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return true
}

func (a *authInfo) mismatch(canonical, sts []byte) *authError {
	return &authError{kind: authSignature, msg: signatureMismatch, canonical: string(canonical), stringToSign: string(sts)}
}

// appendCanonicalRequest appends SigV4's canonical request for r.
func (a *authInfo) appendCanonicalRequest(b []byte, r *http.Request, payloadHash []byte) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, rawPath(r))
	b = append(b, '\n')
	b = appendCanonicalQuery(b, r.URL.RawQuery, a.presigned)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, a.signedHeaders)
	b = append(b, '\n')
	b = append(b, a.signedHeaders...)
	b = append(b, '\n')
	return append(b, payloadHash...)
}

// rawPath is the path exactly as the client sent it (still percent-encoded),
// which is what the SDKs sign.
func rawPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	}
	return r.URL.EscapedPath()
}

// appendCanonicalURI appends the canonical URI of non-S3 services: dot
// segments and empty segments removed (as botocore normalizes), then every
// byte that is not unreserved or '/' percent-encoded. Because the input is
// already encoded this encodes twice: ':' sent as %3A is signed as %253A.
func appendCanonicalURI(b []byte, p string) []byte {
	if p == "" {
		return append(b, '/')
	}
	if !needsNormalizing(p) {
		return appendURIEncoded(b, p)
	}
	segs := make([]string, 0, 8)
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	if p[0] == '/' {
		b = append(b, '/')
	}
	for i, s := range segs {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendURIEncoded(b, s)
	}
	if p[len(p)-1] == '/' && len(segs) > 0 {
		b = append(b, '/')
	}
	return b
}

func needsNormalizing(p string) bool {
	if p[0] != '/' || strings.Contains(p, "//") {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '.' && p[i-1] == '/' && (i+1 == len(p) || p[i+1] == '/' || p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/')) {
			return true
		}
	}
	return false
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendURIEncoded appends s with every byte but the unreserved ones and
// '/' percent-encoded in upper case.
func appendURIEncoded(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendQueryComponent decodes one query key or value as sent ('+' is a
// space; a '%' that starts no valid escape stands for itself) and appends it
// in SigV4's encoding.
func appendQueryComponent(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if isUnreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

type queryPair struct{ start, keyEnd, end int }

// appendCanonicalQuery appends the canonical query string: every pair
// re-encoded, sorted by key then value, the presigned signature left out.
func appendCanonicalQuery(b []byte, raw string, presigned bool) []byte {
	if raw == "" {
		return b
	}
	// Encode each pair after b's end, sort the spans, then copy them back in
	// order; scratch space comes from the pool rather than per-pair strings.
	sp := bufPool.Get().(*[]byte)
	scratch := (*sp)[:0]
	var pairsArr [16]queryPair
	pairs := pairsArr[:0]
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		start := len(scratch)
		scratch = appendQueryComponent(scratch, k)
		keyEnd := len(scratch)
		if presigned && string(scratch[start:keyEnd]) == "X-Amz-Signature" {
			scratch = scratch[:start]
			continue
		}
		scratch = appendQueryComponent(scratch, v)
		pairs = append(pairs, queryPair{start, keyEnd, len(scratch)})
	}
	slices.SortFunc(pairs, func(x, y queryPair) int {
		if c := bytes.Compare(scratch[x.start:x.keyEnd], scratch[y.start:y.keyEnd]); c != 0 {
			return c
		}
		return bytes.Compare(scratch[x.keyEnd:x.end], scratch[y.keyEnd:y.end])
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, scratch[p.start:p.keyEnd]...)
		b = append(b, '=')
		b = append(b, scratch[p.keyEnd:p.end]...)
	}
	putBuf(sp, scratch)
	return b
}

// commonHeaderKeys maps the lower-case names the SDKs sign to net/http's
// canonical keys, so looking them up costs no allocation.
var commonHeaderKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "Content-Encoding", "Content-Length",
		"Content-Md5", "Content-Type", "Date", "User-Agent", "X-Amz-Api-Version", "X-Amz-Client-Context",
		"X-Amz-Content-Sha256", "X-Amz-Date", "X-Amz-Invocation-Type", "X-Amz-Log-Type",
		"X-Amz-Security-Token", "X-Amz-Target", "X-Amz-User-Agent", "X-Amzn-Trace-Id",
	} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// headerValues returns the values of the header with lower-case name.
func headerValues(r *http.Request, name []byte) []string {
	key, ok := commonHeaderKeys[string(name)]
	if !ok {
		key = http.CanonicalHeaderKey(string(name))
	}
	if v, ok := r.Header[key]; ok {
		return v
	}
	for k, v := range r.Header { // a Header not built by net/http's parser
		if strings.EqualFold(k, string(name)) {
			return v
		}
	}
	return nil
}

// appendCanonicalHeaders appends "name:value\n" for each signed header, in
// the order the client listed them; values are trimmed, inner runs of spaces
// collapsed and repeated headers joined with ','.
func appendCanonicalHeaders(b []byte, r *http.Request, signed string) []byte {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		start := len(b)
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		lower := b[start:]
		switch string(lower) {
		case "host":
			b = append(b, ':')
			b = appendHeaderValue(b, r.Host)
		case "content-length":
			b = append(b, ':')
			if v := r.Header["Content-Length"]; v != nil {
				b = appendHeaderValues(b, v)
			} else if r.ContentLength >= 0 {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		case "transfer-encoding":
			// net/http moves this header out of r.Header.
			b = append(b, ':')
			b = appendHeaderValues(b, r.TransferEncoding)
		default:
			vals := headerValues(r, lower)
			b = append(b, ':')
			b = appendHeaderValues(b, vals)
		}
		b = append(b, '\n')
	}
	return b
}

func appendHeaderValues(b []byte, vals []string) []byte {
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHeaderValue(b, v)
	}
	return b
}

func appendHeaderValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(b, v...)
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b = append(b, c)
	}
	return b
}
