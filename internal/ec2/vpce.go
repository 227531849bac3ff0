package ec2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

// Endpoint is a VPC endpoint. A gateway endpoint is a route to its service's
// prefix list in each of its route tables; an interface endpoint is one
// requester-managed network interface per subnet.
type Endpoint struct {
	Meta
	VpcID       string `json:"vpc"`
	ServiceName string `json:"service"`
	Type        string `json:"type"`  // Interface, Gateway
	State       string `json:"state"` // pending, available, deleting, deleted
	PrivateDNS  bool   `json:"privateDns,omitempty"`
	// PrivateDNSInboundOnly is DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint
	// (S3 interface endpoints only).
	PrivateDNSInboundOnly bool     `json:"privateDnsInboundOnly,omitempty"`
	Policy                string   `json:"policy"`
	RouteTableIDs         []string `json:"rtbs,omitempty"`
	GroupIDs              []string `json:"groups,omitempty"`
	// Interfaces are the endpoint's network interfaces, one per subnet, in
	// the order the subnets were given.
	Interfaces []EndpointInterface `json:"enis,omitempty"`
	// DNSSuffix is the 8 characters after the id in the endpoint's DNS names.
	DNSSuffix string `json:"dnsSuffix,omitempty"`
	// Until is when the current timed state ends: pending becomes available,
	// deleting becomes deleted, and a deleted endpoint disappears.
	Until       time.Time `json:"until,omitzero"`
	ClientToken string    `json:"token,omitempty"`
	// RequestHash identifies the parameters the client token was first used
	// with, so a retry with other parameters can be refused.
	RequestHash string `json:"requestHash,omitempty"`
}

// EndpointInterface is one of an interface endpoint's network interfaces.
type EndpointInterface struct {
	SubnetID           string `json:"subnet"`
	NetworkInterfaceID string `json:"eni"`
}

func (e *Endpoint) vpcID() string { return e.VpcID }
func (e *Endpoint) isGone() bool  { return e.State == "deleted" }

// service is the short name of the endpoint's service (lambda, s3, ...).
func (e *Endpoint) service() string {
	return strings.TrimPrefix(e.ServiceName, "com.amazonaws."+e.Region+".")
}

// live reports whether the endpoint still exists as far as its VPC and its
// service are concerned.
func (e *Endpoint) live() bool { return e.State != "deleted" && e.State != "deleting" }

// endpointDeletedVisible is how long a deleted endpoint stays visible (as
// "deleted") before it disappears from DescribeVpcEndpoints.
const endpointDeletedVisible = 10 * time.Minute

// endpointRequesterID is the RequesterId AWS shows on interface endpoint
// network interfaces (the PrivateLink service's account, as AWS's own
// documentation shows it).
const endpointRequesterID = "727180483921"

func init() {
	registerKind(kindEndpoint, func() resource { return new(Endpoint) })
	handle("DescribeVpcEndpointServices", describeVpcEndpointServices)
	handle("DescribePrefixLists", describePrefixLists)
	handle("DescribeManagedPrefixLists", describeManagedPrefixLists)
	handle("GetManagedPrefixListEntries", getManagedPrefixListEntries)
	handle("CreateVpcEndpoint", createVpcEndpoint)
	handle("DescribeVpcEndpoints", describeVpcEndpoints)
	handle("ModifyVpcEndpoint", modifyVpcEndpoint)
	handle("DeleteVpcEndpoints", deleteVpcEndpoints)
	registerSettler(settleEndpoints)
}

// privateDNSInUse reports whether an endpoint of the VPC has private DNS
// on, which needs both of the VPC's DNS attributes.
func privateDNSInUse(t *txn, vpcID string) bool {
	return anyOf(t, kindEndpoint, func(e *Endpoint) bool { return e.VpcID == vpcID && e.PrivateDNS && e.live() })
}

// ---- The AWS services a VPC endpoint can reach ----

// vpceServiceDef is an AWS service lambdaplane serves (or will) that VPC
// endpoints can reach.
type vpceServiceDef struct {
	name  string   // the last label of com.amazonaws.REGION.NAME
	types []string // Gateway, Interface
}

// vpceServices are the services lambdaplane serves or will serve, by name.
var vpceServices = []vpceServiceDef{
	{"dynamodb", []string{"Gateway"}},
	{"ec2", []string{"Interface"}},
	{"lambda", []string{"Interface"}},
	{"logs", []string{"Interface"}},
	{"s3", []string{"Gateway", "Interface"}},
	{"sts", []string{"Interface"}},
}

// serviceFullName is com.amazonaws.REGION.NAME.
func serviceFullName(region, name string) string { return "com.amazonaws." + region + "." + name }

// lookupVpceService resolves a full service name of the caller's region.
func lookupVpceService(region, full string) (vpceServiceDef, bool) {
	for _, s := range vpceServices {
		if serviceFullName(region, s.name) == full {
			return s, true
		}
	}
	return vpceServiceDef{}, false
}

func errInvalidServiceName(name string) error {
	return apiError("InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", name)
}

// privateDNSNameOf is the service's public name that private DNS answers
// inside the VPC; S3's interface endpoints serve every bucket name under it.
func privateDNSNameOf(region, name string) string {
	if name == "s3" {
		return "*.s3." + region + ".amazonaws.com"
	}
	return name + "." + region + ".amazonaws.com"
}

// vpceHostedZones are the public hosted zones of REGION.vpce.amazonaws.com
// that DnsEntries name; a region not listed gets a stable made-up id.
var vpceHostedZones = map[string]string{
	"af-south-1": "Z09302161J80N9A7UTP7U", "ap-east-1": "Z2LIHJ7PKBEMWN", "ap-northeast-1": "Z2E726K9Y6RL4W",
	"ap-northeast-2": "Z27UANNT0PRK1T", "ap-northeast-3": "Z376B5OMM2JZL2", "ap-south-1": "Z2KVTB3ZLFM7JR",
	"ap-south-2": "Z0952991RWSF5AHIQDIY", "ap-southeast-1": "Z18LLCSTV4NVNL", "ap-southeast-2": "ZDK2GCRPAFKGO",
	"ap-southeast-3": "Z03881013RZ9BYYZO8N5W", "ap-southeast-4": "Z07508191CO1RNBX3X3AU", "ca-central-1": "ZRCXCF510Y6P9",
	"eu-central-1": "Z273ZU8SZ5RJPC", "eu-central-2": "Z045369019J4FUQ4S272E", "eu-north-1": "Z3OWWK6JFDEDGC",
	"eu-south-1": "Z2A5FDNRLY7KZG", "eu-south-2": "Z014396544HENR57XQCJ", "eu-west-1": "Z38GZ743OKFT7T",
	"eu-west-2": "Z7K1066E3PUKB", "eu-west-3": "Z1DWHTMFP0WECP", "me-central-1": "Z07122992YCEUCB9A9570",
	"me-south-1": "Z3B95P3VBGEQGY", "sa-east-1": "Z2LXUWEVLCVZIB", "us-east-1": "Z7HUB22UULQXV",
	"us-east-2": "ZC8PG0KIFKBRI", "us-west-1": "Z12I86A8N7VCZO", "us-west-2": "Z1YSA3EXCYUU9Z",
}

func vpceHostedZone(region string) string {
	if z, ok := vpceHostedZones[region]; ok {
		return z
	}
	return hostedZoneLike("vpce/" + region)
}

// hostedZoneLike makes a stable Route 53 style zone id (Z and 20 upper-case
// letters and digits) from seed.
func hostedZoneLike(seed string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte(seed))
	b := make([]byte, 21)
	b[0] = 'Z'
	for i := 1; i < len(b); i++ {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// stableHex is n hex digits derived from seed, for ids AWS keeps fixed per
// region (service ids, prefix list ids).
func stableHex(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])[:n]
}

// ---- Prefix lists of the gateway endpoint services ----

// gatewayServiceRanges is THE table of the public address ranges of the
// gateway endpoint services. They lie in the simulated internet's
// documentation range 203.0.113.0/24, where the data plane serves S3 and
// DynamoDB; the managed prefix lists and the routes gateway endpoints add
// name them.
var gatewayServiceRanges = []struct{ service, cidr string }{
	{"dynamodb", "203.0.113.64/26"},
	{"s3", "203.0.113.0/26"},
}

// ServicePrefixList is the AWS-managed prefix list of a gateway endpoint
// service in a region.
type ServicePrefixList struct {
	ID      string // pl-..., stable per region and service
	Name    string // com.amazonaws.REGION.SERVICE
	Service string // s3, dynamodb
	CIDRs   []netip.Prefix
}

// GatewayPrefixLists returns the prefix lists of the gateway endpoint
// services (S3, DynamoDB) in region, by name.
func GatewayPrefixLists(region string) []ServicePrefixList {
	out := make([]ServicePrefixList, 0, len(gatewayServiceRanges))
	for _, g := range gatewayServiceRanges {
		out = append(out, ServicePrefixList{ID: prefixListID(region, g.service), Name: serviceFullName(region, g.service),
			Service: g.service, CIDRs: []netip.Prefix{netip.MustParsePrefix(g.cidr)}})
	}
	return out
}

func prefixListID(region, service string) string {
	return "pl-" + stableHex("pl/"+region+"/"+service, 8)
}

// prefixListByID finds a gateway service's prefix list of region by id.
func prefixListByID(region, id string) (ServicePrefixList, bool) {
	for _, pl := range GatewayPrefixLists(region) {
		if pl.ID == id {
			return pl, true
		}
	}
	return ServicePrefixList{}, false
}

func prefixListOf(region, service string) ServicePrefixList {
	for _, pl := range GatewayPrefixLists(region) {
		if pl.Service == service {
			return pl
		}
	}
	panic("ec2: no prefix list for gateway service " + service)
}

func errPrefixListNotFound(id string) error {
	return apiError("InvalidPrefixListID.NotFound", "The prefix list ID '%s' does not exist", id)
}

// plEntry is a prefix list as the Describe calls' filters and pages see it.
type plEntry struct {
	Meta
	pl ServicePrefixList
}

func prefixListEntries(region string) []*plEntry {
	var out []*plEntry
	for _, pl := range GatewayPrefixLists(region) {
		out = append(out, &plEntry{Meta: Meta{ID: pl.ID, Owner: "AWS", Region: region}, pl: pl})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var prefixListFilters = filters[*plEntry]{
	"prefix-list-id":   func(p *plEntry) string { return p.pl.ID },
	"prefix-list-name": func(p *plEntry) string { return p.pl.Name },
}

// selectPrefixLists applies ids and filters to the region's prefix lists.
func selectPrefixLists(region string, ids []string, in []Filter, fs filters[*plEntry]) ([]*plEntry, error) {
	if err := fs.check(in); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := prefixListByID(region, id); !ok {
			return nil, errPrefixListNotFound(id)
		}
	}
	var out []*plEntry
	for _, p := range prefixListEntries(region) {
		if (len(ids) == 0 || slices.Contains(ids, p.ID)) && fs.match(in, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

type describePrefixListsInput struct {
	DryRun        bool
	Filters       []Filter `ec2:"Filter"`
	MaxResults    *int32
	NextToken     string
	PrefixListIds []string `ec2:"PrefixListId"`
}

type prefixListXML struct {
	Cidrs List[string] `xml:"cidrSet"`
	ID    string       `xml:"prefixListId"`
	Name  string       `xml:"prefixListName"`
}

type describePrefixListsOutput struct {
	PrefixLists List[prefixListXML] `xml:"prefixListSet"`
	NextToken   string              `xml:"nextToken,omitempty"`
}

func cidrStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func describePrefixLists(c *call) (any, error) {
	var in describePrefixListsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	pls, err := selectPrefixLists(c.region, in.PrefixListIds, in.Filters, prefixListFilters)
	if err != nil {
		return nil, err
	}
	var out describePrefixListsOutput
	if pls, out.NextToken, err = page(pls, clampMax(in.MaxResults, 1000), in.NextToken, 5, 1000); err != nil {
		return nil, err
	}
	for _, p := range pls {
		out.PrefixLists = append(out.PrefixLists, prefixListXML{Cidrs: cidrStrings(p.pl.CIDRs), ID: p.pl.ID, Name: p.pl.Name})
	}
	return out, nil
}

// clampMax applies "a MaxResults above hi returns only hi items", as AWS
// documents for several Describe calls.
func clampMax(n *int32, hi int32) *int32 {
	if n != nil && *n > hi {
		return &hi
	}
	return n
}

type managedPrefixListXML struct {
	ID            string   `xml:"prefixListId"`
	AddressFamily string   `xml:"addressFamily"`
	State         string   `xml:"state"`
	Arn           string   `xml:"prefixListArn"`
	Name          string   `xml:"prefixListName"`
	Version       int64    `xml:"version"`
	Tags          List[xs] `xml:"tagSet"`
	OwnerID       string   `xml:"ownerId"`
}

type describeManagedPrefixListsOutput struct {
	PrefixLists List[managedPrefixListXML] `xml:"prefixListSet"`
	NextToken   string                     `xml:"nextToken,omitempty"`
}

var managedPrefixListFilters = filters[*plEntry]{
	"prefix-list-id":   func(p *plEntry) string { return p.pl.ID },
	"prefix-list-name": func(p *plEntry) string { return p.pl.Name },
	"owner-id":         func(p *plEntry) string { return "AWS" },
}

func describeManagedPrefixLists(c *call) (any, error) {
	var in describePrefixListsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	pls, err := selectPrefixLists(c.region, in.PrefixListIds, in.Filters, managedPrefixListFilters)
	if err != nil {
		return nil, err
	}
	var out describeManagedPrefixListsOutput
	if pls, out.NextToken, err = page(pls, in.MaxResults, in.NextToken, 1, 100); err != nil {
		return nil, err
	}
	for _, p := range pls {
		out.PrefixLists = append(out.PrefixLists, managedPrefixListXML{ID: p.pl.ID, AddressFamily: "IPv4", State: "create-complete",
			Arn: "arn:aws:ec2:" + c.region + ":aws:prefix-list/" + p.pl.ID, Name: p.pl.Name, Version: 1, OwnerID: "AWS"})
	}
	return out, nil
}

type getManagedPrefixListEntriesInput struct {
	DryRun        bool
	PrefixListID  string `ec2:"PrefixListId"`
	TargetVersion *int64
	MaxResults    *int32
	NextToken     string
}

type prefixListEntryXML struct {
	Cidr string `xml:"cidr"`
}

type getManagedPrefixListEntriesOutput struct {
	Entries   List[prefixListEntryXML] `xml:"entrySet"`
	NextToken string                   `xml:"nextToken,omitempty"`
}

func getManagedPrefixListEntries(c *call) (any, error) {
	var in getManagedPrefixListEntriesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.PrefixListID == "" {
		return nil, errMissing("PrefixListId")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	pl, ok := prefixListByID(c.region, in.PrefixListID)
	if !ok {
		return nil, errPrefixListNotFound(in.PrefixListID)
	}
	if in.TargetVersion != nil && *in.TargetVersion != 1 {
		return nil, errInvalidParam("The prefix list %s does not have version %d.", pl.ID, *in.TargetVersion)
	}
	entries := cidrStrings(pl.CIDRs)
	start := 0
	if in.NextToken != "" {
		n, err := parseIndexToken(in.NextToken)
		if err != nil || n > len(entries) {
			return nil, errInvalidParam("The token '%s' is invalid.", in.NextToken)
		}
		start = n
	}
	entries = entries[start:]
	var out getManagedPrefixListEntriesOutput
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errInvalidParam("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 1 and 100.", *in.MaxResults)
		}
		if int(*in.MaxResults) < len(entries) {
			entries = entries[:*in.MaxResults]
			out.NextToken = indexToken(start + len(entries))
		}
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, prefixListEntryXML{Cidr: e})
	}
	return out, nil
}

// ---- DescribeVpcEndpointServices ----

// vpceSvcEntry is one (service, type) pair as DescribeVpcEndpointServices
// lists it; its id orders the list.
type vpceSvcEntry struct {
	Meta
	full  string
	name  string
	typ   string
	zones []zone
}

func vpceServiceEntries(region string) []*vpceSvcEntry {
	var out []*vpceSvcEntry
	for _, s := range vpceServices {
		for _, typ := range s.types {
			full := serviceFullName(region, s.name)
			out = append(out, &vpceSvcEntry{Meta: Meta{ID: full + "/" + typ, Owner: "amazon", Region: region},
				full: full, name: s.name, typ: typ, zones: zonesOf(region)})
		}
	}
	return out
}

var vpceServiceFilters = filters[*vpceSvcEntry]{
	"service-name":               func(s *vpceSvcEntry) string { return s.full },
	"service-type":               func(s *vpceSvcEntry) string { return s.typ },
	"owner":                      func(s *vpceSvcEntry) string { return "amazon" },
	"service-region":             func(s *vpceSvcEntry) string { return s.Region },
	"supported-ip-address-types": func(s *vpceSvcEntry) string { return "ipv4" },
}

type serviceTypeXML struct {
	ServiceType string `xml:"serviceType"`
}

type privateDNSDetailsXML struct {
	PrivateDNSName string `xml:"privateDnsName"`
}

type serviceDetailXML struct {
	ServiceName                string                     `xml:"serviceName"`
	ServiceID                  string                     `xml:"serviceId"`
	ServiceType                List[serviceTypeXML]       `xml:"serviceType"`
	ServiceRegion              string                     `xml:"serviceRegion"`
	AvailabilityZoneIDs        List[string]               `xml:"availabilityZoneIdSet"`
	AvailabilityZones          List[string]               `xml:"availabilityZoneSet"`
	Owner                      string                     `xml:"owner"`
	BaseEndpointDNSNames       List[string]               `xml:"baseEndpointDnsNameSet"`
	PrivateDNSName             string                     `xml:"privateDnsName,omitempty"`
	PrivateDNSNames            List[privateDNSDetailsXML] `xml:"privateDnsNameSet,omitempty"`
	VpcEndpointPolicySupported bool                       `xml:"vpcEndpointPolicySupported"`
	AcceptanceRequired         bool                       `xml:"acceptanceRequired"`
	ManagesVpcEndpoints        bool                       `xml:"managesVpcEndpoints"`
	Tags                       List[xs]                   `xml:"tagSet"`
	PrivateDNSNameVerification string                     `xml:"privateDnsNameVerificationState,omitempty"`
	SupportedIPAddressTypes    List[string]               `xml:"supportedIpAddressTypeSet"`
}

func (s *vpceSvcEntry) xml() serviceDetailXML {
	x := serviceDetailXML{ServiceName: s.full, ServiceID: "vpce-svc-" + stableHex("svc/"+s.ID, 17),
		ServiceType: List[serviceTypeXML]{{s.typ}}, ServiceRegion: s.Region, Owner: "amazon",
		VpcEndpointPolicySupported: true, SupportedIPAddressTypes: List[string]{"ipv4"}}
	for _, z := range s.zones {
		x.AvailabilityZones = append(x.AvailabilityZones, z.Name)
		x.AvailabilityZoneIDs = append(x.AvailabilityZoneIDs, z.ID)
	}
	if s.typ == "Gateway" {
		x.BaseEndpointDNSNames = List[string]{s.name + "." + s.Region + ".amazonaws.com"}
		return x
	}
	x.BaseEndpointDNSNames = List[string]{s.name + "." + s.Region + ".vpce.amazonaws.com"}
	x.PrivateDNSName = privateDNSNameOf(s.Region, s.name)
	x.PrivateDNSNames = List[privateDNSDetailsXML]{{x.PrivateDNSName}}
	x.PrivateDNSNameVerification = "verified"
	return x
}

type describeVpcEndpointServicesInput struct {
	DryRun         bool
	ServiceNames   []string `ec2:"ServiceName"`
	Filters        []Filter `ec2:"Filter"`
	MaxResults     *int32
	NextToken      string
	ServiceRegions []string `ec2:"ServiceRegion"`
}

type describeVpcEndpointServicesOutput struct {
	ServiceNames   List[string]           `xml:"serviceNameSet"`
	ServiceDetails List[serviceDetailXML] `xml:"serviceDetailSet"`
	NextToken      string                 `xml:"nextToken,omitempty"`
}

func describeVpcEndpointServices(c *call) (any, error) {
	var in describeVpcEndpointServicesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	if err := vpceServiceFilters.check(in.Filters); err != nil {
		return nil, err
	}
	for _, r := range in.ServiceRegions {
		if r != c.region {
			return nil, errInvalidParam("Cross-Region endpoint services are not supported by lambdaplane yet (%s).", r)
		}
	}
	for _, n := range in.ServiceNames {
		if _, ok := lookupVpceService(c.region, n); !ok {
			return nil, errInvalidServiceName(n)
		}
	}
	var picked []*vpceSvcEntry
	for _, s := range vpceServiceEntries(c.region) {
		if (len(in.ServiceNames) == 0 || slices.Contains(in.ServiceNames, s.full)) && vpceServiceFilters.match(in.Filters, s) {
			picked = append(picked, s)
		}
	}
	var out describeVpcEndpointServicesOutput
	var err error
	if picked, out.NextToken, err = page(picked, clampMax(in.MaxResults, 1000), in.NextToken, 1, 1000); err != nil {
		return nil, err
	}
	for _, s := range picked {
		if !slices.Contains(out.ServiceNames, s.full) {
			out.ServiceNames = append(out.ServiceNames, s.full)
		}
		out.ServiceDetails = append(out.ServiceDetails, s.xml())
	}
	return out, nil
}

// ---- Policies ----

// defaultEndpointPolicy is the full-access policy AWS attaches when none is
// given, in the two renderings AWS shows: compact for gateway endpoints,
// indented for interface endpoints.
func defaultEndpointPolicy(typ string) string {
	if typ == "Gateway" {
		return `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	}
	return "{\n  \"Statement\": [\n    {\n      \"Action\": \"*\", \n      \"Effect\": \"Allow\", \n      \"Principal\": \"*\", \n      \"Resource\": \"*\"\n    }\n  ]\n}"
}

// checkEndpointPolicy refuses a document that is not a valid endpoint
// policy, with the position of a JSON syntax error when there is one.
func checkEndpointPolicy(doc string) error {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		// AWS gives the line and column of the offending character.
		pos := len(doc) + 1
		if se, ok := err.(*json.SyntaxError); ok && int(se.Offset) <= len(doc) && !strings.Contains(se.Error(), "unexpected end") {
			pos = max(int(se.Offset), 1)
		}
		line, col := 1, 1
		for _, b := range []byte(doc[:pos-1]) {
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return apiError("InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (%d,%d)", line, col)
	}
	if _, err := policy.ParseEndpoint(doc); err != nil {
		return apiError("InvalidPolicyDocument", "The Policy Document is not valid. %s", err.Error())
	}
	return nil
}

// ---- Endpoint rules shared by Create and Modify ----

// checkEndpointSubnets resolves subnet ids for an interface endpoint in vpc:
// each must exist in the VPC, and no two may share a zone (with each other
// or with the subnets the endpoint has already).
func checkEndpointSubnets(c *call, t *txn, vpcID string, have, add []string) ([]*Subnet, error) {
	zones := map[string]bool{}
	for _, id := range have {
		if s, ok := getAs[*Subnet](t, id); ok {
			zones[s.Zone] = true
		}
	}
	var out []*Subnet
	seen := map[string]bool{}
	for _, id := range add {
		if seen[id] {
			continue
		}
		seen[id] = true
		s, err := mustFind[*Subnet](c, t, kindSubnet, id)
		if err != nil {
			return nil, err
		}
		if s.VpcID != vpcID {
			return nil, apiError("InvalidParameter", "Subnet %s does not belong to VPC %s.", id, vpcID)
		}
		if zones[s.Zone] {
			return nil, apiError("DuplicateSubnetsInSameZone", "Found another VPC endpoint subnet in the availability zone of %s. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.", id)
		}
		zones[s.Zone] = true
		out = append(out, s)
	}
	return out, nil
}

// checkPrivateDNS applies the rules for turning private DNS on for e:
// the VPC needs both DNS attributes, no other endpoint of the VPC may
// already answer the service's name, and S3's inbound-only mode needs a
// gateway endpoint for S3 in the VPC.
func checkPrivateDNS(t *txn, e *Endpoint) error {
	v, ok := getAs[*Vpc](t, e.VpcID)
	if !ok {
		return errNotFound(kindVpc, e.VpcID)
	}
	if !v.DNSSupport || !v.DNSHostnames {
		return apiError("InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", v.ID)
	}
	conflict := anyOf(t, kindEndpoint, func(o *Endpoint) bool {
		return o.ID != e.ID && o.VpcID == e.VpcID && o.ServiceName == e.ServiceName && o.Type == "Interface" && o.PrivateDNS && o.live()
	})
	if conflict {
		return apiError("InvalidParameter", "private-dns-enabled cannot be set because there is already a conflicting DNS domain for %s in the VPC %s", privateDNSNameOf(e.Region, e.service()), e.VpcID)
	}
	if e.PrivateDNSInboundOnly {
		gw := anyOf(t, kindEndpoint, func(o *Endpoint) bool {
			return o.VpcID == e.VpcID && o.ServiceName == e.ServiceName && o.Type == "Gateway" && o.live()
		})
		if !gw {
			return apiError("InvalidParameter", "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC %s must have a Gateway endpoint for the service.", e.VpcID)
		}
	}
	return nil
}

// addEndpointInterfaces makes e's network interface in each subnet.
func addEndpointInterfaces(c *call, t *txn, e *Endpoint, subnets []*Subnet) error {
	for _, s := range subnets {
		eni, err := newENI(c, t, s, eniSpec{Groups: slices.Clone(e.GroupIDs), Description: "VPC Endpoint Interface " + e.ID,
			InterfaceType: "vpc_endpoint", RequesterID: endpointRequesterID, Managed: true, ManagedBy: e.ID})
		if err != nil {
			return err
		}
		e.Interfaces = append(e.Interfaces, EndpointInterface{SubnetID: s.ID, NetworkInterfaceID: eni.ID})
	}
	return nil
}

// addEndpointRoutes points each route table's route to the service's
// prefix list at the gateway endpoint e.
func addEndpointRoutes(c *call, t *txn, e *Endpoint, ids []string) error {
	pl := prefixListOf(e.Region, e.service())
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || slices.Contains(e.RouteTableIDs, id) {
			continue
		}
		seen[id] = true
		rt, err := mustFind[*RouteTable](c, t, kindRTB, id)
		if err != nil {
			return err
		}
		if rt.VpcID != e.VpcID {
			return apiError("InvalidParameter", "Route table %s does not belong to VPC %s.", id, e.VpcID)
		}
		if slices.ContainsFunc(rt.Routes, func(r Route) bool { return r.DestinationPrefixListID == pl.ID }) {
			return apiError("RouteAlreadyExists", "route table %s already has a route with destination-prefix-list-id %s", id, pl.ID)
		}
		edit := editAs[*RouteTable](t, id)
		edit.Routes = append(edit.Routes, Route{DestinationPrefixListID: pl.ID, GatewayID: e.ID, Origin: "CreateRoute"})
		e.RouteTableIDs = append(e.RouteTableIDs, id)
	}
	return nil
}

// removeEndpointRoute takes e's route out of route table id (if the table
// still exists).
func removeEndpointRoute(t *txn, e *Endpoint, id string) {
	rt, ok := getAs[*RouteTable](t, id)
	if !ok || !slices.ContainsFunc(rt.Routes, func(r Route) bool { return r.GatewayID == e.ID }) {
		return
	}
	edit := editAs[*RouteTable](t, id)
	edit.Routes = slices.DeleteFunc(edit.Routes, func(r Route) bool { return r.GatewayID == e.ID })
}

// dnsSuffix is the 8 lower-case letters and digits AWS puts after the
// endpoint id in its DNS names.
func dnsSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte(randHex(16))
	out := make([]byte, 8)
	for i := range out {
		out[i] = alphabet[(int(b[2*i])*16+int(b[2*i+1]))%len(alphabet)]
	}
	return string(out)
}

// ---- XML ----

type vpceGroupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type vpceDNSEntryXML struct {
	DNSName      string `xml:"dnsName"`
	HostedZoneID string `xml:"hostedZoneId"`
}

type vpceDNSOptionsXML struct {
	DNSRecordIPType       string `xml:"dnsRecordIpType"`
	PrivateDNSInboundOnly *bool  `xml:"privateDnsOnlyForInboundResolverEndpoint,omitempty"`
}

type vpceXML struct {
	VpcEndpointID       string                `xml:"vpcEndpointId"`
	VpcEndpointType     string                `xml:"vpcEndpointType"`
	VpcID               string                `xml:"vpcId"`
	ServiceName         string                `xml:"serviceName"`
	State               string                `xml:"state"`
	PolicyDocument      string                `xml:"policyDocument"`
	RouteTableIDs       List[string]          `xml:"routeTableIdSet"`
	SubnetIDs           List[string]          `xml:"subnetIdSet"`
	Groups              List[vpceGroupXML]    `xml:"groupSet"`
	IPAddressType       string                `xml:"ipAddressType,omitempty"`
	DNSOptions          *vpceDNSOptionsXML    `xml:"dnsOptions,omitempty"`
	PrivateDNSEnabled   bool                  `xml:"privateDnsEnabled"`
	RequesterManaged    bool                  `xml:"requesterManaged"`
	NetworkInterfaceIDs List[string]          `xml:"networkInterfaceIdSet"`
	DNSEntries          List[vpceDNSEntryXML] `xml:"dnsEntrySet"`
	CreationTimestamp   string                `xml:"creationTimestamp"`
	Tags                []Tag                 `xml:"tagSet>item,omitempty"`
	OwnerID             string                `xml:"ownerId"`
}

// dnsEntries are the names AWS gives an interface endpoint: a regional
// name, one per zone of its subnets and, with private DNS, the service's
// own name in the VPC's hidden private zone. S3's names are wildcards.
func (e *Endpoint) dnsEntries(t *txn) []vpceDNSEntryXML {
	if e.Type != "Interface" || !e.live() {
		return nil
	}
	name := e.service()
	wild := ""
	if name == "s3" {
		wild = "*."
	}
	zoneID := vpceHostedZone(e.Region)
	base := e.ID + "-" + e.DNSSuffix
	tail := "." + name + "." + e.Region + ".vpce.amazonaws.com"
	out := []vpceDNSEntryXML{{wild + base + tail, zoneID}}
	for _, ei := range e.Interfaces {
		if s, ok := getAs[*Subnet](t, ei.SubnetID); ok {
			out = append(out, vpceDNSEntryXML{wild + base + "-" + s.Zone + tail, zoneID})
		}
	}
	if e.PrivateDNS {
		out = append(out, vpceDNSEntryXML{privateDNSNameOf(e.Region, name), hostedZoneLike("private/" + e.ID)})
	}
	return out
}

func (e *Endpoint) xml(t *txn) vpceXML {
	x := vpceXML{VpcEndpointID: e.ID, VpcEndpointType: e.Type, VpcID: e.VpcID, ServiceName: e.ServiceName, State: e.State,
		PolicyDocument: e.Policy, RouteTableIDs: List[string]{}, SubnetIDs: List[string]{}, Groups: List[vpceGroupXML]{},
		PrivateDNSEnabled: e.PrivateDNS, NetworkInterfaceIDs: List[string]{}, DNSEntries: e.dnsEntries(t),
		CreationTimestamp: timestamp(e.Created), Tags: e.Tags, OwnerID: e.Owner}
	for _, id := range e.RouteTableIDs {
		if _, ok := getAs[*RouteTable](t, id); ok {
			x.RouteTableIDs = append(x.RouteTableIDs, id)
		}
	}
	for _, ei := range e.Interfaces {
		x.SubnetIDs = append(x.SubnetIDs, ei.SubnetID)
		x.NetworkInterfaceIDs = append(x.NetworkInterfaceIDs, ei.NetworkInterfaceID)
	}
	for _, g := range e.GroupIDs {
		name := ""
		if sg, ok := getAs[*SecurityGroup](t, g); ok {
			name = sg.Name
		}
		x.Groups = append(x.Groups, vpceGroupXML{GroupID: g, GroupName: name})
	}
	if e.Type == "Interface" {
		x.IPAddressType = "ipv4"
		x.DNSOptions = &vpceDNSOptionsXML{DNSRecordIPType: "ipv4"}
		if e.service() == "s3" && e.PrivateDNS {
			x.DNSOptions.PrivateDNSInboundOnly = &e.PrivateDNSInboundOnly
		}
	}
	return x
}

// ---- CreateVpcEndpoint ----

type vpceDNSOptionsInput struct {
	DNSRecordIPType                          string `ec2:"DnsRecordIpType"`
	PrivateDnsOnlyForInboundResolverEndpoint *bool
}

type createVpcEndpointInput struct {
	DryRun            bool
	VpcEndpointType   string
	VpcID             string `ec2:"VpcId"`
	ServiceName       string
	PolicyDocument    *string
	RouteTableIDs     []string             `ec2:"RouteTableId"`
	SubnetIDs         []string             `ec2:"SubnetId"`
	SecurityGroupIDs  []string             `ec2:"SecurityGroupId"`
	IPAddressType     string               `ec2:"IpAddressType"`
	DNSOptions        *vpceDNSOptionsInput `ec2:"DnsOptions"`
	ClientToken       string
	PrivateDNSEnabled *bool              `ec2:"PrivateDnsEnabled"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type createVpcEndpointOutput struct {
	VpcEndpoint vpceXML `xml:"vpcEndpoint"`
	ClientToken string  `xml:"clientToken,omitempty"`
}

// requestHash fingerprints a request's parameters other than the ones that
// do not change what it asks for.
func requestHash(c *call) string {
	keys := make([]string, 0, len(c.form))
	for k := range c.form {
		switch k {
		case "Action", "Version", "ClientToken", "DryRun":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\x00" + strings.Join(c.form[k], "\x00") + "\x01"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func checkIPAddressType(typ string, dns *vpceDNSOptionsInput) error {
	switch typ {
	case "", "ipv4":
	case "dualstack", "ipv6":
		return apiError("InvalidParameter", "IpAddressType %s is not supported by lambdaplane yet: VPCs have no IPv6 ranges.", typ)
	default:
		return errInvalidParam("Value (%s) for parameter IpAddressType is invalid. Valid values: ipv4, dualstack, ipv6", typ)
	}
	if dns != nil {
		switch dns.DNSRecordIPType {
		case "", "ipv4", "service-defined":
		case "dualstack", "ipv6":
			return apiError("InvalidParameter", "DnsRecordIpType %s is not supported by lambdaplane yet: VPCs have no IPv6 ranges.", dns.DNSRecordIPType)
		default:
			return errInvalidParam("Value (%s) for parameter DnsRecordIpType is invalid. Valid values: ipv4, dualstack, ipv6, service-defined", dns.DNSRecordIPType)
		}
	}
	return nil
}

func typeMismatch(typ string, svc vpceServiceDef) error {
	return apiError("InvalidParameter", "Endpoint type (%s) does not match available service types ([%s]).", typ, strings.Join(svc.types, ", "))
}

func createVpcEndpoint(c *call) (any, error) {
	var in createVpcEndpointInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if in.ServiceName == "" {
		return nil, errMissing("ServiceName")
	}
	typ := in.VpcEndpointType
	if typ == "" {
		typ = "Gateway"
	}
	switch typ {
	case "Gateway", "Interface", "GatewayLoadBalancer", "Resource", "ServiceNetwork":
	default:
		return nil, errInvalidParam("Value (%s) for parameter VpcEndpointType is invalid. Valid values: Interface, Gateway, GatewayLoadBalancer, Resource, ServiceNetwork", typ)
	}
	svc, ok := lookupVpceService(c.region, in.ServiceName)
	if !ok {
		return nil, errInvalidServiceName(in.ServiceName)
	}
	if !slices.Contains(svc.types, typ) {
		return nil, typeMismatch(typ, svc)
	}
	e := &Endpoint{Meta: c.meta(kindEndpoint, nil), VpcID: in.VpcID, ServiceName: in.ServiceName, Type: typ,
		ClientToken: in.ClientToken, RequestHash: requestHash(c)}
	if typ == "Gateway" {
		switch {
		case len(in.SubnetIDs) > 0:
			return nil, apiError("InvalidParameter", "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
		case len(in.SecurityGroupIDs) > 0:
			return nil, apiError("InvalidParameter", "Security group IDs are only supported for Interface type VPC Endpoints.")
		case in.PrivateDNSEnabled != nil && *in.PrivateDNSEnabled:
			return nil, apiError("InvalidParameter", "Private DNS is only supported for Interface type VPC Endpoints.")
		case in.DNSOptions != nil && in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint != nil:
			return nil, apiError("InvalidParameter", "DnsOptions PrivateDnsOnlyForInboundResolverEndpoint is applicable only to Interface VPC Endpoints.")
		}
	} else {
		if len(in.RouteTableIDs) > 0 {
			return nil, apiError("InvalidParameter", "Route table IDs are only supported for Gateway type VPC Endpoint.")
		}
		// Private DNS is on by default for AWS services, except S3,
		// whose private DNS needs a gateway endpoint beside it.
		e.PrivateDNS = svc.name != "s3"
		if in.PrivateDNSEnabled != nil {
			e.PrivateDNS = *in.PrivateDNSEnabled
		}
		inbound := in.DNSOptions != nil && in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint != nil
		if inbound && svc.name != "s3" {
			return nil, apiError("InvalidParameter", "DnsOptions PrivateDnsOnlyForInboundResolverEndpoint is applicable only to services that also have a Gateway endpoint.")
		}
		if svc.name == "s3" && e.PrivateDNS {
			e.PrivateDNSInboundOnly = !inbound || *in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint
		}
		if err := checkIPAddressType(in.IPAddressType, in.DNSOptions); err != nil {
			return nil, err
		}
		e.DNSSuffix = dnsSuffix()
	}
	e.Policy = defaultEndpointPolicy(typ)
	if in.PolicyDocument != nil {
		if err := checkEndpointPolicy(*in.PolicyDocument); err != nil {
			return nil, err
		}
		e.Policy = *in.PolicyDocument
	}
	tags, err := tagsFor(kindEndpoint, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	e.Tags = tags
	if err := c.authorize(c.arn("vpc-endpoint", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var out createVpcEndpointOutput
	err = c.s.write(c, func(t *txn) error {
		if in.ClientToken != "" {
			if prev := endpointByToken(c, t, in.ClientToken); prev != nil {
				if prev.RequestHash != e.RequestHash {
					return apiError("IdempotentParameterMismatch", "The client token %s has already been used with different parameters.", in.ClientToken)
				}
				out = createVpcEndpointOutput{VpcEndpoint: prev.xml(t), ClientToken: in.ClientToken}
				return nil
			}
		}
		if _, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID); err != nil {
			return err
		}
		if typ == "Gateway" {
			e.State = "available"
			if err := addEndpointRoutes(c, t, e, in.RouteTableIDs); err != nil {
				return err
			}
		} else {
			e.State, e.Until = "pending", c.now.Add(c.s.opts.EndpointCreateDelay)
			subnets, err := checkEndpointSubnets(c, t, in.VpcID, nil, in.SubnetIDs)
			if err != nil {
				return err
			}
			if e.GroupIDs, err = checkGroups(c, t, in.VpcID, in.SecurityGroupIDs); err != nil {
				return err
			}
			if e.PrivateDNS {
				if err := checkPrivateDNS(t, e); err != nil {
					return err
				}
			}
			if err := addEndpointInterfaces(c, t, e, subnets); err != nil {
				return err
			}
		}
		t.put(e)
		out = createVpcEndpointOutput{VpcEndpoint: e.xml(t), ClientToken: in.ClientToken}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func endpointByToken(c *call, t *txn, token string) *Endpoint {
	for _, e := range all[*Endpoint](t, kindEndpoint, c.acct, c.region) {
		if e.ClientToken == token {
			return e
		}
	}
	return nil
}

// ---- DescribeVpcEndpoints ----

var vpceFilters = filters[*Endpoint]{
	"service-name":       func(e *Endpoint) string { return e.ServiceName },
	"service-region":     func(e *Endpoint) string { return e.Region },
	"vpc-id":             func(e *Endpoint) string { return e.VpcID },
	"vpc-endpoint-id":    func(e *Endpoint) string { return e.ID },
	"vpc-endpoint-state": func(e *Endpoint) string { return e.State },
	"vpc-endpoint-type":  func(e *Endpoint) string { return e.Type },
	"ip-address-type": func(e *Endpoint) []string {
		if e.Type == "Interface" {
			return one("ipv4")
		}
		return nil
	},
}

type describeVpcEndpointsInput struct {
	DryRun         bool
	VpcEndpointIDs []string `ec2:"VpcEndpointId"`
	Filters        []Filter `ec2:"Filter"`
	MaxResults     *int32
	NextToken      string
}

type describeVpcEndpointsOutput struct {
	VpcEndpoints List[vpceXML] `xml:"vpcEndpointSet"`
	NextToken    string        `xml:"nextToken,omitempty"`
}

func describeVpcEndpoints(c *call) (any, error) {
	var in describeVpcEndpointsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	var out describeVpcEndpointsOutput
	err := c.s.read(c, func(t *txn) error {
		for _, id := range in.VpcEndpointIDs {
			if !validID(kindEndpoint, id) {
				return errMalformed(kindEndpoint, id)
			}
		}
		es, err := selectResources(c, t, kindEndpoint, in.VpcEndpointIDs, in.Filters, vpceFilters)
		if err != nil {
			return err
		}
		if es, out.NextToken, err = page(es, clampMax(in.MaxResults, 1000), in.NextToken, 1, 1000); err != nil {
			return err
		}
		for _, e := range es {
			out.VpcEndpoints = append(out.VpcEndpoints, e.xml(t))
		}
		return nil
	})
	return out, err
}

// ---- ModifyVpcEndpoint ----

type modifyVpcEndpointInput struct {
	DryRun                 bool
	VpcEndpointID          string `ec2:"VpcEndpointId"`
	ResetPolicy            *bool
	PolicyDocument         *string
	AddRouteTableIDs       []string             `ec2:"AddRouteTableId"`
	RemoveRouteTableIDs    []string             `ec2:"RemoveRouteTableId"`
	AddSubnetIDs           []string             `ec2:"AddSubnetId"`
	RemoveSubnetIDs        []string             `ec2:"RemoveSubnetId"`
	AddSecurityGroupIDs    []string             `ec2:"AddSecurityGroupId"`
	RemoveSecurityGroupIDs []string             `ec2:"RemoveSecurityGroupId"`
	IPAddressType          string               `ec2:"IpAddressType"`
	DNSOptions             *vpceDNSOptionsInput `ec2:"DnsOptions"`
	PrivateDNSEnabled      *bool                `ec2:"PrivateDnsEnabled"`
}

func modifyVpcEndpoint(c *call) (any, error) {
	var in modifyVpcEndpointInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcEndpointID == "" {
		return nil, errMissing("VpcEndpointId")
	}
	reset := in.ResetPolicy != nil && *in.ResetPolicy
	if reset && in.PolicyDocument != nil {
		return nil, errCombination("The parameters PolicyDocument and ResetPolicy cannot be used together.")
	}
	if in.PolicyDocument != nil {
		if err := checkEndpointPolicy(*in.PolicyDocument); err != nil {
			return nil, err
		}
	}
	if err := checkIPAddressType(in.IPAddressType, in.DNSOptions); err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("vpc-endpoint", in.VpcEndpointID), in.DryRun); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		e, err := mustEdit[*Endpoint](c, t, kindEndpoint, in.VpcEndpointID)
		if err != nil {
			return err
		}
		if !e.live() {
			return errNotFound(kindEndpoint, e.ID)
		}
		switch {
		case reset:
			e.Policy = defaultEndpointPolicy(e.Type)
		case in.PolicyDocument != nil:
			e.Policy = *in.PolicyDocument
		}
		if e.Type == "Gateway" {
			return modifyGatewayEndpoint(c, t, e, &in)
		}
		return modifyInterfaceEndpoint(c, t, e, &in)
	})
}

func modifyGatewayEndpoint(c *call, t *txn, e *Endpoint, in *modifyVpcEndpointInput) error {
	switch {
	case len(in.AddSubnetIDs) > 0 || len(in.RemoveSubnetIDs) > 0:
		return apiError("InvalidParameter", "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
	case len(in.AddSecurityGroupIDs) > 0 || len(in.RemoveSecurityGroupIDs) > 0:
		return apiError("InvalidParameter", "Security group IDs are only supported for Interface type VPC Endpoints.")
	case in.PrivateDNSEnabled != nil && *in.PrivateDNSEnabled:
		return apiError("InvalidParameter", "Private DNS is only supported for Interface type VPC Endpoints.")
	case in.DNSOptions != nil && in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint != nil:
		return apiError("InvalidParameter", "DnsOptions PrivateDnsOnlyForInboundResolverEndpoint is applicable only to Interface VPC Endpoints.")
	}
	for _, id := range in.RemoveRouteTableIDs {
		if !slices.Contains(e.RouteTableIDs, id) {
			if _, err := mustFind[*RouteTable](c, t, kindRTB, id); err != nil {
				return err
			}
			return apiError("InvalidParameter", "Route table %s is not associated with %s.", id, e.ID)
		}
		removeEndpointRoute(t, e, id)
		e.RouteTableIDs = slices.DeleteFunc(e.RouteTableIDs, func(x string) bool { return x == id })
	}
	return addEndpointRoutes(c, t, e, in.AddRouteTableIDs)
}

func modifyInterfaceEndpoint(c *call, t *txn, e *Endpoint, in *modifyVpcEndpointInput) error {
	if len(in.AddRouteTableIDs) > 0 || len(in.RemoveRouteTableIDs) > 0 {
		return apiError("InvalidParameter", "Route table IDs are only supported for Gateway type VPC Endpoint.")
	}
	isS3 := e.service() == "s3"
	if in.DNSOptions != nil && in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint != nil && !isS3 {
		return apiError("InvalidParameter", "DnsOptions PrivateDnsOnlyForInboundResolverEndpoint is applicable only to services that also have a Gateway endpoint.")
	}
	// Subnets: the removed ones' interfaces go, the added ones get theirs.
	for _, id := range in.RemoveSubnetIDs {
		i := slices.IndexFunc(e.Interfaces, func(ei EndpointInterface) bool { return ei.SubnetID == id })
		if i < 0 {
			if _, err := mustFind[*Subnet](c, t, kindSubnet, id); err != nil {
				return err
			}
			return apiError("InvalidParameter", "Subnet %s is not associated with %s.", id, e.ID)
		}
		t.del(e.Interfaces[i].NetworkInterfaceID)
		e.Interfaces = slices.Delete(e.Interfaces, i, i+1)
	}
	have := make([]string, 0, len(e.Interfaces))
	for _, ei := range e.Interfaces {
		have = append(have, ei.SubnetID)
	}
	var add []string
	for _, id := range in.AddSubnetIDs {
		if !slices.Contains(have, id) {
			add = append(add, id)
		}
	}
	subnets, err := checkEndpointSubnets(c, t, e.VpcID, have, add)
	if err != nil {
		return err
	}
	// Groups: every interface of the endpoint follows the endpoint's set.
	if len(in.AddSecurityGroupIDs) > 0 {
		added, err := checkGroups(c, t, e.VpcID, in.AddSecurityGroupIDs)
		if err != nil {
			return err
		}
		for _, g := range added {
			if !slices.Contains(e.GroupIDs, g) {
				e.GroupIDs = append(e.GroupIDs, g)
			}
		}
	}
	for _, g := range in.RemoveSecurityGroupIDs {
		if !slices.Contains(e.GroupIDs, g) {
			if _, err := mustFind[*SecurityGroup](c, t, kindSG, g); err != nil {
				return err
			}
			return apiError("InvalidParameter", "Security group %s is not associated with %s.", g, e.ID)
		}
		e.GroupIDs = slices.DeleteFunc(e.GroupIDs, func(x string) bool { return x == g })
	}
	if len(e.GroupIDs) == 0 {
		return apiError("InvalidParameter", "A VPC endpoint must have at least one security group.")
	}
	for _, ei := range e.Interfaces {
		if eni := editAs[*NetworkInterface](t, ei.NetworkInterfaceID); eni != nil {
			eni.Groups = slices.Clone(e.GroupIDs)
		}
	}
	if err := addEndpointInterfaces(c, t, e, subnets); err != nil {
		return err
	}
	if len(subnets) > 0 {
		e.State, e.Until = "pending", c.now.Add(c.s.opts.EndpointCreateDelay)
	}
	// Private DNS, with the same rules as at creation.
	was := e.PrivateDNS
	if in.PrivateDNSEnabled != nil {
		e.PrivateDNS = *in.PrivateDNSEnabled
	}
	switch {
	case !e.PrivateDNS || !isS3:
		e.PrivateDNSInboundOnly = false
	case in.DNSOptions != nil && in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint != nil:
		e.PrivateDNSInboundOnly = *in.DNSOptions.PrivateDnsOnlyForInboundResolverEndpoint
	case !was:
		// Turning S3's private DNS on defaults to inbound-only, as at creation.
		e.PrivateDNSInboundOnly = true
	}
	if e.PrivateDNS && (in.PrivateDNSEnabled != nil || in.DNSOptions != nil) {
		return checkPrivateDNS(t, e)
	}
	return nil
}

// ---- DeleteVpcEndpoints ----

type deleteVpcEndpointsInput struct {
	DryRun         bool
	VpcEndpointIDs []string `ec2:"VpcEndpointId"`
}

type unsuccessfulErrorXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type unsuccessfulItemXML struct {
	Error      unsuccessfulErrorXML `xml:"error"`
	ResourceID string               `xml:"resourceId"`
}

type deleteVpcEndpointsOutput struct {
	Unsuccessful List[unsuccessfulItemXML] `xml:"unsuccessful"`
}

func deleteVpcEndpoints(c *call) (any, error) {
	var in deleteVpcEndpointsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.VpcEndpointIDs) == 0 {
		return nil, errMissing("VpcEndpointId")
	}
	for _, id := range in.VpcEndpointIDs {
		if err := c.authorize(c.arn("vpc-endpoint", id), false); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	var out deleteVpcEndpointsOutput
	err := c.s.write(c, func(t *txn) error {
		for _, id := range in.VpcEndpointIDs {
			e, ok := findAs[*Endpoint](c, t, kindEndpoint, id)
			if !ok || !e.live() {
				code, msg := "InvalidVpcEndpoint.NotFound", errNotFound(kindEndpoint, id).Message
				if !validID(kindEndpoint, id) {
					me := errMalformed(kindEndpoint, id)
					code, msg = me.Code, me.Message
				}
				out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItemXML{ResourceID: id, Error: unsuccessfulErrorXML{code, msg}})
				continue
			}
			deleteEndpoint(c, t, e.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteEndpoint takes the endpoint's interfaces and routes away at once
// (so that its subnets and route tables are free) and starts its way to
// deleted: an interface endpoint stays "deleting" for the endpoint delay.
func deleteEndpoint(c *call, t *txn, id string) {
	e := editAs[*Endpoint](t, id)
	for _, ei := range e.Interfaces {
		t.del(ei.NetworkInterfaceID)
	}
	for _, rt := range e.RouteTableIDs {
		removeEndpointRoute(t, e, rt)
	}
	e.Interfaces, e.RouteTableIDs = nil, nil
	e.PrivateDNS, e.PrivateDNSInboundOnly = false, false
	if e.Type == "Interface" && c.s.opts.EndpointCreateDelay > 0 {
		e.State, e.Until = "deleting", c.now.Add(c.s.opts.EndpointCreateDelay)
		return
	}
	e.State, e.Until = "deleted", c.now.Add(endpointDeletedVisible)
}

// settleEndpoints moves endpoints through their timed states and removes
// deleted ones once they have been visible long enough.
func settleEndpoints(s *Service, t *txn) time.Time {
	var next time.Time
	t.each(kindEndpoint, func(r resource) bool {
		e := r.(*Endpoint)
		if e.Until.IsZero() {
			return true
		}
		if e.Until.After(t.now) {
			if next.IsZero() || e.Until.Before(next) {
				next = e.Until
			}
			return true
		}
		switch e.State {
		case "pending":
			edit := editAs[*Endpoint](t, e.ID)
			edit.State, edit.Until = "available", time.Time{}
		case "deleting":
			edit := editAs[*Endpoint](t, e.ID)
			edit.State, edit.Until = "deleted", t.now.Add(endpointDeletedVisible)
			if next.IsZero() || edit.Until.Before(next) {
				next = edit.Until
			}
		case "deleted":
			t.del(e.ID)
		}
		return true
	})
	return next
}

// ---- What Lambda and the data plane read ----

// VpcEndpointInfo is what other parts of lambdaplane need to know about a
// VPC endpoint: its policy (for authorizing requests that come through it)
// and its network interfaces (where the data plane listens).
type VpcEndpointInfo struct {
	ID             string
	Owner          string
	Region         string
	VpcID          string
	ServiceName    string // com.amazonaws.REGION.NAME
	Type           string // Interface, Gateway
	State          string
	PolicyDocument string
	PrivateDNS     bool
	Interfaces     []VpcEndpointAddress
}

// VpcEndpointAddress is one network interface of an interface endpoint.
type VpcEndpointAddress struct {
	NetworkInterfaceID string
	SubnetID           string
	PrivateIP          string
}

func (e *Endpoint) info(t *txn) VpcEndpointInfo {
	x := VpcEndpointInfo{ID: e.ID, Owner: e.Owner, Region: e.Region, VpcID: e.VpcID, ServiceName: e.ServiceName,
		Type: e.Type, State: e.State, PolicyDocument: e.Policy, PrivateDNS: e.PrivateDNS}
	for _, ei := range e.Interfaces {
		a := VpcEndpointAddress{NetworkInterfaceID: ei.NetworkInterfaceID, SubnetID: ei.SubnetID}
		if eni, ok := getAs[*NetworkInterface](t, ei.NetworkInterfaceID); ok {
			a.PrivateIP = eni.PrivateIP
		}
		x.Interfaces = append(x.Interfaces, a)
	}
	return x
}

// VpcEndpoint returns the endpoint with id, whatever its account, unless it
// has been deleted.
func (s *Service) VpcEndpoint(id string) (VpcEndpointInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := newTxn(s.state, s.now().UTC())
	e, ok := getAs[*Endpoint](t, id)
	if !ok || !e.live() {
		return VpcEndpointInfo{}, false
	}
	return e.info(t), true
}

// VpcEndpointAt returns the interface endpoint that owns the network
// interface with private address ip in VPC vpcID, if any.
func (s *Service) VpcEndpointAt(vpcID, ip string) (VpcEndpointInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := newTxn(s.state, s.now().UTC())
	var owner string
	t.each(kindENI, func(r resource) bool {
		eni := r.(*NetworkInterface)
		if eni.VpcID == vpcID && eni.PrivateIP == ip && eni.InterfaceType == "vpc_endpoint" {
			owner = eni.ManagedBy
			return false
		}
		return true
	})
	e, ok := getAs[*Endpoint](t, owner)
	if !ok || !e.live() {
		return VpcEndpointInfo{}, false
	}
	return e.info(t), true
}

// PrivateDNSName is the name private DNS answers for an interface
// endpoint inside its VPC (S3's covers every bucket below it).
func (e *Endpoint) PrivateDNSName() string {
	return strings.TrimPrefix(privateDNSNameOf(e.Region, e.service()), "*.")
}
