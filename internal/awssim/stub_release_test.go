package awssim_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The operations the release function (and the contain function's capture
// of instance attributes) added to the echo double.

func (e *echo) DescribeInstanceAttribute(_ context.Context, in *ec2.DescribeInstanceAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceAttributeOutput, error) {
	return answer[ec2.DescribeInstanceAttributeOutput](e, "ec2:DescribeInstanceAttribute", in)
}
func (e *echo) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return answer[ec2.DescribeNetworkInterfacesOutput](e, "ec2:DescribeNetworkInterfaces", in)
}
func (e *echo) DeleteSecurityGroup(_ context.Context, in *ec2.DeleteSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	return answer[ec2.DeleteSecurityGroupOutput](e, "ec2:DeleteSecurityGroup", in)
}
func (e *echo) DeleteNetworkAclEntry(_ context.Context, in *ec2.DeleteNetworkAclEntryInput, _ ...func(*ec2.Options)) (*ec2.DeleteNetworkAclEntryOutput, error) {
	return answer[ec2.DeleteNetworkAclEntryOutput](e, "ec2:DeleteNetworkAclEntry", in)
}
func (e *echo) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return answer[autoscaling.DescribeAutoScalingGroupsOutput](e, "autoscaling:DescribeAutoScalingGroups", in)
}
func (e *echo) AttachInstances(_ context.Context, in *autoscaling.AttachInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.AttachInstancesOutput, error) {
	return answer[autoscaling.AttachInstancesOutput](e, "autoscaling:AttachInstances", in)
}
func (e *echo) RegisterInstancesWithLoadBalancer(_ context.Context, in *elb.RegisterInstancesWithLoadBalancerInput, _ ...func(*elb.Options)) (*elb.RegisterInstancesWithLoadBalancerOutput, error) {
	return answer[elb.RegisterInstancesWithLoadBalancerOutput](e, "elasticloadbalancing:RegisterInstancesWithLoadBalancer", in)
}
func (e *echo) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	return answer[elbv2.RegisterTargetsOutput](e, "elasticloadbalancingv2:RegisterTargets", in)
}
func (e *echo) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return answer[s3.GetObjectOutput](e, "s3:GetObject", in)
}
func (e *echo) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return answer[s3.ListObjectsV2Output](e, "s3:ListObjectsV2", in)
}

// The credentials step's EC2 operations.

func (e *echo) DisassociateIamInstanceProfile(_ context.Context, in *ec2.DisassociateIamInstanceProfileInput, _ ...func(*ec2.Options)) (*ec2.DisassociateIamInstanceProfileOutput, error) {
	return answer[ec2.DisassociateIamInstanceProfileOutput](e, "ec2:DisassociateIamInstanceProfile", in)
}
func (e *echo) AssociateIamInstanceProfile(_ context.Context, in *ec2.AssociateIamInstanceProfileInput, _ ...func(*ec2.Options)) (*ec2.AssociateIamInstanceProfileOutput, error) {
	return answer[ec2.AssociateIamInstanceProfileOutput](e, "ec2:AssociateIamInstanceProfile", in)
}
func (e *echo) ModifyInstanceMetadataOptions(_ context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, _ ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	return answer[ec2.ModifyInstanceMetadataOptionsOutput](e, "ec2:ModifyInstanceMetadataOptions", in)
}
