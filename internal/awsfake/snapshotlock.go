package awsfake

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EBS snapshot lock, as the EBS user guide and the LockSnapshot reference
// describe it:
//   - a snapshot can be locked only while pending or completed; a lock taken
//     while pending runs its duration from completion (LockExpiresOn and
//     LockDurationStartTime are absent until then) and is cancelled if the
//     snapshot fails;
//   - governance: locked at once, any permitted user can change or remove it;
//   - compliance: an optional cooling-off period (1-72 h) during which it can
//     still be changed; after it, the lock can only be extended, by anyone,
//     root included;
//   - a duration (1-36500 days) or an expiration date, never both.
//
// The LockSnapshot reference lists no error codes of its own: the fake uses
// EC2's common ones (InvalidParameterValue, InvalidParameterCombination,
// IncorrectState, InvalidSnapshot.NotFound).

// snapshotLock is one snapshot's lock settings.
type snapshotLock struct {
	mode types.LockMode
	// days is the lock duration; zero when an expiration date was given.
	days      int32
	expiresOn time.Time // fixed by ExpirationDate, or start + days once started
	started   time.Time // zero while the snapshot is pending
	created   time.Time
	coolOff   int32 // hours
}

const (
	minLockDays, maxLockDays       = 1, 36500
	minCoolOffHours, maxCoolOffHrs = 1, 72
)

// completed starts a duration that waited for the snapshot to complete.
func (l *snapshotLock) completed(now time.Time) {
	if l == nil || !l.started.IsZero() {
		return
	}
	l.started = now
	if l.days > 0 {
		l.expiresOn = now.AddDate(0, 0, int(l.days))
	}
}

func (l *snapshotLock) coolOffEnds() time.Time {
	return l.created.Add(time.Duration(l.coolOff) * time.Hour)
}

// state is the lock's state at now.
func (l *snapshotLock) state(now time.Time) types.LockState {
	switch {
	case !l.expiresOn.IsZero() && !now.Before(l.expiresOn):
		return types.LockStateExpired
	case l.mode == types.LockModeGovernance:
		return types.LockStateGovernance
	case l.coolOff > 0 && now.Before(l.coolOffEnds()):
		return types.LockStateComplianceCooloff
	default:
		return types.LockStateCompliance
	}
}

// info renders the lock as DescribeLockedSnapshots and LockSnapshot do.
func (l *snapshotLock) info(now time.Time) types.LockedSnapshotsInfo {
	out := types.LockedSnapshotsInfo{
		LockState:     l.state(now),
		LockCreatedOn: aws.Time(l.created),
	}
	if l.days > 0 {
		out.LockDuration = aws.Int32(l.days)
	}
	if !l.started.IsZero() {
		out.LockDurationStartTime = aws.Time(l.started)
	}
	if !l.expiresOn.IsZero() {
		out.LockExpiresOn = aws.Time(l.expiresOn)
	}
	if l.coolOff > 0 {
		out.CoolOffPeriod = aws.Int32(l.coolOff)
		out.CoolOffPeriodExpiresOn = aws.Time(l.coolOffEnds())
	}
	return out
}

// SnapshotLock returns the lock of a snapshot as DescribeLockedSnapshots
// shows it, and false when it was never locked. It makes no counted call.
func (w *World) SnapshotLock(id string) (types.LockedSnapshotsInfo, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.snapshots.get(id)
	if !ok || s.lock == nil {
		return types.LockedSnapshotsInfo{}, false
	}
	info := s.lock.info(w.nowLocked())
	info.SnapshotId, info.OwnerId = aws.String(s.id), aws.String(w.account)
	return info, true
}

// FailSnapshot puts a pending snapshot in the error state, as a failed copy
// of the volume would; a lock taken while it was pending is cancelled.
func (w *World) FailSnapshot(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.snapshots.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: FailSnapshot: no snapshot %s", id))
	}
	s.state, s.lock = types.SnapshotStateError, nil
}

// LockSnapshot locks a snapshot, or changes its lock where the mode allows.
func (c *EC2) LockSnapshot(ctx context.Context, in *ec2.LockSnapshotInput, _ ...func(*ec2.Options)) (*ec2.LockSnapshotOutput, error) {
	return call(ctx, c.w, svcEC2, "LockSnapshot", in, c.w.lockSnapshot)
}

func (w *World) lockSnapshot(in *ec2.LockSnapshotInput) (*ec2.LockSnapshotOutput, error) {
	s, err := w.lookupSnapshot(in.SnapshotId)
	if err != nil {
		return nil, err
	}
	now := w.nowLocked()
	want, err := requestedLock(in, s, now)
	if err != nil {
		return nil, err
	}
	if s.state != types.SnapshotStatePending && s.state != types.SnapshotStateCompleted {
		return nil, apiError("IncorrectState", "The snapshot '%s' is in the '%s' state; only pending or completed snapshots can be locked.", s.id, s.state)
	}
	if old := s.lock; old != nil {
		if err := lockChangeAllowed(s.id, old, want, now); err != nil {
			return nil, err
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	if s.state == types.SnapshotStateCompleted {
		want.completed(now)
	}
	s.lock = want
	info := want.info(now)
	return &ec2.LockSnapshotOutput{
		SnapshotId: aws.String(s.id), LockState: info.LockState, LockCreatedOn: info.LockCreatedOn,
		LockDuration: info.LockDuration, LockDurationStartTime: info.LockDurationStartTime, LockExpiresOn: info.LockExpiresOn,
		CoolOffPeriod: info.CoolOffPeriod, CoolOffPeriodExpiresOn: info.CoolOffPeriodExpiresOn,
	}, nil
}

// requestedLock validates the parameters and returns the lock they ask for.
func requestedLock(in *ec2.LockSnapshotInput, s *snapshot, now time.Time) (*snapshotLock, error) {
	l := &snapshotLock{mode: in.LockMode, created: now}
	switch in.LockMode {
	case types.LockModeGovernance, types.LockModeCompliance:
	case "":
		return nil, errMissing("LockMode")
	default:
		return nil, apiError("InvalidParameterValue", "Value (%s) for parameter lockMode is invalid. Valid values: compliance, governance.", in.LockMode)
	}
	switch {
	case in.LockDuration != nil && in.ExpirationDate != nil:
		return nil, apiError("InvalidParameterCombination", "Specify either LockDuration or ExpirationDate, not both.")
	case in.LockDuration == nil && in.ExpirationDate == nil:
		return nil, apiError("InvalidParameterCombination", "Specify either LockDuration or ExpirationDate.")
	case in.LockDuration != nil:
		if d := *in.LockDuration; d < minLockDays || d > maxLockDays {
			return nil, apiError("InvalidParameterValue", "Value (%d) for parameter lockDuration is invalid. Expecting a value between %d and %d.", d, minLockDays, maxLockDays)
		}
		l.days = *in.LockDuration
	default:
		exp := in.ExpirationDate.UTC()
		if exp.Before(s.started.Add(24 * time.Hour)) {
			return nil, apiError("InvalidParameterValue", "The expiration date must be at least 1 day after the snapshot creation date.")
		}
		l.expiresOn = exp
	}
	if in.CoolOffPeriod != nil {
		if in.LockMode != types.LockModeCompliance {
			return nil, apiError("InvalidParameterCombination", "CoolOffPeriod can be specified only for compliance mode.")
		}
		if h := *in.CoolOffPeriod; h < minCoolOffHours || h > maxCoolOffHrs {
			return nil, apiError("InvalidParameterValue", "Value (%d) for parameter coolOffPeriod is invalid. Expecting a value between %d and %d.", h, minCoolOffHours, maxCoolOffHrs)
		}
		l.coolOff = *in.CoolOffPeriod
	}
	return l, nil
}

// lockChangeAllowed applies the compliance rule: once the cooling-off period
// is over, the lock stays in compliance mode and can only be extended.
func lockChangeAllowed(id string, old, want *snapshotLock, now time.Time) error {
	if old.state(now) != types.LockStateCompliance {
		return nil
	}
	switch {
	case want.mode != types.LockModeCompliance:
		return apiError("IncorrectState", "The snapshot '%s' is locked in compliance mode and its cooling-off period has ended: the lock mode cannot be changed.", id)
	case want.coolOff > 0:
		return apiError("InvalidParameterCombination", "The snapshot '%s' is past its cooling-off period: omit CoolOffPeriod.", id)
	}
	// Keep the original start: a duration counts from when the lock first ran.
	want.created, want.coolOff, want.started = old.created, old.coolOff, old.started
	if want.days > 0 && !want.started.IsZero() {
		want.expiresOn = want.started.AddDate(0, 0, int(want.days))
	}
	if !old.expiresOn.IsZero() && (want.expiresOn.IsZero() || want.expiresOn.Before(old.expiresOn)) ||
		old.expiresOn.IsZero() && want.days > 0 && want.days < old.days {
		return apiError("IncorrectState", "The snapshot '%s' is locked in compliance mode: its lock can only be extended.", id)
	}
	return nil
}

// DescribeLockedSnapshots lists the locks of this account's snapshots.
func (c *EC2) DescribeLockedSnapshots(ctx context.Context, in *ec2.DescribeLockedSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLockedSnapshotsOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeLockedSnapshots", in, c.w.describeLockedSnapshots)
}

func (w *World) describeLockedSnapshots(in *ec2.DescribeLockedSnapshotsInput) (*ec2.DescribeLockedSnapshotsOutput, error) {
	if err := checkFilters(in.Filters, "lock-state"); err != nil {
		return nil, err
	}
	for _, id := range in.SnapshotIds {
		if _, err := w.lookupSnapshot(aws.String(id)); err != nil {
			return nil, err
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	now := w.nowLocked()
	var found []types.LockedSnapshotsInfo
	for _, s := range w.snapshots.all() {
		if s.lock == nil || len(in.SnapshotIds) > 0 && !slices.Contains(in.SnapshotIds, s.id) {
			continue
		}
		info := s.lock.info(now)
		info.SnapshotId, info.OwnerId = aws.String(s.id), aws.String(w.account)
		state := string(info.LockState)
		if matchFilters(in.Filters, nil, func(string) []string { return []string{state} }) {
			found = append(found, info)
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.SnapshotIds) > 0, "snapshotIds")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeLockedSnapshotsOutput{Snapshots: out, NextToken: next}, nil
}

func (w *World) lookupSnapshot(id *string) (*snapshot, error) {
	switch {
	case id == nil || *id == "":
		return nil, errMissing("SnapshotId")
	case !wellFormed("snap", *id):
		return nil, apiError("InvalidSnapshotID.Malformed", "Invalid id: %q (expecting \"snap-...\")", *id)
	}
	s, ok := w.snapshots.get(*id)
	if !ok {
		return nil, errSnapshotNotFound(*id)
	}
	return s, nil
}
