package securityhub

import (
	"fmt"
	"slices"

	"github.com/firebreak-ir/firebreak/internal/finding"
)

// Findings names the findings an event is about, as each hub holds them:
// a GuardDuty event's finding by its ARN, or the findings of a Security Hub
// custom action that name the instance, by their own Id and ProductArn. A
// manual request names none. The release function reads the event kept in
// capture.json and calls this with it.
func Findings(in *finding.Input, instanceID string) []Finding {
	var out []Finding
	switch {
	case in == nil:
	case in.SecurityHub != nil:
		for _, f := range in.SecurityHub.Findings {
			if slices.Contains(f.Instances, instanceID) && f.ID != "" && f.ProductArn != "" {
				out = append(out, ASFF(f.ProductArn, f.ID))
			}
		}
	case in.Source == finding.SourceGuardDuty && in.Finding != nil:
		if f, ok := GuardDuty(guardDutyARN(in.Finding)); ok {
			out = append(out, f)
		}
	}
	return out
}

// guardDutyARN is the finding's ARN: detail.arn, or built from the detector
// and finding ids as GuardDuty builds it.
func guardDutyARN(f *finding.Finding) string {
	if f.Arn != "" || f.Service.DetectorID == "" || f.ID == "" {
		return f.Arn
	}
	partition := f.Partition
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:guardduty:%s:%s:detector/%s/finding/%s", partition, f.Region, f.AccountID, f.Service.DetectorID, f.ID)
}
