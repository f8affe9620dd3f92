package handler_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// An exfiltration finding names the instance through the session that used
// the credentials: by default the instance is contained with its credentials.
func TestExfiltrationFindingContainsTheInstanceAndItsCredentials(t *testing.T) {
	e := newEnv(t, victim, nil)
	stolen, err := e.w.InstanceCredentials(victim)
	if err != nil {
		t.Fatal(err)
	}
	dl := e.handle(events.Must("guardduty-accesskey-credential-exfiltration.json"))
	if dl.err != nil {
		t.Fatal(dl.err)
	}
	rep := dl.only(t)
	if rep.Decision != report.Contain || rep.Exfiltration == nil || rep.Exfiltration.Role != e.d.Role {
		t.Fatalf("decision %s, exfiltration %+v", rep.Decision, rep.Exfiltration)
	}
	if !strings.Contains(rep.Exfiltration.Suggested, "aws:TokenIssueTime") || !strings.Contains(rep.Exfiltration.Suggested, "--role-name "+e.d.Role) {
		t.Fatalf("suggested command %q", rep.Exfiltration.Suggested)
	}
	for _, s := range rep.Steps {
		if s.Status != report.Done {
			t.Errorf("step %s: %s (%s)", s.Name, s.Status, s.Detail)
		}
	}
	if e.w.Authorize(stolen, "s3:ListBuckets") == nil {
		t.Fatal("the exfiltrated credentials still work")
	}
	// The role-wide revocation is only suggested: no policy names the role's token time.
	if n := dl.calls["PutRolePolicy"]; n != 0 {
		t.Fatalf("PutRolePolicy called %d times", n)
	}
}

// credentialFindings=credentials-only: the credentials are contained, the
// network, the group and the load balancers are left as they are.
func TestExfiltrationCredentialsOnly(t *testing.T) {
	e := newEnv(t, victim, map[string]string{contract.EnvCredentialFindings: contract.CredentialFindingsOnly})
	stolen, _ := e.w.InstanceCredentials(victim)
	groupsBefore := e.w.Instance(victim).SecurityGroups
	dl := e.handle(events.Must("guardduty-credential-exfiltration-inside-aws.json"))
	if dl.err != nil {
		t.Fatal(dl.err)
	}
	rep := dl.only(t)
	for _, s := range rep.Steps {
		want := report.Skipped
		switch s.Name {
		case report.StepCapture, report.StepTag, report.StepCredentials:
			want = report.Done
		}
		if s.Status != want {
			t.Errorf("step %s: %s, want %s (%s)", s.Name, s.Status, want, s.Detail)
		}
	}
	if e.w.Authorize(stolen, "s3:ListBuckets") == nil {
		t.Fatal("the exfiltrated credentials still work")
	}
	inst := e.w.Instance(victim)
	if len(inst.SecurityGroups) != len(groupsBefore) || inst.SecurityGroups[0].GroupId == nil || *inst.SecurityGroups[0].GroupName == contract.IsolationGroupName {
		t.Fatalf("groups changed: %v", inst.SecurityGroups)
	}
	if inst.MetadataOptions.HttpEndpoint != ec2types.InstanceMetadataEndpointStateDisabled {
		t.Fatal("metadata endpoint left on")
	}
	tags := map[string]string{}
	for _, tg := range inst.Tags {
		tags[*tg.Key] = *tg.Value
	}
	if tags[contract.TagStatus] != contract.StatusCredentialsContained {
		t.Fatalf("status tag %q", tags[contract.TagStatus])
	}
	// A re-delivery changes nothing more.
	before := e.w.Calls()
	if dl := e.handle(events.Must("guardduty-credential-exfiltration-inside-aws.json")); dl.err != nil {
		t.Fatal(dl.err)
	}
	for _, op := range []string{"CreatePolicyVersion", "CreatePolicy", "ModifyNetworkInterfaceAttribute"} {
		if e.w.Calls()[op] != before[op] {
			t.Errorf("re-delivery called %s", op)
		}
	}
}

// The finding names role web-server, but the instance's profile now holds
// another role: reported, nothing changed.
func TestExfiltrationOfARoleTheInstanceNoLongerHas(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.AddInstanceRole("batch", nil)
	other := e.w.AddInstanceProfile("batch", "batch")
	// Swap the profile, as an operator might have since the theft.
	assocs, _ := e.w.Clients().EC2.DescribeIamInstanceProfileAssociations(t.Context(), nil)
	for _, a := range assocs.IamInstanceProfileAssociations {
		if *a.InstanceId == victim {
			if _, err := e.w.Clients().EC2.DisassociateIamInstanceProfile(t.Context(), &ec2.DisassociateIamInstanceProfileInput{AssociationId: a.AssociationId}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.w.AssociateProfile(victim, other)
	before := e.state()
	dl := e.handle(events.Must("guardduty-accesskey-credential-exfiltration.json"))
	if dl.err != nil {
		t.Fatal(dl.err)
	}
	rep := dl.only(t)
	if rep.Decision != report.Notify || !strings.Contains(rep.Reason, "no longer has it") {
		t.Fatalf("decision %s: %s", rep.Decision, rep.Reason)
	}
	if m := dl.mutating(true); len(m) > 0 {
		t.Fatalf("mutating calls: %v", m)
	}
	e.unchanged(before)
}
