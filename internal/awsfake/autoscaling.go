package awsfake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// AutoScaling is the fake EC2 Auto Scaling API (awsapi.AutoScaling).
type AutoScaling struct{ w *World }

// GroupTagKey is the tag Auto Scaling puts on the instances it launches.
const GroupTagKey = "aws:autoscaling:groupName"

type asg struct {
	name, arn         string
	min, max, desired int32
	members           []*asgMember
	lbNames, tgARNs   []string
	template          InstanceSpec // what a replacement is launched from
	created           time.Time
}

type asgMember struct {
	id    string
	state astypes.LifecycleState
}

// ASGSpec describes an Auto Scaling group to seed.
type ASGSpec struct {
	Name              string
	Min, Max, Desired int32
	Instances         []string // InService members; the first is the launch template
	LoadBalancers     []string // Classic Load Balancer names
	TargetGroups      []string // target group ARNs
}

// AddAutoScalingGroup seeds a group; its instances get the group tag.
func (w *World) AddAutoScalingGroup(spec ASGSpec) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.asgs.has(spec.Name) || len(spec.Instances) == 0 {
		panic(fmt.Sprintf("awsfake: bad Auto Scaling group %q (exists, or no instance)", spec.Name))
	}
	g := &asg{
		name:    spec.Name,
		arn:     fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", w.region, w.account, w.newUUID(), spec.Name),
		min:     spec.Min,
		max:     spec.Max,
		desired: spec.Desired,
		lbNames: slices.Clone(spec.LoadBalancers),
		tgARNs:  slices.Clone(spec.TargetGroups),
		created: w.nowLocked(),
	}
	for _, id := range spec.Instances {
		in, ok := w.instances.get(id)
		if !ok || w.groupOf(id) != nil {
			panic(fmt.Sprintf("awsfake: instance %q missing or already in a group", id))
		}
		in.tags[GroupTagKey] = spec.Name
		g.members = append(g.members, &asgMember{id: id, state: astypes.LifecycleStateInService})
	}
	first := w.instances.m[spec.Instances[0]]
	eth0 := w.enis.m[first.enis[0]]
	g.template = InstanceSpec{
		InstanceType: first.itype, ImageID: first.imageID, Subnet: eth0.subnetID, Groups: slices.Clone(eth0.groups),
		Tags: map[string]string{GroupTagKey: spec.Name},
	}
	if first.profile != nil {
		g.template.InstanceProfileARN = first.profile.arn
	}
	w.asgs.put(g.name, g)
	return g.arn
}

// SetLifecycleState moves a group member to a lifecycle state (e.g. Standby, Pending).
func (w *World) SetLifecycleState(instanceID string, state astypes.LifecycleState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.groupOf(instanceID)
	if g == nil {
		panic(fmt.Sprintf("awsfake: %s is in no Auto Scaling group", instanceID))
	}
	g.member(instanceID).state = state
}

// AutoScalingGroup returns a copy of a group as DescribeAutoScalingGroups shows it.
func (w *World) AutoScalingGroup(name string) astypes.AutoScalingGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.asgs.get(name)
	if !ok {
		return astypes.AutoScalingGroup{}
	}
	return w.renderASG(g)
}

func (w *World) renderASG(g *asg) astypes.AutoScalingGroup {
	out := astypes.AutoScalingGroup{
		AutoScalingGroupName: aws.String(g.name),
		AutoScalingGroupARN:  aws.String(g.arn),
		MinSize:              aws.Int32(g.min),
		MaxSize:              aws.Int32(g.max),
		DesiredCapacity:      aws.Int32(g.desired),
		CreatedTime:          aws.Time(g.created),
		DefaultCooldown:      aws.Int32(300),
		HealthCheckType:      aws.String("EC2"),
		LoadBalancerNames:    slices.Clone(g.lbNames),
		TargetGroupARNs:      slices.Clone(g.tgARNs),
		VPCZoneIdentifier:    aws.String(g.template.Subnet),
		AvailabilityZones:    []string{w.subnets.m[g.template.Subnet].az},
		Instances:            []astypes.Instance{},
	}
	for _, m := range g.members {
		in := w.instances.m[m.id]
		out.Instances = append(out.Instances, astypes.Instance{
			InstanceId: aws.String(m.id), LifecycleState: m.state, HealthStatus: aws.String("Healthy"),
			AvailabilityZone: aws.String(in.az), InstanceType: aws.String(in.itype), ProtectedFromScaleIn: aws.Bool(false),
		})
	}
	return out
}

func (w *World) groupOf(instanceID string) *asg {
	for _, g := range w.asgs.all() {
		if g.member(instanceID) != nil {
			return g
		}
	}
	return nil
}

func (g *asg) member(id string) *asgMember {
	for _, m := range g.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

// DescribeAutoScalingInstances tells which group each instance is in; instances
// in no group are silently left out, as AWS does.
func (c *AutoScaling) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	return call(ctx, c.w, svcAutoScaling, "DescribeAutoScalingInstances", in, c.w.describeASGInstances)
}

func (w *World) describeASGInstances(in *autoscaling.DescribeAutoScalingInstancesInput) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	if len(in.InstanceIds) > 50 {
		return nil, validationError("1 validation error detected: Value '%v' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50", in.InstanceIds)
	}
	limit := 50
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 50 {
			return nil, validationError("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 50", *in.MaxRecords)
		}
		limit = int(*in.MaxRecords)
	}
	var found []astypes.AutoScalingInstanceDetails
	for _, g := range w.asgs.all() {
		for _, m := range g.members {
			if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, m.id) {
				continue
			}
			inst := w.instances.m[m.id]
			found = append(found, astypes.AutoScalingInstanceDetails{
				AutoScalingGroupName: aws.String(g.name),
				AvailabilityZone:     aws.String(inst.az),
				HealthStatus:         aws.String("HEALTHY"),
				InstanceId:           aws.String(m.id),
				InstanceType:         aws.String(inst.itype),
				LifecycleState:       aws.String(string(m.state)),
				ProtectedFromScaleIn: aws.Bool(false),
			})
		}
	}
	out, next, ok := page(found, limit, in.NextToken)
	if !ok {
		return nil, apiError("InvalidNextToken", "The token '%s' is invalid.", aws.ToString(in.NextToken))
	}
	return &autoscaling.DescribeAutoScalingInstancesOutput{AutoScalingInstances: out, NextToken: next}, nil
}

// DetachInstances removes instances from their group. Without decrement the
// group launches a replacement (visible at once, Pending); detached instances
// leave the group's load balancers and target groups.
func (c *AutoScaling) DetachInstances(ctx context.Context, in *autoscaling.DetachInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DetachInstancesOutput, error) {
	return call(ctx, c.w, svcAutoScaling, "DetachInstances", in, c.w.detachInstances)
}

func (w *World) detachInstances(in *autoscaling.DetachInstancesInput) (*autoscaling.DetachInstancesOutput, error) {
	switch {
	case in.AutoScalingGroupName == nil:
		return nil, validationError("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	case in.ShouldDecrementDesiredCapacity == nil:
		return nil, validationError("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	case len(in.InstanceIds) > 20:
		return nil, validationError("1 validation error detected: Value '[%s]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 20", strings.Join(in.InstanceIds, ", "))
	}
	g, ok := w.asgs.get(*in.AutoScalingGroupName)
	if !ok {
		return nil, validationError("AutoScalingGroup name not found - AutoScalingGroup %s not found", *in.AutoScalingGroupName)
	}
	for _, id := range in.InstanceIds {
		m := g.member(id)
		if m == nil {
			return nil, validationError("The instance %s is not part of Auto Scaling group %s.", id, g.name)
		}
		if m.state != astypes.LifecycleStateInService && m.state != astypes.LifecycleStateStandby {
			return nil, validationError("The instance %s is not in InService or Standby.", id)
		}
	}
	decrement := *in.ShouldDecrementDesiredCapacity
	n := int32(len(in.InstanceIds))
	if decrement && g.desired-n < g.min {
		return nil, validationError("Currently, desiredSize equals minSize (%d). Detaching instance(s) with ShouldDecrementDesiredCapacity set would violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.min)
	}
	now := w.nowLocked()
	out := &autoscaling.DetachInstancesOutput{Activities: []astypes.Activity{}}
	for _, id := range in.InstanceIds {
		before := g.desired
		g.members = slices.DeleteFunc(g.members, func(m *asgMember) bool { return m.id == id })
		if decrement {
			g.desired--
		}
		w.leaveLoadBalancers(g, id, now)
		inst := w.instances.m[id]
		cause := fmt.Sprintf("At %s instance %s was detached in response to a user request", now.Format(time.RFC3339), id)
		if decrement {
			cause += fmt.Sprintf(", shrinking the capacity from %d to %d", before, g.desired)
		}
		out.Activities = append(out.Activities, astypes.Activity{
			ActivityId:           aws.String(w.newUUID()),
			AutoScalingGroupName: aws.String(g.name),
			AutoScalingGroupARN:  aws.String(g.arn),
			Cause:                aws.String(cause + "."),
			Description:          aws.String("Detaching EC2 instance: " + id),
			Details:              aws.String(fmt.Sprintf(`{"Subnet ID":"%s","Availability Zone":"%s"}`, w.enis.m[inst.enis[0]].subnetID, inst.az)),
			Progress:             aws.Int32(50),
			StartTime:            aws.Time(now),
			StatusCode:           astypes.ScalingActivityStatusCodeInProgress,
		})
		if !decrement {
			spec := g.template
			spec.Groups, spec.State = slices.Clone(spec.Groups), types.InstanceStateNamePending
			g.members = append(g.members, &asgMember{id: w.launch(spec), state: astypes.LifecycleStatePending})
		}
	}
	return out, nil
}

// leaveLoadBalancers deregisters a detached instance from the group's Classic
// Load Balancers and (with draining) its target groups.
func (w *World) leaveLoadBalancers(g *asg, id string, now time.Time) {
	for _, name := range g.lbNames {
		if lb, ok := w.classicLBs.get(name); ok {
			lb.instances = slices.DeleteFunc(lb.instances, func(x string) bool { return x == id })
		}
	}
	for _, arn := range g.tgARNs {
		tg, ok := w.tgs.get(arn)
		if !ok {
			continue
		}
		for _, t := range slices.Clone(tg.targets) {
			if t.id == id {
				w.drain(tg, id, t.port, now)
			}
		}
	}
}
