package awsfake_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func TestDescribeInstancesByIDAndFilters(t *testing.T) {
	w, d, c := demo(t)
	other := w.AddVPC("172.16.0.0/16", false)
	lone := w.AddInstance(awsfake.InstanceSpec{Subnet: w.AddSubnet(other, "172.16.0.0/24", ""), Tags: map[string]string{"Name": "lone"}})
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		in      ec2.DescribeInstancesInput
		want    []string
		wantErr string
	}{
		{"all", ec2.DescribeInstancesInput{}, []string{d.Victim, d.Bystander, lone}, ""},
		{"by id", ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}}, []string{d.Victim}, ""},
		{"unknown id", ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim, "i-0000000000000dead"}}, nil, "InvalidInstanceID.NotFound"},
		{"malformed id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-xyz"}}, nil, "InvalidInstanceID.Malformed"},
		{"instance-id filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("instance-id", d.Bystander)}}, []string{d.Bystander}, ""},
		{"tag filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("tag:Name", "web-1", "lone")}}, []string{d.Victim, lone}, ""},
		{"tag filter wildcard", ec2.DescribeInstancesInput{Filters: []types.Filter{f("tag:Name", "web-*")}}, []string{d.Victim, d.Bystander}, ""},
		{"tag-key filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("tag-key", awsfake.GroupTagKey)}}, []string{d.Victim}, ""},
		{"vpc-id filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("vpc-id", other)}}, []string{lone}, ""},
		{"filters are ANDed", ec2.DescribeInstancesInput{Filters: []types.Filter{f("vpc-id", d.VPC), f("tag:Name", "lone")}}, nil, ""},
		{"secondary address filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("network-interface.addresses.private-ip-address", d.VictimIPs[1])}}, []string{d.Victim}, ""},
		{"unknown filter", ec2.DescribeInstancesInput{Filters: []types.Filter{f("instance-colour", "red")}}, nil, "InvalidParameterValue"},
		{"ids with MaxResults", ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}, MaxResults: aws.Int32(5)}, nil, "InvalidParameterCombination"},
		{"MaxResults too small", ec2.DescribeInstancesInput{MaxResults: aws.Int32(3)}, nil, "InvalidParameterValue"},
		{"dry run", ec2.DescribeInstancesInput{DryRun: aws.Bool(true)}, nil, "DryRunOperation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.EC2.DescribeInstances(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			if err != nil {
				return
			}
			var got []string
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					got = append(got, *i.InstanceId)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("instances = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDescribeInstancesNotFoundNamesEveryMissingID(t *testing.T) {
	_, _, c := demo(t)
	_, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000a", "i-0000000000000000b"}})
	if want := "The instance IDs 'i-0000000000000000a, i-0000000000000000b' do not exist"; message(err) != want {
		t.Fatalf("message = %q, want %q", message(err), want)
	}
}

func TestDescribeInstancesShowsTheFullInstance(t *testing.T) {
	w, d, c := demo(t)
	spot := w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA, Spot: true, InstanceStoreRoot: true,
		NICs: []awsfake.NICSpec{{Subnet: d.SubnetA, ManagedBy: "ecs.amazonaws.com"}}})
	out, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim, spot}})
	if err != nil {
		t.Fatal(err)
	}
	v, s := out.Reservations[0].Instances[0], out.Reservations[1].Instances[0]
	if v.State.Name != types.InstanceStateNameRunning || *v.State.Code != 16 || *v.VpcId != d.VPC || *v.SubnetId != d.SubnetA {
		t.Errorf("state/vpc/subnet = %v %v %v", v.State, *v.VpcId, *v.SubnetId)
	}
	if len(v.NetworkInterfaces) != 2 {
		t.Fatalf("victim has %d interfaces, want 2", len(v.NetworkInterfaces))
	}
	eth0, eth1 := v.NetworkInterfaces[0], v.NetworkInterfaces[1]
	if *eth0.Attachment.DeviceIndex != 0 || *eth1.Attachment.DeviceIndex != 1 || *eth1.SubnetId != d.SubnetB || *eth1.VpcId != d.VPC {
		t.Errorf("attachments: eth0 %d, eth1 %d in %s", *eth0.Attachment.DeviceIndex, *eth1.Attachment.DeviceIndex, *eth1.SubnetId)
	}
	if len(eth0.PrivateIpAddresses) != 2 || !*eth0.PrivateIpAddresses[0].Primary || *eth0.PrivateIpAddresses[1].Primary || len(eth0.Ipv6Addresses) != 1 {
		t.Errorf("eth0 addresses: %d IPv4, %d IPv6", len(eth0.PrivateIpAddresses), len(eth0.Ipv6Addresses))
	}
	if len(eth0.Groups) != 2 || *eth0.Groups[0].GroupName != "web" || len(eth1.Groups) != 1 || *eth1.Groups[0].GroupId != d.AppGroup {
		t.Errorf("groups: eth0 %v eth1 %v", eth0.Groups, eth1.Groups)
	}
	if len(v.BlockDeviceMappings) != 2 || !*v.BlockDeviceMappings[0].Ebs.DeleteOnTermination || *v.BlockDeviceMappings[1].Ebs.DeleteOnTermination {
		t.Errorf("block devices: %+v", v.BlockDeviceMappings)
	}
	if v.RootDeviceType != types.DeviceTypeEbs || *v.IamInstanceProfile.Arn != d.InstanceProfileARN || *v.Placement.AvailabilityZone != "us-east-1a" {
		t.Errorf("root %s, profile %v, placement %v", v.RootDeviceType, v.IamInstanceProfile, v.Placement)
	}
	if v.InstanceLifecycle != "" || s.InstanceLifecycle != types.InstanceLifecycleTypeSpot || s.RootDeviceType != types.DeviceTypeInstanceStore || len(s.BlockDeviceMappings) != 0 {
		t.Errorf("lifecycle %q/%q, spot root %s with %d volumes", v.InstanceLifecycle, s.InstanceLifecycle, s.RootDeviceType, len(s.BlockDeviceMappings))
	}
	if op := s.NetworkInterfaces[0].Operator; op == nil || !*op.Managed || *op.Principal != "ecs.amazonaws.com" {
		t.Errorf("managed interface operator = %+v", op)
	}
	if ni := w.NetworkInterface(*s.NetworkInterfaces[0].NetworkInterfaceId); !*ni.RequesterManaged {
		t.Error("NetworkInterface does not report RequesterManaged")
	}
}

func TestDescribeInstancesPaginator(t *testing.T) {
	w, d, c := demo(t)
	want := []string{d.Victim, d.Bystander}
	for range 10 {
		want = append(want, w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetB}))
	}
	p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{}, func(o *ec2.DescribeInstancesPaginatorOptions) { o.Limit = 5 })
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Reservations {
			got = append(got, *r.Instances[0].InstanceId)
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages with %v, want 3 pages with %v", pages, got, want)
	}
	_, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{NextToken: aws.String("bogus")})
	wantCode(t, err, "InvalidPaginationToken")
}

func TestTerminatedInstanceLetsGoOfInterfaces(t *testing.T) {
	w, d, _ := demo(t)
	w.SetInstanceState(d.Bystander, types.InstanceStateNameTerminated)
	got := w.Instance(d.Bystander)
	if got.State.Name != types.InstanceStateNameTerminated || *got.State.Code != 48 || len(got.NetworkInterfaces) != 0 || got.VpcId != nil {
		t.Fatalf("terminated instance = %+v", got)
	}
}

func TestModifyInstanceAttribute(t *testing.T) {
	onOff := func(b bool) *types.AttributeBooleanValue { return &types.AttributeBooleanValue{Value: aws.Bool(b)} }
	tests := []struct {
		name    string
		in      func(d awsfake.Demo, spot, single string) *ec2.ModifyInstanceAttributeInput
		wantErr string
		wantMsg string
		check   func(t *testing.T, w *awsfake.World, d awsfake.Demo, spot, single string)
	}{
		{
			name: "termination protection",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), DisableApiTermination: onOff(true)}
			},
			check: func(t *testing.T, w *awsfake.World, d awsfake.Demo, _, _ string) {
				if !w.InstanceAttributes(d.Victim).DisableAPITermination {
					t.Error("termination protection not set")
				}
			},
		},
		{
			name: "legacy attribute and value form",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: types.InstanceAttributeNameDisableApiStop, Value: aws.String("true")}
			},
			check: func(t *testing.T, w *awsfake.World, d awsfake.Demo, _, _ string) {
				if !w.InstanceAttributes(d.Victim).DisableAPIStop {
					t.Error("stop protection not set")
				}
			},
		},
		{
			name: "two attributes in one call",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), DisableApiTermination: onOff(true), DisableApiStop: onOff(true)}
			},
			wantErr: "InvalidParameterCombination",
			wantMsg: "Fields for multiple attribute types specified: disableApiStop, disableApiTermination",
		},
		{
			name: "no attribute",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim)}
			},
			wantErr: "InvalidParameterCombination",
		},
		{
			name: "groups on a two-interface instance",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), Groups: []string{d.AppGroup}}
			},
			wantErr: "InvalidInstanceID",
			wantMsg: "There are multiple interfaces attached to instance 'i-0abc123def4567890'. Please specify an interface ID for the operation instead.",
		},
		{
			name: "groups on a one-interface instance",
			in: func(d awsfake.Demo, _, single string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(single), Groups: []string{d.AppGroup}}
			},
			check: func(t *testing.T, w *awsfake.World, d awsfake.Demo, _, single string) {
				if g := w.Instance(single).NetworkInterfaces[0].Groups; len(g) != 1 || *g[0].GroupId != d.AppGroup {
					t.Errorf("groups = %v", g)
				}
			},
		},
		{
			name: "termination protection on spot",
			in: func(_ awsfake.Demo, spot, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(spot), DisableApiTermination: onOff(true)}
			},
			wantErr: "UnsupportedOperation",
		},
		{
			name: "shutdown behaviour",
			in: func(_ awsfake.Demo, spot, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(spot), InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String("stop")}}
			},
			check: func(t *testing.T, w *awsfake.World, _ awsfake.Demo, spot, _ string) {
				if got := w.InstanceAttributes(spot).ShutdownBehavior; got != types.ShutdownBehaviorStop {
					t.Errorf("shutdown behaviour = %s", got)
				}
			},
		},
		{
			name: "bad shutdown behaviour",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String("hibernate")}}
			},
			wantErr: "InvalidParameterValue",
		},
		{
			name: "keep the root volume",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{
					{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
				}}
			},
			check: func(t *testing.T, w *awsfake.World, d awsfake.Demo, _, _ string) {
				if *w.Instance(d.Victim).BlockDeviceMappings[0].Ebs.DeleteOnTermination {
					t.Error("mapping still deletes on termination")
				}
				if *w.Volume(d.VictimVolumes[0]).Attachments[0].DeleteOnTermination {
					t.Error("volume attachment still deletes on termination")
				}
			},
		},
		{
			name: "unmapped device",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{
					{DeviceName: aws.String("/dev/xvdz"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
				}}
			},
			wantErr: "InvalidInstanceAttributeValue",
		},
		{
			name: "dry run changes nothing",
			in: func(d awsfake.Demo, _, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim), DisableApiTermination: onOff(true), DryRun: aws.Bool(true)}
			},
			wantErr: "DryRunOperation",
			wantMsg: "Request would have succeeded, but DryRun flag is set.",
			check: func(t *testing.T, w *awsfake.World, d awsfake.Demo, _, _ string) {
				if w.InstanceAttributes(d.Victim).DisableAPITermination {
					t.Error("dry run changed the instance")
				}
			},
		},
		{
			name: "dry run that would fail fails",
			in: func(_ awsfake.Demo, spot, _ string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(spot), DisableApiTermination: onOff(true), DryRun: aws.Bool(true)}
			},
			wantErr: "UnsupportedOperation",
		},
		{
			name: "unknown instance",
			in: func(awsfake.Demo, string, string) *ec2.ModifyInstanceAttributeInput {
				return &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-00000000000000bad"), DisableApiTermination: onOff(true)}
			},
			wantErr: "InvalidInstanceID.NotFound",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			spot := w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA, Spot: true})
			single := w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA, Groups: []string{d.WebGroup}})
			_, err := c.EC2.ModifyInstanceAttribute(context.Background(), tc.in(d, spot, single))
			wantCode(t, err, tc.wantErr)
			if tc.wantMsg != "" && message(err) != tc.wantMsg {
				t.Errorf("message = %q, want %q", message(err), tc.wantMsg)
			}
			if tc.check != nil {
				tc.check(t, w, d, spot, single)
			}
		})
	}
}

func TestInstanceProfileAssociations(t *testing.T) {
	_, d, c := demo(t)
	out, err := c.EC2.DescribeIamInstanceProfileAssociations(context.Background(), &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{d.Victim}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.IamInstanceProfileAssociations) != 1 {
		t.Fatalf("associations = %+v, want one", out.IamInstanceProfileAssociations)
	}
	a := out.IamInstanceProfileAssociations[0]
	if *a.InstanceId != d.Victim || *a.IamInstanceProfile.Arn != d.InstanceProfileARN || a.State != types.IamInstanceProfileAssociationStateAssociated ||
		!strings.HasPrefix(*a.AssociationId, "iip-assoc-") {
		t.Fatalf("association = %+v", a)
	}
	out, err = c.EC2.DescribeIamInstanceProfileAssociations(context.Background(), &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{d.Bystander}}},
	})
	// The bystander shares the profile, through an association of its own.
	if err != nil || len(out.IamInstanceProfileAssociations) != 1 || *out.IamInstanceProfileAssociations[0].AssociationId == *a.AssociationId ||
		*out.IamInstanceProfileAssociations[0].IamInstanceProfile.Arn != d.InstanceProfileARN {
		t.Fatalf("bystander: %v %+v", err, out)
	}
}

func TestGetConsoleOutput(t *testing.T) {
	_, d, c := demo(t)
	out, err := c.EC2.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{InstanceId: aws.String(d.Victim), Latest: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	text, err := base64.StdEncoding.DecodeString(*out.Output)
	if err != nil || !strings.Contains(string(text), "cloud-init") {
		t.Fatalf("output %q does not decode to the console (%v)", *out.Output, err)
	}
	out, err = c.EC2.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{InstanceId: aws.String(d.Bystander)})
	if err != nil || out.Output != nil {
		t.Fatalf("instance without console output: %v %v", err, out.Output)
	}
	_, err = c.EC2.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{InstanceId: aws.String("i-00000000000000bad")})
	wantCode(t, err, "InvalidInstanceID.NotFound")
}
