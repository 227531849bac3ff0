package lambda

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
)

// The rest-json adapter: routes, request decoding and response shapes of the
// Lambda API (2015-03-31), as botocore's model describes them.

// maxRequestBody is Lambda's limit on a request body (a 50 MB package, base64 in JSON).
const maxRequestBody = 70167211

// GatewayService registers the Lambda API with the gateway.
func (s *Service) GatewayService() gateway.Service {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, c caller) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			req := gateway.FromContext(r.Context())
			c := caller{Account: req.Principal.Account, Region: req.Region, ctx: r.Context(), principal: &req.Principal}
			if err := fn(w, r, c); err != nil {
				awswire.WriteError(w, awswire.RestJSON, req.ID, err)
			}
		})
	}
	const fns = "/2015-03-31/functions"
	h("POST "+fns, s.httpCreateFunction)
	h("GET "+fns, s.httpListFunctions)
	// Older CLI models (v2.9) ask for the collection with a trailing slash.
	h("GET "+fns+"/", s.httpListFunctions)
	h("GET "+fns+"/{name}", s.httpGetFunction)
	h("DELETE "+fns+"/{name}", s.httpDeleteFunction)
	h("GET "+fns+"/{name}/configuration", s.httpGetFunctionConfiguration)
	h("PUT "+fns+"/{name}/configuration", s.httpUpdateFunctionConfiguration)
	h("PUT "+fns+"/{name}/code", s.httpUpdateFunctionCode)
	h("POST "+fns+"/{name}/invocations", s.httpInvoke)
	h("POST "+fns+"/{name}/versions", s.httpPublishVersion)
	h("GET "+fns+"/{name}/versions", s.httpListVersions)
	h("POST "+fns+"/{name}/aliases", s.httpCreateAlias)
	h("GET "+fns+"/{name}/aliases", s.httpListAliases)
	h("GET "+fns+"/{name}/aliases/{alias}", s.httpGetAlias)
	h("PUT "+fns+"/{name}/aliases/{alias}", s.httpUpdateAlias)
	h("DELETE "+fns+"/{name}/aliases/{alias}", s.httpDeleteAlias)
	h("PUT /2017-10-31/functions/{name}/concurrency", s.httpPutConcurrency)
	h("DELETE /2017-10-31/functions/{name}/concurrency", s.httpDeleteConcurrency)
	h("GET /2019-09-30/functions/{name}/concurrency", s.httpGetConcurrency)
	h("GET /2016-08-19/account-settings", s.httpAccountSettings)
	h("GET /2016-08-19/account-settings/", s.httpAccountSettings)
	h("POST "+fns+"/{name}/policy", s.httpAddPermission)
	h("GET "+fns+"/{name}/policy", s.httpGetPolicy)
	h("DELETE "+fns+"/{name}/policy/{sid}", s.httpRemovePermission)
	h("POST /2017-03-31/tags/{arn}", s.httpTagResource)
	h("GET /2017-03-31/tags/{arn}", s.httpListTags)
	h("DELETE /2017-03-31/tags/{arn}", s.httpUntagResource)
	h("/", func(w http.ResponseWriter, r *http.Request, c caller) error {
		return awswire.Errorf(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s %s", r.Method, r.URL.Path)
	})
	return gateway.Service{
		SigningName: "lambda",
		Protocol:    awswire.RestJSON,
		MaxBody:     maxRequestBody,
		TooLarge:    errRequestTooLarge("Request must be smaller than %d bytes for the CreateFunction operation", maxRequestBody),
		Handler:     mux,
	}
}

func decode(r *http.Request, v any) error {
	body := gateway.FromContext(r.Context()).Body
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return awswire.Errorf(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	awswire.WriteJSON(w, status, v)
	return nil
}

func maxItemsParam(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("MaxItems")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, awswire.Errorf(http.StatusBadRequest, "InvalidParameterValueException", "Invalid MaxItems: %s", raw)
	}
	var v validator
	v.intRange("maxItems", &n, 1, 10000)
	return n, v.err()
}

// Response shapes.

type envOut struct {
	Variables map[string]string `json:"Variables"`
}

type functionConfigOut struct {
	FunctionName               string            `json:"FunctionName"`
	FunctionArn                string            `json:"FunctionArn"`
	Runtime                    string            `json:"Runtime"`
	Role                       string            `json:"Role"`
	Handler                    string            `json:"Handler"`
	CodeSize                   int64             `json:"CodeSize"`
	Description                string            `json:"Description"`
	Timeout                    int               `json:"Timeout"`
	MemorySize                 int               `json:"MemorySize"`
	LastModified               string            `json:"LastModified"`
	CodeSha256                 string            `json:"CodeSha256"`
	Version                    string            `json:"Version"`
	Environment                *envOut           `json:"Environment,omitempty"`
	TracingConfig              map[string]string `json:"TracingConfig"`
	RevisionID                 string            `json:"RevisionId"`
	State                      string            `json:"State,omitempty"`
	StateReason                string            `json:"StateReason,omitempty"`
	StateReasonCode            string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string            `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string            `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string            `json:"PackageType"`
	Architectures              []string          `json:"Architectures"`
	EphemeralStorage           map[string]int    `json:"EphemeralStorage"`
	SnapStart                  map[string]string `json:"SnapStart"`
	RuntimeVersionConfig       map[string]string `json:"RuntimeVersionConfig"`
	LoggingConfig              map[string]string `json:"LoggingConfig"`
	VpcConfig                  *vpcConfigOut     `json:"VpcConfig,omitempty"`
}

// runtimeVersionARN is stable per runtime, like Lambda's runtime version ARNs.
func runtimeVersionARN(region, runtime string) string {
	sum := sha256.Sum256([]byte("lambdaplane/" + runtime))
	return fmt.Sprintf("arn:aws:lambda:%s::runtime:%s", region, hex.EncodeToString(sum[:]))
}

// render shapes a configuration; withState false leaves out what
// ListFunctions does not return.
func render(id fnID, c *Config, withState bool) functionConfigOut {
	arn := id.arn()
	if c.Version != latest {
		arn = id.qualifiedARN(c.Version)
	}
	out := functionConfigOut{
		FunctionName: id.Name, FunctionArn: arn, Runtime: c.Runtime, Role: c.Role, Handler: c.Handler,
		CodeSize: c.CodeSize, Description: c.Description, Timeout: c.Timeout, MemorySize: c.MemorySize,
		LastModified: c.LastModified.UTC().Format(lastModifiedLayout), CodeSha256: c.CodeSha256, Version: c.Version,
		TracingConfig: map[string]string{"Mode": c.TracingMode}, RevisionID: c.RevisionID, PackageType: "Zip",
		Architectures:        c.Architectures,
		EphemeralStorage:     map[string]int{"Size": c.EphemeralStorage},
		SnapStart:            map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		RuntimeVersionConfig: map[string]string{"RuntimeVersionArn": runtimeVersionARN(id.Region, c.Runtime)},
		LoggingConfig:        map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + id.Name},
	}
	if c.Environment != nil {
		out.Environment = &envOut{Variables: c.Environment}
	}
	out.VpcConfig = renderVpc(c.VPC)
	if withState {
		out.State, out.StateReason, out.StateReasonCode = c.State, c.StateReason, c.StateReasonCode
		out.LastUpdateStatus, out.LastUpdateStatusReason, out.LastUpdateStatusReasonCode = c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode
	}
	return out
}

// Handlers.

func (s *Service) httpCreateFunction(w http.ResponseWriter, r *http.Request, c caller) error {
	var in createFunctionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	cfg, f, err := s.CreateFunction(c, &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, render(f.id(), cfg, true))
}

func (s *Service) httpListFunctions(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	n, err := maxItemsParam(r)
	if err != nil {
		return err
	}
	fv := q.Get("FunctionVersion")
	if fv != "" && fv != "ALL" {
		var v validator
		v.add(fv, "functionVersion", "Member must satisfy enum value set: [ALL]")
		return v.err()
	}
	cfgs, ids, next, err := s.ListFunctions(c, fv == "ALL", q.Get("Marker"), n)
	if err != nil {
		return err
	}
	out := struct {
		Functions  []functionConfigOut `json:"Functions"`
		NextMarker string              `json:"NextMarker,omitempty"`
	}{Functions: []functionConfigOut{}, NextMarker: next}
	for i := range cfgs {
		out.Functions = append(out.Functions, render(ids[i], &cfgs[i], false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpGetFunction(w http.ResponseWriter, r *http.Request, c caller) error {
	cfg, f, err := s.GetFunction(c, "lambda:GetFunction", r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	out := struct {
		Configuration functionConfigOut `json:"Configuration"`
		Code          map[string]string `json:"Code"`
		Tags          map[string]string `json:"Tags,omitempty"`
		Concurrency   map[string]int    `json:"Concurrency,omitempty"`
	}{
		Configuration: render(f.id(), cfg, true),
		Code:          map[string]string{"RepositoryType": "S3", "Location": s.codeURL(r, f.id(), cfg.CodeSha256)},
		Tags:          f.Tags,
	}
	if f.ReservedConcurrency != nil {
		out.Concurrency = map[string]int{"ReservedConcurrentExecutions": *f.ReservedConcurrency}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpGetFunctionConfiguration(w http.ResponseWriter, r *http.Request, c caller) error {
	cfg, f, err := s.GetFunction(c, "lambda:GetFunctionConfiguration", r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, render(f.id(), cfg, true))
}

func (s *Service) httpDeleteFunction(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := s.DeleteFunction(c, r.PathValue("name"), r.URL.Query().Get("Qualifier")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) httpUpdateFunctionConfiguration(w http.ResponseWriter, r *http.Request, c caller) error {
	var in updateConfigInput
	if err := decode(r, &in); err != nil {
		return err
	}
	cfg, f, err := s.UpdateFunctionConfiguration(c, r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, render(f.id(), cfg, true))
}

func (s *Service) httpUpdateFunctionCode(w http.ResponseWriter, r *http.Request, c caller) error {
	var in updateCodeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	cfg, f, err := s.UpdateFunctionCode(c, r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, render(f.id(), cfg, true))
}

func (s *Service) httpInvoke(w http.ResponseWriter, r *http.Request, c caller) error {
	req := gateway.FromContext(r.Context())
	in := invokeInput{
		FunctionName:  r.PathValue("name"),
		Qualifier:     r.URL.Query().Get("Qualifier"),
		Type:          headerOr(r, "X-Amz-Invocation-Type", invokeRequestResponse),
		LogType:       headerOr(r, "X-Amz-Log-Type", "None"),
		ClientContext: r.Header.Get("X-Amz-Client-Context"),
		Payload:       req.Body,
		RequestID:     req.ID,
	}
	out, err := s.Invoke(r.Context(), c, &in)
	if err != nil {
		return err
	}
	hdr := w.Header()
	if out.Status == http.StatusOK {
		hdr.Set("Content-Type", "application/json")
		hdr.Set("X-Amz-Executed-Version", out.ExecutedVersion)
		if out.FunctionError != "" {
			hdr.Set("X-Amz-Function-Error", out.FunctionError)
		}
		if in.LogType == "Tail" {
			hdr.Set("X-Amz-Log-Result", out.LogResult)
		}
		hdr.Set("Content-Length", strconv.Itoa(len(out.Payload)))
	}
	w.WriteHeader(out.Status)
	if out.Status == http.StatusOK {
		w.Write(out.Payload)
	}
	return nil
}

func headerOr(r *http.Request, name, def string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	return def
}

func (s *Service) httpPublishVersion(w http.ResponseWriter, r *http.Request, c caller) error {
	var in publishInput
	if err := decode(r, &in); err != nil {
		return err
	}
	cfg, f, err := s.PublishVersion(c, r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, render(f.id(), cfg, true))
}

func (s *Service) httpListVersions(w http.ResponseWriter, r *http.Request, c caller) error {
	n, err := maxItemsParam(r)
	if err != nil {
		return err
	}
	cfgs, id, next, err := s.ListVersionsByFunction(c, r.PathValue("name"), r.URL.Query().Get("Marker"), n)
	if err != nil {
		return err
	}
	out := struct {
		Versions   []functionConfigOut `json:"Versions"`
		NextMarker string              `json:"NextMarker,omitempty"`
	}{Versions: []functionConfigOut{}, NextMarker: next}
	for i := range cfgs {
		out.Versions = append(out.Versions, render(id, &cfgs[i], false))
	}
	return writeJSON(w, http.StatusOK, out)
}

type aliasOut struct {
	AliasArn        string        `json:"AliasArn"`
	Name            string        `json:"Name"`
	FunctionVersion string        `json:"FunctionVersion"`
	Description     string        `json:"Description"`
	RevisionID      string        `json:"RevisionId"`
	RoutingConfig   *routingInput `json:"RoutingConfig,omitempty"`
}

func renderAlias(id fnID, a *Alias) aliasOut {
	out := aliasOut{AliasArn: id.qualifiedARN(a.Name), Name: a.Name, FunctionVersion: a.FunctionVersion, Description: a.Description, RevisionID: a.RevisionID}
	if len(a.Weights) > 0 {
		out.RoutingConfig = &routingInput{AdditionalVersionWeights: a.Weights}
	}
	return out
}

func (s *Service) httpCreateAlias(w http.ResponseWriter, r *http.Request, c caller) error {
	var in aliasInput
	if err := decode(r, &in); err != nil {
		return err
	}
	a, id, err := s.CreateAlias(c, r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, renderAlias(id, a))
}

func (s *Service) httpGetAlias(w http.ResponseWriter, r *http.Request, c caller) error {
	a, id, err := s.GetAlias(c, r.PathValue("name"), r.PathValue("alias"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, renderAlias(id, a))
}

func (s *Service) httpUpdateAlias(w http.ResponseWriter, r *http.Request, c caller) error {
	var in aliasInput
	if err := decode(r, &in); err != nil {
		return err
	}
	a, id, err := s.UpdateAlias(c, r.PathValue("name"), r.PathValue("alias"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, renderAlias(id, a))
}

func (s *Service) httpDeleteAlias(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := s.DeleteAlias(c, r.PathValue("name"), r.PathValue("alias")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) httpListAliases(w http.ResponseWriter, r *http.Request, c caller) error {
	n, err := maxItemsParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	as, id, next, err := s.ListAliases(c, r.PathValue("name"), q.Get("FunctionVersion"), q.Get("Marker"), n)
	if err != nil {
		return err
	}
	out := struct {
		Aliases    []aliasOut `json:"Aliases"`
		NextMarker string     `json:"NextMarker,omitempty"`
	}{Aliases: []aliasOut{}, NextMarker: next}
	for i := range as {
		out.Aliases = append(out.Aliases, renderAlias(id, &as[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpPutConcurrency(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.PutFunctionConcurrency(c, r.PathValue("name"), in.ReservedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": n})
}

func (s *Service) httpGetConcurrency(w http.ResponseWriter, r *http.Request, c caller) error {
	n, err := s.GetFunctionConcurrency(c, r.PathValue("name"))
	if err != nil {
		return err
	}
	out := map[string]int{}
	if n != nil {
		out["ReservedConcurrentExecutions"] = *n
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpDeleteConcurrency(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := s.DeleteFunctionConcurrency(c, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) httpAccountSettings(w http.ResponseWriter, r *http.Request, c caller) error {
	a, err := s.AccountSettings(c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]map[string]int64{
		"AccountLimit": {
			"TotalCodeSize":                  totalCodeSizeLimit,
			"CodeSizeUnzipped":               codeSizeUnzippedLimit,
			"CodeSizeZipped":                 codeSizeZippedLimit,
			"ConcurrentExecutions":           int64(s.cfg.AccountConcurrency),
			"UnreservedConcurrentExecutions": int64(a.Unreserved),
		},
		"AccountUsage": {"TotalCodeSize": a.TotalCodeSize, "FunctionCount": a.FunctionCount},
	})
}

func (s *Service) httpTagResource(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.TagResource(c, r.PathValue("arn"), in.Tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) httpUntagResource(w http.ResponseWriter, r *http.Request, c caller) error {
	keys := r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		var v validator
		v.add("null", "tagKeys", "Member must not be null")
		return v.err()
	}
	if err := s.UntagResource(c, r.PathValue("arn"), keys); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) httpListTags(w http.ResponseWriter, r *http.Request, c caller) error {
	tags, err := s.ListTags(c, r.PathValue("arn"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]map[string]string{"Tags": tags})
}

func (s *Service) httpAddPermission(w http.ResponseWriter, r *http.Request, c caller) error {
	var in addPermissionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	stmt, err := s.AddPermission(c, r.PathValue("name"), r.URL.Query().Get("Qualifier"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Statement": string(stmt)})
}

func (s *Service) httpGetPolicy(w http.ResponseWriter, r *http.Request, c caller) error {
	p, err := s.GetPolicy(c, r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"Policy": p.Document, "RevisionId": p.Revision})
}

func (s *Service) httpRemovePermission(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	if err := s.RemovePermission(c, r.PathValue("name"), q.Get("Qualifier"), r.PathValue("sid"), q.Get("RevisionId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Code downloads. GetFunction's Code.Location is, as on Lambda, a URL that
// works without AWS credentials for ten minutes; here it is signed by the
// server with a key of its own instead of being an S3 presigned URL.

const codePath = "/_lambdaplane/code/"
const codeURLLifetime = 10 * time.Minute

func (s *Service) codeSig(path string, expires int64) string {
	m := hmac.New(sha256.New, s.codeKey)
	fmt.Fprintf(m, "%s\n%d", path, expires)
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) codeURL(r *http.Request, id fnID, sha string) string {
	path := codePath + url.PathEscape(id.Account) + "/" + url.PathEscape(id.Region) + "/" + url.PathEscape(id.Name) + "/" + hexFromB64(sha)
	expires := time.Now().Add(codeURLLifetime).Unix()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s%s?Expires=%d&Signature=%s", scheme, r.Host, path, expires, s.codeSig(path, expires))
}

// CodeHandler serves deployment packages at the URLs GetFunction hands out.
func (s *Service) CodeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		expires, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
		if err != nil || time.Now().Unix() > expires ||
			!hmac.Equal([]byte(q.Get("Signature")), []byte(s.codeSig(r.URL.EscapedPath(), expires))) {
			http.Error(w, "AccessDenied: Request has expired or the signature does not match", http.StatusForbidden)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, codePath), "/")
		if len(parts) != 4 || len(parts[3]) != 64 || strings.Trim(parts[3], "0123456789abcdef") != "" {
			http.NotFound(w, r)
			return
		}
		data, err := s.code.readZip(parts[3])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Write(data)
	})
}
