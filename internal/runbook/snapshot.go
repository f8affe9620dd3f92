package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/report"
)

const snapshotAttempts = 3

// snapshot takes one crash-consistent snapshot per attached EBS volume and
// does not wait for them to complete (that takes minutes to hours).
// CreateSnapshots has no idempotency token, so the tags of earlier snapshots
// are what keeps a retry from taking a second set.
func (r *run) snapshot(ctx context.Context, f *facts) report.Step {
	earlier, err := f.snapshots.wait()
	if err != nil {
		return failed(report.StepSnapshot, "could not tell whether snapshots were already taken; none taken", err, nil)
	}
	var recent []string
	for _, s := range earlier {
		if s.StartTime != nil && r.now.Sub(*s.StartTime) < r.opt.SnapshotReuseWindow {
			recent = append(recent, aws.ToString(s.SnapshotId))
		}
	}
	if len(recent) > 0 {
		return step(report.StepSnapshot, report.Skipped, recent, "snapshot set already taken within %s: %s", r.opt.SnapshotReuseWindow, strings.Join(recent, ", "))
	}
	ebs := 0
	for _, m := range r.inst.raw.BlockDeviceMappings {
		if m.Ebs != nil {
			ebs++
		}
	}
	if ebs == 0 {
		return step(report.StepSnapshot, report.NotApplicable, nil, "no EBS volume attached")
	}
	action := fmt.Sprintf("snapshot %d EBS volumes of %s (crash-consistent, one set)", ebs, r.inst.ID)
	in := &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(r.inst.ID), ExcludeBootVolume: aws.Bool(false)},
		Description:           aws.String(truncate("Firebreak "+r.t.CaseID+" "+r.t.FindingType, 255)),
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: ec2Tags(map[string]string{
			TagInstanceID: r.inst.ID, TagFindingID: r.t.FindingID, TagCaseID: r.t.CaseID, "firebreak:taken-at": r.now.Format(time.RFC3339),
		})}},
		DryRun: aws.Bool(r.t.DryRun),
	}
	for attempt := 1; ; attempt++ {
		out, err := r.api.EC2.CreateSnapshots(ctx, in)
		if r.t.DryRun {
			if err = dryRunOK(err); err != nil {
				return failed(report.StepSnapshot, "dry run refused", err, []string{action})
			}
			return step(report.StepSnapshot, report.Planned, []string{action}, "%d volumes", ebs)
		}
		if err == nil {
			var ids []string
			for _, s := range out.Snapshots {
				ids = append(ids, aws.ToString(s.SnapshotId))
			}
			return step(report.StepSnapshot, report.Done, ids, "%d snapshots started (not waited for): %s", len(ids), strings.Join(ids, ", "))
		}
		// This error is not retried by the SDK; AWS asks for at least 15 s.
		if !hasCode(err, "SnapshotCreationPerVolumeRateExceeded") || attempt == snapshotAttempts {
			return failed(report.StepSnapshot, "no snapshot taken", fmt.Errorf("snapshotting volumes of %s: %w", r.inst.ID, err), []string{action})
		}
		r.log.WarnContext(ctx, "snapshot rate exceeded; backing off", "step", report.StepSnapshot, "wait", r.opt.SnapshotBackoff)
		select {
		case <-ctx.Done():
			return failed(report.StepSnapshot, "no snapshot taken", ctx.Err(), []string{action})
		case <-time.After(r.opt.SnapshotBackoff):
		}
	}
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	var tags []ec2types.Tag
	for _, k := range sortedKeys(m) {
		if m[k] != "" {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
		}
	}
	return tags
}
