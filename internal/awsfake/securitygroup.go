package awsfake

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type secGroup struct {
	id, name, desc, vpcID string
	tags                  tags
	rules                 []*sgRule
}

// sgRule is one security group rule: one protocol/port range and one peer.
type sgRule struct {
	id     string
	egress bool
	proto  string // "-1", "tcp", "udp", "icmp", "icmpv6" or a protocol number
	from   int32  // -1 when the protocol has no ports
	to     int32
	// exactly one peer
	cidr4, cidr6, prefixList string
	refGroup, refUser        string
	desc                     string
	tags                     tags
}

// Rules per direction per IP family (the default quota).
const maxRulesPerDirection = 60

// Groups an ENI may have (the default quota).
const maxGroupsPerENI = 5

// identity is what makes two rules the same rule; descriptions do not count.
func (r *sgRule) identity() string {
	return fmt.Sprintf("%t|%s|%d|%d|%s|%s|%s|%s", r.egress, r.proto, r.from, r.to, r.cidr4, r.cidr6, r.prefixList, r.refGroup)
}

func (r *sgRule) peer() string {
	return cmp.Or(r.cidr4, r.cidr6, r.prefixList, r.refGroup)
}

// describe words a rule the way InvalidPermission.Duplicate messages do.
func (r *sgRule) describe() string {
	switch r.proto {
	case "-1":
		return fmt.Sprintf("peer: %s, ALL, ALLOW", r.peer())
	case "icmp", "icmpv6":
		return fmt.Sprintf("peer: %s, %s, type: %d, code: %d, ALLOW", r.peer(), strings.ToUpper(r.proto), r.from, r.to)
	default:
		return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", r.peer(), strings.ToUpper(r.proto), r.from, r.to)
	}
}

func (g *secGroup) addRule(w *World, r *sgRule) {
	r.id = w.newID("sgr")
	if r.tags == nil {
		r.tags = tags{}
	}
	g.rules = append(g.rules, r)
	w.ruleGroup[r.id] = g.id
}

func (w *World) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s", w.region, w.account, resource)
}

// checkNewGroup applies CreateSecurityGroup's rules for VPC, name and description.
func (w *World) checkNewGroup(vpcID, name, desc string) error {
	if !w.vpcs.has(vpcID) {
		return apiError("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	switch {
	case name == "":
		return errMissing("GroupName")
	case desc == "":
		return errMissing("GroupDescription")
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		return apiError("InvalidParameterValue", "Group names may not be in the format sg-*.")
	case len(name) > 255:
		return apiError("InvalidParameterValue", "Invalid value '%s' for groupName. Length exceeds maximum of 255", name)
	case len(desc) > 255:
		return apiError("InvalidParameterValue", "Invalid value for GroupDescription. Length exceeds maximum of 255")
	}
	for _, g := range w.groups.all() {
		if g.vpcID == vpcID && g.name == name {
			return apiError("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
	}
	return nil
}

// createGroup is CreateSecurityGroup without the call plumbing: a new group
// allows all IPv4 egress, and all IPv6 egress too when its VPC has IPv6.
func (w *World) createGroup(vpcID, name, desc string, t tags) (*secGroup, error) {
	if err := w.checkNewGroup(vpcID, name, desc); err != nil {
		return nil, err
	}
	if t == nil {
		t = tags{}
	}
	g := &secGroup{id: w.newID("sg"), name: name, desc: desc, vpcID: vpcID, tags: t}
	w.groups.put(g.id, g)
	g.addRule(w, &sgRule{egress: true, proto: "-1", from: -1, to: -1, cidr4: "0.0.0.0/0"})
	if w.mustVPC(vpcID).ipv6CIDR != "" {
		g.addRule(w, &sgRule{egress: true, proto: "-1", from: -1, to: -1, cidr6: "::/0"})
	}
	return g, nil
}

// AddSecurityGroup seeds a group (with AWS's default egress) and ingress rules.
func (w *World) AddSecurityGroup(vpcID, name string, ingress ...types.IpPermission) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, err := w.createGroup(vpcID, name, name+" security group", nil)
	if err != nil {
		panic(err)
	}
	if len(ingress) > 0 {
		if _, err := w.authorize(permChange{groupID: aws.String(g.id), perms: ingress}); err != nil {
			panic(err)
		}
	}
	return g.id
}

// SecurityGroup returns a copy of a group as DescribeSecurityGroups shows it
// (the zero value when there is none).
func (w *World) SecurityGroup(id string) types.SecurityGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	if g, ok := w.groups.get(id); ok {
		return w.renderGroup(g)
	}
	return types.SecurityGroup{}
}

// SecurityGroupRules returns copies of a group's rules as DescribeSecurityGroupRules shows them.
func (w *World) SecurityGroupRules(groupID string) []types.SecurityGroupRule {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.groups.get(groupID)
	if !ok {
		return nil
	}
	var out []types.SecurityGroupRule
	for _, r := range g.rules {
		out = append(out, w.renderRule(g, r))
	}
	return out
}

func (w *World) renderGroup(g *secGroup) types.SecurityGroup {
	var in, out []*sgRule
	for _, r := range g.rules {
		if r.egress {
			out = append(out, r)
		} else {
			in = append(in, r)
		}
	}
	return types.SecurityGroup{
		GroupId:             aws.String(g.id),
		GroupName:           aws.String(g.name),
		Description:         aws.String(g.desc),
		VpcId:               aws.String(g.vpcID),
		OwnerId:             aws.String(w.account),
		SecurityGroupArn:    aws.String(w.arn("security-group/" + g.id)),
		Tags:                g.tags.sdk(),
		IpPermissions:       renderPermissions(in),
		IpPermissionsEgress: renderPermissions(out),
	}
}

// renderPermissions folds rules into IpPermissions, one per protocol and port
// range, peers merged, as DescribeSecurityGroups returns them.
func renderPermissions(rules []*sgRule) []types.IpPermission {
	out := []types.IpPermission{}
	index := map[string]int{}
	for _, r := range rules {
		k := fmt.Sprintf("%s|%d|%d", r.proto, r.from, r.to)
		i, ok := index[k]
		if !ok {
			p := types.IpPermission{IpProtocol: aws.String(r.proto)}
			if hasPorts(r.proto) {
				p.FromPort, p.ToPort = aws.Int32(r.from), aws.Int32(r.to)
			}
			out = append(out, p)
			i = len(out) - 1
			index[k] = i
		}
		p := &out[i]
		desc := optional(r.desc)
		switch {
		case r.cidr4 != "":
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(r.cidr4), Description: desc})
		case r.cidr6 != "":
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(r.cidr6), Description: desc})
		case r.prefixList != "":
			p.PrefixListIds = append(p.PrefixListIds, types.PrefixListId{PrefixListId: aws.String(r.prefixList), Description: desc})
		default:
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, types.UserIdGroupPair{GroupId: aws.String(r.refGroup), UserId: aws.String(r.refUser), Description: desc})
		}
	}
	return out
}

func hasPorts(proto string) bool {
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (w *World) renderRule(g *secGroup, r *sgRule) types.SecurityGroupRule {
	out := types.SecurityGroupRule{
		SecurityGroupRuleId:  aws.String(r.id),
		SecurityGroupRuleArn: aws.String(w.arn("security-group-rule/" + r.id)),
		GroupId:              aws.String(g.id),
		GroupOwnerId:         aws.String(w.account),
		IsEgress:             aws.Bool(r.egress),
		IpProtocol:           aws.String(r.proto),
		FromPort:             aws.Int32(r.from),
		ToPort:               aws.Int32(r.to),
		CidrIpv4:             optional(r.cidr4),
		CidrIpv6:             optional(r.cidr6),
		PrefixListId:         optional(r.prefixList),
		Description:          optional(r.desc),
		Tags:                 r.tags.sdk(),
	}
	if r.refGroup != "" {
		out.ReferencedGroupInfo = &types.ReferencedSecurityGroup{GroupId: aws.String(r.refGroup), UserId: aws.String(r.refUser)}
	}
	return out
}

func renderRevoked(g *secGroup, r *sgRule) types.RevokedSecurityGroupRule {
	return types.RevokedSecurityGroupRule{
		SecurityGroupRuleId: aws.String(r.id),
		GroupId:             aws.String(g.id),
		IsEgress:            aws.Bool(r.egress),
		IpProtocol:          aws.String(r.proto),
		FromPort:            aws.Int32(r.from),
		ToPort:              aws.Int32(r.to),
		CidrIpv4:            optional(r.cidr4),
		CidrIpv6:            optional(r.cidr6),
		PrefixListId:        optional(r.prefixList),
		ReferencedGroupId:   optional(r.refGroup),
		Description:         optional(r.desc),
	}
}

// CreateSecurityGroup creates a group in a VPC.
func (c *EC2) CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	return call(ctx, c.w, svcEC2, "CreateSecurityGroup", in, c.w.createSecurityGroup)
}

func (w *World) createSecurityGroup(in *ec2.CreateSecurityGroupInput) (*ec2.CreateSecurityGroupOutput, error) {
	vpcID := aws.ToString(in.VpcId)
	if vpcID == "" {
		vpcID = w.defaultVPC()
		if vpcID == "" {
			return nil, apiError("VPCIdNotSpecified", "No default VPC for this user")
		}
	}
	t, err := tagSpecTags(in.TagSpecifications, types.ResourceTypeSecurityGroup)
	if err != nil {
		return nil, err
	}
	if err := w.checkNewGroup(vpcID, aws.ToString(in.GroupName), aws.ToString(in.Description)); err != nil {
		return nil, err
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	g, err := w.createGroup(vpcID, aws.ToString(in.GroupName), aws.ToString(in.Description), t)
	if err != nil {
		return nil, err
	}
	return &ec2.CreateSecurityGroupOutput{
		GroupId:          aws.String(g.id),
		SecurityGroupArn: aws.String(w.arn("security-group/" + g.id)),
		Tags:             g.tags.sdk(),
	}, nil
}

func (w *World) defaultVPC() string {
	for _, v := range w.vpcs.all() {
		if v.isDefault {
			return v.id
		}
	}
	return ""
}

// DescribeSecurityGroups lists groups by id, name and filters.
func (c *EC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeSecurityGroups", in, c.w.describeSecurityGroups)
}

func (w *World) describeSecurityGroups(in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := checkFilters(in.Filters, "group-id", "group-name", "vpc-id", "description", "owner-id",
		"ip-permission.cidr", "ip-permission.ipv6-cidr", "ip-permission.group-id", "ip-permission.protocol",
		"ip-permission.from-port", "ip-permission.to-port", "egress.ip-permission.cidr",
		"egress.ip-permission.ipv6-cidr", "egress.ip-permission.group-id", "egress.ip-permission.protocol"); err != nil {
		return nil, err
	}
	for _, id := range in.GroupIds {
		if !wellFormed("sg", id) {
			return nil, errGroupMalformed(id)
		}
		if !w.groups.has(id) {
			return nil, errGroupNotFound(id)
		}
	}
	def := w.defaultVPC()
	for _, name := range in.GroupNames {
		if !slices.ContainsFunc(w.groups.all(), func(g *secGroup) bool { return g.vpcID == def && g.name == name }) {
			if def == "" {
				return nil, errGroupNotFound(name)
			}
			return nil, apiError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, def)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.SecurityGroup
	for _, g := range w.groups.all() {
		if len(in.GroupIds) > 0 && !slices.Contains(in.GroupIds, g.id) {
			continue
		}
		if len(in.GroupNames) > 0 && (g.vpcID != def || !slices.Contains(in.GroupNames, g.name)) {
			continue
		}
		if matchFilters(in.Filters, g.tags, g.field(w)) {
			found = append(found, w.renderGroup(g))
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.GroupIds)+len(in.GroupNames) > 0, "groupIdSet")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: out, NextToken: next}, nil
}

func (g *secGroup) field(w *World) func(string) []string {
	return func(name string) []string {
		switch name {
		case "group-id":
			return []string{g.id}
		case "group-name":
			return []string{g.name}
		case "vpc-id":
			return []string{g.vpcID}
		case "description":
			return []string{g.desc}
		case "owner-id":
			return []string{w.account}
		}
		egress := strings.HasPrefix(name, "egress.")
		var out []string
		for _, r := range g.rules {
			if r.egress != egress {
				continue
			}
			switch strings.TrimPrefix(name, "egress.") {
			case "ip-permission.cidr":
				out = append(out, r.cidr4)
			case "ip-permission.ipv6-cidr":
				out = append(out, r.cidr6)
			case "ip-permission.group-id":
				out = append(out, r.refGroup)
			case "ip-permission.protocol":
				out = append(out, r.proto)
			case "ip-permission.from-port":
				out = append(out, strconv.Itoa(int(r.from)))
			case "ip-permission.to-port":
				out = append(out, strconv.Itoa(int(r.to)))
			}
		}
		return out
	}
}

// DescribeSecurityGroupRules lists rules by id and filters.
func (c *EC2) DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeSecurityGroupRules", in, c.w.describeSecurityGroupRules)
}

func (w *World) describeSecurityGroupRules(in *ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	if err := checkFilters(in.Filters, "group-id", "security-group-rule-id"); err != nil {
		return nil, err
	}
	for _, id := range in.SecurityGroupRuleIds {
		if !wellFormed("sgr", id) {
			return nil, apiError("InvalidSecurityGroupRuleId.Malformed", "Invalid id: %q (expecting \"sgr-...\")", id)
		}
		if _, ok := w.ruleGroup[id]; !ok {
			return nil, errRuleNotFound(id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.SecurityGroupRule
	for _, g := range w.groups.all() {
		for _, r := range g.rules {
			if len(in.SecurityGroupRuleIds) > 0 && !slices.Contains(in.SecurityGroupRuleIds, r.id) {
				continue
			}
			field := func(name string) []string {
				if name == "group-id" {
					return []string{g.id}
				}
				return []string{r.id}
			}
			if matchFilters(in.Filters, r.tags, field) {
				found = append(found, w.renderRule(g, r))
			}
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, false, "")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: out, NextToken: next}, nil
}

// permChange is an Authorize or Revoke request, ingress or egress.
type permChange struct {
	egress    bool
	groupID   *string
	groupName *string
	perms     []types.IpPermission
	legacy    *types.IpPermission
	ruleIDs   []string
	tagSpecs  []types.TagSpecification
	dryRun    bool
}

// legacyPermission turns the old flat parameters (CidrIp, IpProtocol, ports)
// into the IpPermission they stand for.
func legacyPermission(cidr, proto *string, from, to *int32) *types.IpPermission {
	if cidr == nil && proto == nil && from == nil && to == nil {
		return nil
	}
	p := &types.IpPermission{IpProtocol: proto, FromPort: from, ToPort: to}
	if cidr != nil {
		p.IpRanges = []types.IpRange{{CidrIp: cidr}}
	}
	return p
}

func (w *World) resolveGroup(c permChange) (*secGroup, error) {
	id := aws.ToString(c.groupID)
	if id == "" {
		name := aws.ToString(c.groupName)
		if name == "" {
			return nil, errMissing("groupId")
		}
		def := w.defaultVPC()
		for _, g := range w.groups.all() {
			if g.vpcID == def && g.name == name {
				return g, nil
			}
		}
		return nil, apiError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, def)
	}
	if !wellFormed("sg", id) {
		return nil, errGroupMalformed(id)
	}
	g, ok := w.groups.get(id)
	if !ok {
		return nil, errGroupNotFound(id)
	}
	return g, nil
}

func (c permChange) permissions() ([]types.IpPermission, error) {
	if c.legacy != nil {
		if len(c.perms) > 0 {
			return nil, apiError("InvalidParameterCombination",
				"The parameter 'ipPermissions' may not be used in combination with 'ipProtocol', 'cidrIp', 'fromPort' or 'toPort'")
		}
		return []types.IpPermission{*c.legacy}, nil
	}
	return c.perms, nil
}

// expand turns IpPermissions into one rule per peer, validating as EC2 does.
func (w *World) expand(g *secGroup, egress bool, perms []types.IpPermission) ([]*sgRule, error) {
	var out []*sgRule
	for _, p := range perms {
		proto, ok := sgProtocol(aws.ToString(p.IpProtocol))
		if p.IpProtocol == nil {
			return nil, errMissing("ipProtocol")
		}
		if !ok {
			return nil, apiError("InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", aws.ToString(p.IpProtocol))
		}
		from, to := int32(-1), int32(-1)
		switch proto {
		case "tcp", "udp":
			if p.FromPort == nil || p.ToPort == nil {
				return nil, apiError("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
			}
			from, to = *p.FromPort, *p.ToPort
			if from < 0 || to > 65535 || from > to {
				return nil, apiError("InvalidParameterValue", "Invalid value '%d-%d' for portRange. Must be in range 0-65535 with from <= to.", from, to)
			}
		case "icmp", "icmpv6":
			from, to = aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
			if p.FromPort == nil {
				from = -1
			}
			if p.ToPort == nil {
				to = -1
			}
		}
		base := sgRule{egress: egress, proto: proto, from: from, to: to}
		for _, r := range p.IpRanges {
			pr, err := netip.ParsePrefix(aws.ToString(r.CidrIp))
			if err != nil || !pr.Addr().Is4() || pr != pr.Masked() {
				return nil, apiError("InvalidParameterValue", "CIDR block %s is malformed", aws.ToString(r.CidrIp))
			}
			rule := base
			rule.cidr4, rule.desc = pr.String(), aws.ToString(r.Description)
			out = append(out, &rule)
		}
		for _, r := range p.Ipv6Ranges {
			pr, err := netip.ParsePrefix(aws.ToString(r.CidrIpv6))
			if err != nil || !pr.Addr().Is6() || pr != pr.Masked() {
				return nil, apiError("InvalidParameterValue", "CIDR block %s is malformed", aws.ToString(r.CidrIpv6))
			}
			rule := base
			rule.cidr6, rule.desc = pr.String(), aws.ToString(r.Description)
			out = append(out, &rule)
		}
		for _, r := range p.PrefixListIds {
			if !strings.HasPrefix(aws.ToString(r.PrefixListId), "pl-") {
				return nil, apiError("InvalidPrefixListId.Malformed", "Invalid id: %q (expecting \"pl-...\")", aws.ToString(r.PrefixListId))
			}
			rule := base
			rule.prefixList, rule.desc = aws.ToString(r.PrefixListId), aws.ToString(r.Description)
			out = append(out, &rule)
		}
		for _, r := range p.UserIdGroupPairs {
			id := aws.ToString(r.GroupId)
			if id == "" {
				return nil, errMissing("groupId")
			}
			if !w.groups.has(id) {
				return nil, errGroupNotFound(id)
			}
			rule := base
			rule.refGroup, rule.refUser, rule.desc = id, w.account, aws.ToString(r.Description)
			out = append(out, &rule)
		}
		if len(p.IpRanges)+len(p.Ipv6Ranges)+len(p.PrefixListIds)+len(p.UserIdGroupPairs) == 0 {
			return nil, apiError("InvalidParameterValue", "The request must specify a source or destination: ipRanges, ipv6Ranges, prefixListIds or groups.")
		}
	}
	return out, nil
}

// sgProtocol normalises a protocol the way security group rules store it.
func sgProtocol(p string) (string, bool) {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "-1", true
	case "tcp", "6":
		return "tcp", true
	case "udp", "17":
		return "udp", true
	case "icmp", "1":
		return "icmp", true
	case "icmpv6", "58":
		return "icmpv6", true
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return "", false
	}
	return strconv.Itoa(n), true
}

func (w *World) authorize(c permChange) ([]types.SecurityGroupRule, error) {
	g, err := w.resolveGroup(c)
	if err != nil {
		return nil, err
	}
	perms, err := c.permissions()
	if err != nil {
		return nil, err
	}
	if len(perms) == 0 {
		return nil, errMissing("ipPermissions")
	}
	rules, err := w.expand(g, c.egress, perms)
	if err != nil {
		return nil, err
	}
	t, err := tagSpecTags(c.tagSpecs, types.ResourceTypeSecurityGroupRule)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	v4, v6 := 0, 0
	for _, r := range g.rules {
		seen[r.identity()] = true
		if r.egress == c.egress {
			if r.cidr6 != "" {
				v6++
			} else {
				v4++
			}
		}
	}
	for _, r := range rules {
		if seen[r.identity()] {
			return nil, apiError("InvalidPermission.Duplicate", "the specified rule %q already exists", r.describe())
		}
		seen[r.identity()] = true
		if r.cidr6 != "" {
			v6++
		} else {
			v4++
		}
	}
	if v4 > maxRulesPerDirection || v6 > maxRulesPerDirection {
		return nil, apiError("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
	}
	if c.dryRun {
		return nil, errDryRun()
	}
	var out []types.SecurityGroupRule
	for _, r := range rules {
		r.tags = tagsFrom(t)
		g.addRule(w, r)
		out = append(out, w.renderRule(g, r))
	}
	return out, nil
}

func (w *World) revoke(c permChange) ([]types.RevokedSecurityGroupRule, []types.IpPermission, error) {
	g, err := w.resolveGroup(c)
	if err != nil {
		return nil, nil, err
	}
	perms, err := c.permissions()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(c.ruleIDs) > 0 && len(perms) > 0:
		return nil, nil, apiError("InvalidParameterCombination",
			"The parameter SecurityGroupRuleIds cannot be used with the parameter IpPermissions")
	case len(c.ruleIDs) == 0 && len(perms) == 0:
		return nil, nil, errMissing("ipPermissions")
	}
	var doomed []*sgRule
	var unknown []types.IpPermission
	for _, id := range c.ruleIDs {
		i := slices.IndexFunc(g.rules, func(r *sgRule) bool { return r.id == id && r.egress == c.egress })
		if i < 0 {
			return nil, nil, errRuleNotFound(id)
		}
		doomed = append(doomed, g.rules[i])
	}
	for _, p := range perms {
		wanted, err := w.expand(g, c.egress, []types.IpPermission{p})
		if err != nil {
			return nil, nil, err
		}
		missing := false
		for _, want := range wanted {
			i := slices.IndexFunc(g.rules, func(r *sgRule) bool { return r.identity() == want.identity() })
			if i < 0 {
				missing = true
				continue
			}
			doomed = append(doomed, g.rules[i])
		}
		if missing {
			unknown = append(unknown, p)
		}
	}
	// AWS documents the split: a default VPC reports what it did not find, any
	// other VPC refuses the whole request.
	if len(unknown) > 0 && !w.mustVPC(g.vpcID).isDefault {
		return nil, nil, apiError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
	}
	if c.dryRun {
		return nil, nil, errDryRun()
	}
	var revoked []types.RevokedSecurityGroupRule
	for _, r := range doomed {
		if !slices.Contains(g.rules, r) {
			continue // named twice in one request
		}
		revoked = append(revoked, renderRevoked(g, r))
		g.rules = slices.DeleteFunc(g.rules, func(x *sgRule) bool { return x == r })
		delete(w.ruleGroup, r.id)
	}
	return revoked, unknown, nil
}

// AuthorizeSecurityGroupIngress adds inbound rules.
func (c *EC2) AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return call(ctx, c.w, svcEC2, "AuthorizeSecurityGroupIngress", in, func(in *ec2.AuthorizeSecurityGroupIngressInput) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
		rules, err := c.w.authorize(permChange{
			groupID: in.GroupId, groupName: in.GroupName, perms: in.IpPermissions, tagSpecs: in.TagSpecifications,
			legacy: legacyPermission(in.CidrIp, in.IpProtocol, in.FromPort, in.ToPort), dryRun: aws.ToBool(in.DryRun),
		})
		if err != nil {
			return nil, err
		}
		return &ec2.AuthorizeSecurityGroupIngressOutput{Return: aws.Bool(true), SecurityGroupRules: rules}, nil
	})
}

// AuthorizeSecurityGroupEgress adds outbound rules.
func (c *EC2) AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
	return call(ctx, c.w, svcEC2, "AuthorizeSecurityGroupEgress", in, func(in *ec2.AuthorizeSecurityGroupEgressInput) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
		rules, err := c.w.authorize(permChange{
			egress: true, groupID: in.GroupId, perms: in.IpPermissions, tagSpecs: in.TagSpecifications,
			legacy: legacyPermission(in.CidrIp, in.IpProtocol, in.FromPort, in.ToPort), dryRun: aws.ToBool(in.DryRun),
		})
		if err != nil {
			return nil, err
		}
		return &ec2.AuthorizeSecurityGroupEgressOutput{Return: aws.Bool(true), SecurityGroupRules: rules}, nil
	})
}

// RevokeSecurityGroupIngress removes inbound rules by rule id or by IpPermissions.
func (c *EC2) RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	return call(ctx, c.w, svcEC2, "RevokeSecurityGroupIngress", in, func(in *ec2.RevokeSecurityGroupIngressInput) (*ec2.RevokeSecurityGroupIngressOutput, error) {
		revoked, unknown, err := c.w.revoke(permChange{
			groupID: in.GroupId, groupName: in.GroupName, perms: in.IpPermissions, ruleIDs: in.SecurityGroupRuleIds,
			legacy: legacyPermission(in.CidrIp, in.IpProtocol, in.FromPort, in.ToPort), dryRun: aws.ToBool(in.DryRun),
		})
		if err != nil {
			return nil, err
		}
		return &ec2.RevokeSecurityGroupIngressOutput{Return: aws.Bool(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
	})
}

// RevokeSecurityGroupEgress removes outbound rules by rule id or by IpPermissions.
func (c *EC2) RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error) {
	return call(ctx, c.w, svcEC2, "RevokeSecurityGroupEgress", in, func(in *ec2.RevokeSecurityGroupEgressInput) (*ec2.RevokeSecurityGroupEgressOutput, error) {
		revoked, unknown, err := c.w.revoke(permChange{
			egress: true, groupID: in.GroupId, perms: in.IpPermissions, ruleIDs: in.SecurityGroupRuleIds,
			legacy: legacyPermission(in.CidrIp, in.IpProtocol, in.FromPort, in.ToPort), dryRun: aws.ToBool(in.DryRun),
		})
		if err != nil {
			return nil, err
		}
		return &ec2.RevokeSecurityGroupEgressOutput{Return: aws.Bool(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
	})
}
