package stack_test

import (
	"fmt"
	"slices"
	"testing"
)

// grants lists the Allow statements of the function's role that grant action.
func grants(t *testing.T, overrides map[string]any, action string) []statement {
	t.Helper()
	var out []statement
	for _, st := range statements(synth(t, overrides)) {
		if st.policy.owner == "ContainRoleDefaultPolicy" && st.effect == "Allow" && slices.Contains(st.actions, action) {
			out = append(out, st)
		}
	}
	return out
}

func TestSnapshotLockIsGrantedOnlyOnFirebreakSnapshotsForTheConfiguredDuration(t *testing.T) {
	for name, tt := range map[string]struct {
		overrides map[string]any
		duration  string
		coolOff   string
	}{
		"defaults":                {nil, "90", ""},
		"compliance, cooling-off": {extended, "365", "48"},
	} {
		sts := grants(t, tt.overrides, "ec2:LockSnapshot")
		if len(sts) != 1 {
			t.Fatalf("%s: %d statements grant LockSnapshot, want 1", name, len(sts))
		}
		st := sts[0]
		if !slices.Equal(st.resources, []string{"arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"}) {
			t.Errorf("%s: LockSnapshot on %v, want snapshots only", name, st.resources)
		}
		if st.conditions["Null"]["aws:ResourceTag/firebreak:case-id"] != "false" {
			t.Errorf("%s: LockSnapshot not limited to snapshots Firebreak tagged: %v", name, st.conditions)
		}
		if got := fmt.Sprint(st.conditions["NumericEquals"]["ec2:SnapshotLockDuration"]); got != tt.duration {
			t.Errorf("%s: lock duration condition %s, want %s: the role must not be able to shorten a lock", name, got, tt.duration)
		}
		if got := st.conditions["NumericEquals"]["ec2:CoolOffPeriod"]; tt.coolOff != "" && fmt.Sprint(got) != tt.coolOff || tt.coolOff == "" && got != nil {
			t.Errorf("%s: cooling-off condition %v, want %q", name, got, tt.coolOff)
		}
	}
	if sts := grants(t, map[string]any{"snapshotLockMode": "none", "securityHubWriteBack": "off"}, "ec2:LockSnapshot"); len(sts) != 0 {
		t.Errorf("snapshotLockMode none still grants LockSnapshot: %v", sts)
	}
}

func TestSecurityHubWriteBackIsGrantedPerModeAndNeverResolves(t *testing.T) {
	hub := "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"
	hubV2 := "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hubv2/*"
	for name, tt := range map[string]struct {
		overrides map[string]any
		want      []string
	}{
		"auto": {nil, []string{hub, hubV2}},
		"cspm": {extended, []string{hub}},
		"v2":   {map[string]any{"securityHubWriteBack": "v2"}, []string{hubV2}},
		"off":  {map[string]any{"snapshotLockMode": "none", "securityHubWriteBack": "off"}, nil},
	} {
		sts := grants(t, tt.overrides, "securityhub:BatchUpdateFindings")
		var got []string
		for _, st := range sts {
			got = append(got, st.resources...)
			status := st.conditions["StringEqualsIfExists"]
			if status["securityhub:ASFFSyntaxPath/Workflow.Status"] != "NOTIFIED" || status["securityhub:OCSFSyntaxPath/StatusId"] != "2" {
				t.Errorf("%s: BatchUpdateFindings may set any status: %v", name, st.conditions)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: BatchUpdateFindings on %v, want %v", name, got, tt.want)
		}
	}
}
