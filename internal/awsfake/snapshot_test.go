package awsfake_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestDescribeVolumes(t *testing.T) {
	_, d, c := demo(t)
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		in      ec2.DescribeVolumesInput
		want    []string
		wantErr string
	}{
		{"attached to the victim", ec2.DescribeVolumesInput{Filters: []types.Filter{f("attachment.instance-id", d.Victim)}}, d.VictimVolumes, ""},
		{"kept on termination", ec2.DescribeVolumesInput{Filters: []types.Filter{f("attachment.instance-id", d.Victim), f("attachment.delete-on-termination", "false")}}, d.VictimVolumes[1:], ""},
		{"by id", ec2.DescribeVolumesInput{VolumeIds: d.VictimVolumes[1:]}, d.VictimVolumes[1:], ""},
		{"unknown id", ec2.DescribeVolumesInput{VolumeIds: []string{"vol-0000000000000dead"}}, nil, "InvalidVolume.NotFound"},
		{"malformed id", ec2.DescribeVolumesInput{VolumeIds: []string{"root"}}, nil, "InvalidVolumeID.Malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.EC2.DescribeVolumes(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			if err != nil {
				return
			}
			var got []string
			for _, v := range out.Volumes {
				got = append(got, *v.VolumeId)
				if v.State != types.VolumeStateInUse || *v.Attachments[0].InstanceId != d.Victim || v.VolumeType != types.VolumeTypeGp3 {
					t.Errorf("volume %s: state %s, attachments %+v, type %s", *v.VolumeId, v.State, v.Attachments, v.VolumeType)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("volumes = %v, want %v", got, tc.want)
			}
		})
	}
}

func snapshotInput(instance string) *ec2.CreateSnapshotsInput {
	return &ec2.CreateSnapshotsInput{
		InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(instance)},
		Description:           aws.String("Firebreak evidence"),
		CopyTagsFromSource:    types.CopyTagsFromSourceVolume,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot,
			Tags: []types.Tag{{Key: aws.String("FirebreakCase"), Value: aws.String("case-1")}}}},
	}
}

func TestCreateSnapshots(t *testing.T) {
	w, d, c := demo(t)
	out, err := c.EC2.CreateSnapshots(context.Background(), snapshotInput(d.Victim))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Snapshots) != 2 {
		t.Fatalf("%d snapshots, want one per volume", len(out.Snapshots))
	}
	for i, s := range out.Snapshots {
		if *s.VolumeId != d.VictimVolumes[i] || s.State != types.SnapshotStatePending || *s.OwnerId != account {
			t.Errorf("snapshot %d = %+v", i, s)
		}
		got := map[string]string{}
		for _, tag := range s.Tags {
			got[*tag.Key] = *tag.Value
		}
		if got["FirebreakCase"] != "case-1" || got["Name"] == "" {
			t.Errorf("snapshot %d tags = %v, want the case tag and the volume's Name", i, got)
		}
	}
	w.CompleteSnapshots()
	if s := w.Snapshots(); len(s) != 2 || s[0].State != types.SnapshotStateCompleted || *s[0].Progress != "100%" {
		t.Fatalf("after CompleteSnapshots: %+v", s)
	}

	in := snapshotInput(d.Victim)
	in.InstanceSpecification.ExcludeBootVolume = aws.Bool(true)
	out, err = c.EC2.CreateSnapshots(context.Background(), in)
	if err != nil || len(out.Snapshots) != 1 || *out.Snapshots[0].VolumeId != d.VictimVolumes[1] {
		t.Fatalf("excluding the boot volume: %v %+v", err, out)
	}
}

func TestCreateSnapshotsErrors(t *testing.T) {
	_, d, c := demo(t)
	tests := []struct {
		name string
		in   *ec2.CreateSnapshotsInput
		want string
	}{
		{"no instance specification", &ec2.CreateSnapshotsInput{}, "MissingParameter"},
		{"unknown instance", snapshotInput("i-0000000000000dead"), "InvalidInstanceID.NotFound"},
		{"tags for the wrong resource type", &ec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(d.Victim)},
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, "InvalidParameterValue"},
		{"dry run", &ec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{InstanceId: aws.String(d.Victim)}, DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.EC2.CreateSnapshots(context.Background(), tc.in)
			wantCode(t, err, tc.want)
		})
	}
	out, err := c.EC2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("failed calls made snapshots: %v %+v", err, out)
	}
}

func TestSnapshotRateLimitPerVolume(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	for range 2 { // off by default
		if _, err := c.EC2.CreateSnapshots(ctx, snapshotInput(d.Victim)); err != nil {
			t.Fatal(err)
		}
	}
	w.SetSnapshotRateLimit(15 * time.Second)
	_, err := c.EC2.CreateSnapshots(ctx, snapshotInput(d.Victim))
	wantCode(t, err, "SnapshotCreationPerVolumeRateExceeded")
	w.Advance(14 * time.Second)
	_, err = c.EC2.CreateSnapshots(ctx, snapshotInput(d.Victim))
	wantCode(t, err, "SnapshotCreationPerVolumeRateExceeded")
	w.Advance(time.Second)
	if _, err := c.EC2.CreateSnapshots(ctx, snapshotInput(d.Victim)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if n := len(w.Snapshots()); n != 6 {
		t.Fatalf("%d snapshots, want 6 (limited calls make none)", n)
	}
}

func TestDescribeSnapshots(t *testing.T) {
	_, d, c := demo(t)
	created, err := c.EC2.CreateSnapshots(context.Background(), snapshotInput(d.Victim))
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	first, second := *created.Snapshots[0].SnapshotId, *created.Snapshots[1].SnapshotId
	tests := []struct {
		name    string
		in      ec2.DescribeSnapshotsInput
		want    []string
		wantErr string
	}{
		{"self", ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}}, []string{first, second}, ""},
		{"account id", ec2.DescribeSnapshotsInput{OwnerIds: []string{account}}, []string{first, second}, ""},
		{"someone else", ec2.DescribeSnapshotsInput{OwnerIds: []string{"amazon"}}, nil, ""},
		{"tag", ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{f("tag:FirebreakCase", "case-1")}}, []string{first, second}, ""},
		{"other tag value", ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{f("tag:FirebreakCase", "case-2")}}, nil, ""},
		{"volume-id", ec2.DescribeSnapshotsInput{Filters: []types.Filter{f("volume-id", d.VictimVolumes[1])}}, []string{second}, ""},
		{"by id", ec2.DescribeSnapshotsInput{SnapshotIds: []string{second}}, []string{second}, ""},
		{"unknown id", ec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-0000000000000dead"}}, nil, "InvalidSnapshot.NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.EC2.DescribeSnapshots(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			if err != nil {
				return
			}
			var got []string
			for _, s := range out.Snapshots {
				got = append(got, *s.SnapshotId)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("snapshots = %v, want %v", got, tc.want)
			}
		})
	}
}
