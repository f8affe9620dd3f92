package release

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// autoScaling attaches the instance back to its recorded group, when asked
// to: the group launched a replacement when the instance was detached, so
// attaching raises its desired capacity by one. It does so only if the
// group's maximum allows it, and never changes the group's sizes.
func (r *run) autoScaling(ctx context.Context, network bool) report.Step {
	rec := r.ev.record.AutoScaling
	switch {
	case rec == nil:
		return report.Step{Name: report.StepAutoScaling, Status: report.NotApplicable, Detail: "the instance was in no Auto Scaling group"}
	case !r.req.Reattach:
		return report.Step{Name: report.StepAutoScaling, Status: report.Skipped,
			Detail: fmt.Sprintf("was in %s; not attached back (reattach was not asked: the group launched a replacement)", aws.ToString(rec.AutoScalingGroupName))}
	case !network:
		return report.Step{Name: report.StepAutoScaling, Status: report.Skipped,
			Detail: "not attached: the instance's network is not fully restored, and the group would replace a member failing its health checks"}
	}
	group, id := aws.ToString(rec.AutoScalingGroupName), r.req.InstanceID
	member := func() (string, error) {
		out, err := r.api.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return "", fmt.Errorf("describing the Auto Scaling membership of %s: %w", id, err)
		}
		for _, d := range out.AutoScalingInstances {
			if aws.ToString(d.InstanceId) == id {
				return aws.ToString(d.AutoScalingGroupName), nil
			}
		}
		return "", nil
	}
	in, err := member()
	if err != nil {
		return failedStep(report.StepAutoScaling, "could not tell whether the instance is in a group; not attached", err, nil)
	}
	if in != "" {
		return report.Step{Name: report.StepAutoScaling, Status: report.Skipped, Detail: fmt.Sprintf("already in %s", in)}
	}
	out, err := r.api.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return failedStep(report.StepAutoScaling, "could not read "+group+"; not attached", fmt.Errorf("describing %s: %w", group, err), nil)
	}
	if len(out.AutoScalingGroups) == 0 {
		return report.Step{Name: report.StepAutoScaling, Status: report.Failed, Error: "GroupNotFound", Detail: group + " no longer exists: not attached"}
	}
	g := out.AutoScalingGroups[0]
	desired, maxSize := aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MaxSize)
	action := fmt.Sprintf("attach %s to %s (desired %d -> %d, max %d)", id, group, desired, desired+1, maxSize)
	if desired+1 > maxSize {
		return report.Step{Name: report.StepAutoScaling, Status: report.Failed, Error: "GroupAtMaxSize", Actions: []string{r.verb(action)},
			Detail: fmt.Sprintf("not attached: %s is at desired %d of max %d and Firebreak never changes a group's sizes; raise its maximum (or scale it in) by hand and release again with reattach", group, desired, maxSize)}
	}
	if r.req.DryRun {
		return report.Step{Name: report.StepAutoScaling, Status: report.Planned, Actions: []string{r.verb(action)}, Detail: "Auto Scaling has no dry run: listed, not attempted"}
	}
	if _, err := r.api.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(group), InstanceIds: []string{id}}); err != nil {
		// An answer lost after the attach went through makes the SDK's
		// retry fail "already part of a group": look before reporting.
		if now, merr := member(); merr != nil || now != group {
			return failedStep(report.StepAutoScaling, "not attached to "+group, fmt.Errorf("attaching %s to %s: %w", id, group, err), []string{action})
		}
	}
	return report.Step{Name: report.StepAutoScaling, Status: report.Done, Actions: []string{action},
		Detail: fmt.Sprintf("attached to %s; its desired capacity is now %d (the replacement launched at containment stays: scale in by hand if wanted)", group, desired+1)}
}
