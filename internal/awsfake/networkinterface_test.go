package awsfake_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func TestModifyNetworkInterfaceAttribute(t *testing.T) {
	type fixture struct {
		d            awsfake.Demo
		managed      string // a requester-managed interface
		foreignGroup string // a group in another VPC
		extra        []string
	}
	tests := []struct {
		name       string
		in         func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput
		wantErr    string
		wantMsg    string
		wantGroups func(f fixture) []string // eth0's groups afterwards
	}{
		{
			name: "replace groups",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{f.d.DefaultGroup}}
			},
			wantGroups: func(f fixture) []string { return []string{f.d.DefaultGroup} },
		},
		{
			name: "unknown group",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{"sg-0000000000000dead"}}
			},
			wantErr: "InvalidGroup.NotFound",
			wantMsg: "The security group 'sg-0000000000000dead' does not exist",
		},
		{
			name: "malformed group",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{"web"}}
			},
			wantErr: "InvalidGroupId.Malformed",
		},
		{
			name: "group from another VPC",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{f.d.AppGroup, f.foreignGroup}}
			},
			wantErr: "InvalidGroup.NotFound",
			wantMsg: "You have specified two resources that belong to different networks.",
		},
		{
			name: "five groups is the limit",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: f.extra[:5]}
			},
			wantGroups: func(f fixture) []string { return f.extra[:5] },
		},
		{
			name: "six groups",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: f.extra}
			},
			wantErr: "SecurityGroupsPerInterfaceLimitExceeded",
		},
		{
			name: "requester-managed interface",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.managed), Groups: []string{f.d.AppGroup}}
			},
			wantErr: "UnauthorizedOperation",
		},
		{
			name: "two attributes",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{f.d.AppGroup},
					ConnectionTrackingSpecification: &types.ConnectionTrackingSpecificationRequest{TcpEstablishedTimeout: aws.Int32(60)}}
			},
			wantErr: "InvalidParameterCombination",
		},
		{
			name: "connection tracking out of range",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]),
					ConnectionTrackingSpecification: &types.ConnectionTrackingSpecificationRequest{UdpTimeout: aws.Int32(10)}}
			},
			wantErr: "InvalidParameterValue",
		},
		{
			name: "dry run",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.d.VictimENIs[0]), Groups: []string{f.d.DefaultGroup}, DryRun: aws.Bool(true)}
			},
			wantErr:    "DryRunOperation",
			wantGroups: func(f fixture) []string { return []string{f.d.WebGroup, f.d.AppGroup} },
		},
		{
			name: "unknown interface",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0000000000000dead"), Groups: []string{f.d.AppGroup}}
			},
			wantErr: "InvalidNetworkInterfaceID.NotFound",
		},
		{
			name: "malformed interface",
			in: func(f fixture) *ec2.ModifyNetworkInterfaceAttributeInput {
				return &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eth0"), Groups: []string{f.d.AppGroup}}
			},
			wantErr: "InvalidNetworkInterfaceID.Malformed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			managedInst := w.AddInstance(awsfake.InstanceSpec{NICs: []awsfake.NICSpec{{Subnet: d.SubnetA, ManagedBy: "ecs.amazonaws.com"}}})
			f := fixture{
				d:            d,
				managed:      *w.Instance(managedInst).NetworkInterfaces[0].NetworkInterfaceId,
				foreignGroup: w.AddSecurityGroup(w.AddVPC("172.16.0.0/16", false), "elsewhere"),
			}
			for _, n := range []string{"g1", "g2", "g3", "g4", "g5", "g6"} {
				f.extra = append(f.extra, w.AddSecurityGroup(d.VPC, n))
			}
			_, err := c.EC2.ModifyNetworkInterfaceAttribute(context.Background(), tc.in(f))
			wantCode(t, err, tc.wantErr)
			if tc.wantMsg != "" && message(err) != tc.wantMsg {
				t.Errorf("message = %q, want %q", message(err), tc.wantMsg)
			}
			want := []string{d.WebGroup, d.AppGroup}
			if tc.wantGroups != nil {
				want = tc.wantGroups(f)
			}
			var got []string
			for _, g := range w.NetworkInterface(d.VictimENIs[0]).Groups {
				got = append(got, *g.GroupId)
			}
			if !slices.Equal(got, want) {
				t.Errorf("eth0 groups = %v, want %v", got, want)
			}
		})
	}
}

func TestConnectionTrackingIsKeptPerInterface(t *testing.T) {
	w, d, c := demo(t)
	_, err := c.EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId:              aws.String(d.VictimENIs[1]),
		ConnectionTrackingSpecification: &types.ConnectionTrackingSpecificationRequest{TcpEstablishedTimeout: aws.Int32(60), UdpStreamTimeout: aws.Int32(60)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ct := w.NetworkInterface(d.VictimENIs[1]).ConnectionTrackingConfiguration
	if ct == nil || *ct.TcpEstablishedTimeout != 60 || *ct.UdpStreamTimeout != 60 || *ct.UdpTimeout != 30 {
		t.Fatalf("eth1 tracking = %+v, want 60/60 and the UDP default 30", ct)
	}
	inst := w.Instance(d.Victim)
	if inst.NetworkInterfaces[0].ConnectionTrackingConfiguration != nil || inst.NetworkInterfaces[1].ConnectionTrackingConfiguration == nil {
		t.Fatal("DescribeInstances does not show tracking on eth1 only")
	}
}

func TestMarkRequesterManagedRefusesChangesToThatInterfaceOnly(t *testing.T) {
	w, d, c := demo(t)
	w.MarkRequesterManaged(d.VictimENIs[1], "ecs.amazonaws.com")
	ctx := context.Background()
	_, err := c.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(d.VictimENIs[1]), Groups: []string{d.DefaultGroup}})
	wantCode(t, err, "UnauthorizedOperation")
	if _, err := c.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(d.VictimENIs[0]), Groups: []string{d.DefaultGroup}}); err != nil {
		t.Fatalf("eth0: %v", err)
	}
	if op := w.Instance(d.Victim).NetworkInterfaces[1].Operator; op == nil || *op.Principal != "ecs.amazonaws.com" {
		t.Fatalf("eth1 operator = %+v", op)
	}
}
