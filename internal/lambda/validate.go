package lambda

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Patterns from the service model; Coral anchors them to the whole value.
const (
	patFunctionName   = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	patNamespacedName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	patRole           = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	patHandler        = `[^\s]+`
	patQualifier      = `(|[a-zA-Z0-9$_-]+)`
	patVersion        = `(\$LATEST|[0-9]+)`
	patAlias          = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	patEnvName        = `[a-zA-Z]([a-zA-Z0-9_])+`
	patTaggableARN    = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)`
)

var (
	reFunctionName   = anchored(patFunctionName)
	reNamespacedName = anchored(patNamespacedName)
	reRole           = anchored(patRole)
	reHandler        = anchored(patHandler)
	reQualifier      = anchored(patQualifier)
	reVersion        = anchored(patVersion)
	reAliasChars     = anchored(`[a-zA-Z0-9-_]+`)
	reEnvName        = anchored(patEnvName)
	reTaggableARN    = anchored(patTaggableARN)
	reDigits         = anchored(`[0-9]+`)
)

func anchored(p string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + p + `)$`) }

// validator collects Coral-style constraint violations so a request reports
// all of them at once, as Lambda does.
type validator struct{ problems []string }

func (v *validator) add(value, field, constraint string) {
	v.problems = append(v.problems, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

func (v *validator) pattern(field, value string, re *regexp.Regexp, pat string) {
	if !re.MatchString(value) {
		v.add(value, field, "Member must satisfy regular expression pattern: "+pat)
	}
}

func (v *validator) length(field, value string, min, max int) {
	n := len([]rune(value))
	switch {
	case n > max:
		v.add(value, field, fmt.Sprintf("Member must have length less than or equal to %d", max))
	case n < min:
		v.add(value, field, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
}

func (v *validator) intRange(field string, value *int, min, max int) {
	if value == nil {
		return
	}
	switch {
	case *value < min:
		v.add(fmt.Sprint(*value), field, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	case max > 0 && *value > max:
		v.add(fmt.Sprint(*value), field, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

func (v *validator) aliasName(field, value string) {
	v.length(field, value, 1, 128)
	if !reAliasChars.MatchString(value) || reDigits.MatchString(value) {
		v.add(value, field, "Member must satisfy regular expression pattern: "+patAlias)
	}
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return errValidation(v.problems)
}

// reservedEnv are the variables Lambda sets itself and refuses to let a
// function override.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// checkEnvironment applies Lambda's rules to Environment.Variables.
func checkEnvironment(vars map[string]string) error {
	var v validator
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reEnvName.MatchString(k) {
			v.add(k, "environment.variables", "Member must satisfy regular expression pattern: "+patEnvName)
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	var reserved []string
	for _, k := range keys {
		if reservedEnv[k] {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return errInvalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	// Lambda measures the variables as a JSON object against 4 KB.
	size := 2
	for _, k := range keys {
		size += len(k) + len(vars[k]) + 6
	}
	if size > 4096 {
		return errInvalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", envJSON(vars, keys))
	}
	return nil
}

func envJSON(vars map[string]string, keys []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", k, vars[k])
	}
	b.WriteByte('}')
	return b.String()
}
