package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

var ctx = context.Background()

// capture is the victim's tagged record: its key, version and body.
func capture(t *testing.T, e *env) (key, version string, body []byte) {
	t.Helper()
	tags := tagsOf(e.w, e.d.Victim)
	key = runbook.EvidenceKey(account, region, e.d.Victim, tags[contract.TagCaseID], "capture.json")
	version = tags[contract.TagEvidenceVersion]
	out, err := e.w.Clients().S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.d.Bucket), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		t.Fatal(err)
	}
	buf := new(bytes.Buffer)
	_, _ = buf.ReadFrom(out.Body)
	return key, version, buf.Bytes()
}

// putVersion stores body as a new version of key, as anyone with write
// access to the bucket could, and returns its version and SHA-256.
func putVersion(t *testing.T, e *env, key string, body []byte) (version, digest string) {
	t.Helper()
	sum := sha256.Sum256(body)
	out, err := e.w.Clients().S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.d.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId), hex.EncodeToString(sum[:])
}

func setTags(t *testing.T, e *env, id string, kv ...string) {
	t.Helper()
	var tags []ec2types.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	if _, err := e.w.Clients().EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
}

// wantRefused checks a release changed nothing at all and says why.
func wantRefused(t *testing.T, e *env, rep *report.Report, why string) {
	t.Helper()
	if rep.Decision != report.Notify || !strings.Contains(rep.Reason, why) {
		t.Errorf("decision %s, reason %q; want notify saying %q", rep.Decision, rep.Reason, why)
	}
	if w := writes(e.w.Calls()); !slices.Equal(w, []string{"Publish"}) {
		t.Errorf("a refused release made the calls %v; want only the report published", w)
	}
	for _, s := range rep.Steps[1:] {
		if s.Status != report.Skipped {
			t.Errorf("step %s %s, want skipped", s.Name, s.Status)
		}
	}
}

func TestEvidenceThatIsNotIntactIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spoil  func(t *testing.T, e *env)
		reason string
	}{
		{"one byte changed, the version tag pointed at it", func(t *testing.T, e *env) {
			key, _, body := capture(t, e)
			body[len(body)/2] ^= 0x01
			v, _ := putVersion(t, e, key, body)
			setTags(t, e, e.d.Victim, contract.TagEvidenceVersion, v)
		}, "is altered: its SHA-256 is"},
		{"the stored bytes changed behind S3's checksum", func(t *testing.T, e *env) {
			key, v, _ := capture(t, e)
			e.w.TamperObject(e.d.Bucket, key, v, func(b []byte) []byte { b[10] ^= 0x01; return b })
		}, "is altered: its SHA-256 is"},
		{"the digest tag changed", func(t *testing.T, e *env) {
			setTags(t, e, e.d.Victim, contract.TagEvidenceSHA256, strings.Repeat("0", 64))
		}, "the instance records 0000"},
		{"the version is gone", func(t *testing.T, e *env) {
			setTags(t, e, e.d.Victim, contract.TagEvidenceVersion, "vnosuchversion")
		}, "could not be read (NoSuchVersion)"},
		{"no evidence recorded on the instance", func(t *testing.T, e *env) {
			setTags(t, e, e.d.Victim, contract.TagEvidenceSHA256, "", contract.TagEvidenceVersion, "")
		}, "recorded no evidence digest and version"},
		{"the record of another instance", func(t *testing.T, e *env) {
			// A consistent forgery: the bystander's record under the
			// victim's key, with matching tags.
			if _, err := e.contain.Handle(ctx, manualContain(e.d.Bystander)); err != nil {
				t.Fatal(err)
			}
			other := tagsOf(e.w, e.d.Bystander)
			out, err := e.w.Clients().S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.d.Bucket),
				Key: aws.String(runbook.EvidenceKey(account, region, e.d.Bystander, other[contract.TagCaseID], "capture.json"))})
			if err != nil {
				t.Fatal(err)
			}
			buf := new(bytes.Buffer)
			_, _ = buf.ReadFrom(out.Body)
			key, _, _ := capture(t, e)
			v, sum := putVersion(t, e, key, buf.Bytes())
			setTags(t, e, e.d.Victim, contract.TagEvidenceVersion, v, contract.TagEvidenceSHA256, sum)
		}, "is the record of instance \"" /* the bystander */},
		{"the record of another case", func(t *testing.T, e *env) {
			key, _, body := capture(t, e)
			var rec map[string]any
			if err := json.Unmarshal(body, &rec); err != nil {
				t.Fatal(err)
			}
			rec["caseId"] = "IR-someone-else"
			forged, _ := json.Marshal(rec)
			v, sum := putVersion(t, e, key, forged)
			setTags(t, e, e.d.Victim, contract.TagEvidenceVersion, v, contract.TagEvidenceSHA256, sum)
		}, "is the record of case \"IR-someone-else\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := demoEnv(t, false)
			e.containVictim()
			tc.spoil(t, e)
			isolated := groupsOf(e.w, e.d.VictimENIs[0])
			e.w.ResetCalls()

			rep, err := e.releaseVictim(false, true)

			if err != nil {
				t.Errorf("a refusal failed the invocation: %v", err)
			}
			wantRefused(t, e, rep, tc.reason)
			if s := stepOf(t, rep, report.StepEvidence); s.Status != report.Failed {
				t.Errorf("evidence step %s, want failed", s.Status)
			}
			if got := groupsOf(e.w, e.d.VictimENIs[0]); !slices.Equal(got, isolated) {
				t.Errorf("eth0 moved from %v to %v", isolated, got)
			}
		})
	}
}

func TestRefusedWithoutAContainment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(e *env)
		reason string
	}{
		{"never contained", func(*env) {}, "never contained by Firebreak"},
		{"exempt", func(e *env) {
			setTags(e.t, e, e.d.Victim, contract.TagExempt, "true", contract.TagStatus, contract.StatusContained)
		}, "firebreak:exempt=true"},
		{"another status", func(e *env) { setTags(e.t, e, e.d.Victim, contract.TagStatus, "quarantined") }, "not a containment Firebreak can undo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := demoEnv(t, false)
			tc.before(e)
			e.w.ResetCalls()
			rep, err := e.releaseVictim(false, false)
			if err != nil {
				t.Errorf("error %v", err)
			}
			wantRefused(t, e, rep, tc.reason)
		})
	}
	e := demoEnv(t, false)
	reps, err := e.release.Handle(ctx, manualRelease("i-0000000000000dead", false, false))
	if err != nil || len(reps) != 1 || !strings.Contains(reps[0].Reason, "was not found") {
		t.Errorf("an unknown instance: %v %s", err, stepsOf(reps))
	}
}

// An interface the owner deleted after the containment is reported; the
// others are restored.
func TestDeletedInterfaceIsReportedNotFatal(t *testing.T) {
	e := demoEnv(t, false)
	e.containVictim()
	e.w.RemoveNetworkInterface(e.d.VictimENIs[1])

	rep, err := e.releaseVictim(false, true)

	if err != nil || rep.Decision != report.Release {
		t.Fatalf("release: %v %s", err, stepsOf([]*report.Report{rep}))
	}
	wantStatuses(t, rep, map[string]report.Status{report.StepSecurityGroups: report.Done})
	s := stepOf(t, rep, report.StepSecurityGroups)
	if !slices.ContainsFunc(s.Actions, func(a string) bool { return strings.Contains(a, e.d.VictimENIs[1]+" is no longer attached") }) {
		t.Errorf("actions %v do not report the deleted interface", s.Actions)
	}
	if got := groupsOf(e.w, e.d.VictimENIs[0]); !slices.Equal(got, []string{e.d.WebGroup, e.d.AppGroup}) {
		t.Errorf("eth0 in %v, want web and app", got)
	}
}

// The owner reused the rule number of a hard-cut entry for a rule of their
// own: it is kept; the entries still Firebreak's are removed.
func TestOwnersRuleOnAReusedNumberIsKept(t *testing.T) {
	e := demoEnv(t, true)
	sub := e.w.AddSubnet(e.d.VPC, "10.0.3.0/24", "")
	acl := e.w.AddNetworkACL(e.d.VPC, sub)
	contained := e.containVictim()
	var mine report.NACLEntry
	for _, n := range contained.NACLEntries {
		if n.NetworkACLID == acl && !n.Egress {
			mine = n
			break
		}
	}
	c := e.w.Clients().EC2
	if _, err := c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(mine.RuleNumber), Egress: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(mine.RuleNumber),
		Egress: aws.Bool(false), Protocol: aws.String("6"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("10.0.0.0/8"),
		PortRange: &ec2types.PortRange{From: aws.Int32(443), To: aws.Int32(443)}}); err != nil {
		t.Fatal(err)
	}

	rep, err := e.releaseVictim(false, false)

	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, rep, map[string]report.Status{report.StepNetworkACL: report.Done})
	entries := e.w.NetworkACL(acl).Entries
	owner := slices.ContainsFunc(entries, func(x ec2types.NetworkAclEntry) bool {
		return aws.ToInt32(x.RuleNumber) == mine.RuleNumber && !aws.ToBool(x.Egress) && x.RuleAction == ec2types.RuleActionAllow
	})
	if !owner {
		t.Errorf("the owner's rule %d was removed: %v", mine.RuleNumber, entries)
	}
	for _, x := range entries {
		if x.RuleAction == ec2types.RuleActionDeny && aws.ToInt32(x.RuleNumber) < 100 {
			t.Errorf("a hard-cut entry is left: %d %s", aws.ToInt32(x.RuleNumber), aws.ToString(x.CidrBlock)+aws.ToString(x.Ipv6CidrBlock))
		}
	}
	s := stepOf(t, rep, report.StepNetworkACL)
	if !slices.ContainsFunc(s.Actions, func(a string) bool { return strings.Contains(a, "not Firebreak's entry any more, kept") }) {
		t.Errorf("actions %v do not say the owner's rule was kept", s.Actions)
	}
}

// A group the owner put on the isolated interface stays beside the restored
// ones, and the report says so.
func TestOwnersGroupOnTheIsolatedInterfaceIsKept(t *testing.T) {
	e := demoEnv(t, false)
	e.containVictim()
	forensics := e.w.AddSecurityGroup(e.d.VPC, "forensics-ssh")
	iso := groupsOf(e.w, e.d.VictimENIs[0])[0]
	if _, err := e.w.Clients().EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(e.d.VictimENIs[0]), Groups: []string{iso, forensics}}); err != nil {
		t.Fatal(err)
	}

	rep, err := e.releaseVictim(false, false)

	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, rep, nil)
	if got, want := groupsOf(e.w, e.d.VictimENIs[0]), []string{e.d.WebGroup, e.d.AppGroup, forensics}; !slices.Equal(got, want) {
		t.Errorf("eth0 in %v, want %v", got, want)
	}
	s := stepOf(t, rep, report.StepSecurityGroups)
	if !slices.ContainsFunc(s.Actions, func(a string) bool { return strings.Contains(a, "added by the owner after the containment") }) {
		t.Errorf("actions %v do not say the owner's group was kept", s.Actions)
	}
	if g := e.w.SecurityGroup(iso); g.GroupId != nil {
		t.Errorf("the isolation group %s is still there", iso)
	}
}

// A recorded group deleted since: that interface stays isolated, the step
// fails with a clear message, the isolation group is kept for it.
func TestDeletedRecordedGroupLeavesTheInterfaceIsolated(t *testing.T) {
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	solo := w.AddSecurityGroup(d.VPC, "solo")
	if _, err := w.Clients().EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(d.VictimENIs[1]), Groups: []string{solo}}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, w, d, awsfake.Factory{W: w}, false)
	e.containVictim()
	iso := groupsOf(w, d.VictimENIs[1])[0]
	if _, err := w.Clients().EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(solo)}); err != nil {
		t.Fatal(err)
	}

	rep, err := e.releaseVictim(false, true)

	if err != nil {
		t.Errorf("a permanent failure asked for a retry: %v", err)
	}
	// The all-traffic group, which nothing uses, goes; the isolation group stays.
	wantStatuses(t, rep, map[string]report.Status{report.StepSecurityGroups: report.Failed,
		report.StepAutoScaling: report.Skipped, report.StepLoadBalancers: report.Skipped})
	s := stepOf(t, rep, report.StepSecurityGroups)
	if s.Error != "InvalidGroup.NotFound" || !strings.Contains(s.Message, d.VictimENIs[1]+" left isolated") {
		t.Errorf("step %s %s: want InvalidGroup.NotFound naming the interface left isolated", s.Error, s.Message)
	}
	if got := groupsOf(w, d.VictimENIs[1]); !slices.Equal(got, []string{iso}) {
		t.Errorf("eth1 in %v, want still isolated in %s", got, iso)
	}
	if got := groupsOf(w, d.VictimENIs[0]); !slices.Equal(got, []string{d.WebGroup, d.AppGroup}) {
		t.Errorf("eth0 in %v, want restored", got)
	}
	if w.SecurityGroup(iso).GroupId == nil {
		t.Error("the isolation group was deleted while eth1 is in it")
	}
}

// A second release changes nothing and says so; the report is still published.
func TestSecondReleaseChangesNothing(t *testing.T) {
	e := demoEnv(t, true)
	e.containVictim()
	if _, err := e.releaseVictim(false, true); err != nil {
		t.Fatal(err)
	}
	e.w.ResetCalls()

	rep, err := e.releaseVictim(false, true)

	if err != nil || !rep.AlreadyReleased || rep.Decision != report.Notify {
		t.Fatalf("second release: %v %s", err, stepsOf([]*report.Report{rep}))
	}
	if w := writes(e.w.Calls()); !slices.Equal(w, []string{"Publish", "PutObject"}) {
		t.Errorf("the second release made %v; want only its report published and stored", w)
	}
}

// A dry run changes nothing, proves each EC2 write with DryRun and lists
// every change; the deployment's dry run wins over a request's.
func TestDryRunChangesNothing(t *testing.T) {
	for _, deployment := range []bool{false, true} {
		e := demoEnv(t, true)
		sub := e.w.AddSubnet(e.d.VPC, "10.0.3.0/24", "")
		e.w.AddNetworkACL(e.d.VPC, sub)
		e.containVictim()
		if deployment {
			cfg := testConfig(t, e.d, true)
			cfg.DryRun = true
			e.release = handler.NewRelease(cfg, awsfake.Factory{W: e.w}, quiet, handler.WithClock(e.w.Now))
		}
		before := demoView(e.d).render(t, e.w)
		e.w.ResetCalls()

		rep, err := e.releaseVictim(!deployment, true)

		if err != nil || rep.Decision != report.Release || !rep.DryRun {
			t.Fatalf("dry run: %v %s", err, stepsOf([]*report.Report{rep}))
		}
		if w := writes(e.w.Calls()); !slices.Equal(w, []string{"CreateTags", "DeleteNetworkAclEntry", "DeleteSecurityGroup", "ModifyInstanceAttribute", "ModifyNetworkInterfaceAttribute", "Publish"}) {
			t.Errorf("deployment dry run %v: calls %v; want only EC2 writes (with DryRun) and the report", deployment, w)
		}
		if d := diff(before, demoView(e.d).render(t, e.w)); len(d) > 0 {
			t.Errorf("a dry run changed the world:\n%s", strings.Join(d, "\n"))
		}
		for _, name := range []string{report.StepTag, report.StepSecurityGroups, report.StepIsolationGroups, report.StepNetworkACL,
			report.StepAttributes, report.StepAutoScaling, report.StepLoadBalancers} {
			s := stepOf(t, rep, name)
			if s.Status != report.Planned || !slices.ContainsFunc(s.Actions, func(a string) bool { return strings.HasPrefix(a, "would ") }) {
				t.Errorf("%s: %s %v; want planned with \"would ...\" actions", name, s.Status, s.Actions)
			}
		}
	}
}

// A release that failed part-way reports every step and asks for a retry;
// the retry repeats nothing that succeeded and converges.
func TestPartialReleaseConverges(t *testing.T) {
	e := demoEnv(t, false)
	before := demoView(e.d).render(t, e.w)
	e.containVictim()
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")

	first, err := e.releaseVictim(false, true)

	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	if !errors.Is(err, handler.ErrReleaseIncomplete) {
		t.Errorf("error %v, want ErrReleaseIncomplete (a retry can finish)", err)
	}
	wantStatuses(t, first, map[string]report.Status{report.StepTag: report.Done, report.StepSecurityGroups: report.Failed,
		report.StepAttributes: report.Done, report.StepAutoScaling: report.Skipped, report.StepLoadBalancers: report.Skipped})
	for _, eni := range e.d.VictimENIs {
		if names := e.w.NetworkInterface(eni).Groups; len(names) != 1 || aws.ToString(names[0].GroupName) != contract.IsolationGroupName {
			t.Errorf("%s in %v after the failed restore, want still in the isolation group (kept for it)", eni, names)
		}
	}
	e.w.ResetCalls()

	second, err := e.releaseVictim(false, true)

	if err != nil || second.Decision != report.Release {
		t.Fatalf("retry: %v %s", err, stepsOf([]*report.Report{second}))
	}
	wantStatuses(t, second, map[string]report.Status{report.StepTag: report.Skipped, report.StepAttributes: report.Skipped,
		report.StepSecurityGroups: report.Done, report.StepAutoScaling: report.Done, report.StepLoadBalancers: report.Done})
	if n := e.w.Calls()["ModifyInstanceAttribute"]; n != 0 {
		t.Errorf("the retry repeated %d attribute changes", n)
	}
	e.w.Advance(awsfake.HealthCheckDelay)
	if d := diff(before, demoView(e.d).render(t, e.w)); len(d) > 0 {
		t.Errorf("after the retry the world differs:\n%s", strings.Join(d, "\n"))
	}
}

// Reattach respects the group's maximum and never changes its sizes.
func TestReattachAtMaxSizeIsRefused(t *testing.T) {
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	e := newEnv(t, w, d, awsfake.Factory{W: w}, false)
	e.containVictim()
	// The group scaled out while the instance was contained.
	if _, err := w.Clients().AutoScaling.AttachInstances(ctx, attachInput(d.ASG, w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA}))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Clients().AutoScaling.AttachInstances(ctx, attachInput(d.ASG, w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA}))); err != nil {
		t.Fatal(err)
	}
	g := w.AutoScalingGroup(d.ASG)

	rep, err := e.releaseVictim(false, true)

	if err != nil {
		t.Errorf("a permanent failure asked for a retry: %v", err)
	}
	wantStatuses(t, rep, map[string]report.Status{report.StepAutoScaling: report.Failed})
	if s := stepOf(t, rep, report.StepAutoScaling); s.Error != "GroupAtMaxSize" || !strings.Contains(s.Detail, "never changes a group's sizes") {
		t.Errorf("auto-scaling %s: %s", s.Error, s.Detail)
	}
	if after := w.AutoScalingGroup(d.ASG); aws.ToInt32(after.DesiredCapacity) != aws.ToInt32(g.DesiredCapacity) || aws.ToInt32(after.MaxSize) != aws.ToInt32(g.MaxSize) {
		t.Errorf("the group's sizes changed: %+v", after)
	}
}

// After a release, GuardDuty's re-publication of the finding changes
// nothing; a new finding contains again, with the warm contain function
// replacing the isolation groups the release deleted.
func TestRepublicationAfterRelease(t *testing.T) {
	e := demoEnv(t, false)
	if reps, err := e.contain.Handle(ctx, events.Must(events.Default)); err != nil || reps[0].Decision != report.Contain {
		t.Fatalf("contain: %v", err)
	}
	if _, err := e.releaseVictim(false, true); err != nil {
		t.Fatal(err)
	}
	e.w.ResetCalls()

	reps, err := e.contain.Handle(ctx, events.Must("guardduty-backdoor-c2-update.json"))

	if err != nil || reps[0].Decision != report.Notify || !strings.Contains(reps[0].Reason, "re-publication ignored") {
		t.Fatalf("re-publication: %v %s", err, stepsOf(reps))
	}
	if w := writes(e.w.Calls()); !slices.Equal(w, []string{"Publish"}) {
		t.Errorf("a released re-publication made %v; want only its report", w)
	}

	fresh := bytes.ReplaceAll(events.Must(events.Default), []byte("411647294fc69b66beba1f3f7bbbc43d"), []byte("52a758305ad7ac77cfcb1a4e8ccc454e"))
	reps, err = e.contain.Handle(ctx, fresh)

	if err != nil || reps[0].Decision != report.Contain || len(reps[0].Failed()) > 0 {
		t.Fatalf("a new finding after the release: %v %s", err, stepsOf(reps))
	}
	for _, eni := range e.d.VictimENIs {
		if names := e.w.NetworkInterface(eni).Groups; len(names) != 1 || aws.ToString(names[0].GroupName) != contract.IsolationGroupName {
			t.Errorf("%s in %v, want the isolation group alone", eni, names)
		}
	}
}

func attachInput(group, id string) *autoscaling.AttachInstancesInput {
	return &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(group), InstanceIds: []string{id}}
}
