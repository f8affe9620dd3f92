package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// lockActions lock evidence snapshots; like every EC2 write they are denied
// on resources tagged firebreak:exempt=true.
var lockActions = []string{"ec2:LockSnapshot"}

// asffPath and ocsfPath are Security Hub's condition keys on the fields of a
// BatchUpdateFindings (ASFF) or BatchUpdateFindingsV2 (OCSF) request. Only
// the status is conditioned: a condition per field Firebreak never writes
// (severity, verification) would not fit the 10,240 characters of the
// role's inline policy.
func asffPath(field string) string { return "securityhub:ASFFSyntaxPath/" + field }
func ocsfPath(field string) string { return "securityhub:OCSFSyntaxPath/" + field }

// hubArns are the hubs the write-back updates findings in: Security Hub
// CSPM's hub/default and Security Hub's hubv2 (whose id AWS chooses).
func hubArns(cfg Config) []string {
	var hubs []string
	if cfg.SecurityHubWriteBack == contract.SecurityHubAuto || cfg.SecurityHubWriteBack == contract.SecurityHubCSPM {
		hubs = append(hubs, arn("securityhub", "hub/default"))
	}
	if writesV2(cfg) {
		hubs = append(hubs, arn("securityhub", "hubv2/*"))
	}
	return hubs
}

func writesV2(cfg Config) bool {
	return cfg.SecurityHubWriteBack == contract.SecurityHubAuto || cfg.SecurityHubWriteBack == contract.SecurityHubV2
}

// lockStatements grant the snapshot lock, in the account whose snapshots
// they are (the contain role's own, or a member's through the member role).
func lockStatements(cfg Config, snapshots string) []awsiam.PolicyStatement {
	var s []awsiam.PolicyStatement
	if cfg.SnapshotLockMode != contract.SnapshotLockNone {
		// Only snapshots Firebreak took (they carry its case tag), only for the
		// configured duration: the role cannot shorten a lock by re-locking.
		lock := map[string]any{"ec2:SnapshotLockDuration": cfg.EvidenceRetentionDays}
		if h := cfg.coolOffHours(); h > 0 {
			lock["ec2:CoolOffPeriod"] = h
		}
		s = append(s, allow("LockEvidenceSnapshots", lockActions, []string{snapshots}, map[string]any{
			"Null":            map[string]any{"aws:ResourceTag/" + contract.TagCaseID: "false"},
			"StringNotEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"},
			"NumericEquals":   lock,
		}))
	}
	return s
}

// writeBackStatements grant the Security Hub write-back, from the security
// account: its Security Hub is the administrator of every member's findings.
func writeBackStatements(cfg Config) []awsiam.PolicyStatement {
	var s []awsiam.PolicyStatement
	hubs := hubArns(cfg)
	if len(hubs) == 0 {
		return s
	}
	// The write-back sets a note, Firebreak's fields and NOTIFIED (OCSF: In
	// Progress, 2), and no other status: only a person resolves or
	// suppresses a finding.
	return append(s, allow("WriteBackToFindings", []string{"securityhub:BatchUpdateFindings"}, hubs, map[string]any{
		"StringEqualsIfExists": map[string]any{asffPath("Workflow.Status"): "NOTIFIED", ocsfPath("StatusId"): "2"},
	}))
}
