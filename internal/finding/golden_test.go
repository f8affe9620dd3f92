package finding_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Each sample event decodes to the Input recorded in testdata/<event>.golden.json.
// A change in what is kept from an event shows up as a diff to review.
func TestGoldenInputs(t *testing.T) {
	for _, name := range events.Names() {
		t.Run(name, func(t *testing.T) {
			var in any
			var err error
			if events.IsRelease(name) {
				in, err = finding.ParseRelease(events.Must(name))
			} else {
				in, err = finding.Parse(events.Must(name))
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(in, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", strings.TrimSuffix(name, ".json")+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update once): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded input differs from %s:\n%s", path, got)
			}
		})
	}
}

// A finding re-encoded and decoded again is the same finding: timestamps,
// additionalInfo and nested blocks survive the round trip.
func TestFindingRoundTrip(t *testing.T) {
	for _, name := range events.Names() {
		if events.IsRelease(name) {
			continue
		}
		in, err := finding.Parse(events.Must(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if in.Finding == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			first, err := json.Marshal(in.Finding)
			if err != nil {
				t.Fatal(err)
			}
			var again finding.Finding
			if err := json.Unmarshal(first, &again); err != nil {
				t.Fatalf("decoding the re-encoded finding: %v", err)
			}
			second, err := json.Marshal(&again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("round trip changed the finding:\n%s\n%s", first, second)
			}
			if again.IsSample() != in.Finding.IsSample() || again.InstanceID() != in.Finding.InstanceID() ||
				strings.Join(again.SequenceInstances(), ",") != strings.Join(in.Finding.SequenceInstances(), ",") {
				t.Error("round trip changed what the policy reads")
			}
		})
	}
}

// The attacker's strings reach the Input untouched (escaping is the job of
// whoever renders them), and nested epoch timestamps are read as times.
func TestRuntimeFindingKeepsAttackerStrings(t *testing.T) {
	in, err := finding.Parse(events.Must("guardduty-runtime-reverse-shell.json"))
	if err != nil {
		t.Fatal(err)
	}
	rt := in.Finding.Service.RuntimeDetails
	if rt == nil || rt.Process == nil || rt.Context == nil {
		t.Fatalf("runtimeDetails not decoded: %+v", rt)
	}
	if !strings.Contains(rt.Process.ExecutablePath, "<script>") || !strings.Contains(rt.Process.ExecutablePath, "\n") {
		t.Errorf("executablePath %q lost its markup or newline", rt.Process.ExecutablePath)
	}
	if got := rt.Process.StartTime.UTC().Format("2006-01-02T15:04:05.000000Z"); got != "2026-11-20T10:04:15.482913Z" {
		t.Errorf("process startTime = %s", got)
	}
	if len(rt.Process.Lineage) != 2 || rt.Process.Lineage[1].StartTime.IsZero() {
		t.Errorf("lineage not decoded: %+v", rt.Process.Lineage)
	}
	if in.Finding.ResourceRole() != "" || in.Finding.Service.Action == nil || in.Finding.Service.Action.ActionType != "" {
		t.Errorf("runtime finding: role %q, action %+v", in.Finding.ResourceRole(), in.Finding.Service.Action)
	}

	mw, err := finding.Parse(events.Must("guardduty-malware-ec2.json"))
	if err != nil {
		t.Fatal(err)
	}
	scan := mw.Finding.Service.EbsVolumeScanDetails
	if scan == nil || scan.ScanCompletedAt.Sub(scan.ScanStartedAt.Time).Seconds() != 212 {
		t.Errorf("malware scan timestamps (epoch milliseconds) not decoded: %+v", scan)
	}
}
