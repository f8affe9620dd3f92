package awsfake

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// HealthCheckDelay is how long a target registered through the API stays
// "initial": the target group's healthy threshold (5) times its interval (30 s).
const HealthCheckDelay = 150 * time.Second

// RegisterInstancesWithLoadBalancer adds instances to a Classic Load
// Balancer and returns every instance registered with it.
func (c *ELB) RegisterInstancesWithLoadBalancer(ctx context.Context, in *elb.RegisterInstancesWithLoadBalancerInput, _ ...func(*elb.Options)) (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
	return call(ctx, c.w, svcELB, "RegisterInstancesWithLoadBalancer", in, c.w.registerClassic)
}

func (w *World) registerClassic(in *elb.RegisterInstancesWithLoadBalancerInput) (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
	lb, ids, err := w.classicRequest(in.LoadBalancerName, in.Instances, func(id string) bool {
		return w.instances.m[id].state != types.InstanceStateNameTerminated
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !slices.Contains(lb.instances, id) {
			lb.instances = append(lb.instances, id)
		}
	}
	return &elb.RegisterInstancesWithLoadBalancerOutput{Instances: w.renderClassicLB(lb).Instances}, nil
}

// RegisterTargets adds targets to a target group; a nil Port means the
// group's port. Registering a target already registered on that port
// changes nothing; a draining one is registered again.
func (c *ELBV2) RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	return call(ctx, c.w, svcELB, "RegisterTargets", in, c.w.registerTargets)
}

func (w *World) registerTargets(in *elbv2.RegisterTargetsInput) (*elbv2.RegisterTargetsOutput, error) {
	tg, err := w.targetsOf(in.TargetGroupArn, in.Targets)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Targets {
		if tg.ttype == elbv2types.TargetTypeEnumInstance {
			if inst := w.instances.m[*t.Id]; inst.state != types.InstanceStateNameRunning {
				return nil, apiError("InvalidTarget", "The following targets are not in a running state and cannot be registered: '%s'", *t.Id)
			}
		}
		if t.Port != nil && (*t.Port < 1 || *t.Port > 65535) {
			return nil, validationError("1 validation error detected: Value '%d' at 'targets.member.port' failed to satisfy constraint: Member must have value between 1 and 65535", *t.Port)
		}
	}
	now := w.nowLocked()
	tg.expire(now)
	for _, t := range in.Targets {
		port := tg.port
		if t.Port != nil {
			port = *t.Port
		}
		w.register(tg, *t.Id, port, aws.ToString(t.AvailabilityZone), now)
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

// register adds one target, or brings a draining one back.
func (w *World) register(tg *targetGroup, id string, port int32, az string, now time.Time) {
	for _, t := range tg.targets {
		if t.id == id && t.port == port {
			if t.draining {
				t.draining, t.drainUntil, t.healthyAt = false, time.Time{}, now.Add(HealthCheckDelay)
			}
			return
		}
	}
	if az == "" {
		az = w.targetAZ(tg, id)
	}
	tg.targets = append(tg.targets, &target{id: id, port: port, az: az, healthyAt: now.Add(HealthCheckDelay)})
}
