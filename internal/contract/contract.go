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

	// The accounts besides its own a function acts in (none: single-account).
	EnvMemberAccounts = "FIREBREAK_MEMBER_ACCOUNTS" // comma-separated account ids
	EnvOrganization   = "FIREBREAK_ORGANIZATION"    // true: any account of the organization
	EnvMemberRole     = "FIREBREAK_MEMBER_ROLE"     // the member role's name

	// The blast-radius guard: its DynamoDB table (in the function's own
	// account and Region), and at most that many automatic containments per
	// account and Region in any window of that many minutes.
	EnvGuardTable              = "FIREBREAK_GUARD_TABLE"
	EnvMaxAutomaticContainment = "FIREBREAK_MAX_AUTOMATIC_CONTAINMENTS"
	EnvGuardWindowMinutes      = "FIREBREAK_GUARD_WINDOW_MINUTES"

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

// DefaultMemberRole names the role the member stack creates in each member
// account and the functions assume there.
const DefaultMemberRole = "FirebreakMember"

// The guard table's key attributes and its TTL attribute. Every item's
// partition key starts with its kind (see internal/guard), so new kinds of
// item share the table without colliding.
const (
	GuardPartitionKey = "pk"
	GuardSortKey      = "sk"
	GuardTTLAttribute = "expiresAt"
)

// Defaults of the guard (cdk.json maxAutomaticContainments and
// guardWindowMinutes), and the bounds both sides enforce.
const (
	DefaultMaxAutomaticContainments = 10
	DefaultGuardWindowMinutes       = 60
	MaxAutomaticContainmentsLimit   = 1000
	GuardWindowMinutesLimit         = 10080 // one week
)

// AsyncRetryAttempts is how often Lambda retries a failed asynchronous
// invocation (the stack's event invoke config): the handler publishes a
// containment that stays partial only on the last attempt.
const AsyncRetryAttempts = 2

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

	// The pre-change record of the containment: its SHA-256 (hex) and its S3
	// VersionId, written once capture.json is stored. Release loads exactly
	// that version and checks it against the digest.
	TagEvidenceSHA256  = "firebreak:evidence-sha256"
	TagEvidenceVersion = "firebreak:evidence-version"

	// Written by the release function: when, why and by whom (as far as it
	// is known) the instance was released, and the finding ids it was
	// released from (space-separated, most recent last, within AWS's 256
	// characters), whose re-publications the contain function ignores.
	TagReleasedAt       = "firebreak:released-at"
	TagReleasedReason   = "firebreak:released-reason"
	TagReleasedBy       = "firebreak:released-by"
	TagReleasedFindings = "firebreak:released-findings"

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

// What an instance-credential exfiltration finding leads to (cdk.json
// credentialFindings, the function's EnvCredentialFindings).
const (
	CredentialFindingsContain = "contain"
	CredentialFindingsOnly    = "credentials-only"
	CredentialFindingsNotify  = "notify"
	EnvCredentialFindings     = "FIREBREAK_CREDENTIAL_FINDINGS"
)

// The deny policies the credentials step keeps on an instance's role: customer
// managed policies under DenyPolicyPath named DenyPolicyPrefix<role>-<n>,
// tagged TagManaged=true. The stack grants policy changes on these names only.
const (
	DenyPolicyPath   = "/firebreak/"
	DenyPolicyPrefix = "firebreak-deny-"
	// RoleLockKind starts the ledger keys of the role locks that serialise
	// writes of those policies; the release role may touch no other item.
	RoleLockKind = "rolepolicy"
)

// Values of TagStatus.
const (
	StatusContained       = "contained"
	StatusIsolationFailed = "isolation-failed"
	// StatusPartial: isolated, but a step failed transiently; the next event
	// (or Lambda's retry) finishes the work.
	StatusPartial = "partial"
	// StatusCredentialsContained: only the instance's credentials were
	// contained (credentialFindings=credentials-only); its network is as it was.
	StatusCredentialsContained = "credentials-contained"
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
	// MetricVerified counts the contained instances a scheduled sweep verified.
	MetricVerified = "InstancesVerified"
	// MetricMemberRoleMissing counts findings in a member account whose
	// member role could not be assumed (report field memberRoleMissing).
	MetricMemberRoleMissing = "MemberRoleMissing"
	// MetricCredentialBudgetFull counts instances whose role could take no
	// further deny policy: their sessions are not denied.
	MetricCredentialBudgetFull = "CredentialBudgetFull"
)

// The Security Hub custom action a person uses to release an instance: the
// stack creates it (when enabled), the release function accepts only it.
// Security Hub limits the id to 20 alphanumerics and the name to 20 characters.
const (
	ReleaseActionID   = "FirebreakRelease"
	ReleaseActionName = "Release: Firebreak"
)

// Values of TagRole, and the names of the groups they mark (one pair per VPC).
const (
	RoleIsolation  = "isolation"
	RoleAllTraffic = "all-traffic"

	IsolationGroupName  = "firebreak-isolation"
	AllTrafficGroupName = "firebreak-all-traffic"
)

// More outcomes: a dry run that would have contained, and a re-delivery for an
// instance already contained (counted apart so they do not inflate Contained).
const (
	MetricWouldContain     = "WouldContain"
	MetricAlreadyContained = "AlreadyContained"
)

// Dimensions of the metrics. Their values are bounded: a finding type's
// top-level family, a step name, a report kind.
const (
	DimFindingFamily = "FindingFamily"
	DimStep          = "Step"
	DimKind          = "Kind"
)

// The stack and the outputs a person (and a report's commands) looks the
// functions up by.
const (
	StackName = "Firebreak"
	// OutputContainFunction names the contain function.
	OutputContainFunction = "FunctionName"
	// OutputReleaseFunction names the release function (issue 9).
	OutputReleaseFunction = "ReleaseFunctionName"
)

// The scheduled sweep: the schedule sends {"sweep": true} to the contain
// function every verifyEverySeconds (cdk.json; 0 turns it off).
const (
	SweepRequestKey           = "sweep"
	DefaultVerifyEverySeconds = 3600
)
