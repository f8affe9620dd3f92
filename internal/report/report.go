// Package report defines the document Firebreak returns and publishes for every
// event it handles. Field names and enum values are a contract: other tools parse them.
package report

import (
	"encoding/json"
	"time"
)

// Decision is what Firebreak decided to do with an event.
type Decision string

const (
	Contain Decision = "contain"
	Notify  Decision = "notify"
	Ignore  Decision = "ignore"
	// Release: the release function acted (or, in a dry run, planned). A
	// refused release is Notify: nothing changed, the reason says why.
	Release Decision = "release"
)

// Status is the outcome of one runbook step.
type Status string

const (
	Done          Status = "done"
	Skipped       Status = "skipped"
	NotApplicable Status = "not-applicable"
	Planned       Status = "planned"
	Failed        Status = "failed"
	// Pending is work that could not be done yet and that a later event for
	// the same finding does (the Security Hub write-back of a finding not
	// yet imported, or throttled).
	Pending Status = "pending"
)

// Step names, in the order the runbook reports them.
const (
	StepCapture    = "capture"
	StepProtect    = "protect"
	StepIsolate    = "isolate"
	StepDetach     = "detach"
	StepDeregister = "deregister"
	StepSnapshot   = "snapshot"
	StepTag        = "tag"
)

// StepNames lists the runbook's steps in order: the seven, then the
// instance's credentials.
var StepNames = []string{StepCapture, StepProtect, StepIsolate, StepDetach, StepDeregister, StepSnapshot, StepTag, StepCredentials}

// Exfiltration is what an instance-credential exfiltration finding said and
// what Firebreak left for a person to decide.
type Exfiltration struct {
	Role            string `json:"role"`
	CredentialsOnly bool   `json:"credentialsOnly,omitempty"`
	// Suggested is a command a person may run to revoke every session of the
	// role issued so far (every healthy instance of the role too, until it
	// fetches new credentials): never run by Firebreak.
	Suggested string `json:"suggestedCommand"`
}

// Credentials records the credentials step's changes: the release undoes
// exactly these.
type Credentials struct {
	Role          string `json:"role"`
	ProfileARN    string `json:"instanceProfileArn"`
	AssociationID string `json:"associationId,omitempty"`
	// InstanceARN is the ec2:SourceInstanceARN value the role's deny names.
	InstanceARN string `json:"instanceArn"`
	// PolicyPrefix names the role's deny policies (prefix plus a number).
	PolicyPrefix string `json:"denyPolicyPrefix,omitempty"`
	// DeniedAt is when IAM accepted the deny; IAM takes seconds to apply it everywhere.
	DeniedAt time.Time `json:"deniedAt,omitzero"`
	// Metadata options before the step (restored by a release).
	MetadataEndpoint string `json:"metadataHttpEndpoint,omitempty"`
	Disassociated    bool   `json:"disassociated,omitempty"`
	MetadataDisabled bool   `json:"metadataDisabled,omitempty"`
	// BudgetFull: the role could take no further deny policy, so this
	// instance's sessions are not denied (metric and alarm CredentialBudgetFull).
	BudgetFull bool `json:"budgetFull,omitempty"`
}

// Release step names, in the order the release function reports them.
const (
	StepEvidence        = "evidence"
	StepSecurityGroups  = "security-groups"
	StepIsolationGroups = "isolation-groups"
	StepNetworkACL      = "network-acl"
	StepAttributes      = "attributes"
	StepCredentials     = "credentials"
	StepAutoScaling     = "auto-scaling"
	StepLoadBalancers   = "load-balancers"
)

// Checks of a verification of a contained instance (the re-delivery of its
// finding, the scheduled sweep), each reported as a step.
const (
	CheckInterfaces     = "verify-interfaces"
	CheckIsolationGroup = "verify-isolation-group"
	CheckNetworkACL     = "verify-network-acl"
	CheckAutoScaling    = "verify-auto-scaling"
	CheckLoadBalancers  = "verify-load-balancers"
	CheckTermination    = "verify-termination-protection"
	CheckCredentials    = "verify-credentials"
)

// CheckNames lists the checks in report order.
var CheckNames = []string{CheckInterfaces, CheckIsolationGroup, CheckNetworkACL, CheckAutoScaling, CheckLoadBalancers,
	CheckTermination, CheckCredentials}

// ReleaseStepNames lists the release steps in order: the evidence is
// verified first, the release is recorded on the instance (StepTag), then
// the containment is undone.
var ReleaseStepNames = []string{StepEvidence, StepTag, StepSecurityGroups, StepIsolationGroups, StepNetworkACL,
	StepAttributes, StepCredentials, StepAutoScaling, StepLoadBalancers}

// Step is one runbook step's outcome.
type Step struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Error is the AWS error code (or a short cause) when Status is failed.
	Error string `json:"error,omitempty"`
	// Message is the full error text, for the human reading the report.
	Message string `json:"message,omitempty"`
	// Actions lists what was done, or in a dry run what would be done.
	Actions []string `json:"actions,omitempty"`
	// Drift is what a verification found changed since the containment
	// (the rule added, the group an interface was put back in).
	Drift []string `json:"drift,omitempty"`
}

// Finding is the part of the GuardDuty finding a reader of the report needs.
type Finding struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Severity     float64 `json:"severity"`
	AccountID    string  `json:"accountId"`
	Region       string  `json:"region"`
	ResourceRole string  `json:"resourceRole,omitempty"`
	Title        string  `json:"title,omitempty"`
	Count        int64   `json:"count,omitempty"`
	Sample       bool    `json:"sample,omitempty"`
	// UpdatedAt is when GuardDuty last updated the finding: how late the
	// event arrived is measured from it.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Evidence says where the pre-change record was written.
type Evidence struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
}

// NACLEntry records one deny entry Firebreak added, so that it can be removed.
type NACLEntry struct {
	NetworkACLID string `json:"networkAclId"`
	RuleNumber   int32  `json:"ruleNumber"`
	Egress       bool   `json:"egress"`
	CIDR         string `json:"cidr"`
	// Added is true when this containment created the entry; false when the
	// hard cut found it already there (an earlier attempt's, or an owner's
	// rule). Release removes only entries recorded as added.
	Added bool `json:"added,omitempty"`
}

// Requester is what is known of who asked for a release: never more than the
// event or the request really tells.
type Requester struct {
	// Via is how the request came: "lambda-invoke" or "securityhub-action".
	Via string `json:"via"`
	// Stated is the requestedBy a manual request gave: the requester's word,
	// not verified by AWS.
	Stated string `json:"stated,omitempty"`
	// Action is the Security Hub custom action's ARN, Account the account
	// the event came from.
	Action  string `json:"action,omitempty"`
	Account string `json:"account,omitempty"`
	// LambdaRequestID ties the invocation to the function's logs and, when
	// Lambda data events are logged, to CloudTrail's Invoke record.
	LambdaRequestID string `json:"lambdaRequestId,omitempty"`
	// Note says where the verified identity can be found.
	Note string `json:"note"`
}

// Kind says which function wrote a report, and so which steps it holds.
type Kind string

const (
	// KindContain is a containment (the seven steps, or a decision not to act).
	KindContain Kind = "contain"
	// KindRelease is a release: the containment undone from its evidence.
	KindRelease Kind = "release"
	// KindSweep is a scheduled verification of every contained instance.
	KindSweep Kind = "sweep"
)

// Report is the document returned by the handler and published to SNS.
type Report struct {
	Kind       Kind     `json:"kind"`
	Decision   Decision `json:"decision"`
	Reason     string   `json:"reason"`
	InstanceID string   `json:"instanceId,omitempty"`
	// Instances names every instance an attack sequence lists.
	Instances        []string    `json:"instances,omitempty"`
	DryRun           bool        `json:"dryRun"`
	AlreadyContained bool        `json:"alreadyContained,omitempty"`
	Source           string      `json:"source"` // guardduty, securityhub or manual
	CaseID           string      `json:"caseId,omitempty"`
	Finding          *Finding    `json:"finding,omitempty"`
	AccountID        string      `json:"accountId,omitempty"`
	Region           string      `json:"region,omitempty"`
	Evidence         *Evidence   `json:"evidence,omitempty"`
	NACLEntries      []NACLEntry `json:"networkAclEntries,omitempty"`
	// Credentials is what the credentials step changed, for the release.
	Credentials *Credentials `json:"credentials,omitempty"`
	// Exfiltration is set for a finding that an instance's credentials were
	// used elsewhere.
	Exfiltration *Exfiltration `json:"exfiltration,omitempty"`
	// Snapshots are the evidence snapshots of the instance and their locks.
	Snapshots []Snapshot `json:"snapshots,omitempty"`
	// SecurityHub is what was written back to the finding in Security Hub.
	SecurityHub *SecurityHub `json:"securityHub,omitempty"`
	Steps       []Step       `json:"steps"`
	StartedAt   time.Time    `json:"startedAt"`
	// IsolatedAt is when AWS answered the last final swap of an isolation.
	IsolatedAt time.Time `json:"isolatedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt"`

	// MemberRoleMissing is 1 when the instance's account is a member whose
	// member role could not be assumed: nothing was done (metric
	// MemberRoleMissing, and its alarm).
	MemberRoleMissing int `json:"memberRoleMissing,omitempty"`
	// Release reports: who asked, whether reattaching to the Auto Scaling
	// group and load balancers was asked for, and whether a release of a
	// released instance found nothing left to do.
	RequestedBy     *Requester `json:"requestedBy,omitempty"`
	Reattach        bool       `json:"reattach,omitempty"`
	AlreadyReleased bool       `json:"alreadyReleased,omitempty"`
	// Drift lists what a verification of an already contained instance
	// found changed since the containment (see the verify-* steps).
	Drift []string `json:"drift,omitempty"`
	// Sweep sums up a scheduled sweep (its summary report only).
	Sweep *SweepSummary `json:"sweep,omitempty"`
	// Guard is the blast-radius guard's answer (containments only).
	Guard *Guard `json:"guard,omitempty"`
	// ManualRequest is the request that contains the instance by hand, ready
	// to send, when the guard held an automatic containment back.
	ManualRequest json.RawMessage `json:"manualRequest,omitempty"`
}

// SweepSummary is what one invocation of the scheduled sweep verified.
type SweepSummary struct {
	Accounts []string `json:"accounts"`
	Verified int      `json:"verified"`
	Drifted  int      `json:"drifted"`
	Failed   int      `json:"failed"`
	// Continues is set when the invocation stopped before its deadline with
	// instances left: the next sweep continues from the recorded cursor.
	Continues bool `json:"continues,omitempty"`
	// Errors are the listings or accounts that could not be swept.
	Errors []string `json:"errors,omitempty"`
}

// GuardHeld is the guard's outcome when it held an automatic containment
// back (the HeldByGuard metric counts these).
const GuardHeld = "held"

// Guard is what the blast-radius guard said. Outcome is one of taken,
// already-counted, returned (taken, then given back: the run changed
// nothing), held (over the cap: nothing changed), unavailable (the table
// could not answer: nothing changed, Lambda retries), not-needed (the run
// changed nothing, so no token was needed), counted (a person's request:
// recorded, never capped), would-take and would-hold (dry run).
type Guard struct {
	Outcome string `json:"outcome"`
	// Count is the automatic containments in the window when the guard
	// looked (this one included when taken); absent when unknown.
	Count         *int   `json:"count,omitempty"`
	Cap           int    `json:"cap"`
	WindowMinutes int    `json:"windowMinutes"`
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
}

// Step returns the named step, or nil.
func (r *Report) Step(name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// Failed lists the steps that failed.
func (r *Report) Failed() []Step {
	var out []Step
	for _, s := range r.Steps {
		if s.Status == Failed {
			out = append(out, s)
		}
	}
	return out
}
