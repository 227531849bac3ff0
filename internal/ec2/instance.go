package ec2

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// Instance states, as InstanceState names them.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
)

// stateCodes are the codes AWS pairs with each state name.
var stateCodes = map[string]int32{statePending: 0, stateRunning: 16, stateShuttingDown: 32, stateTerminated: 48,
	stateStopping: 64, stateStopped: 80}

// terminatedVisibleFor is how long a terminated instance stays visible, as
// on AWS ("approximately one hour").
const terminatedVisibleFor = time.Hour

// Instance is an EC2 instance. Its network lives in its interfaces (the
// primary one at device index 0); the data plane runs its UserData and
// writes what it prints to ConsoleOutput.
type Instance struct {
	Meta
	ReservationID string `json:"reservation"`
	ImageID       string `json:"image"`
	InstanceType  string `json:"type"`
	KeyName       string `json:"key,omitempty"`
	LaunchIndex   int32  `json:"launchIndex"`
	ClientToken   string `json:"clientToken,omitempty"`
	// RequestHash fingerprints the RunInstances request, so that a retry
	// with the same client token but other parameters is refused.
	RequestHash string `json:"requestHash,omitempty"`
	VpcID       string `json:"vpc"`
	SubnetID    string `json:"subnet"`
	Zone        string `json:"az"`
	ZoneID      string `json:"azId"`
	Tenancy     string `json:"tenancy"`
	// UserData is the script as RunInstances got it: base64.
	UserData           string    `json:"userData,omitempty"`
	IamInstanceProfile string    `json:"profile,omitempty"` // the instance profile's ARN
	Monitoring         bool      `json:"monitoring,omitempty"`
	LaunchTime         time.Time `json:"launchTime"`
	State              string    `json:"state"`
	StateChanged       time.Time `json:"stateChanged"`
	// StateReason is the code of why the instance last changed state
	// (pending, Client.UserInitiatedShutdown); Reason is the text
	// DescribeInstances shows as StateTransitionReason.
	StateReason string `json:"stateReason,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// PublicIPOnStart says the primary interface lost a launch-time public
	// address when the instance stopped; starting it gives a new one.
	PublicIPOnStart bool `json:"publicIpOnStart,omitempty"`
	// ConsoleOutput is what the instance printed, as the data plane
	// records it; ConsoleTime is when it last did.
	ConsoleOutput string    `json:"console,omitempty"`
	ConsoleTime   time.Time `json:"consoleTime,omitempty"`
}

func (i *Instance) vpcID() string    { return i.VpcID }
func (i *Instance) subnetID() string { return i.SubnetID }
func (i *Instance) isGone() bool     { return i.settled() == stateTerminated }

// settled is the state the instance is in once its transition completes.
// Transitions take no time in the model: the Run, Start, Stop and Terminate
// responses show the transitional state, everything after shows where it
// leads (the settler then records it).
func (i *Instance) settled() string {
	switch i.State {
	case statePending:
		return stateRunning
	case stateStopping:
		return stateStopped
	case stateShuttingDown:
		return stateTerminated
	}
	return i.State
}

// visible reports whether the instance still shows up at now: terminated
// instances vanish after about an hour.
func (i *Instance) visible(now time.Time) bool {
	return i.settled() != stateTerminated || now.Before(i.StateChanged.Add(terminatedVisibleFor))
}

func init() {
	registerKind(kindInstance, func() resource { return new(Instance) })
	registerSettler(settleInstances)
	handle("RunInstances", runInstances)
	handle("DescribeInstances", describeInstances)
	handle("StopInstances", stopInstances)
	handle("StartInstances", startInstances)
	handle("TerminateInstances", terminateInstances)
	handle("GetConsoleOutput", getConsoleOutput)
	handle("DescribeInstanceStatus", describeInstanceStatus)
}

// settleInstances records finished transitions and forgets terminated
// instances an hour after they ended.
func settleInstances(_ *Service, t *txn) time.Time {
	var next time.Time
	t.each(kindInstance, func(r resource) bool {
		i := r.(*Instance)
		if st := i.settled(); st != i.State {
			i = editAs[*Instance](t, i.ID)
			i.State = st
			if st != stateTerminated {
				i.StateChanged = t.now
			}
		}
		if i.State == stateTerminated {
			if !i.visible(t.now) {
				t.del(i.ID)
			} else if due := i.StateChanged.Add(terminatedVisibleFor); next.IsZero() || due.Before(next) {
				next = due
			}
		}
		return true
	})
	return next
}

type instanceStateXML struct {
	Code int32  `xml:"code"`
	Name string `xml:"name"`
}

func stateXML(name string) instanceStateXML {
	return instanceStateXML{Code: stateCodes[name], Name: name}
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

// stateReasonMessages are the messages AWS pairs with state reason codes.
var stateReasonMessages = map[string]string{
	"pending":                      "pending",
	"Client.UserInitiatedShutdown": "Client.UserInitiatedShutdown: User initiated shutdown",
}

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type monitoringXML struct {
	State string `xml:"state"`
}

type iamProfileXML struct {
	Arn string `xml:"arn"`
}

type instanceENIAssocXML struct {
	IPOwnerID     string `xml:"ipOwnerId"`
	PublicDNSName string `xml:"publicDnsName"`
	PublicIP      string `xml:"publicIp"`
}

type instancePrivateIPXML struct {
	Association      *instanceENIAssocXML `xml:"association,omitempty"`
	Primary          bool                 `xml:"primary"`
	PrivateDNSName   string               `xml:"privateDnsName"`
	PrivateIPAddress string               `xml:"privateIpAddress"`
}

// instanceENIXML is an interface as DescribeInstances shows it.
type instanceENIXML struct {
	Association        *instanceENIAssocXML       `xml:"association,omitempty"`
	Attachment         *eniAttachXML              `xml:"attachment,omitempty"`
	Description        string                     `xml:"description"`
	Groups             List[groupXML]             `xml:"groupSet"`
	Ipv6Addresses      List[xs]                   `xml:"ipv6AddressesSet"`
	MacAddress         string                     `xml:"macAddress"`
	NetworkInterfaceID string                     `xml:"networkInterfaceId"`
	OwnerID            string                     `xml:"ownerId"`
	PrivateDNSName     string                     `xml:"privateDnsName"`
	PrivateIPAddress   string                     `xml:"privateIpAddress"`
	PrivateIPAddresses List[instancePrivateIPXML] `xml:"privateIpAddressesSet"`
	SourceDestCheck    bool                       `xml:"sourceDestCheck"`
	Status             string                     `xml:"status"`
	SubnetID           string                     `xml:"subnetId"`
	VpcID              string                     `xml:"vpcId"`
	InterfaceType      string                     `xml:"interfaceType"`
}

func (e *NetworkInterface) instanceXML(t *txn) instanceENIXML {
	var assoc *instanceENIAssocXML
	if a := e.association(t); a != nil {
		assoc = &instanceENIAssocXML{IPOwnerID: a.IPOwnerID, PublicDNSName: a.PublicDNSName, PublicIP: a.PublicIP}
	}
	att := e.Attachment.xml()
	att.InstanceID, att.InstanceOwnerID = "", ""
	dns := privateDNSName(e.Region, e.PrivateIP)
	return instanceENIXML{Association: assoc, Attachment: att, Description: e.Description, Groups: groupsXML(t, e.Groups),
		MacAddress: e.MAC, NetworkInterfaceID: e.ID, OwnerID: e.Owner, PrivateDNSName: dns, PrivateIPAddress: e.PrivateIP,
		PrivateIPAddresses: List[instancePrivateIPXML]{{Association: assoc, Primary: true, PrivateDNSName: dns, PrivateIPAddress: e.PrivateIP}},
		SourceDestCheck:    e.SourceDestCheck, Status: e.status(), SubnetID: e.SubnetID, VpcID: e.VpcID, InterfaceType: e.InterfaceType}
}

type privateDNSOptionsXML struct {
	HostnameType                    string `xml:"hostnameType"`
	EnableResourceNameDNSARecord    bool   `xml:"enableResourceNameDnsARecord"`
	EnableResourceNameDNSAAAARecord bool   `xml:"enableResourceNameDnsAAAARecord"`
}

type instanceXML struct {
	InstanceID         string                `xml:"instanceId"`
	ImageID            string                `xml:"imageId"`
	State              instanceStateXML      `xml:"instanceState"`
	PrivateDNSName     string                `xml:"privateDnsName"`
	DNSName            string                `xml:"dnsName"`
	Reason             string                `xml:"reason"`
	KeyName            string                `xml:"keyName,omitempty"`
	AmiLaunchIndex     int32                 `xml:"amiLaunchIndex"`
	ProductCodes       List[xs]              `xml:"productCodes"`
	InstanceType       string                `xml:"instanceType"`
	LaunchTime         string                `xml:"launchTime"`
	Placement          placementXML          `xml:"placement"`
	Monitoring         monitoringXML         `xml:"monitoring"`
	SubnetID           string                `xml:"subnetId,omitempty"`
	VpcID              string                `xml:"vpcId,omitempty"`
	PrivateIPAddress   string                `xml:"privateIpAddress,omitempty"`
	IPAddress          string                `xml:"ipAddress,omitempty"`
	SourceDestCheck    *bool                 `xml:"sourceDestCheck,omitempty"`
	Groups             List[groupXML]        `xml:"groupSet"`
	StateReason        *stateReasonXML       `xml:"stateReason,omitempty"`
	Architecture       string                `xml:"architecture"`
	RootDeviceType     string                `xml:"rootDeviceType"`
	RootDeviceName     string                `xml:"rootDeviceName"`
	BlockDeviceMapping List[xs]              `xml:"blockDeviceMapping"`
	VirtualizationType string                `xml:"virtualizationType"`
	ClientToken        string                `xml:"clientToken"`
	Tags               *List[Tag]            `xml:"tagSet,omitempty"`
	Hypervisor         string                `xml:"hypervisor"`
	NetworkInterfaces  List[instanceENIXML]  `xml:"networkInterfaceSet"`
	IamInstanceProfile *iamProfileXML        `xml:"iamInstanceProfile,omitempty"`
	EbsOptimized       bool                  `xml:"ebsOptimized"`
	EnaSupport         bool                  `xml:"enaSupport"`
	PrivateDNSOptions  *privateDNSOptionsXML `xml:"privateDnsNameOptions,omitempty"`
	PlatformDetails    string                `xml:"platformDetails"`
	UsageOperation     string                `xml:"usageOperation"`
}

// xml renders the instance in state (its settled state, or the
// transitional one a state-changing call answers with). A terminated
// instance has no network left.
func (i *Instance) xml(t *txn, state string) instanceXML {
	x := instanceXML{InstanceID: i.ID, ImageID: i.ImageID, State: stateXML(state), Reason: i.Reason, KeyName: i.KeyName,
		AmiLaunchIndex: i.LaunchIndex, ProductCodes: List[xs]{}, InstanceType: i.InstanceType, LaunchTime: timestamp(i.LaunchTime),
		Placement: placementXML{AvailabilityZone: i.Zone, Tenancy: i.Tenancy}, Monitoring: monitoringXML{"disabled"},
		Groups: List[groupXML]{}, Architecture: "x86_64", RootDeviceType: "ebs", RootDeviceName: "/dev/xvda",
		BlockDeviceMapping: List[xs]{}, VirtualizationType: "hvm", ClientToken: i.ClientToken, Hypervisor: "xen",
		NetworkInterfaces: List[instanceENIXML]{}, EnaSupport: true, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances"}
	if i.Monitoring {
		x.Monitoring.State = "enabled"
	}
	if len(i.Tags) > 0 {
		tags := List[Tag](i.Tags)
		x.Tags = &tags
	}
	if i.IamInstanceProfile != "" {
		x.IamInstanceProfile = &iamProfileXML{Arn: i.IamInstanceProfile}
	}
	if i.StateReason != "" && state != stateRunning {
		x.StateReason = &stateReasonXML{Code: i.StateReason, Message: stateReasonMessages[i.StateReason]}
	}
	if state == stateTerminated || state == stateShuttingDown {
		return x
	}
	x.SubnetID, x.VpcID = i.SubnetID, i.VpcID
	x.PrivateDNSOptions = &privateDNSOptionsXML{HostnameType: "ip-name"}
	for _, e := range interfacesOf(t, i.ID) {
		x.NetworkInterfaces = append(x.NetworkInterfaces, e.instanceXML(t))
		if e.Attachment.DeviceIndex != 0 {
			continue
		}
		x.PrivateIPAddress, x.PrivateDNSName = e.PrivateIP, privateDNSName(e.Region, e.PrivateIP)
		if a := e.association(t); a != nil {
			x.IPAddress, x.DNSName = a.PublicIP, a.PublicDNSName
		}
		x.SourceDestCheck = &e.SourceDestCheck
		x.Groups = groupsXML(t, e.Groups)
	}
	return x
}

type reservationXML struct {
	ReservationID string            `xml:"reservationId"`
	OwnerID       string            `xml:"ownerId"`
	Groups        List[groupXML]    `xml:"groupSet"`
	Instances     List[instanceXML] `xml:"instancesSet"`
}

// reservations groups instances by the RunInstances call that made them,
// in the order the instances come.
func reservations(t *txn, insts []*Instance, state func(*Instance) string) List[reservationXML] {
	out := List[reservationXML]{}
	at := map[string]int{}
	for _, i := range insts {
		n, ok := at[i.ReservationID]
		if !ok {
			n = len(out)
			at[i.ReservationID] = n
			out = append(out, reservationXML{ReservationID: i.ReservationID, OwnerID: i.Owner, Groups: List[groupXML]{}})
		}
		out[n].Instances = append(out[n].Instances, i.xml(t, state(i)))
	}
	return out
}

// runENISpec is one NetworkInterface.N of RunInstances.
type runENISpec struct {
	DeviceIndex              *int32
	NetworkInterfaceID       string   `ec2:"NetworkInterfaceId"`
	SubnetID                 string   `ec2:"SubnetId"`
	Groups                   []string `ec2:"SecurityGroupId"`
	PrivateIPAddress         string   `ec2:"PrivateIpAddress"`
	AssociatePublicIPAddress *bool    `ec2:"AssociatePublicIpAddress"`
	DeleteOnTermination      *bool
	Description              string
	SecondaryCount           *int32 `ec2:"SecondaryPrivateIpAddressCount"`
	Ipv6AddressCount         *int32
	NetworkCardIndex         *int32
}

type runInstancesInput struct {
	DryRun             bool
	ImageID            string `ec2:"ImageId"`
	InstanceType       string
	MinCount           *int32
	MaxCount           *int32
	SubnetID           string       `ec2:"SubnetId"`
	PrivateIPAddress   string       `ec2:"PrivateIpAddress"`
	SecurityGroupIDs   []string     `ec2:"SecurityGroupId"`
	SecurityGroups     []string     `ec2:"SecurityGroup"`
	NetworkInterfaces  []runENISpec `ec2:"NetworkInterface"`
	UserData           string
	KeyName            string
	ClientToken        string
	IamInstanceProfile *struct {
		Arn  string
		Name string
	}
	Placement *struct {
		AvailabilityZone string
		Tenancy          string
	}
	Monitoring *struct {
		Enabled bool
	}
	Ipv6AddressCount  *int32
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

// maxInstances is the quota of instances (not terminated) an account has
// in a region.
const maxInstances = 256

// maxUserData is AWS's limit on user data, before base64.
const maxUserData = 16384

var instanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)

var profileARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[\w+=,.@/-]+$`)

// nicPlan is one interface an instance launches with.
type nicPlan struct {
	DeviceIndex         int32
	Subnet              *Subnet
	Existing            *NetworkInterface // an interface the caller made
	Groups              []string
	PrivateIP           string
	Public              bool
	DeleteOnTermination bool
	Description         string
}

type runInstancesOutput = reservationXML

func runInstances(c *call) (any, error) {
	var in runInstancesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := checkRunInput(&in); err != nil {
		return nil, err
	}
	instTags, eniTags, err := runTags(in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	profile := ""
	if p := in.IamInstanceProfile; p != nil {
		switch {
		case p.Arn != "" && p.Name != "":
			return nil, errCombination("The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'")
		case p.Arn != "":
			if !profileARNRE.MatchString(p.Arn) {
				return nil, errInvalidParam("Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", p.Arn)
			}
			profile = p.Arn
		case p.Name != "":
			profile = "arn:aws:iam::" + c.acct + ":instance-profile/" + p.Name
		}
	}
	if err := c.authorize(c.arn("instance", "*"), in.DryRun); err != nil {
		return nil, err
	}
	hash := runRequestHash(c)
	var out runInstancesOutput
	err = c.s.write(c, func(t *txn) error {
		if in.ClientToken != "" {
			var same []*Instance
			for _, i := range all[*Instance](t, kindInstance, c.acct, c.region) {
				if i.ClientToken == in.ClientToken && i.visible(t.now) {
					same = append(same, i)
				}
			}
			if len(same) > 0 {
				if same[0].RequestHash != hash {
					return apiError("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
				}
				slices.SortFunc(same, func(a, b *Instance) int { return int(a.LaunchIndex - b.LaunchIndex) })
				out = reservations(t, same, (*Instance).settled)[0]
				return nil
			}
		}
		plans, err := planNetwork(c, t, &in)
		if err != nil {
			return err
		}
		primary := plans[0].Subnet
		v, _ := getAs[*Vpc](t, primary.VpcID)
		tenancy := v.Tenancy
		if in.Placement != nil && in.Placement.Tenancy == "dedicated" {
			tenancy = "dedicated"
		}
		typ := in.InstanceType
		if typ == "" {
			typ = "m1.small"
		}
		room := int32(maxInstances)
		for _, i := range all[*Instance](t, kindInstance, c.acct, c.region) {
			if !i.isGone() {
				room--
			}
		}
		if room < *in.MinCount {
			return apiError("InstanceLimitExceeded", "Your quota allows for %d more running instance(s). You requested at least %d.", max(room, 0), *in.MinCount)
		}
		res := "r-" + randHex(17)
		var launched []*Instance
		for n := int32(0); n < min(*in.MaxCount, room); n++ {
			i := &Instance{Meta: c.meta(kindInstance, instTags), ReservationID: res, ImageID: in.ImageID, InstanceType: typ,
				KeyName: in.KeyName, LaunchIndex: n, ClientToken: in.ClientToken, RequestHash: hash, VpcID: primary.VpcID,
				SubnetID: primary.ID, Zone: primary.Zone, ZoneID: primary.ZoneID, Tenancy: tenancy, UserData: in.UserData,
				IamInstanceProfile: profile, Monitoring: in.Monitoring != nil && in.Monitoring.Enabled, LaunchTime: t.now,
				State: statePending, StateChanged: t.now, StateReason: "pending"}
			made, err := attachPlanned(c, t, i, plans, eniTags)
			if err != nil {
				for _, id := range made {
					t.del(id)
				}
				if n >= *in.MinCount && isCode(err, "InsufficientFreeAddressesInSubnet") {
					break
				}
				return err
			}
			t.put(i)
			launched = append(launched, i)
		}
		out = reservations(t, launched, func(*Instance) string { return statePending })[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func isCode(err error, code string) bool {
	ae, ok := err.(*awswire.Error)
	return ok && ae.Code == code
}

// runTags splits RunInstances' tag specifications between the instances
// and the interfaces made for them. Volume tags are accepted, as AWS
// takes them, but instances here have no volumes to carry them.
func runTags(specs []TagSpecification) (inst, eni []Tag, err error) {
	var forInst, forENI []TagSpecification
	for _, s := range specs {
		switch s.ResourceType {
		case resourceTypes[kindInstance]:
			forInst = append(forInst, s)
		case resourceTypes[kindENI]:
			forENI = append(forENI, s)
		case "volume":
			if _, err := mergeTags(nil, s.Tags); err != nil {
				return nil, nil, err
			}
		default:
			if _, err := tagsFor(kindInstance, []TagSpecification{s}); err != nil {
				return nil, nil, err
			}
		}
	}
	if inst, err = tagsFor(kindInstance, forInst); err != nil {
		return nil, nil, err
	}
	eni, err = tagsFor(kindENI, forENI)
	return inst, eni, err
}

// runRequestHash fingerprints a request's parameters other than the client
// token and DryRun.
func runRequestHash(c *call) string {
	keys := make([]string, 0, len(c.form))
	for k := range c.form {
		if k != "ClientToken" && k != "DryRun" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\x00" + strings.Join(c.form[k], "\x01") + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkRunInput validates what RunInstances can check without the state.
func checkRunInput(in *runInstancesInput) error {
	if in.ImageID == "" {
		return errMissing("ImageId")
	}
	if !validID("ami", in.ImageID) {
		return apiError("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", in.ImageID)
	}
	if in.MinCount == nil {
		return errMissing("MinCount")
	}
	if in.MaxCount == nil {
		return errMissing("MaxCount")
	}
	switch {
	case *in.MaxCount < 1:
		return errInvalidParam("Maximum instance count must be greater than zero")
	case *in.MinCount < 1:
		return errInvalidParam("Minimum instance count must be greater than zero")
	case *in.MinCount > *in.MaxCount:
		return errInvalidParam("Minimum instance count must be less than or equal to maximum instance count")
	}
	if in.InstanceType != "" && !instanceTypeRE.MatchString(in.InstanceType) {
		return errInvalidParam("Invalid value '%s' for InstanceType.", in.InstanceType)
	}
	if in.UserData != "" {
		raw, err := base64.StdEncoding.DecodeString(in.UserData)
		if err != nil {
			return errInvalidParam("Invalid BASE64 encoding of user data.")
		}
		if len(raw) > maxUserData {
			return errInvalidParam("User data is limited to %d bytes", maxUserData)
		}
	}
	if in.Ipv6AddressCount != nil {
		return errInvalidParam("IPv6 addresses are not supported by lambdaplane yet.")
	}
	if in.Placement != nil && in.Placement.Tenancy == "host" {
		return errInvalidParam("The tenancy value host is not supported.")
	}
	if (in.PrivateIPAddress != "" || slices.ContainsFunc(in.NetworkInterfaces, func(n runENISpec) bool { return n.PrivateIPAddress != "" })) && *in.MaxCount > 1 {
		return errCombination("Cannot specify a private IP address when launching more than one instance.")
	}
	if len(in.NetworkInterfaces) == 0 {
		return nil
	}
	switch {
	case in.SubnetID != "":
		return errCombination("Network interfaces and an instance-level subnet ID may not be specified on the same request")
	case len(in.SecurityGroupIDs) > 0 || len(in.SecurityGroups) > 0:
		return errCombination("Network interfaces and an instance-level security groups may not be specified on the same request")
	case in.PrivateIPAddress != "":
		return errCombination("Network interfaces and an instance-level private IP address may not be specified on the same request")
	}
	seen := map[int32]bool{}
	for _, n := range in.NetworkInterfaces {
		if n.DeviceIndex == nil {
			return errInvalidParam("Each network interface requires a device index.")
		}
		if *n.DeviceIndex < 0 || *n.DeviceIndex > maxDeviceIndex {
			return errInvalidParam("Value (%d) for parameter deviceIndex is invalid. Expecting a value between 0 and %d.", *n.DeviceIndex, maxDeviceIndex)
		}
		if seen[*n.DeviceIndex] {
			return errInvalidParam("Each network interface requires a unique device index.")
		}
		seen[*n.DeviceIndex] = true
		if n.SecondaryCount != nil || n.Ipv6AddressCount != nil {
			return errInvalidParam("Secondary private addresses and IPv6 addresses are not supported by lambdaplane yet.")
		}
		if n.NetworkCardIndex != nil && *n.NetworkCardIndex != 0 {
			return errInvalidParam("Network card index %d is not supported by lambdaplane; instances have one network card.", *n.NetworkCardIndex)
		}
		if n.AssociatePublicIPAddress != nil {
			if len(in.NetworkInterfaces) > 1 {
				return errCombination("The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces.")
			}
			if *n.DeviceIndex != 0 {
				return errCombination("The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.")
			}
			if n.NetworkInterfaceID != "" {
				return errCombination("The associatePublicIPAddress parameter cannot be specified for an existing network interface.")
			}
		}
		if n.NetworkInterfaceID != "" {
			if n.SubnetID != "" || len(n.Groups) > 0 || n.PrivateIPAddress != "" {
				return errCombination("A network interface ID cannot be specified together with a subnet, security groups or a private IP address for the same network interface.")
			}
			if *in.MaxCount > 1 {
				return errCombination("Cannot specify an existing network interface when launching more than one instance.")
			}
		} else if n.SubnetID == "" {
			return errMissing("NetworkInterface.SubnetId")
		}
	}
	if !seen[0] {
		return errInvalidParam("When specifying network interfaces, you must include a device at index 0.")
	}
	return nil
}

// planNetwork resolves the interfaces each instance of the request gets:
// the NetworkInterface.N given, or one in SubnetId (else a default subnet
// of the default VPC) with the instance-level groups and address.
func planNetwork(c *call, t *txn, in *runInstancesInput) ([]nicPlan, error) {
	if len(in.NetworkInterfaces) > 0 {
		specs := slices.Clone(in.NetworkInterfaces)
		slices.SortFunc(specs, func(a, b runENISpec) int { return int(*a.DeviceIndex - *b.DeviceIndex) })
		var plans []nicPlan
		for _, n := range specs {
			p := nicPlan{DeviceIndex: *n.DeviceIndex, PrivateIP: n.PrivateIPAddress, Description: n.Description, DeleteOnTermination: true}
			if n.DeleteOnTermination != nil {
				p.DeleteOnTermination = *n.DeleteOnTermination
			}
			if n.NetworkInterfaceID != "" {
				e, err := mustFind[*NetworkInterface](c, t, kindENI, n.NetworkInterfaceID)
				if err != nil {
					return nil, err
				}
				if e.serviceOwned() {
					return nil, errServiceOwned()
				}
				if e.Attachment != nil {
					return nil, errInterfaceInUse(e.ID)
				}
				s, _ := getAs[*Subnet](t, e.SubnetID)
				p.Existing, p.Subnet = e, s
				p.DeleteOnTermination = n.DeleteOnTermination != nil && *n.DeleteOnTermination
			} else {
				s, err := mustFind[*Subnet](c, t, kindSubnet, n.SubnetID)
				if err != nil {
					return nil, err
				}
				if p.Groups, err = checkGroups(c, t, s.VpcID, n.Groups); err != nil {
					return nil, err
				}
				p.Subnet = s
				p.Public = s.MapPublicIP && p.DeviceIndex == 0 && len(specs) == 1
				if n.AssociatePublicIPAddress != nil {
					p.Public = *n.AssociatePublicIPAddress
				}
			}
			if len(plans) > 0 {
				first := plans[0].Subnet
				if p.Subnet.VpcID != first.VpcID {
					return nil, errCombination("The network interfaces of an instance must all be in the same VPC.")
				}
				if p.Subnet.Zone != first.Zone {
					return nil, errCombination("The network interfaces of an instance must all be in the same availability zone.")
				}
			}
			plans = append(plans, p)
		}
		return plans, nil
	}
	var s *Subnet
	if in.SubnetID != "" {
		if len(in.SecurityGroups) > 0 {
			return nil, errCombination("The parameter groupName cannot be used with the parameter subnet")
		}
		var err error
		if s, err = mustFind[*Subnet](c, t, kindSubnet, in.SubnetID); err != nil {
			return nil, err
		}
	} else {
		var err error
		if s, err = defaultSubnet(c, t, in); err != nil {
			return nil, err
		}
	}
	ids := slices.Clone(in.SecurityGroupIDs)
	for _, name := range in.SecurityGroups {
		g, ok := groupByName(c, t, s.VpcID, name)
		if !ok {
			return nil, apiError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, s.VpcID)
		}
		ids = append(ids, g)
	}
	groups, err := checkGroups(c, t, s.VpcID, ids)
	if err != nil {
		return nil, err
	}
	return []nicPlan{{Subnet: s, Groups: groups, PrivateIP: in.PrivateIPAddress, Public: s.MapPublicIP, DeleteOnTermination: true}}, nil
}

func groupByName(c *call, t *txn, vpcID, name string) (string, bool) {
	for _, g := range all[*SecurityGroup](t, kindSG, c.acct, c.region) {
		if g.VpcID == vpcID && g.Name == name {
			return g.ID, true
		}
	}
	return "", false
}

// defaultSubnet is where an instance launched without a subnet goes: the
// default subnet of the zone asked for, else of the first zone with room
// for the instances, in the default VPC.
func defaultSubnet(c *call, t *txn, in *runInstancesInput) (*Subnet, error) {
	var def *Vpc
	for _, v := range all[*Vpc](t, kindVpc, c.acct, c.region) {
		if v.IsDefault {
			def = v
		}
	}
	if def == nil {
		if len(in.SecurityGroups) > 0 {
			return nil, apiError("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
		}
		return nil, apiError("VPCIdNotSpecified", "No default VPC for this user")
	}
	zone := ""
	if in.Placement != nil && in.Placement.AvailabilityZone != "" {
		z, ok := findZone(c.region, in.Placement.AvailabilityZone, "")
		if !ok {
			return nil, errInvalidParam("Invalid availability zone: [%s]", in.Placement.AvailabilityZone)
		}
		zone = z.Name
	}
	var subs []*Subnet
	for _, s := range all[*Subnet](t, kindSubnet, c.acct, c.region) {
		if s.VpcID == def.ID && s.DefaultForAz && (zone == "" || s.Zone == zone) {
			subs = append(subs, s)
		}
	}
	if len(subs) == 0 {
		if zone != "" {
			return nil, apiError("MissingInput", "No default subnet for availability zone: '%s'.", zone)
		}
		return nil, apiError("MissingInput", "No subnets found for the default VPC '%s'. Please specify a subnet.", def.ID)
	}
	slices.SortFunc(subs, func(a, b *Subnet) int { return strings.Compare(a.Zone, b.Zone) })
	used := subnetUsage(t)
	for _, s := range subs {
		if freeAddrs(s, used[s.ID]) >= int(*in.MinCount) {
			return s, nil
		}
	}
	return subs[0], nil
}

// attachPlanned gives instance i its interfaces; it returns the ids of the
// interfaces it made, so a launch that fails can take them back.
func attachPlanned(c *call, t *txn, i *Instance, plans []nicPlan, tags []Tag) ([]string, error) {
	var made []string
	for _, p := range plans {
		var e *NetworkInterface
		if p.Existing != nil {
			e = editAs[*NetworkInterface](t, p.Existing.ID)
		} else {
			var err error
			e, err = newENI(c, t, p.Subnet, eniSpec{PrivateIP: p.PrivateIP, Groups: p.Groups, Description: p.Description, Tags: tags})
			if err != nil {
				return made, err
			}
			made = append(made, e.ID)
			if p.Public {
				if e.PublicIP, err = allocatePublicIP(t, c.s.opts.PublicPool); err != nil {
					return made, err
				}
			}
		}
		e.Attachment = &ENIAttachment{ID: "eni-attach-" + randHex(17), InstanceID: i.ID, InstanceOwnerID: i.Owner,
			DeviceIndex: p.DeviceIndex, Status: "attached", AttachTime: t.now, DeleteOnTermination: p.DeleteOnTermination}
		setAddressInstance(t, e, i.ID)
	}
	return made, nil
}

// findInstance is the caller's visible instance id.
func findInstance(c *call, t *txn, id string) (*Instance, error) {
	i, err := mustFind[*Instance](c, t, kindInstance, id)
	if err != nil {
		return nil, err
	}
	if !i.visible(t.now) {
		return nil, errNotFound(kindInstance, id)
	}
	return i, nil
}

// findInstances resolves ids (duplicates once each, in order); every id
// that does not exist is named in one error, as AWS does.
func findInstances(c *call, t *txn, ids []string) ([]*Instance, error) {
	var out []*Instance
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		i, err := findInstance(c, t, id)
		if err != nil {
			if !validID(kindInstance, id) {
				return nil, err
			}
			missing = append(missing, id)
			continue
		}
		out = append(out, i)
	}
	switch {
	case len(missing) == 1:
		return nil, errNotFound(kindInstance, missing[0])
	case len(missing) > 1:
		return nil, apiError("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
	return out, nil
}

type describeInstancesInput struct {
	DryRun      bool
	InstanceIDs []string `ec2:"InstanceId"`
	Filters     []Filter `ec2:"Filter"`
	MaxResults  *int32
	NextToken   string
}

type describeInstancesOutput struct {
	Reservations List[reservationXML] `xml:"reservationSet"`
	NextToken    string               `xml:"nextToken,omitempty"`
}

// instanceFilters are DescribeInstances' filters; most of an instance's
// network is its interfaces'.
func instanceFilters(t *txn) filters[*Instance] {
	primary := func(f func(e *NetworkInterface) []string) func(i *Instance) []string {
		return func(i *Instance) []string {
			for _, e := range interfacesOf(t, i.ID) {
				if e.Attachment.DeviceIndex == 0 {
					return f(e)
				}
			}
			return nil
		}
	}
	each := func(f func(e *NetworkInterface) []string) func(i *Instance) []string {
		return func(i *Instance) []string {
			var out []string
			for _, e := range interfacesOf(t, i.ID) {
				out = append(out, f(e)...)
			}
			return out
		}
	}
	live := func(f func(i *Instance) string) func(i *Instance) []string {
		return func(i *Instance) []string {
			if i.isGone() {
				return nil
			}
			return one(f(i))
		}
	}
	groupNames := func(e *NetworkInterface) []string {
		var out []string
		for _, g := range groupsXML(t, e.Groups) {
			out = append(out, g.GroupName)
		}
		return out
	}
	publicIP := func(e *NetworkInterface) []string {
		if e.PublicIP == "" {
			return nil
		}
		return one(e.PublicIP)
	}
	return filters[*Instance]{
		"instance-id":         func(i *Instance) string { return i.ID },
		"instance-state-name": func(i *Instance) string { return i.settled() },
		"instance-state-code": func(i *Instance) string { return itoa(int(stateCodes[i.settled()])) },
		"instance-type":       func(i *Instance) string { return i.InstanceType },
		"image-id":            func(i *Instance) string { return i.ImageID },
		"availability-zone":   func(i *Instance) string { return i.Zone },
		"reservation-id":      func(i *Instance) string { return i.ReservationID },
		"owner-id":            func(i *Instance) string { return i.Owner },
		"key-name":            func(i *Instance) string { return i.KeyName },
		"launch-index":        func(i *Instance) string { return itoa(int(i.LaunchIndex)) },
		"client-token":        func(i *Instance) string { return i.ClientToken },
		"tenancy":             func(i *Instance) string { return i.Tenancy },
		"iam-instance-profile.arn": func(i *Instance) []string {
			if i.IamInstanceProfile == "" {
				return nil
			}
			return one(i.IamInstanceProfile)
		},
		"subnet-id":          live(func(i *Instance) string { return i.SubnetID }),
		"vpc-id":             live(func(i *Instance) string { return i.VpcID }),
		"private-ip-address": primary(func(e *NetworkInterface) []string { return one(e.PrivateIP) }),
		"private-dns-name":   primary(func(e *NetworkInterface) []string { return one(privateDNSName(e.Region, e.PrivateIP)) }),
		"ip-address":         primary(publicIP),
		"dns-name": primary(func(e *NetworkInterface) []string {
			if a := e.association(t); a != nil && a.PublicDNSName != "" {
				return one(a.PublicDNSName)
			}
			return nil
		}),
		"instance.group-id":                              primary(func(e *NetworkInterface) []string { return e.Groups }),
		"instance.group-name":                            primary(groupNames),
		"network-interface.network-interface-id":         each(func(e *NetworkInterface) []string { return one(e.ID) }),
		"network-interface.subnet-id":                    each(func(e *NetworkInterface) []string { return one(e.SubnetID) }),
		"network-interface.vpc-id":                       each(func(e *NetworkInterface) []string { return one(e.VpcID) }),
		"network-interface.group-id":                     each(func(e *NetworkInterface) []string { return e.Groups }),
		"network-interface.group-name":                   each(groupNames),
		"network-interface.mac-address":                  each(func(e *NetworkInterface) []string { return one(e.MAC) }),
		"network-interface.addresses.private-ip-address": each(func(e *NetworkInterface) []string { return one(e.PrivateIP) }),
		"network-interface.association.public-ip":        each(publicIP),
		"network-interface.attachment.attachment-id":     each(func(e *NetworkInterface) []string { return one(e.Attachment.ID) }),
		"network-interface.attachment.device-index":      each(func(e *NetworkInterface) []string { return one(itoa(int(e.Attachment.DeviceIndex))) }),
	}
}

func describeInstances(c *call) (any, error) {
	var in describeInstancesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) > 0 && in.MaxResults != nil {
		return nil, errCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	out := describeInstancesOutput{Reservations: List[reservationXML]{}}
	err := c.s.read(c, func(t *txn) error {
		var insts []*Instance
		var err error
		if len(in.InstanceIDs) > 0 {
			fs := instanceFilters(t)
			if err := fs.check(in.Filters); err != nil {
				return err
			}
			found, err := findInstances(c, t, in.InstanceIDs)
			if err != nil {
				return err
			}
			for _, i := range found {
				if fs.match(in.Filters, i) {
					insts = append(insts, i)
				}
			}
		} else {
			if insts, err = selectResources(c, t, kindInstance, nil, in.Filters, instanceFilters(t)); err != nil {
				return err
			}
			insts = slices.DeleteFunc(insts, func(i *Instance) bool { return !i.visible(t.now) })
		}
		insts, out.NextToken, err = page(insts, in.MaxResults, in.NextToken, 5, 1000)
		if err != nil {
			return err
		}
		out.Reservations = reservations(t, insts, (*Instance).settled)
		return nil
	})
	return out, err
}

type instanceIDsInput struct {
	DryRun      bool
	InstanceIDs []string `ec2:"InstanceId"`
	Hibernate   bool
}

type stateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  instanceStateXML `xml:"currentState"`
	PreviousState instanceStateXML `xml:"previousState"`
}

type stateChangesOutput struct {
	Instances List[stateChangeXML] `xml:"instancesSet"`
}

// changeStates runs a state-changing action on every instance named:
// change returns the instance's state after the call. The call changes all
// of them or, if one refuses, none.
func changeStates(c *call, change func(t *txn, i *Instance, prev string) (string, error)) (any, error) {
	var in instanceIDsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) == 0 {
		return nil, errMissing("InstanceId")
	}
	if in.Hibernate {
		return nil, errInvalidParam("Hibernation is not supported by lambdaplane.")
	}
	for _, id := range in.InstanceIDs {
		if err := c.authorize(c.arn("instance", id), false); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	out := stateChangesOutput{Instances: List[stateChangeXML]{}}
	err := c.s.write(c, func(t *txn) error {
		insts, err := findInstances(c, t, in.InstanceIDs)
		if err != nil {
			return err
		}
		for _, i := range insts {
			prev := i.settled()
			cur, err := change(t, i, prev)
			if err != nil {
				return err
			}
			out.Instances = append(out.Instances, stateChangeXML{InstanceID: i.ID, CurrentState: stateXML(cur), PreviousState: stateXML(prev)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveTo puts instance id into a transitional state, for the reason given.
func moveTo(t *txn, id, state, reasonCode string) *Instance {
	i := editAs[*Instance](t, id)
	i.State, i.StateChanged, i.StateReason = state, t.now, reasonCode
	i.Reason = ""
	if reasonCode == "Client.UserInitiatedShutdown" {
		i.Reason = "User initiated (" + t.now.UTC().Format("2006-01-02 15:04:05") + " GMT)"
	}
	return i
}

func stopInstances(c *call) (any, error) {
	return changeStates(c, func(t *txn, i *Instance, prev string) (string, error) {
		switch prev {
		case stateStopped, stateStopping:
			return prev, nil
		case statePending:
			return "", apiError("IncorrectInstanceState", "Instance '%s' cannot be stopped as it has never reached the 'running' state.", i.ID)
		case stateShuttingDown, stateTerminated:
			return "", apiError("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", i.ID)
		}
		i = moveTo(t, i.ID, stateStopping, "Client.UserInitiatedShutdown")
		// A stopped instance keeps its private addresses and Elastic IPs,
		// but gives back the public addresses it got at launch.
		for _, e := range interfacesOf(t, i.ID) {
			if e.PublicIP != "" && e.AllocationID == "" {
				editAs[*NetworkInterface](t, e.ID).PublicIP = ""
				if e.Attachment.DeviceIndex == 0 {
					i.PublicIPOnStart = true
				}
			}
		}
		return stateStopping, nil
	})
}

func startInstances(c *call) (any, error) {
	return changeStates(c, func(t *txn, i *Instance, prev string) (string, error) {
		switch prev {
		case stateRunning, statePending:
			return prev, nil
		case stateStopped:
		default:
			return "", apiError("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", i.ID)
		}
		i = moveTo(t, i.ID, statePending, "pending")
		if i.PublicIPOnStart {
			i.PublicIPOnStart = false
			for _, e := range interfacesOf(t, i.ID) {
				if e.Attachment.DeviceIndex == 0 && e.PublicIP == "" {
					ip, err := allocatePublicIP(t, c.s.opts.PublicPool)
					if err != nil {
						return "", err
					}
					editAs[*NetworkInterface](t, e.ID).PublicIP = ip
				}
			}
		}
		return statePending, nil
	})
}

func terminateInstances(c *call) (any, error) {
	return changeStates(c, func(t *txn, i *Instance, prev string) (string, error) {
		if prev == stateTerminated || prev == stateShuttingDown {
			return prev, nil
		}
		moveTo(t, i.ID, stateShuttingDown, "Client.UserInitiatedShutdown")
		// Interfaces made to be deleted with the instance go (their Elastic
		// IPs stay allocated); the others are detached and stay.
		for _, e := range interfacesOf(t, i.ID) {
			if e.Attachment.DeleteOnTermination {
				disassociateAddress(t, e)
				t.del(e.ID)
				continue
			}
			d := editAs[*NetworkInterface](t, e.ID)
			d.Attachment = nil
			if d.AllocationID == "" {
				d.PublicIP = ""
			}
			setAddressInstance(t, d, "")
		}
		return stateShuttingDown, nil
	})
}

type getConsoleOutputInput struct {
	DryRun     bool
	InstanceID string `ec2:"InstanceId"`
}

type getConsoleOutputOutput struct {
	InstanceID string `xml:"instanceId"`
	Timestamp  string `xml:"timestamp"`
	Output     string `xml:"output,omitempty"`
}

func getConsoleOutput(c *call) (any, error) {
	var in getConsoleOutputInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.InstanceID == "" {
		return nil, errMissing("InstanceId")
	}
	if err := c.authorize(c.arn("instance", in.InstanceID), in.DryRun); err != nil {
		return nil, err
	}
	var out getConsoleOutputOutput
	err := c.s.read(c, func(t *txn) error {
		i, err := findInstance(c, t, in.InstanceID)
		if err != nil {
			return err
		}
		out = getConsoleOutputOutput{InstanceID: i.ID, Timestamp: timestamp(t.now)}
		if i.ConsoleOutput != "" {
			out.Output = base64.StdEncoding.EncodeToString([]byte(i.ConsoleOutput))
			out.Timestamp = timestamp(i.ConsoleTime)
		}
		return nil
	})
	return out, err
}

type describeInstanceStatusInput struct {
	DryRun              bool
	InstanceIDs         []string `ec2:"InstanceId"`
	Filters             []Filter `ec2:"Filter"`
	MaxResults          *int32
	NextToken           string
	IncludeAllInstances bool
}

type statusDetailXML struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type statusSummaryXML struct {
	Details List[statusDetailXML] `xml:"details"`
	Status  string                `xml:"status"`
}

type instanceStatusXML struct {
	InstanceID         string           `xml:"instanceId"`
	AvailabilityZone   string           `xml:"availabilityZone"`
	AvailabilityZoneID string           `xml:"availabilityZoneId"`
	InstanceState      instanceStateXML `xml:"instanceState"`
	InstanceStatus     statusSummaryXML `xml:"instanceStatus"`
	SystemStatus       statusSummaryXML `xml:"systemStatus"`
}

type describeInstanceStatusOutput struct {
	Statuses  List[instanceStatusXML] `xml:"instanceStatusSet"`
	NextToken string                  `xml:"nextToken,omitempty"`
}

// health is the status checks' result: a running instance passes them;
// the checks do not apply to one that is not running.
func health(i *Instance) statusSummaryXML {
	if i.settled() != stateRunning {
		return statusSummaryXML{Details: List[statusDetailXML]{}, Status: "not-applicable"}
	}
	return statusSummaryXML{Details: List[statusDetailXML]{{Name: "reachability", Status: "passed"}}, Status: "ok"}
}

var instanceStatusFilters = filters[*Instance]{
	"availability-zone":            func(i *Instance) string { return i.Zone },
	"instance-state-name":          func(i *Instance) string { return i.settled() },
	"instance-state-code":          func(i *Instance) string { return itoa(int(stateCodes[i.settled()])) },
	"instance-status.status":       func(i *Instance) string { return health(i).Status },
	"system-status.status":         func(i *Instance) string { return health(i).Status },
	"instance-status.reachability": func(i *Instance) []string { return reachability(i) },
	"system-status.reachability":   func(i *Instance) []string { return reachability(i) },
}

func reachability(i *Instance) []string {
	var out []string
	for _, d := range health(i).Details {
		out = append(out, d.Status)
	}
	return out
}

func describeInstanceStatus(c *call) (any, error) {
	var in describeInstanceStatusInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) > 0 && in.MaxResults != nil {
		return nil, errCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	if err := instanceStatusFilters.check(in.Filters); err != nil {
		return nil, err
	}
	out := describeInstanceStatusOutput{Statuses: List[instanceStatusXML]{}}
	err := c.s.read(c, func(t *txn) error {
		var insts []*Instance
		var err error
		if len(in.InstanceIDs) > 0 {
			if insts, err = findInstances(c, t, in.InstanceIDs); err != nil {
				return err
			}
		} else {
			insts = slices.DeleteFunc(all[*Instance](t, kindInstance, c.acct, c.region), func(i *Instance) bool { return !i.visible(t.now) })
		}
		insts = slices.DeleteFunc(insts, func(i *Instance) bool {
			return (!in.IncludeAllInstances && i.settled() != stateRunning) || !instanceStatusFilters.match(in.Filters, i)
		})
		if insts, out.NextToken, err = page(insts, in.MaxResults, in.NextToken, 5, 1000); err != nil {
			return err
		}
		for _, i := range insts {
			h := health(i)
			out.Statuses = append(out.Statuses, instanceStatusXML{InstanceID: i.ID, AvailabilityZone: i.Zone, AvailabilityZoneID: i.ZoneID,
				InstanceState: stateXML(i.settled()), InstanceStatus: h, SystemStatus: h})
		}
		return nil
	})
	return out, err
}
