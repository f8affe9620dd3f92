package awsfake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// DescribeAutoScalingGroups lists groups by name; names that match no group
// are left out, as AWS does.
func (c *AutoScaling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return call(ctx, c.w, svcAutoScaling, "DescribeAutoScalingGroups", in, c.w.describeASGs)
}

func (w *World) describeASGs(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if len(in.Filters) > 0 {
		return nil, validationError("Filters are not supported by this model")
	}
	limit := 50
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, validationError("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100", *in.MaxRecords)
		}
		limit = int(*in.MaxRecords)
	}
	var found []astypes.AutoScalingGroup
	for _, g := range w.asgs.all() {
		if len(in.AutoScalingGroupNames) == 0 || slices.Contains(in.AutoScalingGroupNames, g.name) {
			found = append(found, w.renderASG(g))
		}
	}
	out, next, ok := page(found, limit, in.NextToken)
	if !ok {
		return nil, apiError("InvalidNextToken", "The token '%s' is invalid.", aws.ToString(in.NextToken))
	}
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: out, NextToken: next}, nil
}

// AttachInstances adds running instances to a group, raising its desired
// capacity by their number; it fails when that would pass the group's
// maximum. Attached instances join the group's load balancers and target groups.
func (c *AutoScaling) AttachInstances(ctx context.Context, in *autoscaling.AttachInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.AttachInstancesOutput, error) {
	return call(ctx, c.w, svcAutoScaling, "AttachInstances", in, c.w.attachInstances)
}

func (w *World) attachInstances(in *autoscaling.AttachInstancesInput) (*autoscaling.AttachInstancesOutput, error) {
	switch {
	case in.AutoScalingGroupName == nil:
		return nil, validationError("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	case len(in.InstanceIds) > 20:
		return nil, validationError("1 validation error detected: Value '[%s]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 20", strings.Join(in.InstanceIds, ", "))
	}
	g, ok := w.asgs.get(*in.AutoScalingGroupName)
	if !ok {
		return nil, validationError("AutoScalingGroup name not found - AutoScalingGroup %s not found", *in.AutoScalingGroupName)
	}
	zone := w.subnets.m[g.template.Subnet].az
	for _, id := range in.InstanceIds {
		inst, ok := w.instances.get(id)
		switch {
		case !ok:
			return nil, validationError("Invalid Instance ID(s): [%s] specified", id)
		case inst.state != types.InstanceStateNameRunning:
			return nil, validationError("Instance: %s is not in correct state", id)
		case w.groupOf(id) != nil:
			return nil, validationError("The instance %s is already part of an Auto Scaling group.", id)
		case inst.az != zone:
			return nil, validationError("Instance %s is in %s, which is not one of the Availability Zones of %s.", id, inst.az, g.name)
		}
	}
	n := int32(len(in.InstanceIds))
	if g.desired+n > g.max {
		return nil, validationError("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To attach %d instance, please update the AutoScalingGroup sizes appropriately.",
			g.name, g.min, g.max, g.desired, n)
	}
	now := w.nowLocked()
	for _, id := range in.InstanceIds {
		g.desired++
		g.members = append(g.members, &asgMember{id: id, state: astypes.LifecycleStateInService})
		w.instances.m[id].tags[GroupTagKey] = g.name
		w.joinLoadBalancers(g, id, now)
	}
	return &autoscaling.AttachInstancesOutput{}, nil
}

// joinLoadBalancers registers an attached instance with the group's Classic
// Load Balancers and target groups (at each group's port).
func (w *World) joinLoadBalancers(g *asg, id string, now time.Time) {
	for _, name := range g.lbNames {
		if lb, ok := w.classicLBs.get(name); ok && !slices.Contains(lb.instances, id) {
			lb.instances = append(lb.instances, id)
		}
	}
	for _, arn := range g.tgARNs {
		if tg, ok := w.tgs.get(arn); ok && tg.ttype == elbv2types.TargetTypeEnumInstance {
			w.register(tg, id, tg.port, "", now)
		}
	}
}
