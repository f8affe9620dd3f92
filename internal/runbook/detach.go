package runbook

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// detach takes the instance out of its Auto Scaling group without lowering
// the desired capacity, so a replacement serves and the group never
// terminates the isolated instance for failing its health checks.
func (r *run) detach(ctx context.Context, f *facts) report.Step {
	details, err := f.asg.wait()
	if err != nil {
		f.markDetachIssued()
		return failed(report.StepDetach, "could not tell whether the instance is in an Auto Scaling group; if it is, the group may replace and terminate it once isolated", err, nil)
	}
	if details == nil {
		f.markDetachIssued()
		return step(report.StepDetach, report.NotApplicable, nil, "not in an Auto Scaling group")
	}
	group, state := aws.ToString(details.AutoScalingGroupName), aws.ToString(details.LifecycleState)
	action := fmt.Sprintf("detach %s from %s without decrementing desired capacity (a replacement launches)", r.inst.ID, group)
	if state != "InService" && state != "Standby" {
		f.markDetachIssued()
		return report.Step{Name: report.StepDetach, Status: report.Failed, Error: "LifecycleState", Actions: []string{action},
			Detail: fmt.Sprintf("%s is %s in %s: Auto Scaling detaches only InService or Standby instances. "+
				"The group may terminate it; suspend the group's ReplaceUnhealthy and Terminate processes by hand if the evidence matters", r.inst.ID, state, group)}
	}
	if r.t.DryRun {
		f.markDetachIssued()
		return step(report.StepDetach, report.Planned, []string{action}, "in %s (%s)", group, state)
	}
	// Detach removes the instance from the group's classic load balancers at
	// once (target groups keep it visible while draining): let the scan that
	// records those memberships finish first. It is one page in round trip 2.
	_, _ = f.classic.wait()
	// Detach is sent together with the final isolation swap: the barrier opens
	// once the request is under way, not when it returns.
	noRetry := func(o *autoscaling.Options) { o.RetryMaxAttempts = 1 }
	detachOnce := func() error {
		_, err := r.api.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{
			AutoScalingGroupName: aws.String(group), InstanceIds: []string{r.inst.ID}, ShouldDecrementDesiredCapacity: aws.Bool(false)}, noRetry)
		return err
	}
	// A retried detach whose first answer was lost fails "not part of the
	// group": ask the group before retrying.
	detached := func() bool {
		out, err := r.api.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{r.inst.ID}})
		if err != nil {
			return false
		}
		for _, d := range out.AutoScalingInstances {
			if aws.ToString(d.AutoScalingGroupName) == group && aws.ToString(d.LifecycleState) != "Detaching" {
				return false
			}
		}
		return true
	}
	call := async(func() (struct{}, error) { return struct{}{}, r.once(ctx, detachOnce, detached) })
	f.markDetachIssued()
	if _, err := call.wait(); err != nil {
		return failed(report.StepDetach, fmt.Sprintf("%s is still in %s (%s): the group may replace and terminate it", r.inst.ID, group, state),
			fmt.Errorf("detaching %s from %s: %w", r.inst.ID, group, err), []string{action})
	}
	return step(report.StepDetach, report.Done, []string{action}, "detached from %s; its load balancers deregister the instance with draining", group)
}
