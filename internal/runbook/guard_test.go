package runbook_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

func tagInstance(t *testing.T, e *env, id string, kv ...string) {
	t.Helper()
	var tags []ec2types.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	if _, err := e.w.Clients().EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
}

// Each case must leave the world exactly as it was, having only read it.
func TestNothingChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup prepares the world and returns the instance to contain.
		setup func(t *testing.T, e *env) string
		want  runbook.Outcome // the flags only
		// first is the capture step's status; rest the other six's.
		first, rest report.Status
		code        string
		// throttled makes DescribeInstances fail during the run.
		throttled bool
	}{
		{
			name: "exempt instance",
			setup: func(t *testing.T, e *env) string {
				tagInstance(t, e, e.d.Victim, contract.TagExempt, "true")
				return e.d.Victim
			},
			want: runbook.Outcome{Exempt: true}, first: report.Skipped, rest: report.Skipped,
		},
		{
			name: "already contained by an earlier finding",
			setup: func(t *testing.T, e *env) string {
				earlier := e.target(e.d.Victim)
				earlier.FindingID = "earlier-finding"
				if out := e.runbook().Run(context.Background(), earlier); out.IsolationFailed {
					t.Fatalf("the earlier containment failed: %+v", out.Steps)
				}
				return e.d.Victim
			},
			want: runbook.Outcome{AlreadyContained: true, Tags: map[string]string{contract.TagFindingID: "earlier-finding"}}, first: report.Skipped, rest: report.Skipped,
		},
		{
			name: "terminated instance",
			setup: func(t *testing.T, e *env) string {
				e.w.SetInstanceState(e.d.Victim, ec2types.InstanceStateNameTerminated)
				return e.d.Victim
			},
			first: report.NotApplicable, rest: report.NotApplicable,
		},
		{
			name: "shutting-down instance",
			setup: func(t *testing.T, e *env) string {
				e.w.SetInstanceState(e.d.Victim, ec2types.InstanceStateNameShuttingDown)
				return e.d.Victim
			},
			first: report.NotApplicable, rest: report.NotApplicable,
		},
		{
			name:  "unknown instance",
			setup: func(*testing.T, *env) string { return "i-0123456789abcdef0" },
			want:  runbook.Outcome{NotFound: true}, first: report.Failed, rest: report.Skipped, code: "InvalidInstanceID.NotFound",
		},
		{
			name:  "sample finding's placeholder id",
			setup: func(*testing.T, *env) string { return "i-99999999" },
			want:  runbook.Outcome{NotFound: true}, first: report.Failed, rest: report.Skipped, code: "InvalidInstanceID.NotFound",
		},
		{
			name:  "malformed instance id",
			setup: func(*testing.T, *env) string { return "GeneratedFindingInstanceId" },
			want:  runbook.Outcome{NotFound: true}, first: report.Failed, rest: report.Skipped, code: "InvalidInstanceID.Malformed",
		},
		{
			name:  "instance cannot be read: a retry may help",
			setup: func(t *testing.T, e *env) string { return e.d.Victim }, throttled: true,
			want: runbook.Outcome{IsolationFailed: true}, first: report.Failed, rest: report.Skipped, code: "RequestLimitExceeded",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := tc.setup(t, e)
			before := state(t, e.w)
			e.w.ResetCalls()
			if tc.throttled {
				e.w.FailAlways("DescribeInstances", "RequestLimitExceeded")
			}

			out := e.runbook().Run(context.Background(), e.target(id))

			calls := e.w.Calls()
			e.w.FailAlways("DescribeInstances", "")
			if got := mutatingOps(calls); len(got) > 0 {
				t.Errorf("mutating calls %v (all calls %v), want none", got, calls)
			}
			if after := state(t, e.w); after != before {
				t.Error("the world changed")
			}
			if out.Exempt != tc.want.Exempt || out.AlreadyContained != tc.want.AlreadyContained || out.Tags[contract.TagFindingID] != tc.want.Tags[contract.TagFindingID] ||
				out.NotFound != tc.want.NotFound || out.IsolationFailed != tc.want.IsolationFailed {
				t.Errorf("outcome flags %+v, want %+v", out, tc.want)
			}
			if out.Evidence != nil || len(out.NACLEntries) > 0 {
				t.Errorf("evidence %+v and NACL entries %v reported for a run that changed nothing", out.Evidence, out.NACLEntries)
			}
			want := map[string]report.Status{}
			for _, name := range report.StepNames {
				want[name] = tc.rest
			}
			want[report.StepCapture] = tc.first
			wantSteps(t, out, want)
			if s := stepOf(t, out, report.StepCapture); s.Error != tc.code {
				t.Errorf("capture error %q, want %q", s.Error, tc.code)
			}
		})
	}
}
