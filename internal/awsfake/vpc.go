package awsfake

import (
	"fmt"
	"net/netip"
	"strings"
)

type vpc struct {
	id, cidr     string
	ipv6CIDR     string
	isDefault    bool
	defaultNACL  string
	defaultGroup string
	subnets      int
	tags         tags
}

type subnet struct {
	id, vpcID, az  string
	cidr, ipv6CIDR string
	naclAssocID    string
	nextHost       int
	nextIPv6       int
	tags           tags
}

// AddVPC creates a VPC as CreateVpc does: with a default network ACL (allow all
// at rule 100, deny at *) and a default security group. With ipv6 the VPC gets
// an Amazon-provided /56, and its defaults cover ::/0 too.
func (w *World) AddVPC(cidr string, ipv6 bool) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := netip.MustParsePrefix(cidr)
	if !p.Addr().Is4() || p != p.Masked() {
		panic(fmt.Sprintf("awsfake: AddVPC: %q is not an IPv4 network", cidr))
	}
	v := &vpc{id: w.newID("vpc"), cidr: cidr, tags: tags{}}
	if ipv6 {
		n := len(w.vpcs.order) + 1
		v.ipv6CIDR = fmt.Sprintf("2600:1f18:%x:%x00::/56", 0x4a00+n, n%256)
	}
	w.vpcs.put(v.id, v)
	v.defaultNACL = w.newNACL(v, true).id
	g, err := w.createGroup(v.id, "default", "default VPC security group", nil)
	if err != nil {
		panic(err)
	}
	// The default group lets members talk to each other.
	g.addRule(w, &sgRule{proto: "-1", from: -1, to: -1, refGroup: g.id, refUser: w.account})
	v.defaultGroup = g.id
	return v.id
}

// SetDefaultVPC marks the Region's default VPC; it changes how revoking an
// unknown rule behaves (no error, UnknownIpPermissions) and where group names resolve.
func (w *World) SetDefaultVPC(vpcID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.vpcs.all() {
		v.isDefault = v.id == vpcID
	}
}

// AddSubnet creates a subnet associated with its VPC's default network ACL.
// In an IPv6 VPC it also gets the next /64. An empty az means the Region's "a".
func (w *World) AddSubnet(vpcID, cidr, az string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.mustVPC(vpcID)
	p := netip.MustParsePrefix(cidr)
	if !netip.MustParsePrefix(v.cidr).Contains(p.Addr()) || p != p.Masked() {
		panic(fmt.Sprintf("awsfake: AddSubnet: %s is not inside %s", cidr, v.cidr))
	}
	if az == "" {
		az = w.region + "a"
	}
	s := &subnet{id: w.newID("subnet"), vpcID: vpcID, az: az, cidr: cidr, nextHost: 10, tags: tags{}}
	if v.ipv6CIDR != "" {
		a := netip.MustParsePrefix(v.ipv6CIDR).Addr().As16()
		a[7] = byte(v.subnets)
		s.ipv6CIDR = netip.PrefixFrom(netip.AddrFrom16(a), 64).String()
	}
	v.subnets++
	w.subnets.put(s.id, s)
	w.associateNACL(w.mustNACL(v.defaultNACL), s)
	return s.id
}

// DefaultSecurityGroup is the id of a VPC's "default" group.
func (w *World) DefaultSecurityGroup(vpcID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mustVPC(vpcID).defaultGroup
}

// SubnetNetworkACL is the id of the network ACL a subnet is associated with.
func (w *World) SubnetNetworkACL(subnetID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.mustSubnet(subnetID)
	for _, n := range w.nacls.all() {
		for _, a := range n.assocs {
			if a.subnetID == s.id {
				return n.id
			}
		}
	}
	return ""
}

func (w *World) mustVPC(id string) *vpc {
	v, ok := w.vpcs.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no VPC %q", id))
	}
	return v
}

func (w *World) mustSubnet(id string) *subnet {
	s, ok := w.subnets.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no subnet %q", id))
	}
	return s
}

// allocIPv4 hands out the subnet's next private address, starting at .10 as
// the first few are AWS-reserved.
func (s *subnet) allocIPv4() string {
	a := addN(netip.MustParsePrefix(s.cidr).Addr(), s.nextHost)
	s.nextHost++
	return a.String()
}

func (s *subnet) allocIPv6() string {
	if s.ipv6CIDR == "" {
		panic(fmt.Sprintf("awsfake: subnet %s has no IPv6 CIDR", s.id))
	}
	a := addN(netip.MustParsePrefix(s.ipv6CIDR).Addr(), 0x1a2b3c10+s.nextIPv6)
	s.nextIPv6++
	return a.String()
}

func addN(a netip.Addr, n int) netip.Addr {
	b := a.AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		sum := int(b[i]) + carry&0xff
		b[i] = byte(sum)
		carry = carry>>8 + sum>>8
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// privateDNS is the EC2 internal host name of an address.
func (w *World) privateDNS(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if w.region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + w.region + ".compute.internal"
}
