package report

import "time"

// Snapshot is one EBS snapshot of the evidence set and its snapshot lock.
type Snapshot struct {
	ID       string `json:"id"`
	VolumeID string `json:"volumeId,omitempty"`
	// LockState is EC2's: governance, compliance-cooloff, compliance or
	// expired; empty when the snapshot is not locked.
	LockState string `json:"lockState,omitempty"`
	// LockMode is the mode asked for or found: governance or compliance.
	LockMode     string `json:"lockMode,omitempty"`
	LockDuration int32  `json:"lockDurationDays,omitempty"`
	// LockExpiresOn is absent while the snapshot is pending: a lock taken
	// then runs its duration from the snapshot's completion.
	LockExpiresOn    *time.Time `json:"lockExpiresOn,omitempty"`
	CoolOffExpiresOn *time.Time `json:"coolOffExpiresOn,omitempty"`
	// Locked says Firebreak locked it in this run (not an existing lock kept).
	Locked bool `json:"lockedNow,omitempty"`
	// Error is the AWS error code when the lock failed.
	Error string `json:"error,omitempty"`
}

// SecurityHub is the write-back of Firebreak's outcome to the finding.
type SecurityHub struct {
	// Status: done (written), skipped (already written), pending (a later
	// event for the finding writes it), not-applicable, planned (dry run),
	// failed.
	Status  Status              `json:"status"`
	Detail  string              `json:"detail"`
	Updates []SecurityHubUpdate `json:"updates,omitempty"`
}

// SecurityHubUpdate is one finding's update through one API.
type SecurityHubUpdate struct {
	// API is BatchUpdateFindings (Security Hub CSPM, ASFF) or
	// BatchUpdateFindingsV2 (Security Hub, OCSF).
	API string `json:"api"`
	// FindingID is the ASFF Id or the OCSF finding_info.uid.
	FindingID string `json:"findingId"`
	// Product is the ASFF ProductArn or the OCSF metadata.product.uid.
	Product string `json:"product"`
	// Outcome: written, already-written, not-enabled, not-imported,
	// throttled or failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}
