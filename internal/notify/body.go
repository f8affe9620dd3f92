package notify

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Limits on untrusted values in the summary, in bytes before escaping. The
// report JSON carries them whole.
const (
	maxField   = 256 // ids, types, names
	maxLine    = 512 // titles, reasons, step details
	maxMessage = 1024
	maxListed  = 20 // instances, steps, entries and interfaces shown
	// maxSummary bounds the summary whatever the report holds, so that the
	// report JSON always keeps most of the message.
	maxSummary = 96 << 10
)

var (
	instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
	eniPattern        = regexp.MustCompile(`\beni-[0-9a-f]{8}(?:[0-9a-f]{9})?\b`)
	// At most 128 characters (checked in validFindingID: a counted
	// repetition would compile 128 copies at every cold start).
	findingIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
)

func validFindingID(id string) bool { return len(id) <= 128 && findingIDPattern.MatchString(id) }

// body is the summary, then the report JSON, in at most budget bytes.
func body(r *report.Report, status string, budget int) string {
	s := summary(r, status)
	if len(s) > maxSummary {
		// Every summary line is escaped, so cutting at a line end cannot
		// leave half a forged line behind.
		s = s[:strings.LastIndexByte(s[:maxSummary], '\n')+1] + "...[summary truncated]\n"
	}
	s += "\n"
	return s + reportJSON(r, budget-len(s))
}

type writer struct{ strings.Builder }

func (w *writer) line(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

// field writes "  Label: value", skipping empty values.
func (w *writer) field(label, value string) {
	if value != "" {
		w.line("  %-18s %s", label+":", value)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// summary is written for a person on call reading on a phone: what happened
// and where first, then what to do, then the links, then the details.
func summary(r *report.Report, status string) string {
	var w writer
	w.line("%s", headline(r, status))
	if reason := text(r.Reason, maxLine); reason != "" {
		w.line("Why: %s", reason)
	}

	if failed := r.Failed(); len(failed) > 0 {
		w.line("")
		w.line("WHAT FAILED")
		for i, st := range failed {
			if i == maxListed {
				w.line("  ... and %d more failed steps", len(failed)-maxListed)
				break
			}
			msg := text(st.Message, maxMessage)
			if msg == "" {
				msg = text(st.Detail, maxLine)
			}
			w.line("  - %s [%s]: %s", text(st.Name, maxField), errorCode(st), msg)
		}
	}

	w.line("")
	w.line("WHAT TO DO NEXT")
	for _, item := range nextSteps(r, status) {
		if strings.HasPrefix(item, "    ") {
			// A command or payload that belongs to the item above.
			w.line("  %s", item)
			continue
		}
		w.line("  - %s", item)
	}

	if links := consoleLinks(r); len(links) > 0 {
		w.line("")
		w.line("LINKS")
		for _, l := range links {
			w.field(l.label, l.url)
		}
	}

	if e := r.Evidence; e != nil && (e.Bucket != "" || e.Key != "") {
		w.line("")
		w.line("EVIDENCE")
		w.field("Pre-change record", "s3://"+text(e.Bucket, maxField)+"/"+text(e.Key, maxLine))
		w.field("SHA-256", text(e.SHA256, maxField))
	}

	w.line("")
	w.line("DETAILS")
	w.field("Status", status)
	w.field("Decision", text(string(r.Decision), maxField))
	w.field("Instance", text(r.InstanceID, maxField))
	if len(r.Instances) > 0 {
		w.field("Instances", list(r.Instances))
	}
	w.field("Account", text(account(r), maxField))
	w.field("Region", text(region(r), maxField))
	if f := r.Finding; f != nil {
		w.field("Finding", text(f.Type, maxField))
		w.field("Severity", fmt.Sprintf("%s (%s)", severity(f.Severity), band(f.Severity)))
		w.field("Finding id", text(f.ID, maxField))
		w.field("Title", text(f.Title, maxLine))
		w.field("Resource role", text(f.ResourceRole, maxField))
		if f.Count > 0 {
			w.field("Occurrences", fmt.Sprint(f.Count))
		}
		if !f.UpdatedAt.IsZero() {
			w.field("Finding updated", f.UpdatedAt.UTC().Format(time.RFC3339))
		}
		if f.Sample {
			w.field("Sample finding", "yes (GuardDuty sample: placeholder values)")
		}
	}
	w.field("Source", text(r.Source, maxField))
	w.field("Case", text(r.CaseID, maxField))
	w.field("Dry run", yesNo(r.DryRun))
	w.field("Already contained", yesNo(r.AlreadyContained))
	if !r.StartedAt.IsZero() {
		w.field("Started", r.StartedAt.UTC().Format(time.RFC3339))
	}
	if !r.IsolatedAt.IsZero() && !r.StartedAt.IsZero() && !r.IsolatedAt.Before(r.StartedAt) {
		w.field("Isolated", fmt.Sprintf("%s (%s after the start)", r.IsolatedAt.UTC().Format(time.RFC3339), r.IsolatedAt.Sub(r.StartedAt).Round(time.Millisecond)))
	}
	if !r.FinishedAt.IsZero() {
		took := ""
		if !r.StartedAt.IsZero() && !r.FinishedAt.Before(r.StartedAt) {
			took = fmt.Sprintf(" (took %s)", r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
		}
		w.field("Finished", r.FinishedAt.UTC().Format(time.RFC3339)+took)
	}

	if len(r.Steps) > 0 {
		w.line("")
		w.line("STEPS")
		for i, st := range r.Steps {
			if i == maxListed {
				w.line("  ... and %d more steps (see the report JSON)", len(r.Steps)-maxListed)
				break
			}
			w.line("  %s", stepLine(st))
		}
	}

	if len(r.NACLEntries) > 0 {
		w.line("")
		w.line("NETWORK ACL DENY ENTRIES ADDED (remove them when the incident is closed)")
		for i, e := range r.NACLEntries {
			if i == maxListed {
				w.line("  ... and %d more (see the report JSON)", len(r.NACLEntries)-maxListed)
				break
			}
			dir := "ingress"
			if e.Egress {
				dir = "egress"
			}
			w.line("  %s rule %d %s %s", text(e.NetworkACLID, maxField), e.RuleNumber, dir, text(e.CIDR, maxField))
		}
	}
	return w.String()
}

// where names the account and Region an instance is in, for the headline.
func where(r *report.Report) string {
	acct, reg := text(account(r), maxField), text(region(r), maxField)
	switch {
	case acct != "" && reg != "":
		return " in account " + acct + ", " + reg
	case acct != "":
		return " in account " + acct
	case reg != "":
		return " in " + reg
	}
	return ""
}

func headline(r *report.Report, status string) string {
	if r.Kind == report.KindRelease {
		return releaseHeadline(r, status)
	}
	who := "instance " + text(r.InstanceID, maxField)
	switch {
	case len(r.Instances) > 1:
		who = fmt.Sprintf("%d instances", len(r.Instances))
	case r.InstanceID == "" && len(r.Instances) == 1:
		who = "instance " + text(r.Instances[0], maxField)
	case r.InstanceID == "":
		who = noInstance
	}
	if who != noInstance {
		who += where(r)
	}
	switch status {
	case StatusContained:
		return fmt.Sprintf("Firebreak CONTAINED %s.", who)
	case StatusFailed:
		names := make([]string, 0, len(r.Failed()))
		for _, st := range r.Failed() {
			names = append(names, text(st.Name, maxField))
		}
		if len(names) > maxListed {
			names = append(names[:maxListed], "...")
		}
		if r.DryRun {
			return fmt.Sprintf("DRY RUN for %s: planning FAILED at %s. Nothing was changed.", who, strings.Join(names, ", "))
		}
		return fmt.Sprintf("Firebreak tried to contain %s, but these steps FAILED: %s. Act now (see WHAT TO DO NEXT).", who, strings.Join(names, ", "))
	case StatusPlanned:
		return fmt.Sprintf("DRY RUN: Firebreak WOULD CONTAIN %s. Nothing was changed.", who)
	case StatusAlreadyContained:
		return fmt.Sprintf("Firebreak found %s ALREADY CONTAINED and changed nothing.", who)
	case StatusDriftRepaired:
		return fmt.Sprintf("Firebreak found the containment of %s CHANGED (drift found and repaired): %s.", who, text(strings.Join(r.Drift, "; "), maxField))
	case StatusIgnored:
		if who == noInstance {
			return "Firebreak ignored this event; nothing was changed."
		}
		return fmt.Sprintf("Firebreak ignored this event about %s; nothing was changed.", who)
	}
	return fmt.Sprintf("Firebreak did NOT contain %s: this finding calls for a human decision. Nothing was changed.", who)
}

func stepLine(st report.Step) string {
	status := text(string(st.Status), maxField)
	if st.Status == report.Failed {
		status = "FAILED"
	}
	line := fmt.Sprintf("%-10s  %-14s", text(st.Name, maxField), status)
	if st.Status == report.Failed {
		line += " [" + errorCode(st) + "]"
	}
	if d := text(st.Detail, maxLine); d != "" {
		line += " " + d
	}
	if n := len(st.Actions); n > 0 {
		line += fmt.Sprintf(" (%d %s)", n, plural(n, "action", "actions"))
	}
	return strings.TrimRight(line, " ")
}

func errorCode(st report.Step) string {
	if c := text(st.Error, maxField); c != "" {
		return c
	}
	return "no error code"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// list shows up to maxListed values, escaped.
func list(values []string) string {
	shown := make([]string, 0, maxListed+1)
	for i, v := range values {
		if i == maxListed {
			shown = append(shown, fmt.Sprintf("... and %d more", len(values)-maxListed))
			break
		}
		shown = append(shown, text(v, maxField))
	}
	return strings.Join(shown, ", ")
}

// account prefers the report's own field, then the finding's member account.
func account(r *report.Report) string {
	if r.AccountID == "" && r.Finding != nil {
		return r.Finding.AccountID
	}
	return r.AccountID
}

func region(r *report.Report) string {
	if r.Region == "" && r.Finding != nil {
		return r.Finding.Region
	}
	return r.Region
}

// request is the payload of a manual request to the contain or release
// function. Only validated ids go in, so it is safe to paste into a shell.
func request(instanceID, reason string, r *report.Report, dryRun bool) string {
	if f := r.Finding; f != nil && validFindingID(f.ID) {
		reason += " of GuardDuty finding " + f.ID
	}
	js, _ := json.Marshal(struct {
		InstanceID string `json:"instanceId"`
		Reason     string `json:"reason"`
		DryRun     bool   `json:"dryRun"`
	}{instanceID, reason, dryRun})
	return string(js)
}

// releaseHint introduces the release command: the release function undoes
// the containment from the evidence (groups, ACL entries, status tag).
const releaseHint = "When the investigation no longer needs it isolated, release the instance (set \"dryRun\":true first to see the plan):"

// interfaces finds the ENI ids the steps mention, in order of appearance.
// It reads a bounded prefix of each value: a huge report must not make the
// notification slow.
func interfaces(r *report.Report) []string {
	const maxScanned = 4096
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		for _, id := range eniPattern.FindAllString(s[:min(len(s), maxScanned)], -1) {
			if !seen[id] && len(out) < maxListed {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	for _, st := range r.Steps[:min(len(r.Steps), maxListed)] {
		add(st.Detail)
		add(st.Message)
		for _, a := range st.Actions[:min(len(st.Actions), maxScanned)] {
			add(a)
		}
	}
	return out
}

// nextSteps says concretely what a human should do now. Commands only ever
// carry ids that matched the EC2 id formats.
func nextSteps(r *report.Report, status string) []string {
	if r.Kind == report.KindRelease {
		return releaseNextSteps(r, status)
	}
	id := r.InstanceID
	if id == "" && len(r.Instances) == 1 {
		id = r.Instances[0]
	}
	var out []string
	if id != "" && !instanceIDPattern.MatchString(id) {
		out = append(out, "The instance id in this report is not a valid EC2 instance id: check the finding before acting on it.")
	}
	if !instanceIDPattern.MatchString(id) {
		id = "<instance-id>"
	}
	sample := r.Finding != nil && r.Finding.Sample
	if sample {
		out = append(out, "This is a GuardDuty sample finding with placeholder values: no action is needed.")
		return out
	}

	switch status {
	case StatusIgnored:
		out = append(out, "No action is needed.")
	case StatusDriftRepaired:
		out = append(out, "The containment holds again. Find who changed it (CloudTrail: the calls named above, on the instance, its interfaces or the isolation group) before it happens again.")
	case StatusAlreadyContained:
		msg := "Nothing more to contain. Continue the investigation from the first report for this instance"
		if r.CaseID != "" {
			msg += " (case " + text(r.CaseID, maxField) + ")"
		}
		out = append(out, msg+".")
	case StatusPlanned:
		out = append(out,
			"Review the plan: the actions listed under each step of the report JSON are what a real run would do.",
			"To contain for real, send the contain function this manual request:",
			"    "+containCommand(id, r, false))
	case StatusContained:
		out = append(out, "Keep the instance for the investigation: do not terminate or reboot it (memory evidence would be lost).")
		out = append(out, credentialSteps(r)...)
		if st := r.Step(report.StepSnapshot); st != nil && st.Status == report.Done {
			out = append(out, "EBS snapshots were started and complete in the background; their ids are in the snapshot step's actions.")
		}
		if len(r.NACLEntries) > 0 {
			out = append(out, "Remove the network ACL deny entries listed below when the incident is closed.")
		}
		if r.Evidence != nil && r.Evidence.Bucket != "" {
			out = append(out, "Start from the pre-change record under EVIDENCE; check it against its SHA-256.")
		}
		out = append(out, releaseHint, "    "+releaseCommand(id, r))
	case StatusFailed:
		out = append(out, failureSteps(r, id)...)
	default:
		out = append(out, notifySteps(r, id)...)
	}
	return out
}

func notifySteps(r *report.Report, id string) []string {
	var out []string
	if r.Finding != nil && strings.EqualFold(r.Finding.ResourceRole, "TARGET") {
		out = append(out, "The instance is the TARGET of this activity, not its source: being probed or attacked is not evidence of compromise. Harden it (close the exposed port, narrow its security group rules) rather than isolating it.")
	}
	if len(r.Instances) > 1 {
		out = append(out, fmt.Sprintf("This attack sequence names %d instances and Firebreak changed none of them. Review each one; to contain one by hand, save its manual request as request.json:", len(r.Instances)))
		for i, inst := range r.Instances {
			if i == maxListed {
				out = append(out, fmt.Sprintf("    ... and %d more instances (see the report JSON)", len(r.Instances)-maxListed))
				break
			}
			if instanceIDPattern.MatchString(inst) {
				out = append(out, "    "+request(inst, "manual containment after review", r, false))
			} else {
				out = append(out, "    (skipped "+text(inst, maxField)+": not a valid instance id)")
			}
		}
		return append(out, "and send it to the contain function:", "    "+invokeCommand(contract.OutputContainFunction, region(r), "file://request.json"))
	}
	return append(out,
		"Firebreak changed nothing. If your review shows the instance is compromised, contain it with this manual request (set \"dryRun\":true first to see the plan):",
		"    "+containCommand(id, r, false))
}

func failureSteps(r *report.Report, id string) []string {
	var out []string
	if r.DryRun {
		out = append(out, "This was a dry run: nothing was changed. Fix the causes below, then run the dry run again or contain by hand.")
	}
	isolated := false
	if st := r.Step(report.StepIsolate); st != nil && st.Status == report.Done {
		isolated = true
	}
	for _, st := range r.Failed() {
		switch st.Name {
		case report.StepCapture:
			out = append(out, fmt.Sprintf("Capture failed: the pre-change state was NOT recorded. Record it by hand before changing anything else: aws ec2 describe-instances --instance-ids %[1]s; aws ec2 get-console-output --instance-id %[1]s --latest --output text.", id))
		case report.StepProtect:
			out = append(out, fmt.Sprintf("Protection failed: the instance may be terminated or stopped and its volumes deleted. Protect it by hand: aws ec2 modify-instance-attribute --instance-id %[1]s --disable-api-termination; aws ec2 modify-instance-attribute --instance-id %[1]s --disable-api-stop; set DeleteOnTermination=false on each EBS volume (--block-device-mappings).", id))
		case report.StepIsolate:
			out = append(out, isolateSteps(r, id)...)
		case report.StepDetach:
			msg := fmt.Sprintf("Detach failed: the instance may still belong to its Auto Scaling group, which replaces and TERMINATES unhealthy instances, destroying the evidence. Detach it by hand now: aws autoscaling detach-instances --instance-ids %[1]s --auto-scaling-group-name <group> --no-should-decrement-desired-capacity (aws autoscaling describe-auto-scaling-instances --instance-ids %[1]s names the group).", id)
			if isolated {
				msg += " Isolation is in place, so its health checks will fail soon."
			}
			out = append(out, msg)
		case report.StepDeregister:
			out = append(out, fmt.Sprintf("Deregistration failed: load balancers may still send traffic to the instance. Deregister it by hand: aws elb deregister-instances-from-load-balancer --load-balancer-name <name> --instances %s for each classic load balancer, and aws elbv2 deregister-targets --target-group-arn <arn> --targets Id=<id or IP>[,Port=<port>] for each target group listing it or its IPs.", id))
		case report.StepSnapshot:
			out = append(out, fmt.Sprintf("Snapshot failed: no disk evidence was started. Take it by hand: aws ec2 create-snapshots --instance-specification InstanceId=%s --copy-tags-from-source volume.", id))
		case report.StepTag:
			out = append(out, fmt.Sprintf("Tagging failed: the instance is not marked as contained, so a re-delivered finding may run the runbook again. Tag it by hand with aws ec2 create-tags --resources %s (the tag step's detail names the keys).", id))
		default:
			out = append(out, fmt.Sprintf("Step %s failed: see its error above and finish it by hand.", text(st.Name, maxField)))
		}
	}
	if id != "<instance-id>" {
		out = append(out,
			"After fixing the cause, run the runbook again with this manual request:",
			"    "+containCommand(id, r, r.DryRun))
		if isolated && !r.DryRun {
			out = append(out, releaseHint, "    "+releaseCommand(id, r))
		}
	}
	return out
}

func isolateSteps(r *report.Report, id string) []string {
	out := []string{"Isolation failed: the instance is NOT isolated and may still reach the network. Isolate it by hand now: move each of its network interfaces to a security group with no inbound and no outbound rules (a new group has an allow-all outbound rule: revoke it)."}
	enis := interfaces(r)
	if len(enis) == 0 {
		out = append(out, fmt.Sprintf("    Find its interfaces: aws ec2 describe-instances --instance-ids %s --query 'Reservations[].Instances[].NetworkInterfaces[].NetworkInterfaceId'", id))
	}
	for _, eni := range enis {
		out = append(out, fmt.Sprintf("    aws ec2 modify-network-interface-attribute --network-interface-id %s --groups <isolation-group-id>", eni))
	}
	return append(out, "Changing security groups does not cut connections already tracked; for a hard cut add network ACL DENY entries (ingress and egress) for the instance's private IPs in the ACLs of the OTHER subnets of the VPC, numbered below their first ALLOW.")
}

// credentialSteps say what is left of the instance's credentials for a person.
func credentialSteps(r *report.Report) []string {
	var out []string
	if st := r.Step(report.StepCredentials); st != nil && st.Status == report.Done && r.Credentials != nil {
		out = append(out, "The instance's sessions of role "+text(r.Credentials.Role, maxField)+
			" are denied wherever they are used, its profile is removed and its metadata endpoint is off; other instances of the role are untouched. Rotate every secret the instance could read.")
	} else {
		out = append(out, "The instance's role credentials were not contained (see the credentials step): revoke the active sessions of the instance's role and rotate every secret it could read.")
	}
	if x := r.Exfiltration; x != nil && x.Suggested != "" {
		out = append(out, "The credentials were used elsewhere. To revoke every session of the whole role issued so far (its healthy instances too, until they fetch new credentials), a person may run:",
			"    "+text(x.Suggested, 2*maxField))
	}
	return out
}
