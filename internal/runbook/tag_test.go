package runbook_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func TestTagRecordsTheContainment(t *testing.T) {
	e := newEnv(t)
	tgt := e.target(e.d.Victim)
	tgt.Reason = "C&C over DNS\nfrom \"kworkerds\"\t(pid 30112)"

	out := e.runbook().Run(context.Background(), tgt)

	wantSteps(t, out, nil)
	tags := tagsOf(e.w, e.d.Victim)
	for k, v := range map[string]string{
		contract.TagStatus:      contract.StatusContained,
		contract.TagFindingID:   findingID,
		contract.TagCaseID:      caseID,
		contract.TagContainedAt: awsfake.Epoch.Format(time.RFC3339),
		contract.TagReason:      `C&C over DNS from "kworkerds" (pid 30112)`,
		"Name":                  "web-1", // the owner's tags stay
	} {
		if tags[k] != v {
			t.Errorf("tag %s=%q, want %q", k, tags[k], v)
		}
	}
}

func TestFailedIsolationIsTaggedAndRetried(t *testing.T) {
	e := newEnv(t)
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	rb := e.runbook()

	first := rb.Run(context.Background(), e.target(e.d.Victim))
	if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; !first.IsolationFailed || got != contract.StatusIsolationFailed {
		t.Fatalf("first run: IsolationFailed %v, status tag %q; want true, %q", first.IsolationFailed, got, contract.StatusIsolationFailed)
	}
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")

	second := rb.Run(context.Background(), e.target(e.d.Victim))

	if second.AlreadyContained || second.IsolationFailed || stepOf(t, second, report.StepIsolate).Status != report.Done {
		t.Fatalf("retry: already contained %v, isolation failed %v, isolate %s; want a real second attempt that isolates",
			second.AlreadyContained, second.IsolationFailed, stepOf(t, second, report.StepIsolate).Status)
	}
	if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; got != contract.StatusContained {
		t.Errorf("status tag after the retry %q, want %q", got, contract.StatusContained)
	}
	third := rb.Run(context.Background(), e.target(e.d.Victim))
	if !third.AlreadyContained || third.Tags[contract.TagFindingID] != findingID {
		t.Errorf("third run: already contained %v, prior finding %q; want true, %q", third.AlreadyContained, third.Tags[contract.TagFindingID], findingID)
	}
}

// The status tag is written beside the final swap, so it alone does not prove
// isolation: a run verifies the interfaces and puts them back, without
// containing again (no new capture, no blast-radius token).
func TestContainedTagWithoutIsolationIsRepaired(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *env)
	}{
		{
			name: "tag says contained, interfaces never isolated",
			setup: func(t *testing.T, e *env) {
				tagInstance(t, e, e.d.Victim, contract.TagStatus, contract.StatusContained)
			},
		},
		{
			name: "an interface was moved back out after containment",
			setup: func(t *testing.T, e *env) {
				e.contain()
				if _, err := e.w.Clients().EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
					NetworkInterfaceId: aws.String(e.d.VictimENIs[1]), Groups: []string{e.d.AppGroup}}); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "a group was added beside the isolation group",
			setup: func(t *testing.T, e *env) {
				e.contain()
				iso, _ := firebreakGroups(t, e.w, e.d.VPC)
				if _, err := e.w.Clients().EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
					NetworkInterfaceId: aws.String(e.d.VictimENIs[0]), Groups: []string{iso, e.d.WebGroup}}); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(t, e)

			out := e.contain()

			c := checkOf(t, out, report.CheckInterfaces)
			if !out.AlreadyContained || c.Status != report.Done || len(c.Drift) == 0 || !strings.Contains(c.Detail, "drift found and repaired") {
				t.Fatalf("already contained %v, interfaces check %+v; want the drift found and repaired", out.AlreadyContained, c)
			}
			iso, _ := firebreakGroups(t, e.w, e.d.VPC)
			for _, eni := range e.d.VictimENIs {
				if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
					t.Errorf("%s is in %v, want [%s]", eni, got, iso)
				}
			}
		})
	}
}
