package policy

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a policy string compiled once at parse time: literal runs,
// wildcards and policy variables. Variables stay tokens until evaluation so that
// a value substituted for them (or the literal "*" of ${*}) is never read as a
// wildcard.
type pattern struct {
	toks []token
	// shape lets the common patterns skip the general matcher.
	shape shape
	lit   string // the literal of shapeExact and shapePrefix
}

type shape uint8

const (
	shapeGeneral shape = iota
	shapeAll           // "*"
	shapeExact         // no wildcards, no variables
	shapePrefix        // a literal followed by one "*", as in "lambda:Get*"
)

type tokKind uint8

const (
	tokLit  tokKind = iota
	tokStar         // * : any run of characters, including none
	tokOne          // ? : exactly one character
	tokVar          // ${key} or ${key, 'default'}
)

type token struct {
	kind tokKind
	// lit is the text of a literal; for a variable, its key in lower case,
	// the form Context.Set stores.
	lit    string
	key    string // a variable's key as written
	def    string
	hasDef bool
}

// compilePattern compiles s. With wildcards, * and ? are wildcards; with vars,
// ${...} is a policy variable (AWS reads them only in 2012-10-17 documents).
func compilePattern(s string, wildcards, vars bool) pattern {
	if wildcards && s == "*" {
		return pattern{shape: shapeAll, toks: []token{{kind: tokStar}}}
	}
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, token{kind: tokLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case wildcards && c == '*':
			flush()
			// Consecutive stars match what one star matches.
			if n := len(p.toks); n == 0 || p.toks[n-1].kind != tokStar {
				p.toks = append(p.toks, token{kind: tokStar})
			}
			i++
		case wildcards && c == '?':
			flush()
			p.toks = append(p.toks, token{kind: tokOne})
			i++
		case vars && c == '$' && strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				lit.WriteString(s[i:])
				i = len(s)
				continue
			}
			body := s[i+2 : i+2+end]
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				// AWS's escapes for characters that are otherwise special.
				lit.WriteString(body)
				continue
			}
			t, ok := parseVariable(body)
			if !ok {
				lit.WriteString("${" + body + "}")
				continue
			}
			flush()
			p.toks = append(p.toks, t)
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	switch {
	case len(p.toks) == 0:
		p.shape = shapeExact
	case len(p.toks) == 1 && p.toks[0].kind == tokLit:
		p.shape, p.lit = shapeExact, p.toks[0].lit
	case len(p.toks) == 2 && p.toks[0].kind == tokLit && p.toks[1].kind == tokStar:
		p.shape, p.lit = shapePrefix, p.toks[0].lit
	}
	return p
}

// parseVariable reads "key" or "key, 'default'".
func parseVariable(body string) (token, bool) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " '") {
		return token{}, false
	}
	t := token{kind: tokVar, key: key, lit: strings.ToLower(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return token{}, false
		}
		t.def, t.hasDef = def[1:len(def)-1], true
	}
	return t, true
}

// caseMode says how a pattern's letters compare with the input's.
type caseMode uint8

const (
	caseExact caseMode = iota
	caseFold           // Unicode case folding (StringEqualsIgnoreCase, Bool)
	// caseLower: the pattern was compiled from lower-cased text and the input
	// is ASCII, as for actions; the cheapest case-insensitive comparison.
	caseLower
)

// match reports whether s matches p. resolved is false when a variable of p
// has no value in the request (and no default); AWS then treats the whole
// statement element as not matching.
func (p *pattern) match(s string, mode caseMode, st *evalState) (matched, resolved bool) {
	switch p.shape {
	case shapeAll:
		return true, true
	case shapeExact:
		return len(s) == len(p.lit) && hasPrefixCase(s, p.lit, mode), true
	case shapePrefix:
		return hasPrefixCase(s, p.lit, mode), true
	}
	toks := p.toks
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case tokStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tokOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			default:
				lit := t.lit
				if t.kind == tokVar {
					v, ok := st.variable(t)
					if !ok {
						return false, false
					}
					lit = v
				}
				if hasPrefixCase(s[si:], lit, mode) {
					si += len(lit)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true, true
		}
		// Mismatch: let the last star swallow one more character and retry.
		// Later stars make earlier ones irrelevant, so one backtrack point is
		// enough.
		if starTi < 0 || starSi >= len(s) {
			return false, true
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		si, ti = starSi, starTi+1
	}
}

func hasPrefixCase(s, prefix string, mode caseMode) bool {
	if len(s) < len(prefix) {
		return false
	}
	switch mode {
	case caseFold:
		return strings.EqualFold(s[:len(prefix)], prefix)
	case caseLower:
		for i := 0; i < len(prefix); i++ {
			// Only an upper-case input letter may differ from the pattern's
			// lower-case one; setting bit 0x20 lowers exactly those.
			if a, b := s[i], prefix[i]; a != b && (a|0x20 != b || b < 'a' || b > 'z') {
				return false
			}
		}
		return true
	}
	return s[:len(prefix)] == prefix
}

// An arnPattern matches ARNs the way IAM does for Resource elements and the Arn
// condition operators: the six colon-separated parts (arn, partition, service,
// region, account, resource) are matched one by one, so a wildcard never
// reaches across a colon into the next part; the sixth part is everything after
// the fifth colon, so there a wildcard may match colons and slashes
// ("function:*" matches "function:f:1").
type arnPattern struct {
	all  bool
	segs [6]pattern
}

// compileARNPattern compiles s. varsAt is the index of the first part in which
// policy variables are read (5 for Resource elements, where AWS allows them
// only in the resource part; 0 for Arn conditions; 6 for none).
func compileARNPattern(s string, varsAt int) arnPattern {
	if s == "*" {
		return arnPattern{all: true}
	}
	var ap arnPattern
	parts := splitARNPattern(s)
	for i := range ap.segs {
		if i < len(parts) {
			ap.segs[i] = compilePattern(parts[i], true, i >= varsAt)
		} else {
			// IAM fills the parts a short ARN leaves out with "*": it reports
			// "a:b:c" as "arn:b:c:*:*:*" in its error messages.
			ap.segs[i] = compilePattern("*", true, false)
		}
	}
	return ap
}

func (ap *arnPattern) match(s string, st *evalState) (matched, resolved bool) {
	if ap.all {
		return true, true
	}
	segs := splitARN(s)
	return ap.matchParts(&segs, st)
}

// matchParts matches an ARN already split by splitARN.
func (ap *arnPattern) matchParts(segs *[6]string, st *evalState) (matched, resolved bool) {
	if ap.all {
		return true, true
	}
	for i := range ap.segs {
		m, r := ap.segs[i].match(segs[i], caseExact, st)
		if !r {
			return false, false
		}
		if !m {
			return false, true
		}
	}
	return true, true
}

// splitARNPattern splits a pattern into at most six parts at colons that are
// not inside a ${...} variable such as ${aws:PrincipalAccount}.
func splitARNPattern(s string) []string {
	var parts []string
	start, depth := 0, 0
	for i := 0; i < len(s) && len(parts) < 5; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// splitARN splits s into the six ARN parts; parts s does not have are empty.
// It returns the array by value so that s does not escape.
func splitARN(s string) (segs [6]string) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			segs[i] = s
			return segs
		}
		segs[i] = s[:j]
		s = s[j+1:]
	}
	segs[5] = s
	return segs
}
