package awsfake

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// DeleteSecurityGroup deletes a group that nothing depends on.
func (c *EC2) DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	return call(ctx, c.w, svcEC2, "DeleteSecurityGroup", in, c.w.deleteSecurityGroup)
}

func (w *World) deleteSecurityGroup(in *ec2.DeleteSecurityGroupInput) (*ec2.DeleteSecurityGroupOutput, error) {
	g, err := w.resolveGroup(permChange{groupID: in.GroupId, groupName: in.GroupName})
	if err != nil {
		return nil, err
	}
	if g.name == "default" {
		return nil, apiError("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
	}
	// An interface using the group, or a rule of another group naming it, is
	// a dependent object: AWS refuses and keeps the group.
	for _, e := range w.enis.all() {
		if slices.Contains(e.groups, g.id) {
			return nil, errDependency(g.id)
		}
	}
	for _, other := range w.groups.all() {
		if other.id != g.id && slices.ContainsFunc(other.rules, func(r *sgRule) bool { return r.refGroup == g.id }) {
			return nil, errDependency(g.id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	for _, r := range g.rules {
		delete(w.ruleGroup, r.id)
	}
	delete(w.groups.m, g.id)
	w.groups.order = slices.DeleteFunc(w.groups.order, func(id string) bool { return id == g.id })
	return &ec2.DeleteSecurityGroupOutput{GroupId: aws.String(g.id), Return: aws.Bool(true)}, nil
}

func errDependency(id string) error {
	return apiError("DependencyViolation", "resource %s has a dependent object", id)
}
