package release

import "github.com/firebreak-ir/firebreak/internal/report"

// credentials undoes credential containment. The contain function does not
// contain credentials yet (issue 10: a deny policy on the instance's role,
// profile disassociation, metadata options); when it does, it records what it
// changed beside the evidence, and this step reads that record and undoes it.
// Until then there is nothing to undo.
func (r *run) credentials() report.Step {
	return report.Step{Name: report.StepCredentials, Status: report.NotApplicable,
		Detail: "the containment recorded no credential change: nothing to undo"}
}
