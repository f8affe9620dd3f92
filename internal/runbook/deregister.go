package runbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// targetHealthFanout bounds the DescribeTargetHealth calls in flight: enough
// that an account's target groups are read in one round trip in practice,
// few enough to stay inside ELB's request rate.
const targetHealthFanout = 50

// TargetRecord is one registration of the instance in a target group.
type TargetRecord struct {
	TargetGroupARN string `json:"targetGroupArn"`
	TargetType     string `json:"targetType"`
	ID             string `json:"id"`
	Port           int32  `json:"port,omitempty"`
	State          string `json:"state,omitempty"`
}

type lbMembership struct {
	classic []string
	targets []TargetRecord
}

// scanLoadBalancers finds every registration of the instance: neither ELB API
// can look up by instance, so every load balancer and target group is read.
func (r *run) scanLoadBalancers(ctx context.Context, classic *future[[]string]) (lbMembership, error) {
	var m lbMembership
	targets, terr := r.scanTargetGroups(ctx)
	names, cerr := classic.wait()
	m.classic, m.targets = names, targets
	return m, joinErrs([]error{cerr, terr})
}

func (r *run) scanClassic(ctx context.Context) ([]string, error) {
	var names []string
	p := elb.NewDescribeLoadBalancersPaginator(r.api.ELB, &elb.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return names, fmt.Errorf("listing classic load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancerDescriptions {
			for _, in := range lb.Instances {
				if aws.ToString(in.InstanceId) == r.inst.ID {
					names = append(names, aws.ToString(lb.LoadBalancerName))
				}
			}
		}
	}
	return names, nil
}

func (r *run) scanTargetGroups(ctx context.Context) ([]TargetRecord, error) {
	var groups []elbv2types.TargetGroup
	p := elbv2.NewDescribeTargetGroupsPaginator(r.api.ELBV2, &elbv2.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			// Lambda and ALB target groups cannot hold an instance.
			if tg.TargetType == elbv2types.TargetTypeEnumInstance || tg.TargetType == elbv2types.TargetTypeEnumIp {
				groups = append(groups, tg)
			}
		}
	}
	ids := r.targetIDs()
	found := make([][]TargetRecord, len(groups))
	sem := make(chan struct{}, targetHealthFanout)
	errs := each(indexes(len(groups)), func(i int) error {
		sem <- struct{}{}
		defer func() { <-sem }()
		tg := groups[i]
		out, err := r.api.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			return fmt.Errorf("reading targets of %s: %w", aws.ToString(tg.TargetGroupName), err)
		}
		for _, d := range out.TargetHealthDescriptions {
			if d.Target == nil || !slices.Contains(ids, aws.ToString(d.Target.Id)) {
				continue
			}
			rec := TargetRecord{TargetGroupARN: aws.ToString(tg.TargetGroupArn), TargetType: string(tg.TargetType),
				ID: aws.ToString(d.Target.Id), Port: aws.ToInt32(d.Target.Port)}
			if d.TargetHealth != nil {
				rec.State = string(d.TargetHealth.State)
			}
			found[i] = append(found[i], rec)
		}
		return nil
	})
	return slices.Concat(found...), joinErrs(errs)
}

// targetIDs are the ids under which the instance can be registered: its
// instance id (instance target groups) and every private IPv4 and IPv6 of
// every interface (ip target groups).
func (r *run) targetIDs() []string {
	v4, v6 := r.inst.addresses()
	return slices.Concat([]string{r.inst.ID}, v4, v6)
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// deregister removes the instance from every classic load balancer and target
// group found by the scan, with the port it was registered with, then checks.
func (r *run) deregister(ctx context.Context, f *facts) report.Step {
	m, err := f.lbs.wait()
	if err != nil && len(m.classic) == 0 && len(m.targets) == 0 {
		return failed(report.StepDeregister, "could not find the load balancers that list the instance", err, nil)
	}
	var actions []string
	for _, name := range m.classic {
		actions = append(actions, fmt.Sprintf("deregister %s from classic load balancer %s", r.inst.ID, name))
	}
	byGroup := map[string][]elbv2types.TargetDescription{}
	var arns []string
	for _, t := range m.targets {
		if _, ok := byGroup[t.TargetGroupARN]; !ok {
			arns = append(arns, t.TargetGroupARN)
		}
		td := elbv2types.TargetDescription{Id: aws.String(t.ID)}
		if t.Port != 0 {
			td.Port = aws.Int32(t.Port)
		}
		byGroup[t.TargetGroupARN] = append(byGroup[t.TargetGroupARN], td)
		actions = append(actions, fmt.Sprintf("deregister %s port %d from %s", t.ID, t.Port, t.TargetGroupARN))
	}
	if len(actions) == 0 {
		if err != nil {
			return failed(report.StepDeregister, "no registration found, but the scan was incomplete", err, nil)
		}
		return step(report.StepDeregister, report.NotApplicable, nil, "not registered in any load balancer or target group")
	}
	if r.t.DryRun {
		return step(report.StepDeregister, report.Planned, actions, "%d registrations would be removed", len(actions))
	}

	// Classic load balancers and target groups are deregistered at the same time.
	var mu sync.Mutex
	var left []string
	stillThere := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		left = append(left, what)
	}
	classic := async(func() ([]error, error) {
		return each(m.classic, func(name string) error {
			out, err := r.api.ELB.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String(name), Instances: []elbtypes.Instance{{InstanceId: aws.String(r.inst.ID)}}})
			if err != nil {
				return fmt.Errorf("deregistering %s from %s: %w", r.inst.ID, name, err)
			}
			// The response lists who is still registered: that is the check.
			if slices.ContainsFunc(out.Instances, func(i elbtypes.Instance) bool { return aws.ToString(i.InstanceId) == r.inst.ID }) {
				stillThere(name)
			}
			return nil
		}), nil
	})
	tgErrs := each(arns, func(arn string) error {
		if _, err := r.api.ELBV2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: byGroup[arn]}); err != nil {
			return fmt.Errorf("deregistering %s from %s: %w", r.inst.ID, arn, err)
		}
		// DeregisterTargets succeeds even when nothing matched: read back.
		out, err := r.api.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn), Targets: byGroup[arn]})
		if err != nil {
			return fmt.Errorf("checking %s after deregistration: %w", arn, err)
		}
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth != nil && d.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining &&
				d.TargetHealth.State != elbv2types.TargetHealthStateEnumUnused {
				stillThere(fmt.Sprintf("%s port %d in %s", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), arn))
			}
		}
		return nil
	})
	classicErrs, _ := classic.wait()
	if err := joinErrs(slices.Concat([]error{err}, classicErrs, tgErrs)); err != nil {
		return failed(report.StepDeregister, fmt.Sprintf("%d registrations to remove; some failed", len(actions)), err, actions)
	}
	if len(left) > 0 {
		return report.Step{Name: report.StepDeregister, Status: report.Failed, Error: "StillRegistered", Actions: actions,
			Detail: "still registered after deregistration: " + strings.Join(left, ", ")}
	}
	return step(report.StepDeregister, report.Done, actions, "removed %d registrations (in-flight connections drain)", len(actions))
}
