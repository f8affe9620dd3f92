package awssim_test

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// echo is a protocol-level test double, not a model of AWS: it records the
// input each operation received and answers with the output (or error)
// the test planted. Behaviour tests run against awsfake instead.
type echo struct {
	mu     sync.Mutex
	inputs map[string]any
	output map[string]any
	errs   map[string]error
}

func newEcho() *echo {
	return &echo{inputs: map[string]any{}, output: map[string]any{}, errs: map[string]error{}}
}

func (e *echo) backend() awssim.Backend {
	return awssim.Backend{
		Clients: awsapi.Clients{EC2: e, AutoScaling: e, ELB: e, ELBV2: e, SNS: e, S3: e, SecurityHub: e},
		STS:     e,
	}
}

func (e *echo) plant(op string, out any, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.output[op], e.errs[op] = out, err
}

func (e *echo) input(op string) any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inputs[op]
}

func answer[O any](e *echo, op string, in any) (*O, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inputs[op] = in
	if err := e.errs[op]; err != nil {
		return nil, err
	}
	if out, ok := e.output[op].(*O); ok {
		return out, nil
	}
	return new(O), nil
}

func (e *echo) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return answer[ec2.DescribeInstancesOutput](e, "ec2:DescribeInstances", in)
}
func (e *echo) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return answer[ec2.DescribeSecurityGroupsOutput](e, "ec2:DescribeSecurityGroups", in)
}
func (e *echo) DescribeSecurityGroupRules(_ context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	return answer[ec2.DescribeSecurityGroupRulesOutput](e, "ec2:DescribeSecurityGroupRules", in)
}
func (e *echo) CreateSecurityGroup(_ context.Context, in *ec2.CreateSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	return answer[ec2.CreateSecurityGroupOutput](e, "ec2:CreateSecurityGroup", in)
}
func (e *echo) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return answer[ec2.AuthorizeSecurityGroupIngressOutput](e, "ec2:AuthorizeSecurityGroupIngress", in)
}
func (e *echo) AuthorizeSecurityGroupEgress(_ context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
	return answer[ec2.AuthorizeSecurityGroupEgressOutput](e, "ec2:AuthorizeSecurityGroupEgress", in)
}
func (e *echo) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	return answer[ec2.RevokeSecurityGroupIngressOutput](e, "ec2:RevokeSecurityGroupIngress", in)
}
func (e *echo) RevokeSecurityGroupEgress(_ context.Context, in *ec2.RevokeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error) {
	return answer[ec2.RevokeSecurityGroupEgressOutput](e, "ec2:RevokeSecurityGroupEgress", in)
}
func (e *echo) ModifyNetworkInterfaceAttribute(_ context.Context, in *ec2.ModifyNetworkInterfaceAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
	return answer[ec2.ModifyNetworkInterfaceAttributeOutput](e, "ec2:ModifyNetworkInterfaceAttribute", in)
}
func (e *echo) ModifyInstanceAttribute(_ context.Context, in *ec2.ModifyInstanceAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error) {
	return answer[ec2.ModifyInstanceAttributeOutput](e, "ec2:ModifyInstanceAttribute", in)
}
func (e *echo) DescribeVolumes(_ context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	return answer[ec2.DescribeVolumesOutput](e, "ec2:DescribeVolumes", in)
}
func (e *echo) DescribeIamInstanceProfileAssociations(_ context.Context, in *ec2.DescribeIamInstanceProfileAssociationsInput, _ ...func(*ec2.Options)) (*ec2.DescribeIamInstanceProfileAssociationsOutput, error) {
	return answer[ec2.DescribeIamInstanceProfileAssociationsOutput](e, "ec2:DescribeIamInstanceProfileAssociations", in)
}
func (e *echo) GetConsoleOutput(_ context.Context, in *ec2.GetConsoleOutputInput, _ ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error) {
	return answer[ec2.GetConsoleOutputOutput](e, "ec2:GetConsoleOutput", in)
}
func (e *echo) DescribeNetworkAcls(_ context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	return answer[ec2.DescribeNetworkAclsOutput](e, "ec2:DescribeNetworkAcls", in)
}
func (e *echo) CreateNetworkAclEntry(_ context.Context, in *ec2.CreateNetworkAclEntryInput, _ ...func(*ec2.Options)) (*ec2.CreateNetworkAclEntryOutput, error) {
	return answer[ec2.CreateNetworkAclEntryOutput](e, "ec2:CreateNetworkAclEntry", in)
}
func (e *echo) CreateSnapshots(_ context.Context, in *ec2.CreateSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.CreateSnapshotsOutput, error) {
	return answer[ec2.CreateSnapshotsOutput](e, "ec2:CreateSnapshots", in)
}
func (e *echo) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return answer[ec2.DescribeSnapshotsOutput](e, "ec2:DescribeSnapshots", in)
}
func (e *echo) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return answer[ec2.CreateTagsOutput](e, "ec2:CreateTags", in)
}

func (e *echo) DescribeAutoScalingInstances(_ context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	return answer[autoscaling.DescribeAutoScalingInstancesOutput](e, "autoscaling:DescribeAutoScalingInstances", in)
}
func (e *echo) DetachInstances(_ context.Context, in *autoscaling.DetachInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DetachInstancesOutput, error) {
	return answer[autoscaling.DetachInstancesOutput](e, "autoscaling:DetachInstances", in)
}

func (e *echo) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	return answer[elb.DescribeLoadBalancersOutput](e, "elasticloadbalancing:DescribeLoadBalancers", in)
}
func (e *echo) DeregisterInstancesFromLoadBalancer(_ context.Context, in *elb.DeregisterInstancesFromLoadBalancerInput, _ ...func(*elb.Options)) (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
	return answer[elb.DeregisterInstancesFromLoadBalancerOutput](e, "elasticloadbalancing:DeregisterInstancesFromLoadBalancer", in)
}

func (e *echo) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return answer[elbv2.DescribeTargetGroupsOutput](e, "elasticloadbalancingv2:DescribeTargetGroups", in)
}
func (e *echo) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return answer[elbv2.DescribeTargetHealthOutput](e, "elasticloadbalancingv2:DescribeTargetHealth", in)
}
func (e *echo) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	return answer[elbv2.DeregisterTargetsOutput](e, "elasticloadbalancingv2:DeregisterTargets", in)
}

func (e *echo) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return answer[sns.PublishOutput](e, "sns:Publish", in)
}

func (e *echo) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return answer[s3.PutObjectOutput](e, "s3:PutObject", in)
}

func (e *echo) GetCallerIdentity(_ context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return answer[sts.GetCallerIdentityOutput](e, "sts:GetCallerIdentity", in)
}

func (e *echo) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return answer[sts.AssumeRoleOutput](e, "sts:AssumeRole", in)
}
