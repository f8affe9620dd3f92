package awssim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

const (
	account  = "123456789012"
	victimID = "i-0abc1234def567890"
)

// api is one way of reaching AWS: the fake's clients directly, or real SDK
// clients through the simulator.
type api struct {
	awsapi.Clients
	STS awsapi.STS
}

func sdkClients(cfg aws.Config, pathStyle bool) api {
	return api{
		Clients: awsapi.Clients{
			EC2:         ec2.NewFromConfig(cfg),
			AutoScaling: autoscaling.NewFromConfig(cfg),
			ELB:         elb.NewFromConfig(cfg),
			ELBV2:       elbv2.NewFromConfig(cfg),
			SNS:         sns.NewFromConfig(cfg),
			S3:          s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
			SecurityHub: securityhub.NewFromConfig(cfg),
			IAM:         iam.NewFromConfig(cfg),
		},
		STS: sts.NewFromConfig(cfg),
	}
}

// demoWorld is the world `make sim` serves.
func demoWorld() (*awsfake.World, awsfake.Demo) {
	w := awsfake.New(account, "us-east-1")
	return w, w.SeedDemo(victimID)
}

func serve(t *testing.T, w *awsfake.World, opts ...awssim.Option) (*awssim.Server, api) {
	t.Helper()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, opts...)
	return sim, sdkClients(sdkConfig(t, sim, 1), true)
}

// TestWireMatchesDirectCalls runs one containment-shaped script of calls,
// touching every awsapi operation, against two identical fake worlds: one
// called directly, one through real SDK clients and the simulator. Every
// output, every error code and the final state must be the same: the wire
// adds nothing and loses nothing.
func TestWireMatchesDirectCalls(t *testing.T) {
	direct, d := demoWorld()
	wired, _ := demoWorld()
	_, overWire := serve(t, wired)
	straight := api{Clients: direct.Clients(), STS: direct.STS()}

	// Ids the fake hands out are deterministic, so the direct world's
	// answers name the same resources in both.
	var isolationGroup string
	var egressRules []string
	steps := []wireStep{
		{name: "sts:GetCallerIdentity", call: func(ctx context.Context, c api) (any, error) {
			return c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		}},
		{name: "ec2:DescribeInstances by id", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
		}},
		{name: "ec2:DescribeInstances by tag filter", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				{Name: aws.String("tag:App"), Values: []string{"web"}},
				{Name: aws.String("instance-state-name"), Values: []string{"running", "stopped"}},
			}})
		}},
		{name: "ec2:DescribeInstances unknown id", code: "InvalidInstanceID.NotFound", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000dead"}})
		}},
		{name: "ec2:DescribeSecurityGroups", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{d.WebGroup, d.AppGroup}})
		}},
		{name: "ec2:DescribeSecurityGroupRules", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{
				{Name: aws.String("group-id"), Values: []string{d.AppGroup}}}})
		}},
		{name: "ec2:CreateSecurityGroup dry run", code: "DryRunOperation", status: 412, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{DryRun: aws.Bool(true),
				GroupName: aws.String("firebreak-isolation"), Description: aws.String("Firebreak isolation"), VpcId: aws.String(d.VPC)})
		}},
		{name: "ec2:CreateSecurityGroup", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName: aws.String("firebreak-isolation"), Description: aws.String("Firebreak isolation"), VpcId: aws.String(d.VPC),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
					Tags: []ec2types.Tag{{Key: aws.String("firebreak:purpose"), Value: aws.String("isolation")}}}}})
		}, after: func(out any) { isolationGroup = aws.ToString(out.(*ec2.CreateSecurityGroupOutput).GroupId) }},
		{name: "ec2:CreateSecurityGroup duplicate", code: "InvalidGroup.Duplicate", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName: aws.String("firebreak-isolation"), Description: aws.String("again"), VpcId: aws.String(d.VPC)})
		}},
		{name: "ec2:AuthorizeSecurityGroupIngress", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(isolationGroup),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"),
					IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("untrack")}},
					Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}})
		}},
		{name: "ec2:AuthorizeSecurityGroupEgress", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(isolationGroup),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"),
					Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}})
		}},
		{name: "ec2:DescribeSecurityGroupRules of the new group", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{
				{Name: aws.String("group-id"), Values: []string{isolationGroup}}}})
		}, after: func(out any) {
			for _, r := range out.(*ec2.DescribeSecurityGroupRulesOutput).SecurityGroupRules {
				if aws.ToBool(r.IsEgress) {
					egressRules = append(egressRules, aws.ToString(r.SecurityGroupRuleId))
				}
			}
		}},
		{name: "ec2:RevokeSecurityGroupEgress by rule id", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(isolationGroup), SecurityGroupRuleIds: egressRules})
		}},
		{name: "ec2:RevokeSecurityGroupIngress by permission", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(isolationGroup),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		}},
		{name: "ec2:ModifyNetworkInterfaceAttribute", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(d.VictimENIs[0]), Groups: []string{isolationGroup}})
		}},
		{name: "ec2:ModifyInstanceAttribute", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
				InstanceId: aws.String(d.Victim), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
		}},
		{name: "ec2:DescribeVolumes", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
				{Name: aws.String("attachment.instance-id"), Values: []string{d.Victim}}}})
		}},
		{name: "ec2:DescribeIamInstanceProfileAssociations", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
				{Name: aws.String("instance-id"), Values: []string{d.Victim}}}})
		}},
		{name: "ec2:GetConsoleOutput", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(d.Victim), Latest: aws.Bool(true)})
		}},
		{name: "ec2:DescribeNetworkAcls", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{d.NetworkACL}})
		}},
		{name: "ec2:CreateNetworkAclEntry", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(d.NetworkACL),
				RuleNumber: aws.Int32(1), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny,
				Egress: aws.Bool(true), CidrBlock: aws.String(d.VictimPrimaryIP + "/32")})
		}},
		{name: "ec2:CreateSnapshots", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{
				InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(d.Victim)},
				CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot,
					Tags: []ec2types.Tag{{Key: aws.String("firebreak:finding"), Value: aws.String("f-1")}}}}})
		}},
		{name: "ec2:DescribeSnapshots", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{
				{Name: aws.String("tag:firebreak:finding"), Values: []string{"f-1"}}}})
		}},
		{name: "ec2:CreateTags", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{d.Victim, d.VictimVolumes[1]},
				Tags: []ec2types.Tag{{Key: aws.String(contract.TagStatus), Value: aws.String("contained")}}})
		}},
		{name: "ec2:CreateTags reserved prefix", code: "InvalidParameterValue", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{d.Victim},
				Tags: []ec2types.Tag{{Key: aws.String("aws:nope"), Value: aws.String("x")}}})
		}},
		{name: "autoscaling:DescribeAutoScalingInstances", call: func(ctx context.Context, c api) (any, error) {
			return c.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{d.Victim, d.Bystander}})
		}},
		{name: "autoscaling:DetachInstances", call: func(ctx context.Context, c api) (any, error) {
			return c.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(d.ASG),
				InstanceIds: []string{d.Victim}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
		}},
		{name: "elasticloadbalancing:DescribeLoadBalancers", call: func(ctx context.Context, c api) (any, error) {
			return c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
		}},
		{name: "elasticloadbalancing:DeregisterInstancesFromLoadBalancer", call: func(ctx context.Context, c api) (any, error) {
			return c.ELB.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String(d.ClassicLB), Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}})
		}},
		{name: "elasticloadbalancingv2:DescribeTargetGroups", call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
		}},
		{name: "elasticloadbalancingv2:DescribeTargetGroups unknown", code: "TargetGroupNotFound", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef"}})
		}},
		{name: "elasticloadbalancingv2:DescribeTargetHealth", call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.IPTargetGroup)})
		}},
		{name: "elasticloadbalancingv2:DeregisterTargets", call: func(ctx context.Context, c api) (any, error) {
			return c.ELBV2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup),
				Targets: []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(8443)}}})
		}},
		{name: "sns:Publish", call: func(ctx context.Context, c api) (any, error) {
			return c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.Topic), Subject: aws.String("Firebreak: contained i-0abc"),
				Message: aws.String(`{"decision":"contain"}`),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{
					"decision": {DataType: aws.String("String"), StringValue: aws.String("contain")},
					"severity": {DataType: aws.String("Number"), StringValue: aws.String("8.9")},
				}})
		}},
		{name: "sns:Publish subject with a line break", code: "InvalidParameter", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.Topic), Subject: aws.String("a\nb"), Message: aws.String("m")})
		}},
		{name: "s3:PutObject", call: func(ctx context.Context, c api) (any, error) {
			return c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("evidence/i-0abc/describe-instances.json"),
				Body: strings.NewReader(`{"Reservations":[]}`), ContentType: aws.String("application/json"),
				// The SDK adds a CRC32 by default; the direct call asks for it.
				ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32,
				Metadata:          map[string]string{"finding": "f-1"}})
		}},
		{name: "s3:PutObject unknown bucket", code: "NoSuchBucket", status: 404, call: func(ctx context.Context, c api) (any, error) {
			return c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
		}},
	}

	compareOverTheWire(t, straight, overWire, steps)

	// The state each world ended in is the same, field for field.
	assertSame(t, "victim", ptr(direct.Instance(d.Victim)), ptr(wired.Instance(d.Victim)))
	assertSame(t, "isolation group rules", ptr(direct.SecurityGroupRules(isolationGroup)), ptr(wired.SecurityGroupRules(isolationGroup)))
	assertSame(t, "network ACL", ptr(direct.NetworkACL(d.NetworkACL)), ptr(wired.NetworkACL(d.NetworkACL)))
	assertSame(t, "snapshots", ptr(direct.Snapshots()), ptr(wired.Snapshots()))
	assertSame(t, "published messages", ptr(direct.Published()), ptr(wired.Published()))
	assertSame(t, "objects", ptr(direct.Objects()), ptr(wired.Objects()))
	assertSame(t, "ip targets", ptr(direct.Targets(d.IPTargetGroup)), ptr(wired.Targets(d.IPTargetGroup)))
}

func ptr[T any](v T) *T { return &v }

// wireStep is one call made to both worlds.
type wireStep struct {
	name string
	call func(context.Context, api) (any, error)
	// after reads ids from the direct world's output for later steps.
	after func(any)
	// code and status are the error expected over the wire, if any.
	code   string
	status int
}

// compareOverTheWire makes each call directly and over the wire, in order,
// and checks the outputs, or the errors, are the same.
func compareOverTheWire(t *testing.T, straight, overWire api, steps []wireStep) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			want, wantErr := s.call(ctx, straight)
			got, gotErr := s.call(ctx, overWire)
			if s.after != nil && wantErr == nil {
				s.after(want)
			}
			if s.code != "" {
				assertWireError(t, gotErr, s.code, s.status)
			}
			if wantErr != nil || gotErr != nil {
				assertSameError(t, wantErr, gotErr)
				return
			}
			assertSame(t, "output over the wire", want, got)
		})
	}
}

// assertWireError checks an SDK call failed with the API error code and the
// HTTP status AWS uses for it.
func assertWireError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %s, want %s", ae.ErrorCode(), code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
	}
}

// assertSameError checks both calls failed alike: same API error code and
// message, so the wire carried the backend's error unchanged.
func assertSameError(t *testing.T, want, got error) {
	t.Helper()
	if want == nil || got == nil {
		t.Fatalf("direct error %v, over the wire %v", want, got)
	}
	var w, g smithy.APIError
	if !errors.As(want, &w) {
		t.Fatalf("direct error %v is not an API error", want)
	}
	if !errors.As(got, &g) {
		t.Fatalf("error over the wire %v is not an API error", got)
	}
	if w.ErrorCode() != g.ErrorCode() || w.ErrorMessage() != g.ErrorMessage() {
		t.Errorf("error over the wire = %s: %s, want %s: %s", g.ErrorCode(), g.ErrorMessage(), w.ErrorCode(), w.ErrorMessage())
	}
}
