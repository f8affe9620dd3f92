package runbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// tag marks the instance for forensics with the containment's status.
func (r *run) tag(ctx context.Context, status string) report.Step {
	tags := map[string]string{
		contract.TagStatus:      status,
		contract.TagFindingID:   r.t.FindingID,
		contract.TagCaseID:      r.t.CaseID,
		contract.TagContainedAt: r.now.Format(time.RFC3339),
		contract.TagReason:      truncate(printable(r.t.Reason), 256),
	}
	var actions []string
	for _, k := range sortedKeys(tags) {
		if tags[k] != "" {
			actions = append(actions, k+"="+tags[k])
		}
	}
	_, err := r.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.inst.ID}, Tags: ec2Tags(tags), DryRun: aws.Bool(r.t.DryRun)})
	if r.t.DryRun {
		err = dryRunOK(err)
	}
	if err != nil {
		return failed(report.StepTag, "instance not tagged", fmt.Errorf("tagging %s: %w", r.inst.ID, err), actions)
	}
	return step(report.StepTag, r.plan(), actions, "%s=%s", contract.TagStatus, status)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// printable drops control characters: reasons can quote finding content.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
