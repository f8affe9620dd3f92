package runbook_test

import (
	"strings"
	"testing"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// The victim's credentials, copied off before containment, are refused
// afterwards; the bystander sharing the role and profile keeps working; the
// victim gets no new credentials.
func TestCredentialsDeniedForTheInstanceOnly(t *testing.T) {
	e := newEnv(t)
	stolen, err := e.w.InstanceCredentials(e.d.Victim)
	if err != nil {
		t.Fatal(err)
	}
	sibling, _ := e.w.InstanceCredentials(e.d.Bystander)
	out := e.contain()
	wantSteps(t, out, nil)
	if err := e.w.Authorize(stolen, "s3:GetObject"); err == nil {
		t.Fatal("the contained instance's copied credentials still work")
	}
	if err := e.w.Authorize(sibling, "s3:GetObject"); err != nil {
		t.Fatalf("the bystander sharing the role was denied: %v", err)
	}
	if _, err := e.w.InstanceCredentials(e.d.Victim); err == nil {
		t.Fatal("the metadata service still hands the victim credentials")
	}
	inst := e.w.Instance(e.d.Victim)
	if inst.IamInstanceProfile != nil || inst.MetadataOptions.HttpEndpoint != ec2types.InstanceMetadataEndpointStateDisabled {
		t.Fatalf("profile %v, metadata %v: want removed and disabled", inst.IamInstanceProfile, inst.MetadataOptions.HttpEndpoint)
	}
	c := out.Credentials
	if c == nil || c.Role != e.d.Role || c.ProfileARN != e.d.InstanceProfileARN || !strings.HasPrefix(c.AssociationID, "iip-assoc-") ||
		c.MetadataEndpoint != "enabled" || c.DeniedAt.IsZero() || !c.Disassociated || !c.MetadataDisabled {
		t.Fatalf("recorded credentials = %+v", c)
	}
	// A re-run (Lambda retry) writes nothing new on IAM.
	before := e.w.Calls()
	e.opt.RoleLockTable = e.d.GuardTable
	if s := stepOf(t, e.contain(), report.StepCredentials); s.Status == report.Failed {
		t.Fatalf("re-run: %+v", s)
	}
	for _, op := range []string{"CreatePolicy", "CreatePolicyVersion", "AttachRolePolicy"} {
		if e.w.Calls()[op] != before[op] {
			t.Errorf("re-run called %s again", op)
		}
	}
}

func TestCredentialsRefusedForProtectedRoles(t *testing.T) {
	for name, seed := range map[string]func(w *awsfake.World) string{
		"exempt role": func(w *awsfake.World) string {
			w.AddInstanceRole("payments", map[string]string{"firebreak:exempt": "true"})
			return w.AddInstanceProfile("payments", "payments")
		},
		"Firebreak's own role": func(w *awsfake.World) string {
			w.AddInstanceRole("firebreak-contain-us-east-1", nil)
			return w.AddInstanceProfile("fb", "firebreak-contain-us-east-1")
		},
		"CDK bootstrap role": func(w *awsfake.World) string {
			w.AddInstanceRole("cdk-hnb659fds-deploy-role", nil)
			return w.AddInstanceProfile("cdk", "cdk-hnb659fds-deploy-role")
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			profile := seed(e.w)
			id := e.w.AddInstance(awsfake.InstanceSpec{Subnet: e.d.SubnetA, InstanceProfileARN: profile})
			out := e.runbook().Run(t.Context(), e.target(id))
			s := stepOf(t, out, report.StepCredentials)
			if s.Status != report.Skipped || !strings.Contains(s.Detail, "refused") {
				t.Fatalf("credentials step = %+v, want refused", s)
			}
			if e.w.Calls()["AttachRolePolicy"] != 0 || e.w.Instance(id).IamInstanceProfile == nil {
				t.Fatal("a protected role's instance had its credentials changed")
			}
		})
	}
}

// A role whose managed-policy budget is full: the step fails and says so;
// the profile is still cut (no retry would make room), isolation unaffected.
func TestCredentialsBudgetFullIsReported(t *testing.T) {
	e := newEnv(t)
	e.w.SetManagedPolicyQuota(1) // the SSM policy fills it
	out := e.contain()
	wantSteps(t, out, map[string]report.Status{report.StepCredentials: report.Failed})
	s := stepOf(t, out, report.StepCredentials)
	if !strings.Contains(s.Detail, "budget is full") || s.Error != "Error" && s.Error != "LimitExceeded" {
		t.Fatalf("step = %+v", s)
	}
	if e.w.Instance(e.d.Victim).IamInstanceProfile != nil {
		t.Fatal("the profile was left although the deny cannot be written")
	}
	if out.Incomplete {
		t.Fatal("a full budget was taken for something a retry fixes")
	}
}

// A retry after an attempt that removed the profile (and failed elsewhere)
// still knows the role from that attempt's record, and reports the deny.
func TestCredentialsRetryFindsTheRecordedProfile(t *testing.T) {
	e := newEnv(t)
	e.w.FailAlways("ModifyInstanceMetadataOptions", "RequestLimitExceeded")
	first := e.contain()
	if s := stepOf(t, first, report.StepCredentials); s.Status != report.Failed || !first.Incomplete {
		t.Fatalf("first attempt: %+v, incomplete %v", s, first.Incomplete)
	}
	if e.w.Instance(e.d.Victim).IamInstanceProfile != nil {
		t.Fatal("the first attempt did not remove the profile")
	}
	e.w.FailAlways("ModifyInstanceMetadataOptions", "")
	retry := e.contain()
	s := stepOf(t, retry, report.StepCredentials)
	if s.Status != report.Done || retry.Credentials == nil || retry.Credentials.Role != e.d.Role {
		t.Fatalf("retry: %+v %+v", s, retry.Credentials)
	}
	if e.w.Instance(e.d.Victim).MetadataOptions.HttpEndpoint != ec2types.InstanceMetadataEndpointStateDisabled {
		t.Fatal("the retry left the metadata endpoint on")
	}
}
