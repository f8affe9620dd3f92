package release_test

import (
	"testing"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// Contain then release: the deny the containment wrote is gone (the role's
// policies are what they were), the recorded profile is back and hands out
// credentials again, and the metadata endpoint is as it was.
func TestReleaseUndoesTheCredentialContainment(t *testing.T) {
	e := demoEnv(t, false)
	stolen, err := e.w.InstanceCredentials(e.d.Victim)
	if err != nil {
		t.Fatal(err)
	}
	before := e.w.AttachedPolicies(e.d.Role)
	e.containVictim()
	if err := e.w.Authorize(stolen, "s3:GetObject"); err == nil {
		t.Fatal("containment did not deny the victim's credentials")
	}
	rep, err := e.releaseVictim(false, false)
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(t, rep, report.StepCredentials); s.Status != report.Done {
		t.Fatalf("credentials step = %+v", s)
	}
	if err := e.w.Authorize(stolen, "s3:GetObject"); err != nil {
		t.Fatalf("still denied after the release: %v", err)
	}
	fresh, err := e.w.InstanceCredentials(e.d.Victim)
	if err != nil || fresh.Role != e.d.Role {
		t.Fatalf("no credentials from the metadata service after the release: %v", err)
	}
	if after := e.w.AttachedPolicies(e.d.Role); len(after) != len(before) {
		t.Fatalf("role policies %v after the release, want %v", after, before)
	}
}
