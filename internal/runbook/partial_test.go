package runbook_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// effects says, per step, whether its change to the demo victim is in the
// world ("" when it is).
var effects = map[string]func(e *env) string{
	report.StepCapture: func(e *env) string {
		key := runbook.EvidenceKey(account, region, e.d.Victim, caseID, "capture.json")
		if !slices.ContainsFunc(e.w.Objects(), func(o awsfake.Object) bool { return o.Key == key }) {
			return "no evidence object at " + key
		}
		return ""
	},
	report.StepProtect: func(e *env) string {
		a := e.w.InstanceAttributes(e.d.Victim)
		if !a.DisableAPITermination || a.ShutdownBehavior != "stop" {
			return fmt.Sprintf("attributes %+v", a)
		}
		for _, m := range e.w.Instance(e.d.Victim).BlockDeviceMappings {
			if aws.ToBool(m.Ebs.DeleteOnTermination) {
				return aws.ToString(m.DeviceName) + " still deleted on termination"
			}
		}
		return ""
	},
	report.StepIsolate: func(e *env) string {
		if msg := sgIsolated(e); msg != "" || e.thirdSubnet == "" {
			return msg
		}
		var denies int
		for _, entry := range e.w.NetworkACL(e.w.SubnetNetworkACL(e.thirdSubnet)).Entries {
			cidr := aws.ToString(entry.CidrBlock) + aws.ToString(entry.Ipv6CidrBlock)
			if entry.RuleAction == "deny" && slices.Contains(victimCIDRs(e.d), cidr) {
				denies++
			}
		}
		if want := 2 * len(e.d.VictimIPs); denies != want {
			return fmt.Sprintf("%d deny entries in the third subnet's ACL, want %d", denies, want)
		}
		return ""
	},
	report.StepDetach: func(e *env) string {
		for _, m := range e.w.AutoScalingGroup(e.d.ASG).Instances {
			if aws.ToString(m.InstanceId) == e.d.Victim {
				return "still in " + e.d.ASG
			}
		}
		return ""
	},
	// The ip target group is not the Auto Scaling group's: only the runbook
	// deregisters from it.
	report.StepDeregister: func(e *env) string {
		for _, d := range e.w.Targets(e.d.IPTargetGroup) {
			if aws.ToString(d.Target.Id) == e.d.VictimPrimaryIP && d.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining {
				return "victim still " + string(d.TargetHealth.State) + " in the ip target group"
			}
		}
		return ""
	},
	report.StepSnapshot: func(e *env) string {
		if n := len(e.w.Snapshots()); n != len(e.d.VictimVolumes) {
			return fmt.Sprintf("%d snapshots, want %d", n, len(e.d.VictimVolumes))
		}
		return ""
	},
	report.StepTag: func(e *env) string {
		tags := tagsOf(e.w, e.d.Victim)
		if tags[contract.TagFindingID] != findingID || tags[contract.TagStatus] == "" {
			return fmt.Sprintf("tags %v", tags)
		}
		return ""
	},
}

// sgIsolated says whether every victim interface sits in the isolation group alone.
func sgIsolated(e *env) string {
	iso := groupByName(e.t, e.w, e.d.VPC, "firebreak-isolation")
	for _, eni := range e.d.VictimENIs {
		if got := groupsOf(e.w, eni); iso == "" || !slices.Equal(got, []string{iso}) {
			return fmt.Sprintf("%s is in %v, isolation group %q", eni, got, iso)
		}
	}
	return ""
}

func TestOneFailingOperationNeverStopsTheIndependentSteps(t *testing.T) {
	for _, tc := range []struct {
		op, code string
		// failed lists the steps that must fail, with their error code.
		failed map[string]string
		// sgIsolated: the interfaces are isolated although the step failed
		// (only the network ACL part could not be done).
		sgIsolated bool
		// permanent: the failure is reported but a retry would not fix it.
		permanent bool
		detail    string // must appear in the capture step's detail
	}{
		{op: "ModifyInstanceAttribute", code: "UnauthorizedOperation", failed: map[string]string{report.StepProtect: "UnauthorizedOperation"}},
		{op: "DescribeSecurityGroups", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded"}},
		{op: "CreateSecurityGroup", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded"}},
		{op: "RevokeSecurityGroupEgress", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded"}},
		{op: "AuthorizeSecurityGroupIngress", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded"}},
		{op: "ModifyNetworkInterfaceAttribute", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded"}},
		{op: "DescribeSecurityGroupRules", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded", report.StepCapture: "Incomplete"}},
		// The pre-change ACLs are part of the evidence (release checks against them).
		{op: "DescribeNetworkAcls", code: "RequestLimitExceeded", failed: map[string]string{report.StepIsolate: "RequestLimitExceeded", report.StepCapture: "Incomplete"}, sgIsolated: true},
		{op: "DescribeInstanceAttribute", code: "RequestLimitExceeded", failed: map[string]string{report.StepCapture: "Incomplete"}},
		// A quota a retry cannot lift: reported, not retried.
		{op: "CreateNetworkAclEntry", code: "NetworkAclEntryLimitExceeded", failed: map[string]string{report.StepIsolate: "NetworkAclEntryLimitExceeded"}, sgIsolated: true, permanent: true},
		{op: "DescribeAutoScalingInstances", code: "Throttling", failed: map[string]string{report.StepDetach: "Throttling", report.StepCapture: "Incomplete"}},
		{op: "DetachInstances", code: "Throttling", failed: map[string]string{report.StepDetach: "Throttling"}},
		{op: "DescribeLoadBalancers", code: "Throttling", failed: map[string]string{report.StepDeregister: "Throttling", report.StepCapture: "Incomplete"}},
		{op: "DescribeTargetGroups", code: "Throttling", failed: map[string]string{report.StepDeregister: "Throttling", report.StepCapture: "Incomplete"}},
		{op: "DescribeTargetHealth", code: "Throttling", failed: map[string]string{report.StepDeregister: "Throttling", report.StepCapture: "Incomplete"}},
		{op: "DeregisterInstancesFromLoadBalancer", code: "Throttling", failed: map[string]string{report.StepDeregister: "Throttling"}},
		{op: "DeregisterTargets", code: "Throttling", failed: map[string]string{report.StepDeregister: "Throttling"}},
		{op: "DescribeVolumes", code: "RequestLimitExceeded", failed: map[string]string{report.StepCapture: "Incomplete"}},
		// The credentials step needs the association to remove it.
		{op: "DescribeIamInstanceProfileAssociations", code: "RequestLimitExceeded", failed: map[string]string{report.StepCapture: "Incomplete", report.StepCredentials: "RequestLimitExceeded"}},
		{op: "DisassociateIamInstanceProfile", code: "RequestLimitExceeded", failed: map[string]string{report.StepCredentials: "RequestLimitExceeded"}},
		{op: "ModifyInstanceMetadataOptions", code: "UnauthorizedOperation", failed: map[string]string{report.StepCredentials: "UnauthorizedOperation"}, permanent: true},
		{op: "GetInstanceProfile", code: "Throttling", failed: map[string]string{report.StepCredentials: "Throttling"}},
		{op: "CreatePolicy", code: "Throttling", failed: map[string]string{report.StepCredentials: "Throttling"}},
		{op: "AttachRolePolicy", code: "LimitExceeded", failed: map[string]string{report.StepCredentials: "LimitExceeded"}, permanent: true},
		{op: "GetConsoleOutput", code: "RequestLimitExceeded", detail: "console output unavailable (RequestLimitExceeded)"},
		{op: "PutObject", code: "ServiceUnavailable", failed: map[string]string{report.StepCapture: "ServiceUnavailable"}},
		{op: "DescribeSnapshots", code: "RequestLimitExceeded", failed: map[string]string{report.StepSnapshot: "RequestLimitExceeded"}},
		{op: "CreateSnapshots", code: "IncorrectState", failed: map[string]string{report.StepSnapshot: "IncorrectState"}},
		// The evidence is stored, but not named on the instance.
		{op: "CreateTags", code: "RequestLimitExceeded", failed: map[string]string{report.StepTag: "RequestLimitExceeded", report.StepCapture: "EvidenceNotTagged"}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			e := newEnv(t)
			e.opt.NACL = true
			e.thirdSubnet, _, _ = e.addThirdSubnet()
			if tc.code == "UnauthorizedOperation" {
				e.w.Deny(tc.op)
			} else {
				e.w.FailAlways(tc.op, tc.code)
			}

			out := e.contain()

			e.w.FailAlways(tc.op, "")
			e.w.Allow(tc.op)
			want := map[string]report.Status{}
			for name := range tc.failed {
				want[name] = report.Failed
			}
			wantSteps(t, out, want)
			for name, code := range tc.failed {
				if s := stepOf(t, out, name); s.Error != code {
					t.Errorf("%s: error %q (%s), want %q", name, s.Error, s.Message, code)
				}
			}
			for name, check := range effects {
				if _, failed := tc.failed[name]; failed {
					continue
				}
				if msg := check(e); msg != "" {
					t.Errorf("%s done but not in the world: %s", name, msg)
				}
			}
			if tc.sgIsolated {
				if msg := sgIsolated(e); msg != "" {
					t.Errorf("security-group isolation should not depend on the network ACLs: %s", msg)
				}
			}
			_, isoFailed := tc.failed[report.StepIsolate]
			isoFailed = isoFailed && !tc.permanent
			if out.IsolationFailed != isoFailed {
				t.Errorf("IsolationFailed %v, want %v", out.IsolationFailed, isoFailed)
			}
			if status := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; isoFailed && status != contract.StatusIsolationFailed {
				t.Errorf("status tag %q after a failed isolation, want %q", status, contract.StatusIsolationFailed)
			}
			if d := stepOf(t, out, report.StepCapture).Detail; !strings.Contains(d, tc.detail) {
				t.Errorf("capture detail %q does not contain %q", d, tc.detail)
			}
		})
	}
}
