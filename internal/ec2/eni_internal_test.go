package ec2

import "time"

// ENIOfService records, as another AWS service would, an interface in
// subnetID of acct in region and returns its id. Tests use it to check
// how users see (and cannot manage) interfaces of NAT gateways, endpoints
// and Lambda.
func (s *Service) ENIOfService(acct, region, subnetID, interfaceType, managedBy, description string, requesterManaged bool) (string, error) {
	c := &call{s: s, acct: acct, region: region, now: s.now().UTC()}
	var id string
	err := s.write(c, func(t *txn) error {
		sub, err := mustFind[*Subnet](c, t, kindSubnet, subnetID)
		if err != nil {
			return err
		}
		groups, err := checkGroups(c, t, sub.VpcID, nil)
		if err != nil {
			return err
		}
		e, err := newENI(c, t, sub, eniSpec{Groups: groups, Description: description, InterfaceType: interfaceType,
			RequesterID: "AROAEXAMPLEROLEID:" + managedBy, Managed: requesterManaged, ManagedBy: managedBy})
		if err != nil {
			return err
		}
		id = e.ID
		return nil
	})
	return id, err
}

// ReleaseENIOfService detaches a service's interface, as Lambda does when
// no function uses it any more, leaving it for the user to delete.
func (s *Service) ReleaseENIOfService(id string) error {
	return s.write(nil, func(t *txn) error {
		e := editAs[*NetworkInterface](t, id)
		e.Attachment = nil
		return nil
	})
}

// PrintToConsole appends to an instance's console output, as the data
// plane does when the instance prints.
func (s *Service) PrintToConsole(id, text string, at time.Time) error {
	return s.write(nil, func(t *txn) error {
		i := editAs[*Instance](t, id)
		i.ConsoleOutput += text
		i.ConsoleTime = at
		return nil
	})
}
