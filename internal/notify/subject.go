package notify

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// maxSubject is one below SNS's "less than 100 characters".
const maxSubject = 99

// stepNouns names each step's failure in the subject ("FAILED isolation of ...").
var stepNouns = map[string]string{
	report.StepCapture:    "capture",
	report.StepProtect:    "protection",
	report.StepIsolate:    "isolation",
	report.StepDetach:     "detach",
	report.StepDeregister: "deregistration",
	report.StepSnapshot:   "snapshot",
	report.StepTag:        "tagging",
}

// subject builds a printable-ASCII line under 100 characters. When it is too
// long the finding type gives way first, so the verb and the instance stay.
func subject(r *report.Report, status string) string {
	if r.Kind == report.KindRelease {
		return releaseSubject(r, status)
	}
	var head strings.Builder
	if r.Finding != nil && r.Finding.Sample {
		head.WriteString("[SAMPLE] ")
	}
	if r.DryRun {
		head.WriteString("[DRY RUN] ")
	}
	head.WriteString("Firebreak ")
	who := subjectTarget(r)
	switch status {
	case StatusContained:
		fmt.Fprintf(&head, "CONTAINED %s", who)
	case StatusFailed:
		fmt.Fprintf(&head, "FAILED %s of %s", failedNouns(r), who)
	case StatusPlanned:
		fmt.Fprintf(&head, "WOULD CONTAIN %s", who)
	case StatusAlreadyContained:
		fmt.Fprintf(&head, "ALREADY CONTAINED %s", who)
	case StatusDriftRepaired:
		fmt.Fprintf(&head, "DRIFT REPAIRED %s", who)
	case StatusIgnored:
		if who == noInstance {
			who = "finding"
		}
		fmt.Fprintf(&head, "IGNORED %s", who)
	default:
		fmt.Fprintf(&head, "NOTIFY %s", who)
	}
	s := head.String()
	if f := r.Finding; f != nil {
		sev := " (sev " + severity(f.Severity) + ")"
		// Room left for "(<type>, sev N)"; a type squeezed below a few
		// characters says nothing, so it is dropped instead.
		room := maxSubject - len(s) - len(sev) - len(", ")
		if t := strings.TrimSpace(ascii(f.Type)); t != "" && room >= 12 {
			sev = " (" + shorten(t, room) + ", sev " + severity(f.Severity) + ")"
		}
		s += sev
	}
	return shorten(s, maxSubject)
}

func subjectTarget(r *report.Report) string {
	if len(r.Instances) > 1 {
		return fmt.Sprintf("%d instances", len(r.Instances))
	}
	id := r.InstanceID
	if id == "" && len(r.Instances) == 1 {
		id = r.Instances[0]
	}
	if id = shorten(strings.TrimSpace(ascii(id)), 40); id != "" {
		return id
	}
	return noInstance
}

const noInstance = "no instance"

// failedNouns names the first failed step and counts the others.
func failedNouns(r *report.Report) string {
	failed := r.Failed()
	if len(failed) == 0 {
		return "step"
	}
	noun, ok := stepNouns[failed[0].Name]
	if !ok {
		noun = shorten(ascii(failed[0].Name), 20)
		if noun == "" {
			noun = "step"
		}
	}
	if len(failed) > 1 {
		noun += fmt.Sprintf(" (+%d more)", len(failed)-1)
	}
	return noun
}

// severity prints a GuardDuty severity as the console does: 8, 8.9.
func severity(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
		return "?"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// band is GuardDuty's name for a severity range.
func band(v float64) string {
	switch {
	case v >= 9 && v <= 10:
		return "Critical"
	case v >= 7 && v < 9:
		return "High"
	case v >= 4 && v < 7:
		return "Medium"
	case v >= 1 && v < 4:
		return "Low"
	}
	return "out of range"
}
