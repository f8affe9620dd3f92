package notify_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// split cuts a body into its summary and its report JSON.
func split(t *testing.T, body string) (summary, js string) {
	t.Helper()
	summary, js, ok := strings.Cut(body, "\n"+notify.Separator+"\n")
	if !ok {
		t.Fatalf("body has no %q line", notify.Separator)
	}
	return summary, js
}

func decode(t *testing.T, js string) report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report JSON in the body does not parse: %v", err)
	}
	return r
}

func TestStatus(t *testing.T) {
	failedDryRun := dryRun()
	failedDryRun.Steps[0].Status = report.Failed
	failedNotify := notifyTarget()
	failedNotify.Steps[0].Status = report.Failed
	unknown := contained()
	unknown.Decision = "quarantine"
	tests := []struct {
		name   string
		report *report.Report
		want   string
	}{
		{"contained", contained(), notify.StatusContained},
		{"dry run", dryRun(), notify.StatusPlanned},
		{"notify", notifyTarget(), notify.StatusNotified},
		{"attack sequence", attackSequence(), notify.StatusNotified},
		{"ignored", ignored(), notify.StatusIgnored},
		{"already contained", alreadyContained(), notify.StatusAlreadyContained},
		{"detach failed", partialFailure(), notify.StatusFailed},
		{"isolation failed", isolationFailure(), notify.StatusFailed},
		{"a failed dry run is failed", failedDryRun, notify.StatusFailed},
		{"a failed step in a notify is failed", failedNotify, notify.StatusFailed},
		{"unknown decision goes to a human", unknown, notify.StatusNotified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.Status(tt.report); got != tt.want {
				t.Errorf("Status() = %q, want %q", got, tt.want)
			}
			if got := aws.ToString(notify.Render(tt.report).Attributes[notify.AttrStatus].StringValue); got != tt.want {
				t.Errorf("status attribute = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	manual := contained()
	manual.Finding = nil
	manual.Source = "manual"
	nan := contained()
	nan.Finding.Severity = math.NaN()
	precise := contained()
	precise.Finding.Severity = 7.123456789
	tests := []struct {
		name   string
		report *report.Report
		want   map[string]string // name -> "Type:value"
	}{
		{"contained", contained(), map[string]string{
			"decision": "String:contain", "severity": "Number:8", "finding_type": "String:Backdoor:EC2/C&CActivity.B!DNS",
			"instance_id": "String:" + instanceID, "dry_run": "String:false", "status": "String:contained"}},
		{"dry run", dryRun(), map[string]string{
			"decision": "String:contain", "severity": "Number:8", "finding_type": "String:Backdoor:EC2/C&CActivity.B!DNS",
			"instance_id": "String:" + instanceID, "dry_run": "String:true", "status": "String:planned"}},
		{"attack sequence has no single instance", attackSequence(), map[string]string{
			"decision": "String:notify", "severity": "Number:9.2", "finding_type": "String:AttackSequence:EC2/CompromisedInstanceGroup",
			"dry_run": "String:false", "status": "String:notified"}},
		{"manual request has no finding", manual, map[string]string{
			"decision": "String:contain", "instance_id": "String:" + instanceID, "dry_run": "String:false", "status": "String:contained"}},
		{"NaN severity is left out", nan, map[string]string{
			"decision": "String:contain", "finding_type": "String:Backdoor:EC2/C&CActivity.B!DNS",
			"instance_id": "String:" + instanceID, "dry_run": "String:false", "status": "String:contained"}},
		{"severity keeps five decimals", precise, map[string]string{
			"decision": "String:contain", "severity": "Number:7.12346", "finding_type": "String:Backdoor:EC2/C&CActivity.B!DNS",
			"instance_id": "String:" + instanceID, "dry_run": "String:false", "status": "String:contained"}},
		{"hostile finding type is printable ASCII", hostile(), map[string]string{
			"decision": "String:notify", "severity": "Number:2", "finding_type": "String:Execution:Runtime/ReverseShell<b>",
			"instance_id": "String:" + instanceID, "dry_run": "String:false", "status": "String:notified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for name, v := range notify.Render(tt.report).Attributes {
				got[name] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
			}
			if len(got) != len(tt.want) {
				t.Errorf("attributes = %v, want %v", got, tt.want)
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("attribute %s = %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

func TestRenderNeverLetsFindingTextForgeLines(t *testing.T) {
	m := notify.Render(hostile())
	summary, js := split(t, m.Body)

	for _, bad := range []string{"\r", "\x00", "\x1b", "\u202e"} {
		if strings.Contains(summary, bad) {
			t.Errorf("summary contains raw %q", bad)
		}
	}
	for _, r := range m.Body {
		if r != '\n' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
			t.Errorf("body contains raw %U", r)
		}
	}
	var statusLines int
	for line := range strings.SplitSeq(summary, "\n") {
		if strings.HasPrefix(line, "  Status:") {
			statusLines++
		}
		if strings.HasPrefix(line, "  - nothing to do") {
			t.Errorf("the finding title forged a next-step line: %q", line)
		}
	}
	if statusLines != 1 {
		t.Errorf("summary has %d Status lines, want 1 (the title forged one)", statusLines)
	}
	// Plain text: the finding's own characters, no HTML entities.
	if !strings.Contains(summary, "<script>alert('x')</script>") || strings.Contains(m.Body, "&lt;") || strings.Contains(js, `\u003c`) {
		t.Errorf("the finding's characters are not shown as they are:\n%s", m.Body)
	}
	if got := decode(t, js); got.Finding.Title != hostileTitle {
		t.Errorf("report JSON title = %q, want the original %q", got.Finding.Title, hostileTitle)
	}
}

func TestRenderStaysWithinSNSLimit(t *testing.T) {
	manyInstances := attackSequence()
	for i := range 200000 {
		manyInstances.Instances = append(manyInstances.Instances, "i-"+strconv.FormatInt(int64(i)+1<<40, 16)+"0000000")
	}
	manySteps := contained()
	for i := range 100000 {
		manySteps.Steps = append(manySteps.Steps, report.Step{Name: "extra-" + strconv.Itoa(i), Status: report.Done, Detail: strings.Repeat("d", 30)})
	}
	// Control characters grow sixfold in JSON (\u0001): bytes, not runes, count.
	wide := huge(0, 0)
	wide.Reason = strings.Repeat("攻\x01", 800000)
	wide.Finding.Title = wide.Reason
	noBucket := huge(6500, 0)
	noBucket.Evidence = nil

	tests := []struct {
		name         string
		report       *report.Report
		keepsActions bool
		keepsStrings bool
		keepsSteps   bool
		where        string
	}{
		{"fits whole", contained(), true, true, true, ""},
		{"5 MB of step actions", huge(6500, 0), false, true, true, "s3://" + bucket + "/"},
		{"5 MB of long strings", huge(0, 1700000), false, false, true, "s3://" + bucket + "/"},
		{"actions and megabyte strings", huge(4000, 1000000), false, false, true, "s3://" + bucket + "/"},
		{"multi-byte and control characters", wide, false, false, true, "s3://" + bucket + "/"},
		{"100000 steps", manySteps, false, false, false, "s3://" + bucket + "/"},
		{"200000 instances", manyInstances, false, false, true, "function's log"},
		{"no evidence bucket", noBucket, false, true, true, "function's log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notify.Render(tt.report)
			if size := m.Size(); size > notify.MaxMessageBytes {
				t.Fatalf("message is %d bytes, over SNS's %d", size, notify.MaxMessageBytes)
			}
			if again := notify.Render(tt.report); again.Body != m.Body || again.Subject != m.Subject {
				t.Errorf("rendering the same report twice gave different messages")
			}
			summary, js := split(t, m.Body)
			got := decode(t, js)
			shortened := strings.Contains(summary, "NOTE: the report JSON below is shortened")
			if whole := tt.keepsActions && tt.keepsStrings && tt.keepsSteps; shortened == whole {
				t.Errorf("shortened note present = %v, want %v", shortened, !whole)
			}
			if tt.where != "" && !strings.Contains(summary, tt.where) {
				t.Errorf("summary does not say where the full report is (%q)", tt.where)
			}
			if got.Decision != tt.report.Decision || got.InstanceID != tt.report.InstanceID {
				t.Errorf("JSON lost the decision or instance: %q %q", got.Decision, got.InstanceID)
			}
			if n := len(got.Steps); (n == len(tt.report.Steps)) != tt.keepsSteps {
				t.Errorf("JSON has %d of %d steps, keepsSteps = %v", n, len(tt.report.Steps), tt.keepsSteps)
			}
			for i := range min(len(got.Steps), len(tt.report.Steps)) {
				if got.Steps[i].Status != tt.report.Steps[i].Status {
					t.Errorf("step %d status = %q, want %q", i, got.Steps[i].Status, tt.report.Steps[i].Status)
				}
				if hasActions := len(got.Steps[i].Actions) > 0; hasActions != (tt.keepsActions && len(tt.report.Steps[i].Actions) > 0) {
					t.Errorf("step %d has actions = %v, keepsActions = %v", i, hasActions, tt.keepsActions)
				}
			}
			if (got.Reason == tt.report.Reason) != tt.keepsStrings {
				t.Errorf("reason kept whole = %v, keepsStrings = %v", got.Reason == tt.report.Reason, tt.keepsStrings)
			}
			if !tt.keepsStrings && !strings.Contains(got.Reason, "...[truncated, ") {
				t.Errorf("cut reason has no truncation marker: %.80q", got.Reason)
			}
		})
	}
}

func TestRenderOddReports(t *testing.T) {
	nan := contained()
	nan.Finding.Severity = math.Inf(1)
	tests := []struct {
		name   string
		report *report.Report
		want   string
	}{
		{"nil report", nil, "Firebreak did NOT contain no instance"},
		{"empty report", &report.Report{}, "Firebreak did NOT contain no instance"},
		{"severity JSON cannot encode", nan, "NOTE: the report JSON could not be encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notify.Render(tt.report)
			if !strings.Contains(m.Body, tt.want) {
				t.Errorf("body does not contain %q:\n%s", tt.want, m.Body)
			}
			if m.Size() > notify.MaxMessageBytes {
				t.Errorf("message is %d bytes", m.Size())
			}
		})
	}
}

// oddStrings are inputs a finding or a buggy caller may put where the subject
// reads from.
var oddStrings = []string{
	"", " ", "\n", "\r\n\t", "\x00\x01\x7f", "\xff\xfe", "攻撃🔥", "\u202e\u200b\u2028",
	"Backdoor:EC2/C&CActivity.B", "<script>alert(1)</script>",
	strings.Repeat("A", 1000), strings.Repeat("é", 500), strings.Repeat(" ", 200),
	"Trojan:EC2/" + strings.Repeat("DNS\nData", 30),
}

func randomString(rng *rand.Rand) string {
	n := rng.IntN(300)
	var b strings.Builder
	for range n {
		switch rng.IntN(4) {
		case 0:
			b.WriteByte(byte(rng.IntN(256)))
		case 1:
			b.WriteRune(rune(rng.IntN(0x10ffff)))
		default:
			b.WriteByte(byte(0x20 + rng.IntN(0x5f)))
		}
	}
	return b.String()
}

func TestSubjectProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := append([]string{}, oddStrings...)
	for range 60 {
		types = append(types, randomString(rng))
	}
	shapes := map[string]func() *report.Report{
		"contained": contained, "dry run": dryRun, "notify": notifyTarget, "detach failed": partialFailure,
		"isolation failed": isolationFailure, "already contained": alreadyContained,
		"attack sequence": attackSequence, "ignored": ignored,
		"all failed": func() *report.Report {
			r := contained()
			for i := range r.Steps {
				r.Steps[i].Status, r.Steps[i].Name = report.Failed, randomString(rng)
			}
			return r
		},
		"sample dry run": func() *report.Report {
			r := dryRun()
			r.Finding.Sample = true
			return r
		},
	}
	for name, shape := range shapes {
		for i, typ := range types {
			for _, id := range []string{instanceID, oddStrings[i%len(oddStrings)]} {
				r := shape()
				r.Finding.Type = typ
				r.Finding.Severity = rng.Float64()*12 - 1
				if len(r.Instances) == 0 {
					r.InstanceID = id
				}
				s := notify.Render(r).Subject
				if len(s) == 0 || len(s) >= 100 {
					t.Fatalf("%s: subject is %d bytes: %q", name, len(s), s)
				}
				for j := 0; j < len(s); j++ {
					if s[j] < 0x20 || s[j] > 0x7e {
						t.Fatalf("%s: subject has byte %#x: %q", name, s[j], s)
					}
				}
				if !strings.HasPrefix(s, "Firebreak ") && !strings.HasPrefix(s, "[DRY RUN] Firebreak ") && !strings.HasPrefix(s, "[SAMPLE] [DRY RUN] Firebreak ") {
					t.Fatalf("%s: subject does not start with its tag: %q", name, s)
				}
				if id == instanceID && len(r.Instances) == 0 && !strings.Contains(s, instanceID) {
					t.Fatalf("%s: a long finding type pushed the instance out of the subject: %q", name, s)
				}
			}
		}
	}
}

// Escaping makes the summary grow up to sixfold (" becomes &quot;): its own
// bound must hold when every field is at its limit.
func TestRenderBoundsTheSummary(t *testing.T) {
	r := contained()
	// A control byte shows as four characters: the escaped summary would be
	// four times the size of its fields if nothing bounded it.
	quotes := strings.Repeat("\x01", 1<<20)
	r.Reason, r.Finding.Title = quotes, quotes
	for i := range 40 {
		r.Steps = append(r.Steps, report.Step{Name: quotes, Status: report.Failed, Error: quotes, Detail: quotes, Message: quotes})
		r.Instances = append(r.Instances, quotes)
		r.NACLEntries = append(r.NACLEntries, report.NACLEntry{NetworkACLID: quotes, RuleNumber: int32(i), CIDR: quotes})
	}

	m := notify.Render(r)

	if m.Size() > notify.MaxMessageBytes {
		t.Fatalf("message is %d bytes, over SNS's %d", m.Size(), notify.MaxMessageBytes)
	}
	summary, js := split(t, m.Body)
	if !strings.Contains(summary, "\n...[summary truncated]\n") {
		t.Errorf("summary was not cut at a line end")
	}
	if got := decode(t, js); len(got.Steps) == 0 || got.Steps[0].Status != report.Done {
		t.Errorf("the report JSON was crowded out by the summary")
	}
}

// Console links open the finding and the instance in the console of the
// finding's partition, and are left out where there is no public console or
// the Region is not a Region name.
func TestConsoleLinksPerPartition(t *testing.T) {
	tests := []struct {
		region, domain string
	}{
		{"eu-west-1", "https://eu-west-1.console.aws.amazon.com"},
		{"cn-north-1", "https://cn-north-1.console.amazonaws.cn"},
		{"us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"},
		{"us-iso-east-1", ""},
		{"eu-west-1\nLINKS", ""},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			r := contained()
			r.Region, r.Finding.Region = tt.region, tt.region
			summary, _ := split(t, notify.Render(r).Body)
			finding := "  GuardDuty finding: " + tt.domain + "/guardduty/home?region=" + tt.region + "#/findings?macros=current&fId=" + findingID + "\n"
			instance := "  EC2 instance:      " + tt.domain + "/ec2/home?region=" + tt.region + "#InstanceDetails:instanceId=" + instanceID + "\n"
			if tt.domain == "" {
				if strings.Contains(summary, "\nLINKS\n") || strings.Contains(summary, "https://") {
					t.Errorf("links for a Region without a known console:\n%s", summary)
				}
				return
			}
			if !strings.Contains(summary, finding) || !strings.Contains(summary, instance) {
				t.Errorf("want the lines\n%s%sin\n%s", finding, instance, summary)
			}
		})
	}
}

// The first line says what happened to which instance, in which account and
// Region; the release command comes with a containment, naming the release
// function by its stack output.
func TestTheFirstLineAndTheReleaseCommand(t *testing.T) {
	m := notify.Render(contained())
	first, _, _ := strings.Cut(m.Body, "\n")
	if want := "Firebreak CONTAINED instance " + instanceID + " in account " + account + ", " + region + "."; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
	release := `aws lambda invoke --region eu-west-1 --function-name "$(aws cloudformation describe-stacks --region eu-west-1 --stack-name Firebreak --query "Stacks[0].Outputs[?OutputKey=='ReleaseFunctionName'].OutputValue" --output text)" --cli-binary-format raw-in-base64-out --payload '{"instanceId":"` + instanceID + `","reason":"release after the investigation of GuardDuty finding ` + findingID + `","dryRun":false}' response.json`
	if !strings.Contains(m.Body, "\n      "+release+"\n") {
		t.Errorf("no release command line %s in\n%s", release, m.Body)
	}
	for name, r := range map[string]*report.Report{"dry run": dryRun(), "already contained": alreadyContained(), "isolation failed": isolationFailure()} {
		if strings.Contains(notify.Render(r).Body, "ReleaseFunctionName") {
			t.Errorf("%s: a release command where nothing is to be released", name)
		}
	}
}
