package runbook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

type vpcGroups struct {
	isolation, allTraffic string
	// verified is set when the isolation group was seen empty in this run.
	verified bool
}

// groupCache remembers each VPC's groups for the life of the process, so a
// warm function swaps without looking them up.
type groupCache struct {
	mu   sync.Mutex
	vpcs map[string]vpcGroups
	// loaded is set once a full lookup has filled the cache.
	loaded bool
}

func newGroupCache() *groupCache { return &groupCache{vpcs: map[string]vpcGroups{}} }

func (c *groupCache) get(vpc string) (vpcGroups, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.vpcs[vpc]
	return g, ok && g.isolation != "" && g.allTraffic != ""
}

func (c *groupCache) put(vpc string, g vpcGroups) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g.verified = false
	c.vpcs[vpc] = g
}

func (c *groupCache) forget(vpc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.vpcs, vpc)
}

// prefetch looks up every Firebreak group in the Region beside the first
// DescribeInstances, when the cache is cold. It returns what it verified.
func (c *groupCache) prefetch(ctx context.Context, api awsapi.EC2) *future[map[string]vpcGroups] {
	c.mu.Lock()
	loaded := c.loaded
	c.mu.Unlock()
	if loaded {
		return async(func() (map[string]vpcGroups, error) { return nil, nil })
	}
	return async(func() (map[string]vpcGroups, error) {
		// Finished even when this invocation ends early (already contained),
		// so the next one in this environment finds the cache filled.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		found, err := findGroups(ctx, api, nil)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.loaded = true
		for vpc, g := range found {
			c.vpcs[vpc] = g
		}
		return found, nil
	})
}

// findGroups reads Firebreak's groups (in the given VPCs, or all) and checks
// them: the isolation group must have no rule at all.
func findGroups(ctx context.Context, api awsapi.EC2, vpcs []string) (map[string]vpcGroups, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + contract.TagManaged), Values: []string{"true"}},
		{Name: aws.String("tag:" + contract.TagRole), Values: []string{contract.RoleIsolation, contract.RoleAllTraffic}},
	}}
	if len(vpcs) > 0 {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: vpcs})
	}
	found := map[string]vpcGroups{}
	p := ec2.NewDescribeSecurityGroupsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("looking up Firebreak's security groups: %w", err)
		}
		for _, sg := range page.SecurityGroups {
			vpc, g := aws.ToString(sg.VpcId), found[aws.ToString(sg.VpcId)]
			switch tagValue(sg.Tags, contract.TagRole) {
			case contract.RoleIsolation:
				g.isolation = aws.ToString(sg.GroupId)
				g.verified = len(sg.IpPermissions) == 0 && len(sg.IpPermissionsEgress) == 0
			case contract.RoleAllTraffic:
				g.allTraffic = aws.ToString(sg.GroupId)
			}
			found[vpc] = g
		}
	}
	return found, nil
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// groupsFor returns the VPC's two groups, creating them if needed. The caller
// verifies the isolation group (g.verified says whether that is already done).
func (r *run) groupsFor(ctx context.Context, vpc string, prefetched map[string]vpcGroups) (vpcGroups, error) {
	g, ok := prefetched[vpc]
	// A prefetch that ran has read every Firebreak group of the Region: what it
	// did not find does not exist (or is being made by a concurrent run).
	if !ok && prefetched == nil {
		if cached, hit := r.groups.get(vpc); hit {
			g = cached
		} else if found, err := findGroups(ctx, r.api.EC2, []string{vpc}); err != nil {
			return g, err
		} else {
			g = found[vpc]
		}
	}
	if g.isolation == "" || g.allTraffic == "" {
		var err error
		if g, err = r.createGroups(ctx, vpc, g); err != nil {
			return g, err
		}
	}
	r.groups.put(vpc, g)
	return g, nil
}

// createGroups makes whichever of the VPC's two groups is missing. A group
// made by a concurrent invocation (InvalidGroup.Duplicate) is adopted.
func (r *run) createGroups(ctx context.Context, vpc string, g vpcGroups) (vpcGroups, error) {
	var iso, open *future[string]
	if g.isolation == "" {
		iso = async(func() (string, error) { return r.createIsolationGroup(ctx, vpc) })
	}
	if g.allTraffic == "" {
		open = async(func() (string, error) { return r.createAllTrafficGroup(ctx, vpc) })
	}
	var errs []error
	if iso != nil {
		id, err := iso.wait()
		g.isolation, g.verified = id, false
		errs = append(errs, err)
	}
	if open != nil {
		id, err := open.wait()
		g.allTraffic = id
		errs = append(errs, err)
	}
	return g, joinErrs(errs)
}

func (r *run) createGroup(ctx context.Context, vpc, name, role, description string) (id string, created bool, err error) {
	out, err := r.api.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), VpcId: aws.String(vpc), Description: aws.String(description),
		TagSpecifications: groupTags(name, role),
	})
	if err == nil {
		return aws.ToString(out.GroupId), true, nil
	}
	if !hasCode(err, "InvalidGroup.Duplicate") {
		return "", false, fmt.Errorf("creating security group %s in %s: %w", name, vpc, err)
	}
	desc, derr := r.api.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}})
	if derr != nil || len(desc.SecurityGroups) == 0 {
		return "", false, fmt.Errorf("finding the existing group %s in %s: %w", name, vpc, joinErrs([]error{derr, err}))
	}
	return aws.ToString(desc.SecurityGroups[0].GroupId), false, nil
}

// createIsolationGroup makes the deny-all group: a new group allows all
// egress (IPv4, and IPv6 in dual-stack VPCs), and both are revoked here.
func (r *run) createIsolationGroup(ctx context.Context, vpc string) (string, error) {
	id, created, err := r.createGroup(ctx, vpc, contract.IsolationGroupName, contract.RoleIsolation, "Firebreak isolation: no traffic in or out")
	if err != nil || !created {
		return id, err
	}
	errs := each([]ec2types.IpPermission{allTraffic("0.0.0.0/0", ""), allTraffic("", "::/0")}, func(p ec2types.IpPermission) error {
		_, err := r.api.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{p}})
		// An IPv4-only VPC has no ::/0 rule; emptyGroup verifies the rest.
		if err != nil && !hasCode(err, "InvalidPermission.NotFound") {
			return fmt.Errorf("revoking default egress of %s: %w", id, err)
		}
		return nil
	})
	return id, joinErrs(errs)
}

func (r *run) createAllTrafficGroup(ctx context.Context, vpc string) (string, error) {
	id, _, err := r.createGroup(ctx, vpc, contract.AllTrafficGroupName, contract.RoleAllTraffic, "Firebreak: all traffic, so tracked flows become untracked before isolation")
	if err != nil {
		return id, err
	}
	// Authorize rule by rule and accept duplicates: a new group already has
	// IPv4 egress, and an adopted group may have any subset.
	type rule struct {
		egress bool
		perm   ec2types.IpPermission
	}
	var rules []rule
	for _, egress := range []bool{false, true} {
		for _, p := range []ec2types.IpPermission{allTraffic("0.0.0.0/0", ""), allTraffic("", "::/0")} {
			rules = append(rules, rule{egress, p})
		}
	}
	errs := each(rules, func(r2 rule) error {
		var err error
		if r2.egress {
			_, err = r.api.EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{r2.perm}})
		} else {
			_, err = r.api.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{r2.perm}})
		}
		if err != nil && !hasCode(err, "InvalidPermission.Duplicate") {
			return fmt.Errorf("opening %s: %w", id, err)
		}
		return nil
	})
	return id, joinErrs(errs)
}

func allTraffic(v4, v6 string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String("-1")}
	if v4 != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(v4)}}
	}
	if v6 != "" {
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(v6)}}
	}
	return p
}

// emptyGroup makes sure the isolation group has no rule left, revoking any
// it finds by rule id, and reads it back.
func (r *run) emptyGroup(ctx context.Context, id string) error {
	for attempt := 0; attempt < 2; attempt++ {
		out, err := r.api.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{id}}}})
		if err != nil {
			return fmt.Errorf("verifying isolation group %s is empty: %w", id, err)
		}
		if len(out.SecurityGroupRules) == 0 {
			return nil
		}
		var in, eg []string
		for _, rule := range out.SecurityGroupRules {
			if aws.ToBool(rule.IsEgress) {
				eg = append(eg, aws.ToString(rule.SecurityGroupRuleId))
			} else {
				in = append(in, aws.ToString(rule.SecurityGroupRuleId))
			}
		}
		if len(eg) > 0 {
			if _, err := r.api.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), SecurityGroupRuleIds: eg}); err != nil && !hasCode(err, "InvalidPermission.NotFound", "InvalidSecurityGroupRuleId.NotFound") {
				return fmt.Errorf("revoking egress rules %v of isolation group %s: %w", eg, id, err)
			}
		}
		if len(in) > 0 {
			if _, err := r.api.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: in}); err != nil && !hasCode(err, "InvalidPermission.NotFound", "InvalidSecurityGroupRuleId.NotFound") {
				return fmt.Errorf("revoking ingress rules %v of isolation group %s: %w", in, id, err)
			}
		}
	}
	return fmt.Errorf("isolation group %s still has rules after revoking them", id)
}

// groupTags mark a group as Firebreak's: the IAM policy lets the function
// create, and loosen, only groups carrying them.
func groupTags(name, role string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
		{Key: aws.String(contract.TagManaged), Value: aws.String("true")}, {Key: aws.String(contract.TagRole), Value: aws.String(role)},
		{Key: aws.String("Name"), Value: aws.String(name)}}}}
}
