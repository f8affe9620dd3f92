package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// isolationGroups deletes Firebreak's two groups in the instance's VPCs once
// no interface uses them, after the interfaces were put back: never while
// another contained instance sits in them. EC2 refuses to delete a group in
// use (DependencyViolation); that keeps it too. A contain function that still
// remembers a deleted group makes it again when it next needs it.
func (r *run) isolationGroups(ctx context.Context, restore report.Step) report.Step {
	var vpcs []string
	for _, e := range r.ev.record.NetworkInterfaces {
		if !slices.Contains(vpcs, e.VPC) {
			vpcs = append(vpcs, e.VPC)
		}
	}
	out, err := r.api.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + contract.TagManaged), Values: []string{"true"}},
		{Name: aws.String("tag:" + contract.TagRole), Values: []string{contract.RoleIsolation, contract.RoleAllTraffic}},
		{Name: aws.String("vpc-id"), Values: vpcs},
	}})
	if err != nil {
		return failedStep(report.StepIsolationGroups, "Firebreak's groups could not be looked up; none deleted", fmt.Errorf("looking up Firebreak's groups in %v: %w", vpcs, err), nil)
	}
	if len(out.SecurityGroups) == 0 {
		return report.Step{Name: report.StepIsolationGroups, Status: report.Skipped, Detail: fmt.Sprintf("no Firebreak group left in %v", vpcs)}
	}
	// The instance's own interfaces: in a dry run they have not moved yet.
	own := map[string]bool{}
	for _, e := range r.ev.record.NetworkInterfaces {
		own[e.ID] = true
	}
	actions := make([]string, len(out.SecurityGroups))
	deleted := make([]bool, len(out.SecurityGroups))
	errs := async.Each(indexes(len(out.SecurityGroups)), func(i int) error {
		g := out.SecurityGroups[i]
		id, name := aws.ToString(g.GroupId), aws.ToString(g.GroupName)
		users, err := r.interfacesIn(ctx, id)
		if err != nil {
			return err
		}
		others := slices.DeleteFunc(slices.Clone(users), func(u string) bool { return r.req.DryRun && own[u] })
		if len(others) > 0 {
			actions[i] = fmt.Sprintf("keep %s (%s): still used by %v", id, name, others)
			return nil
		}
		_, err = r.api.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id), DryRun: aws.Bool(r.req.DryRun)})
		switch {
		case r.req.DryRun && awserr.Is(err, "DependencyViolation") && len(users) > 0:
			actions[i], deleted[i] = fmt.Sprintf("would delete %s (%s) once the instance's interfaces leave it", id, name), true
		case r.req.DryRun:
			if err = awserr.DryRunOK(err); err != nil {
				return fmt.Errorf("dry run of deleting %s: %w", id, err)
			}
			actions[i], deleted[i] = fmt.Sprintf("would delete %s (%s): no other interface uses it", id, name), true
		case awserr.Is(err, "DependencyViolation"):
			actions[i] = fmt.Sprintf("keep %s (%s): in use (DependencyViolation)", id, name)
		case awserr.Is(err, "InvalidGroup.NotFound"):
			actions[i] = fmt.Sprintf("%s (%s) already deleted", id, name)
		case err != nil:
			return fmt.Errorf("deleting %s (%s): %w", id, name, err)
		default:
			actions[i], deleted[i] = fmt.Sprintf("delete %s (%s): no interface uses it", id, name), true
		}
		return nil
	})
	actions = slices.DeleteFunc(actions, func(a string) bool { return a == "" })
	if err := awserr.Join(errs); err != nil {
		return failedStep(report.StepIsolationGroups, "some of Firebreak's groups could not be checked or deleted", err, actions)
	}
	n := 0
	for _, d := range deleted {
		if d {
			n++
		}
	}
	if n == 0 {
		detail := "Firebreak's groups kept: other interfaces still use them"
		if restore.Status == report.Failed {
			detail = "Firebreak's groups kept: some of this instance's interfaces are still isolated"
		}
		return report.Step{Name: report.StepIsolationGroups, Status: report.Skipped, Actions: actions, Detail: detail}
	}
	return report.Step{Name: report.StepIsolationGroups, Status: r.plan(), Actions: actions,
		Detail: fmt.Sprintf("%d of Firebreak's groups %s; a later containment makes them again", n, r.past("deleted", "would be deleted"))}
}

// interfacesIn lists the interfaces that use a group.
func (r *run) interfacesIn(ctx context.Context, group string) ([]string, error) {
	var ids []string
	p := ec2.NewDescribeNetworkInterfacesPaginator(r.api.EC2, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{group}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the interfaces in %s: %w", group, err)
		}
		for _, ni := range page.NetworkInterfaces {
			ids = append(ids, aws.ToString(ni.NetworkInterfaceId))
		}
	}
	return ids, nil
}
