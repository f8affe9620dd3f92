// Package contract holds the names that the CDK stack (infra/stack) and the
// functions share: environment variables, tag keys and their values. They are
// written once, here, so that a rename cannot leave the stack setting one name
// and a function reading another. Tests tie the two sides together.
package contract

// Environment variables of the functions, set by the stack.
const (
	EnvTopicARN           = "FIREBREAK_TOPIC_ARN"
	EnvEvidenceBucket     = "FIREBREAK_EVIDENCE_BUCKET"
	EnvDryRun             = "FIREBREAK_DRY_RUN"
	EnvContainMinSeverity = "FIREBREAK_CONTAIN_MIN_SEVERITY"
	EnvNotifyMinSeverity  = "FIREBREAK_NOTIFY_MIN_SEVERITY"
	EnvIsolation          = "FIREBREAK_ISOLATION"
	EnvAccountID          = "FIREBREAK_ACCOUNT_ID"
	// EBS snapshot lock of the evidence snapshots (issue 11).
	EnvSnapshotLockMode         = "FIREBREAK_SNAPSHOT_LOCK_MODE"
	EnvSnapshotLockDays         = "FIREBREAK_SNAPSHOT_LOCK_DAYS"
	EnvSnapshotLockCoolOffHours = "FIREBREAK_SNAPSHOT_LOCK_COOL_OFF_HOURS"
	// EnvSecurityHubWriteBack chooses the Security Hub write-back (SecurityHub* values).
	EnvSecurityHubWriteBack = "FIREBREAK_SECURITY_HUB_WRITE_BACK"
)

// Snapshot lock modes (EnvSnapshotLockMode): EC2's LockMode values, or none.
const (
	SnapshotLockGovernance = "governance"
	SnapshotLockCompliance = "compliance"
	SnapshotLockNone       = "none"
)

// Security Hub write-back (EnvSecurityHubWriteBack): auto writes to Security Hub CSPM
// (BatchUpdateFindings) and Security Hub (BatchUpdateFindingsV2), each where
// it is enabled; cspm and v2 write to one; off writes nothing.
const (
	SecurityHubAuto = "auto"
	SecurityHubCSPM = "cspm"
	SecurityHubV2   = "v2"
	SecurityHubOff  = "off"
)

// Isolation modes (EnvIsolation).
const (
	IsolationSG     = "sg"
	IsolationSGNACL = "sg+nacl"
)

// Tags Firebreak reads and writes. TagExempt is set by instance owners and
// honoured by the functions and by the IAM policies alike.
const (
	TagExempt      = "firebreak:exempt"
	TagStatus      = "firebreak:status"
	TagFindingID   = "firebreak:finding-id"
	TagCaseID      = "firebreak:case-id"
	TagContainedAt = "firebreak:contained-at"
	TagReason      = "firebreak:reason"
	// TagReport is "unpublished" while a containment's report failed to
	// reach SNS, so the next event for the instance publishes, not stays quiet.
	TagReport = "firebreak:report"
	// TagSecurityHub records the Security Hub updates already written for the
	// instance, so a re-delivery does not call Security Hub again.
	TagSecurityHub = "firebreak:securityhub"
	// TagSnapshotLock is LockPending while some evidence snapshots could not
	// be locked (throttling): the next event for the instance locks them.
	TagSnapshotLock = "firebreak:snapshot-lock"

	// On snapshots: which instance they were taken of, and when.
	TagInstanceID = "firebreak:instance-id"
	TagTakenAt    = "firebreak:taken-at"

	// On the security groups Firebreak creates.
	TagManaged = "firebreak:managed"
	TagRole    = "firebreak:role"

	// TagPrefix is what every Firebreak tag key starts with; IAM lets the
	// functions write no other key.
	TagPrefix = "firebreak:"
)

// Values of TagStatus.
const (
	StatusContained       = "contained"
	StatusIsolationFailed = "isolation-failed"
	// StatusPartial: isolated, but a step failed transiently; the next event
	// (or Lambda's retry) finishes the work.
	StatusPartial = "partial"
	// StatusReleased: a person released the instance; re-publications of the
	// findings it was released from do not contain it again.
	StatusReleased = "released"
)

// Values of TagSnapshotLock.
const (
	LockPending = "pending"
	LockDone    = "locked"
)

// CloudWatch metrics the functions emit (Embedded Metric Format) and the
// stack's dashboard and alarms read.
const (
	MetricNamespace = "Firebreak"

	MetricContained       = "Contained"
	MetricNotified        = "Notified"
	MetricIgnored         = "Ignored"
	MetricReleased        = "Released"
	MetricHeldByGuard     = "HeldByGuard"
	MetricIsolationFailed = "IsolationFailed"
	MetricStepFailed      = "StepFailed"
	MetricTimeToIsolation = "TimeToIsolationMs"
	MetricFindingAge      = "FindingAgeSeconds"
	MetricAWSCalls        = "AwsCalls"
	MetricDrift           = "DriftRepaired"
)

// Values of TagRole, and the names of the groups they mark (one pair per VPC).
const (
	RoleIsolation  = "isolation"
	RoleAllTraffic = "all-traffic"

	IsolationGroupName  = "firebreak-isolation"
	AllTrafficGroupName = "firebreak-all-traffic"
)
