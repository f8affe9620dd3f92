package awsfake

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type snapshot struct {
	id, volumeID, description string
	size                      int32
	encrypted                 bool
	started                   time.Time
	state                     types.SnapshotState
	progress                  string
	tags                      tags
	// lock is the EBS snapshot lock, nil when the snapshot was never locked.
	lock *snapshotLock
}

// Snapshots returns copies of every snapshot, oldest first.
func (w *World) Snapshots() []types.Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []types.Snapshot
	for _, s := range w.snapshots.all() {
		out = append(out, w.renderSnapshot(s))
	}
	return out
}

// CompleteSnapshots finishes every pending snapshot, as time would.
func (w *World) CompleteSnapshots() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.snapshots.all() {
		if s.state == types.SnapshotStatePending {
			s.state, s.progress = types.SnapshotStateCompleted, "100%"
			s.lock.completed(w.nowLocked())
		}
	}
}

func (w *World) renderSnapshot(s *snapshot) types.Snapshot {
	return types.Snapshot{
		Description: aws.String(s.description),
		Encrypted:   aws.Bool(s.encrypted),
		OwnerId:     aws.String(w.account),
		Progress:    aws.String(s.progress),
		SnapshotId:  aws.String(s.id),
		StartTime:   aws.Time(s.started),
		State:       s.state,
		StorageTier: types.StorageTierStandard,
		Tags:        s.tags.sdk(),
		VolumeId:    aws.String(s.volumeID),
		VolumeSize:  aws.Int32(s.size),
	}
}

// CreateSnapshots takes one crash-consistent snapshot of each EBS volume
// attached to an instance.
func (c *EC2) CreateSnapshots(ctx context.Context, in *ec2.CreateSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.CreateSnapshotsOutput, error) {
	return call(ctx, c.w, svcEC2, "CreateSnapshots", in, c.w.createSnapshots)
}

func (w *World) createSnapshots(in *ec2.CreateSnapshotsInput) (*ec2.CreateSnapshotsOutput, error) {
	spec := in.InstanceSpecification
	if spec == nil {
		return nil, errMissing("InstanceSpecification")
	}
	inst, err := w.lookupInstance(spec.InstanceId)
	if err != nil {
		return nil, err
	}
	if inst.state == types.InstanceStateNameTerminated {
		return nil, apiError("IncorrectState", "The instance '%s' is not in a valid state for this operation.", inst.id)
	}
	if in.CopyTagsFromSource != "" && in.CopyTagsFromSource != types.CopyTagsFromSourceVolume {
		return nil, apiError("InvalidParameterValue", "Value (%s) for parameter CopyTagsFromSource is invalid.", in.CopyTagsFromSource)
	}
	requested, err := tagSpecTags(in.TagSpecifications, types.ResourceTypeSnapshot)
	if err != nil {
		return nil, err
	}
	for _, id := range spec.ExcludeDataVolumeIds {
		if !slices.Contains(inst.volumes, id) {
			return nil, apiError("InvalidParameterValue", "The volume '%s' is not attached to instance '%s'.", id, inst.id)
		}
	}
	now := w.nowLocked()
	var vols []*volume
	for _, id := range inst.volumes {
		v := w.volumes.m[id]
		boot := inst.rootDeviceType == types.DeviceTypeEbs && v.device == inst.rootDevice
		if boot && aws.ToBool(spec.ExcludeBootVolume) || slices.Contains(spec.ExcludeDataVolumeIds, id) {
			continue
		}
		// One request per volume per window, and the whole call fails.
		if w.snapshotRateLimit > 0 && !v.lastSnapshot.IsZero() && now.Sub(v.lastSnapshot) < w.snapshotRateLimit {
			return nil, apiError("SnapshotCreationPerVolumeRateExceeded",
				"The maximum per volume CreateSnapshot request rate has been exceeded. Use an increasing or variable sleep interval between requests.")
		}
		vols = append(vols, v)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	out := &ec2.CreateSnapshotsOutput{Snapshots: []types.SnapshotInfo{}}
	for _, v := range vols {
		t := tags{}
		if in.CopyTagsFromSource == types.CopyTagsFromSourceVolume {
			for k, val := range v.tags {
				if !isAWSKey(k) {
					t[k] = val
				}
			}
		}
		for k, val := range requested {
			t[k] = val
		}
		s := &snapshot{
			id: w.newID("snap"), volumeID: v.id, description: aws.ToString(in.Description), size: v.size,
			encrypted: v.encrypted, started: now, state: types.SnapshotStatePending, progress: "", tags: t,
		}
		w.snapshots.put(s.id, s)
		v.lastSnapshot = now
		out.Snapshots = append(out.Snapshots, types.SnapshotInfo{
			Description: aws.String(s.description),
			Encrypted:   aws.Bool(s.encrypted),
			OwnerId:     aws.String(w.account),
			Progress:    aws.String(s.progress),
			SnapshotId:  aws.String(s.id),
			StartTime:   aws.Time(s.started),
			State:       s.state,
			Tags:        s.tags.sdk(),
			VolumeId:    aws.String(s.volumeID),
			VolumeSize:  aws.Int32(s.size),
		})
	}
	return out, nil
}

// DescribeSnapshots lists this account's snapshots by id, owner and filters.
func (c *EC2) DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeSnapshots", in, c.w.describeSnapshots)
}

func (w *World) describeSnapshots(in *ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
	if err := checkFilters(in.Filters, "snapshot-id", "volume-id", "status", "owner-id", "description", "progress", "volume-size", "encrypted"); err != nil {
		return nil, err
	}
	for _, id := range in.SnapshotIds {
		if !wellFormed("snap", id) {
			return nil, apiError("InvalidSnapshotID.Malformed", "Invalid id: %q (expecting \"snap-...\")", id)
		}
		if !w.snapshots.has(id) {
			return nil, errSnapshotNotFound(id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	// Every snapshot in this world is the caller's own; other owners have none.
	mine := len(in.OwnerIds) == 0 || slices.ContainsFunc(in.OwnerIds, func(o string) bool { return o == "self" || o == w.account })
	var found []types.Snapshot
	for _, s := range w.snapshots.all() {
		if !mine || len(in.SnapshotIds) > 0 && !slices.Contains(in.SnapshotIds, s.id) {
			continue
		}
		field := func(name string) []string {
			switch name {
			case "snapshot-id":
				return []string{s.id}
			case "volume-id":
				return []string{s.volumeID}
			case "status":
				return []string{string(s.state)}
			case "owner-id":
				return []string{w.account}
			case "description":
				return []string{s.description}
			case "progress":
				return []string{s.progress}
			case "encrypted":
				return boolValue(s.encrypted)
			}
			return nil
		}
		if matchFilters(in.Filters, s.tags, field) {
			found = append(found, w.renderSnapshot(s))
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.SnapshotIds) > 0, "snapshotIds")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSnapshotsOutput{Snapshots: out, NextToken: next}, nil
}
