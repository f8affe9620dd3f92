package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// tag records the release on the instance: its status, when, why and by
// whom, and the findings whose re-publications the contain function must
// now ignore. The case id, the finding id and the containment's tags stay.
func (r *run) tag(ctx context.Context) report.Step {
	findings := runbook.WithReleasedFindings(r.tags[contract.TagReleasedFindings],
		append([]string{r.tags[contract.TagFindingID]}, r.req.FindingIDs...)...)
	if r.tags[contract.TagStatus] == contract.StatusReleased && findings == r.tags[contract.TagReleasedFindings] {
		return report.Step{Name: report.StepTag, Status: report.Skipped,
			Detail: fmt.Sprintf("already recorded as released at %s by %s", r.tags[contract.TagReleasedAt], r.tags[contract.TagReleasedBy])}
	}
	tags := map[string]string{
		contract.TagStatus:           contract.StatusReleased,
		contract.TagReleasedAt:       r.now.Format(time.RFC3339),
		contract.TagReleasedReason:   tagValue(r.req.Reason),
		contract.TagReleasedBy:       tagValue(r.req.RequestedBy),
		contract.TagReleasedFindings: findings,
	}
	var actions []string
	var sdk []ec2types.Tag
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if tags[k] == "" {
			continue
		}
		actions = append(actions, r.verb("tag "+k+"="+tags[k]))
		sdk = append(sdk, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	_, err := r.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.req.InstanceID}, Tags: sdk, DryRun: aws.Bool(r.req.DryRun)})
	if r.req.DryRun {
		err = awserr.DryRunOK(err)
	}
	if err != nil {
		return failedStep(report.StepTag, "the release is not recorded on the instance: a re-publication of its finding would contain it again",
			fmt.Errorf("tagging %s released: %w", r.req.InstanceID, err), actions)
	}
	return report.Step{Name: report.StepTag, Status: r.plan(), Actions: actions,
		Detail: fmt.Sprintf("%s=%s; re-publications of %s are ignored", contract.TagStatus, contract.StatusReleased, findings)}
}

// tagValue keeps free text within a tag: printable, at most 256 characters.
func tagValue(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	if r := []rune(s); len(r) > 256 {
		s = string(r[:256])
	}
	return s
}

func failedStep(name, detail string, err error, actions []string) report.Step {
	return report.Step{Name: name, Status: report.Failed, Detail: detail, Error: awserr.Code(err), Message: err.Error(), Actions: actions}
}
