package loadtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/policy"
	"github.com/firebreak-ir/firebreak/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestFindingEvent(t *testing.T) {
	tmpl := events.Must(EventTemplate)
	tests := []struct {
		name     string
		template []byte
		golden   string
		wantErr  string
	}{
		{name: "sample finding", template: tmpl, golden: "finding-event.golden.json"},
		{name: "not JSON", template: []byte("{"), wantErr: "decoding the event template"},
		{name: "no detail", template: []byte(`{"detail-type":"GuardDuty Finding"}`), wantErr: "no detail object"},
		{name: "no instance", template: []byte(`{"detail":{"resource":{"resourceType":"AccessKey"}}}`), wantErr: "no detail.resource.instanceDetails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindingEvent(tt.template, "i-0123456789abcdef0", "0123456789abcdef0123456789abcdef", "00000007-0000-4000-8000-000000000007")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading the golden file (go test -update writes it): %v", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("rewritten event differs from %s:\n%s", path, pretty.String())
			}
		})
	}
}

// TestEventsAreContainDecisions checks that every fleet event decodes as a
// finding on its own victim that the default thresholds contain.
func TestEventsAreContainDecisions(t *testing.T) {
	f := NewFleet(FleetSpec{Victims: 5, Seed: 3})
	evs, err := f.Events()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, raw := range evs {
		in, err := finding.Parse(raw)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		v := policy.Decide(in, policy.Thresholds{Contain: 7, Notify: 4})
		if v.Decision != report.Contain || v.InstanceID != f.Victims[i].InstanceID {
			t.Errorf("event %d: decision %s on %s, want contain on %s", i, v.Decision, v.InstanceID, f.Victims[i].InstanceID)
		}
		if in.Finding.ID != f.Victims[i].FindingID || seen[in.Finding.ID] {
			t.Errorf("event %d: finding id %s, want the victim's own, unique (%s)", i, in.Finding.ID, f.Victims[i].FindingID)
		}
		seen[in.Finding.ID] = true
	}
}

// TestFleetMatchesWorld checks the fleet's bookkeeping against the world,
// since Inspect trusts it to know what to look at.
func TestFleetMatchesWorld(t *testing.T) {
	f := NewFleet(FleetSpec{Victims: 40, Bystanders: 4, Seed: 7})
	w := f.World
	if len(f.Victims) != 40 || len(f.Bystanders) != 4 {
		t.Fatalf("got %d victims and %d bystanders, want 40 and 4", len(f.Victims), len(f.Bystanders))
	}
	var inASG, behindLB, inTG, twoENIs, twoVolumes int
	for _, v := range f.Victims {
		inst := w.Instance(v.InstanceID)
		if len(inst.NetworkInterfaces) != len(v.ENIs) || len(v.ENIs) < 1 || len(v.ENIs) > 2 {
			t.Errorf("%s: %d interfaces in the world, %d recorded", v.InstanceID, len(inst.NetworkInterfaces), len(v.ENIs))
		}
		if len(inst.BlockDeviceMappings) != len(v.Volumes) || len(v.Volumes) < 1 || len(v.Volumes) > 2 {
			t.Errorf("%s: %d volumes in the world, %d recorded", v.InstanceID, len(inst.BlockDeviceMappings), len(v.Volumes))
		}
		if aws.ToString(inst.VpcId) != v.VPC {
			t.Errorf("%s: in %s, recorded in %s", v.InstanceID, aws.ToString(inst.VpcId), v.VPC)
		}
		if v.ASG != "" {
			inASG++
			if !slices.ContainsFunc(w.AutoScalingGroup(v.ASG).Instances, func(m astypes.Instance) bool { return aws.ToString(m.InstanceId) == v.InstanceID }) {
				t.Errorf("%s: not a member of %s", v.InstanceID, v.ASG)
			}
		}
		for _, lb := range v.ClassicLBs {
			behindLB++
			if !slices.Contains(w.ClassicLBInstances(lb), v.InstanceID) {
				t.Errorf("%s: not behind %s", v.InstanceID, lb)
			}
		}
		for _, tg := range v.TargetGroups {
			inTG++
			found := false
			for _, th := range w.Targets(tg) {
				id := aws.ToString(th.Target.Id)
				found = found || id == v.InstanceID || slices.Contains(v.IPs, id)
			}
			if !found {
				t.Errorf("%s: not a target of %s", v.InstanceID, tg)
			}
		}
		if len(v.ENIs) == 2 {
			twoENIs++
		}
		if len(v.Volumes) == 2 {
			twoVolumes++
		}
	}
	// The layout must exercise every path of the runbook, not only the simplest.
	for name, n := range map[string]int{"in an Auto Scaling group": inASG, "behind a classic load balancer": behindLB,
		"in a target group": inTG, "with two interfaces": twoENIs, "with two volumes": twoVolumes} {
		if n == 0 {
			t.Errorf("no victim %s", name)
		}
	}
	if again := NewFleet(FleetSpec{Victims: 40, Bystanders: 4, Seed: 7}); !slices.EqualFunc(again.Victims, f.Victims, sameVictim) {
		t.Error("the same seed gave another layout")
	}
}

func sameVictim(a, b Victim) bool {
	return a.InstanceID == b.InstanceID && a.FindingID == b.FindingID && a.ASG == b.ASG &&
		slices.Equal(a.ENIs, b.ENIs) && slices.Equal(a.Volumes, b.Volumes) && slices.Equal(a.TargetGroups, b.TargetGroups)
}
