package lambda

import (
	"context"
	"encoding/base64"

	"github.com/lambdaplane/lambdaplane/internal/gateway"

	"github.com/lambdaplane/lambdaplane/internal/sandbox/runtimes"
	"sort"
	"strconv"
	"strings"
	"time"
)

// caller is who is asking and where. principal is nil for calls lambdaplane
// makes itself.
type caller struct {
	Account   string
	Region    string
	ctx       context.Context
	principal *gateway.Principal
}

// Request inputs, decoded from rest-json bodies. Pointers tell "absent" from
// "zero" where Lambda treats them differently.
type functionCodeInput struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageURI        *string `json:"ImageUri"`
}

type environmentInput struct {
	Variables map[string]string `json:"Variables"`
}

type ephemeralInput struct {
	Size *int `json:"Size"`
}

type vpcConfigInput struct {
	SubnetIDs               []string `json:"SubnetIds"`
	SecurityGroupIDs        []string `json:"SecurityGroupIds"`
	Ipv6AllowedForDualStack *bool    `json:"Ipv6AllowedForDualStack"`
}

type tracingInput struct {
	Mode string `json:"Mode"`
}

type createFunctionInput struct {
	FunctionName     string             `json:"FunctionName"`
	Runtime          string             `json:"Runtime"`
	Role             string             `json:"Role"`
	Handler          string             `json:"Handler"`
	Code             *functionCodeInput `json:"Code"`
	Description      *string            `json:"Description"`
	Timeout          *int               `json:"Timeout"`
	MemorySize       *int               `json:"MemorySize"`
	Publish          bool               `json:"Publish"`
	PackageType      string             `json:"PackageType"`
	Environment      *environmentInput  `json:"Environment"`
	Tags             map[string]string  `json:"Tags"`
	Architectures    []string           `json:"Architectures"`
	EphemeralStorage *ephemeralInput    `json:"EphemeralStorage"`
	TracingConfig    *tracingInput      `json:"TracingConfig"`
	VpcConfig        *vpcConfigInput    `json:"VpcConfig"`
	Layers           []string           `json:"Layers"`
	DeadLetterConfig *struct {
		TargetArn string `json:"TargetArn"`
	} `json:"DeadLetterConfig"`
	FileSystemConfigs []any  `json:"FileSystemConfigs"`
	KMSKeyArn         string `json:"KMSKeyArn"`
}

type updateConfigInput struct {
	Role             *string           `json:"Role"`
	Handler          *string           `json:"Handler"`
	Description      *string           `json:"Description"`
	Timeout          *int              `json:"Timeout"`
	MemorySize       *int              `json:"MemorySize"`
	Environment      *environmentInput `json:"Environment"`
	Runtime          *string           `json:"Runtime"`
	RevisionID       *string           `json:"RevisionId"`
	EphemeralStorage *ephemeralInput   `json:"EphemeralStorage"`
	TracingConfig    *tracingInput     `json:"TracingConfig"`
	VpcConfig        *vpcConfigInput   `json:"VpcConfig"`
	Layers           []string          `json:"Layers"`
	DeadLetterConfig *struct {
		TargetArn string `json:"TargetArn"`
	} `json:"DeadLetterConfig"`
	FileSystemConfigs []any `json:"FileSystemConfigs"`
}

type updateCodeInput struct {
	ZipFile         []byte   `json:"ZipFile"`
	S3Bucket        *string  `json:"S3Bucket"`
	S3Key           *string  `json:"S3Key"`
	S3ObjectVersion *string  `json:"S3ObjectVersion"`
	ImageURI        *string  `json:"ImageUri"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionID      *string  `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
}

// validateSettings checks the settings CreateFunction and
// UpdateFunctionConfiguration share.
func (s *Service) validateSettings(v *validator, role, handler, description *string, timeout, memory *int, eph *ephemeralInput) {
	if role != nil {
		v.pattern("role", *role, reRole, patRole)
	}
	if handler != nil {
		v.length("handler", *handler, 0, 128)
		v.pattern("handler", *handler, reHandler, patHandler)
	}
	if description != nil {
		v.length("description", *description, 0, 256)
	}
	v.intRange("timeout", timeout, 1, 900)
	v.intRange("memorySize", memory, 128, 10240)
	if eph != nil {
		if eph.Size == nil {
			v.add("null", "ephemeralStorage.size", "Member must not be null")
		} else {
			v.intRange("ephemeralStorage.size", eph.Size, 512, 10240)
		}
	}
}

// unsupported refuses settings lambdaplane does not implement yet, instead of
// storing and silently ignoring them.
func unsupported(layers []string, dlq bool, fs []any, kms string) error {
	switch {
	case len(layers) > 0:
		return errInvalidParameter("Layers are not supported by lambdaplane yet.")
	case dlq:
		return errInvalidParameter("DeadLetterConfig is not supported by lambdaplane yet.")
	case len(fs) > 0:
		return errInvalidParameter("FileSystemConfigs are not supported by lambdaplane yet.")
	case kms != "":
		return errInvalidParameter("KMSKeyArn is not supported by lambdaplane yet.")
	}
	return nil
}

func (s *Service) checkRuntime(name string) error {
	if _, ok := runtimes.Lookup(name); !ok {
		return errInvalidParameter("%s", runtimes.UnsupportedError(name))
	}
	return nil
}

func checkArchitectures(a []string) error {
	if a == nil {
		return nil
	}
	if len(a) != 1 {
		var v validator
		v.add("["+strings.Join(a, ", ")+"]", "architectures", "Member must have length less than or equal to 1")
		return v.err()
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		var v validator
		v.add("["+a[0]+"]", "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
		return v.err()
	}
	return nil
}

func codeFromS3(bucket, key *string, image *string) error {
	if image != nil {
		return errInvalidParameter("Container image functions (ImageUri) are not supported by lambdaplane yet; upload a .zip file archive with ZipFile.")
	}
	if bucket != nil || key != nil {
		return errInvalidParameter("S3 code locations are not supported by lambdaplane yet (it has no S3); upload the .zip file archive with ZipFile instead.")
	}
	return nil
}

// CreateFunction validates everything first, stores the package, then writes
// the function in one transaction; the controller makes it Active.
func (s *Service) CreateFunction(c caller, in *createFunctionInput) (*Config, *Function, error) {
	var v validator
	if in.FunctionName == "" {
		v.add("null", "functionName", "Member must not be null")
	}
	if in.Role == "" {
		v.add("null", "role", "Member must not be null")
	}
	if in.Code == nil {
		v.add("null", "code", "Member must not be null")
	}
	s.validateSettings(&v, strPtrIf(in.Role != "", in.Role), strPtrIf(in.Handler != "", in.Handler), in.Description, in.Timeout, in.MemorySize, in.EphemeralStorage)
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	t, err := parseFunctionName(in.FunctionName, c.Account, c.Region, false)
	if err != nil {
		return nil, nil, err
	}
	if t.qualifier != "" {
		return nil, nil, errInvalidParameter("Unsupported function name: %s", in.FunctionName)
	}
	// With a VpcConfig, the decision needs the VPC's keys, known only once
	// EC2 has answered; it is made below.
	if in.VpcConfig == nil {
		if err := s.authorize(c, "lambda:CreateFunction", t); err != nil {
			return nil, nil, err
		}
	}
	if err := s.authorizePassRole(c, in.Role); err != nil {
		return nil, nil, err
	}
	if err := s.checkRole(c, in.Role); err != nil {
		return nil, nil, err
	}
	if in.PackageType == "Image" {
		return nil, nil, codeFromS3(nil, nil, strPtrIf(true, "image"))
	}
	if in.Runtime == "" || in.Handler == "" {
		return nil, nil, errInvalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := s.checkRuntime(in.Runtime); err != nil {
		return nil, nil, err
	}
	if err := checkArchitectures(in.Architectures); err != nil {
		return nil, nil, err
	}
	if err := unsupported(in.Layers, in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != "", in.FileSystemConfigs, in.KMSKeyArn); err != nil {
		return nil, nil, err
	}
	var vpc *VpcConfig
	if in.VpcConfig != nil {
		var err error
		if vpc, err = s.checkVpcConfig(c, in.Role, in.VpcConfig); err != nil {
			return nil, nil, err
		}
		if err := s.authorizeWith(c, "lambda:CreateFunction", t, vpcKeys(vpc)); err != nil {
			return nil, nil, err
		}
	}
	if in.Environment != nil {
		if err := checkEnvironment(in.Environment.Variables); err != nil {
			return nil, nil, err
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, nil, err
	}
	if err := codeFromS3(in.Code.S3Bucket, in.Code.S3Key, in.Code.ImageURI); err != nil {
		return nil, nil, err
	}
	if len(in.Code.ZipFile) == 0 {
		return nil, nil, errInvalidParameter("Please provide a source for function code.")
	}
	if len(in.Code.ZipFile) > codeSizeZippedLimit {
		return nil, nil, errRequestTooLarge("Request must be smaller than %d bytes for the CreateFunction operation", codeSizeZippedLimit)
	}
	s.mu.RLock()
	_, exists := s.fns[t.id]
	s.mu.RUnlock()
	if exists {
		return nil, nil, errConflict("Function already exist: %s", t.id.Name)
	}
	info, err := s.code.put(in.Code.ZipFile)
	defer s.code.done(info.hex)
	if err != nil {
		return nil, nil, err
	}

	now := time.Now()
	cfg := Config{
		Version:          latest,
		Runtime:          in.Runtime,
		Role:             in.Role,
		Handler:          in.Handler,
		Description:      deref(in.Description),
		Timeout:          derefInt(in.Timeout, 3),
		MemorySize:       derefInt(in.MemorySize, 128),
		EphemeralStorage: 512,
		Architectures:    []string{"x86_64"},
		TracingMode:      "PassThrough",
		CodeSha256:       info.sha256B64,
		CodeSize:         info.size,
		CodeUnzipped:     info.unzipped,
		LastModified:     now,
		RevisionID:       newRevision(),
		State:            statePending,
		StateReason:      creatingMessage,
		StateReasonCode:  reasonCreating,
		VPC:              vpc,
	}
	if in.EphemeralStorage != nil {
		cfg.EphemeralStorage = *in.EphemeralStorage.Size
	}
	if in.Architectures != nil {
		cfg.Architectures = in.Architectures
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != "" {
		cfg.TracingMode = in.TracingConfig.Mode
	}
	if in.Environment != nil {
		cfg.Environment = copyMap(in.Environment.Variables)
		if cfg.Environment == nil {
			cfg.Environment = map[string]string{}
		}
	}
	f := &Function{Account: t.id.Account, Region: t.id.Region, Name: t.id.Name, Latest: cfg, Tags: copyMap(in.Tags), Created: now}
	ch := change{put: f, versions: map[int]*Config{}}
	var published *Config
	if in.Publish {
		published = publishedCopy(&cfg, 1, "")
		f.LastPublished = 1
		ch.versions[1] = published
	}

	s.mu.Lock()
	if _, exists := s.fns[t.id]; exists {
		s.mu.Unlock()
		return nil, nil, errConflict("Function already exist: %s", t.id.Name)
	}
	err = s.write(t.id, ch)
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	s.afterWrite(t.id)
	if published != nil {
		return published, f, nil
	}
	out := f.Latest
	return &out, f, nil
}

// publishedCopy freezes cfg as version n: new versions start Pending, like
// new functions, until the controller finds their code ready.
func publishedCopy(cfg *Config, n int, description string) *Config {
	p := *cfg
	p.Version = strconv.Itoa(n)
	p.Description = description
	if description == "" {
		p.Description = cfg.Description
	}
	p.RevisionID = newRevision()
	p.LastModified = time.Now()
	p.State, p.StateReason, p.StateReasonCode = statePending, creatingMessage, reasonCreating
	p.LastUpdateStatus, p.LastUpdateStatusReason, p.LastUpdateStatusReasonCode = "", "", ""
	return &p
}

// GetFunction returns the configuration a name and qualifier select.
func (s *Service) GetFunction(c caller, action, name, qualifier string) (*Config, *Function, error) {
	t, err := s.namedQualified(c, name, qualifier, action, true)
	if err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.lookup(t)
	if err != nil {
		return nil, nil, err
	}
	cfg, _, err := s.resolve(st, t)
	if err != nil {
		return nil, nil, err
	}
	out, fn := *cfg, st.fn
	return &out, &fn, nil
}

// ListFunctions pages through an account's functions by name.
func (s *Service) ListFunctions(c caller, all bool, marker string, maxItems int) ([]Config, []fnID, string, error) {
	if err := s.authorizeAccount(c, "lambda:ListFunctions"); err != nil {
		return nil, nil, "", err
	}
	maxItems = pageSize(maxItems)
	s.mu.RLock()
	defer s.mu.RUnlock()
	type row struct {
		cfg Config
		id  fnID
		key string
	}
	var rows []row
	for _, st := range s.functionsOf(c.Account, c.Region) {
		rows = append(rows, row{st.fn.Latest, st.fn.id(), st.fn.Name + "\x00" + "0"})
		if all {
			var ns []int
			for n := range st.versions {
				ns = append(ns, n)
			}
			sort.Ints(ns)
			for _, n := range ns {
				rows = append(rows, row{*st.versions[n], st.fn.id(), st.fn.Name + "\x00" + strconv.Itoa(1e9+n)})
			}
		}
	}
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, nil, "", errInvalidParameter("Invalid marker: %s", marker)
		}
		start = sort.Search(len(rows), func(i int) bool { return rows[i].key > string(raw) })
	}
	end := min(start+maxItems, len(rows))
	var cfgs []Config
	var ids []fnID
	for _, r := range rows[start:end] {
		cfgs = append(cfgs, r.cfg)
		ids = append(ids, r.id)
	}
	next := ""
	if end < len(rows) {
		next = base64.RawURLEncoding.EncodeToString([]byte(rows[end-1].key))
	}
	return cfgs, ids, next, nil
}

// checkMutable refuses changes while the function is being created or
// updated, with Lambda's texts.
func checkMutable(st *fnState) error {
	l := &st.fn.Latest
	arn := st.fn.id().arn()
	if l.State == statePending {
		return errPendingResource(arn, l.State, l.StateReasonCode)
	}
	if l.LastUpdateStatus == updateInProgress {
		return errUpdateInProgress(arn)
	}
	return nil
}

// mutable returns a function that may be changed now: it exists, no
// creation or update is in progress, and the caller's RevisionId (if any) is
// current. Callers hold s.mu.
func (s *Service) mutable(id fnID, revision *string) (*fnState, error) {
	st, err := s.lookup(target{id: id})
	if err != nil {
		return nil, err
	}
	if err := checkMutable(st); err != nil {
		return nil, err
	}
	if err := checkRevision(revision, st.fn.Latest.RevisionID); err != nil {
		return nil, err
	}
	return st, nil
}

func checkRevision(want *string, have string) error {
	if want != nil && *want != "" && *want != have {
		return errPrecondition()
	}
	return nil
}

// beginUpdate marks $LATEST as updating, as Lambda does for every
// configuration or code change.
func beginUpdate(cfg *Config) {
	cfg.LastModified = time.Now()
	cfg.RevisionID = newRevision()
	cfg.LastUpdateStatus = updateInProgress
	cfg.LastUpdateStatusReason = creatingMessage
	cfg.LastUpdateStatusReasonCode = reasonCreating
}

// UpdateFunctionConfiguration changes $LATEST's settings; omitted fields keep
// their values.
func (s *Service) UpdateFunctionConfiguration(c caller, name string, in *updateConfigInput) (*Config, *Function, error) {
	var t target
	var err error
	if in.VpcConfig == nil {
		t, err = s.named(c, name, "lambda:UpdateFunctionConfiguration", false)
	} else {
		// The decision needs the VPC's condition keys; it is made once EC2
		// has answered.
		t, err = parseFunctionName(name, c.Account, c.Region, false)
	}
	if err != nil {
		return nil, nil, err
	}
	if in.Role != nil {
		if err := s.authorizePassRole(c, *in.Role); err != nil {
			return nil, nil, err
		}
		if err := s.checkRole(c, *in.Role); err != nil {
			return nil, nil, err
		}
	}
	var v validator
	s.validateSettings(&v, in.Role, in.Handler, in.Description, in.Timeout, in.MemorySize, in.EphemeralStorage)
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	if in.Runtime != nil {
		if err := s.checkRuntime(*in.Runtime); err != nil {
			return nil, nil, err
		}
	}
	if err := unsupported(in.Layers, in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != "", in.FileSystemConfigs, ""); err != nil {
		return nil, nil, err
	}
	if in.Environment != nil {
		if err := checkEnvironment(in.Environment.Variables); err != nil {
			return nil, nil, err
		}
	}
	var vpc *VpcConfig
	if in.VpcConfig != nil {
		// The role that must be allowed to manage interfaces is the one
		// the function will have.
		role := ""
		if in.Role != nil {
			role = *in.Role
		} else {
			s.mu.RLock()
			st, err := s.lookup(target{id: t.id})
			if err == nil {
				role = st.fn.Latest.Role
			}
			s.mu.RUnlock()
			if err != nil {
				return nil, nil, err
			}
		}
		if vpc, err = s.checkVpcConfig(c, role, in.VpcConfig); err != nil {
			return nil, nil, err
		}
		if err := s.authorizeWith(c, "lambda:UpdateFunctionConfiguration", target{id: t.id}, vpcKeys(vpc)); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.mutable(t.id, in.RevisionID)
	if err != nil {
		return nil, nil, err
	}
	f := st.fn
	prev := f.Latest
	f.Previous = &prev
	cfg := &f.Latest
	if in.Role != nil {
		cfg.Role = *in.Role
	}
	if in.Handler != nil {
		cfg.Handler = *in.Handler
	}
	if in.Description != nil {
		cfg.Description = *in.Description
	}
	if in.Timeout != nil {
		cfg.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		cfg.MemorySize = *in.MemorySize
	}
	if in.Runtime != nil {
		cfg.Runtime = *in.Runtime
	}
	if in.EphemeralStorage != nil {
		cfg.EphemeralStorage = *in.EphemeralStorage.Size
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != "" {
		cfg.TracingMode = in.TracingConfig.Mode
	}
	if in.Environment != nil {
		cfg.Environment = copyMap(in.Environment.Variables)
		if cfg.Environment == nil {
			cfg.Environment = map[string]string{}
		}
	}
	if vpc != nil {
		cfg.VPC = vpc
	}
	beginUpdate(cfg)
	if err := s.write(t.id, change{put: &f}); err != nil {
		return nil, nil, err
	}
	s.afterWrite(t.id)
	out := f.Latest
	return &out, &f, nil
}

// UpdateFunctionCode replaces $LATEST's package, optionally publishing a version.
func (s *Service) UpdateFunctionCode(c caller, name string, in *updateCodeInput) (*Config, *Function, error) {
	t, err := s.named(c, name, "lambda:UpdateFunctionCode", false)
	if err != nil {
		return nil, nil, err
	}
	if err := codeFromS3(in.S3Bucket, in.S3Key, in.ImageURI); err != nil {
		return nil, nil, err
	}
	if len(in.ZipFile) == 0 {
		return nil, nil, errInvalidParameter("Please provide a source for function code.")
	}
	if len(in.ZipFile) > codeSizeZippedLimit {
		return nil, nil, errRequestTooLarge("Request must be smaller than %d bytes for the UpdateFunctionCode operation", codeSizeZippedLimit)
	}
	if err := checkArchitectures(in.Architectures); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	st, err := s.lookup(target{id: t.id})
	if err == nil {
		err = checkMutable(st)
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	info, err := s.code.put(in.ZipFile)
	defer s.code.done(info.hex)
	if err != nil {
		return nil, nil, err
	}
	out, f, err := s.applyCode(t.id, in, info)
	if err != nil {
		return nil, nil, err
	}
	s.afterWrite(t.id)
	return out, f, nil
}

func (s *Service) applyCode(id fnID, in *updateCodeInput, info codeInfo) (*Config, *Function, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.mutable(id, in.RevisionID)
	if err != nil {
		return nil, nil, err
	}
	f := st.fn
	if in.DryRun {
		out := f.Latest
		out.CodeSha256, out.CodeSize = info.sha256B64, info.size
		return &out, &f, nil
	}
	prev := f.Latest
	f.Previous = &prev
	cfg := &f.Latest
	cfg.CodeSha256, cfg.CodeSize, cfg.CodeUnzipped = info.sha256B64, info.size, info.unzipped
	if in.Architectures != nil {
		cfg.Architectures = in.Architectures
	}
	beginUpdate(cfg)
	ch := change{put: &f, versions: map[int]*Config{}}
	var published *Config
	if in.Publish {
		n := f.LastPublished + 1
		published = publishedCopy(cfg, n, "")
		f.LastPublished = n
		ch.versions[n] = published
	}
	if err := s.write(id, ch); err != nil {
		return nil, nil, err
	}
	if published != nil {
		return published, &f, nil
	}
	out := f.Latest
	return &out, &f, nil
}

// DeleteFunction removes a function with all its versions and aliases, or
// one published version when a qualifier is given.
func (s *Service) DeleteFunction(c caller, name, qualifier string) error {
	t, err := s.namedQualified(c, name, qualifier, "lambda:DeleteFunction", false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	st, err := s.lookup(target{id: t.id})
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// The configurations whose network interfaces go with the deletion.
	var held []*Config
	switch {
	case t.qualifier == "":
		latestCfg := st.fn.Latest
		held = append(held, &latestCfg, st.fn.Previous)
		for _, c := range st.versions {
			held = append(held, c)
		}
		err = s.write(t.id, change{removeAll: true})
	case t.qualifier == latest:
		err = errInvalidParameter("$LATEST version cannot be deleted without deleting the function.")
	case !reDigits.MatchString(t.qualifier):
		err = errInvalidParameter("Deletion of aliases is not supported.")
	default:
		n, _ := strconv.Atoi(t.qualifier)
		if _, ok := st.versions[n]; !ok {
			err = errFunctionNotFound(t.id.qualifiedARN(t.qualifier))
			break
		}
		var refs []string
		for _, a := range st.aliases {
			if a.FunctionVersion == t.qualifier || a.Weights[t.qualifier] > 0 {
				refs = append(refs, a.Name)
			}
		}
		if len(refs) > 0 {
			sort.Strings(refs)
			err = errConflict("Unable to delete version because the following aliases reference it: [%s]", strings.Join(refs, ", "))
			break
		}
		held = append(held, st.versions[n])
		err = s.write(t.id, change{versions: map[int]*Config{n: nil}})
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, c := range held {
		s.disconnectVpc(t.id, c)
	}
	s.sched.retire(t.id, t.qualifier)
	s.gcCode()
	return nil
}

func strPtrIf(ok bool, s string) *string {
	if !ok {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
