package notify

import (
	"fmt"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// Values of the status attribute for release reports.
const (
	StatusReleased        = "released"
	StatusAlreadyReleased = "already-released"
	StatusRefused         = "refused"
)

// releaseStatus sums up a release report; a failed step wins.
func releaseStatus(r *report.Report) string {
	switch {
	case len(r.Failed()) > 0 && r.Decision == report.Release:
		return StatusFailed
	case r.AlreadyReleased:
		return StatusAlreadyReleased
	case r.Decision == report.Release && r.DryRun:
		return StatusPlanned
	case r.Decision == report.Release:
		return StatusReleased
	}
	return StatusRefused
}

func releaseSubject(r *report.Report, status string) string {
	head := "Firebreak "
	if r.DryRun {
		head = "[DRY RUN] " + head
	}
	who := subjectTarget(r)
	switch status {
	case StatusReleased:
		head += "RELEASED " + who
	case StatusPlanned:
		head += "WOULD RELEASE " + who
	case StatusAlreadyReleased:
		head += "ALREADY RELEASED " + who
	case StatusFailed:
		head += fmt.Sprintf("RELEASE FAILED (%s) %s", failedNouns(r), who)
	default:
		head += "RELEASE REFUSED " + who
	}
	return shorten(head, maxSubject)
}

func releaseHeadline(r *report.Report, status string) string {
	who := "instance " + text(r.InstanceID, maxField)
	switch status {
	case StatusReleased:
		return fmt.Sprintf("Firebreak released %s from its verified evidence.", who)
	case StatusPlanned:
		return fmt.Sprintf("DRY RUN: Firebreak would release %s. Nothing was changed.", who)
	case StatusAlreadyReleased:
		return fmt.Sprintf("Firebreak found %s already released and changed nothing.", who)
	case StatusFailed:
		var names []string
		for _, st := range r.Failed() {
			names = append(names, text(st.Name, maxField))
		}
		return fmt.Sprintf("Firebreak released %s only in part: these steps FAILED: %s (see WHAT TO DO NEXT).", who, strings.Join(names, ", "))
	}
	return fmt.Sprintf("Firebreak did not release %s: nothing was changed.", who)
}

func releaseNextSteps(r *report.Report, status string) []string {
	switch status {
	case StatusReleased:
		out := []string{"The instance is back on its network. Its snapshots and the evidence are kept; delete them by hand when the case is closed, if your retention allows."}
		if !r.Reattach {
			out = append(out, "It was not put back in its Auto Scaling group or load balancers (reattach was not asked): release again with \"reattach\": true to do so.")
		}
		return out
	case StatusPlanned:
		return []string{"Review the plan: the actions listed under each step are what a real release would do.",
			"To release for real, send the same request with \"dryRun\": false to the release function."}
	case StatusAlreadyReleased:
		return []string{"No action is needed."}
	case StatusFailed:
		return []string{"Fix the cause of each failed step (its error is above), then send the release again: it repeats nothing that succeeded.",
			"An interface left in the isolation group stays cut off: restore it by hand from the evidence if the cause cannot be fixed."}
	}
	return []string{"Nothing was changed. Read the reason above; release by hand from the evidence if Firebreak cannot."}
}
