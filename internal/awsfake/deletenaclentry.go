package awsfake

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// DeleteNetworkAclEntry removes one numbered entry, ingress or egress.
func (c *EC2) DeleteNetworkAclEntry(ctx context.Context, in *ec2.DeleteNetworkAclEntryInput, _ ...func(*ec2.Options)) (*ec2.DeleteNetworkAclEntryOutput, error) {
	return call(ctx, c.w, svcEC2, "DeleteNetworkAclEntry", in, c.w.deleteNetworkACLEntry)
}

func (w *World) deleteNetworkACLEntry(in *ec2.DeleteNetworkAclEntryInput) (*ec2.DeleteNetworkAclEntryOutput, error) {
	switch {
	case in.NetworkAclId == nil:
		return nil, errMissing("networkAclId")
	case in.RuleNumber == nil:
		return nil, errMissing("ruleNumber")
	case in.Egress == nil:
		return nil, errMissing("egress")
	}
	n, ok := w.nacls.get(*in.NetworkAclId)
	if !ok {
		return nil, errNACLNotFound(*in.NetworkAclId)
	}
	rule, egress := *in.RuleNumber, *in.Egress
	if rule < 1 || rule > 32766 {
		return nil, apiError("InvalidParameterValue",
			"Value ( %d ) for parameter ruleNumber is invalid. Must be a value between 1 and 32766.", rule)
	}
	i := slices.IndexFunc(n.entries, func(e naclEntry) bool { return e.rule == rule && e.egress == egress })
	if i < 0 {
		return nil, apiError("InvalidNetworkAclEntry.NotFound",
			"The network acl entry identified by %d does not exist in network acl %s.", rule, n.id)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	n.entries = slices.Delete(n.entries, i, i+1)
	return &ec2.DeleteNetworkAclEntryOutput{}, nil
}
