package handler_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"

	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not a JSON object", v)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReportContract reads the published report as another tool would: by its
// JSON field names and enum values, which are a contract.
func TestReportContract(t *testing.T) {
	e := newEnv(t, victim, nil)
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if dl.err != nil {
		t.Fatalf("Handle: %v", dl.err)
	}
	rep := dl.only(t)
	if len(dl.published) != 1 {
		t.Fatalf("published %d messages, want 1", len(dl.published))
	}
	m := dl.published[0]
	_, js, _ := strings.Cut(m.Body, notify.Separator)
	var doc map[string]any
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("decoding the published report: %v", err)
	}

	wantTop := []string{"accountId", "caseId", "credentials", "decision", "dryRun", "evidence", "finding", "finishedAt", "guard", "instanceId", "isolatedAt", "kind", "reason", "region",
		"securityHub", "snapshots", "source", "startedAt", "steps"}
	if got := keys(t, doc); !slices.Equal(got, wantTop) {
		t.Errorf("report fields %v, want %v", got, wantTop)
	}
	if g, _ := doc["guard"].(map[string]any); g["outcome"] != "taken" || g["cap"] != float64(10) || g["windowMinutes"] != float64(60) || g["count"] != float64(1) {
		t.Errorf("guard %v, want taken, 1 of cap 10 in 60 minutes", doc["guard"])
	}
	for field, want := range map[string]any{
		"kind": "contain", "decision": "contain", "instanceId": victim, "dryRun": false, "source": "guardduty",
		"caseId": backdoorID, "accountId": account, "region": region,
	} {
		if doc[field] != want {
			t.Errorf("%s = %v, want %v", field, doc[field], want)
		}
	}
	wantFinding := map[string]any{
		"id": backdoorID, "type": "Backdoor:EC2/C&CActivity.B", "severity": 8.0, "accountId": account, "region": region,
		"resourceRole": "ACTOR", "count": 4.0,
		"title":     "EC2 instance i-0abc1234def567890 is communicating with a Command & Control server.",
		"updatedAt": "2026-11-20T10:12:47.53Z",
	}
	if got := doc["finding"]; !jsonEqual(got, wantFinding) {
		t.Errorf("finding %v, want %v", got, wantFinding)
	}
	var names []string
	for _, s := range doc["steps"].([]any) {
		step := s.(map[string]any)
		names = append(names, step["name"].(string))
		if step["status"] != "done" {
			t.Errorf("step %v status %v, want done", step["name"], step["status"])
		}
	}
	if want := []string{"capture", "protect", "isolate", "detach", "deregister", "snapshot", "tag", "credentials"}; !slices.Equal(names, want) {
		t.Errorf("step names %v, want %v", names, want)
	}

	// The evidence location names the object, and its digest is the object's.
	ev, _ := doc["evidence"].(map[string]any)
	wantKey := strings.Join([]string{account, region, victim, backdoorID, "capture.json"}, "/")
	if ev["bucket"] != e.d.Bucket || ev["key"] != wantKey {
		t.Errorf("evidence at s3://%v/%v, want s3://%s/%s", ev["bucket"], ev["key"], e.d.Bucket, wantKey)
	}
	capture, ok := e.object(wantKey)
	if !ok {
		t.Fatalf("no object at %s", wantKey)
	}
	sum := sha256.Sum256(capture.Body)
	if ev["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("evidence sha256 %v, object's is %x", ev["sha256"], sum)
	}
	if capture.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("evidence stored without its SHA-256 checksum (%q)", capture.ChecksumSHA256)
	}

	// The evidence is the state before any change: what an undo restores.
	var rec runbook.Record
	if err := json.Unmarshal(capture.Body, &rec); err != nil {
		t.Fatalf("decoding the evidence: %v", err)
	}
	if len(rec.NetworkInterfaces) != 2 || !slices.Equal(rec.NetworkInterfaces[0].Groups, []string{e.d.WebGroup, e.d.AppGroup}) ||
		!slices.Equal(rec.NetworkInterfaces[1].Groups, []string{e.d.AppGroup}) {
		t.Errorf("evidence interfaces %+v, want the groups before isolation", rec.NetworkInterfaces)
	}
	if rec.AutoScaling == nil || aws.ToString(rec.AutoScaling.AutoScalingGroupName) != e.d.ASG {
		t.Errorf("evidence Auto Scaling membership %+v, want %s", rec.AutoScaling, e.d.ASG)
	}
	if !slices.Equal(rec.ClassicLBs, []string{e.d.ClassicLB}) || len(rec.Targets) != 2 {
		t.Errorf("evidence load balancers %v and targets %+v, want %s and two target groups", rec.ClassicLBs, rec.Targets, e.d.ClassicLB)
	}
	if !bytes.Contains(rec.Event, []byte(backdoorID)) {
		t.Error("evidence does not keep the event")
	}

	// The final report sits beside the evidence and is the one returned.
	stored, ok := e.object(handler.ReportKey(rep))
	if !ok {
		t.Fatalf("no report.json beside %s", wantKey)
	}
	returned, _ := json.MarshalIndent(rep, "", "  ")
	if !bytes.Equal(stored.Body, returned) {
		t.Errorf("stored report differs from the returned one:\n stored   %s\n returned %s", stored.Body, returned)
	}
	if stored.ContentType != "application/json" {
		t.Errorf("report.json content type %q", stored.ContentType)
	}

	// The SNS message: an email subject and attributes for filter policies.
	if want := "Firebreak CONTAINED i-0abc1234def567890 (Backdoor:EC2/C&CActivity.B, sev 8)"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for name, want := range map[string]string{
		notify.AttrDecision: "contain", notify.AttrSeverity: "8", notify.AttrFindingType: "Backdoor:EC2/C&CActivity.B",
		notify.AttrInstanceID: victim, notify.AttrStatus: notify.StatusContained, notify.AttrDryRun: "false",
	} {
		if got := attr(m, name); got != want {
			t.Errorf("attribute %s = %q, want %q", name, got, want)
		}
	}
	checkMessage(t, m, e.d.Topic, rep)
}

// TestGoldenContainment pins the whole report of the demo containment. The
// fake clock makes timestamps fixed; the ids AWS hands out during the run
// depend on which concurrent call lands first, so they are named by role.
// The evidence digest is named too: the evidence is read beside the changes
// and its content varies from run to run (TestReportContract checks the
// digest against the stored object).
func TestGoldenContainment(t *testing.T) {
	e := newEnv(t, victim, nil)
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if dl.err != nil {
		t.Fatalf("Handle: %v", dl.err)
	}
	rep := dl.only(t)
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{
		rep.Evidence.SHA256:                    "<sha256 of capture.json>",
		e.groupByName("firebreak-isolation"):   "<firebreak-isolation>",
		e.groupByName("firebreak-all-traffic"): "<firebreak-all-traffic>",
	}
	for _, s := range e.w.Snapshots() {
		names[aws.ToString(s.SnapshotId)] = "<snapshot of " + aws.ToString(s.VolumeId) + ">"
	}
	for _, tag := range e.w.Instance(victim).Tags {
		if aws.ToString(tag.Key) == contract.TagEvidenceVersion {
			names[aws.ToString(tag.Value)] = "<version of capture.json>"
		}
	}
	for id, name := range names {
		got = bytes.ReplaceAll(got, []byte(id), []byte(name))
	}
	got = append(got, '\n')

	file := filepath.Join("testdata", "contain-backdoor.golden.json")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run with -update if the change is meant):\n%s", file, got)
	}
	var pinned report.Report
	if err := json.Unmarshal(want, &pinned); err != nil || pinned.Decision != report.Contain {
		t.Errorf("golden file is not a containment report: %v", err)
	}
}
