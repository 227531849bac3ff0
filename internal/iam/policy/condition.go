package policy

import (
	"encoding/base64"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type opKind uint8

const (
	opStringEquals opKind = iota
	opStringEqualsIgnoreCase
	opStringLike
	opNumeric
	opDate
	opBool
	opBinary
	opIP
	opArn
	opNull
)

type cmpKind uint8

const (
	cmpEq cmpKind = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type setKind uint8

const (
	setNone setKind = iota
	setAnyValue
	setAllValues
)

type opInfo struct {
	op  opKind
	cmp cmpKind
	// neg marks the negated operators (StringNotEquals, NotIpAddress, ...):
	// each is the negation of its positive twin.
	neg bool
}

// The condition operators of the IAM condition operator reference.
var operators = map[string]opInfo{
	"StringEquals":              {op: opStringEquals},
	"StringNotEquals":           {op: opStringEquals, neg: true},
	"StringEqualsIgnoreCase":    {op: opStringEqualsIgnoreCase},
	"StringNotEqualsIgnoreCase": {op: opStringEqualsIgnoreCase, neg: true},
	"StringLike":                {op: opStringLike},
	"StringNotLike":             {op: opStringLike, neg: true},
	"NumericEquals":             {op: opNumeric, cmp: cmpEq},
	"NumericNotEquals":          {op: opNumeric, cmp: cmpEq, neg: true},
	"NumericLessThan":           {op: opNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {op: opNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {op: opNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {op: opNumeric, cmp: cmpGe},
	"DateEquals":                {op: opDate, cmp: cmpEq},
	"DateNotEquals":             {op: opDate, cmp: cmpEq, neg: true},
	"DateLessThan":              {op: opDate, cmp: cmpLt},
	"DateLessThanEquals":        {op: opDate, cmp: cmpLe},
	"DateGreaterThan":           {op: opDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {op: opDate, cmp: cmpGe},
	"Bool":                      {op: opBool},
	"BinaryEquals":              {op: opBinary},
	"IpAddress":                 {op: opIP},
	"NotIpAddress":              {op: opIP, neg: true},
	"ArnEquals":                 {op: opArn},
	"ArnLike":                   {op: opArn},
	"ArnNotEquals":              {op: opArn, neg: true},
	"ArnNotLike":                {op: opArn, neg: true},
	"Null":                      {op: opNull},
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(name string) (info opInfo, set setKind, ifExists, ok bool) {
	if rest, found := strings.CutPrefix(name, "ForAnyValue:"); found {
		name, set = rest, setAnyValue
	} else if rest, found := strings.CutPrefix(name, "ForAllValues:"); found {
		name, set = rest, setAllValues
	}
	if rest, found := strings.CutSuffix(name, "IfExists"); found && rest != "Null" {
		name, ifExists = rest, true
	}
	info, ok = operators[name]
	return info, set, ifExists, ok
}

// cond is a Condition compiled for its operator.
type cond struct {
	opInfo
	set      setKind
	ifExists bool
	key      string
	lower    string

	pats  []pattern      // String*, Bool
	arns  []arnPattern   // Arn*
	nums  []float64      // Numeric*; NaN for values that are not numbers
	times []time.Time    // Date*; values that are not dates are dropped
	cidrs []netip.Prefix // IpAddress; values that are not addresses are dropped
	bins  []string       // BinaryEquals, decoded; undecodable values dropped
	nulls []bool         // Null
}

func compileCondition(c *Condition, vars bool) cond {
	info, set, ifExists, _ := parseOperator(c.Operator)
	cc := cond{opInfo: info, set: set, ifExists: ifExists, key: c.Key, lower: strings.ToLower(c.Key)}
	for _, v := range c.Values {
		switch info.op {
		case opStringEquals, opStringEqualsIgnoreCase, opBool:
			cc.pats = append(cc.pats, compilePattern(v, false, vars))
		case opStringLike:
			cc.pats = append(cc.pats, compilePattern(v, true, vars))
		case opArn:
			varsAt := 6
			if vars {
				varsAt = 0
			}
			cc.arns = append(cc.arns, compileARNPattern(v, varsAt))
		case opNumeric:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				f = math.NaN()
			}
			cc.nums = append(cc.nums, f)
		case opDate:
			if t, ok := parseDate(v); ok {
				cc.times = append(cc.times, t)
			}
		case opIP:
			if p, ok := parseCIDR(v); ok {
				cc.cidrs = append(cc.cidrs, p)
			}
		case opBinary:
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				cc.bins = append(cc.bins, string(b))
			}
		case opNull:
			switch strings.ToLower(v) {
			case "true":
				cc.nulls = append(cc.nulls, true)
			case "false":
				cc.nulls = append(cc.nulls, false)
			}
		}
	}
	return cc
}

// eval decides the condition for the request. The second result is false when
// a policy variable in it could not be resolved: AWS then treats the statement
// as not applying at all.
func (c *cond) eval(st *evalState) (bool, bool) {
	var buf [1]string
	vals := st.values(c.key, c.lower, &buf)
	if c.op == opNull {
		present := len(vals) > 0
		for _, wantNull := range c.nulls {
			if wantNull != present {
				return true, true
			}
		}
		return false, true
	}
	if len(vals) == 0 {
		// The IAM rules for a key the request does not have: IfExists makes
		// the condition true; ForAllValues over the empty set is true and
		// ForAnyValue false; otherwise only the negated operators are true.
		switch {
		case c.ifExists:
			return true, true
		case c.set == setAllValues:
			return true, true
		case c.set == setAnyValue:
			return false, true
		}
		return c.neg, true
	}
	switch c.set {
	case setAnyValue:
		for _, v := range vals {
			m, ok := c.matchOne(v, st)
			if !ok {
				return false, false
			}
			if m != c.neg {
				return true, true
			}
		}
		return false, true
	case setAllValues:
		for _, v := range vals {
			m, ok := c.matchOne(v, st)
			if !ok {
				return false, false
			}
			if m == c.neg {
				return false, true
			}
		}
		return true, true
	}
	// A plain operator on a multivalued key is true for the positive operators
	// when any value matches; a negated operator is its negation.
	for _, v := range vals {
		m, ok := c.matchOne(v, st)
		if !ok {
			return false, false
		}
		if m {
			return !c.neg, true
		}
	}
	return c.neg, true
}

// matchOne reports whether one request value satisfies the positive operator
// against any of the policy's values.
func (c *cond) matchOne(v string, st *evalState) (bool, bool) {
	switch c.op {
	case opStringEquals, opStringLike:
		return matchAny(c.pats, v, caseExact, st)
	case opStringEqualsIgnoreCase, opBool:
		return matchAny(c.pats, v, caseFold, st)
	case opArn:
		for i := range c.arns {
			m, ok := c.arns[i].match(v, st)
			if !ok {
				return false, false
			}
			if m {
				return true, true
			}
		}
		return false, true
	case opNumeric:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false, true
		}
		for _, n := range c.nums {
			if compare(c.cmp, cmpFloat(f, n), n == n) {
				return true, true
			}
		}
		return false, true
	case opDate:
		t, ok := parseDate(v)
		if !ok {
			return false, true
		}
		for _, pt := range c.times {
			if compare(c.cmp, t.Compare(pt), true) {
				return true, true
			}
		}
		return false, true
	case opIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false, true
		}
		a = a.Unmap()
		for _, p := range c.cidrs {
			if p.Contains(a) {
				return true, true
			}
		}
		return false, true
	case opBinary:
		for _, b := range c.bins {
			if b == v {
				return true, true
			}
		}
		return false, true
	}
	return false, true
}

func matchAny(pats []pattern, v string, mode caseMode, st *evalState) (bool, bool) {
	for i := range pats {
		m, ok := pats[i].match(v, mode, st)
		if !ok {
			return false, false
		}
		if m {
			return true, true
		}
	}
	return false, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies the operator to the result of comparing the request's value
// with the policy's (-1, 0, 1); valid is false for a policy value that is not
// a number, which matches nothing.
func compare(k cmpKind, c int, valid bool) bool {
	if !valid {
		return false
	}
	switch k {
	case cmpEq:
		return c == 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	}
	return c >= 0
}

// parseCIDR reads an IpAddress value: a CIDR block, or a single address that
// IAM reads as /32 (or /128).
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseDate reads a date as IAM's policy parser does: when the text holds a
// "T" or a "-" it is ISO 8601 in one of the W3C profiles (YYYY, YYYY-MM,
// YYYY-MM-DD, then optionally Thh, Thh:mm, Thh:mm:ss, with a fraction of up
// to nine digits and a zone Z or +hh[:mm] / -hh[:mm]; no zone means UTC);
// otherwise it is a count of seconds since the Unix epoch.
func parseDate(s string) (time.Time, bool) {
	if !strings.ContainsAny(s, "tT-") {
		n, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(int64(n), 0).UTC(), true
	}
	datePart, timePart, _ := strings.Cut(strings.ToLower(s), "t")
	neg := strings.HasPrefix(datePart, "-")
	if neg {
		datePart = datePart[1:]
	}
	dp := strings.Split(datePart, "-")
	if len(dp) > 3 {
		return time.Time{}, false
	}
	year, ok := atoi(dp[0], 1, 9)
	if !ok {
		return time.Time{}, false
	}
	if neg {
		year = -year
	}
	if year < -292275054 || year > 292278993 {
		return time.Time{}, false
	}
	month, day := 1, 1
	if len(dp) > 1 {
		if month, ok = atoi(dp[1], 1, 2); !ok || month < 1 || month > 12 {
			return time.Time{}, false
		}
	}
	if len(dp) > 2 {
		if day, ok = atoi(dp[2], 1, 2); !ok || day < 1 || day > 31 {
			return time.Time{}, false
		}
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	loc := time.UTC
	if timePart != "" {
		clock, zone, zok := splitZone(timePart)
		if !zok {
			return time.Time{}, false
		}
		tp := strings.Split(clock, ":")
		if len(tp) > 3 {
			return time.Time{}, false
		}
		if hour, ok = atoi(tp[0], 1, 2); !ok || hour > 23 {
			return time.Time{}, false
		}
		if len(tp) > 1 {
			if minute, ok = atoi(tp[1], 1, 2); !ok || minute > 59 {
				return time.Time{}, false
			}
		}
		if len(tp) > 2 {
			secs, frac, hasFrac := strings.Cut(tp[2], ".")
			if sec, ok = atoi(secs, 1, 2); !ok || sec > 59 {
				return time.Time{}, false
			}
			if hasFrac {
				f, fok := atoi(frac, 1, 9)
				if !fok {
					return time.Time{}, false
				}
				for i := len(frac); i < 9; i++ {
					f *= 10
				}
				nsec = f
			}
		}
		loc = zone
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// splitZone separates a trailing Z or +hh[:mm] / -hh[:mm] from a time of day.
func splitZone(s string) (string, *time.Location, bool) {
	if strings.HasSuffix(s, "z") {
		return s[:len(s)-1], time.UTC, true
	}
	i := strings.LastIndexAny(s, "+-")
	if i < 0 {
		return s, time.UTC, true
	}
	clock, z := s[:i], s[i+1:]
	hh, mm, hasMM := strings.Cut(z, ":")
	h, ok := atoi(hh, 2, 2)
	if !ok || h > 23 {
		return "", nil, false
	}
	m := 0
	if hasMM {
		if m, ok = atoi(mm, 2, 2); !ok || m > 59 {
			return "", nil, false
		}
	}
	off := h*3600 + m*60
	if s[i] == '-' {
		off = -off
	}
	return clock, time.FixedZone("", off), true
}

// atoi parses a decimal of min to max digits.
func atoi(s string, minDigits, maxDigits int) (int, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
