package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// loadBalancers registers the instance again, when asked to, with every
// classic load balancer and target group it was in, each target with its
// recorded id (instance id or private IP) and port. Registrations still in
// place are left alone.
func (r *run) loadBalancers(ctx context.Context, network bool) report.Step {
	rec := r.ev.record
	byGroup := map[string][]elbv2types.TargetDescription{}
	var arns []string
	for _, t := range rec.Targets {
		td := targetOf(t)
		if slices.ContainsFunc(byGroup[t.TargetGroupARN], func(x elbv2types.TargetDescription) bool { return same(x, td) }) {
			continue
		}
		if _, ok := byGroup[t.TargetGroupARN]; !ok {
			arns = append(arns, t.TargetGroupARN)
		}
		byGroup[t.TargetGroupARN] = append(byGroup[t.TargetGroupARN], td)
	}
	switch {
	case len(rec.ClassicLBs) == 0 && len(arns) == 0:
		return report.Step{Name: report.StepLoadBalancers, Status: report.NotApplicable, Detail: "the instance was behind no load balancer"}
	case !r.req.Reattach:
		return report.Step{Name: report.StepLoadBalancers, Status: report.Skipped,
			Detail: fmt.Sprintf("was in %d classic load balancers and %d target groups; not registered again (reattach was not asked)", len(rec.ClassicLBs), len(arns))}
	case !network:
		return report.Step{Name: report.StepLoadBalancers, Status: report.Skipped,
			Detail: "not registered: the instance's network is not fully restored"}
	}
	classic := async.Go(func() registrations { return r.registerClassic(ctx, rec.ClassicLBs) })
	groups := make([]registrations, len(arns))
	async.Each(indexes(len(arns)), func(i int) error {
		groups[i] = r.registerTargets(ctx, arns[i], byGroup[arns[i]])
		return nil
	})
	all := classic.Wait()
	for _, g := range groups {
		all.actions, all.changed, all.errs = append(all.actions, g.actions...), all.changed+g.changed, append(all.errs, g.errs...)
	}
	if err := awserr.Join(all.errs); err != nil {
		return failedStep(report.StepLoadBalancers, "some registrations were not made", err, all.actions)
	}
	if all.changed == 0 {
		return report.Step{Name: report.StepLoadBalancers, Status: report.Skipped, Actions: all.actions, Detail: "every recorded registration is in place"}
	}
	detail := fmt.Sprintf("%d registrations made again with the recorded ports; targets pass their health checks before they get traffic", all.changed)
	if r.req.DryRun {
		detail = fmt.Sprintf("%d registrations would be made; Elastic Load Balancing has no dry run: listed, not attempted", all.changed)
	}
	return report.Step{Name: report.StepLoadBalancers, Status: r.plan(), Actions: all.actions, Detail: detail}
}

func targetOf(t runbook.TargetRecord) elbv2types.TargetDescription {
	td := elbv2types.TargetDescription{Id: aws.String(t.ID)}
	if t.Port != 0 {
		td.Port = aws.Int32(t.Port)
	}
	return td
}

func same(a, b elbv2types.TargetDescription) bool {
	return aws.ToString(a.Id) == aws.ToString(b.Id) && aws.ToInt32(a.Port) == aws.ToInt32(b.Port)
}

// registrations is what one part of the step did: what it says, how many
// registrations it made (or would make), what failed.
type registrations struct {
	actions []string
	changed int
	errs    []error
}

func (r *run) registerClassic(ctx context.Context, names []string) registrations {
	var res registrations
	acts := make([]string, len(names))
	made := make([]bool, len(names))
	res.errs = async.Each(indexes(len(names)), func(i int) error {
		name, id := names[i], r.req.InstanceID
		out, err := r.api.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
		if err != nil {
			return fmt.Errorf("reading classic load balancer %s: %w", name, err)
		}
		for _, lb := range out.LoadBalancerDescriptions {
			if slices.ContainsFunc(lb.Instances, func(in elbtypes.Instance) bool { return aws.ToString(in.InstanceId) == id }) {
				acts[i] = fmt.Sprintf("already registered with %s", name)
				return nil
			}
		}
		if !r.req.DryRun {
			reg, err := r.api.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{
				LoadBalancerName: aws.String(name), Instances: []elbtypes.Instance{{InstanceId: aws.String(id)}}})
			if err != nil {
				return fmt.Errorf("registering %s with %s: %w", id, name, err)
			}
			// The answer lists every instance registered: that is the check.
			if !slices.ContainsFunc(reg.Instances, func(in elbtypes.Instance) bool { return aws.ToString(in.InstanceId) == id }) {
				return fmt.Errorf("registering %s with %s: not listed afterwards", id, name)
			}
		}
		acts[i], made[i] = r.verb(fmt.Sprintf("register %s with classic load balancer %s", id, name)), true
		return nil
	})
	for i, a := range acts {
		if a != "" {
			res.actions = append(res.actions, a)
		}
		if made[i] {
			res.changed++
		}
	}
	return res
}

// registerTargets registers the recorded targets of one group that are not
// registered now (unused or draining).
func (r *run) registerTargets(ctx context.Context, arn string, targets []elbv2types.TargetDescription) registrations {
	var res registrations
	out, err := r.api.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn), Targets: targets})
	if err != nil {
		res.errs = []error{fmt.Errorf("reading the targets of %s: %w", arn, err)}
		return res
	}
	var missing []elbv2types.TargetDescription
	for _, t := range targets {
		registered := slices.ContainsFunc(out.TargetHealthDescriptions, func(d elbv2types.TargetHealthDescription) bool {
			return d.Target != nil && aws.ToString(d.Target.Id) == aws.ToString(t.Id) && (t.Port == nil || aws.ToInt32(d.Target.Port) == *t.Port) &&
				d.TargetHealth != nil && d.TargetHealth.State != elbv2types.TargetHealthStateEnumUnused && d.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining
		})
		if registered {
			res.actions = append(res.actions, fmt.Sprintf("already registered: %s port %d in %s", aws.ToString(t.Id), aws.ToInt32(t.Port), arn))
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return res
	}
	if !r.req.DryRun {
		if _, err := r.api.ELBV2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: missing}); err != nil {
			res.errs = []error{fmt.Errorf("registering %s with %s: %w", r.req.InstanceID, arn, err)}
			return res
		}
	}
	for _, t := range missing {
		res.actions = append(res.actions, r.verb(fmt.Sprintf("register %s port %d with %s", aws.ToString(t.Id), aws.ToInt32(t.Port), arn)))
	}
	res.changed = len(missing)
	return res
}
