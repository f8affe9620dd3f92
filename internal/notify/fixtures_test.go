package notify_test

import (
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/report"
)

const (
	instanceID = "i-0a1b2c3d4e5f60789"
	findingID  = "8cc7d0f5e3a1b2c4d6e8f0a1b2c3d4e5"
	account    = "111122223333"
	region     = "eu-west-1"
	bucket     = "firebreak-evidence-111122223333-eu-west-1"
	eniA       = "eni-0123456789abcdef0"
	eniB       = "eni-0fedcba9876543210"
)

var started = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func backdoorFinding() *report.Finding {
	return &report.Finding{
		ID: findingID, Type: "Backdoor:EC2/C&CActivity.B!DNS", Severity: 8, AccountID: account, Region: region,
		ResourceRole: "ACTOR", Title: "EC2 instance i-0a1b2c3d4e5f60789 is querying a domain name associated with a known command and control server.",
		Count: 3, UpdatedAt: started.Add(-95 * time.Second),
	}
}

func evidence() *report.Evidence {
	return &report.Evidence{
		Bucket: bucket,
		Key:    "evidence/" + instanceID + "/" + findingID + "/pre-change.json",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
}

// contained is a full, successful containment.
func contained() *report.Report {
	return &report.Report{Kind: report.KindContain,
		Decision:   report.Contain,
		Reason:     "Backdoor:EC2/C&CActivity.B!DNS names the instance as the actor (severity 8 >= 7)",
		InstanceID: instanceID,
		Source:     "guardduty",
		CaseID:     "fb-" + findingID[:12],
		Finding:    backdoorFinding(),
		AccountID:  account,
		Region:     region,
		Evidence:   evidence(),
		NACLEntries: []report.NACLEntry{
			{NetworkACLID: "acl-0b1c2d3e4f5a6b7c8", RuleNumber: 90, CIDR: "10.20.2.15/32"},
			{NetworkACLID: "acl-0b1c2d3e4f5a6b7c8", RuleNumber: 90, Egress: true, CIDR: "10.20.2.15/32"},
		},
		Steps: []report.Step{
			{Name: report.StepCapture, Status: report.Done, Detail: "pre-change state written to s3://" + bucket,
				Actions: []string{"describe " + instanceID, "describe " + eniA + ", " + eniB, "get console output"}},
			{Name: report.StepProtect, Status: report.Done, Detail: "termination and stop protection on, volumes kept on termination",
				Actions: []string{"DisableApiTermination=true", "DisableApiStop=true", "DeleteOnTermination=false on vol-0aa0bb0cc0dd0ee0f"}},
			{Name: report.StepIsolate, Status: report.Done, Detail: "2 interfaces moved to the isolation group, 2 network ACL entries added",
				Actions: []string{eniA + ": sg-0123abcd4567ef890 -> sg-0aa11bb22cc33dd44 (all traffic) -> sg-0ee55ff66aa77bb88 (isolation)", eniB + ": sg-0123abcd4567ef890 -> sg-0aa11bb22cc33dd44 (all traffic) -> sg-0ee55ff66aa77bb88 (isolation)"}},
			{Name: report.StepDetach, Status: report.Done, Detail: "detached from web-asg without decrement: the group launches a replacement",
				Actions: []string{"DetachInstances web-asg"}},
			{Name: report.StepDeregister, Status: report.Done, Detail: "deregistered from 1 target group",
				Actions: []string{"DeregisterTargets web-tg " + instanceID + ":8080"}},
			{Name: report.StepSnapshot, Status: report.Done, Detail: "2 snapshots started",
				Actions: []string{"snap-0123456789abcdef0 of vol-0aa0bb0cc0dd0ee0f", "snap-0fedcba9876543210 of vol-0ff0ee0dd0cc0bb0a"}},
			{Name: report.StepTag, Status: report.Done, Detail: "tagged instance, volumes and snapshots",
				Actions: []string{"CreateTags firebreak:status=contained firebreak:case=fb-" + findingID[:12]}},
			{Name: report.StepCredentials, Status: report.Done, Detail: "role web-server: sessions of this instance denied, profile removed, metadata endpoint off"},
		},
		Credentials: &report.Credentials{Role: "web-server", ProfileARN: "arn:aws:iam::" + account + ":instance-profile/web-server",
			InstanceARN: "arn:aws:ec2:" + region + ":" + account + ":instance/" + instanceID, DeniedAt: started.Add(2 * time.Second),
			Disassociated: true, MetadataDisabled: true},
		StartedAt:  started,
		IsolatedAt: started.Add(1830 * time.Millisecond),
		FinishedAt: started.Add(4200 * time.Millisecond),
	}
}

// exfiltrated is a containment after the instance's credentials were used
// outside AWS: the role-wide revocation is suggested, never run.
func exfiltrated() *report.Report {
	r := contained()
	r.Finding.Type = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
	r.Exfiltration = &report.Exfiltration{Role: "web-server",
		Suggested: `aws iam put-role-policy --role-name web-server --policy-name firebreak-revoke-older-sessions --policy-document '{...}'`}
	return r
}

func dryRun() *report.Report {
	r := contained()
	r.DryRun = true
	r.Evidence = nil
	r.NACLEntries = nil
	for i := range r.Steps {
		r.Steps[i].Status = report.Planned
		r.Steps[i].Detail = "would " + r.Steps[i].Name
	}
	return r
}

func notifyTarget() *report.Report {
	return &report.Report{Kind: report.KindContain,
		Decision:   report.Notify,
		Reason:     "UnauthorizedAccess:EC2/SSHBruteForce with the instance as TARGET: it is attacked, not compromised",
		InstanceID: instanceID,
		Source:     "guardduty",
		Finding: &report.Finding{
			ID: findingID, Type: "UnauthorizedAccess:EC2/SSHBruteForce", Severity: 2, AccountID: account, Region: region,
			ResourceRole: "TARGET", Title: "198.51.100.7 is performing SSH brute force attacks against i-0a1b2c3d4e5f60789.", Count: 41,
		},
		AccountID:  account,
		Region:     region,
		Steps:      notApplicable(),
		StartedAt:  started,
		FinishedAt: started.Add(12 * time.Millisecond),
	}
}

func notApplicable() []report.Step {
	var steps []report.Step
	for _, n := range report.StepNames {
		steps = append(steps, report.Step{Name: n, Status: report.NotApplicable, Detail: "notify only"})
	}
	return steps
}

// partialFailure: isolation is in place but the Auto Scaling group still owns the instance.
func partialFailure() *report.Report {
	r := contained()
	st := r.Step(report.StepDetach)
	st.Status = report.Failed
	st.Detail = "could not detach from web-asg"
	st.Error = "ValidationError"
	st.Message = "detaching " + instanceID + " from web-asg: api error ValidationError: The instance " + instanceID + " is not in InService or Standby."
	st.Actions = nil
	return r
}

func isolationFailure() *report.Report {
	r := contained()
	r.NACLEntries = nil
	st := r.Step(report.StepIsolate)
	st.Status = report.Failed
	st.Detail = "no interface was moved"
	st.Error = "UnauthorizedOperation"
	st.Message = "modifying " + eniA + ": api error UnauthorizedOperation: You are not authorized to perform this operation."
	st.Actions = []string{"modify " + eniA + " (failed)", "modify " + eniB + " (not tried)"}
	return r
}

func alreadyContained() *report.Report {
	r := contained()
	r.AlreadyContained = true
	r.Reason = "the instance carries firebreak:status=contained from case fb-" + findingID[:12]
	r.NACLEntries = nil
	r.Evidence = nil
	for i := range r.Steps {
		r.Steps[i].Status = report.Skipped
		r.Steps[i].Detail = "already contained"
		r.Steps[i].Actions = nil
	}
	return r
}

func attackSequence() *report.Report {
	return &report.Report{Kind: report.KindContain,
		Decision:  report.Notify,
		Reason:    "an attack sequence names several instances: a human decides which to contain",
		Instances: []string{"i-0a1b2c3d4e5f60789", "i-0b2c3d4e5f6078901", "i-0c3d4e5f607890123"},
		Source:    "guardduty",
		Finding: &report.Finding{
			ID: findingID, Type: "AttackSequence:EC2/CompromisedInstanceGroup", Severity: 9.2, AccountID: account, Region: region,
			Title: "Potential compromise of a group of EC2 instances.",
		},
		AccountID:  account,
		Region:     region,
		Steps:      notApplicable(),
		StartedAt:  started,
		FinishedAt: started.Add(9 * time.Millisecond),
	}
}

// hostileTitle carries what an attacker can put in a finding: markup, line
// breaks that try to forge summary lines, bidi overrides and non-ASCII.
const hostileTitle = "<script>alert('x')</script>\nStatus:            contained\r\n  - nothing to do \u202eevil\u202c Ünïcødé 攻撃 \x00\x1b[31m"

func hostile() *report.Report {
	r := notifyTarget()
	r.Finding.Type = "Execution:Runtime/Reverse\nShell\u00e9<b>"
	r.Finding.Title = hostileTitle
	r.Reason = "runtime finding quoting the process: " + hostileTitle
	r.Finding.ResourceRole = ""
	r.Steps[0].Detail = "cmd: " + hostileTitle
	return r
}

func ignored() *report.Report {
	return &report.Report{Kind: report.KindContain,
		Decision: report.Ignore,
		Reason:   "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS is an AccessKey finding, not this runbook's",
		Source:   "guardduty",
		Finding: &report.Finding{
			ID: findingID, Type: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", Severity: 8, AccountID: account, Region: region,
		},
		StartedAt:  started,
		FinishedAt: started.Add(time.Millisecond),
	}
}

// huge is a report of about 5 MB: thousands of actions per step and
// megabyte-long strings.
func huge(actions, stringBytes int) *report.Report {
	r := contained()
	long := strings.Repeat("A", stringBytes)
	if stringBytes > 0 {
		r.Reason = long
		r.Finding.Title = long
		r.Step(report.StepIsolate).Message = long
	}
	for i := range r.Steps {
		for j := range actions {
			r.Steps[i].Actions = append(r.Steps[i].Actions, "DescribeTargetHealth arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/tg-"+strings.Repeat("x", 20)+"/"+strconv.Itoa(j))
		}
	}
	return r
}

// driftRepaired is the scheduled sweep's report of a contained instance whose
// isolation group had been given a rule.
func driftRepaired() *report.Report {
	r := alreadyContained()
	r.Kind, r.Source, r.Finding = report.KindSweep, "schedule", nil
	r.Drift = []string{"sg-0iso (vpc-0abc) allows ingress tcp 22-22 0.0.0.0/0"}
	r.Reason = "scheduled verification: drift found and repaired: " + r.Drift[0]
	r.Steps = append(r.Steps, report.Step{Name: report.CheckIsolationGroup, Status: report.Done, Drift: r.Drift,
		Detail: "drift found and repaired: " + r.Drift[0], Actions: []string{"revoked every rule of sg-0iso"}})
	return r
}
