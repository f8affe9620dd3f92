package runbook_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// A failed isolation must never leave an interface more open than it was.
func TestFailedIsolationNeverLeavesAnInterfaceWideOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env, rec *recordingEC2)
	}{
		{"final swap refused", func(e *env, rec *recordingEC2) {
			rec.before = func(op string, in any) error {
				if mi, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput); ok && aws.ToString(mi.NetworkInterfaceId) == e.d.VictimENIs[1] && isIsolationGroup(e.w, mi.Groups) {
					return apiErr("IncorrectState")
				}
				return nil
			}
		}},
		{"isolation group cannot be verified", func(e *env, _ *recordingEC2) {
			e.w.FailAlways("DescribeSecurityGroupRules", "RequestLimitExceeded")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.record()
			tc.setup(e, rec)
			e.contain()
			open := groupByName(t, e.w, e.d.VPC, "firebreak-all-traffic")
			for _, eni := range e.d.VictimENIs {
				if got := groupsOf(e.w, eni); slices.Contains(got, open) {
					t.Errorf("%s left in the all-traffic group %v", eni, got)
				}
			}
		})
	}
}
