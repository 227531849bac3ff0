package sandbox

import (
	"sort"
	"strconv"
	"strings"
)

// reservedEnv are the variables Lambda reserves: a function's configuration
// cannot set them, and the environment only has them as the sandbox sets them.
var reservedEnv = map[string]bool{
	"_HANDLER":                        true,
	"_X_AMZN_TRACE_ID":                true,
	"AWS_REGION":                      true,
	"AWS_DEFAULT_REGION":              true,
	"AWS_EXECUTION_ENV":               true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_INITIALIZATION_TYPE":  true,
	"AWS_LAMBDA_LOG_GROUP_NAME":       true,
	"AWS_LAMBDA_LOG_STREAM_NAME":      true,
	"AWS_ACCESS_KEY":                  true,
	"AWS_ACCESS_KEY_ID":               true,
	"AWS_SECRET_ACCESS_KEY":           true,
	"AWS_SESSION_TOKEN":               true,
	"AWS_LAMBDA_RUNTIME_API":          true,
	"LAMBDA_TASK_ROOT":                true,
	"LAMBDA_RUNTIME_DIR":              true,
	"TZ":                              true,
}

// runtimeDir is LAMBDA_RUNTIME_DIR on Lambda.
const runtimeDir = "/var/runtime"

// envInputs is everything the process environment is built from.
type envInputs struct {
	spec     *Spec
	taskRoot string   // /var/task when isolated, else the code directory
	apiAddr  string   // host:port of the Runtime API as the runtime reaches it
	launcher []string // KEY=VALUE entries the runtime's launcher asked for
	tmpDir   string   // TMPDIR for environments without a private /tmp
}

// buildEnviron returns the bootstrap's environment. Precedence, lowest
// first: Lambda's unreserved defaults (LANG, PATH, LD_LIBRARY_PATH), what
// the runtime's launcher needs (NODE_PATH, PYTHONPATH, ...), the function's
// own variables, and last the reserved variables, which always win.
func buildEnviron(in envInputs) []string {
	s := in.spec
	vars := map[string]string{
		"LANG":            "en_US.UTF-8",
		"PATH":            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:" + runtimeDir + ":" + runtimeDir + "/lib:" + in.taskRoot + ":" + in.taskRoot + "/lib:/opt/lib",
	}
	if in.tmpDir != "" {
		vars["TMPDIR"] = in.tmpDir
	}
	if s.EndpointURL != "" {
		vars["AWS_ENDPOINT_URL"] = s.EndpointURL
	}
	for _, kv := range in.launcher {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			vars[k] = v
		}
	}
	for k, v := range s.Environment {
		if !reservedEnv[k] {
			vars[k] = v
		}
	}

	logGroup := s.LogGroup
	if logGroup == "" {
		logGroup = "/aws/lambda/" + s.FunctionName
	}
	vars["_HANDLER"] = s.Handler
	vars["AWS_REGION"] = s.Region
	vars["AWS_DEFAULT_REGION"] = s.Region
	vars["AWS_LAMBDA_FUNCTION_NAME"] = s.FunctionName
	vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(s.MemoryMB)
	vars["AWS_LAMBDA_FUNCTION_VERSION"] = s.Version
	vars["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	vars["AWS_LAMBDA_LOG_GROUP_NAME"] = logGroup
	vars["AWS_LAMBDA_LOG_STREAM_NAME"] = s.LogStream
	vars["AWS_LAMBDA_RUNTIME_API"] = in.apiAddr
	vars["LAMBDA_TASK_ROOT"] = in.taskRoot
	vars["LAMBDA_RUNTIME_DIR"] = runtimeDir
	vars["TZ"] = ":UTC"
	// OS-only runtimes (provided, provided.al2, provided.al2023) have no
	// AWS_EXECUTION_ENV on Lambda.
	if s.Runtime != "" && !strings.HasPrefix(s.Runtime, "provided") {
		vars["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + s.Runtime
	}
	if s.AccessKeyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = s.AccessKeyID
		vars["AWS_SECRET_ACCESS_KEY"] = s.SecretAccessKey
		if s.SessionToken != "" {
			vars["AWS_SESSION_TOKEN"] = s.SessionToken
		}
	}

	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + vars[k]
	}
	return out
}
