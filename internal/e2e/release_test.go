package e2e_test

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// registrations lists a target group's targets by id and port, whatever
// their health (a target registered again is "initial" until its checks
// pass, on the wall clock the function shares with the world).
func (e *env) registrations(arn string) []string {
	var out []string
	for _, th := range e.w.AWS.Targets(arn) {
		if th.TargetHealth.State != "draining" {
			out = append(out, fmt.Sprintf("%s:%d", aws.ToString(th.Target.Id), aws.ToInt32(th.Target.Port)))
		}
	}
	slices.Sort(out)
	return out
}

// TestReleaseRestoresTheWorld runs the real contain bootstrap, then the real
// release bootstrap, each under the emulator over the simulator, and reads
// the world back: what containment changed is as it was.
func TestReleaseRestoresTheWorld(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	d := e.w.Demo
	before := e.state()
	classic := slices.Sorted(slices.Values(e.w.AWS.ClassicLBInstances(d.ClassicLB)))
	targets := map[string][]string{d.TargetGroup: e.registrations(d.TargetGroup), d.IPTargetGroup: e.registrations(d.IPTargetGroup)}
	cfg := e.w.FunctionConfig()
	cfg.Release = true
	rel := e.newFunction(context.Background(), cfg)

	e.mustInvoke(e.f, events.Must(events.Default))
	e.contained(backdoorID)
	rep := e.mustInvoke(rel, events.Must("manual-release.json"))

	if rep.Kind != report.KindRelease || rep.Decision != report.Release || len(rep.Failed()) > 0 {
		t.Fatalf("release: %s %s: %s %+v", rep.Kind, rep.Decision, rep.Reason, rep.Steps)
	}
	// Restored: interfaces, attributes, volumes, groups (Firebreak's deleted),
	// ACLs, the bystander untouched; registrations in any order.
	e.unchanged(before, "victim", "autoScalingGroup", "classicLB", "targetGroup", "ipTargetGroup", "snapshots", "objects", "published")
	if got := slices.Sorted(slices.Values(e.w.AWS.ClassicLBInstances(d.ClassicLB))); !slices.Equal(got, classic) {
		t.Errorf("%s instances %v, want %v (in any order)", d.ClassicLB, got, classic)
	}
	for arn, want := range targets {
		if got := e.registrations(arn); !slices.Equal(got, want) {
			t.Errorf("%s registrations %v, want %v", arn, got, want)
		}
	}
	g := e.w.AWS.AutoScalingGroup(d.ASG)
	in := false
	for _, m := range g.Instances {
		in = in || (aws.ToString(m.InstanceId) == victim && m.LifecycleState == "InService")
	}
	if !in {
		t.Errorf("%s members %+v: want the victim InService again", d.ASG, g.Instances)
	}
	if got := tagValue(e.w.AWS, victim, contract.TagStatus); got != contract.StatusReleased {
		t.Errorf("status tag %q, want released", got)
	}
	if by := tagValue(e.w.AWS, victim, contract.TagReleasedBy); !strings.Contains(by, "lambda request ") {
		t.Errorf("released-by %q carries no Lambda request id", by)
	}

	// GuardDuty's re-publication reaches the contain function: nothing changes.
	e.w.Sim.ResetStats()
	again := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2-update.json"))
	if again.Decision != report.Notify || !strings.Contains(again.Reason, "re-publication ignored") {
		t.Errorf("re-publication after release: %s: %s", again.Decision, again.Reason)
	}
	if m := mutating(e.w.Sim.Stats()); len(m) > 0 {
		t.Errorf("the re-publication changed %v", m)
	}
}

func TestReleaseBuildIsTheReleaseFunction(t *testing.T) {
	t.Parallel()
	bi, err := buildinfo.ReadFile(bins.Release)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != e2e.ReleasePackage {
		t.Errorf("release bootstrap is %s, want %s", bi.Path, e2e.ReleasePackage)
	}
}
