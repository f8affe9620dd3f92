// Package policy decides what Firebreak does with a decoded event: contain
// the instance, notify a person, or ignore the event. It only reads the
// event; the exemption tag is checked later, on the live instance.
package policy

import (
	"fmt"
	"math"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Thresholds are GuardDuty severities (0-10). A finding below Notify is
// ignored; one at or above Contain may be contained, if its type says the
// instance is compromised.
type Thresholds struct {
	Contain float64
	Notify  float64
	// Credentials is what an instance-credential exfiltration finding leads
	// to at or above Contain: contract.CredentialFindingsContain (the whole
	// runbook), CredentialFindingsOnly (the credentials step alone) or
	// CredentialFindingsNotify; "" is contain.
	Credentials string
}

// DefaultThresholds contain at High (7.0) and notify from Medium (4.0): Low
// findings (probes, brute force against the instance) are too frequent to mail.
var DefaultThresholds = Thresholds{Contain: 7.0, Notify: 4.0}

// Validate rejects thresholds that cannot be meant.
func (t Thresholds) Validate() error {
	for _, v := range []float64{t.Contain, t.Notify} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("thresholds must be finite and not negative, got contain %v notify %v", t.Contain, t.Notify)
		}
	}
	if t.Notify > t.Contain {
		return fmt.Errorf("notify threshold %.1f is above the contain threshold %.1f", t.Notify, t.Contain)
	}
	return nil
}

// Verdict is the decision and the rule that made it.
type Verdict struct {
	Decision report.Decision
	// Reason is a sentence for the person reading the report; it names the rule.
	Reason string
	// InstanceID is the instance the decision is about (the first of Instances
	// when there are several).
	InstanceID string
	// Instances lists every instance of an attack sequence or a Security Hub
	// custom action; nil for single-instance events.
	Instances []string
	// Rule is the stable name of the rule that decided (one of the Rule* constants).
	Rule string
	// CredentialsOnly: run the credentials step alone (an exfiltration
	// finding under credentialFindings=credentials-only).
	CredentialsOnly bool
	// CredentialRole is the role whose credentials a finding says were
	// exfiltrated: the live instance's role must be it.
	CredentialRole string
}

// Rule names, stable for logs, metrics and tests.
const (
	RuleNoInput            = "no-input"
	RuleNotAFinding        = "not-a-finding"
	RuleNotRunningInstance = "not-a-running-instance"
	RuleCredentialFinding  = "credential-finding"
	RuleNoInstance         = "no-instance"
	RuleBelowNotify        = "below-notify-threshold"
	RuleSample             = "sample-finding"
	RuleAttackSequence     = "attack-sequence"
	RuleMissingInstanceID  = "missing-instance-id"
	RuleMalformedID        = "malformed-instance-id"
	RuleTarget             = "instance-is-target"
	RuleRoleUnknown        = "role-unknown"
	RuleBelowContain       = "below-contain-threshold"
	RuleNotCompromise      = "not-a-compromise-type"
	RuleCompromise         = "compromise"
	RuleManual             = "manual-request"
	RuleNotCustomAction    = "not-a-custom-action"
	RuleCustomAction       = "custom-action"
	RuleExfiltration       = "instance-credential-exfiltration"
	RuleBadSession         = "unreadable-credential-session"
)

// Decide applies the rules in order of precedence: ignore rules first, then
// notify rules (a sample is checked before anything that could contain), then
// contain.
func Decide(in *finding.Input, th Thresholds) Verdict {
	if in == nil {
		return Verdict{Decision: report.Ignore, Rule: RuleNoInput, Reason: "No input: no event was decoded, nothing to decide."}
	}
	switch in.Source {
	case finding.SourceManual:
		return decideManual(in)
	case finding.SourceSecurityHub:
		return decideSecurityHub(in)
	default:
		return decideGuardDuty(in, th)
	}
}

func decideManual(in *finding.Input) Verdict {
	req := in.Manual
	if req == nil {
		return Verdict{Decision: report.Ignore, Rule: RuleNoInput, Reason: "No input: manual event without a request, nothing to decide."}
	}
	if !finding.ValidInstanceID(req.InstanceID) {
		return Verdict{Decision: report.Notify, Rule: RuleMalformedID,
			Reason: fmt.Sprintf("Malformed instance id: the manual request names %q; reported, not acted on.", req.InstanceID)}
	}
	dry := ""
	if req.DryRun {
		dry = " Dry run: the runbook plans and changes nothing."
	}
	return Verdict{Decision: report.Contain, Rule: RuleManual, InstanceID: req.InstanceID,
		Reason: fmt.Sprintf("Manual request: a person decided to contain %s (reason: %q).%s", req.InstanceID, req.Reason, dry)}
}

func decideSecurityHub(in *finding.Input) Verdict {
	if in.Envelope.DetailType != finding.DetailTypeCustomAction {
		return Verdict{Decision: report.Ignore, Rule: RuleNotCustomAction,
			Reason: fmt.Sprintf("Not a custom action: Security Hub event %q is not an analyst's custom action, which alone leads to containment.", in.Envelope.DetailType)}
	}
	action := in.SecurityHub
	name := ""
	if action != nil {
		name = action.ActionName
	}
	if in.IsSample() {
		return Verdict{Decision: report.Notify, Rule: RuleSample, InstanceID: first(in.Targets), Instances: in.Targets,
			Reason: fmt.Sprintf("GuardDuty sample finding: never acted on (it came through Security Hub custom action %q).", name)}
	}
	if len(in.Targets) == 0 {
		if malformed := malformedTargets(action); len(malformed) > 0 {
			return Verdict{Decision: report.Notify, Rule: RuleMalformedID,
				Reason: fmt.Sprintf("Malformed instance id: Security Hub custom action %q names only %s; reported, not acted on.", name, quoteAll(malformed))}
		}
		return Verdict{Decision: report.Ignore, Rule: RuleNoInstance,
			Reason: fmt.Sprintf("No EC2 instance: Security Hub custom action %q names none, nothing to contain.", name)}
	}
	return Verdict{Decision: report.Contain, Rule: RuleCustomAction, InstanceID: in.Targets[0], Instances: in.Targets,
		Reason: fmt.Sprintf("Security Hub custom action: an analyst decided, with action %q, to contain %s.", name, countInstances(in.Targets))}
}

func decideGuardDuty(in *finding.Input, th Thresholds) Verdict {
	if in.Envelope.DetailType != finding.DetailTypeFinding {
		return Verdict{Decision: report.Ignore, Rule: RuleNotAFinding,
			Reason: fmt.Sprintf("Not a finding: GuardDuty event %q is not a %q event, the only kind acted on.", in.Envelope.DetailType, finding.DetailTypeFinding)}
	}
	f := in.Finding
	if f == nil {
		return Verdict{Decision: report.Ignore, Rule: RuleNoInput, Reason: "No input: GuardDuty event without a finding, nothing to decide."}
	}
	kind := classify(f.Type)
	instanceID := f.InstanceID()
	// Verdicts carry only well-formed ids; a malformed one is quoted in the reason.
	wellFormed := ""
	if finding.ValidInstanceID(instanceID) {
		wellFormed = instanceID
	}

	if what, ok := scannedCopy(f.Type); ok {
		return Verdict{Decision: report.Ignore, Rule: RuleNotRunningInstance,
			Reason: fmt.Sprintf("Not a running instance: %s concerns %s, nothing to contain.", f.Type, what)}
	}
	if exfiltration[f.Type] {
		return decideExfiltration(f, th)
	}
	if kind.resource == "IAMUser" {
		return Verdict{Decision: report.Ignore, Rule: RuleCredentialFinding,
			Reason: fmt.Sprintf("Credential finding: %s is about resource type %s, not an instance compromise; out of this runbook's scope.", f.Type, orNone(f.ResourceType()))}
	}
	sequence := kind.purpose == "AttackSequence"
	var named []string
	if sequence {
		named = sequenceInstances(f)
	}
	if f.ResourceType() != "Instance" && len(named) == 0 {
		return Verdict{Decision: report.Ignore, Rule: RuleNoInstance,
			Reason: fmt.Sprintf("No EC2 instance: %s is about resource type %s, nothing to contain.", f.Type, orNone(f.ResourceType()))}
	}
	// Written as !(>=) so that a NaN threshold never lets a finding through.
	if !(f.Severity >= th.Notify) {
		return Verdict{Decision: report.Ignore, Rule: RuleBelowNotify, InstanceID: wellFormed,
			Reason: fmt.Sprintf("Below the notify threshold: %s has severity %.1f, under %.1f.", f.Type, f.Severity, th.Notify)}
	}

	// Notify rules. The sample check comes first: samples name placeholder
	// instances and must never cause a change.
	if f.IsSample() {
		return Verdict{Decision: report.Notify, Rule: RuleSample, InstanceID: wellFormed,
			Reason: fmt.Sprintf("GuardDuty sample finding: never acted on (%s).", f.Type)}
	}
	if sequence && len(named) > 0 {
		return Verdict{Decision: report.Notify, Rule: RuleAttackSequence, InstanceID: named[0], Instances: named,
			Reason: fmt.Sprintf("Attack sequence: %s names %s (%s); a person decides which to contain.", f.Type, countInstances(named), strings.Join(named, ", "))}
	}
	if instanceID == "" {
		return Verdict{Decision: report.Notify, Rule: RuleMissingInstanceID,
			Reason: fmt.Sprintf("Instance id missing: %s names no instance; reported, not acted on.", f.Type)}
	}
	if !finding.ValidInstanceID(instanceID) {
		return Verdict{Decision: report.Notify, Rule: RuleMalformedID,
			Reason: fmt.Sprintf("Malformed instance id: %s names %q; reported, not acted on.", f.Type, instanceID)}
	}
	role := f.ResourceRole()
	switch {
	case kind.alwaysTarget:
		return Verdict{Decision: report.Notify, Rule: RuleTarget, InstanceID: instanceID,
			Reason: fmt.Sprintf("Instance is only a target: %s means %s is being probed, a hardening issue, not a compromise.", f.Type, instanceID)}
	case role == "TARGET":
		// Whatever the type, GuardDuty says the instance is on the receiving end.
		return Verdict{Decision: report.Notify, Rule: RuleTarget, InstanceID: instanceID,
			Reason: fmt.Sprintf("Instance is only a target: %s names %s as TARGET; it is being attacked, and isolating it would punish the victim.", f.Type, instanceID)}
	case kind.roleDependent && role == "":
		return Verdict{Decision: report.Notify, Rule: RuleRoleUnknown, InstanceID: instanceID,
			Reason: fmt.Sprintf("Role unknown: %s gives no resource role, so %s may be the victim rather than the attacker; not contained.", f.Type, instanceID)}
	}
	if !(f.Severity >= th.Contain) {
		return Verdict{Decision: report.Notify, Rule: RuleBelowContain, InstanceID: instanceID,
			Reason: fmt.Sprintf("Below the contain threshold: %s on %s has severity %.1f (notify from %.1f, contain from %.1f).", f.Type, instanceID, f.Severity, th.Notify, th.Contain)}
	}
	if !kind.compromise && !kind.roleDependent {
		return Verdict{Decision: report.Notify, Rule: RuleNotCompromise, InstanceID: instanceID,
			Reason: fmt.Sprintf("Not a compromise type: %s is not in the list of types that mean the instance is compromised; notify, never contain.", f.Type)}
	}
	as := ""
	if role != "" {
		as = " as " + role
	}
	return Verdict{Decision: report.Contain, Rule: RuleCompromise, InstanceID: instanceID,
		Reason: fmt.Sprintf("Compromised instance: %s on %s%s at severity %.1f (contain from %.1f).", f.Type, instanceID, as, f.Severity, th.Contain)}
}

// sequenceInstances is every well-formed instance an attack sequence names,
// plus the finding's own instance when the sequence list does not have it.
func sequenceInstances(f *finding.Finding) []string {
	var out []string
	for _, id := range f.SequenceInstances() {
		if finding.ValidInstanceID(id) {
			out = append(out, id)
		}
	}
	if id := f.InstanceID(); f.ResourceType() == "Instance" && finding.ValidInstanceID(id) && !contains(out, id) {
		out = append([]string{id}, out...)
	}
	return out
}

func malformedTargets(action *finding.CustomAction) []string {
	if action == nil {
		return nil
	}
	var out []string
	for _, f := range action.Findings {
		out = append(out, f.Malformed...)
	}
	return out
}

func countInstances(ids []string) string {
	if len(ids) == 1 {
		return "1 instance (" + ids[0] + ")"
	}
	return fmt.Sprintf("%d instances", len(ids))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// exfiltration are the types GuardDuty reports when an instance's role
// credentials are used from elsewhere: the session names the instance.
var exfiltration = map[string]bool{
	"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": true,
	"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS":  true,
}

// decideExfiltration reads the instance from the session that used the
// credentials (principalId "<role id>:<instance id>", userName the role).
func decideExfiltration(f *finding.Finding, th Thresholds) Verdict {
	var ak finding.AccessKeyDetails
	if f.Resource.AccessKeyDetails != nil {
		ak = *f.Resource.AccessKeyDetails
	}
	roleID, session, _ := strings.Cut(ak.PrincipalID, ":")
	switch {
	case !(f.Severity >= th.Notify):
		return Verdict{Decision: report.Ignore, Rule: RuleBelowNotify,
			Reason: fmt.Sprintf("Below the notify threshold: %s has severity %.1f, under %.1f.", f.Type, f.Severity, th.Notify)}
	case f.IsSample():
		return Verdict{Decision: report.Notify, Rule: RuleSample, Reason: fmt.Sprintf("GuardDuty sample finding: never acted on (%s).", f.Type)}
	case ak.PrincipalID == "":
		return Verdict{Decision: report.Notify, Rule: RuleBadSession,
			Reason: fmt.Sprintf("Instance unknown: %s carries no principalId, so the instance the credentials came from cannot be told; reported, not acted on.", f.Type)}
	case !strings.HasPrefix(roleID, "AROA") || !finding.ValidInstanceID(session) || ak.UserName == "":
		return Verdict{Decision: report.Notify, Rule: RuleBadSession,
			Reason: fmt.Sprintf("Instance unknown: %s names session %q of %q, not an instance's session of a role (<role id>:<instance id>); reported, not acted on.", f.Type, ak.PrincipalID, ak.UserName)}
	}
	v := Verdict{InstanceID: session, CredentialRole: ak.UserName, Rule: RuleExfiltration}
	where := "outside AWS"
	if strings.HasSuffix(f.Type, "InsideAWS") {
		where = "from another AWS account"
	}
	what := fmt.Sprintf("credentials of role %s delivered to %s were used %s (%s, severity %.1f)", ak.UserName, session, where, f.Type, f.Severity)
	switch {
	case !(f.Severity >= th.Contain):
		v.Decision, v.Rule, v.Reason = report.Notify, RuleBelowContain, "Instance credentials exfiltrated, below the contain threshold: "+what+"."
	case th.Credentials == contract.CredentialFindingsNotify:
		v.Decision, v.Reason = report.Notify, "Instance credentials exfiltrated: "+what+"; credentialFindings=notify, so a person decides."
	case th.Credentials == contract.CredentialFindingsOnly:
		v.Decision, v.CredentialsOnly = report.Contain, true
		v.Reason = "Instance credentials exfiltrated: " + what + "; containing its credentials only (credentialFindings=credentials-only)."
	default:
		v.Decision = report.Contain
		v.Reason = "Instance credentials exfiltrated: " + what + "; the instance is contained with its credentials."
	}
	return v
}
