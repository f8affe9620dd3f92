package metrics

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Invocation is what one invocation of a Firebreak function did.
type Invocation struct {
	Kind report.Kind
	// Start is when the invocation began handling its event.
	Start   time.Time
	Reports []*report.Report
	// AWSCalls counts the HTTP requests sent to AWS, retries included.
	AWSCalls int64
}

// Emitter writes one invocation's metrics to a Lambda function's log stream.
type Emitter struct {
	W io.Writer
	// Level is the application log level Lambda filters by
	// (AWS_LAMBDA_LOG_LEVEL); the line carries it so it is never filtered out.
	Level string
}

// Lambda writes to standard output, where Lambda collects the log stream:
// a raw JSON line there is extracted as EMF, inside a slog message it is not.
func Lambda() Emitter {
	return Emitter{W: os.Stdout, Level: os.Getenv("AWS_LAMBDA_LOG_LEVEL")}
}

// Emit writes the invocation's EMF lines, each with a single Write so that
// log lines written concurrently never interleave with it.
func (e Emitter) Emit(inv Invocation) error {
	if e.W == nil {
		return nil
	}
	for _, doc := range Documents(inv, e.Level) {
		line, err := doc.Encode()
		if err != nil {
			return fmt.Errorf("writing the metrics of the invocation: %w", err)
		}
		if _, err := e.W.Write(line); err != nil {
			return fmt.Errorf("writing the metrics of the invocation: %w", err)
		}
	}
	return nil
}

// Documents lays an invocation out as EMF documents: one, plus one for each
// further step that failed (an EMF document holds one value per dimension,
// and the step is one). An invocation that produced no report has none.
func Documents(inv Invocation, level string) []Document {
	if len(inv.Reports) == 0 {
		return nil
	}
	props := map[string]any{
		// Lambda's log-level filter reads "level" and "timestamp" (RFC 3339)
		// from a JSON line; a line without both is taken for INFO.
		"level":     lineLevel(level),
		"timestamp": inv.Start.UTC().Format(time.RFC3339Nano),
	}
	kind := string(inv.Kind)
	if kind == "" {
		kind = string(inv.Reports[0].Kind)
	}
	main := Document{
		Namespace: contract.MetricNamespace, Timestamp: inv.Start, Properties: props,
		Dimensions: map[string]string{contract.DimFindingFamily: Family(inv.Reports[0]), contract.DimKind: boundedName(kind)},
		Values:     map[string][]float64{},
	}

	counts := map[string]float64{}
	var isolation []float64
	var failedSteps []string
	failures := map[string]float64{}
	var missingRoles, budgetFull float64
	for _, r := range inv.Reports {
		if r == nil {
			continue
		}
		missingRoles += float64(r.MemberRoleMissing)
		if r.Credentials != nil && r.Credentials.BudgetFull {
			budgetFull++
		}
		o := Outcome(r)
		if o != "" {
			counts[o]++
		}
		if o == contract.MetricContained && !r.IsolatedAt.IsZero() && len(isolation) < MaxValuesPerMetric {
			isolation = append(isolation, nonNegative(float64(r.IsolatedAt.Sub(inv.Start))/float64(time.Millisecond)))
		}
		for _, st := range r.Failed() {
			name := boundedName(st.Name)
			if failures[name] == 0 {
				failedSteps = append(failedSteps, name)
			}
			failures[name]++
		}
	}

	outcomes := Directive{Dimensions: [][]string{{}, {contract.DimFindingFamily}}}
	for _, name := range outcomeNames {
		if n := counts[name]; n > 0 {
			outcomes.Metrics = append(outcomes.Metrics, Metric{Name: name, Unit: Count})
			main.Values[name] = []float64{n}
		}
	}
	// Timings and the member-role count, without dimensions (the alarms
	// read them so).
	timings := Directive{Dimensions: [][]string{{}}}
	if len(isolation) > 0 {
		timings.Metrics = append(timings.Metrics, Metric{Name: contract.MetricTimeToIsolation, Unit: Milliseconds})
		main.Values[contract.MetricTimeToIsolation] = isolation
	}
	if age, ok := findingAge(inv); ok {
		timings.Metrics = append(timings.Metrics, Metric{Name: contract.MetricFindingAge, Unit: Seconds})
		main.Values[contract.MetricFindingAge] = []float64{age}
	}
	if s := inv.Reports[0].Sweep; s != nil {
		timings.Metrics = append(timings.Metrics, Metric{Name: contract.MetricVerified, Unit: Count})
		main.Values[contract.MetricVerified] = []float64{float64(s.Verified)}
	}
	if missingRoles > 0 {
		timings.Metrics = append(timings.Metrics, Metric{Name: contract.MetricMemberRoleMissing, Unit: Count})
		main.Values[contract.MetricMemberRoleMissing] = []float64{missingRoles}
	}
	if budgetFull > 0 {
		timings.Metrics = append(timings.Metrics, Metric{Name: contract.MetricCredentialBudgetFull, Unit: Count})
		main.Values[contract.MetricCredentialBudgetFull] = []float64{budgetFull}
	}
	calls := Directive{Dimensions: [][]string{{contract.DimKind}}, Metrics: []Metric{{Name: contract.MetricAWSCalls, Unit: Count}}}
	main.Values[contract.MetricAWSCalls] = []float64{float64(inv.AWSCalls)}
	for _, d := range []Directive{outcomes, timings, calls} {
		if len(d.Metrics) > 0 {
			main.Directives = append(main.Directives, d)
		}
	}

	docs := []Document{main}
	stepFailed := Directive{Dimensions: [][]string{{contract.DimStep}}, Metrics: []Metric{{Name: contract.MetricStepFailed, Unit: Count}}}
	for i, step := range failedSteps {
		d := &docs[0]
		if i > 0 {
			docs = append(docs, Document{Namespace: contract.MetricNamespace, Timestamp: inv.Start, Properties: props,
				Dimensions: map[string]string{}, Values: map[string][]float64{}})
			d = &docs[len(docs)-1]
		}
		d.Dimensions[contract.DimStep] = step
		d.Values[contract.MetricStepFailed] = []float64{failures[step]}
		d.Directives = append(d.Directives, stepFailed)
	}
	return docs
}

// outcomeNames are the outcome metrics, in the order they are written.
var outcomeNames = []string{
	contract.MetricContained, contract.MetricIsolationFailed, contract.MetricWouldContain, contract.MetricAlreadyContained,
	contract.MetricNotified, contract.MetricIgnored, contract.MetricHeldByGuard, contract.MetricReleased, contract.MetricDrift,
}

// Outcome names the one outcome metric a report counts for, or "" for none.
// New outcomes are one case each.
func Outcome(r *report.Report) string {
	switch {
	case r.Kind == report.KindRelease:
		if r.Decision == report.Release && len(r.Failed()) == 0 && !r.DryRun {
			return contract.MetricReleased
		}
		return ""
	case r.Kind == report.KindSweep || r.AlreadyContained && len(r.Drift) > 0:
		if len(r.Drift) > 0 && len(r.Failed()) == 0 {
			return contract.MetricDrift
		}
		if r.Kind == report.KindSweep {
			return ""
		}
		return contract.MetricAlreadyContained
	case r.Guard != nil && r.Guard.Outcome == report.GuardHeld:
		return contract.MetricHeldByGuard
	case r.Decision == report.Ignore:
		return contract.MetricIgnored
	case r.Decision == report.Notify:
		return contract.MetricNotified
	case r.AlreadyContained:
		return contract.MetricAlreadyContained
	case IsolationFailed(r):
		return contract.MetricIsolationFailed
	case r.DryRun:
		return contract.MetricWouldContain
	case stepStatus(r, report.StepIsolate) == report.Done:
		return contract.MetricContained
	}
	// Nothing to isolate (terminated, not found, no interface): a person is told.
	return contract.MetricNotified
}

// IsolationFailed reports a containment that left the instance able to reach
// the network: the isolate step failed, or the instance could not be read
// for a reason a retry may fix.
func IsolationFailed(r *report.Report) bool {
	if r.Decision != report.Contain || r.DryRun || r.AlreadyContained {
		return false
	}
	if stepStatus(r, report.StepIsolate) == report.Failed {
		return true
	}
	capture := r.Step(report.StepCapture)
	iso := stepStatus(r, report.StepIsolate)
	return capture != nil && capture.Status == report.Failed && (iso == "" || iso == report.Skipped) &&
		!slices.Contains(goneCodes, capture.Error)
}

// goneCodes mean the instance does not exist: nothing is left to isolate.
var goneCodes = []string{"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}

func stepStatus(r *report.Report, name string) report.Status {
	if st := r.Step(name); st != nil {
		return st.Status
	}
	return ""
}

// findingAge is how long after GuardDuty's last update of the finding the
// invocation started. Only for events EventBridge delivered: a person sending
// an old finding from Security Hub, or a manual request, says nothing about
// the delivery path.
func findingAge(inv Invocation) (float64, bool) {
	for _, r := range inv.Reports {
		if r != nil && r.Source == finding.SourceGuardDuty && r.Finding != nil && !r.Finding.UpdatedAt.IsZero() {
			return nonNegative(inv.Start.Sub(r.Finding.UpdatedAt).Seconds()), true
		}
	}
	return 0, false
}

// families are GuardDuty's threat purposes, the first part of a finding type
// (ThreatPurpose:ResourceTypeAffected/ThreatFamilyName...). Only these become
// dimension values, so an odd type cannot create metrics without bound.
var families = []string{
	"AttackSequence", "Backdoor", "Behavior", "CredentialAccess", "CryptoCurrency", "DefenseEvasion", "Discovery",
	"Execution", "Exfiltration", "Impact", "InitialAccess", "PenTest", "Persistence", "Policy", "PrivilegeEscalation",
	"Recon", "Stealth", "Trojan", "UnauthorizedAccess",
}

// Family is the FindingFamily dimension of a report: the finding type's
// threat purpose, "Manual" for a manual request, "None" without a finding and
// "Other" for a type GuardDuty does not document.
func Family(r *report.Report) string {
	if r.Finding == nil || r.Finding.Type == "" {
		if r.Source == finding.SourceManual {
			return "Manual"
		}
		return "None"
	}
	purpose, _, _ := strings.Cut(r.Finding.Type, ":")
	for _, f := range families {
		if strings.EqualFold(purpose, f) {
			return f
		}
	}
	return "Other"
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// boundedName keeps step names and kinds as they are when they look like
// Firebreak's own, and folds anything else into "other".
func boundedName(s string) string {
	if len(s) <= 32 && namePattern.MatchString(s) {
		return s
	}
	return "other"
}

func lineLevel(configured string) string {
	switch l := strings.ToUpper(configured); l {
	case "WARN", "ERROR", "FATAL":
		return l
	}
	return "INFO"
}

func nonNegative(v float64) float64 { return max(v, 0) }
