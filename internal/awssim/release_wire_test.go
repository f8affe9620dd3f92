package awssim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestWireMatchesDirectCallsForRelease does for the operations the release
// function added what TestWireMatchesDirectCalls does for the runbook's:
// answers and error codes (with their HTTP statuses) are the same directly
// and over the wire, and so are the worlds they leave.
func TestWireMatchesDirectCallsForRelease(t *testing.T) {
	direct, d := demoWorld()
	wired, _ := demoWorld()
	_, overWire := serve(t, wired)
	straight := api{Clients: direct.Clients(), STS: direct.STS()}
	var spare string
	steps := []wireStep{
		{name: "ec2:DescribeInstanceAttribute", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim),
				Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
		}},
		{name: "ec2:DescribeInstanceAttribute unknown attribute", code: "InvalidParameterValue", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: "colour"})
		}},
		{name: "ec2:DescribeNetworkInterfaces by group", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
				{Name: aws.String("group-id"), Values: []string{d.AppGroup}}}})
		}},
		{name: "ec2:DeleteSecurityGroup in use", code: "DependencyViolation", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(d.AppGroup)})
		}},
		{name: "ec2:CreateSecurityGroup spare", after: func(out any) { spare = aws.ToString(out.(*ec2.CreateSecurityGroupOutput).GroupId) },
			call: func(ctx context.Context, c api) (any, error) {
				return c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("spare"), VpcId: aws.String(d.VPC), Description: aws.String("spare")})
			}},
		{name: "ec2:DeleteSecurityGroup dry run", code: "DryRunOperation", status: 412, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(spare), DryRun: aws.Bool(true)})
		}},
		{name: "ec2:DeleteSecurityGroup", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(spare)})
		}},
		{name: "ec2:DeleteNetworkAclEntry missing", code: "InvalidNetworkAclEntry.NotFound", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(d.NetworkACL), RuleNumber: aws.Int32(42), Egress: aws.Bool(true)})
		}},
		{name: "ec2:DeleteNetworkAclEntry", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(d.NetworkACL), RuleNumber: aws.Int32(100), Egress: aws.Bool(false)})
		}},
		{name: "autoscaling:DescribeAutoScalingGroups", call: func(ctx context.Context, c api) (any, error) {
			return c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{d.ASG}})
		}},
		{name: "autoscaling:AttachInstances already a member", code: "ValidationError", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(d.ASG), InstanceIds: []string{d.Victim}})
		}},
		{name: "autoscaling:AttachInstances", call: func(ctx context.Context, c api) (any, error) {
			return c.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(d.ASG), InstanceIds: []string{d.Bystander}})
		}},
		{name: "elasticloadbalancing:RegisterInstancesWithLoadBalancer", call: func(ctx context.Context, c api) (any, error) {
			return c.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(d.ClassicLB),
				Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}})
		}},
		{name: "elasticloadbalancingv2:RegisterTargets unknown group", code: "TargetGroupNotFound", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup + "x"),
				Targets: []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP)}}})
		}},
		{name: "elasticloadbalancingv2:RegisterTargets", call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup),
				Targets: []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(9443)}}})
		}},
	}
	compareOverTheWire(t, straight, overWire, steps)

	assertSame(t, "network ACL", ptr(direct.NetworkACL(d.NetworkACL)), ptr(wired.NetworkACL(d.NetworkACL)))
	assertSame(t, "group", ptr(direct.AutoScalingGroup(d.ASG)), ptr(wired.AutoScalingGroup(d.ASG)))
	assertSame(t, "ip targets", ptr(direct.Targets(d.IPTargetGroup)), ptr(wired.Targets(d.IPTargetGroup)))
	assertSame(t, "spare group gone", ptr(direct.SecurityGroup(spare)), ptr(wired.SecurityGroup(spare)))
}
