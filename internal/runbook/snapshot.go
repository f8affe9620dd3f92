package runbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const snapshotAttempts = 3

// snapshotted is the snapshot step and the set it took or found, with the
// lock of each snapshot.
type snapshotted struct {
	step      report.Step
	snapshots []report.Snapshot
	// lockPending is set when locks failed on throttling or a server error:
	// the next event for the instance locks them (see finishLocks).
	lockPending bool
}

// snapshot takes one crash-consistent snapshot per attached EBS volume and
// does not wait for them to complete (that takes minutes to hours), then
// locks them. CreateSnapshots has no idempotency token, so the tags of
// earlier snapshots are what keeps a retry from taking a second set; a
// retry locks what an earlier attempt left unlocked.
func (r *run) snapshot(ctx context.Context, f *facts) snapshotted {
	earlier, err := f.snapshots.wait()
	if err != nil {
		return snapshotted{step: failed(report.StepSnapshot, "could not tell whether snapshots were already taken; none taken", err, nil)}
	}
	if claimed, _ := f.claim.wait(); !claimed {
		return snapshotted{step: step(report.StepSnapshot, report.Skipped, nil, "another invocation for this instance is taking the snapshot set")}
	}
	if set := r.recent(earlier); len(set) > 0 {
		return r.reuse(ctx, set, fmt.Sprintf("snapshot set already taken within %s", r.opt.SnapshotReuseWindow))
	}
	ebs := 0
	for _, m := range r.inst.raw.BlockDeviceMappings {
		if m.Ebs != nil {
			ebs++
		}
	}
	if ebs == 0 {
		return snapshotted{step: step(report.StepSnapshot, report.NotApplicable, nil, "no EBS volume attached")}
	}
	action := fmt.Sprintf("snapshot %d EBS volumes of %s (crash-consistent, one set)", ebs, r.inst.ID)
	in := &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(r.inst.ID), ExcludeBootVolume: aws.Bool(false)},
		Description:           aws.String(truncate("Firebreak "+r.t.CaseID+" "+r.t.FindingType, 255)),
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: ec2Tags(map[string]string{
			contract.TagInstanceID: r.inst.ID, contract.TagFindingID: r.t.FindingID, contract.TagCaseID: r.t.CaseID, contract.TagTakenAt: r.now.Format(time.RFC3339),
		})}},
		DryRun: aws.Bool(r.t.DryRun),
	}

	if r.t.DryRun {
		actions := []string{action}
		if r.locking() {
			// LockSnapshot needs a snapshot to prove its permission on.
			actions = append(actions, "lock each snapshot "+r.lockTerms()+" (LockSnapshot's permission is proven on a snapshot, so only on a real run)")
		}
		_, err := r.api.EC2.CreateSnapshots(ctx, in)
		if err = dryRunOK(err); err != nil {
			return snapshotted{step: failed(report.StepSnapshot, "dry run refused", err, actions)}
		}
		return snapshotted{step: step(report.StepSnapshot, report.Planned, actions, "%d volumes", ebs)}
	}
	var set []report.Snapshot
	// The SDK must not retry this call blindly: an answer lost after the
	// snapshots started would mean a second set.
	noRetry := func(o *ec2.Options) { o.RetryMaxAttempts = 1 }
	take := func() error {
		out, err := r.api.EC2.CreateSnapshots(ctx, in, noRetry)
		for attempt := 1; hasCode(err, "SnapshotCreationPerVolumeRateExceeded") && attempt < snapshotAttempts; attempt++ {
			// Not retried by the SDK either; AWS asks for at least 15 s.
			r.log.WarnContext(ctx, "snapshot rate exceeded; backing off", "step", report.StepSnapshot, "wait", r.opt.SnapshotBackoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(r.opt.SnapshotBackoff):
			}
			out, err = r.api.EC2.CreateSnapshots(ctx, in, noRetry)
		}
		if err != nil {
			return err
		}
		for _, s := range out.Snapshots {
			set = append(set, report.Snapshot{ID: aws.ToString(s.SnapshotId), VolumeID: aws.ToString(s.VolumeId)})
		}
		return nil
	}
	taken := func() bool {
		out, err := r.api.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
			Filters: []ec2types.Filter{{Name: aws.String("tag:" + contract.TagInstanceID), Values: []string{r.inst.ID}}}})
		if err != nil {
			return false
		}
		set = r.recent(out.Snapshots)
		return len(set) > 0
	}
	if err := r.once(ctx, take, taken); err != nil {
		return snapshotted{step: failed(report.StepSnapshot, "no snapshot taken", fmt.Errorf("snapshotting volumes of %s: %w", r.inst.ID, err), []string{action})}
	}
	ids := snapshotIDs(set)
	detail := fmt.Sprintf("%d snapshots started (not waited for): %s", len(ids), strings.Join(ids, ", "))
	// Nothing can hold a lock on snapshots this run just took.
	set, err = r.lockSet(ctx, set, true)
	if err != nil {
		return lockFailed(detail, err, ids, set)
	}
	return snapshotted{step: step(report.StepSnapshot, report.Done, ids, "%s%s", detail, lockSummary(set)), snapshots: set}
}

// lockFailed reports snapshots left unlocked. Throttling or a server error
// (the SDK retried already) does not fail the containment: locking is left
// to the next event for the instance, so that a burst of containments is
// not amplified by Lambda retries of whole runbooks for their locks.
func lockFailed(detail string, err error, ids []string, set []report.Snapshot) snapshotted {
	if Transient(errorCode(err)) {
		s := failed(report.StepSnapshot, detail+lockSummary(set)+"; the next event for this instance locks them", err, ids)
		s.Status = report.Pending
		return snapshotted{step: s, snapshots: set, lockPending: true}
	}
	return snapshotted{step: failed(report.StepSnapshot, detail+"; not all locked", err, ids), snapshots: set}
}

// reuse reports the set an earlier attempt took, and locks what it left unlocked.
func (r *run) reuse(ctx context.Context, set []report.Snapshot, what string) snapshotted {
	ids := snapshotIDs(set)
	detail := what + ": " + strings.Join(ids, ", ")
	set, err := r.lockSet(ctx, set, false)
	if err != nil {
		return lockFailed(detail, err, ids, set)
	}
	status := report.Skipped
	if slices.ContainsFunc(set, func(s report.Snapshot) bool { return s.Locked }) {
		status = r.plan()
	}
	return snapshotted{step: step(report.StepSnapshot, status, ids, "%s%s", detail, lockSummary(set)), snapshots: set}
}

// recent lists the snapshots Firebreak took of the instance within the reuse window.
func (r *run) recent(snaps []ec2types.Snapshot) []report.Snapshot {
	var set []report.Snapshot
	for _, s := range snaps {
		if s.StartTime != nil && r.now.Sub(*s.StartTime) < r.opt.SnapshotReuseWindow {
			set = append(set, report.Snapshot{ID: aws.ToString(s.SnapshotId), VolumeID: aws.ToString(s.VolumeId)})
		}
	}
	return set
}

func snapshotIDs(set []report.Snapshot) []string {
	ids := make([]string, len(set))
	for i, s := range set {
		ids[i] = s.ID
	}
	return ids
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
