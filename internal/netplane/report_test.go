package netplane

import "testing"

func TestPlanLabels(t *testing.T) {
	const prefix = "lpab"
	topo := testTopology(prefix)
	topo.Internet = true
	topo.VPCs[0].Gateway = "igw-1"
	p, err := buildPlan(topo)
	if err != nil {
		t.Fatal(err)
	}
	m := p.labels()
	for name, want := range map[string]string{
		RouterNetns(prefix, "vpc-0a1b2c3d"):     "router of vpc-0a1b2c3d",
		ENINetns(prefix, "eni-b"):               "namespace of eni-b",
		routerLinkName(prefix, "eni-b"):         "router side of eni-b",
		workloadLinkName(prefix, "eni-b"):       "eni-b",
		InternetNetns(prefix):                   "simulated internet",
		ENINetns(prefix, LambdaNetworkID):       "Lambda network",
		gatewayLinkName(prefix, "vpc-0a1b2c3d"): "igw-1",
		uplinkName(prefix, "vpc-0a1b2c3d"):      "igw-1, internet side",
	} {
		if m[name] != want {
			t.Errorf("label of %s: %q, want %q", name, m[name], want)
		}
	}
}
