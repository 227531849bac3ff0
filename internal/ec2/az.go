package ec2

import (
	"slices"
	"strings"
)

// regions are the commercial regions DescribeRegions lists; requests may be
// signed for any region name, and each gets the same three zones.
var regions = []string{
	"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
	"ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
	"eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2",
	"us-west-1", "us-west-2",
}

const zonesPerRegion = 3

// zone is one availability zone of a region.
type zone struct {
	Name string // us-east-1a
	ID   string // use1-az1
}

// zonesOf returns a region's zones: REGIONa..c with ids SHORT-az1..3.
func zonesOf(region string) []zone {
	out := make([]zone, zonesPerRegion)
	short := regionShort(region)
	for i := range out {
		out[i] = zone{Name: region + string(rune('a'+i)), ID: short + "-az" + itoa(i+1)}
	}
	return out
}

// regionShort abbreviates a region the way zone ids do: us-east-1 → use1,
// ap-southeast-2 → apse2, eu-central-1 → euc1.
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := parts[1]
	var d string
	for _, w := range []string{"north", "south", "east", "west", "central"} {
		if strings.HasPrefix(dir, w) {
			d = w[:1]
			if rest := dir[len(w):]; rest != "" {
				d += rest[:1]
			}
			break
		}
	}
	if d == "" {
		d = dir[:1]
	}
	return parts[0] + d + parts[2]
}

// findZone resolves a zone given by name or by id in the caller's region.
func findZone(region, name, id string) (zone, bool) {
	for _, z := range zonesOf(region) {
		if (name != "" && z.Name == name) || (name == "" && id != "" && z.ID == id) {
			if name != "" && id != "" && z.ID != id {
				return zone{}, false
			}
			return z, true
		}
	}
	return zone{}, false
}

type azXML struct {
	ZoneName           string   `xml:"zoneName"`
	ZoneState          string   `xml:"zoneState"`
	RegionName         string   `xml:"regionName"`
	ZoneID             string   `xml:"zoneId"`
	ZoneType           string   `xml:"zoneType"`
	OptInStatus        string   `xml:"optInStatus"`
	GroupName          string   `xml:"groupName"`
	NetworkBorderGroup string   `xml:"networkBorderGroup"`
	Messages           List[xs] `xml:"messageSet"`
}

// xs is an empty element, for sets AWS always sends.
type xs struct{}

type describeAZInput struct {
	DryRun               bool
	ZoneNames            []string `ec2:"ZoneName"`
	ZoneIDs              []string `ec2:"ZoneId"`
	AllAvailabilityZones bool
	Filters              []Filter `ec2:"Filter"`
}

type describeAZOutput struct {
	Zones List[azXML] `xml:"availabilityZoneInfo"`
}

var azFilterNames = []string{"zone-name", "zone-id", "region-name", "state", "zone-type", "opt-in-status", "group-name", "network-border-group"}

func init() {
	handle("DescribeAvailabilityZones", describeAvailabilityZones)
	handle("DescribeRegions", describeRegions)
}

func describeAvailabilityZones(c *call) (any, error) {
	var in describeAZInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	for _, f := range in.Filters {
		if !slices.Contains(azFilterNames, f.Name) {
			return nil, errInvalidParam("The filter '%s' is invalid", f.Name)
		}
	}
	for _, n := range in.ZoneNames {
		if _, ok := findZone(c.region, n, ""); !ok {
			return nil, errInvalidParam("The zone '%s' does not exist.", n)
		}
	}
	for _, id := range in.ZoneIDs {
		if _, ok := findZone(c.region, "", id); !ok {
			return nil, errInvalidParam("The zone '%s' does not exist.", id)
		}
	}
	var out describeAZOutput
	for _, z := range zonesOf(c.region) {
		if len(in.ZoneNames) > 0 || len(in.ZoneIDs) > 0 {
			if !slices.Contains(in.ZoneNames, z.Name) && !slices.Contains(in.ZoneIDs, z.ID) {
				continue
			}
		}
		a := azXML{ZoneName: z.Name, ZoneState: "available", RegionName: c.region, ZoneID: z.ID,
			ZoneType: "availability-zone", OptInStatus: "opt-in-not-required", GroupName: c.region,
			NetworkBorderGroup: c.region}
		values := map[string]string{"zone-name": a.ZoneName, "zone-id": a.ZoneID, "region-name": a.RegionName,
			"state": a.ZoneState, "zone-type": a.ZoneType, "opt-in-status": a.OptInStatus,
			"group-name": a.GroupName, "network-border-group": a.NetworkBorderGroup}
		if plainFiltersMatch(in.Filters, values) {
			out.Zones = append(out.Zones, a)
		}
	}
	return out, nil
}

// plainFiltersMatch matches filters against single-valued attributes.
func plainFiltersMatch(fs []Filter, values map[string]string) bool {
	for _, f := range fs {
		if !anyMatch(f.Values, one(values[f.Name])) {
			return false
		}
	}
	return true
}

type regionXML struct {
	RegionName  string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

type describeRegionsInput struct {
	DryRun      bool
	RegionNames []string `ec2:"RegionName"`
	AllRegions  bool
	Filters     []Filter `ec2:"Filter"`
}

type describeRegionsOutput struct {
	Regions List[regionXML] `xml:"regionInfo"`
}

func describeRegions(c *call) (any, error) {
	var in describeRegionsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	for _, f := range in.Filters {
		if f.Name != "endpoint" && f.Name != "region-name" && f.Name != "opt-in-status" {
			return nil, errInvalidParam("The filter '%s' is invalid", f.Name)
		}
	}
	names := regions
	if !slices.Contains(names, c.region) {
		names = append(slices.Clone(regions), c.region)
		slices.Sort(names)
	}
	for _, n := range in.RegionNames {
		if !slices.Contains(names, n) {
			return nil, apiError("InvalidParameterValue", "Invalid region: %s", n)
		}
	}
	var out describeRegionsOutput
	for _, n := range names {
		if len(in.RegionNames) > 0 && !slices.Contains(in.RegionNames, n) {
			continue
		}
		r := regionXML{RegionName: n, Endpoint: "ec2." + n + ".amazonaws.com", OptInStatus: "opt-in-not-required"}
		if plainFiltersMatch(in.Filters, map[string]string{"endpoint": r.Endpoint, "region-name": n, "opt-in-status": r.OptInStatus}) {
			out.Regions = append(out.Regions, r)
		}
	}
	return out, nil
}

// Regions lists the regions DescribeRegions shows.
func Regions() []string { return slices.Clone(regions) }
