package runbook

import (
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// maxTagValue is AWS's limit on a tag value, in characters.
const maxTagValue = 256

// ReleasedFindings reads the finding ids an instance was released from.
func ReleasedFindings(tags map[string]string) []string {
	return strings.Fields(tags[contract.TagReleasedFindings])
}

// WithReleasedFindings adds ids to a released-findings tag value, most
// recent last, without repeats, dropping the oldest until the value fits in
// a tag: the newest releases are the ones whose re-publications still come.
func WithReleasedFindings(value string, ids ...string) string {
	list := strings.Fields(value)
	for _, id := range ids {
		if id = strings.TrimSpace(id); id == "" || strings.ContainsAny(id, " \t\n") {
			continue
		}
		list = slices.DeleteFunc(list, func(x string) bool { return x == id })
		list = append(list, id)
	}
	for len(list) > 0 && len(strings.Join(list, " ")) > maxTagValue {
		list = list[1:]
	}
	return strings.Join(list, " ")
}

// releasedRepublication reports whether a GuardDuty event is a
// re-publication of a finding a person released the instance from.
func releasedRepublication(inst *instance, t Target) bool {
	return t.FromGuardDuty && inst.Tags[contract.TagStatus] == contract.StatusReleased &&
		slices.Contains(ReleasedFindings(inst.Tags), t.FindingID)
}
