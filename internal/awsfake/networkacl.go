package awsfake

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type nacl struct {
	id, vpcID string
	isDefault bool
	entries   []naclEntry
	assocs    []naclAssoc
	tags      tags
}

type naclAssoc struct{ id, subnetID string }

type naclEntry struct {
	rule     int32
	egress   bool
	cidr     string
	ipv6     string
	action   types.RuleAction
	protocol string // a protocol number, "-1" for all
	ports    *types.PortRange
	icmp     *types.IcmpTypeCode
}

// The catch-all deny entries AWS shows as rule "*"; they are not user entries.
const (
	naclDefaultRule     = 32767
	naclDefaultRuleIPv6 = 32768
)

// newNACL creates a network ACL. A default one allows everything at rule 100
// (101 for ::/0); a custom one starts with only the catch-all denies.
func (w *World) newNACL(v *vpc, isDefault bool) *nacl {
	n := &nacl{id: w.newID("acl"), vpcID: v.id, isDefault: isDefault, tags: tags{}}
	for _, egress := range []bool{false, true} {
		if isDefault {
			n.entries = append(n.entries, naclEntry{rule: 100, egress: egress, cidr: "0.0.0.0/0", action: types.RuleActionAllow, protocol: "-1"})
			if v.ipv6CIDR != "" {
				n.entries = append(n.entries, naclEntry{rule: 101, egress: egress, ipv6: "::/0", action: types.RuleActionAllow, protocol: "-1"})
			}
		}
		n.entries = append(n.entries, naclEntry{rule: naclDefaultRule, egress: egress, cidr: "0.0.0.0/0", action: types.RuleActionDeny, protocol: "-1"})
		if v.ipv6CIDR != "" {
			n.entries = append(n.entries, naclEntry{rule: naclDefaultRuleIPv6, egress: egress, ipv6: "::/0", action: types.RuleActionDeny, protocol: "-1"})
		}
	}
	w.nacls.put(n.id, n)
	return n
}

// AddNetworkACL creates a custom network ACL (deny-all until entries are added)
// and moves the given subnets to it.
func (w *World) AddNetworkACL(vpcID string, subnetIDs ...string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.newNACL(w.mustVPC(vpcID), false)
	for _, id := range subnetIDs {
		s := w.mustSubnet(id)
		if s.vpcID != vpcID {
			panic(fmt.Sprintf("awsfake: subnet %s is not in %s", id, vpcID))
		}
		w.associateNACL(n, s)
	}
	return n.id
}

// associateNACL moves a subnet to n; a subnet has exactly one network ACL.
func (w *World) associateNACL(n *nacl, s *subnet) {
	for _, other := range w.nacls.all() {
		other.assocs = slices.DeleteFunc(other.assocs, func(a naclAssoc) bool { return a.subnetID == s.id })
	}
	s.naclAssocID = w.newID("aclassoc")
	n.assocs = append(n.assocs, naclAssoc{id: s.naclAssocID, subnetID: s.id})
}

func (w *World) mustNACL(id string) *nacl {
	n, ok := w.nacls.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no network ACL %q", id))
	}
	return n
}

// NetworkACL returns a copy of a network ACL as DescribeNetworkAcls shows it
// (the zero value when there is none).
func (w *World) NetworkACL(id string) types.NetworkAcl {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n, ok := w.nacls.get(id); ok {
		return w.renderNACL(n)
	}
	return types.NetworkAcl{}
}

func (w *World) renderNACL(n *nacl) types.NetworkAcl {
	out := types.NetworkAcl{
		NetworkAclId: aws.String(n.id),
		VpcId:        aws.String(n.vpcID),
		IsDefault:    aws.Bool(n.isDefault),
		OwnerId:      aws.String(w.account),
		Tags:         n.tags.sdk(),
		Associations: []types.NetworkAclAssociation{},
		Entries:      []types.NetworkAclEntry{},
	}
	for _, a := range n.assocs {
		out.Associations = append(out.Associations, types.NetworkAclAssociation{
			NetworkAclAssociationId: aws.String(a.id), NetworkAclId: aws.String(n.id), SubnetId: aws.String(a.subnetID),
		})
	}
	// AWS lists egress entries first, each direction by rule number.
	entries := slices.Clone(n.entries)
	slices.SortStableFunc(entries, func(a, b naclEntry) int {
		if a.egress != b.egress {
			if a.egress {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.rule, b.rule)
	})
	for _, e := range entries {
		re := types.NetworkAclEntry{
			RuleNumber: aws.Int32(e.rule),
			Egress:     aws.Bool(e.egress),
			Protocol:   aws.String(e.protocol),
			RuleAction: e.action,
		}
		if e.cidr != "" {
			re.CidrBlock = aws.String(e.cidr)
		} else {
			re.Ipv6CidrBlock = aws.String(e.ipv6)
		}
		if e.ports != nil {
			re.PortRange = &types.PortRange{From: aws.Int32(aws.ToInt32(e.ports.From)), To: aws.Int32(aws.ToInt32(e.ports.To))}
		}
		if e.icmp != nil {
			re.IcmpTypeCode = &types.IcmpTypeCode{Type: aws.Int32(aws.ToInt32(e.icmp.Type)), Code: aws.Int32(aws.ToInt32(e.icmp.Code))}
		}
		out.Entries = append(out.Entries, re)
	}
	return out
}

// DescribeNetworkAcls lists network ACLs by id and filters.
func (c *EC2) DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeNetworkAcls", in, c.w.describeNetworkAcls)
}

func (w *World) describeNetworkAcls(in *ec2.DescribeNetworkAclsInput) (*ec2.DescribeNetworkAclsOutput, error) {
	if err := checkFilters(in.Filters, "network-acl-id", "vpc-id", "default", "owner-id", "association.subnet-id",
		"association.association-id", "association.network-acl-id", "entry.rule-number", "entry.cidr",
		"entry.ipv6-cidr", "entry.egress", "entry.rule-action", "entry.protocol"); err != nil {
		return nil, err
	}
	for _, id := range in.NetworkAclIds {
		if !w.nacls.has(id) {
			return nil, errNACLNotFound(id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.NetworkAcl
	for _, n := range w.nacls.all() {
		if len(in.NetworkAclIds) > 0 && !slices.Contains(in.NetworkAclIds, n.id) {
			continue
		}
		if matchFilters(in.Filters, n.tags, n.field(w)) {
			found = append(found, w.renderNACL(n))
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.NetworkAclIds) > 0, "networkAclIdSet")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: out, NextToken: next}, nil
}

func (n *nacl) field(w *World) func(string) []string {
	return func(name string) []string {
		var out []string
		switch name {
		case "network-acl-id", "association.network-acl-id":
			return []string{n.id}
		case "vpc-id":
			return []string{n.vpcID}
		case "default":
			return boolValue(n.isDefault)
		case "owner-id":
			return []string{w.account}
		case "association.subnet-id":
			for _, a := range n.assocs {
				out = append(out, a.subnetID)
			}
		case "association.association-id":
			for _, a := range n.assocs {
				out = append(out, a.id)
			}
		}
		for _, e := range n.entries {
			switch name {
			case "entry.rule-number":
				out = append(out, strconv.Itoa(int(e.rule)))
			case "entry.cidr":
				out = append(out, e.cidr)
			case "entry.ipv6-cidr":
				out = append(out, e.ipv6)
			case "entry.egress":
				out = append(out, strconv.FormatBool(e.egress))
			case "entry.rule-action":
				out = append(out, string(e.action))
			case "entry.protocol":
				out = append(out, e.protocol)
			}
		}
		return out
	}
}

// CreateNetworkAclEntry adds a numbered entry to a network ACL.
func (c *EC2) CreateNetworkAclEntry(ctx context.Context, in *ec2.CreateNetworkAclEntryInput, _ ...func(*ec2.Options)) (*ec2.CreateNetworkAclEntryOutput, error) {
	return call(ctx, c.w, svcEC2, "CreateNetworkAclEntry", in, c.w.createNetworkACLEntry)
}

func (w *World) createNetworkACLEntry(in *ec2.CreateNetworkAclEntryInput) (*ec2.CreateNetworkAclEntryOutput, error) {
	switch {
	case in.NetworkAclId == nil:
		return nil, errMissing("networkAclId")
	case in.RuleNumber == nil:
		return nil, errMissing("ruleNumber")
	case in.Egress == nil:
		return nil, errMissing("egress")
	case in.Protocol == nil:
		return nil, errMissing("protocol")
	case in.RuleAction == "":
		return nil, errMissing("ruleAction")
	}
	n, ok := w.nacls.get(*in.NetworkAclId)
	if !ok {
		return nil, errNACLNotFound(*in.NetworkAclId)
	}
	e := naclEntry{rule: *in.RuleNumber, egress: *in.Egress, action: in.RuleAction}
	if e.rule < 1 || e.rule > 32766 {
		return nil, apiError("InvalidParameterValue",
			"Value ( %d ) for parameter ruleNumber is invalid. Must be a value between 1 and 32766.", e.rule)
	}
	if e.action != types.RuleActionAllow && e.action != types.RuleActionDeny {
		return nil, apiError("InvalidParameterValue", "Value ( %s ) for parameter ruleAction is invalid.", e.action)
	}
	switch {
	case in.CidrBlock != nil && in.Ipv6CidrBlock != nil:
		return nil, apiError("InvalidParameterCombination", "Only one of cidrBlock or ipv6CidrBlock may be specified.")
	case in.CidrBlock != nil:
		p, err := netip.ParsePrefix(*in.CidrBlock)
		if err != nil || !p.Addr().Is4() {
			return nil, apiError("InvalidParameterValue", "Value ( %s ) for parameter cidrBlock is invalid. This is not a valid CIDR block.", *in.CidrBlock)
		}
		e.cidr = p.Masked().String()
	case in.Ipv6CidrBlock != nil:
		p, err := netip.ParsePrefix(*in.Ipv6CidrBlock)
		if err != nil || !p.Addr().Is6() {
			return nil, apiError("InvalidParameterValue", "Value ( %s ) for parameter ipv6CidrBlock is invalid. This is not a valid CIDR block.", *in.Ipv6CidrBlock)
		}
		e.ipv6 = p.Masked().String()
	default:
		return nil, apiError("MissingParameter", "Either 'cidrBlock' or 'ipv6CidrBlock' should be provided.")
	}
	proto, ok := naclProtocol(*in.Protocol)
	if !ok {
		return nil, apiError("InvalidParameterValue", "Value ( %s ) for parameter protocol is invalid.", *in.Protocol)
	}
	e.protocol = proto
	switch proto {
	case "6", "17":
		if in.PortRange == nil || in.PortRange.From == nil || in.PortRange.To == nil {
			return nil, errMissing("portRange")
		}
		e.ports = in.PortRange
	case "1", "58":
		if in.IcmpTypeCode == nil {
			return nil, errMissing("icmpTypeCode")
		}
		e.icmp = in.IcmpTypeCode
	}
	for _, x := range n.entries {
		if x.egress == e.egress && x.rule == e.rule {
			return nil, apiError("NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", e.rule)
		}
	}
	used := 0
	for _, x := range n.entries {
		if x.egress == e.egress && (x.cidr != "") == (e.cidr != "") && x.rule <= 32766 {
			used++
		}
	}
	if used >= w.naclEntryLimit {
		return nil, apiError("NetworkAclEntryLimitExceeded",
			"The maximum number of entries for network ACL '%s' has been reached.", n.id)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	// Copy what the caller handed in: later changes to their structs must not leak in.
	if e.ports != nil {
		e.ports = &types.PortRange{From: aws.Int32(*e.ports.From), To: aws.Int32(*e.ports.To)}
	}
	if e.icmp != nil {
		e.icmp = &types.IcmpTypeCode{Type: aws.Int32(aws.ToInt32(e.icmp.Type)), Code: aws.Int32(aws.ToInt32(e.icmp.Code))}
	}
	n.entries = append(n.entries, e)
	return &ec2.CreateNetworkAclEntryOutput{}, nil
}

// naclProtocol turns a protocol name or number into the number EC2 stores.
func naclProtocol(p string) (string, bool) {
	switch p {
	case "-1", "all":
		return "-1", true
	case "tcp":
		return "6", true
	case "udp":
		return "17", true
	case "icmp":
		return "1", true
	case "icmpv6":
		return "58", true
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return "", false
	}
	return strconv.Itoa(n), true
}
