package runbook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// dryRunFlag reads the DryRun field every mutating EC2 input has.
func dryRunFlag(in any) (set, value bool) {
	f := reflect.ValueOf(in).Elem().FieldByName("DryRun")
	if !f.IsValid() || f.IsNil() {
		return false, false
	}
	return true, f.Elem().Bool()
}

func TestDryRunChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		// warm contains the bystander for real first, so Firebreak's groups exist.
		warm   bool
		golden string
	}{
		{name: "no Firebreak groups yet", golden: "dry-run.golden.json"},
		{name: "Firebreak groups exist", warm: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.opt.NACL = true
			_, acl, _ := e.addThirdSubnet()
			addEntries(t, e.w, acl, ownerRules...)
			if tc.warm {
				e.runbook().Run(context.Background(), e.target(e.d.Bystander))
			}
			rec := e.record()
			before := state(t, e.w)
			e.w.ResetCalls()
			tgt := e.target(e.d.Victim)
			tgt.DryRun = true

			out := e.runbook().Run(context.Background(), tgt)

			calls := e.w.Calls()
			if after := state(t, e.w); after != before {
				t.Error("a dry run changed the world")
			}
			want := map[string]report.Status{}
			for _, name := range report.StepNames {
				want[name] = report.Planned
			}
			wantSteps(t, out, want)
			for _, c := range rec.recorded() {
				if set, dry := dryRunFlag(c.in); !set || !dry {
					t.Errorf("%s sent without DryRun=true: %+v", c.op, c.in)
				}
			}
			for _, op := range mutatingOps(calls) {
				if !rec.has(op) {
					t.Errorf("%s called in a dry run: it has no DryRun flag", op)
				}
			}
			if out.Evidence != nil || len(out.NACLEntries) > 0 || out.IsolationFailed {
				t.Errorf("dry run reported evidence %+v, NACL entries %v, isolation failed %v", out.Evidence, out.NACLEntries, out.IsolationFailed)
			}
			if tc.golden != "" {
				golden(t, tc.golden, out.Steps)
			}
		})
	}
}

func (r *recordingEC2) has(op string) bool {
	for _, c := range r.recorded() {
		if c.op == op {
			return true
		}
	}
	return false
}

// golden compares v as indented JSON with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s; run go test -update and review the diff. Got:\n%s", path, got)
	}
}

func TestDryRunReportsWhatIAMWouldRefuse(t *testing.T) {
	for _, tc := range []struct {
		op, step string
	}{
		{"ModifyInstanceAttribute", report.StepProtect},
		{"CreateSecurityGroup", report.StepIsolate},
		{"ModifyNetworkInterfaceAttribute", report.StepIsolate},
		{"CreateSnapshots", report.StepSnapshot},
		{"CreateTags", report.StepTag},
	} {
		t.Run(tc.op, func(t *testing.T) {
			e := newEnv(t)
			e.w.Deny(tc.op)
			before := state(t, e.w)
			tgt := e.target(e.d.Victim)
			tgt.DryRun = true

			out := e.runbook().Run(context.Background(), tgt)

			if after := state(t, e.w); after != before {
				t.Error("a dry run changed the world")
			}
			want := map[string]report.Status{}
			for _, name := range report.StepNames {
				want[name] = report.Planned
			}
			want[tc.step] = report.Failed
			wantSteps(t, out, want)
			if s := stepOf(t, out, tc.step); s.Error != "UnauthorizedOperation" {
				t.Errorf("%s: error %q (%s), want UnauthorizedOperation", tc.step, s.Error, s.Message)
			}
		})
	}
}
