package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// SnapshotLock is the EBS snapshot lock put on every evidence snapshot: a
// mode (contract.SnapshotLock*; "" or none locks nothing), a duration in
// days and, in compliance mode, a cooling-off period in hours (0: final at
// once).
type SnapshotLock struct {
	Mode         string
	Days         int32
	CoolOffHours int32
}

func (r *run) locking() bool {
	m := r.opt.Lock.Mode
	return m != "" && m != contract.SnapshotLockNone
}

// lockTerms says how snapshots are locked, for the report.
func (r *run) lockTerms() string {
	l := r.opt.Lock
	terms := fmt.Sprintf("in %s mode for %d days", l.Mode, l.Days)
	if l.Mode == contract.SnapshotLockCompliance && l.CoolOffHours > 0 {
		terms += fmt.Sprintf(", changeable for a %d-hour cooling-off period", l.CoolOffHours)
	}
	return terms
}

// lockSet locks each snapshot of the set that holds no lock. An existing lock
// (an earlier attempt's, or a person's) is kept as it is: LockSnapshot on a
// locked snapshot changes its lock, which could shorten it. A set this run
// took (fresh) cannot hold one, so it is not looked up. Every snapshot comes
// back with its lock, or with the error that kept it unlocked.
func (r *run) lockSet(ctx context.Context, set []report.Snapshot, fresh bool) ([]report.Snapshot, error) {
	if !r.locking() || len(set) == 0 {
		return set, nil
	}
	if !fresh {
		out, err := r.api.EC2.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{SnapshotIds: snapshotIDs(set)})
		if err != nil {
			return set, fmt.Errorf("reading the locks of snapshots %s: %w", strings.Join(snapshotIDs(set), ", "), err)
		}
		for _, info := range out.Snapshots {
			for i := range set {
				if set[i].ID == aws.ToString(info.SnapshotId) {
					describeLock(&set[i], info)
				}
			}
		}
	}
	l := r.opt.Lock
	idx := make([]int, len(set))
	for i := range set {
		idx[i] = i
	}
	errs := each(idx, func(i int) error {
		s := &set[i]
		if s.LockState != "" && s.LockState != string(ec2types.LockStateExpired) {
			return nil
		}
		in := &ec2.LockSnapshotInput{SnapshotId: aws.String(s.ID), LockMode: ec2types.LockMode(l.Mode),
			LockDuration: aws.Int32(l.Days), DryRun: aws.Bool(r.t.DryRun)}
		if l.Mode == contract.SnapshotLockCompliance && l.CoolOffHours > 0 {
			in.CoolOffPeriod = aws.Int32(l.CoolOffHours)
		}
		out, err := r.api.EC2.LockSnapshot(ctx, in)
		if r.t.DryRun {
			err = dryRunOK(err)
			if err == nil {
				s.LockMode, s.LockDuration, s.Locked = l.Mode, l.Days, true
			}
		}
		if err != nil {
			s.Error = errorCode(err)
			return fmt.Errorf("locking snapshot %s %s: %w", s.ID, r.lockTerms(), err)
		}
		if !r.t.DryRun {
			describeLock(s, ec2types.LockedSnapshotsInfo{LockState: out.LockState, LockDuration: out.LockDuration,
				LockExpiresOn: out.LockExpiresOn, CoolOffPeriodExpiresOn: out.CoolOffPeriodExpiresOn})
			s.LockMode, s.Locked = l.Mode, true
		}
		return nil
	})
	return set, joinErrs(errs)
}

// recordLocks keeps on the instance whether its snapshots still wait for a
// lock: one CreateTags, only when that changed.
func (r *run) recordLocks(ctx context.Context, snap snapshotted) {
	was := r.inst.Tags[contract.TagSnapshotLock]
	switch {
	case r.t.DryRun || !r.locking():
	case snap.lockPending && was != contract.LockPending:
		r.tagLocks(ctx, contract.LockPending)
	case !snap.lockPending && was == contract.LockPending && snap.step.Status != report.Failed:
		r.tagLocks(ctx, contract.LockDone)
	}
}

func (r *run) tagLocks(ctx context.Context, value string) {
	_, err := r.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.inst.ID},
		Tags: []ec2types.Tag{{Key: aws.String(contract.TagSnapshotLock), Value: aws.String(value)}}})
	if err != nil {
		r.log.ErrorContext(ctx, "could not record the snapshot lock state on the instance", "state", value, "error", err)
	}
}

// finishLocks locks, on an event for an instance already contained, the
// snapshots an earlier run could not lock (its tag says so, for free with the
// DescribeInstances every event makes): the only work such an event does.
func (r *run) finishLocks(ctx context.Context, out *Outcome) {
	if r.inst.Tags[contract.TagSnapshotLock] != contract.LockPending || !r.locking() || r.t.DryRun {
		return
	}
	// The containment's set: its case's snapshots, however long ago it was.
	var snap snapshotted
	found, err := r.api.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + contract.TagInstanceID), Values: []string{r.inst.ID}},
		{Name: aws.String("tag:" + contract.TagCaseID), Values: []string{r.inst.Tags[contract.TagCaseID]}}}})
	var set []report.Snapshot
	if err == nil {
		for _, s := range found.Snapshots {
			set = append(set, report.Snapshot{ID: aws.ToString(s.SnapshotId), VolumeID: aws.ToString(s.VolumeId)})
		}
	}
	switch {
	case err != nil:
		snap = snapshotted{step: failed(report.StepSnapshot, "could not find the snapshots waiting for a lock", err, nil), lockPending: true}
	case len(set) == 0:
		snap = snapshotted{step: step(report.StepSnapshot, report.Skipped, nil, "no snapshot of case %s left to lock", r.inst.Tags[contract.TagCaseID])}
	default:
		snap = r.reuse(ctx, set, "already contained; snapshots of case "+r.inst.Tags[contract.TagCaseID]+" waiting for a lock")
	}
	for i := range out.Steps {
		if out.Steps[i].Name == report.StepSnapshot {
			out.Steps[i] = snap.step
		}
	}
	out.Snapshots = snap.snapshots
	r.recordLocks(ctx, snap)
}

// describeLock copies a lock as EC2 shows it into the report.
func describeLock(s *report.Snapshot, info ec2types.LockedSnapshotsInfo) {
	s.LockState = string(info.LockState)
	s.LockDuration = aws.ToInt32(info.LockDuration)
	s.LockExpiresOn = utc(info.LockExpiresOn)
	s.CoolOffExpiresOn = utc(info.CoolOffPeriodExpiresOn)
	switch info.LockState {
	case ec2types.LockStateGovernance:
		s.LockMode = contract.SnapshotLockGovernance
	case ec2types.LockStateCompliance, ec2types.LockStateComplianceCooloff:
		s.LockMode = contract.SnapshotLockCompliance
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// lockSummary says, after the step's detail, how each snapshot is locked.
func lockSummary(set []report.Snapshot) string {
	var parts []string
	for _, s := range set {
		switch {
		case s.Error != "":
			parts = append(parts, s.ID+" not locked ("+s.Error+")")
		case s.LockState == "" && s.Locked:
			parts = append(parts, fmt.Sprintf("%s would be locked (%s, %d days)", s.ID, s.LockMode, s.LockDuration))
		case s.LockState == "":
		default:
			p := s.ID + " " + s.LockState
			if s.LockExpiresOn != nil {
				p += " until " + s.LockExpiresOn.Format(time.RFC3339)
			} else if s.LockDuration > 0 {
				p += fmt.Sprintf(" for %d days from its completion", s.LockDuration)
			}
			if s.LockState == string(ec2types.LockStateComplianceCooloff) && s.CoolOffExpiresOn != nil {
				p += ", cooling-off until " + s.CoolOffExpiresOn.Format(time.RFC3339)
			}
			if !s.Locked {
				p += " (existing lock kept)"
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; locks: " + strings.Join(parts, ", ")
}
