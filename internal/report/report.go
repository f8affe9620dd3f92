// Package report defines the document Firebreak returns and publishes for every
// event it handles. Field names and enum values are a contract: other tools parse them.
package report

import "time"

// Decision is what Firebreak decided to do with an event.
type Decision string

const (
	Contain Decision = "contain"
	Notify  Decision = "notify"
	Ignore  Decision = "ignore"
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

// StepNames lists the seven steps in runbook order.
var StepNames = []string{StepCapture, StepProtect, StepIsolate, StepDetach, StepDeregister, StepSnapshot, StepTag}

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
	// Snapshots are the evidence snapshots of the instance and their locks.
	Snapshots []Snapshot `json:"snapshots,omitempty"`
	// SecurityHub is what was written back to the finding in Security Hub.
	SecurityHub *SecurityHub `json:"securityHub,omitempty"`
	Steps       []Step       `json:"steps"`
	StartedAt   time.Time    `json:"startedAt"`
	FinishedAt  time.Time    `json:"finishedAt"`
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
