package awsfake_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

// lockWorld is the demo world with the victim's snapshot set taken (pending).
func lockWorld(t *testing.T) (*awsfake.World, *awsfake.EC2, []string) {
	t.Helper()
	w, d, c := demo(t)
	out, err := c.EC2.CreateSnapshots(context.Background(), snapshotInput(d.Victim))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.Snapshots {
		ids = append(ids, aws.ToString(s.SnapshotId))
	}
	return w, c.EC2.(*awsfake.EC2), ids
}

func governance(id string, days int32) *ec2.LockSnapshotInput {
	return &ec2.LockSnapshotInput{SnapshotId: aws.String(id), LockMode: types.LockModeGovernance, LockDuration: aws.Int32(days)}
}

func compliance(id string, days, coolOff int32) *ec2.LockSnapshotInput {
	in := &ec2.LockSnapshotInput{SnapshotId: aws.String(id), LockMode: types.LockModeCompliance, LockDuration: aws.Int32(days)}
	if coolOff > 0 {
		in.CoolOffPeriod = aws.Int32(coolOff)
	}
	return in
}

func TestLockSnapshotPendingStartsAtCompletion(t *testing.T) {
	w, c, ids := lockWorld(t)
	ctx := context.Background()
	out, err := c.LockSnapshot(ctx, governance(ids[0], 90))
	if err != nil {
		t.Fatal(err)
	}
	if out.LockState != types.LockStateGovernance || out.LockExpiresOn != nil || out.LockDurationStartTime != nil || aws.ToInt32(out.LockDuration) != 90 {
		t.Errorf("pending lock = %+v: governance, 90 days, no expiry until the snapshot completes", out)
	}
	w.Advance(2 * time.Hour)
	w.CompleteSnapshots()
	info, ok := w.SnapshotLock(ids[0])
	done := awsfake.Epoch.Add(2 * time.Hour)
	if !ok || !aws.ToTime(info.LockDurationStartTime).Equal(done) || !aws.ToTime(info.LockExpiresOn).Equal(done.AddDate(0, 0, 90)) {
		t.Errorf("after completion: %+v, want start %s and expiry 90 days later", info, done)
	}
	w.Advance(91 * 24 * time.Hour)
	if info, _ := w.SnapshotLock(ids[0]); info.LockState != types.LockStateExpired {
		t.Errorf("after 91 days: %s, want expired", info.LockState)
	}
}

func TestLockSnapshotCompletedExpiresFromNow(t *testing.T) {
	w, c, ids := lockWorld(t)
	w.CompleteSnapshots()
	w.Advance(time.Hour)
	out, err := c.LockSnapshot(context.Background(), governance(ids[1], 7))
	now := awsfake.Epoch.Add(time.Hour)
	if err != nil || !aws.ToTime(out.LockExpiresOn).Equal(now.AddDate(0, 0, 7)) {
		t.Errorf("lock of a completed snapshot: %v %+v, want expiry %s", err, out, now.AddDate(0, 0, 7))
	}
}

func TestLockSnapshotComplianceCoolOff(t *testing.T) {
	w, c, ids := lockWorld(t)
	ctx := context.Background()
	out, err := c.LockSnapshot(ctx, compliance(ids[0], 30, 24))
	if err != nil || out.LockState != types.LockStateComplianceCooloff ||
		!aws.ToTime(out.CoolOffPeriodExpiresOn).Equal(awsfake.Epoch.Add(24*time.Hour)) {
		t.Fatalf("compliance lock = %v %+v", err, out)
	}
	// During the cooling-off period, the lock can still be shortened or turned into governance.
	if _, err := c.LockSnapshot(ctx, governance(ids[0], 1)); err != nil {
		t.Fatalf("changing the lock during the cooling-off period: %v", err)
	}
	if _, err := c.LockSnapshot(ctx, compliance(ids[0], 30, 1)); err != nil {
		t.Fatal(err)
	}
	w.Advance(2 * time.Hour)
	if info, _ := w.SnapshotLock(ids[0]); info.LockState != types.LockStateCompliance {
		t.Fatalf("after the cooling-off period: %s, want compliance", info.LockState)
	}
	// In order: each accepted change is the lock the next one meets.
	for _, tc := range []struct {
		name string
		in   *ec2.LockSnapshotInput
		code string
	}{
		{"governance", governance(ids[0], 30), "IncorrectState"},
		{"shorter", compliance(ids[0], 29, 0), "IncorrectState"},
		{"a cooling-off", compliance(ids[0], 60, 12), "InvalidParameterCombination"},
		{"same length", compliance(ids[0], 30, 0), ""},
		{"longer: allowed", compliance(ids[0], 60, 0), ""},
		{"back to the first length", compliance(ids[0], 30, 0), "IncorrectState"},
	} {
		_, err := c.LockSnapshot(ctx, tc.in)
		if got := code(t, err); got != tc.code {
			t.Errorf("compliance past the cooling-off, %s: %q (%v), want %q", tc.name, got, err, tc.code)
		}
	}
	if info, _ := w.SnapshotLock(ids[0]); aws.ToInt32(info.LockDuration) != 60 || info.LockState != types.LockStateCompliance {
		t.Errorf("final lock %+v: compliance, 60 days", info)
	}
	// Compliance without a cooling-off period is final at once.
	out, err = c.LockSnapshot(ctx, compliance(ids[1], 30, 0))
	if err != nil || out.LockState != types.LockStateCompliance {
		t.Errorf("compliance without cooling-off: %v %+v", err, out)
	}
}

func TestLockSnapshotRefusals(t *testing.T) {
	w, c, ids := lockWorld(t)
	ctx := context.Background()
	w.FailSnapshot(ids[1])
	expires := awsfake.Epoch.Add(12 * time.Hour)
	tests := map[string]struct {
		in   *ec2.LockSnapshotInput
		code string
	}{
		"no snapshot id":            {&ec2.LockSnapshotInput{LockMode: types.LockModeGovernance, LockDuration: aws.Int32(1)}, "MissingParameter"},
		"malformed id":              {governance("vol-1", 1), "InvalidSnapshotID.Malformed"},
		"unknown snapshot":          {governance("snap-0000000000000dead", 1), "InvalidSnapshot.NotFound"},
		"no mode":                   {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockDuration: aws.Int32(1)}, "MissingParameter"},
		"unknown mode":              {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockMode: "legal-hold", LockDuration: aws.Int32(1)}, "InvalidParameterValue"},
		"neither duration nor date": {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockMode: types.LockModeGovernance}, "InvalidParameterCombination"},
		"both duration and date":    {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockMode: types.LockModeGovernance, LockDuration: aws.Int32(1), ExpirationDate: aws.Time(expires.AddDate(0, 0, 2))}, "InvalidParameterCombination"},
		"duration of 0 days":        {governance(ids[0], 0), "InvalidParameterValue"},
		"duration of 36501 days":    {governance(ids[0], 36501), "InvalidParameterValue"},
		"date under a day away":     {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockMode: types.LockModeGovernance, ExpirationDate: aws.Time(expires)}, "InvalidParameterValue"},
		"cooling-off of 73 hours":   {compliance(ids[0], 1, 73), "InvalidParameterValue"},
		"snapshot in error":         {governance(ids[1], 1), "IncorrectState"},
		"dry run":                   {&ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]), LockMode: types.LockModeGovernance, LockDuration: aws.Int32(1), DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for name, tc := range tests {
		_, err := c.LockSnapshot(ctx, tc.in)
		if got := code(t, err); got != tc.code {
			t.Errorf("%s: %q (%v), want %q", name, got, err, tc.code)
		}
	}
	if _, locked := w.SnapshotLock(ids[0]); locked {
		t.Error("a refused or dry-run LockSnapshot locked the snapshot")
	}
	w.Deny("LockSnapshot")
	_, err := c.LockSnapshot(ctx, governance(ids[0], 1))
	wantCode(t, err, "UnauthorizedOperation")
}

func TestLockCancelledWhenThePendingSnapshotFails(t *testing.T) {
	w, c, ids := lockWorld(t)
	if _, err := c.LockSnapshot(context.Background(), governance(ids[0], 30)); err != nil {
		t.Fatal(err)
	}
	w.FailSnapshot(ids[0])
	if _, locked := w.SnapshotLock(ids[0]); locked {
		t.Error("the lock of a failed snapshot is still there")
	}
}

func TestDescribeLockedSnapshots(t *testing.T) {
	_, c, ids := lockWorld(t)
	ctx := context.Background()
	if _, err := c.LockSnapshot(ctx, compliance(ids[0], 30, 24)); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{SnapshotIds: ids})
	if err != nil || len(out.Snapshots) != 1 || aws.ToString(out.Snapshots[0].SnapshotId) != ids[0] ||
		out.Snapshots[0].LockState != types.LockStateComplianceCooloff || aws.ToString(out.Snapshots[0].OwnerId) != account {
		t.Fatalf("locked snapshots = %v %+v: only %s, in its cooling-off", err, out, ids[0])
	}
	filtered, err := c.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{Filters: []types.Filter{{Name: aws.String("lock-state"), Values: []string{"governance"}}}})
	if err != nil || len(filtered.Snapshots) != 0 {
		t.Errorf("governance locks: %v %+v, want none", err, filtered)
	}
	_, err = c.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{SnapshotIds: []string{"snap-0000000000000dead"}})
	wantCode(t, err, "InvalidSnapshot.NotFound")
	_, err = c.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
}
