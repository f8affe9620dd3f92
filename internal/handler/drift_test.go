package handler_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/metrics"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func (e *env) isolationGroup() string {
	e.t.Helper()
	out, err := e.w.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{contract.IsolationGroupName}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		e.t.Fatalf("isolation group: %v %v", err, out)
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

// victimDenies lists the hard cut's entries for the victim's primary address.
func (e *env) victimDenies() []string {
	var out []string
	for _, en := range e.w.NetworkACL(e.d.NetworkACL).Entries {
		if en.RuleAction == ec2types.RuleActionDeny && aws.ToString(en.CidrBlock) == e.d.VictimPrimaryIP+"/32" {
			out = append(out, aws.ToString(en.CidrBlock))
		}
	}
	return out
}

// A rule added to the isolation group and a deleted ACL entry: the
// re-delivery of the finding already reported finds both, repairs them and
// publishes a drift report (DriftRepaired); the next re-delivery is quiet; a
// release removes the ACL entry the repair re-created.
func TestRedeliveryRepairsDriftAndPublishesIt(t *testing.T) {
	e := newEnv(t, victim, map[string]string{contract.EnvIsolation: contract.IsolationSGNACL})
	var lines bytes.Buffer
	e.h = handler.New(e.cfg, awsfake.Factory{W: e.w}, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(e.w.Now),
		handler.WithMetrics(metrics.Emitter{W: &lines}))
	if dl := e.handle(events.Must("guardduty-backdoor-c2.json")); dl.err != nil || len(dl.published) != 1 {
		t.Fatalf("containment: %v, %d published", dl.err, len(dl.published))
	}
	denies := e.victimDenies()
	if len(denies) != 2 {
		t.Fatalf("hard cut for %s: %v, want ingress and egress", e.d.VictimPrimaryIP, denies)
	}
	ctx := context.Background()
	api := e.w.Clients().EC2
	if _, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(e.isolationGroup()),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, en := range e.w.NetworkACL(e.d.NetworkACL).Entries {
		if aws.ToString(en.CidrBlock) == e.d.VictimPrimaryIP+"/32" && aws.ToBool(en.Egress) {
			if _, err := api.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(e.d.NetworkACL), RuleNumber: en.RuleNumber, Egress: en.Egress}); err != nil {
				t.Fatal(err)
			}
		}
	}
	lines.Reset()
	e.w.Advance(time.Hour) // GuardDuty re-publishes later

	dl := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	rep := dl.only(t)
	if dl.err != nil || !rep.AlreadyContained || len(dl.published) != 1 || !strings.Contains(rep.Reason, "drift found and repaired") {
		t.Fatalf("re-delivery after drift: %v, already contained %v, %d published, reason %q", dl.err, rep.AlreadyContained, len(dl.published), rep.Reason)
	}
	joined := strings.Join(rep.Drift, "; ")
	if !strings.Contains(joined, "allows ingress tcp 22-22 0.0.0.0/0") || !strings.Contains(joined, "no deny of "+e.d.VictimPrimaryIP+"/32") {
		t.Errorf("drift %q: want the rule and the missing entry named", joined)
	}
	if got := len(e.victimDenies()); got != 2 {
		t.Errorf("%d deny entries after the repair, want 2", got)
	}
	if !strings.Contains(lines.String(), `"`+contract.MetricDrift+`"`) {
		t.Errorf("metric line %s: want %s", lines.String(), contract.MetricDrift)
	}
	var stored bool
	for _, o := range e.w.Objects() {
		stored = stored || strings.Contains(o.Key, "/"+backdoorID+"/report-") && o.Key != ""
	}
	if !stored {
		t.Error("the drift report is not kept beside the evidence")
	}

	if again := e.handle(events.Must("guardduty-backdoor-c2-update.json")); len(again.published) != 0 || len(again.mutating(false)) != 0 || len(again.only(t).Drift) != 0 {
		t.Errorf("re-delivery after the repair: %d published, calls %v, drift %v; want quiet", len(again.published), again.calls, again.only(t).Drift)
	}

	reps, err := e.releaser().Handle(ctx, events.Must("manual-release.json"))
	if err != nil || len(reps) != 1 || len(reps[0].Failed()) != 0 {
		t.Fatalf("release: %v %+v", err, reps)
	}
	if left := e.victimDenies(); len(left) != 0 {
		t.Errorf("after the release the victim is still denied by %v: the repaired entry was not removed (%+v)", left, reps[0].Step(report.StepNetworkACL))
	}
	if s := reps[0].Step(report.StepNetworkACL); s == nil || s.Status != report.Done {
		t.Errorf("release network-acl step %+v", s)
	}
}

// A verification whose read is throttled is not taken for drift: Lambda's
// retry verifies again, and only the last attempt reports.
func TestThrottledVerificationIsRetriedNotReported(t *testing.T) {
	e := newEnv(t, victim, nil)
	if dl := e.handle(events.Must("guardduty-backdoor-c2.json")); dl.err != nil {
		t.Fatal(dl.err)
	}
	e.w.FailAlways("DescribeInstanceAttribute", "RequestLimitExceeded")
	for attempt := 1; attempt <= contract.AsyncRetryAttempts; attempt++ {
		dl := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
		if !errors.Is(dl.err, handler.ErrIncomplete) || len(dl.published) != 0 || len(dl.mutating(false)) != 0 {
			t.Fatalf("attempt %d: %v, %d published, calls %v; want a retry, nothing published or changed", attempt, dl.err, len(dl.published), dl.calls)
		}
	}
	last := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if len(last.published) != 1 || len(last.only(t).Drift) != 0 {
		t.Errorf("last attempt: %d published, drift %v; want the failed check reported once", len(last.published), last.only(t).Drift)
	}
}
