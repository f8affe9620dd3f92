package runbook_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// evidence finds the one object the run stored and decodes it.
// records lists the stored objects other than snapshot claims.
func records(e *env) []awsfake.Object {
	var out []awsfake.Object
	for _, o := range e.w.Objects() {
		if !strings.Contains(o.Key, "/snapshot-claim-") {
			out = append(out, o)
		}
	}
	return out
}

func evidence(t *testing.T, e *env, out runbook.Outcome) (awsfake.Object, runbook.Record) {
	t.Helper()
	objs := records(e)
	if len(objs) != 1 || out.Evidence == nil {
		t.Fatalf("%d objects stored, evidence %+v; want one and its reference", len(objs), out.Evidence)
	}
	o := objs[0]
	var rec runbook.Record
	if err := json.Unmarshal(o.Body, &rec); err != nil {
		t.Fatalf("evidence is not JSON: %v", err)
	}
	return o, rec
}

func TestEvidenceHoldsWhatIsNeededToUndo(t *testing.T) {
	e := newEnv(t)
	groups := map[string][]string{}
	for _, eni := range e.d.VictimENIs {
		groups[eni] = groupsOf(e.w, eni)
	}

	out := e.contain()

	wantSteps(t, out, nil)
	o, rec := evidence(t, e, out)
	sum := sha256.Sum256(o.Body)
	if hex.EncodeToString(sum[:]) != out.Evidence.SHA256 || o.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("sha256 of the stored body %x, S3 checksum %s; Outcome says %s", sum, o.ChecksumSHA256, out.Evidence.SHA256)
	}
	wantKey := runbook.EvidenceKey(account, region, e.d.Victim, caseID, "capture.json")
	if o.Bucket != e.d.Bucket || o.Key != wantKey || out.Evidence.Bucket != o.Bucket || out.Evidence.Key != o.Key {
		t.Errorf("stored at s3://%s/%s, reported %+v; want s3://%s/%s", o.Bucket, o.Key, out.Evidence, e.d.Bucket, wantKey)
	}
	if len(rec.NetworkInterfaces) != len(e.d.VictimENIs) {
		t.Fatalf("%d interfaces recorded, want %d", len(rec.NetworkInterfaces), len(e.d.VictimENIs))
	}
	var ips []string
	for _, ni := range rec.NetworkInterfaces {
		if want := groups[ni.ID]; !slices.Equal(ni.Groups, want) {
			t.Errorf("%s recorded in %v, want its groups before the change %v", ni.ID, ni.Groups, want)
		}
		ips = append(ips, ni.IPv4...)
		ips = append(ips, ni.IPv6...)
	}
	if !slices.Equal(sorted(ips...), sorted(e.d.VictimIPs...)) {
		t.Errorf("addresses recorded %v, want %v", ips, e.d.VictimIPs)
	}
	if rec.AutoScaling == nil || aws.ToString(rec.AutoScaling.AutoScalingGroupName) != e.d.ASG || aws.ToString(rec.AutoScaling.LifecycleState) != "InService" {
		t.Errorf("Auto Scaling membership recorded %+v, want %s InService", rec.AutoScaling, e.d.ASG)
	}
	if !slices.Equal(rec.ClassicLBs, []string{e.d.ClassicLB}) {
		t.Errorf("classic load balancers recorded %v, want [%s]", rec.ClassicLBs, e.d.ClassicLB)
	}
	var targets []string
	for _, tr := range rec.Targets {
		targets = append(targets, tr.TargetGroupARN+" "+tr.TargetType+" "+tr.ID+":"+strconv.Itoa(int(tr.Port)))
	}
	if want := sorted(e.d.TargetGroup+" instance "+e.d.Victim+":80", e.d.IPTargetGroup+" ip "+e.d.VictimPrimaryIP+":8443"); !slices.Equal(sorted(targets...), want) {
		t.Errorf("target memberships recorded %v, want %v", targets, want)
	}
	if len(rec.Volumes) != 2 || len(rec.InstanceProfile) != 1 || aws.ToString(rec.InstanceProfile[0].IamInstanceProfile.Arn) != e.d.InstanceProfileARN {
		t.Errorf("recorded %d volumes and profile %+v, want 2 and %s", len(rec.Volumes), rec.InstanceProfile, e.d.InstanceProfileARN)
	}
	if !strings.Contains(rec.ConsoleOutput, "comm=\"kworkerds\"") {
		t.Errorf("console output not recorded decoded: %.80q", rec.ConsoleOutput)
	}
	if rec.CaseID != caseID || rec.AccountID != account || rec.Region != region || !rec.CapturedAt.Equal(awsfake.Epoch) || aws.ToString(rec.Instance.InstanceId) != e.d.Victim {
		t.Errorf("record header %s %s %s %s %s", rec.CaseID, rec.AccountID, rec.Region, rec.CapturedAt, aws.ToString(rec.Instance.InstanceId))
	}
	var event bytes.Buffer
	if err := json.Compact(&event, rec.Event); err != nil || event.String() != string(e.target(e.d.Victim).Event) || len(rec.Gaps) > 0 {
		t.Errorf("event %s, gaps %v", rec.Event, rec.Gaps)
	}
}

func TestEvidenceWriteFailingFailsOnlyCapture(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		code  string
	}{
		{"write denied", func(e *env) { e.w.Deny("PutObject") }, "AccessDenied"},
		{"S3 unavailable", func(e *env) { e.w.FailAlways("PutObject", "ServiceUnavailable") }, "ServiceUnavailable"},
		{"bucket missing", func(e *env) { e.opt.EvidenceBucket = "firebreak-evidence-gone" }, "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)

			out := e.contain()

			wantSteps(t, out, map[string]report.Status{report.StepCapture: report.Failed})
			if s := stepOf(t, out, report.StepCapture); s.Error != tc.code {
				t.Errorf("capture error %q (%s), want %q", s.Error, s.Message, tc.code)
			}
			if out.Evidence != nil || len(e.w.Objects()) != 0 {
				t.Errorf("evidence %+v reported, %d objects stored; want none", out.Evidence, len(e.w.Objects()))
			}
			assertContained(t, e, report.StepCapture)
		})
	}
}

// assertContained checks the world for the effect of every step but except.
func assertContained(t *testing.T, e *env, except ...string) {
	t.Helper()
	for step, check := range effects {
		if slices.Contains(except, step) {
			continue
		}
		if err := check(e); err != "" {
			t.Errorf("%s: %s", step, err)
		}
	}
}

// A retry after a failed isolation keeps the first attempt's pre-change
// record and stores its own beside it.
func TestRetryKeepsThePreChangeEvidence(t *testing.T) {
	e := newEnv(t)
	before := map[string][]string{}
	for _, eni := range e.d.VictimENIs {
		before[eni] = groupsOf(e.w, eni)
	}
	// The final swaps fail, so the interfaces have changed by the retry.
	rec := e.record()
	rec.before = func(op string, in any) error {
		if mi, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput); ok && isIsolationGroup(e.w, mi.Groups) {
			return apiErr("IncorrectState")
		}
		return nil
	}
	first := e.contain()
	if !first.IsolationFailed || first.Evidence == nil {
		t.Fatalf("first run: isolation failed %v, evidence %+v; want a failed isolation with evidence", first.IsolationFailed, first.Evidence)
	}
	rec.before = nil
	firstBody := records(e)[0].Body

	second := e.contain()

	wantSteps(t, second, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepSnapshot: report.Skipped})
	objs := records(e)
	if len(objs) != 2 || second.Evidence == nil || second.Evidence.Key == first.Evidence.Key {
		t.Fatalf("%d objects, second evidence %+v; want the retry's record beside the first", len(objs), second.Evidence)
	}
	if objs[0].Key != first.Evidence.Key || !bytes.Equal(objs[0].Body, firstBody) {
		t.Errorf("the first record at %s was replaced", first.Evidence.Key)
	}
	var record runbook.Record
	if err := json.Unmarshal(objs[0].Body, &record); err != nil {
		t.Fatal(err)
	}
	for _, ni := range record.NetworkInterfaces {
		if !slices.Equal(ni.Groups, before[ni.ID]) {
			t.Errorf("%s recorded in %v, want its groups before any change %v", ni.ID, ni.Groups, before[ni.ID])
		}
	}
	sum := sha256.Sum256(objs[1].Body)
	if objs[1].Key != second.Evidence.Key || hex.EncodeToString(sum[:]) != second.Evidence.SHA256 {
		t.Errorf("retry's record at %s (sha256 %x), reported %+v", objs[1].Key, sum, second.Evidence)
	}
	if d := stepOf(t, second, report.StepCapture).Detail; !strings.Contains(d, first.Evidence.Key) {
		t.Errorf("capture detail %q does not point at the first record", d)
	}
}

// volumeOrderEC2 holds DescribeVolumes until protection has started, and
// notes whether delete-on-termination changed before the volumes were read.
type volumeOrderEC2 struct {
	awsapi.EC2
	others  atomic.Int32  // protection calls other than delete-on-termination
	started chan struct{} // closes when both are out
	read    atomic.Bool   // DescribeVolumes has returned
	early   atomic.Bool   // delete-on-termination changed before that
}

func (v *volumeOrderEC2) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, o ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	select {
	case <-v.started:
	case <-time.After(5 * time.Second): // bounded: never hang on a changed runbook
	}
	defer v.read.Store(true)
	return v.EC2.DescribeVolumes(ctx, in, o...)
}

func (v *volumeOrderEC2) ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error) {
	if len(in.BlockDeviceMappings) > 0 {
		if !v.read.Load() {
			v.early.Store(true)
		}
	} else if v.others.Add(1) == 2 {
		close(v.started)
	}
	return v.EC2.ModifyInstanceAttribute(ctx, in, o...)
}

// The record must show the volumes' delete-on-termination as it was, though
// protection changes it in the same round trip.
func TestEvidenceReadsVolumesBeforeProtectionChangesThem(t *testing.T) {
	e := newEnv(t)
	v := &volumeOrderEC2{EC2: e.api.EC2, started: make(chan struct{})}
	e.api.EC2 = v

	out := e.contain()

	wantSteps(t, out, nil)
	if v.early.Load() {
		t.Error("delete-on-termination changed before the evidence read the volumes")
	}
	_, rec := evidence(t, e, out)
	for _, vol := range rec.Volumes {
		want := aws.ToString(vol.VolumeId) == e.d.VictimVolumes[0]
		if len(vol.Attachments) != 1 || aws.ToBool(vol.Attachments[0].DeleteOnTermination) != want {
			t.Errorf("volume %s recorded with %+v, want delete-on-termination %v", aws.ToString(vol.VolumeId), vol.Attachments, want)
		}
	}
}
