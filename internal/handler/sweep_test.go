package handler_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/metrics"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

var sweepRequest = []byte(`{"sweep": true}`)

func (e *env) containByHand(id string) {
	e.t.Helper()
	dl := e.handle(fmt.Appendf(nil, `{"instanceId": %q, "reason": "test", "dryRun": false}`, id))
	if dl.err != nil || !hasStep(dl.only(e.t).Steps, report.StepIsolate, report.Done) {
		e.t.Fatalf("containing %s: %v", id, dl.err)
	}
}

func hasStep(steps []report.Step, name string, status report.Status) bool {
	for _, s := range steps {
		if s.Name == name && s.Status == status {
			return true
		}
	}
	return false
}

func summaryOf(t *testing.T, dl delivery) *report.SweepSummary {
	t.Helper()
	if len(dl.reports) == 0 || dl.reports[0].Kind != report.KindSweep || dl.reports[0].Sweep == nil {
		t.Fatalf("sweep answered %+v, %v", dl.reports, dl.err)
	}
	return dl.reports[0].Sweep
}

// The sweep verifies every instance tagged contained, repairs what drifted
// and publishes one report per instance that drifted; a released instance
// is never touched; a sweep that finds nothing publishes nothing and writes
// nothing, and counts what it verified.
func TestSweepRepairsDriftAndIsQuietOtherwise(t *testing.T) {
	e := newEnv(t, victim, nil)
	var lines bytes.Buffer
	e.h = handler.New(e.cfg, awsfake.Factory{W: e.w}, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(e.w.Now),
		handler.WithMetrics(metrics.Emitter{W: &lines}))
	if dl := e.handle(events.Must("guardduty-backdoor-c2.json")); dl.err != nil {
		t.Fatal(dl.err)
	}
	e.containByHand(e.d.Bystander)
	released := e.w.AddInstance(awsfake.InstanceSpec{Subnet: e.d.SubnetA, Groups: []string{e.d.AppGroup}})
	e.containByHand(released)
	ctx := context.Background()
	api := e.w.Clients().EC2
	// A release gives the interface back and marks the instance released;
	// then someone opens the isolation group and turns protection off.
	releasedENI := aws.ToString(e.w.Instance(released).NetworkInterfaces[0].NetworkInterfaceId)
	if _, err := api.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(releasedENI), Groups: []string{e.d.AppGroup}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{released}, Tags: []ec2types.Tag{{Key: aws.String(contract.TagStatus), Value: aws.String(contract.StatusReleased)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(e.isolationGroup()),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(e.d.Bystander),
		DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	lines.Reset()

	dl := e.handle(sweepRequest)

	sum := summaryOf(t, dl)
	if dl.err != nil || sum.Verified != 2 || sum.Drifted != 2 || sum.Failed != 0 || sum.Continues {
		t.Fatalf("sweep: %v, %+v; want 2 verified, 2 drifted", dl.err, sum)
	}
	if len(dl.published) != 2 {
		t.Fatalf("published %d reports, want one per drifted instance", len(dl.published))
	}
	for _, m := range dl.published {
		if !strings.Contains(m.Subject, "DRIFT REPAIRED") || aws.ToString(m.Attributes[notify.AttrStatus].StringValue) != notify.StatusDriftRepaired ||
			!strings.Contains(m.Body, "egress -1 ::/0") {
			t.Errorf("published %q (status %s): want DRIFT REPAIRED naming the rule", m.Subject, aws.ToString(m.Attributes[notify.AttrStatus].StringValue))
		}
	}
	for _, rep := range dl.reports[1:] {
		if rep.InstanceID == e.d.Bystander && !strings.Contains(strings.Join(rep.Drift, ";"), "termination protection turned off") {
			t.Errorf("bystander's drift %v: want termination protection named", rep.Drift)
		}
	}
	if e.w.InstanceAttributes(e.d.Bystander).DisableAPITermination != true {
		t.Error("termination protection not turned back on")
	}
	if calls := dl.calls["RevokeSecurityGroupEgress"]; calls != 1 {
		t.Errorf("%d revokes of the shared group's rule, want one per invocation", calls)
	}
	if got := e.w.NetworkInterface(releasedENI).Groups; len(got) != 1 || aws.ToString(got[0].GroupId) != e.d.AppGroup {
		t.Errorf("the released instance's interface moved to %v", got)
	}
	if !strings.Contains(lines.String(), `"`+contract.MetricDrift+`"`) || !strings.Contains(lines.String(), `"`+contract.MetricVerified+`"`) {
		t.Errorf("metric lines %s: want %s and %s", lines.String(), contract.MetricDrift, contract.MetricVerified)
	}

	lines.Reset()
	again := e.handle(sweepRequest)
	if s := summaryOf(t, again); s.Verified != 2 || s.Drifted != 0 || len(again.published) != 0 || len(again.mutating(false)) != 0 {
		t.Errorf("second sweep: %+v, %d published, calls %v; want quiet and no write", s, len(again.published), again.calls)
	}
	if !strings.Contains(lines.String(), `"`+contract.MetricVerified+`"`) {
		t.Errorf("a quiet sweep wrote no %s metric: %s", contract.MetricVerified, lines.String())
	}
}

// A sweep that nears its deadline records where it stopped; the next one
// continues from there, and the one after starts over.
func TestSweepContinuesFromItsCursor(t *testing.T) {
	defer handler.SetSweepPage(5)()
	e := newEnv(t, victim, nil)
	e.containByHand(e.d.Victim)
	e.containByHand(e.d.Bystander)
	for range 10 {
		e.containByHand(e.w.AddInstance(awsfake.InstanceSpec{Subnet: e.d.SubnetA, Groups: []string{e.d.AppGroup}}))
	}
	// Less than the reserve is left: one page, then stop.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(29*time.Second))
	defer cancel()
	reps, err := e.h.Handle(ctx, sweepRequest)
	if err != nil || reps[0].Sweep.Verified != 5 || !reps[0].Sweep.Continues {
		t.Fatalf("first sweep: %v, %+v; want one page and a cursor", err, reps[0].Sweep)
	}
	second := e.handle(sweepRequest)
	if s := summaryOf(t, second); s.Verified != 7 || s.Continues {
		t.Fatalf("second sweep: %+v; want the 7 left, finished", s)
	}
	third := e.handle(sweepRequest)
	if s := summaryOf(t, third); s.Verified != 12 || s.Continues {
		t.Fatalf("third sweep: %+v; want all 12 from the beginning", s)
	}
}

// With member accounts the sweep verifies each member's contained instances
// through its member role; a member whose role is missing is named in the
// summary and does not stop the others.
func TestSweepCoversMemberAccounts(t *testing.T) {
	o := newOrgEnv(t)
	if dl := o.handle(inAccount(t, memberB, victim)); dl.err != nil || dl.only(t).AccountID != memberB {
		t.Fatalf("containing in %s: %v", memberB, dl.err)
	}
	if _, err := o.b.w.Clients().EC2.ModifyInstanceAttribute(context.Background(), &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(victim),
		DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	cfg.MemberAccounts = []string{memberB, memberC}
	f := &awsfake.OrgFactory{Own: o.w, Members: awsclient.MembersOf(cfg, "firebreak-contain")}
	o.h = handler.New(cfg, f, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(o.w.Now))

	dl := o.handle(sweepRequest)

	sum := summaryOf(t, dl)
	if sum.Verified != 1 || sum.Drifted != 1 || len(sum.Accounts) != 3 {
		t.Fatalf("sweep: %+v; want %s's instance verified and repaired", sum, memberB)
	}
	if len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], memberC) {
		t.Errorf("errors %v: want %s's missing role named", sum.Errors, memberC)
	}
	if len(dl.reports) != 2 || dl.reports[1].AccountID != memberB || !o.b.w.InstanceAttributes(victim).DisableAPITermination {
		t.Errorf("reports %+v: want %s's drift repaired and reported", dl.reports, memberB)
	}
}
