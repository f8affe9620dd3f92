package awsfake_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if *t.Key == key {
			return *t.Value, true
		}
	}
	return "", false
}

func TestCreateTagsOnManyResources(t *testing.T) {
	w, d, c := demo(t)
	snaps, err := c.EC2.CreateSnapshots(context.Background(), snapshotInput(d.Victim))
	if err != nil {
		t.Fatal(err)
	}
	snap := *snaps.Snapshots[0].SnapshotId
	tag := []types.Tag{{Key: aws.String("FirebreakStatus"), Value: aws.String("contained")}}
	if _, err := c.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{
		Resources: []string{d.Victim, d.VictimVolumes[0], snap, d.AppGroup}, Tags: tag}); err != nil {
		t.Fatal(err)
	}
	for id, tags := range map[string][]types.Tag{
		d.Victim: w.Instance(d.Victim).Tags, d.VictimVolumes[0]: w.Volume(d.VictimVolumes[0]).Tags,
		snap: w.Snapshots()[0].Tags, d.AppGroup: w.SecurityGroup(d.AppGroup).Tags,
	} {
		if v, _ := tagValue(tags, "FirebreakStatus"); v != "contained" {
			t.Errorf("%s tags = %v", id, tags)
		}
	}
}

func TestCreateTagsIsAllOrNothing(t *testing.T) {
	tooMany := func() []types.Tag {
		var out []types.Tag
		for i := range 48 {
			out = append(out, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		}
		return out
	}
	tests := []struct {
		name      string
		resources func(d awsfake.Demo) []string
		tags      []types.Tag
		want      string
	}{
		{"aws: prefix", func(d awsfake.Demo) []string { return []string{d.Victim} },
			[]types.Tag{{Key: aws.String("aws:firebreak"), Value: aws.String("x")}}, "InvalidParameterValue"},
		// The victim has three user tags (plus aws:autoscaling:groupName, which does not count).
		{"51 tags", func(d awsfake.Demo) []string { return []string{d.Bystander, d.Victim} }, tooMany(), "TagLimitExceeded"},
		{"unknown instance", func(d awsfake.Demo) []string { return []string{d.Bystander, "i-0000000000000dead"} },
			[]types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}, "InvalidInstanceID.NotFound"},
		{"unknown volume", func(d awsfake.Demo) []string { return []string{d.Bystander, "vol-0000000000000dead"} },
			[]types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}, "InvalidVolume.NotFound"},
		{"not an id", func(d awsfake.Demo) []string { return []string{d.Bystander, "web-1"} },
			[]types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}, "InvalidID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			before := len(w.Instance(d.Bystander).Tags)
			_, err := c.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: tc.resources(d), Tags: tc.tags})
			wantCode(t, err, tc.want)
			if after := len(w.Instance(d.Bystander).Tags); after != before {
				t.Errorf("bystander went from %d to %d tags in a failed call", before, after)
			}
		})
	}
	t.Run("47 tags fit beside the victim's three", func(t *testing.T) {
		w, d, c := demo(t)
		if _, err := c.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{d.Victim}, Tags: tooMany()[:47]}); err != nil {
			t.Fatal(err)
		}
		if n := len(w.Instance(d.Victim).Tags); n != 51 {
			t.Fatalf("victim has %d tags, want 50 user tags and the group tag", n)
		}
	})
}
