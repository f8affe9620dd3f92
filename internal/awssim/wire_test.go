package awssim_test

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	smithy "github.com/aws/smithy-go"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRequestsDecodedByWireName posts bodies written the way AWS documents
// its query APIs and checks the input the backend received.
func TestRequestsDecodedByWireName(t *testing.T) {
	tests := []struct {
		name, service, op, body string
		want                    any
	}{
		{
			name: "EC2 ids and filters", service: "ec2", op: "ec2:DescribeInstances",
			body: "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2&Filter.1.Name=tag%3AApp&Filter.1.Value.1=web&Filter.1.Value.2=api&MaxResults=5&NextToken=tok",
			want: &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1", "i-2"}, MaxResults: aws.Int32(5), NextToken: aws.String("tok"),
				Filters: []ec2types.Filter{{Name: aws.String("tag:App"), Values: []string{"web", "api"}}}},
		},
		{
			name: "EC2 nested permissions", service: "ec2", op: "ec2:AuthorizeSecurityGroupIngress",
			body: "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22" +
				"&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=vpn&IpPermissions.1.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0&IpPermissions.1.Groups.1.GroupId=sg-2",
			want: &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-1"), IpPermissions: []ec2types.IpPermission{{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("vpn")}},
				Ipv6Ranges:       []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}},
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-2")}},
			}}},
		},
		{
			name: "EC2 tag specifications and dry run", service: "ec2", op: "ec2:CreateSecurityGroup",
			body: "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=iso&GroupDescription=d&VpcId=vpc-1&DryRun=true" +
				"&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
			want: &ec2.CreateSecurityGroupInput{GroupName: aws.String("iso"), Description: aws.String("d"), VpcId: aws.String("vpc-1"), DryRun: aws.Bool(true),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
					Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}},
		},
		{
			name: "EC2 renamed list key", service: "ec2", op: "ec2:ModifyNetworkInterfaceAttribute",
			body: "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=eni-1&SecurityGroupId.1=sg-1&SecurityGroupId.2=sg-2",
			want: &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-1"), Groups: []string{"sg-1", "sg-2"}},
		},
		{
			name: "EC2 attribute value structure", service: "ec2", op: "ec2:ModifyInstanceAttribute",
			body: "Action=ModifyInstanceAttribute&Version=2016-11-15&InstanceId=i-1&DisableApiTermination.Value=true",
			want: &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-1"), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
		},
		{
			name: "Auto Scaling member list", service: "autoscaling", op: "autoscaling:DetachInstances",
			body: "Action=DetachInstances&Version=2011-01-01&AutoScalingGroupName=web&InstanceIds.member.1=i-1&ShouldDecrementDesiredCapacity=false",
			want: &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String("web"), InstanceIds: []string{"i-1"}, ShouldDecrementDesiredCapacity: aws.Bool(false)},
		},
		{
			name: "classic ELB by its API version", service: "elasticloadbalancing", op: "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
			body: "Action=DeregisterInstancesFromLoadBalancer&Version=2012-06-01&LoadBalancerName=web&Instances.member.1.InstanceId=i-1",
			want: &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String("web"), Instances: []elbtypes.Instance{{InstanceId: aws.String("i-1")}}},
		},
		{
			name: "ELBv2 by its API version", service: "elasticloadbalancing", op: "elasticloadbalancingv2:DeregisterTargets",
			body: "Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn=arn&Targets.member.1.Id=10.0.1.10&Targets.member.1.Port=8443",
			want: &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String("arn"), Targets: []elbv2types.TargetDescription{{Id: aws.String("10.0.1.10"), Port: aws.Int32(8443)}}},
		},
		{
			name: "SNS attribute map with renamed key and value", service: "sns", op: "sns:Publish",
			body: "Action=Publish&Version=2010-03-31&TopicArn=arn&Message=m&MessageAttributes.entry.1.Name=decision" +
				"&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=contain",
			want: &sns.PublishInput{TopicArn: aws.String("arn"), Message: aws.String("m"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"decision": {DataType: aws.String("String"), StringValue: aws.String("contain")}}},
		},
	}
	e := newEcho()
	sim := startSim(t, e.backend())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawPost(t, sim, tt.service, tt.body)
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			assertSame(t, "decoded input", tt.want, e.input(tt.op))
		})
	}
}

// TestRequestsRefused covers what the simulator answers before any backend
// call, in the error document of the protocol at hand.
func TestRequestsRefused(t *testing.T) {
	e := newEcho()
	sim := startSim(t, e.backend())
	tests := []struct {
		name, service, body string
		unsigned            bool
		status              int
		golden              string
	}{
		{"unsigned request", "", "Action=GetCallerIdentity&Version=2011-06-15", true, 403, "error_unsigned.xml"},
		{"unknown EC2 action", "ec2", "Action=RunInstances&Version=2016-11-15", false, 400, "error_ec2_invalid_action.xml"},
		{"malformed EC2 integer", "ec2", "Action=DescribeInstances&Version=2016-11-15&MaxResults=many", false, 400, "error_ec2_malformed.xml"},
		{"unknown API version", "elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2010-01-01", false, 400, "error_unknown_version.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.unsigned {
				r, err := http.Post(sim.Endpoint()+"/", "application/x-www-form-urlencoded", strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Body.Close() })
				resp = r
			} else {
				resp = rawPost(t, sim, tt.service, tt.body)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			checkGolden(t, tt.golden, resp)
		})
	}
}

// TestResponseDocuments pins the XML the simulator writes for successes and
// errors in each protocol.
func TestResponseDocuments(t *testing.T) {
	e := newEcho()
	sim := startSim(t, e.backend())
	launched := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	e.plant("ec2:DescribeInstances", &ec2.DescribeInstancesOutput{NextToken: aws.String("page-2"), Reservations: []ec2types.Reservation{{
		ReservationId: aws.String("r-1"), OwnerId: aws.String("123456789012"),
		Instances: []ec2types.Instance{{
			InstanceId: aws.String("i-0abc1234def567890"), LaunchTime: &launched,
			State: &ec2types.InstanceState{Code: aws.Int32(16), Name: ec2types.InstanceStateNameRunning},
			Tags:  []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1 & <friends>")}},
			NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
				NetworkInterfaceId: aws.String("eni-1"),
				Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String("sg-1"), GroupName: aws.String("web")}},
				PrivateIpAddresses: []ec2types.InstancePrivateIpAddress{
					{PrivateIpAddress: aws.String("10.0.1.10"), Primary: aws.Bool(true)},
					{PrivateIpAddress: aws.String("10.0.1.11"), Primary: aws.Bool(false)},
				},
				Ipv6Addresses: []ec2types.InstanceIpv6Address{{Ipv6Address: aws.String("2600:1f18::10")}},
			}},
		}},
	}}}, nil)
	e.plant("elasticloadbalancingv2:DescribeTargetHealth", &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2types.TargetHealthDescription{{
		Target:       &elbv2types.TargetDescription{Id: aws.String("10.0.1.10"), Port: aws.Int32(8443)},
		TargetHealth: &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumDraining, Reason: elbv2types.TargetHealthReasonEnumDeregistrationInProgress},
	}}}, nil)
	e.plant("ec2:CreateTags", nil, &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound", Message: "The instance ID 'i-1' does not exist"})
	e.plant("autoscaling:DetachInstances", nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "The instance i-1 is not part of Auto Scaling group web."})

	tests := []struct {
		name, service, body string
		status              int
		golden              string
	}{
		{"EC2 nested lists", "ec2", "Action=DescribeInstances&Version=2016-11-15", 200, "ec2_describe_instances.xml"},
		{"awsQuery result", "elasticloadbalancing", "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn", 200, "elbv2_describe_target_health.xml"},
		{"EC2 error", "ec2", "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-1&Tag.1.Key=k&Tag.1.Value=v", 400, "error_ec2.xml"},
		{"awsQuery error", "autoscaling", "Action=DetachInstances&Version=2011-01-01&AutoScalingGroupName=web&InstanceIds.member.1=i-1&ShouldDecrementDesiredCapacity=false", 400, "error_awsquery.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawPost(t, sim, tt.service, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if id := resp.Header.Get("X-Amzn-Requestid"); !uuidPattern.MatchString(id) {
				t.Errorf("request id header %q is not a UUID", id)
			}
			checkGolden(t, tt.golden, resp)
		})
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkGolden compares a response body with testdata/<name>, request ids
// replaced by a placeholder.
func checkGolden(t *testing.T, name string, resp *http.Response) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	got := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).ReplaceAllString(string(b), "REQUEST-ID")
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("body differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}
