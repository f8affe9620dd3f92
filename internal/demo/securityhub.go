package demo

import (
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/finding"
)

// seedSecurityHub turns both Security Hubs on in the demo account and
// imports the first event's GuardDuty finding into them, as GuardDuty's
// integration does a few minutes after the finding.
func seedSecurityHub(w *awsfake.World, first []byte) {
	w.EnableSecurityHub()
	w.EnableSecurityHubV2()
	in, err := finding.Parse(first)
	if err != nil {
		return
	}
	switch {
	case in.SecurityHub != nil:
		for _, f := range in.SecurityHub.Findings {
			if f.FromGuardDuty && f.GuardDutyID != "" {
				w.ImportGuardDutyFinding(f.ID)
			}
		}
	case in.Finding != nil && in.Finding.Arn != "" && !in.IsSample():
		w.ImportGuardDutyFinding(in.Finding.Arn)
	}
}

// writeSecurityHub shows the snapshots' locks and the findings in both
// hubs, read from the fake.
func writeSecurityHub(out io.Writer, w *awsfake.World) {
	var locks []string
	for _, s := range w.Snapshots() {
		l, ok := w.SnapshotLock(aws.ToString(s.SnapshotId))
		if !ok {
			continue
		}
		locks = append(locks, fmt.Sprintf("%s %s %d days", aws.ToString(s.SnapshotId), l.LockState, aws.ToInt32(l.LockDuration)))
	}
	if len(locks) > 0 {
		fmt.Fprintf(out, "   snapshot locks: %s\n", strings.Join(locks, ", "))
	}
	for _, f := range w.SecurityHubFindings() {
		fmt.Fprintf(out, "   Security Hub CSPM finding %s: %s, note %q\n", shortID(f.ID), f.Workflow, aws.ToString(noteText(f)))
	}
	for _, f := range w.SecurityHubV2Findings() {
		fmt.Fprintf(out, "   Security Hub finding %s: status_id %d (2 = In Progress)\n", shortID(f.UID), f.StatusID)
	}
}

func noteText(f awsfake.Finding) *string {
	if f.Note == nil {
		return aws.String("")
	}
	return f.Note.Text
}

// shortID is the finding id at the end of a GuardDuty finding ARN.
func shortID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
