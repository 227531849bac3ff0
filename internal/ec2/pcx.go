package ec2

import (
	"slices"
	"strings"
	"time"
)

// Peering is a VPC peering connection. It belongs to the requester (Meta's
// owner and region) and is seen by the accepter's account in the accepter's
// region as well.
type Peering struct {
	Meta
	RequesterVpcID string `json:"reqVpc"`
	AccepterVpcID  string `json:"accVpc"`
	AccepterOwner  string `json:"accOwner"`
	AccepterRegion string `json:"accRegion"`
	Status         string `json:"status"` // pending-acceptance, active, failed, rejected, expired, deleted
	Message        string `json:"message"`
	// The VPCs' ranges when the connection was requested (requester) and
	// accepted (accepter), shown once a VPC is gone.
	RequesterCidrs []string `json:"reqCidrs,omitempty"`
	AccepterCidrs  []string `json:"accCidrs,omitempty"`
	// Expires is when an unanswered request expires.
	Expires time.Time `json:"expires"`
	// EndedAt is when the connection reached its final state, and EndedBy
	// the account that put it there (deleted and rejected); together they
	// decide how long each side still sees it.
	EndedAt time.Time `json:"endedAt,omitzero"`
	EndedBy string    `json:"endedBy,omitempty"`
}

func (p *Peering) isGone() bool {
	return p.Status == "deleted" || p.Status == "rejected" || p.Status == "expired" || p.Status == "failed"
}

const (
	// peeringRequestLife is how long a request waits for an answer.
	peeringRequestLife = 7 * 24 * time.Hour
	msgPeeringFailed   = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"
)

func init() {
	registerKind(kindPeering, func() resource { return new(Peering) })
	handle("CreateVpcPeeringConnection", createVpcPeeringConnection)
	handle("AcceptVpcPeeringConnection", acceptVpcPeeringConnection)
	handle("RejectVpcPeeringConnection", rejectVpcPeeringConnection)
	handle("DeleteVpcPeeringConnection", deleteVpcPeeringConnection)
	handle("DescribeVpcPeeringConnections", describeVpcPeeringConnections)
	registerSettler(settlePeerings)
}

// peeringBlocks reports whether r, a peering connection, keeps the VPC
// from being deleted: an active connection blocks both of its VPCs, and a
// request from another account waiting for an answer blocks the accepter's
// VPC (its owner must reject it first). A VPC whose own request is still
// unanswered may go; the request goes with it.
func peeringBlocks(r resource, vpcID string) bool {
	p, ok := r.(*Peering)
	if !ok {
		return false
	}
	switch p.Status {
	case "active":
		return p.RequesterVpcID == vpcID || p.AccepterVpcID == vpcID
	case "pending-acceptance":
		return p.AccepterVpcID == vpcID && p.AccepterOwner != p.Owner
	}
	return false
}

// sameAccount reports whether both VPCs are the requester's account's.
func (p *Peering) sameAccount() bool { return p.AccepterOwner == p.Owner }

// isRequester and isAccepter say which side the caller is on; a caller of
// a connection within one account and region is both.
func (p *Peering) isRequester(acct, region string) bool { return p.Owner == acct && p.Region == region }
func (p *Peering) isAccepter(acct, region string) bool {
	return p.AccepterOwner == acct && p.AccepterRegion == region
}

// visibleFor is how long after its end the connection stays visible to the
// caller, as AWS documents per final state; zero means not at all.
func (p *Peering) visibleFor(acct, region string) time.Duration {
	const hours2, days2 = 2 * time.Hour, 48 * time.Hour
	req, acc := p.isRequester(acct, region), p.isAccepter(acct, region)
	if !req && !acc {
		return 0
	}
	switch p.Status {
	case "failed":
		if req {
			return hours2
		}
		return 0
	case "expired":
		return days2
	case "rejected":
		if req && !p.sameAccount() {
			return days2
		}
		return hours2
	case "deleted":
		if p.sameAccount() || acct == p.EndedBy {
			return hours2
		}
		return days2
	}
	return -1 // not ended: always visible
}

func (p *Peering) visibleTo(acct, region string, now time.Time) bool {
	d := p.visibleFor(acct, region)
	return d < 0 || (d > 0 && now.Before(p.EndedAt.Add(d)))
}

// removeAt is when no one sees the ended connection any more.
func (p *Peering) removeAt() time.Time {
	var longest time.Duration
	for _, side := range [][2]string{{p.Owner, p.Region}, {p.AccepterOwner, p.AccepterRegion}} {
		longest = max(longest, p.visibleFor(side[0], side[1]))
	}
	return p.EndedAt.Add(longest)
}

func (p *Peering) end(now time.Time, status, message, by string) {
	p.Status, p.Message, p.EndedAt, p.EndedBy = status, message, now, by
}

// findPeering returns the connection with id if the caller sees it: as
// requester in the requester's region or as accepter in the accepter's.
func findPeering(c *call, t *txn, id string) (*Peering, error) {
	if p, ok := getAs[*Peering](t, id); ok && p.visibleTo(c.acct, c.region, t.now) {
		return p, nil
	}
	if !validID(kindPeering, id) {
		return nil, errMalformed(kindPeering, id)
	}
	return nil, errNotFound(kindPeering, id)
}

func vpcCidrs(v *Vpc) []string {
	out := make([]string, 0, len(v.CidrAssociations))
	for _, a := range v.CidrAssociations {
		out = append(out, a.CidrBlock)
	}
	return out
}

// cidrsOf are the current ranges of a VPC of the connection, or the ones
// recorded when it is gone.
func cidrsOf(t *txn, vpcID string, recorded []string) []string {
	if v, ok := getAs[*Vpc](t, vpcID); ok {
		return vpcCidrs(v)
	}
	return recorded
}

func overlapping(a, b *Vpc) bool {
	for _, x := range a.prefixes() {
		for _, y := range b.prefixes() {
			if overlaps(x, y) {
				return true
			}
		}
	}
	return false
}

// ---- XML ----

type cidrBlockXML struct {
	CidrBlock string `xml:"cidrBlock"`
}

type peeringOptionsXML struct {
	AllowDNSResolutionFromRemoteVpc            bool `xml:"allowDnsResolutionFromRemoteVpc"`
	AllowEgressFromLocalClassicLinkToRemoteVpc bool `xml:"allowEgressFromLocalClassicLinkToRemoteVpc"`
	AllowEgressFromLocalVpcToRemoteClassicLink bool `xml:"allowEgressFromLocalVpcToRemoteClassicLink"`
}

type pcxVpcInfoXML struct {
	CidrBlock      string             `xml:"cidrBlock,omitempty"`
	CidrBlockSet   List[cidrBlockXML] `xml:"cidrBlockSet,omitempty"`
	OwnerID        string             `xml:"ownerId"`
	PeeringOptions *peeringOptionsXML `xml:"peeringOptions,omitempty"`
	VpcID          string             `xml:"vpcId"`
	Region         string             `xml:"region"`
}

type pcxStatusXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type pcxXML struct {
	AccepterVpcInfo        pcxVpcInfoXML `xml:"accepterVpcInfo"`
	ExpirationTime         string        `xml:"expirationTime,omitempty"`
	RequesterVpcInfo       pcxVpcInfoXML `xml:"requesterVpcInfo"`
	Status                 pcxStatusXML  `xml:"status"`
	Tags                   List[Tag]     `xml:"tagSet"`
	VpcPeeringConnectionID string        `xml:"vpcPeeringConnectionId"`
}

func vpcInfo(owner, region, vpcID string, cidrs []string) pcxVpcInfoXML {
	x := pcxVpcInfoXML{OwnerID: owner, VpcID: vpcID, Region: region, PeeringOptions: &peeringOptionsXML{}}
	if len(cidrs) > 0 {
		x.CidrBlock = cidrs[0]
	}
	for _, c := range cidrs {
		x.CidrBlockSet = append(x.CidrBlockSet, cidrBlockXML{c})
	}
	return x
}

// xml renders the connection for the caller: tags are the requester's
// only (AWS keeps tags per account), and the accepter's ranges show once
// the request has been accepted.
func (p *Peering) xml(t *txn, acct, region string, status pcxStatusXML) pcxXML {
	x := pcxXML{VpcPeeringConnectionID: p.ID, Status: status, Tags: List[Tag]{},
		RequesterVpcInfo: vpcInfo(p.Owner, p.Region, p.RequesterVpcID, cidrsOf(t, p.RequesterVpcID, p.RequesterCidrs)),
		AccepterVpcInfo:  pcxVpcInfoXML{OwnerID: p.AccepterOwner, VpcID: p.AccepterVpcID, Region: p.AccepterRegion}}
	if p.AccepterCidrs != nil {
		x.AccepterVpcInfo = vpcInfo(p.AccepterOwner, p.AccepterRegion, p.AccepterVpcID, cidrsOf(t, p.AccepterVpcID, p.AccepterCidrs))
	}
	if p.Status == "pending-acceptance" || status.Code == "initiating-request" {
		x.ExpirationTime = timestamp(p.Expires)
	}
	if p.isRequester(acct, region) {
		x.Tags = p.Tags
	}
	return x
}

func (p *Peering) status() pcxStatusXML { return pcxStatusXML{p.Status, p.Message} }

// ---- CreateVpcPeeringConnection ----

type createVpcPeeringInput struct {
	DryRun            bool
	VpcID             string `ec2:"VpcId"`
	PeerVpcID         string `ec2:"PeerVpcId"`
	PeerOwnerID       string `ec2:"PeerOwnerId"`
	PeerRegion        string
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
}

type vpcPeeringOutput struct {
	VpcPeeringConnection pcxXML `xml:"vpcPeeringConnection"`
}

func createVpcPeeringConnection(c *call) (any, error) {
	var in createVpcPeeringInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.VpcID == "" {
		return nil, errMissing("VpcId")
	}
	if in.PeerVpcID == "" {
		return nil, errMissing("PeerVpcId")
	}
	if !validID(kindVpc, in.PeerVpcID) {
		return nil, errMalformed(kindVpc, in.PeerVpcID)
	}
	if in.PeerOwnerID == "" {
		in.PeerOwnerID = c.acct
	}
	if in.PeerRegion == "" {
		in.PeerRegion = c.region
	}
	tags, err := tagsFor(kindPeering, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(c.arn("vpc-peering-connection", "*"), in.DryRun); err != nil {
		return nil, err
	}
	var out vpcPeeringOutput
	err = c.s.write(c, func(t *txn) error {
		v, err := mustFind[*Vpc](c, t, kindVpc, in.VpcID)
		if err != nil {
			return err
		}
		duplicate := anyOf(t, kindPeering, func(o *Peering) bool {
			return (o.Status == "active" || o.Status == "pending-acceptance") &&
				((o.RequesterVpcID == v.ID && o.AccepterVpcID == in.PeerVpcID) || (o.RequesterVpcID == in.PeerVpcID && o.AccepterVpcID == v.ID))
		})
		if duplicate {
			return apiError("VpcPeeringConnectionAlreadyExists", "A VPC peering connection between %s and %s already exists.", v.ID, in.PeerVpcID)
		}
		p := &Peering{Meta: c.meta(kindPeering, tags), RequesterVpcID: v.ID, AccepterVpcID: in.PeerVpcID,
			AccepterOwner: in.PeerOwnerID, AccepterRegion: in.PeerRegion, RequesterCidrs: vpcCidrs(v),
			Expires: c.now.Add(peeringRequestLife)}
		// AWS answers at once and decides afterwards; the answer shows
		// the request being made, Describe shows how it went.
		peer, ok := getAs[*Vpc](t, in.PeerVpcID)
		if !ok || peer.Owner != in.PeerOwnerID || peer.Region != in.PeerRegion || peer.ID == v.ID || overlapping(v, peer) {
			p.end(c.now, "failed", msgPeeringFailed, "")
		} else {
			p.Status, p.Message = "pending-acceptance", "Pending Acceptance by "+in.PeerOwnerID
		}
		t.put(p)
		out.VpcPeeringConnection = p.xml(t, c.acct, c.region, pcxStatusXML{"initiating-request", "Initiating Request to " + in.PeerOwnerID})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ---- Accept, Reject, Delete ----

type pcxIDInput struct {
	DryRun                 bool
	VpcPeeringConnectionID string `ec2:"VpcPeeringConnectionId"`
}

func (in *pcxIDInput) decode(c *call) error {
	if err := c.decode(in); err != nil {
		return err
	}
	if in.VpcPeeringConnectionID == "" {
		return errMissing("VpcPeeringConnectionId")
	}
	return c.authorize(c.arn("vpc-peering-connection", in.VpcPeeringConnectionID), in.DryRun)
}

func errStateTransition(p *Peering, to string) error {
	return apiError("InvalidStateTransition", "Invalid state transition for %s, attempted to transition from %s to %s", p.ID, p.Status, to)
}

// checkAnswerer makes sure the caller may accept or reject p: only the
// accepter's account, in the accepter's region.
func checkAnswerer(c *call, p *Peering, verb, regionVerb string) error {
	if p.AccepterOwner != c.acct {
		return errNotPermitted("User (%s) cannot %s peering %s", c.acct, verb, p.ID)
	}
	if p.AccepterRegion != c.region {
		return errNotPermitted("Incorrect region (%s) specified for this request. VPC peering connection %s must be %s in region %s", c.region, p.ID, regionVerb, p.AccepterRegion)
	}
	return nil
}

func acceptVpcPeeringConnection(c *call) (any, error) {
	var in pcxIDInput
	if err := in.decode(c); err != nil {
		return nil, err
	}
	var out vpcPeeringOutput
	err := c.s.write(c, func(t *txn) error {
		found, err := findPeering(c, t, in.VpcPeeringConnectionID)
		if err != nil {
			return err
		}
		if err := checkAnswerer(c, found, "accept", "accepted"); err != nil {
			return err
		}
		if found.Status != "pending-acceptance" {
			return errStateTransition(found, "provisioning")
		}
		acc, ok := getAs[*Vpc](t, found.AccepterVpcID)
		if !ok {
			return errNotFound(kindVpc, found.AccepterVpcID)
		}
		p := editAs[*Peering](t, found.ID)
		p.Status, p.Message, p.AccepterCidrs = "active", "Active", vpcCidrs(acc)
		out.VpcPeeringConnection = p.xml(t, c.acct, c.region, pcxStatusXML{"provisioning", "Provisioning"})
		out.VpcPeeringConnection.ExpirationTime = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func rejectVpcPeeringConnection(c *call) (any, error) {
	var in pcxIDInput
	if err := in.decode(c); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		found, err := findPeering(c, t, in.VpcPeeringConnectionID)
		if err != nil {
			return err
		}
		if err := checkAnswerer(c, found, "reject", "accepted or rejected"); err != nil {
			return err
		}
		if found.Status != "pending-acceptance" {
			return errStateTransition(found, "rejected")
		}
		editAs[*Peering](t, found.ID).end(t.now, "rejected", "Rejected by "+c.acct, c.acct)
		return nil
	})
}

// deleteVpcPeeringConnection: either side may delete an active connection;
// only the requester may withdraw an unanswered request.
func deleteVpcPeeringConnection(c *call) (any, error) {
	var in pcxIDInput
	if err := in.decode(c); err != nil {
		return nil, err
	}
	return okResult, c.s.write(c, func(t *txn) error {
		found, err := findPeering(c, t, in.VpcPeeringConnectionID)
		if err != nil {
			return err
		}
		switch found.Status {
		case "active":
		case "pending-acceptance":
			if !found.isRequester(c.acct, c.region) {
				return errNotPermitted("User (%s) cannot delete peering %s", c.acct, found.ID)
			}
		default:
			return errStateTransition(found, "deleting")
		}
		editAs[*Peering](t, found.ID).end(t.now, "deleted", "Deleted by "+c.acct, c.acct)
		return nil
	})
}

// ---- DescribeVpcPeeringConnections ----

// pcxView is a connection as one caller sees it: with that caller's tags,
// so that tag filters match what the caller sees.
type pcxView struct {
	Meta
	p *Peering
}

var pcxFilters = filters[*pcxView]{
	"vpc-peering-connection-id":     func(v *pcxView) string { return v.p.ID },
	"status-code":                   func(v *pcxView) string { return v.p.Status },
	"status-message":                func(v *pcxView) string { return v.p.Message },
	"expiration-time":               func(v *pcxView) string { return timestamp(v.p.Expires) },
	"requester-vpc-info.vpc-id":     func(v *pcxView) string { return v.p.RequesterVpcID },
	"requester-vpc-info.owner-id":   func(v *pcxView) string { return v.p.Owner },
	"requester-vpc-info.cidr-block": func(v *pcxView) []string { return v.p.RequesterCidrs },
	"accepter-vpc-info.vpc-id":      func(v *pcxView) string { return v.p.AccepterVpcID },
	"accepter-vpc-info.owner-id":    func(v *pcxView) string { return v.p.AccepterOwner },
	"accepter-vpc-info.cidr-block":  func(v *pcxView) []string { return v.p.AccepterCidrs },
}

type describeVpcPeeringInput struct {
	DryRun                  bool
	VpcPeeringConnectionIDs []string `ec2:"VpcPeeringConnectionId"`
	Filters                 []Filter `ec2:"Filter"`
	MaxResults              *int32
	NextToken               string
}

type describeVpcPeeringOutput struct {
	VpcPeeringConnections List[pcxXML] `xml:"vpcPeeringConnectionSet"`
	NextToken             string       `xml:"nextToken,omitempty"`
}

func describeVpcPeeringConnections(c *call) (any, error) {
	var in describeVpcPeeringInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorize("*", in.DryRun); err != nil {
		return nil, err
	}
	if err := pcxFilters.check(in.Filters); err != nil {
		return nil, err
	}
	var out describeVpcPeeringOutput
	err := c.s.read(c, func(t *txn) error {
		view := func(p *Peering) *pcxView {
			v := &pcxView{Meta: p.Meta, p: p}
			if !p.isRequester(c.acct, c.region) {
				v.Tags = nil
			}
			return v
		}
		var views []*pcxView
		if len(in.VpcPeeringConnectionIDs) > 0 {
			for _, id := range in.VpcPeeringConnectionIDs {
				p, err := findPeering(c, t, id)
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(views, func(v *pcxView) bool { return v.ID == id }) {
					views = append(views, view(p))
				}
			}
			slices.SortFunc(views, func(a, b *pcxView) int { return strings.Compare(a.ID, b.ID) })
		} else {
			t.each(kindPeering, func(r resource) bool {
				if p := r.(*Peering); p.visibleTo(c.acct, c.region, t.now) {
					views = append(views, view(p))
				}
				return true
			})
		}
		views = slices.DeleteFunc(views, func(v *pcxView) bool { return !pcxFilters.match(in.Filters, v) })
		var err error
		if views, out.NextToken, err = page(views, in.MaxResults, in.NextToken, 5, 1000); err != nil {
			return err
		}
		for _, v := range views {
			out.VpcPeeringConnections = append(out.VpcPeeringConnections, v.p.xml(t, c.acct, c.region, v.p.status()))
		}
		return nil
	})
	return out, err
}

// settlePeerings expires unanswered requests, ends requests whose VPC was
// deleted, and forgets ended connections no one sees any more.
func settlePeerings(s *Service, t *txn) time.Time {
	var next time.Time
	soon := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	t.each(kindPeering, func(r resource) bool {
		p := r.(*Peering)
		switch {
		case p.Status == "pending-acceptance":
			_, reqOK := getAs[*Vpc](t, p.RequesterVpcID)
			_, accOK := getAs[*Vpc](t, p.AccepterVpcID)
			switch {
			case !reqOK || !accOK:
				by := p.Owner
				if reqOK {
					by = p.AccepterOwner
				}
				e := editAs[*Peering](t, p.ID)
				e.end(t.now, "deleted", "Deleted by "+by, by)
				soon(e.removeAt())
			case !t.now.Before(p.Expires):
				e := editAs[*Peering](t, p.ID)
				e.end(t.now, "expired", "Expired", "")
				soon(e.removeAt())
			default:
				soon(p.Expires)
			}
		case p.isGone():
			if at := p.removeAt(); t.now.Before(at) {
				soon(at)
			} else {
				t.del(p.ID)
			}
		}
		return true
	})
	return next
}
