package netplane

// labels say what each namespace and link name of the plan stands for, so
// that a report line reads "lpabc-r1a2b3c (router of vpc-1)" rather than a
// hash.
func (p *plan) labels() map[string]string {
	m := map[string]string{}
	set := func(name, label string) {
		if m[name] == "" {
			m[name] = label
		}
	}
	for _, v := range p.vpcs {
		set(v.ns, "router of "+v.id)
		for _, l := range v.links {
			set(l.name, "router side of "+l.eniID)
			set(l.peer, l.eniID)
			set(l.peerNS, "namespace of "+l.eniID)
		}
	}
	if p.internet != nil {
		set(p.internet.ns, "simulated internet")
		set(p.internet.lambda, "Lambda network")
		for _, l := range p.internet.links {
			set(l.a.name, l.id+", internet side")
			set(l.b.name, l.id)
		}
	}
	for _, l := range p.peerings {
		set(l.a.name, l.id)
		set(l.b.name, l.id)
	}
	return m
}
